// SPDX-License-Identifier: GPL-2.0
/*
 * notifier.c - the host takes a page of guest RAM away: zap first
 *
 * What it owns:
 *   the MMU notifier on the VMM's mm.  Guest memory is the VMM's memory,
 *   and umbra does not pin it: when the host unmaps, reclaims, migrates or
 *   swaps a page (munmap, MADV_DONTNEED, compaction, swap-out),
 *   invalidate_range_start() drops every spte mapping it and flushes the
 *   TLBs before returning, so the guest can no longer reach the frame by
 *   the time the host reuses it.
 *
 * The race with a fault that looked the page up before the invalidation
 * and wants to map it after: the fault notes invalidate_seq before its
 * lookup and re-checks it, and invalidate_in_progress, under mmu_lock
 * (fault.c).  range_start raises in_progress under mmu_lock; range_end
 * bumps the sequence before dropping in_progress, with an smp_wmb() that
 * pairs with the fault's smp_rmb(), so a fault sees one or the other and
 * retries.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mmu_notifier.h>
#include "mmu.h"

static struct umbra_mmu_vm *to_mmu(struct mmu_notifier *mn)
{
	return container_of(mn, struct umbra_mmu_vm, notifier);
}

/* Drop the sptes of every frame the VMM maps in [start, end). */
static bool zap_hva_range(struct umbra_vm *vm, unsigned long start,
			  unsigned long end)
{
	struct umbra_memslots *set;
	bool flush = false;
	unsigned int i;

	set = srcu_dereference(vm->memslots, &vm->srcu);
	for (i = 0; i < set->nr; i++) {
		struct umbra_memslot *s = &set->slots[i];
		unsigned long s_start = s->userspace_addr;
		unsigned long s_end = s_start + (s->npages << PAGE_SHIFT);
		u64 first, last, g;

		if (end <= s_start || start >= s_end)
			continue;
		first = (max(start, s_start) - s_start) >> PAGE_SHIFT;
		last = (min(end, s_end) - 1 - s_start) >> PAGE_SHIFT;
		for (g = first; g <= last; g++) {
			unsigned long *head = &s->rmap[g], iter;
			u64 *sptep;

			while ((sptep = umbra_rmap_first(head, &iter))) {
				umbra_spte_drop(vm, sptep);
				flush = true;
			}
		}
	}
	return flush;
}

static int umbra_mn_invalidate_range_start(struct mmu_notifier *mn,
					   const struct mmu_notifier_range *range)
{
	struct umbra_mmu_vm *mmu = to_mmu(mn);
	struct umbra_vm *vm = mmu->vm;
	LIST_HEAD(zapped);
	bool flush;
	int idx;

	idx = srcu_read_lock(&vm->srcu);
	spin_lock(&mmu->lock);
	mmu->invalidate_in_progress++;
	flush = zap_hva_range(vm, range->start, range->end);
	spin_unlock(&mmu->lock);
	umbra_mmu_flush_and_free(vm, flush, &zapped);
	srcu_read_unlock(&vm->srcu, idx);
	return 0;
}

static void umbra_mn_invalidate_range_end(struct mmu_notifier *mn,
					  const struct mmu_notifier_range *range)
{
	struct umbra_mmu_vm *mmu = to_mmu(mn);

	spin_lock(&mmu->lock);
	mmu->invalidate_seq++;
	smp_wmb();	/* the new sequence before in_progress drops */
	mmu->invalidate_in_progress--;
	WARN_ON_ONCE(mmu->invalidate_in_progress < 0);
	spin_unlock(&mmu->lock);
}

/* The mm is going away: nothing of it may stay mapped. */
static void umbra_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct umbra_vm *vm = to_mmu(mn)->vm;
	int idx;

	/* The zap finds reverse maps through the memslots. */
	idx = srcu_read_lock(&vm->srcu);
	umbra_mmu_zap_all(vm);
	srcu_read_unlock(&vm->srcu, idx);
}

static const struct mmu_notifier_ops umbra_mn_ops = {
	.invalidate_range_start	= umbra_mn_invalidate_range_start,
	.invalidate_range_end	= umbra_mn_invalidate_range_end,
	.release		= umbra_mn_release,
};

int umbra_mmu_notifier_init(struct umbra_vm *vm)
{
	vm_mmu(vm)->notifier.ops = &umbra_mn_ops;
	return mmu_notifier_register(&vm_mmu(vm)->notifier, vm->mm);
}

void umbra_mmu_notifier_exit(struct umbra_vm *vm)
{
	mmu_notifier_unregister(&vm_mmu(vm)->notifier, vm->mm);
}
