// SPDX-License-Identifier: GPL-2.0
/*
 * fault.c - a #PF exit, from the fault to the fix
 *
 * umbra_mmu_page_fault() in five steps:
 *   1. walk the guest's tables (walk.c): if they refuse, the guest gets
 *      its own #PF with the error code and CR2 the CPU would give;
 *   2. find the memslot: none means MMIO, and so does a write to a
 *      read-only slot (KVM's rule);
 *   3. fault the host page in through the VMM's mapping (may sleep, so
 *      before mmu_lock), noting the notifier sequence count first;
 *   4. under mmu_lock: if the host invalidated the page meanwhile, retry;
 *      if the write targets a shadowed guest leaf table, let it go unsync
 *      (sync.c), and if it targets an upper-level one, hand it to the
 *      emulator (pte_write.c); then build the shadow path from the root
 *      down (shadow.c) and install the leaf spte;
 *   5. drop the page reference (the notifier, not a pin, keeps the mapping
 *      honest from now on) and flush whatever lost rights.
 *
 * Prefetch: inside a guest 2 MiB or 1 GiB page one guest entry governs
 * every frame (and with paging off nothing does: walk.c reports all of
 * memory as one such page), so the frames around the faulting one may be mapped with
 * the same rights in the same fault, exactly, wherever the host already
 * has the page (a lockless lookup, no faulting-in).  A guest that zeroes
 * the frames it hands out through its large-page direct map then faults
 * once per window instead of once per page.
 *
 * Leaf permissions (see spte.h for the bits):
 *   - U, NX: from the whole guest walk;
 *   - W only if the guest allows it, the host page is writable, the frame
 *     is not a shadowed table, and the guest entry is already dirty or
 *     this is the write that dirties it: a clean page maps read-only so
 *     the first write faults and the walker sets D, as lguest did;
 *   - CR0.WP=0: a supervisor write to a page the guest maps read-only is
 *     allowed by the CPU, so the spte gets W and loses U: a later user
 *     access faults and is judged again (the role's cr0_wp keeps such
 *     pages apart from WP=1 ones).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/uaccess.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include "mmu.h"

/* A guest page table the walk went through, re-read under mmu_lock. */
static bool gpte_changed(struct umbra_vcpu *vcpu, u64 addr,
			 const struct umbra_walk *w)
{
	int level;

	if (mmu_unpaged(vcpu->mmu))
		return false;		/* no guest tables to change */
	for (level = UMBRA_ROOT_LEVEL; level >= w->level; level--) {
		u64 __user *ptr = umbra_mmu_gpte_ptr(vcpu->vm, w->table_gfn[level],
						     addr, level);
		u64 pte;
		int r;

		if (!ptr)
			return true;
		pagefault_disable();
		r = __get_user(pte, ptr);
		pagefault_enable();
		if (r || pte != w->gpte[level])
			return true;
	}
	return false;
}

/* The child table at @level - 1 for this walk: which gfn, which role. */
static void child_of(const struct umbra_walk *w, u64 addr, int level,
		     union umbra_sp_role parent, u64 *gfn,
		     union umbra_sp_role *role)
{
	*role = parent;
	role->level = level - 1;
	if (level - 1 >= w->level) {
		/* A guest table shadows a guest table. */
		*gfn = w->table_gfn[level - 1];
		role->access = w->pt_access[level - 1];
		role->direct = 0;
	} else {
		/* Inside a guest large page: a direct table over its frames. */
		u64 span = 1ULL << (9 * (level - 1));

		*gfn = w->gfn & ~(span - 1);
		role->access = w->access;
		role->direct = 1;
	}
}

static u64 make_leaf(struct umbra_vcpu *vcpu, const struct umbra_walk *w,
		     u32 access, u64 pfn, bool host_writable, bool shadowed)
{
	const struct umbra_paging *p = &vcpu->mmu->paging;
	unsigned int acc = w->access;
	bool write = access & PFERR_WRITE;

	if (!(p->cr0 & X86_CR0_WP) && !(access & PFERR_USER) && write &&
	    !(acc & ACC_WRITE))
		acc = (acc | ACC_WRITE) & ~ACC_USER;
	return leaf_spte(pfn, acc, p->efer & EFER_NX, host_writable, shadowed,
			 write || (w->gpte[w->level] & _PAGE_DIRTY));
}

/*
 * Build the shadow path for @addr and install the leaf.  Under mmu_lock.
 * Return: 0 (done), 1 (retry: the guest tables changed), -ENOMEM.
 */
static int map(struct umbra_vcpu *vcpu, u64 addr, const struct umbra_walk *w,
	       u32 access, u64 pfn, bool host_writable, bool *flush)
{
	struct umbra_vm *vm = vcpu->vm;
	struct umbra_sp *sp, *child;
	union umbra_sp_role role;
	bool created, protected = false;
	u64 *sptep, spte, old, gfn;
	unsigned long *head;
	int level, top;

	sp = shadow_top(vcpu->mmu, addr, &top);
	if (!sp || sp->invalid)
		return 1;
	for (level = top; level > 1; level--) {
		sptep = &sp->spt[level_index(addr, level)];
		if (spte_present(*sptep)) {
			sp = spte_child(*sptep);
			continue;
		}
		child_of(w, addr, level, sp->role, &gfn, &role);
		child = umbra_sp_get(vcpu, gfn, role, &created);
		if (!child)
			return -ENOMEM;
		if (created && !role.direct)
			protected |= umbra_sp_new_shadow(vm, gfn);
		if (umbra_sp_link(vcpu, sptep, child))
			return -ENOMEM;
		sp = child;
	}

	/*
	 * The walk read the guest's entries before mmu_lock.  A table just
	 * write-protected may have been written through a stale TLB entry
	 * since (flush first), and any table may have been rewritten by an
	 * emulated or PV write on another vCPU, which dropped the shadow of
	 * the old value before we took the lock: check the entries the walk
	 * used are still what it read, or the shadow would keep a stale one.
	 */
	if (protected)
		umbra_mmu_flush_remote_tlbs(vm);
	if (gpte_changed(vcpu, addr, w))
		return 1;

	sptep = &sp->spt[level_index(addr, 1)];
	spte = make_leaf(vcpu, w, access, pfn, host_writable,
			 umbra_gfn_is_shadowed(vm, w->gfn));
	old = *sptep;
	if (spte_present(old)) {
		/*
		 * Same frame, same host page: update in place and keep the rmap
		 * entry.  Two frames can share a host page (aliased memslots),
		 * so the frame is compared too: the rmap entry lives under it.
		 * A deferred-A/D spte is dropped instead, which hands its bits on.
		 */
		if (spte_pfn(old) == pfn && !(old & SPTE_AD_DEFERRED) &&
		    umbra_sp_leaf_gfn(sp, sptep_index(sptep)) == w->gfn) {
			*flush |= spte_writable(old) && !spte_writable(spte);
			if (!sp->role.direct)
				sp->gptes[sptep_index(sptep)] = w->gpte[1];
			WRITE_ONCE(*sptep, spte);
			spte_check(spte);
			return 0;
		}
		umbra_spte_drop(vm, sptep);
		*flush = true;
	}
	head = umbra_gfn_rmap(vm, w->gfn);
	if (!head || umbra_rmap_add(vcpu, head, sptep))
		return -ENOMEM;
	if (!sp->role.direct)
		sp->gptes[sptep_index(sptep)] = w->gpte[1];
	WRITE_ONCE(*sptep, spte);
	spte_check(spte);
	return 0;
}

/* Before mmu_lock: the host pages around the fault, if already present. */
static void prefetch_lookup(const struct umbra_walk *w,
			    const struct umbra_memslot *slot, bool host_writable,
			    struct prefetch *pf)
{
	u64 first = w->gfn & ~(u64)(PREFETCH_PAGES - 1);

	pf->n = 0;
	if (w->level == 1 || first < slot->base_gfn ||
	    first + PREFETCH_PAGES > slot->base_gfn + slot->npages)
		return;
	pf->first_gfn = first;
	pf->writable = host_writable && (w->access & ACC_WRITE);
	pf->n = get_user_pages_fast_only(umbra_mmu_gfn_to_hva(slot, first),
					 PREFETCH_PAGES,
					 pf->writable ? FOLL_WRITE : 0, pf->pages);
	pf->n = max(pf->n, 0);
}

/*
 * Under mmu_lock, after the faulting frame was mapped: map the neighbours
 * found by prefetch_lookup() into empty entries of the same leaf table.
 * Only frames with no mapping yet (an empty rmap head) are taken, so no
 * rmap descriptor is ever needed here.
 */
static void prefetch_map(struct umbra_vcpu *vcpu, u64 addr,
			 const struct umbra_walk *w, u32 access,
			 const struct prefetch *pf)
{
	struct umbra_vm *vm = vcpu->vm;
	unsigned long *head;
	int level, i;
	struct umbra_sp *sp = shadow_top(vcpu->mmu, addr, &level);

	for (; level > 1; level--) {
		u64 spte = sp->spt[level_index(addr, level)];

		if (!spte_present(spte))
			return;
		sp = spte_child(spte);
	}
	for (i = 0; i < pf->n; i++) {
		u64 gfn = pf->first_gfn + i;
		u64 va = addr - (w->gfn - gfn) * PAGE_SIZE;
		u64 *sptep = &sp->spt[level_index(va, 1)];

		if (gfn == w->gfn || spte_present(*sptep))
			continue;
		head = umbra_gfn_rmap(vm, gfn);
		if (!head || *head)
			continue;
		WARN_ON_ONCE(umbra_rmap_add(vcpu, head, sptep));
		WRITE_ONCE(*sptep, make_leaf(vcpu, w, access & ~PFERR_WRITE,
					     page_to_pfn(pf->pages[i]), pf->writable,
					     umbra_gfn_is_shadowed(vm, gfn)));
	}
}

/* After mmu_lock: a writable host page may be dirtied behind the host's back. */
static void prefetch_release(struct prefetch *pf)
{
	int i;

	for (i = 0; i < pf->n; i++) {
		if (pf->writable)
			umbra_mmu_set_page_dirty(pf->pages[i]);
		put_page(pf->pages[i]);
	}
}

/* Step 3: the host page behind @hva.  Return: 0 or -EFAULT. */
static int fault_in(unsigned long hva, bool write, bool slot_ro,
		    struct page **page, bool *host_writable)
{
	if (!write && !slot_ro &&
	    get_user_page_fast_only(hva, FOLL_WRITE, page)) {
		*host_writable = true;
		return 0;
	}
	if (get_user_pages_unlocked(hva, 1, page, write ? FOLL_WRITE : 0) != 1)
		return -EFAULT;
	*host_writable = write;
	return 0;
}

/**
 * umbra_mmu_page_fault - handle a #PF exit
 * @vcpu: the vCPU
 * @addr: the faulting guest-virtual address (CR2)
 * @error: the hardware's error code (only the access bits are used: the
 *	   rest describe the shadow, not the guest)
 * @pf: details for the caller, see enum umbra_pf_result
 *
 * Context: process context, may sleep.
 * Return: an enum umbra_pf_result, or -EFAULT when the VMM's memory behind
 * the guest's RAM cannot be faulted in (as KVM, KVM_RUN then fails), -EIO
 * when a guest page table lies outside RAM, -ENOMEM.
 */
int umbra_mmu_page_fault(struct umbra_vcpu *vcpu, u64 addr, u32 error,
			 struct umbra_pf *pf)
{
	u32 access = error & (PFERR_WRITE | PFERR_USER | PFERR_FETCH);
	struct umbra_vm *vm = vcpu->vm;
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	struct umbra_memslot *slot;
	bool host_writable, flush = false;
	unsigned long seq, hva;
	struct prefetch *pre;
	struct umbra_walk w;
	struct page *page;
	LIST_HEAD(zapped);
	int idx, r;

	idx = srcu_read_lock(&vm->srcu);
	r = umbra_mmu_walk(vcpu, addr, access, &w);
	if (r) {
		if (r > 0) {
			pf->fault_addr = addr;
			pf->fault_error = w.fault_error;
			pf->rw_gpte_gpa = 0;
			if (umbra_mmu_walk_denied_by_rw(vcpu, &w, access)) {
				pf->rw_gpte_gpa = (w.table_gfn[1] << PAGE_SHIFT) +
						  level_index(addr, 1) * sizeof(u64);
				pf->rw_gpte = w.gpte[1];
			}
			r = UMBRA_PF_GUEST;
		} else {
			r = -EIO;
		}
		goto out;
	}

	pf->gpa = (w.gfn << PAGE_SHIFT) | (addr & ~PAGE_MASK);
	slot = umbra_mmu_gfn_to_slot(vm, w.gfn);
	if (slot && (slot->flags & UMBRA_MEMSLOT_INVALID)) {
		r = UMBRA_PF_FIXED;	/* being deleted: retry until it is gone */
		goto out;
	}
	if (!slot || ((access & PFERR_WRITE) && (slot->flags & KVM_MEM_READONLY))) {
		r = UMBRA_PF_MMIO;
		goto out;
	}

	hva = umbra_mmu_gfn_to_hva(slot, w.gfn);
	seq = mmu_invalidate_seq(mmu);
	r = fault_in(hva, access & PFERR_WRITE, slot->flags & KVM_MEM_READONLY,
		     &page, &host_writable);
	if (r)
		goto out;
	r = umbra_mmu_topup(vcpu);
	if (r)
		goto out_put;
	pre = vcpu->mmu->prefetch;
	prefetch_lookup(&w, slot, host_writable, pre);

	spin_lock(&mmu->lock);
	if (mmu_invalidated(mmu, seq)) {
		r = UMBRA_PF_FIXED;	/* the page went away: fault again */
	} else if ((access & PFERR_WRITE) && umbra_gfn_is_shadowed(vm, w.gfn) &&
		   !umbra_sp_try_unsync(vm, w.gfn)) {
		r = UMBRA_PF_EMULATE;	/* an upper-level table: see sync.c */
	} else {
		r = map(vcpu, addr, &w, access, page_to_pfn(page),
			host_writable, &flush);
		if (r >= 0) {
			if (!r) {
				vcpu->stats.pf_fixed++;
				prefetch_map(vcpu, addr, &w, access, pre);
			}
			r = UMBRA_PF_FIXED;
		}
		umbra_sp_reclaim(vm, &zapped);
	}
	spin_unlock(&mmu->lock);
	umbra_mmu_flush_and_free(vm, flush, &zapped);
	prefetch_release(pre);

	/* A writable mapping may dirty the page behind the host's back. */
	if (r == UMBRA_PF_FIXED && host_writable)
		umbra_mmu_set_page_dirty(page);
out_put:
	put_page(page);
out:
	srcu_read_unlock(&vm->srcu, idx);
	return r;
}
