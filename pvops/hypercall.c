// SPDX-License-Identifier: GPL-2.0
/*
 * hypercall.c - umbra's hypercalls, dispatched by number
 *
 * The backend traps VMMCALL and hands the number and arguments here (KVM's
 * register convention: RAX = number, RBX, RCX, RDX = the first arguments); the
 * result goes back in RAX.  Every number is documented in include/umbra/pv.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <umbra/pv.h>
#include <umbra/pvops.h>
#include <umbra/vm.h>

#define KVM_ENOSYS	1000	/* what KVM answers for an unknown hypercall */

/**
 * umbra_pv_hypercall - run one hypercall
 * @vcpu: the vCPU that made it
 * @nr: RAX
 * @a0: RBX
 * @a1: RCX
 * @a2: RDX
 * @fx: what the backend must do afterwards
 *
 * Context: process context, the vCPU's mutex held, may sleep.
 * Return: the value for RAX.
 */
long umbra_pv_hypercall(struct umbra_vcpu *vcpu, u64 nr, u64 a0, u64 a1,
			u64 a2, struct umbra_pv_effects *fx)
{
	switch (nr) {
	case UMBRA_HC_MMU_QUEUE:
		return umbra_pv_mmu_queue(vcpu, a0, a1, a2);
	case UMBRA_HC_MMU_FLUSH:
		return umbra_pv_mmu_flush(vcpu, a0, fx);
	case UMBRA_HC_COW_AREA:
		return umbra_pv_cow_area(vcpu, a0);
	default:
		return -KVM_ENOSYS;
	}
}
