/* SPDX-License-Identifier: GPL-2.0 */
/*
 * probe.S - memory accessors that survive a fault, for the suite's
 * kernel-mode accesses.  Each faulting instruction has an entry in
 * __ex_table (instruction, fixup); trap_dispatch() moves RIP to the fixup,
 * which returns 1.  A fetch fault happens at the target, not here, so
 * probe_exec() names its target in exec_probe_target and trap_dispatch()
 * unwinds the CALL (see idt.c).  All return 0 when the access succeeded.
 */
	.text

/* int probe_read(u64 va, u64 *val) */
	.globl probe_read
probe_read:
1:	movq	(%rdi), %rax
	movq	%rax, (%rsi)
	xorl	%eax, %eax
	ret
2:	movl	$1, %eax
	ret
	.section __ex_table, "a"
	.quad	1b, 2b
	.text

/* int probe_write(u64 va, u64 val) */
	.globl probe_write
probe_write:
1:	movq	%rsi, (%rdi)
	xorl	%eax, %eax
	ret
2:	movl	$1, %eax
	ret
	.section __ex_table, "a"
	.quad	1b, 2b
	.text

/* int probe_exec(u64 va): va must hold a RET (0xc3) */
	.globl probe_exec
probe_exec:
	movq	%rdi, exec_probe_target(%rip)
	xorl	%eax, %eax
	call	*%rdi
	movq	$0, exec_probe_target(%rip)
	ret

	.bss
	.balign 8
	.globl exec_probe_target
exec_probe_target:
	.quad	0

	.section .note.GNU-stack, "", @progbits
