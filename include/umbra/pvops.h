/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host side of umbra's paravirtual interface (pvops/), for the
 * backend's hypercall exit.  The ABI itself is include/umbra/pv.h.
 */
#ifndef _UMBRA_PVOPS_H
#define _UMBRA_PVOPS_H

#include <linux/types.h>

struct umbra_pf;
struct umbra_vcpu;

/**
 * struct umbra_pv_effects - what a hypercall asks of the backend
 * @flush_tlb:	the guest's TLB must be flushed (INVLPG, FLUSH_TLB, LOAD_CR3
 *		ops of a batch, merged into one)
 * @load_cr3:	CR3 must be loaded with @cr3 (the last LOAD_CR3 op wins)
 * @cr3:	the value
 *
 * The backend applies them after the batch, in this order: CR3, then the
 * flush; both before the guest runs again.
 */
struct umbra_pv_effects {
	bool flush_tlb;
	bool load_cr3;
	u64 cr3;
};

/* pvops/hypercall.c */
long umbra_pv_hypercall(struct umbra_vcpu *vcpu, u64 nr, u64 a0, u64 a1,
			u64 a2, struct umbra_pv_effects *fx);

/* pvops/mmu_op.c */
long umbra_pv_mmu_queue(struct umbra_vcpu *vcpu, u64 gpa, u64 npages,
			u64 flags);
long umbra_pv_mmu_flush(struct umbra_vcpu *vcpu, u64 n,
			struct umbra_pv_effects *fx);

/**
 * enum umbra_pv_cow - what umbra_pv_cow_fault() made of a #PF
 * @UMBRA_PV_COW_NO:	not a copy-on-write the host resolves: the #PF is
 *			the guest's
 * @UMBRA_PV_COW_RETRY:	resolved, or the PTE changed meanwhile: fault the
 *			access in again (it may find the shadow incomplete,
 *			or the PTE still a COW to resolve: never a #PF for
 *			the guest on that account)
 * @UMBRA_PV_COW_MAPPED: resolved, and the shadow maps the page writable:
 *			the guest's retried write goes through
 */
enum umbra_pv_cow {
	UMBRA_PV_COW_NO,
	UMBRA_PV_COW_RETRY,
	UMBRA_PV_COW_MAPPED,
};

/* pvops/cow.c */
long umbra_pv_cow_area(struct umbra_vcpu *vcpu, u64 gpa);
enum umbra_pv_cow umbra_pv_cow_fault(struct umbra_vcpu *vcpu,
				     const struct umbra_pf *pf);
int umbra_pv_cow_resolve(struct umbra_vcpu *vcpu, u64 addr, u32 error,
			 struct umbra_pf *pf);

#endif /* _UMBRA_PVOPS_H */
