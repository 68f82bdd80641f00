// SPDX-License-Identifier: GPL-2.0
/*
 * pte_write.c - guest page-table changes that did not come as faults
 *
 * What it owns:
 *   umbra_mmu_emulate_write(): a store the guest made to a write-protected
 *   (shadowed) page table, decoded by the backend and applied here: the
 *   value goes into guest memory and every shadow entry that mirrored the
 *   old value is dropped, so the next access through it faults and is
 *   shadowed afresh from the new value.  Dropping an upper-level entry
 *   unlinks the subtree below it, which stays cached (shadow.c).
 *
 *   umbra_mmu_invlpg(): INVLPG flushes one translation: the spte behind
 *   it is brought up to date if its table is unsync (sync.c), and the
 *   hardware's TLB is flushed.
 *
 * The PV mmu_op queue (pvops/mmu_op.c) uses the same path without the
 * trap and the decode: umbra_mmu_write_gptes() (a run of entries of one
 * table) and umbra_mmu_release_pt() only say that a flush is due, so a
 * batch of ops ends in one flush.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/uaccess.h>
#include <asm/processor-flags.h>
#include <umbra/pv.h>
#include "mmu.h"

/* Drop the shadow entries that mirror bytes [off, off + len) of @gfn. */
static bool drop_mirrors(struct umbra_vm *vm, u64 gfn, unsigned int off,
			 unsigned int len)
{
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	struct hlist_node *tmp;
	struct umbra_sp *sp;
	bool flush = false;
	unsigned int i;

	lockdep_assert_held(&mmu->lock);
	for_each_sp_of_gfn(mmu, sp, tmp, gfn) {
		for (i = off / 8; i <= (off + len - 1) / 8; i++) {
			if (spte_present(sp->spt[i])) {
				umbra_spte_drop(vm, &sp->spt[i]);
				flush = true;
			}
		}
	}
	return flush;
}

/**
 * umbra_mmu_emulate_write - apply a guest store to guest memory and shadow
 * @vcpu: the vCPU that made it
 * @gpa: where (RAM)
 * @val: the bytes
 * @len: how many (1..8, or up to a page for string I/O); must not cross a
 *	 page
 *
 * Return: 0, or -EFAULT if @gpa is not RAM or the VMM's mapping refuses.
 */
int umbra_mmu_emulate_write(struct umbra_vcpu *vcpu, u64 gpa, const void *val,
			    unsigned int len)
{
	struct umbra_vm *vm = vcpu->vm;
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	unsigned int off = gpa & ~PAGE_MASK;
	void __user *hva;
	LIST_HEAD(zapped);
	bool flush;
	int idx, r = 0;

	if (WARN_ON_ONCE(!len || off + len > PAGE_SIZE))
		return -EFAULT;
	idx = srcu_read_lock(&vm->srcu);
	hva = umbra_mmu_ram_hva(vm, gpa);
	if (!hva || copy_to_user(hva, val, len)) {
		r = -EFAULT;
		goto out;
	}
	spin_lock(&mmu->lock);
	flush = drop_mirrors(vm, gpa >> PAGE_SHIFT, off, len);
	spin_unlock(&mmu->lock);
	umbra_mmu_flush_and_free(vm, flush, &zapped);
out:
	srcu_read_unlock(&vm->srcu, idx);
	return r;
}

/*
 * A PV write of a present leaf entry can go straight into the shadow, so
 * the guest's next access does not fault.  Only an entry whose A bit is
 * set: with A clear the first access must go through the walker, which
 * sets it.  Writable only with D set, for the same reason (fault.c).
 * Under deferred A/D (ad.c) neither is needed: the spte is made without
 * the A and D the entry lacks, and the CPU marks it.  The host page is
 * looked up before mmu_lock without faulting it in, and the notifier
 * sequence tells whether it went away in between (@hp.seq; @hp.writable:
 * the page was taken for writing, so the spte may be).  A caller that
 * holds the page already (a COW copy just made into it) lends it:
 * @borrowed, and the caller puts it; prefill_put() puts the others.
 */
struct prefill {
	struct umbra_host_page hp;
	bool borrowed;
};

static void prefill_lookup(struct umbra_vcpu *vcpu, u64 val,
			   const struct umbra_host_page *hint, struct prefill *pf)
{
	struct umbra_mmu_vm *mmu = vm_mmu(vcpu->vm);
	struct umbra_memslot *slot;
	unsigned long hva;
	bool want_write;

	*pf = (struct prefill) {};
	if (!(val & _PAGE_PRESENT) ||
	    (!(val & _PAGE_ACCESSED) && !READ_ONCE(mmu->ad_pending)) ||
	    (val & umbra_mmu_rsvd_bits(vcpu, 1, val)))
		return;
	pf->hp.gfn = (val & GENMASK_ULL(51, PAGE_SHIFT)) >> PAGE_SHIFT;
	slot = umbra_mmu_gfn_to_slot(vcpu->vm, pf->hp.gfn);
	if (!slot || (slot->flags & UMBRA_MEMSLOT_INVALID))
		return;
	hva = umbra_mmu_gfn_to_hva(slot, pf->hp.gfn);
	want_write = (val & _PAGE_RW) && !(slot->flags & KVM_MEM_READONLY) &&
		     ((val & _PAGE_DIRTY) || READ_ONCE(mmu->ad_pending));
	pf->borrowed = hint && hint->page && hint->gfn == pf->hp.gfn;
	if (pf->borrowed) {
		pf->hp = *hint;
		pf->hp.writable = want_write && hint->writable;
		return;
	}
	pf->hp.seq = mmu_invalidate_seq(mmu);
	pf->hp.writable = want_write &&
			  get_user_page_fast_only(hva, FOLL_WRITE, &pf->hp.page);
	if (!pf->hp.writable && !get_user_page_fast_only(hva, 0, &pf->hp.page))
		pf->hp.page = NULL;
}

/* The prefill is over: drop its page unless borrowed; @dirtied: mapped writable. */
static void prefill_put(struct prefill *pf, bool dirtied)
{
	if (!pf->borrowed)
		umbra_mmu_put_host_page(&pf->hp, dirtied);
}

/*
 * Under mmu_lock: install @val's translation in a leaf table's entry.
 * Return: whether it is writable (the host page may get dirty).
 */
static bool prefill_install(struct umbra_vcpu *vcpu, struct umbra_sp *sp,
			    unsigned int idx, u64 val, const struct prefill *pf)
{
	struct umbra_vm *vm = vcpu->vm;
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	bool shadowed, defer;
	unsigned long *head;
	u64 spte;

	if (!pf->hp.page || sp->role.level != 1 || mmu_invalidated(mmu, pf->hp.seq))
		return false;
	/*
	 * One op may install into every shadow of the table (one per role),
	 * each rmap entry perhaps taking a descriptor: stop when the cache
	 * the op filled runs out, rather than fail in umbra_rmap_add().
	 */
	if (!vcpu->mmu->nr_desc_cache)
		return false;
	head = umbra_gfn_rmap(vm, pf->hp.gfn);
	if (!head)
		return false;
	shadowed = umbra_gfn_is_shadowed(vm, pf->hp.gfn);
	/* Without A, or clean and writable: only as a deferred spte (ad.c). */
	defer = (!(val & _PAGE_ACCESSED) ||
		 ((val & _PAGE_RW) && !(val & _PAGE_DIRTY) && pf->hp.writable)) &&
		umbra_ad_may_defer(mmu);
	if (!(val & _PAGE_ACCESSED) && !defer)
		return false;
	spte = leaf_spte(page_to_pfn(pf->hp.page),
			 sp->role.access & gpte_access(val, sp->role.nxe),
			 sp->role.nxe, pf->hp.writable, shadowed,
			 (val & _PAGE_DIRTY) || defer);
	if (umbra_rmap_add(vcpu, head, &sp->spt[idx]))
		return false;
	if (defer)
		spte = umbra_ad_spte(mmu, spte, val);
	sp->gptes[idx] = val;
	WRITE_ONCE(sp->spt[idx], spte);
	spte_check(spte);
	return spte_writable(spte);
}

/*
 * Under mmu_lock: entry @idx of the guest table @sp shadows is now @val.
 * A present spte follows it in place if it keeps its frame (COW,
 * mprotect), else is dropped, the A/D bits a deferred one gathered added
 * to @owed.  Return: whether the spte is empty now (a prefill may fill it).
 */
static bool spte_follow(struct umbra_vm *vm, struct umbra_sp *sp,
			unsigned int idx, u64 val, bool *flush, u64 *owed)
{
	if (!spte_present(sp->spt[idx]))
		return true;
	*flush = true;
	if (sp->role.level == 1 && umbra_sp_resync_spte(vm, sp, idx, val))
		return false;
	*owed |= umbra_spte_drop_owed(vm, &sp->spt[idx]);
	return true;
}

/*
 * One entry of a guest table that was just written, for its shadows to
 * follow: @idx its index, @old and @val its value before and after, @now
 * what it holds under mmu_lock (gptes_now()), @owed the A/D bits a
 * dropped deferred spte of @old gathered, @pf the host page of @val's
 * frame if it is new and may be installed at once.
 */
struct gpte_change {
	unsigned int idx;
	u64 old, val, now, owed;
	struct prefill pf;
};

#if IS_ENABLED(CONFIG_UMBRA_KUNIT_TEST)
void (*umbra_kunit_gpte_window)(struct umbra_vcpu *vcpu);
#endif

/*
 * Under mmu_lock: what the entries @c of @table hold now, which is what
 * their shadows follow rather than the values written.  The entries were
 * written before mmu_lock was taken, and another vCPU may have written
 * the same ones since and made their shadows follow its values already:
 * following ours after that would leave a shadow of a value the entry no
 * longer holds, for good (an INVLPG does not resync it).  Read again
 * under the lock, the last follow-step is always of the entry's latest
 * value, whichever writer takes it (fault.c re-reads its walk the same
 * way).  An entry that cannot be read without faulting counts as 0: its
 * shadows are dropped, and the next fault walks it afresh.
 *
 * With one vCPU there is no other writer (the walker that sets A/D runs
 * on the same thread), and the values written are what the entries hold.
 * A second vCPU is counted in nr_vcpus before it can run (core/vcpu.c);
 * if its follow step came before ours, so did its mmu_lock section, and
 * the count is seen here.
 */
static void gptes_now(struct umbra_vm *vm, u64 __user *table,
		      struct gpte_change *c, unsigned int n)
{
	unsigned int i = 0;

	if (READ_ONCE(vm->nr_vcpus) < 2) {
		for (; i < n; i++)
			c[i].now = c[i].val;
		return;
	}
	pagefault_disable();
	if (user_access_begin(table, PAGE_SIZE)) {
		for (; i < n; i++)
			unsafe_get_user(c[i].now, table + c[i].idx, efault);
efault:
		user_access_end();
	}
	pagefault_enable();
	for (; i < n; i++)
		c[i].now = 0;
}

/*
 * The @n entries @c of guest table @gfn (@table in the VMM's mapping) were
 * written: make every shadow of them follow what they hold now (see
 * gptes_now(), umbra_mmu_write_gptes()) in one mmu_lock section, and pay
 * the A/D bits dropped deferred sptes of the old values gathered (folded
 * into @old).  @prefill: the cache is filled, so new frames may be
 * installed (only if the entry still holds the value written); @hint: a
 * host page the caller holds, for the prefill (struct prefill).
 * Return: the changes a shadow now maps writable, a bit each.
 */
static u32 gptes_changed(struct umbra_vcpu *vcpu, u64 gfn, u64 __user *table,
			 struct gpte_change *c, unsigned int n, bool prefill,
			 const struct umbra_host_page *hint, bool *flush)
{
	struct umbra_vm *vm = vcpu->vm;
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	struct hlist_node *tmp;
	struct umbra_sp *sp;
	u32 writable = 0;
	unsigned int i;

	/*
	 * The host page is looked up, before mmu_lock, only for a new frame:
	 * a mirror of the same frame is updated in place, without it.
	 */
	for (i = 0; i < n; i++) {
		c[i].owed = 0;
		c[i].pf = (struct prefill) {};
		if (prefill && ((c[i].old ^ c[i].val) &
				(GENMASK_ULL(51, PAGE_SHIFT) | _PAGE_PRESENT)))
			prefill_lookup(vcpu, c[i].val, hint, &c[i].pf);
	}
#if IS_ENABLED(CONFIG_UMBRA_KUNIT_TEST)
	if (umbra_kunit_gpte_window)
		umbra_kunit_gpte_window(vcpu);
#endif
	spin_lock(&mmu->lock);
	gptes_now(vm, table, c, n);
	for_each_sp_of_gfn(mmu, sp, tmp, gfn)
		for (i = 0; i < n; i++)
			if (spte_follow(vm, sp, c[i].idx, c[i].now, flush, &c[i].owed) &&
			    c[i].now == c[i].val &&
			    prefill_install(vcpu, sp, c[i].idx, c[i].val, &c[i].pf))
				writable |= BIT(i);
	spin_unlock(&mmu->lock);

	for (i = 0; i < n; i++) {
		prefill_put(&c[i].pf, writable & BIT(i));
		if (c[i].owed) {
			c[i].old |= c[i].owed;
			umbra_ad_pay(table + c[i].idx, c[i].old, c[i].owed);
		}
	}
	return writable;
}

/*
 * The guest side of a run (umbra_mmu_write_gptes()): write entries of
 * @table (page @gfn, in the VMM's mapping) in order, until one of another
 * table or one written already, and say in @c what each went from and to.
 * Return: how many were written.
 */
static unsigned int write_run_gptes(u64 __user *table, u64 gfn,
				    const struct umbra_gpte_write *w,
				    struct gpte_change *c, unsigned int n)
{
	const u64 ad = _PAGE_ACCESSED | _PAGE_DIRTY;
	DECLARE_BITMAP(seen, SPTE_ENT_PER_PAGE);
	unsigned int done;

	bitmap_zero(seen, SPTE_ENT_PER_PAGE);
	if (!user_access_begin(table, PAGE_SIZE))
		return 0;
	for (done = 0; done < n; done++) {
		const struct umbra_gpte_write *e = &w[done];
		unsigned int idx = (e->gpa & ~PAGE_MASK) / 8;
		u64 old, want;

		if (e->gpa >> PAGE_SHIFT != gfn || test_bit(idx, seen))
			break;
		unsafe_get_user(old, table + idx, efault);
		do {
			want = e->keep_ad ? e->val | (old & ad) : e->val;
		} while (!unsafe_try_cmpxchg_user(table + idx, &old, want, efault));
		c[done].idx = idx;
		c[done].old = old;
		c[done].val = want;
		__set_bit(idx, seen);
	}
efault:
	user_access_end();
	return done;
}

/**
 * umbra_mmu_write_gptes - write a run of entries of one guest table,
 * shadow included
 * @vcpu: the vCPU asking (a batch of PV mmu_ops)
 * @w: the writes, in order
 * @n: how many, 1 or more; at most UMBRA_GPTE_RUN_MAX are taken
 * @flush: set when a remote TLB flush is due before the batch ends
 *
 * Each entry is written with a compare-and-exchange loop: the walker may
 * be setting A/D in it concurrently, and a plain read-modify-write could
 * lose its update.  The shadow entries that mirrored the old value follow
 * it in place if it keeps its frame (umbra_sp_resync_spte()), else are
 * dropped and, for a present leaf entry the guest has marked accessed,
 * the new translation is installed at once (see struct prefill).  The A/D
 * bits the CPU set in a dropped deferred spte are the old mapping's: they
 * stay in the entry if the new value maps the same frame (a change of
 * rights, say), and otherwise are only reported in @old.
 *
 * What a batch that rewrites a table entry by entry (mprotect, fork's
 * write-protect, mmap, munmap) would pay per entry is paid once per run:
 * the table's lookup, the user-access window for the guest entries, the
 * mmu_lock section for their shadows.  To the guest it is as if they went
 * one by one: the entries are written before their shadows follow (the
 * walker may see a new entry early, as it may for one write), the host
 * pages of new frames are looked up in between, before mmu_lock, and the
 * entries of a run are distinct: it stops before an entry of another
 * table and before one it wrote already, so that A/D a drop owes is paid
 * before the entry is written again.
 *
 * Context: inside umbra_vm.srcu, may sleep; takes mmu_lock.
 * Return: how many of @w were written, from 1; -EFAULT if the first
 * entry is not writable RAM (then none was).
 */
int umbra_mmu_write_gptes(struct umbra_vcpu *vcpu, struct umbra_gpte_write *w,
			  unsigned int n, bool *flush)
{
	u64 gfn = w[0].gpa >> PAGE_SHIFT;
	u64 __user *table = umbra_mmu_ram_hva(vcpu->vm, gfn << PAGE_SHIFT);
	struct gpte_change c[UMBRA_GPTE_RUN_MAX];
	unsigned int i, done;
	bool prefill;

	if (!table)
		return -EFAULT;
	/*
	 * Fill the cache before anything is written: if that fails, the
	 * writes still happen in full, only without the prefill.
	 */
	prefill = !umbra_mmu_topup(vcpu);
	done = write_run_gptes(table, gfn, w, c, min(n, UMBRA_GPTE_RUN_MAX));
	if (!done)
		return -EFAULT;
	gptes_changed(vcpu, gfn, table, c, done, prefill, NULL, flush);
	for (i = 0; i < done; i++)
		w[i].old = c[i].old;
	return done;
}

/*
 * The guest side of umbra_mmu_protect_gptes(): give the present entries of
 * @table from *@idx up to @end the rights @rights, until @c has @max, and
 * say in @c what each changed entry went from and to (one that has the
 * rights already is not written).  *@idx moves past the entries looked
 * at; *@fault is set if the table could not be accessed.
 * Return: how many changed (written, whether or not a fault came after).
 */
static unsigned int protect_run_gptes(u64 __user *table, unsigned int *idx,
				      unsigned int end, u64 rights,
				      struct gpte_change *c, unsigned int max,
				      bool *fault)
{
	unsigned int i = *idx, n = 0;

	*fault = true;
	if (!user_access_begin(table, PAGE_SIZE))
		return 0;
	for (; i < end && n < max; i++) {
		u64 old, want;

		unsafe_get_user(old, table + i, efault);
		for (;;) {
			want = (old & ~UMBRA_MMU_PROT_RIGHTS) | rights;
			if (!(old & _PAGE_PRESENT) || want == old)
				break;
			if (unsafe_try_cmpxchg_user(table + i, &old, want, efault)) {
				c[n++] = (struct gpte_change) {
					.idx = i, .old = old, .val = want,
				};
				break;
			}
		}
	}
	*fault = false;
efault:
	user_access_end();
	*idx = i;
	return n;
}

/**
 * umbra_mmu_protect_gptes - give a run of entries of one guest table new
 * rights, shadow included
 * @vcpu: the vCPU asking (a PROTECT mmu_op)
 * @gpa: the first entry, 8-byte aligned
 * @n: how many, 1 up to the end of its table
 * @rights: the rights (UMBRA_MMU_PROT_RIGHTS bits only)
 * @flush: set when a remote TLB flush is due before the batch ends
 *
 * Each present entry becomes (entry & ~UMBRA_MMU_PROT_RIGHTS) | @rights,
 * with a compare-and-exchange loop as in umbra_mmu_write_gptes(), so the
 * frame and the A/D bits the walker may be setting meanwhile are kept.
 * The shadows follow in place (the frame is the same: no host page is
 * looked up, nothing new is installed), UMBRA_GPTE_RUN_MAX entries per
 * mmu_lock section.  An entry that is not present, or has the rights
 * already, is neither written nor followed.
 *
 * Context: inside umbra_vm.srcu, may sleep; takes mmu_lock.
 * Return: 0, or -EFAULT if the table is not writable RAM.
 */
int umbra_mmu_protect_gptes(struct umbra_vcpu *vcpu, u64 gpa, unsigned int n,
			    u64 rights, bool *flush)
{
	u64 gfn = gpa >> PAGE_SHIFT;
	u64 __user *table = umbra_mmu_ram_hva(vcpu->vm, gfn << PAGE_SHIFT);
	unsigned int idx = (gpa & ~PAGE_MASK) / 8, end = idx + n;
	struct gpte_change c[UMBRA_GPTE_RUN_MAX];
	unsigned int changed;
	bool fault = false;

	if (!table)
		return -EFAULT;
	while (idx < end && !fault) {
		changed = protect_run_gptes(table, &idx, end, rights, c,
					    ARRAY_SIZE(c), &fault);
		if (changed)
			gptes_changed(vcpu, gfn, table, c, changed, false, NULL,
				      flush);
	}
	return fault ? -EFAULT : 0;
}

/**
 * umbra_mmu_cmpxchg_gpte - replace one guest entry if it still holds @expect
 * @vcpu: the vCPU asking (a copy-on-write the host resolves, pvops/cow.c)
 * @gpa: the entry, 8-byte aligned, in writable RAM
 * @expect: the value the caller's decision was made on
 * @val: the new value
 * @hint: the host page of @val's frame if the caller holds one, for the
 *	  prefill to use instead of a lookup of its own; or NULL
 * @flush: set when a remote TLB flush is due
 *
 * As umbra_mmu_write_gptes() for one entry, but only if the entry holds
 * @expect when it is written: another vCPU, or the walker setting A/D,
 * may have changed it since the caller read it, and then nothing is
 * written.  The A/D bits a deferred spte of the old value gathered are
 * paid into the entry only if @val keeps its frame, as for a WRITE_PTE.
 *
 * Context: inside umbra_vm.srcu, may sleep; takes mmu_lock.
 * Return: 1 if written and a shadow of the entry now maps @val writable
 * (the prefill: a write through it need not fault), 0 if written,
 * -EAGAIN if the entry changed, -EFAULT if @gpa is not writable RAM.
 */
int umbra_mmu_cmpxchg_gpte(struct umbra_vcpu *vcpu, u64 gpa, u64 expect,
			   u64 val, const struct umbra_host_page *hint,
			   bool *flush)
{
	u64 __user *table = umbra_mmu_ram_hva(vcpu->vm, gpa & PAGE_MASK);
	struct gpte_change c = {
		.idx = (gpa & ~PAGE_MASK) / 8, .old = expect, .val = val,
	};
	bool prefill, done;

	if (!table || (gpa & 7))
		return -EFAULT;
	prefill = !umbra_mmu_topup(vcpu);
	if (!user_access_begin(table + c.idx, sizeof(*table)))
		return -EFAULT;
	done = unsafe_try_cmpxchg_user(table + c.idx, &c.old, val, efault);
	user_access_end();
	if (!done)
		return -EAGAIN;
	return gptes_changed(vcpu, gpa >> PAGE_SHIFT, table, &c, 1, prefill,
			     hint, flush) ? 1 : 0;
efault:
	user_access_end();
	return -EFAULT;
}

/* Is @gfn some vCPU's current CR3?  @self's may be about to change. */
static bool gfn_is_live_root(struct umbra_vcpu *self, u64 gfn, u64 self_cr3)
{
	struct umbra_vm *vm = self->vm;
	unsigned int i;

	for (i = 0; i < UMBRA_MAX_VCPUS; i++) {
		struct umbra_vcpu *v = READ_ONCE(vm->vcpus[i]);
		u64 cr3;

		if (!v || !(READ_ONCE(v->mmu->paging.cr0) & X86_CR0_PG))
			continue;		/* no CR3 in use */
		cr3 = v == self ? self_cr3 : READ_ONCE(v->mmu->paging.cr3);
		if ((cr3 & GENMASK_ULL(51, PAGE_SHIFT)) >> PAGE_SHIFT == gfn)
			return true;
	}
	return false;
}

/**
 * umbra_mmu_release_pt - a guest page stops being a page table
 * @vcpu: the vCPU asking (a PV mmu_op)
 * @gpa: the page, page aligned
 * @cr3: @vcpu's CR3 as it will be when the batch ends (its own LOAD_CR3
 *	 op may precede this one)
 * @flush: set when a remote TLB flush is due before the batch ends
 * @zapped: zapped shadow pages, to free after that flush
 *
 * Its shadows go, and the sptes that map it get W back where the guest
 * allows it (umbra_gfn_unprotect()), so the guest may reuse the frame as
 * data without traps or faults.
 * A shadow kept as a previous root is zapped like any other (it is marked
 * invalid and dropped from the cache, mmu/root.c).
 *
 * Context: inside umbra_vm.srcu; takes mmu_lock.
 * Return: 0, -EFAULT if @gpa is not RAM, -EBUSY if the page is some
 * vCPU's current CR3 (releasing the table a vCPU runs on is a guest bug).
 */
int umbra_mmu_release_pt(struct umbra_vcpu *vcpu, u64 gpa, u64 cr3, bool *flush,
			 struct list_head *zapped)
{
	struct umbra_vm *vm = vcpu->vm;
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	u64 gfn = gpa >> PAGE_SHIFT;

	if (!umbra_mmu_ram_hva(vm, gpa))
		return -EFAULT;		/* not RAM, or read-only RAM (pv.h) */
	if (gfn_is_live_root(vcpu, gfn, cr3))
		return -EBUSY;
	spin_lock(&mmu->lock);
	*flush |= umbra_gfn_unshadow(vm, gfn, zapped);
	spin_unlock(&mmu->lock);
	return 0;
}

/**
 * umbra_mmu_unprotect - stop shadowing a guest frame, so writes go through
 * @vcpu: the vCPU whose write hit it
 * @gpa: an address in the frame
 *
 * For stores that are not page-table updates (a page table freed and
 * reused as data, zeroed with REP STOS): drop every shadow of the frame, so
 * it is no longer write-protected, and let the guest run the store again.
 * If the frame is still a page table, the next walk through it shadows it
 * afresh from what the guest wrote.
 *
 * Context: may sleep; takes umbra_vm.srcu and mmu_lock.
 */
void umbra_mmu_unprotect(struct umbra_vcpu *vcpu, u64 gpa)
{
	struct umbra_vm *vm = vcpu->vm;
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	LIST_HEAD(zapped);
	bool flush;
	int idx;

	/* The rmaps live in the memslots (umbra_gfn_rmap()). */
	idx = srcu_read_lock(&vm->srcu);
	spin_lock(&mmu->lock);
	flush = umbra_gfn_unshadow(vm, gpa >> PAGE_SHIFT, &zapped);
	spin_unlock(&mmu->lock);
	umbra_mmu_flush_and_free(vm, flush, &zapped);
	srcu_read_unlock(&vm->srcu, idx);
}

/* Under mmu_lock: the unsync leaf table @gva's shadow path ends in, or NULL. */
static struct umbra_sp *unsync_leaf(struct umbra_vcpu *vcpu, u64 gva)
{
	struct umbra_sp *sp;
	int level;

	sp = shadow_top(vcpu->mmu, gva, &level);
	for (; sp && !sp->invalid && level > 1; level--) {
		u64 spte = sp->spt[level_index(gva, level)];

		sp = spte_present(spte) ? spte_child(spte) : NULL;
	}
	return sp && !sp->invalid && sp->unsync ? sp : NULL;
}

/**
 * umbra_mmu_invlpg - the guest invalidated one translation
 * @vcpu: the vCPU
 * @gva: the address
 *
 * The shadow path of @gva is followed from the vCPU's root: if it ends in
 * an unsync leaf table, that entry is resynced (umbra_sp_sync_entry());
 * an in-sync table has nothing stale, and a missing spte nothing cached.
 * A guest invalidates a PTE it has just rewritten, mostly to use it at
 * once (a copy-on-write fault, an mprotect): so an entry that now maps
 * another frame is mapped at once, as a PV write would be (struct
 * prefill), rather than left to fault.  The PTE and its page are looked
 * up between two mmu_lock sections; the second checks that neither the
 * shadow path nor the PTE changed meanwhile.
 */
void umbra_mmu_invlpg(struct umbra_vcpu *vcpu, u64 gva)
{
	struct umbra_vm *vm = vcpu->vm;
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	unsigned int i = level_index(gva, 1);
	u64 __user *ptr = NULL;
	struct prefill pf = {};
	bool flush = false, writable = false;
	struct umbra_sp *sp;
	LIST_HEAD(zapped);
	u64 gfn = 0, gpte;
	int idx;

	umbra_vcpu_request(vcpu, UMBRA_REQ_TLB_FLUSH);
	if (list_empty_careful(&mmu->unsync))
		return;
	idx = srcu_read_lock(&vm->srcu);
	spin_lock(&mmu->lock);
	sp = unsync_leaf(vcpu, gva);
	if (sp)
		gfn = sp->gfn;
	spin_unlock(&mmu->lock);
	if (!sp)
		goto out;

	ptr = umbra_mmu_ram_hva(vm, (gfn << PAGE_SHIFT) + i * sizeof(u64));
	if (ptr && !get_user(gpte, ptr) && !umbra_mmu_topup(vcpu))
		prefill_lookup(vcpu, gpte, NULL, &pf);

	spin_lock(&mmu->lock);
	sp = unsync_leaf(vcpu, gva);
	if (sp && sp->gfn == gfn) {
		flush = umbra_sp_sync_entry(vm, sp, i);
		if (pf.hp.page && !spte_present(sp->spt[i])) {
			u64 now;
			int r;

			pagefault_disable();
			r = __get_user(now, ptr);
			pagefault_enable();
			if (!r && now == gpte)
				writable = prefill_install(vcpu, sp, i, gpte, &pf);
		}
	}
	spin_unlock(&mmu->lock);
	umbra_mmu_flush_and_free(vm, flush, &zapped);
	prefill_put(&pf, writable);
out:
	srcu_read_unlock(&vm->srcu, idx);
}

/**
 * umbra_mmu_zap_all - drop every shadow page of the VM
 * @vm: the VM
 *
 * Used when a memslot is deleted or moved: the sptes of its frames must go
 * before the frames mean something else.
 */
void umbra_mmu_zap_all(struct umbra_vm *vm)
{
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	LIST_HEAD(zapped);

	spin_lock(&mmu->lock);
	umbra_sp_zap_all(vm, &zapped);
	spin_unlock(&mmu->lock);
	umbra_mmu_flush_and_free(vm, true, &zapped);
}

/**
 * umbra_mmu_stats - VM-wide shadow page counts
 * @vm: the VM
 * @created: shadow pages created, ever
 * @zapped: shadow pages zapped, ever
 */
void umbra_mmu_stats(struct umbra_vm *vm, u64 *created, u64 *zapped)
{
	*created = READ_ONCE(vm_mmu(vm)->created);
	*zapped = READ_ONCE(vm_mmu(vm)->zapped);
}
