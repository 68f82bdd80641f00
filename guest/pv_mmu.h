/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pv_mmu.h - the one door through which the guest changes page tables and
 * the TLB, after Linux's paravirt MMU ops.  Every page-table write (any
 * level), every INVLPG, TLB flush and CR3 load in the guest goes through
 * pv_mmu; nothing else stores to a live page table (tests that deliberately
 * bypass it say so).  A backend implements struct pv_mmu_ops:
 *
 *   native (pv_mmu_native.c)  plain stores, INVLPG, MOV to CR3;
 *                             the lazy hooks do nothing.
 *   pv (pv_mmu_pv.c)          umbra's mmu_op queue (include/umbra/pv.h):
 *                             each op goes to the hypervisor at once, or,
 *                             in lazy MMU mode, is queued and the queue
 *                             is flushed in one hypercall on leave (or
 *                             when it is full).  Needs umbra's CPUID
 *                             signature; without it the guest falls back
 *                             to native.
 *
 * Rules a caller follows so that a batching backend is correct:
 *   - Between enter_lazy_mmu() and leave_lazy_mmu() the effect of an op
 *     may be deferred until leave_lazy_mmu(): do not read back an entry
 *     written in the same lazy section, do not free a frame whose mapping
 *     was cleared in it, and do not rely on a TLB flush issued in it.
 *     Lazy sections do not nest and hold no table allocation: as in
 *     Linux they wrap only the PTE loop of one leaf table, or the
 *     release_pt() calls of a tree being torn down whole (as_destroy();
 *     Xen's Linux likewise unpins an exiting mm's tables in one
 *     multicall), where nothing is allocated before the leave.
 *   - A table page is a page table, written only through pv_mmu, while
 *     it is linked: from the set_pte() that links it, or a subtree it is
 *     in, into a linked table until it, or a table above it, has been
 *     unlinked from its last parent and the TLB flushed.  An address
 *     space's root counts as linked from as_create() on (there is no pin
 *     op: as_switch() may load it at any time) until as_destroy(), which
 *     first makes sure it is not current.  Before and after, the page is
 *     ordinary memory:
 *       - Building: a new table page is zeroed and filled with plain
 *         stores, entries that link tables built the same way included,
 *         and is linked with one set_pte() once it is complete.  So a
 *         subtree is built bottom-up: a table is linked after the tables
 *         below it are filled and linked (as_fork(), as_split_2m()).
 *       - Tearing down: once a table whose last reference goes has been
 *         unlinked and flushed like any entry (or its address space is
 *         being destroyed), release_pt() is called before the frame is
 *         reused.  After it the entries are read with plain loads, to
 *         drop the counts of what they map, and are not cleared one by
 *         one (put_table(), as_destroy()); palloc zeroes the page for its
 *         next use.  A table that stays linked is cleared with clear_pte().
 *     Why a shadow MMU is fine with that: it shadows what it reaches from
 *     the root a vCPU runs on, so a page reachable from no root is not
 *     shadowed as a live table and a store there changes no translation
 *     the guest can use.  A shadow cached from the page's earlier life as
 *     a table is write-protected (the store traps and is applied like any
 *     guest write) or, a leaf table left unsync, resynced from memory
 *     before it is used again; release_pt() drops such shadows, after
 *     which the page takes no trap.  The native backend behaves the same
 *     (its set_pte() and clear_pte() are plain stores), and so does bare
 *     metal: the CPU walks only from CR3, and the flush dropped what it
 *     cached of the old tree.
 *   - Ops never flush implicitly: set_pte()/clear_pte() on a live
 *     translation is followed by invlpg() or flush_tlb() by the caller.
 *   - Reading an entry is a plain load (pte_read()).  A/D bits read there
 *     are the architectural ones the CPU (or the hypervisor) wrote, once
 *     sync_ad() has been called for the table: code that looks at A or D
 *     (the A/D tests, a reclaim scan) calls it first.  Code that only
 *     copies or rewrites entries need not: an op that keeps the frame
 *     keeps its A/D, and clear_pte() loses nothing the caller asked for.
 */
#ifndef _GUEST_PV_MMU_H
#define _GUEST_PV_MMU_H

#include <linux/types.h>

/* A paging-structure entry at any level (PML4E, PDPTE, PDE or PTE). */
typedef __u64 pte_t;

/**
 * struct pv_mmu_ops - page-table and TLB maintenance operations
 * @name:	backend name, printed at boot
 * @set_pte:	store @val into the entry at @ptep (identity-mapped
 *		address of an entry in a page-table page), any level
 * @modify_prot: store @val into the present entry at @ptep, which the
 *		caller has just read as @old (Linux: the commit half of
 *		ptep_modify_prot_start/commit); a backend may send a run
 *		of such changes, of rights only, as one operation
 * @clear_pte:	store 0 into the entry at @ptep
 * @invlpg:	invalidate the translation of the page holding @va in the
 *		current address space (and paging-structure caches for it)
 * @flush_tlb:	invalidate all non-global translations of the current
 *		address space
 * @load_cr3:	switch to the address space whose PML4 is at @pa
 * @release_pt:	the page at @pa stops being a page table (it is unlinked
 *		everywhere and flushed; it may be reused as anything)
 * @sync_ad:	make the A/D bits of the table holding @ptep current before
 *		they are read: under pv with deferred A/D (pv.h) umbra lets
 *		them lag; native (and pv without it) has nothing to do
 * @enter_lazy_mmu: start a batch (see the rules above)
 * @leave_lazy_mmu: end the batch: every op issued since enter has taken
 *		effect when this returns
 * @probe:	optional; run once by pv_mmu_select(), after palloc_init()
 *		and before any op, to find the interface the backend needs
 *		and set it up.  Returns NULL if the backend can run, else
 *		why not (the guest then falls back to native).
 */
struct pv_mmu_ops {
	const char *name;
	const char *(*probe)(void);
	void (*set_pte)(pte_t *ptep, __u64 val);
	void (*modify_prot)(pte_t *ptep, __u64 old, __u64 val);
	void (*clear_pte)(pte_t *ptep);
	void (*invlpg)(__u64 va);
	void (*flush_tlb)(void);
	void (*load_cr3)(__u64 pa);
	void (*release_pt)(__u64 pa);
	void (*sync_ad)(pte_t *ptep);
	void (*enter_lazy_mmu)(void);
	void (*leave_lazy_mmu)(void);
};

/*
 * What the guest asked of pv_mmu, whatever the backend: @ops counts the
 * operations above (set_pte .. release_pt; not the lazy hooks), and
 * @hypercalls the VMMCALLs the backend made for them (0 for native).
 * Under pv each op reaches the hypervisor exactly once, as an mmu_op of
 * its own or, for modify_prot, as one entry of a PROTECT run, so umbra
 * may count fewer mmu_ops than @ops.
 */
struct pv_mmu_stats {
	__u64 ops;
	__u64 hypercalls;
};

/* The backend in use; set once at boot by pv_mmu_select(). */
extern const struct pv_mmu_ops *pv_mmu;
extern struct pv_mmu_stats pv_mmu_stats;

/* pv_mmu_native.c */
extern const struct pv_mmu_ops pv_mmu_native_ops;
/*
 * Picks the backend named @name ("native" or "pv"), after palloc_init()
 * and before the first op; a backend whose probe fails is reported in one
 * line and replaced by native.  Returns 0, or -EINVAL for an unknown name.
 */
int pv_mmu_select(const char *name);

/* pv_mmu_pv.c */
extern const struct pv_mmu_ops pv_mmu_pv_ops;

/*
 * pv_cow.c: copy-on-write faults umbra resolves itself (pv.h).  The pv
 * backend turns it on when umbra offers it.  A write to a _PAGE_COW page
 * may then never reach the #PF handler: umbra copies the page into a
 * frame of the pool, points the PTE at it and logs the old PTE.  The old
 * frame keeps the count its PTE held until pv_cow_reap() hands the log
 * to @done, which drops it; so code that reads counts of COW frames, or
 * frees the frames of an address space, reaps first (as.c does).
 */
extern bool pv_cow_on;
extern __u64 pv_cow_resolved;	/* COW faults umbra resolved, reaped */
void pv_cow_init(void);
void pv_cow_reap(void (*done)(__u64 pte_gpa, __u64 old_pte));

static inline __u64 pte_read(const pte_t *ptep)
{
	return *(const volatile pte_t *)ptep;
}

static inline void set_pte(pte_t *ptep, __u64 val)
{
	pv_mmu_stats.ops++;
	pv_mmu->set_pte(ptep, val);
}

static inline void modify_prot(pte_t *ptep, __u64 old, __u64 val)
{
	pv_mmu_stats.ops++;
	pv_mmu->modify_prot(ptep, old, val);
}

static inline void clear_pte(pte_t *ptep)
{
	pv_mmu_stats.ops++;
	pv_mmu->clear_pte(ptep);
}

static inline void flush_tlb_page(__u64 va)
{
	pv_mmu_stats.ops++;
	pv_mmu->invlpg(va);
}

static inline void flush_tlb(void)
{
	pv_mmu_stats.ops++;
	pv_mmu->flush_tlb();
}

static inline void load_cr3(__u64 pa)
{
	pv_mmu_stats.ops++;
	pv_mmu->load_cr3(pa);
}

static inline void release_pt(__u64 pa)
{
	pv_mmu_stats.ops++;
	pv_mmu->release_pt(pa);
}

static inline void sync_ad(pte_t *ptep)
{
	pv_mmu_stats.ops++;
	pv_mmu->sync_ad(ptep);
}

static inline void enter_lazy_mmu(void)
{
	pv_mmu->enter_lazy_mmu();
}

static inline void leave_lazy_mmu(void)
{
	pv_mmu->leave_lazy_mmu();
}

#endif /* _GUEST_PV_MMU_H */
