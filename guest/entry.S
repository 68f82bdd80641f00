/* SPDX-License-Identifier: GPL-2.0 */
/*
 * entry.S - where every vCPU starts (include/umbra/boot.h): 64-bit mode on
 * umbra-run's page tables, RDI = this vCPU's struct umbra_boot_info.
 * vCPU 0 moves to the guest's own stack and runs guest_main(); vCPU 1
 * goes to smp_ap_main() (smp.c) on umbra-run's page tables and stack, and
 * waits there to be used or parked; the others park in HLT with
 * interrupts off and never touch memory again.
 */
#define BOOT_INFO_CPU_ID	28	/* offsetof(struct umbra_boot_info, cpu_id) */
#define BOOT_STACK_SIZE		65536

	.section .text.entry, "ax"
	.globl _start
	.type _start, @function
_start:
	cli
	cld
	movl	BOOT_INFO_CPU_ID(%rdi), %eax
	testl	%eax, %eax
	jnz	1f
	leaq	boot_stack_top(%rip), %rsp
	xorl	%ebp, %ebp
	call	guest_main
	ud2
1:	cmpl	$1, %eax
	jne	2f
	xorl	%ebp, %ebp
	call	smp_ap_main
2:	hlt
	jmp	2b
	.size _start, . - _start

	.bss
	.balign 4096
boot_stack:
	.skip	BOOT_STACK_SIZE
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
