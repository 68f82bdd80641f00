/* SPDX-License-Identifier: GPL-2.0 */
/*
 * realmode_guest.S - the guest of realmode_test.c: 16-bit code that runs
 * at 0x0100:0000 in real mode.  Data only to the host program (it copies
 * the bytes between rm_code and rm_code_end into guest RAM).  Each exit
 * it causes is numbered as realmode_test.c expects them.
 */
	.section .rodata
	.globl rm_code, rm_code_end
rm_code:
	.code16
	mov	$0x3f8, %dx
	mov	$'R', %al
	out	%al, %dx			/* 1: IO, 1 byte 'R' */
	mov	$0x200, %ax
	mov	%ax, %ds
	movw	$0xbeef, 0x10			/* [0x2010] through DS */
	mov	0x10, %ax
	out	%ax, %dx			/* 2: IO, 2 bytes 0xbeef */
	mov	%cr0, %eax
	out	%eax, %dx			/* 3: IO, 4 bytes CR0 */
	mov	$0x9000, %ax
	mov	%ax, %es
	mov	$0x10, %bx
	mov	$0x4, %si
	movw	$0x1234, %es:(%bx,%si)		/* 4: MMIO write 0x90014 */
	mov	$0x20, %di
	mov	%es:8(%di), %cx			/* 5: MMIO read 0x90028 */
	mov	%cx, %ax
	out	%ax, %dx			/* 6: IO, CX as read */
	hlt					/* 7: HLT */
	.code64
rm_code_end:

	.section .note.GNU-stack, "", @progbits
