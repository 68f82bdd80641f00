// SPDX-License-Identifier: GPL-2.0
/*
 * sync.c - unsync leaf tables: let the guest write its PTEs without a trap
 *
 * Trapping every store to a shadowed page table costs one exit per PTE.
 * x86 gives the hypervisor a way out: a change to a PTE need only be seen
 * after the guest flushes its TLB (MOV CR3, INVLPG, a CR4.PGE toggle), so a
 * leaf table may be left writable ("unsync") and its shadow brought up to
 * date at the next flush.  Only leaf tables: a stale upper-level entry would
 * leave whole subtrees of the shadow pointing at the wrong guest tables.
 *
 * How:
 *   - a write fault on a frame whose shadows are all leaf tables marks them
 *     unsync (umbra_sp_try_unsync()) and maps the frame writable;
 *   - each leaf spte remembers the guest PTE it was made from (sp->gptes);
 *   - umbra_mmu_guest_flush() resyncs every unsync table: the frame is
 *     write-protected again and remote TLBs flushed FIRST, so no vCPU can
 *     still be writing it, and only then is each entry compared with the
 *     guest's PTE.  One that changed its rights only is updated in place
 *     (umbra_sp_resync_spte()); one that changed its frame, or went away, is
 *     dropped (the next access faults and shadows the new value).
 *     Compare first and a store landing in between would leave a stale
 *     entry in a table marked in sync.  A protected table counts as in
 *     sync from then on, before its entries are compared: an entry that
 *     maps a table's frame (its own, or one resynced in the same flush)
 *     is remade read-only, not writable as an unsync frame's may be;
 *   - before a frame gets a new shadow, its unsync shadows are resynced
 *     (umbra_sp_new_shadow()), so no two shadows of a frame disagree on
 *     whether it is protected.
 *
 * The guest's own accessed/dirty updates count as changes too: a guest
 * that clears A and flushes sees A set again by the walker on next access.
 *
 * Locking: mmu_lock.  The guest's PTEs are read with page faults disabled
 * (mmu_lock is a spinlock); an entry that cannot be read is dropped.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/uaccess.h>
#include "mmu.h"

/**
 * umbra_sp_leaf_gfn - the frame a leaf spte maps
 * @sp: a level-1 shadow page
 * @idx: the entry
 */
u64 umbra_sp_leaf_gfn(struct umbra_sp *sp, unsigned int idx)
{
	if (sp->role.direct)
		return sp->gfn + idx;
	return (sp->gptes[idx] & GENMASK_ULL(51, PAGE_SHIFT)) >> PAGE_SHIFT;
}

/**
 * umbra_sp_try_unsync - let the guest write a leaf table without trapping
 * @vm: the VM
 * @gfn: the frame the guest is writing
 *
 * Return: true if every shadow of @gfn is a leaf table and they are now
 * unsync; false if one is an upper-level table (the write must be
 * emulated).
 */
bool umbra_sp_try_unsync(struct umbra_vm *vm, u64 gfn)
{
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	struct hlist_node *tmp;
	struct umbra_sp *sp;

	lockdep_assert_held(&mmu->lock);
	for_each_sp_of_gfn(mmu, sp, tmp, gfn)
		if (sp->role.level != 1)
			return false;
	for_each_sp_of_gfn(mmu, sp, tmp, gfn) {
		if (!sp->unsync) {
			sp->unsync = true;
			list_add(&sp->unsync_link, &mmu->unsync);
		}
	}
	return true;
}

/*
 * The guest changed an entry of a leaf table (an unsync one, or through
 * a PV op): can its spte follow in place?  Yes if the entry still maps the
 * same frame (so the same host page) and is present and accessed; then
 * only the rights change, as the fault path would compute them
 * (fault.c).  Updating in place, rather than dropping, is what keeps an
 * mprotect() sweep from refaulting every page it touches afterwards, and
 * spares a PV op the host page lookup.  A deferred spte is never updated
 * in place: dropping it hands its A/D on (ad.c).  Return: true if updated.
 */
bool umbra_sp_resync_spte(struct umbra_vm *vm, struct umbra_sp *sp,
			  unsigned int i, u64 gpte)
{
	const u64 frame = GENMASK_ULL(51, PAGE_SHIFT);
	u64 old = sp->spt[i], spte;
	bool host_writable = old & SPTE_HOST_WRITABLE;
	unsigned int acc;

	if (!(gpte & _PAGE_PRESENT) || !(gpte & _PAGE_ACCESSED) ||
	    (old & SPTE_AD_DEFERRED) ||	/* dropping it hands its D on */
	    ((gpte ^ sp->gptes[i]) & frame) ||
	    (!sp->role.nxe && (gpte & _PAGE_NX)))
		return false;
	acc = sp->role.access & gpte_access(gpte, sp->role.nxe);
	/*
	 * Whether the frame is a shadowed table (a hash walk) matters to
	 * leaf_spte() only for a writable spte: a read-only one (half of an
	 * mprotect sweep) skips the walk.
	 */
	spte = leaf_spte(spte_pfn(old), acc, sp->role.nxe, host_writable,
			 (acc & ACC_WRITE) && host_writable &&
			 umbra_gfn_is_shadowed(vm, umbra_sp_leaf_gfn(sp, i)),
			 gpte & _PAGE_DIRTY);
	sp->gptes[i] = gpte;
	WRITE_ONCE(sp->spt[i], spte);
	spte_check(spte);
	return true;
}

/* The guest table @sp shadows, in the VMM's mapping, or NULL. */
static u64 __user *sp_gptes(struct umbra_vm *vm, struct umbra_sp *sp)
{
	struct umbra_memslot *slot = umbra_mmu_gfn_to_slot(vm, sp->gfn);

	if (!slot || (slot->flags & UMBRA_MEMSLOT_INVALID))
		return NULL;
	return (u64 __user *)umbra_mmu_gfn_to_hva(slot, sp->gfn);
}

/*
 * Bring entry @i of a leaf table up to date with the guest's PTE (read
 * from @gptes, NULL if the table is not RAM any more).  Return: whether a
 * flush is needed.
 */
static bool sync_spte(struct umbra_vm *vm, struct umbra_sp *sp,
		      u64 __user *gptes, unsigned int i)
{
	int r = -EFAULT;
	u64 gpte;

	if (!spte_present(sp->spt[i]))
		return false;
	if (gptes) {
		pagefault_disable();
		r = __get_user(gpte, &gptes[i]);
		pagefault_enable();
	}
	if (!r && gpte == sp->gptes[i])
		return false;
	/* Any change may take a right away: flush either way. */
	if (r || sp->role.level != 1 || !umbra_sp_resync_spte(vm, sp, i, gpte))
		umbra_spte_drop(vm, &sp->spt[i]);
	return true;
}

/*
 * Bring one unsync table up to date; its frame is already write-protected
 * and flushed, so it is in sync before any entry is remade (see the top
 * of the file).  Return: whether a flush is needed.
 */
static bool sync_sp(struct umbra_vm *vm, struct umbra_sp *sp)
{
	u64 __user *gptes = sp_gptes(vm, sp);
	bool flush = false;
	unsigned int i;

	sp->unsync = false;
	list_del_init(&sp->unsync_link);
	for (i = 0; i < SPTE_ENT_PER_PAGE; i++)
		flush |= sync_spte(vm, sp, gptes, i);
	return flush;
}

/**
 * umbra_sp_sync_entry - INVLPG through an unsync table: that entry only
 * @vm: the VM
 * @sp: the unsync leaf table
 * @i: the entry the invalidated address uses
 *
 * INVLPG asks for one translation, and x86 lets every other entry the
 * guest changed stay stale until its own flush: so only this spte is
 * brought up to date, and the table stays unsync and writable.  That is
 * what keeps a guest that rewrites and invalidates one PTE after another
 * (copy-on-write faults, say) from taking a write-protection fault per
 * PTE, as a full resync (protect, then compare) would make it.  There is
 * no protect-before-compare here because nothing becomes "in sync": a
 * store racing with the compare is caught by the next flush, as on
 * hardware.
 *
 * Return: whether a flush is needed.
 */
bool umbra_sp_sync_entry(struct umbra_vm *vm, struct umbra_sp *sp, unsigned int i)
{
	lockdep_assert_held(&vm_mmu(vm)->lock);
	return sp->unsync && sync_spte(vm, sp, sp_gptes(vm, sp), i);
}

/**
 * umbra_sp_new_shadow - a new shadow of @gfn was made: protect the frame
 * @vm: the VM
 * @gfn: the frame
 *
 * Its unsync shadows, if any, are resynced (protect, flush, compare).
 *
 * Return: whether a flush is still needed.
 */
bool umbra_sp_new_shadow(struct umbra_vm *vm, u64 gfn)
{
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	struct hlist_node *tmp;
	struct umbra_sp *sp;
	bool flush = umbra_gfn_write_protect(vm, gfn), unsync = false;

	lockdep_assert_held(&mmu->lock);
	for_each_sp_of_gfn(mmu, sp, tmp, gfn)
		unsync |= sp->unsync;
	if (!unsync)
		return flush;
	if (flush)
		umbra_mmu_flush_remote_tlbs(vm);
	flush = false;
	for_each_sp_of_gfn(mmu, sp, tmp, gfn)
		if (sp->unsync)
			flush |= sync_sp(vm, sp);
	return flush;
}

/**
 * umbra_mmu_guest_flush - the guest flushed its TLB
 * @vcpu: the vCPU that did (MOV CR3, a CR4 write, INVLPG)
 *
 * Resyncs every unsync table, whichever vCPU wrote it (a superset of what
 * this vCPU's flush requires), and gives this vCPU a clean TLB.
 */
void umbra_mmu_guest_flush(struct umbra_vcpu *vcpu)
{
	struct umbra_vm *vm = vcpu->vm;
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	struct umbra_sp *sp, *tmp;
	bool flush = false;
	LIST_HEAD(zapped);
	int idx;

	umbra_vcpu_request(vcpu, UMBRA_REQ_TLB_FLUSH);
	if (list_empty_careful(&mmu->unsync))
		return;
	idx = srcu_read_lock(&vm->srcu);
	spin_lock(&mmu->lock);
	list_for_each_entry(sp, &mmu->unsync, unsync_link) {
		flush |= umbra_gfn_write_protect(vm, sp->gfn);
		/* Protected: a table again for every entry remade below. */
		sp->unsync = false;
	}
	if (flush)
		umbra_mmu_flush_remote_tlbs(vm);
	flush = false;
	list_for_each_entry_safe(sp, tmp, &mmu->unsync, unsync_link)
		flush |= sync_sp(vm, sp);
	spin_unlock(&mmu->lock);
	umbra_mmu_flush_and_free(vm, flush, &zapped);
	srcu_read_unlock(&vm->srcu, idx);
}
