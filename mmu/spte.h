/* SPDX-License-Identifier: GPL-2.0 */
/*
 * spte.h - the shadow page-table entry
 *
 * A shadow PTE (spte) is an ordinary x86-64 page-table entry that the
 * hardware walks, plus software bits in positions the hardware ignores.
 * The same format serves both shadow paging modes (root.c): 4-level long
 * mode and, for a guest with paging off, legacy PAE.  So the software bits
 * sit in 11:9, which both modes leave to software; 62:52 would do in long
 * mode only (PAE reserves them).
 *
 * Hardware bits umbra uses:
 *   P (0), W (1), U (2), A (5), D (6), NX (63) and the frame, bits 51:12.
 *   Upper-level sptes are fully permissive (P|W|U|A): a leaf spte carries
 *   the effective permissions of the whole guest walk, and the shadow page
 *   it lives in is keyed by the access its upper levels allow (role.access),
 *   so one shadow page never serves two paths with different rights.
 *
 * Software bits:
 *   SPTE_HOST_WRITABLE (9)   the host page was mapped writable: the host
 *                            PTE allows it and the memslot is not
 *                            read-only.
 *   SPTE_MMU_WRITABLE  (10)  the shadow MMU allows writes: the guest PTE
 *                            allows them and the gfn is not a shadowed
 *                            guest page table.
 *
 * Invariants (spte_check() WARNs on a violation):
 *   - For leaf sptes: W implies MMU-writable implies host-writable.
 *     (Upper-level sptes are SPTE_NONLEAF and carry neither software
 *     bit; spte_check() is for leaves only.)
 *   - Write protection for dirty logging clears W only, so a lockless
 *     writer may give W back with one cmpxchg on an spte whose
 *     MMU-writable bit is set.  Write protection for shadowing clears
 *     MMU-writable too, so that writer keeps its hands off.
 *   - When an MMU-writable spte loses W, remote TLBs are flushed before
 *     anyone relies on the protection (mmu/flush.c).
 *   - D without W ("W withheld for shadowing"): the spte was made from, or
 *     write-protected out of, a dirty guest entry that allows the write
 *     on a host-writable page, and only the frame being a shadowed guest
 *     table keeps W away.  The CPU never sets D in an spte without W, so
 *     the bit is free to say so.  When the frame stops being a table,
 *     umbra_gfn_unprotect() gives such sptes MMU-writable and W back
 *     (after checking the guest's rights once more), and the guest's
 *     first store to a freed table frame takes no fault.  Not for
 *     SPTE_AD_DEFERRED sptes, whose D belongs to the CPU.
 *   - An SPTE_AD_DEFERRED spte is volatile: the CPU may set its D at any
 *     time, so it is changed only atomically (xchg, cmpxchg), and whoever
 *     drops it hands a set D on to the guest PTE (mmu/ad.c).
 *   - The frame of a present leaf spte is a page of the VM's memory whose
 *     reference the MMU notifier protects (mmu/notifier.c): it is zapped
 *     before the host frees, moves or swaps that page.
 */
#ifndef _UMBRA_MMU_SPTE_H
#define _UMBRA_MMU_SPTE_H

#include <linux/bits.h>
#include <linux/build_bug.h>
#include <linux/types.h>
#include <asm/pgtable_types.h>

#define SPTE_PRESENT		_PAGE_PRESENT
#define SPTE_WRITABLE		_PAGE_RW
#define SPTE_USER		_PAGE_USER
#define SPTE_ACCESSED		_PAGE_ACCESSED
#define SPTE_DIRTY		_PAGE_DIRTY
#define SPTE_NX			_PAGE_NX
#define SPTE_HOST_WRITABLE	BIT_ULL(9)
#define SPTE_MMU_WRITABLE	BIT_ULL(10)
#define SPTE_AD_DEFERRED	BIT_ULL(11)
#define SPTE_PFN_MASK		GENMASK_ULL(51, 12)

/* Upper-level sptes: everything allowed; the leaf decides. */
#define SPTE_NONLEAF	(SPTE_PRESENT | SPTE_WRITABLE | SPTE_USER | SPTE_ACCESSED)

/* Software-available in PAE and 4-level entries alike: bits 11:9. */
#define SPTE_SOFTWARE_AVAILABLE	GENMASK_ULL(11, 9)
static_assert(!(SPTE_HOST_WRITABLE & ~SPTE_SOFTWARE_AVAILABLE));
static_assert(!(SPTE_MMU_WRITABLE & ~SPTE_SOFTWARE_AVAILABLE));
static_assert(!(SPTE_AD_DEFERRED & ~SPTE_SOFTWARE_AVAILABLE));
static_assert(SPTE_HOST_WRITABLE != SPTE_MMU_WRITABLE);

static inline bool spte_present(u64 spte)
{
	return spte & SPTE_PRESENT;
}

static inline bool spte_writable(u64 spte)
{
	return spte & SPTE_WRITABLE;
}

static inline u64 spte_pfn(u64 spte)
{
	return (spte & SPTE_PFN_MASK) >> PAGE_SHIFT;
}

/* Returns true if @spte breaks the W => MMU-writable => host-writable chain. */
static inline bool spte_bad(u64 spte)
{
	if ((spte & SPTE_WRITABLE) && !(spte & SPTE_MMU_WRITABLE))
		return true;
	if ((spte & SPTE_MMU_WRITABLE) && !(spte & SPTE_HOST_WRITABLE))
		return true;
	return false;
}

#define spte_check(spte)						\
	WARN_ONCE(spte_bad(spte), "umbra: bad spte %#llx\n", (u64)(spte))

#endif /* _UMBRA_MMU_SPTE_H */
