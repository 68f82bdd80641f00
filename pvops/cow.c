// SPDX-License-Identifier: GPL-2.0
/*
 * cow.c - copy-on-write faults resolved by the host (UMBRA_PV_FEATURE_COW)
 *
 * What it owns:
 *   each vCPU's registered COW area (umbra_vcpu.pv_cow_gpa), and the
 *   resolution of a copy-on-write #PF inside the exit that caught it:
 *   take a frame the guest gave, copy the page into it, swap the PTE
 *   (guest entry and shadow together, mmu/pte_write.c), log what was done;
 *   and the #PF exit's step around it (umbra_pv_cow_resolve()): try again
 *   when the PTE changed meanwhile, and say what becomes of the fault.
 *
 * Why: a shadow MMU must intercept every #PF, so a guest that resolves
 * its own COW faults pays two exits for each, the #PF and its fix.  The
 * guest's rule for the fix is simple enough to apply here (pv.h), and
 * then the #PF is the only exit.
 *
 * The area is guest memory, read and written only from the exit of the
 * vCPU that registered it, so nothing races with the guest; but each
 * field is read once and checked before use, and anything off (counts
 * beyond the arrays, a frame that is not writable RAM) makes the fault
 * the guest's own #PF, as if no area were registered.  The PTE is
 * swapped with a compare-and-exchange against the value the walk read, so
 * a PTE another vCPU changed meanwhile is left alone (the write retries).
 *
 * Context: the vCPU thread, may sleep; no lock held on entry.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/stddef.h>
#include <linux/uaccess.h>
#include <umbra/mmu.h>
#include <umbra/pv.h>
#include <umbra/pvops.h>

static_assert(sizeof(struct umbra_cow_area) <= PAGE_SIZE);

/**
 * umbra_pv_cow_area - UMBRA_HC_COW_AREA: register (or drop) the COW area
 * @vcpu: the vCPU
 * @gpa: the area, one page, page aligned; 0 unregisters
 *
 * Return: 0, -UMBRA_PV_EINVAL (misaligned), or -UMBRA_PV_EFAULT if the
 * page is not writable RAM.
 */
long umbra_pv_cow_area(struct umbra_vcpu *vcpu, u64 gpa)
{
	int idx;
	bool ok;

	if (!gpa) {
		vcpu->pv_cow_gpa = 0;
		return 0;
	}
	if (gpa & ~PAGE_MASK)
		return -UMBRA_PV_EINVAL;
	idx = srcu_read_lock(&vcpu->vm->srcu);
	ok = umbra_mmu_ram_hva(vcpu->vm, gpa);
	srcu_read_unlock(&vcpu->vm->srcu, idx);
	if (!ok)
		return -UMBRA_PV_EFAULT;
	vcpu->pv_cow_gpa = gpa;
	return 0;
}

/* The resolution proper, inside umbra_vm.srcu. */
static enum umbra_pv_cow cow_fault(struct umbra_vcpu *vcpu, u64 pte_gpa, u64 gpte)
{
	const u64 frame = GENMASK_ULL(51, PAGE_SHIFT);
	struct umbra_host_page to;
	struct umbra_cow_area __user *area;
	u32 nr_free, nr_done;
	enum umbra_pv_cow done = UMBRA_PV_COW_NO;
	bool flush = false;
	u64 new_gfn, new;
	LIST_HEAD(zapped);
	int r;

	area = umbra_mmu_ram_hva(vcpu->vm, vcpu->pv_cow_gpa);
	if (!area || get_user(nr_free, &area->nr_free) ||
	    get_user(nr_done, &area->nr_done) ||
	    !nr_free || nr_free > UMBRA_COW_FREE_MAX ||
	    nr_done >= UMBRA_COW_DONE_MAX ||
	    get_user(new_gfn, &area->free[nr_free - 1]))
		return UMBRA_PV_COW_NO;
	/* A frame number too wide for an entry would wrap in the shift. */
	if (new_gfn > frame >> PAGE_SHIFT || new_gfn << PAGE_SHIFT == (gpte & frame))
		return UMBRA_PV_COW_NO;
	if (!umbra_mmu_get_host_page(vcpu->vm, new_gfn, true, &to))
		return UMBRA_PV_COW_NO;
	/*
	 * The copy counts only if the VMM still maps the page it went into
	 * (else the guest copies for itself); and if the frame the guest
	 * handed out was still a shadowed table, those shadows are gone.
	 */
	if (umbra_mmu_copy_from_gfn(vcpu->vm, (gpte & frame) >> PAGE_SHIFT, &to,
				    &flush, &zapped))
		goto out;

	if (put_user(pte_gpa, &area->done[nr_done].pte_gpa) ||
	    put_user(gpte, &area->done[nr_done].old_pte))
		goto out;
	new = (new_gfn << PAGE_SHIFT) | (gpte & ~frame & ~UMBRA_PV_PTE_COW) |
	      _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;
	/* The prefill maps the new frame from @to: no second lookup. */
	r = umbra_mmu_cmpxchg_gpte(vcpu, pte_gpa, gpte, new, &to, &flush);
	if (r < 0) {
		if (r == -EAGAIN)	/* changed: the write faults afresh */
			done = UMBRA_PV_COW_RETRY;
		goto out;
	}
	/*
	 * The PTE is the guest's now: count it in the log even if the area
	 * went away meanwhile (the guest's loss, not the host's).
	 */
	if (put_user(nr_done + 1, &area->nr_done) ||
	    put_user(nr_free - 1, &area->nr_free))
		pr_warn_ratelimited("vCPU %u: COW area at %#llx went away\n",
				    vcpu->id, vcpu->pv_cow_gpa);
	vcpu->stats.pv_cow++;
	done = r ? UMBRA_PV_COW_MAPPED : UMBRA_PV_COW_RETRY;
out:
	/*
	 * The old read-only translation, on every vCPU, if a shadow held it
	 * (the flush rule; a PTE no shadow mirrored left nothing to flush),
	 * and whatever shadowed the new frame: one flush for both.
	 */
	umbra_mmu_flush_and_free(vcpu->vm, flush, &zapped);
	umbra_mmu_put_host_page(&to, true);
	return done;
}

/**
 * umbra_pv_cow_fault - resolve a copy-on-write #PF if the guest asked to
 * @vcpu: the vCPU that faulted
 * @pf: the fault, UMBRA_PF_GUEST from umbra_mmu_page_fault()
 *
 * Context: the vCPU thread, may sleep.
 * Return: whether the guest resumes without the #PF (see pv.h), and if
 * so whether the shadow already maps the write.
 */
enum umbra_pv_cow umbra_pv_cow_fault(struct umbra_vcpu *vcpu,
				     const struct umbra_pf *pf)
{
	enum umbra_pv_cow done;
	int idx;

	if (!vcpu->pv_cow_gpa || !pf->rw_gpte_gpa ||
	    !(pf->rw_gpte & UMBRA_PV_PTE_COW))
		return UMBRA_PV_COW_NO;
	idx = srcu_read_lock(&vcpu->vm->srcu);
	done = cow_fault(vcpu, pf->rw_gpte_gpa, pf->rw_gpte);
	srcu_read_unlock(&vcpu->vm->srcu, idx);
	return done;
}

/* How often one #PF exit tries a COW whose PTE keeps changing under it. */
#define COW_TRIES	3

/**
 * umbra_pv_cow_resolve - a #PF the walk gave to the guest, if it is a COW
 * @vcpu: the vCPU that faulted
 * @addr: the fault's address, as for umbra_mmu_page_fault()
 * @error: its error code
 * @pf: that walk's report; each walk made here rewrites it
 *
 * If the PTE swap left the shadow mapping the copy writable, the guest
 * just resumes; otherwise the write is faulted in at once, as the guest's
 * retry would be, so that the first write through a table not yet
 * shadowed does not cost a second exit.  That walk may find the PTE
 * changed meanwhile, by another vCPU or an A/D update (the swap saw it
 * and left it alone): a write that still faults is then a COW to try
 * again, or the guest's own fault.  A PTE that changes on every try is
 * left to the guest's retry of the write: never a #PF the guest did not
 * earn (pv.h: "else the guest just retries the write").
 *
 * Context: the vCPU thread, may sleep.
 * Return: an umbra_mmu_page_fault() result: UMBRA_PF_GUEST with @pf the
 * fault to deliver, UMBRA_PF_FIXED if the guest just resumes, or what a
 * walk here found.
 */
int umbra_pv_cow_resolve(struct umbra_vcpu *vcpu, u64 addr, u32 error,
			 struct umbra_pf *pf)
{
	int tries, r;

	for (tries = 0; tries < COW_TRIES; tries++) {
		switch (umbra_pv_cow_fault(vcpu, pf)) {
		case UMBRA_PV_COW_MAPPED:
			return UMBRA_PF_FIXED;
		case UMBRA_PV_COW_NO:
			return UMBRA_PF_GUEST;
		case UMBRA_PV_COW_RETRY:
			*pf = (struct umbra_pf) {};
			r = umbra_mmu_page_fault(vcpu, addr, error, pf);
			if (r != UMBRA_PF_GUEST)
				return r;
			break;
		}
	}
	return UMBRA_PF_FIXED;		/* resume: the write faults afresh */
}
