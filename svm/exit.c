// SPDX-License-Identifier: GPL-2.0
/*
 * exit.c - #VMEXIT dispatch
 *
 * What it owns:
 *   one handler per exit code umbra intercepts (see vmcb.c for why each is
 *   intercepted), exception queueing with the x86 double-fault rules, the
 *   re-injection of an event whose delivery the exit interrupted, and the
 *   guest's own CR0/CR3/CR4.
 *
 * Every handler returns SVM_RESUME (enter the guest again) or SVM_USER
 * (kvm_run->exit_reason is set), or -errno for a host-side failure.  Guest
 * misbehaviour is never an errno: it becomes an injected exception, or
 * KVM_EXIT_SHUTDOWN / KVM_EXIT_INTERNAL_ERROR with the reason kept.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm_para.h>
#include <linux/printk.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <asm/traps.h>
#include <umbra/mmu.h>
#include <umbra/pvops.h>
#include "decode.h"
#include "svm.h"

static void skip_insn(struct umbra_svm_vcpu *svm, unsigned int len)
{
	svm->vmcb->save.rip += len;
}

/**
 * umbra_svm_internal_error - stop with KVM_EXIT_INTERNAL_ERROR
 * @svm: the vCPU
 * @why: the reason, also printed (rate limited) to dmesg
 *
 * Return: SVM_USER.
 */
int umbra_svm_internal_error(struct umbra_svm_vcpu *svm, const char *why)
{
	struct kvm_run *run = svm->vcpu->run;

	pr_info_ratelimited("vcpu %u: internal error at rip %#llx: %s (exit %#x)\n",
			    svm->vcpu->id, svm->vmcb->save.rip, why,
			    svm->vmcb->control.exit_code);
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->internal.ndata = 2;
	run->internal.data[0] = svm->vmcb->control.exit_code;
	run->internal.data[1] = svm->vmcb->save.rip;
	return SVM_USER;
}

static bool is_contributory(u8 v)
{
	return v == DE_VECTOR || (v >= TS_VECTOR && v <= GP_VECTOR);
}

/**
 * umbra_svm_queue_exception - deliver an exception on the next entry
 * @svm: the vCPU
 * @vector: exception vector
 * @has_error: whether it pushes an error code
 * @error: the error code
 *
 * If another exception is already waiting (one whose delivery this exit
 * interrupted), the two combine as the SDM's table 6-5 says: into #DF, or,
 * with a #DF already waiting, into a triple fault, which shuts down.
 */
void umbra_svm_queue_exception(struct umbra_svm_vcpu *svm, u8 vector, bool has_error,
			 u32 error)
{
	struct svm_event *ev = &svm->event;

	if (ev->pending) {
		u8 first = ev->vector;

		if (first == DF_VECTOR) {
			ev->pending = false;
			ev->triple_fault = true;
			return;
		}
		if ((first == PF_VECTOR && (is_contributory(vector) ||
					    vector == PF_VECTOR)) ||
		    (is_contributory(first) && is_contributory(vector))) {
			vector = DF_VECTOR;
			has_error = true;
			error = 0;
		}
	}
	*ev = (struct svm_event) {
		.pending = true, .vector = vector,
		.has_error = has_error, .error = error,
	};
}

void umbra_svm_queue_pf(struct umbra_svm_vcpu *svm, u64 cr2, u32 error)
{
	umbra_svm_queue_exception(svm, PF_VECTOR, true, error);
	if (svm->event.pending && svm->event.vector == PF_VECTOR)
		svm->event.cr2 = cr2;
	svm->vcpu->stats.pf_guest++;
}

static void queue_ud(struct umbra_svm_vcpu *svm)
{
	umbra_svm_queue_exception(svm, UD_VECTOR, false, 0);
}

static void queue_gp(struct umbra_svm_vcpu *svm)
{
	umbra_svm_queue_exception(svm, GP_VECTOR, true, 0);
}

/*
 * The exit interrupted the delivery of an event (say, a #PF while pushing
 * an exception frame onto a stack the shadow did not map yet): deliver it
 * again once the exit is dealt with, or it is lost.  A software interrupt
 * (INT n) is not re-queued: RIP still points at the INT instruction, which
 * simply runs again.
 */
static void requeue_interrupted_event(struct umbra_svm_vcpu *svm)
{
	u32 info = svm->vmcb->control.exit_int_info;

	if (!(info & SVM_EXITINTINFO_VALID))
		return;
	svm->vmcb->control.exit_int_info = 0;
	if ((info & SVM_EXITINTINFO_TYPE_MASK) != SVM_EXITINTINFO_TYPE_EXEPT)
		return;
	svm->event = (struct svm_event) {
		.pending = true,
		.vector = info & SVM_EXITINTINFO_VEC_MASK,
		.has_error = !!(info & SVM_EXITINTINFO_VALID_ERR),
		.error = svm->vmcb->control.exit_int_info_err,
		.cr2 = svm->vmcb->save.cr2,
	};
}

/*
 * Decode at RIP for an exit that needs the instruction.  Return: 0, 1 if
 * a #PF was queued instead (resume), -1 after an internal error (the
 * instruction is not one umbra decodes).
 */
static int decode_or_fail(struct umbra_svm_vcpu *svm, struct svm_insn *insn,
			  const char *what)
{
	int r = umbra_svm_decode_or_inject(svm, insn);
	char why[96];

	if (r >= 0)
		return r;
	snprintf(why, sizeof(why), "%s: cannot decode %*phN", what, 8, insn->bytes);
	umbra_svm_internal_error(svm, why);
	return -1;
}

/* MOV to CR0: the checks MOV CR0 makes on hardware, #GP otherwise. */
static bool cr0_valid(struct umbra_svm_vcpu *svm, u64 cr0)
{
	if (cr0 >> 32)
		return false;
	if ((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD))
		return false;
	if ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE))
		return false;
	if ((cr0 & X86_CR0_PG) && (svm->efer & EFER_LME) &&
	    !(svm->cr4 & X86_CR4_PAE))
		return false;
	/* Long mode is entered and left from 32-bit code only. */
	if (((cr0 ^ svm->cr0) & X86_CR0_PG) && (svm->efer & EFER_LME) &&
	    (svm->vmcb->save.cs.attrib & SVM_SELECTOR_L_MASK))
		return false;
	return true;
}

static int write_cr(struct umbra_svm_vcpu *svm, unsigned int cr, u64 val)
{
	struct umbra_vcpu *vcpu = svm->vcpu;
	bool flush;

	switch (cr) {
	case 0:
		if (!cr0_valid(svm, val))
			return -EINVAL;
		flush = (val ^ svm->cr0) & (X86_CR0_PG | X86_CR0_WP);
		umbra_svm_set_cr0(svm, val);
		/* Turning paging (or WP) on or off flushes the TLB. */
		if (flush)
			umbra_mmu_guest_flush(vcpu);
		return 0;
	case 3:
		if ((svm->efer & EFER_LMA) && (val & umbra_gpa_reserved(&vcpu->caps)))
			return -EINVAL;
		svm->cr3 = val;
		vcpu->stats.cr3_loads++;
		vcpu->stats.tlb_flush++;
		/* MOV CR3 flushes the guest's TLB: resync, and a new ASID. */
		umbra_mmu_guest_flush(vcpu);
		umbra_svm_set_cr0(svm, svm->cr0);	/* re-aims the MMU */
		return 0;
	case 4:
		if (val & vcpu->caps.cr4_reserved)
			return -EINVAL;
		if ((svm->efer & EFER_LMA) && !(val & X86_CR4_PAE))
			return -EINVAL;
		umbra_svm_set_cr4(svm, val);
		umbra_mmu_guest_flush(vcpu);	/* a CR4 write flushes too */
		return 0;
	default:
		return -EINVAL;
	}
}

static int handle_cr(struct umbra_svm_vcpu *svm)
{
	struct svm_insn insn;
	unsigned int cr;
	u64 val;
	int r;

	r = decode_or_fail(svm, &insn, "CR access");
	if (r)
		return r > 0 ? SVM_RESUME : SVM_USER;

	if (insn.opcode == 0x0f06) {			/* CLTS */
		umbra_svm_set_cr0(svm, svm->cr0 & ~X86_CR0_TS);
		skip_insn(svm, insn.len);
		return SVM_RESUME;
	}
	if ((insn.opcode != 0x0f20 && insn.opcode != 0x0f22) || insn.mod != 3)
		return umbra_svm_internal_error(svm, "CR access form not emulated");

	/*
	 * MOV CR moves 64 bits in 64-bit mode and 32 elsewhere, whatever the
	 * prefixes say (SDM vol. 2, MOV-Move to/from Control Registers).
	 */
	cr = insn.reg;
	if (insn.opcode == 0x0f20) {			/* MOV reg, CRn */
		if (cr == 0)
			val = svm->cr0;
		else if (cr == 3)
			val = svm->cr3;
		else if (cr == 4)
			val = svm->cr4;
		else
			return umbra_svm_internal_error(svm, "read of an unexpected CR");
		svm_set_gpr(svm, insn.rm, insn.mode == 8 ? val : (u32)val);
	} else {
		val = svm_gpr(svm, insn.rm);
		if (write_cr(svm, cr, insn.mode == 8 ? val : (u32)val)) {
			queue_gp(svm);
			return SVM_RESUME;
		}
	}
	skip_insn(svm, insn.len);
	return SVM_RESUME;
}

static int handle_invlpg(struct umbra_svm_vcpu *svm)
{
	struct svm_insn insn;
	int r;

	r = decode_or_fail(svm, &insn, "INVLPG");
	if (r)
		return r > 0 ? SVM_RESUME : SVM_USER;
	if (insn.opcode != 0x0f01 || (insn.reg & 7) != 7 || !insn.has_mem)
		return umbra_svm_internal_error(svm, "INVLPG form not understood");

	svm->vcpu->stats.invlpg++;
	umbra_mmu_invlpg(svm->vcpu, insn.ea);
	skip_insn(svm, insn.len);
	return SVM_RESUME;
}

/* Is this store the shape of a page-table update: a MOV of 1 to 8 bytes? */
static bool pte_shaped(const struct svm_insn *insn)
{
	switch (insn->opcode) {
	case 0x88: case 0x89: case 0xc6: case 0xc7: case 0xa2: case 0xa3:
		return insn->has_mem && !insn->rep;
	default:
		return false;
	}
}

/*
 * A write to a shadowed guest page table.  A MOV is emulated: the value
 * goes to guest memory and the shadow drops what mirrored the old one.
 * Any other store (REP STOS zeroing a page-table page the guest has freed,
 * or is about to refill) makes umbra stop shadowing the frame and the guest
 * runs the store again.  If that same store faults again at once (within a
 * few exits, with nothing in between), the store itself must be making the
 * frame a page table again (a table that maps itself, written by a string
 * instruction): that is reported rather than looped on.  The same store
 * coming back after other work is progress, not a loop.
 */
static int emulate_pt_write(struct umbra_svm_vcpu *svm, u64 gpa)
{
	u64 rip = svm->vmcb->save.rip, exits = svm->vcpu->stats.exits;
	struct svm_insn insn;
	unsigned int size;
	u64 val;
	int r;

	r = umbra_svm_decode_or_inject(svm, &insn);
	if (r == SVM_DECODE_INJECTED)
		return SVM_RESUME;
	if (r || !pte_shaped(&insn)) {
		if (svm->unprotect_rip == rip &&
		    svm->unprotect_gfn == gpa >> PAGE_SHIFT &&
		    exits - svm->unprotect_exits <= 3) {
			if (++svm->unprotect_repeats > 4)
				return umbra_svm_internal_error(svm,
					"store to a page table keeps re-shadowing it");
		} else {
			svm->unprotect_repeats = 0;
		}
		svm->unprotect_rip = rip;
		svm->unprotect_gfn = gpa >> PAGE_SHIFT;
		svm->unprotect_exits = exits;
		umbra_mmu_unprotect(svm->vcpu, gpa);
		return SVM_RESUME;
	}

	size = umbra_svm_insn_opsize(&insn);
	val = (insn.opcode == 0xc6 || insn.opcode == 0xc7) ? insn.imm :
	      svm_gpr(svm, insn.reg);
	r = umbra_mmu_emulate_write(svm->vcpu, gpa, &val, size);
	if (r)
		return r;
	svm->vmcb->save.rip += insn.len;
	return SVM_RESUME;
}

static int handle_pf(struct umbra_svm_vcpu *svm)
{
	struct vmcb_control_area *c = &svm->vmcb->control;
	struct umbra_pf pf = {};
	int r;

	svm->vcpu->stats.pf_taken++;
	r = umbra_mmu_page_fault(svm->vcpu, c->exit_info_2, c->exit_info_1, &pf);
	/* A copy-on-write the guest lets umbra do (pv.h)? */
	if (r == UMBRA_PF_GUEST)
		r = umbra_pv_cow_resolve(svm->vcpu, c->exit_info_2,
					 c->exit_info_1, &pf);
	switch (r) {
	case UMBRA_PF_FIXED:
		return SVM_RESUME;
	case UMBRA_PF_GUEST:
		umbra_svm_queue_pf(svm, pf.fault_addr, pf.fault_error);
		return SVM_RESUME;
	case UMBRA_PF_MMIO:
		return umbra_svm_handle_mmio(svm, pf.gpa);
	case UMBRA_PF_EMULATE:
		return emulate_pt_write(svm, pf.gpa);
	case -EIO:
		return umbra_svm_internal_error(svm,
			"guest page table outside guest RAM");
	default:
		return r;	/* -EFAULT: the VMM's memory is gone, as KVM */
	}
}

static int handle_cpuid(struct umbra_svm_vcpu *svm)
{
	struct umbra_vcpu *vcpu = svm->vcpu;
	u32 fn = svm->vmcb->save.rax, idx = vcpu->gpr[UMBRA_RCX];
	const struct kvm_cpuid_entry2 *e = NULL;
	unsigned int i;

	for (i = 0; i < vcpu->cpuid_nent; i++) {
		const struct kvm_cpuid_entry2 *c = &vcpu->cpuid[i];

		if (c->function == fn &&
		    (!(c->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || c->index == idx)) {
			e = c;
			break;
		}
	}
	/* A leaf the VMM did not give reads as zeros, as AMD's CPUs do. */
	svm->vmcb->save.rax = e ? e->eax : 0;
	vcpu->gpr[UMBRA_RBX] = e ? e->ebx : 0;
	vcpu->gpr[UMBRA_RCX] = e ? e->ecx : 0;
	vcpu->gpr[UMBRA_RDX] = e ? e->edx : 0;
	skip_insn(svm, 2);
	return SVM_RESUME;
}

static int handle_hlt(struct umbra_svm_vcpu *svm)
{
	svm->vcpu->stats.halt_exits++;
	skip_insn(svm, 1);
	svm->vcpu->run->exit_reason = KVM_EXIT_HLT;
	return SVM_USER;
}

/*
 * VMMCALL with KVM's convention: RAX = number, RBX, RCX = arguments, RAX =
 * result (pvops/hypercall.c).  What a batch of mmu_ops asks for is done
 * here, before the guest runs again: the CR3 load, then one TLB flush.
 */
static int handle_vmmcall(struct umbra_svm_vcpu *svm)
{
	struct umbra_vcpu *vcpu = svm->vcpu;
	struct umbra_pv_effects fx = {};

	vcpu->stats.hypercalls++;
	svm->vmcb->save.rax = umbra_pv_hypercall(vcpu, svm->vmcb->save.rax,
						 vcpu->gpr[UMBRA_RBX],
						 vcpu->gpr[UMBRA_RCX],
						 vcpu->gpr[UMBRA_RDX], &fx);
	skip_insn(svm, 3);
	if (fx.load_cr3 && write_cr(svm, 3, fx.cr3))
		return umbra_svm_internal_error(svm, "PV CR3 load refused");
	else if (fx.flush_tlb)
		umbra_mmu_guest_flush(vcpu);	/* write_cr(3) flushed already */
	return SVM_RESUME;
}

static int handle_vmrun_failed(struct umbra_svm_vcpu *svm)
{
	struct kvm_run *run = svm->vcpu->run;

	pr_info_ratelimited("vcpu %u: VMRUN refused the guest state\n",
			    svm->vcpu->id);
	run->exit_reason = KVM_EXIT_FAIL_ENTRY;
	run->fail_entry.hardware_entry_failure_reason = SVM_EXIT_ERR;
	run->fail_entry.cpu = raw_smp_processor_id();
	return SVM_USER;
}

static int dispatch(struct umbra_svm_vcpu *svm, u32 code)
{
	struct umbra_vcpu *vcpu = svm->vcpu;

	switch (code) {
	case SVM_EXIT_READ_CR0:
	case SVM_EXIT_READ_CR3:
	case SVM_EXIT_READ_CR4:
	case SVM_EXIT_WRITE_CR0:
	case SVM_EXIT_WRITE_CR3:
	case SVM_EXIT_WRITE_CR4:
		return handle_cr(svm);
	case SVM_EXIT_EXCP_BASE + PF_VECTOR:
		return handle_pf(svm);
	case SVM_EXIT_INTR:
		vcpu->stats.irq_exits++;
		return SVM_RESUME;
	case SVM_EXIT_NMI:
	case SVM_EXIT_SMI:
		return SVM_RESUME;	/* the host took it at STGI */
	case SVM_EXIT_CPUID:
		return handle_cpuid(svm);
	case SVM_EXIT_HLT:
		return handle_hlt(svm);
	case SVM_EXIT_INVLPG:
		return handle_invlpg(svm);
	case SVM_EXIT_INVLPGA:
		umbra_vcpu_request(vcpu, UMBRA_REQ_TLB_FLUSH);
		skip_insn(svm, 3);
		return SVM_RESUME;
	case SVM_EXIT_IOIO:
		return umbra_svm_handle_ioio(svm);
	case SVM_EXIT_MSR:
		return umbra_svm_handle_msr(svm, svm->vmcb->control.exit_info_1);
	case SVM_EXIT_SHUTDOWN:
		vcpu->run->exit_reason = KVM_EXIT_SHUTDOWN;
		return SVM_USER;
	case SVM_EXIT_VMMCALL:
		return handle_vmmcall(svm);
	case SVM_EXIT_INVD:
	case SVM_EXIT_WBINVD:
		skip_insn(svm, 2);	/* the guest's caches are the host's */
		return SVM_RESUME;
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_MONITOR:
	case SVM_EXIT_MWAIT:
	case SVM_EXIT_RDPRU:
	case SVM_EXIT_RSM:
	case SVM_EXIT_XSETBV:
		queue_ud(svm);		/* not in the guest's CPUID */
		return SVM_RESUME;
	case SVM_EXIT_TASK_SWITCH:
		return umbra_svm_internal_error(svm, "hardware task switch");
	default:
		return umbra_svm_internal_error(svm, "unexpected exit code");
	}
}

/**
 * umbra_svm_handle_exit - act on the #VMEXIT that just happened
 * @svm: the vCPU, back from VMRUN, interrupts on
 *
 * Return: SVM_RESUME, SVM_USER or -errno.
 */
int umbra_svm_handle_exit(struct umbra_svm_vcpu *svm)
{
	u32 code = svm->vmcb->control.exit_code;
	int r;

	if (code == SVM_EXIT_ERR)
		return handle_vmrun_failed(svm);

	requeue_interrupted_event(svm);
	r = dispatch(svm, code);

	/* A fault while delivering #DF: a triple fault shuts down, as on hardware. */
	if (r == SVM_RESUME && svm->event.triple_fault) {
		svm->event.triple_fault = false;
		svm->vcpu->run->exit_reason = KVM_EXIT_SHUTDOWN;
		return SVM_USER;
	}
	return r;
}
