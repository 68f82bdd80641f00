// SPDX-License-Identifier: GPL-2.0
/*
 * regs.c - a vCPU's architectural register state
 *
 * What it owns:
 *   umbra_vcpu.regs, .sregs and .pending_irq: their values at reset, and
 *   the rule for which states userspace may set.
 *
 * The rule (umbra_sregs_invalid()) is KVM 6.12's kvm_is_valid_sregs() plus
 * the APIC_BASE check of kvm_apic_set_base(), so that KVM_SET_SREGS answers
 * as KVM does, plus the AMD-V VMRUN consistency checks (APM vol. 2, 15.5.1)
 * that KVM leaves to the hardware.  umbra refuses such a state up front
 * with -EINVAL instead of handing it to VMRUN, where it would surface as a
 * failed entry much later and far from its cause.
 *
 * Locking: called under umbra_vcpu.mutex.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bits.h>
#include <linux/printk.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include "core.h"

/*
 * Segment types of the reset state as KVM reports them on AMD (SDM vol. 3,
 * tables 3-1 and 3-2): SS has no accessed bit, the other data segments do.
 */
#define SEG_TYPE_DATA_RW	0x3	/* read/write, accessed */
#define SEG_TYPE_STACK_RW	0x2	/* read/write */
#define SEG_TYPE_CODE_RX	0xa	/* execute/read */
#define SEG_TYPE_LDT		0x2
#define SEG_TYPE_BUSY_TSS16	0x3

#define APIC_BASE_DEFAULT	0xfee00000ULL

static void reset_seg(struct kvm_segment *s, u8 type, u8 code_or_data)
{
	*s = (struct kvm_segment) {
		.limit = 0xffff,
		.type = type,
		.present = 1,
		.s = code_or_data,
	};
}

/**
 * umbra_regs_reset - put a vCPU into the x86 power-on state
 * @vcpu: a vCPU being created
 *
 * The values are what KVM reports for a new vCPU on AMD, so that a VMM
 * that reads the state back sees no difference.
 */
void umbra_regs_reset(struct umbra_vcpu *vcpu)
{
	struct kvm_sregs *s = &vcpu->sregs;

	memset(vcpu->gpr, 0, sizeof(vcpu->gpr));
	vcpu->rip = 0xfff0;
	vcpu->rflags = X86_EFLAGS_FIXED;
	/* Family/model/stepping, as CPUID.1.EAX would say: KVM's P6 default. */
	vcpu->gpr[UMBRA_RDX] = 0x600;

	memset(s, 0, sizeof(*s));
	reset_seg(&s->cs, SEG_TYPE_CODE_RX, 1);
	s->cs.selector = 0xf000;
	s->cs.base = 0xffff0000;
	reset_seg(&s->ds, SEG_TYPE_DATA_RW, 1);
	reset_seg(&s->es, SEG_TYPE_DATA_RW, 1);
	reset_seg(&s->fs, SEG_TYPE_DATA_RW, 1);
	reset_seg(&s->gs, SEG_TYPE_DATA_RW, 1);
	reset_seg(&s->ss, SEG_TYPE_STACK_RW, 1);
	reset_seg(&s->ldt, SEG_TYPE_LDT, 0);
	reset_seg(&s->tr, SEG_TYPE_BUSY_TSS16, 0);
	s->gdt.limit = 0xffff;
	s->idt.limit = 0xffff;
	s->cr0 = X86_CR0_NW | X86_CR0_CD | X86_CR0_ET;
	s->apic_base = APIC_BASE_DEFAULT | MSR_IA32_APICBASE_ENABLE;
	if (vcpu->id == 0)
		s->apic_base |= MSR_IA32_APICBASE_BSP;

	vcpu->pending_irq = -1;
	vcpu->sregs_dirty = true;
}

static const char *apic_base_invalid(u64 base, const struct umbra_guest_caps *caps)
{
	u64 reserved = umbra_gpa_reserved(caps) | 0x2ff;

	if (!caps->x2apic)
		reserved |= X2APIC_ENABLE;
	if (base & reserved)
		return "reserved APIC_BASE bit";
	if ((base & X2APIC_ENABLE) && !(base & MSR_IA32_APICBASE_ENABLE))
		return "APIC_BASE x2APIC mode with the APIC disabled";
	return NULL;
}

/**
 * umbra_sregs_invalid - may userspace load this register state?
 * @s: the state from KVM_SET_SREGS
 * @caps: what the vCPU's CPUID allows
 *
 * Context: any; a pure function of its arguments.
 * Return: NULL if the state is acceptable, else a short reason for dmesg.
 */
const char *umbra_sregs_invalid(const struct kvm_sregs *s,
				const struct umbra_guest_caps *caps)
{
	bool long_mode = (s->efer & EFER_LME) && (s->cr0 & X86_CR0_PG);

	if (long_mode) {
		if (!(s->cr4 & X86_CR4_PAE))
			return "EFER.LME and CR0.PG without CR4.PAE";
		if (!(s->efer & EFER_LMA))
			return "EFER.LME and CR0.PG without EFER.LMA";
		if (s->cr3 & umbra_gpa_reserved(caps))
			return "CR3 beyond the guest's MAXPHYADDR";
	} else {
		if (s->efer & EFER_LMA)
			return "EFER.LMA outside long mode";
		if (s->cs.l)
			return "CS.L outside long mode";
	}

	if (s->cr4 & caps->cr4_reserved)
		return "reserved CR4 bit (or feature absent from CPUID)";
	if (s->cr0 >> 32)
		return "CR0 bits 63:32 set";
	if ((s->cr0 & X86_CR0_NW) && !(s->cr0 & X86_CR0_CD))
		return "CR0.NW without CR0.CD";
	if ((s->cr0 & X86_CR0_PG) && !(s->cr0 & X86_CR0_PE))
		return "CR0.PG without CR0.PE";
	if (s->efer & caps->efer_reserved)
		return "reserved EFER bit (or feature absent from CPUID)";

	/* VMRUN's own consistency checks beyond KVM's (APM vol. 2, 15.5.1). */
	if (long_mode && s->cs.l && s->cs.db)
		return "CS.L and CS.D both set in long mode";

	return apic_base_invalid(s->apic_base, caps);
}

/**
 * umbra_vcpu_set_sregs - KVM_SET_SREGS
 * @vcpu: the vCPU, its mutex held
 * @sregs: the new state, copied from userspace
 *
 * The first vector set in interrupt_bitmap becomes the pending external
 * interrupt, as in KVM.
 *
 * Return: 0, or -EINVAL (with a rate-limited dmesg line saying why).
 */
int umbra_vcpu_set_sregs(struct umbra_vcpu *vcpu, const struct kvm_sregs *sregs)
{
	const char *why;
	unsigned long vec;

	lockdep_assert_held(&vcpu->mutex);

	why = umbra_sregs_invalid(sregs, &vcpu->caps);
	if (why) {
		pr_info_ratelimited("vcpu %u: KVM_SET_SREGS refused: %s\n",
				    vcpu->id, why);
		return -EINVAL;
	}

	vcpu->sregs = *sregs;
	vcpu->sregs_dirty = true;
	memset(vcpu->sregs.interrupt_bitmap, 0, sizeof(vcpu->sregs.interrupt_bitmap));

	vec = find_first_bit((const unsigned long *)sregs->interrupt_bitmap,
			     KVM_NR_INTERRUPTS);
	if (vec < KVM_NR_INTERRUPTS)
		vcpu->pending_irq = vec;
	return 0;
}

/**
 * umbra_vcpu_get_sregs - KVM_GET_SREGS
 * @vcpu: the vCPU, its mutex held
 * @sregs: filled in
 */
void umbra_vcpu_get_sregs(struct umbra_vcpu *vcpu, struct kvm_sregs *sregs)
{
	lockdep_assert_held(&vcpu->mutex);

	*sregs = vcpu->sregs;
	if (vcpu->pending_irq >= 0)
		__set_bit(vcpu->pending_irq, (unsigned long *)sregs->interrupt_bitmap);
}

/**
 * umbra_vcpu_set_regs - KVM_SET_REGS
 * @vcpu: the vCPU, its mutex held
 * @regs: the new registers; RFLAGS bit 1 is forced on as the CPU does
 */
void umbra_vcpu_set_regs(struct umbra_vcpu *vcpu, const struct kvm_regs *regs)
{
	u64 *g = vcpu->gpr;

	lockdep_assert_held(&vcpu->mutex);

	g[UMBRA_RAX] = regs->rax;	g[UMBRA_RBX] = regs->rbx;
	g[UMBRA_RCX] = regs->rcx;	g[UMBRA_RDX] = regs->rdx;
	g[UMBRA_RSI] = regs->rsi;	g[UMBRA_RDI] = regs->rdi;
	g[UMBRA_RSP] = regs->rsp;	g[UMBRA_RBP] = regs->rbp;
	g[UMBRA_R8] = regs->r8;		g[UMBRA_R9] = regs->r9;
	g[UMBRA_R10] = regs->r10;	g[UMBRA_R11] = regs->r11;
	g[UMBRA_R12] = regs->r12;	g[UMBRA_R13] = regs->r13;
	g[UMBRA_R14] = regs->r14;	g[UMBRA_R15] = regs->r15;
	vcpu->rip = regs->rip;
	vcpu->rflags = regs->rflags | X86_EFLAGS_FIXED;
	vcpu->sregs_dirty = true;
}

/**
 * umbra_vcpu_get_regs - KVM_GET_REGS
 * @vcpu: the vCPU, its mutex held
 * @regs: filled in
 */
void umbra_vcpu_get_regs(struct umbra_vcpu *vcpu, struct kvm_regs *regs)
{
	const u64 *g = vcpu->gpr;

	lockdep_assert_held(&vcpu->mutex);

	*regs = (struct kvm_regs) {
		.rax = g[UMBRA_RAX], .rbx = g[UMBRA_RBX],
		.rcx = g[UMBRA_RCX], .rdx = g[UMBRA_RDX],
		.rsi = g[UMBRA_RSI], .rdi = g[UMBRA_RDI],
		.rsp = g[UMBRA_RSP], .rbp = g[UMBRA_RBP],
		.r8 = g[UMBRA_R8], .r9 = g[UMBRA_R9],
		.r10 = g[UMBRA_R10], .r11 = g[UMBRA_R11],
		.r12 = g[UMBRA_R12], .r13 = g[UMBRA_R13],
		.r14 = g[UMBRA_R14], .r15 = g[UMBRA_R15],
		.rip = vcpu->rip, .rflags = vcpu->rflags,
	};
}
