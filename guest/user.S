/* SPDX-License-Identifier: GPL-2.0 */
/*
 * user.S - running a few instructions in ring 3.
 *
 * enter_user(rip, rsp, a0, a1) saves the callee-saved registers and the
 * kernel stack pointer, then IRETQs to ring 3 at rip with RDI = a0 and
 * RSI = a1.  Ring 3 ends with the UD2 at user_ret (RAX = its result), a
 * deliberate fault that trap_dispatch() recognises by its page offset, or
 * with another exception; either way trap_dispatch() fills user_result
 * and calls user_return(), which abandons the trap stack (the TSS's RSP0),
 * restores the saved kernel stack and returns from enter_user().  (A UD2
 * rather than "int $0x80": every hypervisor must deliver an exception,
 * while some software ones do not handle INT n from the guest.)
 *
 * The stubs in .user_text are position independent: the suite maps that
 * page at a user address (tests/tests.h: USER_CODE_VA).
 *   user_read(va)        RAX = *(u64 *)va
 *   user_write(va, val)  *(u64 *)va = val
 *   user_exec(va)        call va (which holds RET)
 */
#define KERNEL_DS	0x10
#define USER_DS		(0x18 | 3)
#define USER_CS		(0x20 | 3)

	.text
	.globl enter_user
enter_user:
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, user_saved_rsp(%rip)
	pushq	$USER_DS		/* SS */
	pushq	%rsi			/* RSP */
	pushq	$0x2			/* RFLAGS: IF=0, IOPL=0 */
	pushq	$USER_CS		/* CS */
	pushq	%rdi			/* RIP */
	movq	%rdx, %rdi
	movq	%rcx, %rsi
	xorl	%eax, %eax
	xorl	%ebx, %ebx
	xorl	%ebp, %ebp
	iretq

	.globl user_return
user_return:
	movq	user_saved_rsp(%rip), %rsp
	movl	$KERNEL_DS, %eax
	movl	%eax, %ss
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret

	.bss
	.balign 8
user_saved_rsp:
	.quad	0

	.section .user_text, "ax"
	.globl user_read, user_write, user_exec, user_ret
user_read:
	movq	(%rdi), %rax
	jmp	user_ret
user_write:
	movq	%rsi, (%rdi)
	xorl	%eax, %eax
	jmp	user_ret
user_exec:
	call	*%rdi
	xorl	%eax, %eax
user_ret:
	ud2

	.section .note.GNU-stack, "", @progbits
