/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmenter.S - one trip into the guest and back
 *
 * int __umbra_svm_vcpu_run(u64 vmcb_pa, u64 *gprs, u64 host_save_pa)
 *
 * What VMRUN itself saves and restores for the host (into the page at
 * MSR_VM_HSAVE_PA): RIP, RSP, RAX, RFLAGS, CR0/CR3/CR4, EFER, and the
 * CS/SS/DS/ES selectors and descriptors.  What it does not:
 *   - the other general purpose registers: saved here on the stack (the
 *     callee-saved ones) or left to the C caller (the caller-saved ones);
 *   - FS, GS, TR and LDTR with their hidden parts, KERNEL_GS_BASE, STAR,
 *     LSTAR, CSTAR, SFMASK and SYSENTER_*: VMSAVE puts the host's into
 *     @host_save_pa first and VMLOAD takes them back after the exit, while
 *     the guest's travel in the VMCB (VMLOAD before VMRUN, VMSAVE after).
 *
 * @gprs is indexed by the x86 register encoding (enum umbra_gpr), so the
 * offsets below are 8 * encoding.  RAX and RSP are not used from @gprs:
 * the VMCB holds the guest's.
 *
 * Called with interrupts disabled and GIF clear (CLGI), so that nothing
 * can run between VMSAVE and VMLOAD with half-host, half-guest state;
 * returns with both still so.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>

#define GPR(n)	(8 * (n))
#define RCX	1
#define RDX	2
#define RBX	3
#define RBP	5
#define RSI	6
#define RDI	7
#define R8	8
#define R9	9
#define R10	10
#define R11	11
#define R12	12
#define R13	13
#define R14	14
#define R15	15


SYM_FUNC_START(__umbra_svm_vcpu_run)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	push	%rdx			/* 16(%rsp): host save area */
	push	%rsi			/*  8(%rsp): gprs */
	push	%rdi			/*  0(%rsp): vmcb */

	/* Host FS/GS/TR/LDTR, KERNEL_GS_BASE, syscall and sysenter MSRs. */
	mov	%rdx, %rax
	vmsave	%rax

	/* Guest general purpose registers, from @gprs. */
	mov	%rsi, %rax
	mov	GPR(RCX)(%rax), %rcx
	mov	GPR(RDX)(%rax), %rdx
	mov	GPR(RBX)(%rax), %rbx
	mov	GPR(RBP)(%rax), %rbp
	mov	GPR(RSI)(%rax), %rsi
	mov	GPR(RDI)(%rax), %rdi
	mov	GPR(R8)(%rax), %r8
	mov	GPR(R9)(%rax), %r9
	mov	GPR(R10)(%rax), %r10
	mov	GPR(R11)(%rax), %r11
	mov	GPR(R12)(%rax), %r12
	mov	GPR(R13)(%rax), %r13
	mov	GPR(R14)(%rax), %r14
	mov	GPR(R15)(%rax), %r15

	/*
	 * With V_INTR_MASKING, whether a host interrupt forces a #VMEXIT
	 * while the guest runs is decided by the host's RFLAGS.IF as VMRUN
	 * saves it.  Entering with IF clear would let a spinning guest keep
	 * the CPU through every timer tick and IPI (a flush waiting on it
	 * would hang the host).  GIF is clear here (the caller did CLGI), so
	 * STI lets nothing into the host; VMRUN sets GIF for the guest and
	 * the #VMEXIT clears it again before the CLI.
	 */
	mov	(%rsp), %rax
	vmload	%rax
	sti
	vmrun	%rax
	cli
	vmsave	%rax

	/* #VMEXIT: host RSP and RAX are back; the rest are the guest's. */
	mov	8(%rsp), %rax
	mov	%rcx, GPR(RCX)(%rax)
	mov	%rdx, GPR(RDX)(%rax)
	mov	%rbx, GPR(RBX)(%rax)
	mov	%rbp, GPR(RBP)(%rax)
	mov	%rsi, GPR(RSI)(%rax)
	mov	%rdi, GPR(RDI)(%rax)
	mov	%r8, GPR(R8)(%rax)
	mov	%r9, GPR(R9)(%rax)
	mov	%r10, GPR(R10)(%rax)
	mov	%r11, GPR(R11)(%rax)
	mov	%r12, GPR(R12)(%rax)
	mov	%r13, GPR(R13)(%rax)
	mov	%r14, GPR(R14)(%rax)
	mov	%r15, GPR(R15)(%rax)

	mov	16(%rsp), %rax
	vmload	%rax

	/*
	 * The guest may have filled the return stack buffer with its own
	 * targets; overwrite it before the host executes a RET (the
	 * "RSB underflow/poisoning" mitigation KVM applies at the same
	 * point).
	 */
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT

	/* Leave no guest value in a register the host might speculate on. */
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d

	add	$24, %rsp
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	xor	%eax, %eax
	RET
SYM_FUNC_END(__umbra_svm_vcpu_run)
