/* SPDX-License-Identifier: GPL-2.0 */
/*
 * isr.S - the exception entry stubs.  Each stub makes the stack uniform
 * (a zero error code where the CPU pushes none, then the vector), saves
 * the general registers as a struct trap_frame (guest.h) and calls
 * trap_dispatch(), which may edit the frame (RIP, RSP, RAX) before the
 * IRETQ.  isr_stub_table[v] is the stub of exception vector v.
 */
	.text

/* Vectors for which the CPU pushes an error code. */
.macro stub vec
	.balign 16
isr_stub_\vec:
	.if (\vec != 8) && (\vec != 10) && (\vec != 11) && (\vec != 12) && (\vec != 13) && (\vec != 14) && (\vec != 17) && (\vec != 21) && (\vec != 29) && (\vec != 30)
	pushq	$0
	.endif
	pushq	$\vec
	jmp	isr_common
.endm

.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	stub \v
.endr

isr_common:
	pushq	%rax
	pushq	%rbx
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%rbp
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	cld
	movq	%rsp, %rdi
	call	trap_dispatch
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rbp
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rbx
	popq	%rax
	addq	$16, %rsp		/* vector and error code */
	iretq

	.section .rodata
	.balign 8
	.globl isr_stub_table
isr_stub_table:
.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad	isr_stub_\v
.endr

	.section .note.GNU-stack, "", @progbits
