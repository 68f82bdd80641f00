// SPDX-License-Identifier: GPL-2.0
/*
 * ad.c - deferred A/D: let the CPU mark the spte, owe the guest PTE its A/D
 *
 * A guest PTE that is not accessed yet, or allows writes but is not dirty
 * yet, would normally be shadowed not at all or read-only, so that the
 * first access (or write) faults and the walker sets A (or D), as the CPU
 * would (fault.c).  For a page just mapped that is one exit per page, the
 * whole cost of an mmap()+touch once PTE writes are free.  Jeremy's
 * answer (DESIGN.md): map it at once, writable if the PTE allows, and let
 * the CPU set A and D in the spte; copy them back to the guest PTE
 * lazily.  The guest must agree, since its PTEs' A/D bits now lag: a PV
 * guest asks for it when it registers its mmu_op queue
 * (UMBRA_MMU_QUEUE_DEFERRED_AD, pv.h) and syncs before it reads A/D
 * (UMBRA_MMU_OP_SYNC_AD).  Only the PV op path makes such sptes
 * (pte_write.c's prefill), marked SPTE_AD_DEFERRED; what they owe is
 * their A/D bits beyond those of the PTE they were made from
 * (umbra_sp.gptes).
 *
 * No A/D update is ever lost.  It lives in the spte until the spte goes,
 * and every way an spte goes hands it on:
 *   - a PV op that rewrites the entry takes it itself (pte_write.c): kept
 *     in the entry while it maps the same frame, returned to the guest by
 *     CLEAR_PTE;
 *   - any other drop (resync, a zap for the pool or a host invalidation,
 *     a write to an upper-level table) owes it: the PTE's address, the
 *     bits and the value the spte was made from go on
 *     umbra_mmu_vm.ad_pending, under mmu_lock, wherever the drop runs (the
 *     MMU notifier may run in a task that is not the VMM);
 *   - umbra_mmu_ad_sync() pays what is owed, from the vCPU's thread where
 *     guest memory may be written: before every guest entry, and at the
 *     start and end of every mmu_op batch, so a table released in a batch
 *     is paid before the guest can reuse its page.  A PTE that no longer
 *     maps the frame (the guest rewrote it meanwhile) is not paid: the
 *     bits belonged to the mapping the guest replaced.
 * The slots on ad_pending are reserved when a deferred spte is made
 * (nr_ad_live + nr_ad_pending <= ad_max), so a drop never finds the list
 * full; past the bound, PTEs are shadowed the old way.
 *
 * A deferred spte is volatile (spte.h): the CPU may set A or D in it at
 * any moment, so it is dropped with xchg and write-protected with
 * cmpxchg; a plain read-modify-write could lose a bit the CPU set in
 * between.  After the xchg a CPU still holding a clean translation cannot
 * dirty the page without setting D in the (now empty) spte, which faults.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/uaccess.h>
#include "mmu.h"

#define AD_SYNC_BATCH	32	/* owed D bits paid per mmu_lock round */

/**
 * umbra_mmu_ad_enable - let the PV op path make deferred-A/D sptes
 * @vm: the VM
 *
 * Stays on for the VM's life: a vCPU that unregisters its queue may have
 * left deferred sptes behind, and they keep being paid for.
 *
 * Return: 0 or -ENOMEM.
 */
int umbra_mmu_ad_enable(struct umbra_vm *vm)
{
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	struct umbra_ad_pending *slots;

	if (READ_ONCE(mmu->ad_pending))
		return 0;
	slots = kvcalloc(UMBRA_AD_MAX, sizeof(*slots), GFP_KERNEL_ACCOUNT);
	if (!slots)
		return -ENOMEM;
	spin_lock(&mmu->lock);
	if (!mmu->ad_pending) {
		mmu->ad_pending = slots;
		slots = NULL;
	}
	spin_unlock(&mmu->lock);
	kvfree(slots);
	return 0;
}

/* Teardown: nothing is owed to a VM that is going away. */
void umbra_mmu_ad_free(struct umbra_mmu_vm *mmu)
{
	kvfree(mmu->ad_pending);
	mmu->ad_pending = NULL;
}

/* Under mmu_lock: may one more deferred spte be made? */
bool umbra_ad_may_defer(struct umbra_mmu_vm *mmu)
{
	lockdep_assert_held(&mmu->lock);
	return mmu->ad_pending &&
	       mmu->nr_ad_live + mmu->nr_ad_pending < mmu->ad_max;
}

/*
 * Under mmu_lock, after umbra_ad_may_defer(): @spte, a leaf spte made for
 * an accessed and (if writable) dirty PTE, as a deferred one for @gpte:
 * without the A and D @gpte lacks, so the CPU marks them.
 */
u64 umbra_ad_spte(struct umbra_mmu_vm *mmu, u64 spte, u64 gpte)
{
	mmu->nr_ad_live++;
	if (!(gpte & _PAGE_ACCESSED))
		spte &= ~SPTE_ACCESSED;
	if (!(gpte & _PAGE_DIRTY))
		spte &= ~SPTE_DIRTY;
	return spte | SPTE_AD_DEFERRED;
}

/* The A/D bits a deferred @spte of entry @idx owes its guest PTE. */
static u64 owed(const struct umbra_sp *sp, unsigned int idx, u64 spte)
{
	return spte & (SPTE_ACCESSED | SPTE_DIRTY) & ~sp->gptes[idx];
}

/*
 * Under mmu_lock: empty the deferred spte at @idx of @sp (already off its
 * rmap).  Return: the A/D bits it owes its guest PTE.
 */
u64 umbra_ad_drop(struct umbra_vm *vm, struct umbra_sp *sp, unsigned int idx)
{
	struct umbra_mmu_vm *mmu = vm_mmu(vm);

	mmu->nr_ad_live--;
	return owed(sp, idx, xchg(&sp->spt[idx], 0));
}

/*
 * Under mmu_lock: the guest PTE behind entry @idx of @sp is owed @bits (its
 * deferred spte is gone).  The slot was reserved when the spte was made.
 */
void umbra_ad_owe(struct umbra_vm *vm, struct umbra_sp *sp, unsigned int idx,
		  u64 bits)
{
	struct umbra_mmu_vm *mmu = vm_mmu(vm);

	if (WARN_ON_ONCE(mmu->nr_ad_pending >= mmu->ad_max))
		return;
	mmu->ad_pending[mmu->nr_ad_pending++] = (struct umbra_ad_pending) {
		.gpa = (sp->gfn << PAGE_SHIFT) + idx * sizeof(u64),
		.gpte = sp->gptes[idx],
		.bits = bits,
	};
}

/* Under mmu_lock: take write access from a deferred spte, keeping its D. */
void umbra_ad_write_protect(u64 *sptep)
{
	u64 old = READ_ONCE(*sptep);

	while (!try_cmpxchg64(sptep, &old,
			      old & ~(SPTE_WRITABLE | SPTE_MMU_WRITABLE)))
		;
}

/**
 * umbra_ad_pay - set A/D bits in a guest PTE that still maps the same frame
 * @ptr: the guest PTE, in the VMM's mapping
 * @entry: the value the bits were gathered under
 * @bits: _PAGE_ACCESSED and/or _PAGE_DIRTY
 *
 * Context: the vCPU's thread (the VMM's mm), may fault guest memory in.
 */
void umbra_ad_pay(u64 __user *ptr, u64 entry, u64 bits)
{
	const u64 frame = GENMASK_ULL(51, PAGE_SHIFT) | _PAGE_PRESENT;
	u64 cur;

	if (get_user(cur, ptr))
		return;
	while ((cur & frame) == (entry & frame) && (cur & bits) != bits) {
		bool done;

		if (!user_access_begin(ptr, sizeof(*ptr)))
			break;
		done = unsafe_try_cmpxchg_user(ptr, &cur, cur | bits, efault);
		user_access_end();
		if (done)
			break;
		continue;
efault:
		user_access_end();
		break;
	}
}

/**
 * umbra_mmu_ad_owed - are any A/D bits owed?  A cheap check, without mmu_lock.
 * @vm: the VM
 */
bool umbra_mmu_ad_owed(struct umbra_vm *vm)
{
	return READ_ONCE(vm_mmu(vm)->nr_ad_pending);
}

/**
 * umbra_mmu_ad_sync - pay the A/D bits owed to guest PTEs
 * @vcpu: the vCPU whose thread runs this (guest memory is its VMM's)
 *
 * Context: process context, may sleep; not under mmu_lock.
 */
void umbra_mmu_ad_sync(struct umbra_vcpu *vcpu)
{
	struct umbra_vm *vm = vcpu->vm;
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	struct umbra_ad_pending batch[AD_SYNC_BATCH];
	unsigned int n, i;
	int idx;

	idx = srcu_read_lock(&vm->srcu);
	while (READ_ONCE(mmu->nr_ad_pending)) {
		spin_lock(&mmu->lock);
		n = min_t(unsigned int, mmu->nr_ad_pending, AD_SYNC_BATCH);
		mmu->nr_ad_pending -= n;
		memcpy(batch, &mmu->ad_pending[mmu->nr_ad_pending],
		       n * sizeof(*batch));
		spin_unlock(&mmu->lock);
		for (i = 0; i < n; i++) {
			u64 __user *ptr = umbra_mmu_ram_hva(vm, batch[i].gpa);

			/* Not RAM any more: nobody to pay. */
			if (ptr)
				umbra_ad_pay(ptr, batch[i].gpte, batch[i].bits);
		}
		vcpu->stats.ad_synced += n;
	}
	srcu_read_unlock(&vm->srcu, idx);
}

/**
 * umbra_mmu_sync_ad - UMBRA_MMU_OP_SYNC_AD: bring a table's A/D bits up to date
 * @vcpu: the vCPU asking
 * @gpa: the guest page table, page aligned
 *
 * Every deferred spte mirroring an entry of the table pays what the CPU
 * has marked in it since it was made, before this returns; it stays
 * deferred (and owes nothing more until the CPU marks it again).  The
 * table is done AD_SYNC_BATCH entries per mmu_lock round: the bits are
 * recorded as the entry's (umbra_sp.gptes) under the lock, so a drop
 * racing with the payment does not owe them twice, and paid without it.
 *
 * Context: inside umbra_vm.srcu, may sleep; takes mmu_lock.
 * Return: 0, or -EFAULT if @gpa is not RAM.
 */
int umbra_mmu_sync_ad(struct umbra_vcpu *vcpu, u64 gpa)
{
	struct umbra_vm *vm = vcpu->vm;
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	u64 __user *table = umbra_mmu_ram_hva(vm, gpa);
	struct {
		unsigned int idx;
		u64 gpte, bits;
	} batch[AD_SYNC_BATCH];
	unsigned int first = 0, i, n;
	struct hlist_node *tmp;
	struct umbra_sp *sp;
	bool full;

	if (!table)
		return -EFAULT;
	while (first < SPTE_ENT_PER_PAGE) {
		n = 0;
		full = false;
		spin_lock(&mmu->lock);
		for_each_sp_of_gfn(mmu, sp, tmp, gpa >> PAGE_SHIFT) {
			if (sp->role.level != 1)
				continue;
			for (i = first; i < first + AD_SYNC_BATCH && !full; i++) {
				u64 spte = READ_ONCE(sp->spt[i]), bits;

				if (!(spte & SPTE_AD_DEFERRED))
					continue;
				bits = owed(sp, i, spte);
				if (!bits)
					continue;
				batch[n].idx = i;
				batch[n].gpte = sp->gptes[i];
				batch[n].bits = bits;
				sp->gptes[i] |= bits;
				full = ++n == AD_SYNC_BATCH;
			}
		}
		spin_unlock(&mmu->lock);
		for (i = 0; i < n; i++)
			umbra_ad_pay(&table[batch[i].idx], batch[i].gpte, batch[i].bits);
		vcpu->stats.ad_synced += n;
		/* Full: the same entries again, for the shadows not yet seen. */
		if (!full)
			first += AD_SYNC_BATCH;
	}
	return 0;
}
