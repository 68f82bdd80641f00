// SPDX-License-Identifier: GPL-2.0
/*
 * msr.c - the guest's MSRs
 *
 * What it owns:
 *   RDMSR/WRMSR from the guest (every MSR is intercepted: the permission
 *   map is all ones) and KVM_GET/SET_MSRS from userspace, over one table
 *   of the MSRs a 64-bit guest needs.  An MSR not in the table, or a value
 *   the MSR cannot hold, is #GP for the guest and a short count for
 *   userspace, as in KVM.
 *
 * Where each lives: EFER in umbra_svm_vcpu (the VMCB's copy has SVME
 * forced); the syscall, sysenter, FS/GS and KERNEL_GS_BASE MSRs and PAT in
 * the VMCB save area (VMLOAD/VMSAVE and VMRUN move them); TSC as the
 * VMCB's TSC offset; TSC_AUX in umbra_svm_vcpu (run.c swaps it); APIC_BASE
 * in umbra_vcpu.sregs.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/string.h>
#include <asm/fpu/types.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <asm/tsc.h>
#include "svm.h"

/* A PAT entry may only hold a defined memory type (SDM vol. 3, 13.12.2). */
static bool pat_valid(u64 pat)
{
	unsigned int i;

	for (i = 0; i < 8; i++) {
		u8 t = pat >> (i * 8);

		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

static bool efer_valid(struct umbra_svm_vcpu *svm, u64 efer, bool host)
{
	struct umbra_vcpu *vcpu = svm->vcpu;

	if (efer & vcpu->caps.efer_reserved & ~EFER_LMA)
		return false;
	/* LME may not change while paging is on (SDM vol. 3, 10.8.5). */
	if (!host && (svm->cr0 & X86_CR0_PG) &&
	    ((efer ^ svm->efer) & EFER_LME))
		return false;
	return true;
}

/**
 * umbra_svm_get_msr - read one of the guest's MSRs
 * @svm: the vCPU
 * @index: MSR number
 * @data: the value
 *
 * Return: 0, or -ENOENT for an MSR umbra does not give guests.
 */
int umbra_svm_get_msr(struct umbra_svm_vcpu *svm, u32 index, u64 *data)
{
	struct vmcb_save_area *save = &svm->vmcb->save;

	switch (index) {
	case MSR_EFER:
		*data = svm->efer;
		break;
	case MSR_STAR:
		*data = save->star;
		break;
	case MSR_LSTAR:
		*data = save->lstar;
		break;
	case MSR_CSTAR:
		*data = save->cstar;
		break;
	case MSR_SYSCALL_MASK:
		*data = save->sfmask;
		break;
	case MSR_FS_BASE:
		*data = save->fs.base;
		break;
	case MSR_GS_BASE:
		*data = save->gs.base;
		break;
	case MSR_KERNEL_GS_BASE:
		*data = save->kernel_gs_base;
		break;
	case MSR_IA32_SYSENTER_CS:
		*data = save->sysenter_cs;
		break;
	case MSR_IA32_SYSENTER_ESP:
		*data = save->sysenter_esp;
		break;
	case MSR_IA32_SYSENTER_EIP:
		*data = save->sysenter_eip;
		break;
	case MSR_IA32_CR_PAT:
		*data = save->g_pat;
		break;
	case MSR_IA32_TSC:
		*data = rdtsc() + svm->vmcb->control.tsc_offset;
		break;
	case MSR_TSC_AUX:
		*data = svm->tsc_aux;
		break;
	case MSR_IA32_APICBASE:
		*data = svm->vcpu->sregs.apic_base;
		break;
	default:
		return -ENOENT;
	}
	return 0;
}

/**
 * umbra_svm_set_msr - write one of the guest's MSRs
 * @svm: the vCPU
 * @index: MSR number
 * @data: the value
 * @host: written by userspace (KVM_SET_MSRS), not by the guest
 *
 * Return: 0, -ENOENT for an unknown MSR, -EINVAL for a value it cannot hold.
 */
int umbra_svm_set_msr(struct umbra_svm_vcpu *svm, u32 index, u64 data, bool host)
{
	struct vmcb_save_area *save = &svm->vmcb->save;

	switch (index) {
	case MSR_EFER:
		if (!efer_valid(svm, data, host))
			return -EINVAL;
		/* LMA is the CPU's to set; a guest write cannot change it. */
		if (!host)
			data = (data & ~EFER_LMA) | (svm->efer & EFER_LMA);
		umbra_svm_set_efer(svm, data);
		return 0;
	case MSR_STAR:
		save->star = data;
		return 0;
	case MSR_LSTAR:
		save->lstar = data;
		break;
	case MSR_CSTAR:
		save->cstar = data;
		break;
	case MSR_SYSCALL_MASK:
		save->sfmask = data;
		return 0;
	case MSR_FS_BASE:
		save->fs.base = data;
		break;
	case MSR_GS_BASE:
		save->gs.base = data;
		break;
	case MSR_KERNEL_GS_BASE:
		save->kernel_gs_base = data;
		break;
	case MSR_IA32_SYSENTER_CS:
		save->sysenter_cs = data;
		return 0;
	case MSR_IA32_SYSENTER_ESP:
		save->sysenter_esp = data;
		break;
	case MSR_IA32_SYSENTER_EIP:
		save->sysenter_eip = data;
		break;
	case MSR_IA32_CR_PAT:
		if (!pat_valid(data))
			return -EINVAL;
		save->g_pat = data;
		return 0;
	case MSR_IA32_TSC:
		svm->vmcb->control.tsc_offset = data - rdtsc();
		return 0;
	case MSR_TSC_AUX:
		if (data >> 32)
			return -EINVAL;
		svm->tsc_aux = data;
		return 0;
	case MSR_IA32_APICBASE:
		svm->vcpu->sregs.apic_base = data;
		return 0;
	default:
		return -ENOENT;
	}
	/* The address-holding MSRs must be canonical (48-bit). */
	if ((s64)(data << 16) >> 16 != (s64)data)
		return -EINVAL;
	return 0;
}

/**
 * umbra_svm_handle_msr - an intercepted RDMSR or WRMSR
 * @svm: the vCPU
 * @write: WRMSR (EXITINFO1 = 1) rather than RDMSR
 */
int umbra_svm_handle_msr(struct umbra_svm_vcpu *svm, bool write)
{
	struct umbra_vcpu *vcpu = svm->vcpu;
	u32 index = vcpu->gpr[UMBRA_RCX];
	u64 data;

	if (write) {
		data = (u32)svm->vmcb->save.rax | (vcpu->gpr[UMBRA_RDX] << 32);
		if (umbra_svm_set_msr(svm, index, data, false))
			goto gp;
	} else {
		if (umbra_svm_get_msr(svm, index, &data))
			goto gp;
		svm->vmcb->save.rax = (u32)data;
		vcpu->gpr[UMBRA_RDX] = data >> 32;
	}
	svm->vmcb->save.rip += 2;
	return SVM_RESUME;
gp:
	pr_debug("vcpu %u: %s of MSR %#x: #GP\n", vcpu->id,
		 write ? "WRMSR" : "RDMSR", index);
	umbra_svm_queue_exception(svm, GP_VECTOR, true, 0);
	return SVM_RESUME;
}

/* The backend ops for KVM_GET/SET_MSRS (core/msr.c). */
int umbra_svm_vcpu_get_msr(struct umbra_vcpu *vcpu, u32 index, u64 *data)
{
	return umbra_svm_get_msr(to_svm(vcpu), index, data);
}

int umbra_svm_vcpu_set_msr(struct umbra_vcpu *vcpu, u32 index, u64 data)
{
	return umbra_svm_set_msr(to_svm(vcpu), index, data, true);
}

/*
 * KVM_GET/SET_FPU: the legacy FXSAVE region of the guest's FPU state,
 * which stays in memory outside KVM_RUN (run.c swaps it in only there).
 */
void umbra_svm_get_fpu(struct umbra_vcpu *vcpu, struct kvm_fpu *fpu)
{
	const struct fxregs_state *fx = &to_svm(vcpu)->fpu.fpstate->regs.fxsave;

	memcpy(fpu->fpr, fx->st_space, sizeof(fpu->fpr));
	fpu->fcw = fx->cwd;
	fpu->fsw = fx->swd;
	fpu->ftwx = fx->twd;
	fpu->last_opcode = fx->fop;
	fpu->last_ip = fx->rip;
	fpu->last_dp = fx->rdp;
	memcpy(fpu->xmm, fx->xmm_space, sizeof(fpu->xmm));
	fpu->mxcsr = fx->mxcsr;
}

void umbra_svm_set_fpu(struct umbra_vcpu *vcpu, const struct kvm_fpu *fpu)
{
	struct fxregs_state *fx = &to_svm(vcpu)->fpu.fpstate->regs.fxsave;

	memcpy(fx->st_space, fpu->fpr, sizeof(fpu->fpr));
	fx->cwd = fpu->fcw;
	fx->swd = fpu->fsw;
	fx->twd = fpu->ftwx;
	fx->fop = fpu->last_opcode;
	fx->rip = fpu->last_ip;
	fx->rdp = fpu->last_dp;
	memcpy(fx->xmm_space, fpu->xmm, sizeof(fpu->xmm));
	/*
	 * A reserved MXCSR bit would make the next FXRSTOR fault in the host.
	 * Bits 31:16 are reserved on every AMD-V capable CPU (the kernel's
	 * exact mask is not exported to modules).
	 */
	fx->mxcsr = fpu->mxcsr & 0xffff;
}
