/* SPDX-License-Identifier: GPL-2.0 */
/*
 * start.S - entry of the umbra-run test guests.  umbra-run starts every
 * vCPU here in 64-bit mode with RDI = its struct umbra_boot_info
 * (include/umbra/boot.h).  Hands guest_main() the boot info, RFLAGS and
 * RSP as they were at entry, and writes its return value to the exit port.
 */
	.section .text.entry, "ax"
	.globl _start
_start:
	mov	%rsp, %rdx		/* arg 3: RSP at entry */
	pushfq
	pop	%rsi			/* arg 2: RFLAGS at entry */
	call	guest_main		/* arg 1: RDI, the boot info; RSP is
					 * 16-byte aligned here, as the ABI wants */
	mov	$0xf4, %dx
	out	%eax, %dx		/* UMBRA_PORT_EXIT, 32-bit */
1:	cli
	hlt
	jmp	1b

	.section .note.GNU-stack, "", @progbits
