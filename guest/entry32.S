/* SPDX-License-Identifier: GPL-2.0 */
/*
 * entry32.S - the unpaged entry (umbra-run --unpaged, include/umbra/boot.h):
 * every vCPU starts here in 32-bit protected mode with paging off, EDI =
 * its struct umbra_boot_info, and vCPU 0 takes the steps a PC kernel takes
 * on its way to long mode, checking the first ones as it goes:
 *
 *   1. with paging off (linear = physical), write a word into each page of
 *      boot32_area and read every one back; record CR0 and CR4 as read;
 *   2. say so on the serial port (port I/O from 32-bit code);
 *   3. build an identity map of the first 4 GiB with 2 MiB pages, set
 *      CR4.PAE, CR3, EFER.LME (and SCE, NXE as the 64-bit entry has them)
 *      and CR0.PG: long mode, still in 32-bit code;
 *   4. jump to 64-bit code and on into _start (entry.S), as if booted in
 *      64-bit mode.
 *
 * The case unpaged_boot (tests/unpaged.c) then checks what was recorded
 * and reads boot32_area again through paging.  The other vCPUs park in
 * HLT with paging off and never touch memory.
 */
#include <umbra/boot.h>

#define BOOT_INFO_CPU_ID	28	/* offsetof(struct umbra_boot_info, cpu_id) */
#define BOOT32_PAGES		512	/* boot32_area: 2 MiB */
#define BOOT32_PATTERN		0x5a3c96e1
#define SEL_CODE64		0x08	/* umbra-run's GDT (boot.h) */

#define CR0_MP			(1 << 1)
#define CR0_WP			(1 << 16)
#define CR0_PG			(1 << 31)
#define CR4_PAE			(1 << 5)
#define CR4_OSFXSR		(1 << 9)
#define CR4_OSXMMEXCPT		(1 << 10)
#define MSR_EFER		0xc0000080
#define EFER_SCE		(1 << 0)
#define EFER_LME		(1 << 8)
#define EFER_NXE		(1 << 11)
#define PTE_P_RW		0x3
#define PTE_P_RW_PS		0x83

	/* boot.h: the image starts with this header (guest.lds puts it first). */
	.section .boot32, "a"
	.quad	UMBRA_BOOT32_MAGIC
	.quad	entry32

	.section .text.entry32, "ax"
	.code32
	.globl entry32
	.type entry32, @function
entry32:
	cli
	cld
	movl	BOOT_INFO_CPU_ID(%edi), %eax
	testl	%eax, %eax
	jnz	.Lpark
	movl	%edi, %ebp		/* the boot info, for _start */

	movl	%cr0, %eax
	movl	%eax, boot32_cr0
	movl	%cr4, %eax
	movl	%eax, boot32_cr4

	/* 1. One word per page: its own address, scrambled. */
	movl	$boot32_area, %edi
	movl	$BOOT32_PAGES, %ecx
1:	movl	%edi, %eax
	xorl	$BOOT32_PATTERN, %eax
	movl	%eax, (%edi)
	addl	$4096, %edi
	loop	1b
	movl	$boot32_area, %edi
	movl	$BOOT32_PAGES, %ecx
	xorl	%ebx, %ebx
2:	movl	%edi, %eax
	xorl	$BOOT32_PATTERN, %eax
	cmpl	%eax, (%edi)
	je	3f
	incl	%ebx
3:	addl	$4096, %edi
	loop	2b
	movl	%ebx, boot32_bad

	/* 2. A line on the serial port. */
	movl	$boot32_msg, %esi
	movw	$UMBRA_PORT_SERIAL, %dx
4:	lodsb
	testb	%al, %al
	jz	5f
	outb	%al, %dx
	jmp	4b

	/* 3. Identity map of 4 GiB: PML4[0] -> PDPT[0..3] -> 4 PDs. */
5:	movl	$boot32_pd, %edi
	movl	$PTE_P_RW_PS, %eax
	movl	$4 * 512, %ecx
6:	movl	%eax, (%edi)
	addl	$0x200000, %eax
	addl	$8, %edi
	loop	6b
	movl	$boot32_pdpt, %edi
	movl	$boot32_pd + PTE_P_RW, %eax
	movl	$4, %ecx
7:	movl	%eax, (%edi)
	addl	$4096, %eax
	addl	$8, %edi
	loop	7b
	movl	$boot32_pdpt + PTE_P_RW, boot32_pml4

	movl	%cr4, %eax
	orl	$CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT, %eax
	movl	%eax, %cr4
	movl	$boot32_pml4, %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_SCE | EFER_LME | EFER_NXE, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$CR0_PG | CR0_WP | CR0_MP, %eax
	movl	%eax, %cr0

	/* 4. Into 64-bit code. */
	ljmp	$SEL_CODE64, $entry64

.Lpark:
	hlt
	jmp	.Lpark
	.size entry32, . - entry32

	.code64
entry64:
	movl	%ebp, %edi		/* zero-extends: RDI = boot info */
	movl	$1, boot32_ran(%rip)
	jmp	_start

	.section .rodata
boot32_msg:
	.asciz	"boot32: paging off, 512 pages written and read back; entering long mode\n"

	.data
	.balign 4
	.globl boot32_ran, boot32_cr0, boot32_cr4, boot32_bad
boot32_ran:	.long 0
boot32_cr0:	.long 0
boot32_cr4:	.long 0
boot32_bad:	.long 0

	.bss
	.balign 4096
	.globl boot32_area
boot32_area:	.skip	BOOT32_PAGES * 4096
boot32_pml4:	.skip	4096
boot32_pdpt:	.skip	4096
boot32_pd:	.skip	4 * 4096

	.section .note.GNU-stack, "", @progbits
