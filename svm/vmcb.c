// SPDX-License-Identifier: GPL-2.0
/*
 * vmcb.c - the VMCB: what umbra intercepts and how guest state maps onto it
 *
 * What it owns:
 *   allocation of a vCPU's VMCB and guest FPU state, the intercept set,
 *   and the conversion between KVM's register structs (umbra_vcpu.sregs)
 *   and the VMCB save area.
 *
 * Intercepts, and why:
 *   - CR0 and CR3 reads and writes, CR4 writes: the hardware runs on the
 *     shadow root with CR0.PG and CR0.WP forced (see svm.h), so the guest's
 *     values live in umbra_svm_vcpu and every change re-aims the MMU;
 *   - CR4 reads while the hardware's CR4 differs from the guest's (PAE
 *     forced under a guest without it, see svm_update_hw_paging()); in
 *     long mode the two agree and the read costs no exit;
 *   - #PF: the shadow MMU's entry point;
 *   - INVLPG, INVLPGA: the shadow must drop the translation too;
 *   - all port I/O and all MSRs (permission maps all ones): umbra decides;
 *   - INTR, NMI, SMI: the host's, not the guest's;
 *   - HLT, SHUTDOWN, CPUID, VMMCALL, XSETBV, INVD, WBINVD, TASK_SWITCH;
 *   - VMRUN (the architecture requires it) and every other SVM instruction,
 *     MONITOR/MWAIT, RDPRU and RSM, which umbra's guests do not get: #UD.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitops.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <asm/debugreg.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <umbra/mmu.h>
#include "svm.h"

#define PAT_DEFAULT	0x0007040600070406ULL
#define DR6_RESET	0xffff0ff0	/* DR6 at reset: the active-low bits set */

static const u32 svm_intercepts[] = {
	INTERCEPT_CR0_READ, INTERCEPT_CR3_READ,
	INTERCEPT_CR0_WRITE, INTERCEPT_CR3_WRITE, INTERCEPT_CR4_WRITE,
	INTERCEPT_INTR, INTERCEPT_NMI, INTERCEPT_SMI,
	INTERCEPT_CPUID, INTERCEPT_RSM, INTERCEPT_INVD, INTERCEPT_HLT,
	INTERCEPT_INVLPG, INTERCEPT_INVLPGA, INTERCEPT_IOIO_PROT,
	INTERCEPT_MSR_PROT, INTERCEPT_TASK_SWITCH, INTERCEPT_SHUTDOWN,
	INTERCEPT_VMRUN, INTERCEPT_VMMCALL, INTERCEPT_VMLOAD, INTERCEPT_VMSAVE,
	INTERCEPT_STGI, INTERCEPT_CLGI, INTERCEPT_SKINIT, INTERCEPT_WBINVD,
	INTERCEPT_MONITOR, INTERCEPT_MWAIT, INTERCEPT_XSETBV, INTERCEPT_RDPRU,
};

static void set_intercept(struct vmcb_control_area *c, u32 bit)
{
	__set_bit(bit, (unsigned long *)c->intercepts);
}

static void clear_intercept(struct vmcb_control_area *c, u32 bit)
{
	__clear_bit(bit, (unsigned long *)c->intercepts);
}

static void init_control(struct umbra_svm_vcpu *svm)
{
	struct vmcb_control_area *c = &svm->vmcb->control;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(svm_intercepts); i++)
		set_intercept(c, svm_intercepts[i]);
	set_intercept(c, INTERCEPT_EXCEPTION_OFFSET + PF_VECTOR);

	c->iopm_base_pa = umbra_svm_iopm_pa;
	c->msrpm_base_pa = umbra_svm_msrpm_pa;
	/* The guest's RFLAGS.IF masks only virtual interrupts, not the host's. */
	c->int_ctl = V_INTR_MASKING_MASK;
}

/* kvm_segment <-> vmcb_seg, as KVM's svm_get/set_segment() do it. */
static void seg_to_vmcb(struct vmcb_seg *v, const struct kvm_segment *s)
{
	v->selector = s->selector;
	v->base = s->base;
	v->limit = s->limit;
	if (s->unusable) {
		v->attrib = 0;
		return;
	}
	v->attrib = (s->type & SVM_SELECTOR_TYPE_MASK) |
		    (s->s << SVM_SELECTOR_S_SHIFT) |
		    ((s->dpl & 3) << SVM_SELECTOR_DPL_SHIFT) |
		    (s->present << SVM_SELECTOR_P_SHIFT) |
		    (s->avl << SVM_SELECTOR_AVL_SHIFT) |
		    (s->l << SVM_SELECTOR_L_SHIFT) |
		    (s->db << SVM_SELECTOR_DB_SHIFT) |
		    (s->g << SVM_SELECTOR_G_SHIFT);
}

static void seg_from_vmcb(struct kvm_segment *s, const struct vmcb_seg *v)
{
	*s = (struct kvm_segment) {
		.selector = v->selector,
		.base = v->base,
		.limit = v->limit,
		.type = v->attrib & SVM_SELECTOR_TYPE_MASK,
		.s = !!(v->attrib & SVM_SELECTOR_S_MASK),
		.dpl = (v->attrib >> SVM_SELECTOR_DPL_SHIFT) & 3,
		.present = !!(v->attrib & SVM_SELECTOR_P_MASK),
		.avl = !!(v->attrib & SVM_SELECTOR_AVL_MASK),
		.l = !!(v->attrib & SVM_SELECTOR_L_MASK),
		.db = !!(v->attrib & SVM_SELECTOR_DB_MASK),
		.g = !!(v->attrib & SVM_SELECTOR_G_MASK),
	};
	s->unusable = !s->present;
}

/* Tell the MMU about the guest's paging registers. */
static void svm_update_paging(struct umbra_svm_vcpu *svm)
{
	struct umbra_paging p = {
		.cr0 = svm->cr0, .cr3 = svm->cr3,
		.cr4 = svm->cr4, .efer = svm->efer,
	};

	umbra_mmu_set_paging(svm->vcpu, &p);
}

/*
 * The CR0, CR4 and EFER the hardware runs with, from the guest's (svm.h):
 *   - CR0 gets PG and WP: the hardware always pages, on umbra's shadow;
 *     with the guest's PE clear that is AMD's "paged real mode", which
 *     VMRUN accepts for exactly this use (APM vol. 2, 15.19).  It loses
 *     CD and NW (set at reset): the guest's wish to run uncached is not
 *     the host's to grant on its memory (KVM's CD_NW_CLEARED quirk);
 *   - CR4 gets PAE: the shadow is 4-level when the guest is in long mode
 *     and legacy PAE otherwise (mmu/root.c).  With the guest's paging off
 *     its SMEP and SMAP mean nothing, but on the shadow they would refuse
 *     supervisor accesses to the (user) identity map: they stay off;
 *   - EFER gets SVME (VMRUN requires it, 15.5.1) and keeps LME only in
 *     long mode: with the hardware's PG forced on, LME alone would make
 *     the CPU enter long mode under a guest that has not.
 */
static void svm_update_hw_paging(struct umbra_svm_vcpu *svm)
{
	struct vmcb_save_area *save = &svm->vmcb->save;

	save->cr0 = (svm->cr0 | X86_CR0_PG | X86_CR0_WP) &
		    ~(X86_CR0_CD | X86_CR0_NW);
	save->cr4 = svm->cr4 | X86_CR4_PAE;
	if (!(svm->cr0 & X86_CR0_PG))
		save->cr4 &= ~(X86_CR4_SMEP | X86_CR4_SMAP);
	save->efer = svm->efer | EFER_SVME;
	if (!(svm->efer & EFER_LMA))
		save->efer &= ~EFER_LME;
	if (save->cr4 != svm->cr4)
		set_intercept(&svm->vmcb->control, INTERCEPT_CR4_READ);
	else
		clear_intercept(&svm->vmcb->control, INTERCEPT_CR4_READ);
	svm_update_paging(svm);
}

/**
 * umbra_svm_set_cr0 - the guest's CR0 changes
 * @svm: the vCPU
 * @cr0: the guest's new value, already checked
 *
 * EFER.LMA follows CR0.PG when EFER.LME is set, as on hardware.
 */
void umbra_svm_set_cr0(struct umbra_svm_vcpu *svm, u64 cr0)
{
	svm->cr0 = cr0;
	if (svm->efer & EFER_LME) {
		if (cr0 & X86_CR0_PG)
			svm->efer |= EFER_LMA;
		else
			svm->efer &= ~EFER_LMA;
	}
	svm_update_hw_paging(svm);
}

void umbra_svm_set_cr4(struct umbra_svm_vcpu *svm, u64 cr4)
{
	svm->cr4 = cr4;
	svm_update_hw_paging(svm);
}

void umbra_svm_set_efer(struct umbra_svm_vcpu *svm, u64 efer)
{
	svm->efer = efer;
	svm_update_hw_paging(svm);
}

/**
 * umbra_svm_sync_from_vcpu - load umbra_vcpu's KVM-shaped state into the VMCB
 * @svm: the vCPU, at the start of KVM_RUN after userspace changed state
 */
void umbra_svm_sync_from_vcpu(struct umbra_svm_vcpu *svm)
{
	struct umbra_vcpu *vcpu = svm->vcpu;
	struct vmcb_save_area *save = &svm->vmcb->save;
	const struct kvm_sregs *s = &vcpu->sregs;

	seg_to_vmcb(&save->cs, &s->cs);
	seg_to_vmcb(&save->ds, &s->ds);
	seg_to_vmcb(&save->es, &s->es);
	seg_to_vmcb(&save->fs, &s->fs);
	seg_to_vmcb(&save->gs, &s->gs);
	seg_to_vmcb(&save->ss, &s->ss);
	seg_to_vmcb(&save->tr, &s->tr);
	seg_to_vmcb(&save->ldtr, &s->ldt);
	save->gdtr.base = s->gdt.base;
	save->gdtr.limit = s->gdt.limit;
	save->idtr.base = s->idt.base;
	save->idtr.limit = s->idt.limit;
	save->cpl = s->ss.dpl;
	save->cr2 = s->cr2;

	svm->cr3 = s->cr3;
	svm->efer = s->efer;
	svm->cr4 = s->cr4;
	umbra_svm_set_cr0(svm, s->cr0);	/* also tells the MMU */

	save->rax = vcpu->gpr[UMBRA_RAX];
	save->rsp = vcpu->gpr[UMBRA_RSP];
	save->rip = vcpu->rip;
	save->rflags = vcpu->rflags;
	vcpu->sregs_dirty = false;
}

/**
 * umbra_svm_sync_to_vcpu - copy the VMCB's state back into umbra_vcpu
 * @svm: the vCPU, at the end of KVM_RUN
 */
void umbra_svm_sync_to_vcpu(struct umbra_svm_vcpu *svm)
{
	struct umbra_vcpu *vcpu = svm->vcpu;
	const struct vmcb_save_area *save = &svm->vmcb->save;
	struct kvm_sregs *s = &vcpu->sregs;

	seg_from_vmcb(&s->cs, &save->cs);
	seg_from_vmcb(&s->ds, &save->ds);
	seg_from_vmcb(&s->es, &save->es);
	seg_from_vmcb(&s->fs, &save->fs);
	seg_from_vmcb(&s->gs, &save->gs);
	seg_from_vmcb(&s->ss, &save->ss);
	seg_from_vmcb(&s->tr, &save->tr);
	seg_from_vmcb(&s->ldt, &save->ldtr);
	/* A usable TR is always present; KVM reports it so. */
	s->tr.unusable = 0;
	s->gdt.base = save->gdtr.base;
	s->gdt.limit = save->gdtr.limit;
	s->idt.base = save->idtr.base;
	s->idt.limit = save->idtr.limit;
	s->cr0 = svm->cr0;
	s->cr2 = save->cr2;
	s->cr3 = svm->cr3;
	s->cr4 = svm->cr4;
	s->efer = svm->efer;

	vcpu->gpr[UMBRA_RAX] = save->rax;
	vcpu->gpr[UMBRA_RSP] = save->rsp;
	vcpu->rip = save->rip;
	vcpu->rflags = save->rflags;
}

/**
 * umbra_svm_vcpu_create - give a new vCPU its VMCB and FPU state
 * @vcpu: the vCPU, its registers already at reset values
 *
 * Return: 0 or -ENOMEM.
 */
int umbra_svm_vcpu_create(struct umbra_vcpu *vcpu)
{
	struct umbra_svm_vcpu *svm;
	struct page *page;

	svm = kzalloc(sizeof(*svm), GFP_KERNEL_ACCOUNT);
	if (!svm)
		return -ENOMEM;
	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!page)
		goto free_svm;
	if (!fpu_alloc_guest_fpstate(&svm->fpu))
		goto free_page;

	svm->vcpu = vcpu;
	svm->vmcb = page_address(page);
	svm->vmcb_pa = page_to_phys(page);
	svm->asid_cpu = -1;
	vcpu->arch = svm;

	init_control(svm);
	svm->vmcb->save.g_pat = PAT_DEFAULT;
	svm->vmcb->save.dr6 = DR6_RESET;
	svm->vmcb->save.dr7 = DR7_FIXED_1;
	return 0;

free_page:
	__free_page(page);
free_svm:
	kfree(svm);
	return -ENOMEM;
}

void umbra_svm_vcpu_free(struct umbra_vcpu *vcpu)
{
	struct umbra_svm_vcpu *svm = to_svm(vcpu);

	if (!svm)
		return;
	fpu_free_guest_fpstate(&svm->fpu);
	free_page((unsigned long)svm->vmcb);
	kfree(svm);
	vcpu->arch = NULL;
}
