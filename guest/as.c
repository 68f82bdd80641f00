// SPDX-License-Identifier: GPL-2.0
/*
 * as.c - address spaces: 4-level page tables that the guest builds, edits,
 * shares, copies and frees through pv_mmu (pv_mmu.h), except for tables
 * that are not linked: those are built and torn down with plain stores
 * and loads, as the rules in pv_mmu.h allow.
 *
 * Parts: the kernel address space (identity map of RAM, built at boot);
 * the walker; single-page map/unmap/protect at 4 KiB and 2 MiB; table
 * sharing and zapping; range operations with lazy MMU batches around each
 * leaf table's PTE loop, where Linux has them (zap_pte_range,
 * copy_pte_range, change_pte_range); fork-like copy-on-write.
 *
 * Ownership: a page-table page's palloc count is the number of parent
 * entries pointing to it (a table shared by several address spaces has
 * several), and a mapped 4 KiB frame holds one count per PTE mapping it
 * unless the PTE is _PAGE_SPECIAL.  2 MiB mappings are always SPECIAL.
 *
 * TLB rule: an entry change is flushed when the address space is live,
 * i.e. it is current or a table on the way to the entry is shared (the
 * other owner may be current).  A leaf change flushes that page; a change
 * to an entry that references a table flushes everything.  Frames are
 * freed only after the flush that removed their last translation, and a
 * table is released (release_pt) only after it has been unlinked and
 * flushed.  Single-threaded: only vCPU 0 changes address spaces (vCPU 1,
 * when smp.c runs it, only loads CR3 and accesses memory).
 *
 * Table lifetime (pv_mmu.h): a fork builds the child's tables bottom-up
 * with plain stores and links each subtree into the child's root with one
 * set_pte() (copy_table()); a table torn down (put_table(), as_destroy())
 * is released and then only read, never cleared entry by entry.  So a PV
 * backend sees a fork as the parent's write protection and a few links,
 * and an exit as one release per table.
 *
 * Flushes in lazy batches: the flush that belongs to a batch's PTE
 * changes is issued inside the batch, after the changes (an INVLPG per
 * page, or one flush_tlb() for many pages), so that a batching backend
 * sends it in the same hypercall; ops are applied in order and the
 * batch's flushes are done before leave_lazy_mmu() returns.  Nothing
 * relies on such a flush before the leave: frames are freed after it.
 */
#include "guest.h"

#define MAX_AS		32
/* Above this many pages a range operation flushes everything once. */
#define FLUSH_CEILING	32

static struct as as_pool[MAX_AS];
struct as *kernel_as;
struct as *current_as;

static pte_t *table_va(u64 entry)
{
	return phys_to_virt(entry & PTE_PFN_MASK);
}

static bool is_live(const struct as *as, bool shared)
{
	return as == current_as || shared;
}

static void check_user_va(u64 va, const char *what)
{
	if (va < AS_USER_START || va >= AS_USER_END)
		panic("%s: %llx is not in the per-address-space half", what, va);
}

/*
 * Returns the entry for @va in the table of @level (4 = PML4 .. 1 = PT)
 * of @as, allocating missing tables on the way when @alloc.  NULL if a
 * table is missing (and !@alloc, or out of memory) or a large page maps
 * @va above @level.  *@shared says whether a table below the root on the
 * way is shared.  Never called in a lazy MMU section: it reads back the
 * entries it walks.
 */
static pte_t *walk(struct as *as, u64 va, int level, bool alloc, bool *shared)
{
	pte_t *table = phys_to_virt(as->root);
	bool sh = false;
	int l;

	for (l = 4; l > level; l--) {
		pte_t *ep = &table[pt_index(va, l)];
		u64 e = pte_read(ep);

		if (!(e & _PAGE_PRESENT)) {
			u64 pa;

			if (!alloc)
				return NULL;
			pa = palloc_alloc();
			if (!pa)
				return NULL;
			e = pa | (va < AS_USER_START ? _KERNPG_TABLE : _PAGE_TABLE);
			set_pte(ep, e);
		} else if (e & _PAGE_PSE) {
			return NULL;
		}
		table = table_va(e);
		if (page_count(e & PTE_PFN_MASK) > 1)
			sh = true;
	}
	if (shared)
		*shared = sh;
	return &table[pt_index(va, level)];
}

/* The entry where the walk for @va ends: a leaf or a non-present entry. */
static pte_t *walk_leaf(struct as *as, u64 va, int *level, bool *shared)
{
	pte_t *table = phys_to_virt(as->root);
	bool sh = false;
	int l;

	for (l = 4; ; l--) {
		pte_t *ep = &table[pt_index(va, l)];
		u64 e = pte_read(ep);

		if (l == 1 || !(e & _PAGE_PRESENT) || (e & _PAGE_PSE)) {
			*level = l;
			if (shared)
				*shared = sh;
			return ep;
		}
		table = table_va(e);
		if (page_count(e & PTE_PFN_MASK) > 1)
			sh = true;
	}
}

static void drop_leaf(u64 e)
{
	if (!(e & _PAGE_SPECIAL))
		page_put(e & PTE_PFN_MASK);
}

/*
 * Clears the entries [@from, @to) of the leaf table @pt, whose entry 0
 * maps @va0, as one lazy MMU batch (Linux: zap_pte_range), with the
 * flush if @live (per page for a few, else everything, at the end of the
 * batch), and only after the batch drops the frames' counts.  For a table
 * that stays linked; one that is torn down is not cleared (put_table()).
 */
static void zap_ptes(pte_t *pt, unsigned int from, unsigned int to, u64 va0,
		     bool live)
{
	u64 frames[PTRS_PER_TABLE];
	unsigned int i, n = 0, cleared = 0;
	bool each = to - from <= FLUSH_CEILING;

	enter_lazy_mmu();
	for (i = from; i < to; i++) {
		u64 e = pte_read(&pt[i]);

		if (!e)
			continue;
		clear_pte(&pt[i]);
		cleared++;
		if (!(e & _PAGE_PRESENT))
			continue;
		if (live && each)
			flush_tlb_page(va0 + i * PAGE_SIZE);
		if (!(e & _PAGE_SPECIAL))
			frames[n++] = e & PTE_PFN_MASK;
	}
	if (live && !each && cleared)
		flush_tlb();
	leave_lazy_mmu();
	for (i = 0; i < n; i++)
		page_put(frames[i]);
}

/*
 * Table frames whose release_pt() waits in as_destroy()'s lazy batch.
 * They are freed only after it: a freed frame may be handed out (and
 * zeroed) at once, and a store into a table whose release is still
 * queued lands in a frame umbra still shadows (a trap for nothing).
 */
#define RELEASED_MAX	64
static struct {
	bool batching;
	unsigned int n;
	u64 frame[RELEASED_MAX];
} released;

/* Ends the batch so far (when it holds RELEASED_MAX) and frees its tables. */
static void free_released(void)
{
	unsigned int i;

	leave_lazy_mmu();
	for (i = 0; i < released.n; i++)
		page_put(released.frame[i]);
	released.n = 0;
}

static void put_released(u64 pa)
{
	if (!released.batching) {
		page_put(pa);
		return;
	}
	if (released.n == RELEASED_MAX) {
		free_released();
		enter_lazy_mmu();
	}
	released.frame[released.n++] = pa;
}

/*
 * Drops one reference to the table at @pa of @level.  The last one tears
 * it down: the caller has unlinked it and flushed (or @pa's address space
 * is exiting and no longer current), so it is reachable from no root, and
 * release_pt() makes it ordinary memory (pv_mmu.h).  Its entries are then
 * read with plain loads, to drop the counts of the frames they map and
 * to put the tables below, and are not cleared: nothing walks the page
 * any more, and palloc zeroes it when it is handed out again.  Releasing
 * first also means that no shadow of the table maps a frame it frees.
 */
static void put_table(u64 pa, int level)
{
	pte_t *t = phys_to_virt(pa);
	unsigned int i;

	if (page_count(pa) > 1) {
		page_put(pa);
		return;
	}
	release_pt(pa);
	for (i = 0; i < PTRS_PER_TABLE; i++) {
		u64 e = t[i];

		if (!(e & _PAGE_PRESENT))
			continue;
		if (level == 1 || (e & _PAGE_PSE))
			drop_leaf(e);
		else
			put_table(e & PTE_PFN_MASK, level - 1);
	}
	put_released(pa);
}

struct as *as_create(void)
{
	struct as *as = NULL;
	unsigned int i;
	u64 root;

	for (i = 0; i < MAX_AS; i++) {
		if (!as_pool[i].in_use) {
			as = &as_pool[i];
			break;
		}
	}
	if (!as)
		return NULL;
	root = palloc_alloc();
	if (!root)
		return NULL;
	as->root = root;
	as->id = i;
	as->in_use = true;
	if (kernel_as) {
		pte_t *kroot = phys_to_virt(kernel_as->root);

		set_pte(phys_to_virt(root), pte_read(&kroot[0]));
	}
	return as;
}

/*
 * Once @as is no longer current its whole tree is reachable from no root
 * (the CR3 load flushed it), so it is torn down as put_table() does a
 * table: the root is released, then read with plain loads, never cleared.
 * The releases of the whole tree are one lazy batch (pv_mmu.h), as Xen's
 * Linux unpins an exiting mm's tables in one multicall: under pv one
 * hypercall per exit, not one per table.  The table frames are freed after
 * the batch (struct released), so none is written while its release waits.
 */
void as_destroy(struct as *as)
{
	pte_t *root = phys_to_virt(as->root);
	unsigned int i;

	if (as == kernel_as || !as->in_use)
		panic("%s: bad address space %d", __func__, as->id);
	if (as == current_as)
		as_switch(kernel_as);
	as_cow_reap();
	enter_lazy_mmu();
	released.batching = true;
	release_pt(as->root);
	for (i = pt_index(AS_USER_START, 4); i < pt_index(AS_USER_END - 1, 4) + 1; i++) {
		u64 e = root[i];

		if (e & _PAGE_PRESENT)
			put_table(e & PTE_PFN_MASK, 3);
	}
	released.batching = false;
	free_released();
	page_put(as->root);
	as->in_use = false;
}

void as_switch(struct as *as)
{
	load_cr3(as->root);
	current_as = as;
}

/* The entry for @va at @level, allocating tables when @alloc; or NULL. */
pte_t *as_entry(struct as *as, u64 va, int level, bool alloc)
{
	return walk(as, va, level, alloc, NULL);
}

/* The entry where @as's walk for @va ends (leaf or not present). */
pte_t *as_leaf(struct as *as, u64 va, int *level)
{
	return walk_leaf(as, va, level, NULL);
}

/**
 * as_set_entry() - write a raw entry, for tests
 * @as:		address space
 * @va:		an address the entry translates
 * @level:	1 (PTE) .. 4 (PML4E); missing tables above are allocated
 * @val:	the new entry
 *
 * No frame or table counts change: the caller owns whatever @val and the
 * old entry point to.  Flushes as the TLB rule says.
 * Return: the old entry.
 */
u64 as_set_entry(struct as *as, u64 va, int level, u64 val)
{
	bool shared;
	pte_t *ep = walk(as, va, level, true, &shared);
	u64 old;

	if (!ep)
		panic("%s: no level %d entry for %llx", __func__, level, va);
	old = pte_read(ep);
	set_pte(ep, val);
	if (is_live(as, shared)) {
		if (level == 1 || (level == 2 && ((old | val) & _PAGE_PSE)))
			flush_tlb_page(va);
		else
			flush_tlb();
	}
	return old;
}

/*
 * Writes the leaf entry @ep, which translates @va, to @val (clear_pte()
 * for 0) and, if @live, flushes @va, as one lazy batch: under pv one
 * hypercall, not two (Linux, too, updates PTEs in lazy mode around faults
 * and zaps).  The caller drops the frame the old entry mapped after this
 * returns, when no TLB can still reach it through the entry.
 */
static void update_leaf(pte_t *ep, u64 va, u64 val, bool live)
{
	enter_lazy_mmu();
	if (val)
		set_pte(ep, val);
	else
		clear_pte(ep);
	if (live)
		flush_tlb_page(va);
	leave_lazy_mmu();
}

/*
 * Maps the 4 KiB frame @pa at @va with @prot; the mapping takes over one
 * count of @pa unless @prot has _PAGE_SPECIAL.  Replaces an old mapping.
 */
int as_map(struct as *as, u64 va, u64 pa, u64 prot)
{
	bool shared;
	pte_t *ep;
	u64 old;

	check_user_va(va, "as_map");
	ep = walk(as, va, 1, true, &shared);
	if (!ep)
		return -ENOMEM;
	old = pte_read(ep);
	/* Only a translation that was there can be cached. */
	update_leaf(ep, va, pa | prot | _PAGE_PRESENT,
		    (old & _PAGE_PRESENT) && is_live(as, shared));
	if (old & _PAGE_PRESENT)
		drop_leaf(old);
	return 0;
}

/* Maps the 2 MiB block @pa at @va, replacing a 4 KiB table if one is there. */
int as_map_2m(struct as *as, u64 va, u64 pa, u64 prot)
{
	bool shared;
	pte_t *ep;
	u64 old;

	check_user_va(va, "as_map_2m");
	if (!IS_ALIGNED(va, PMD_SIZE) || !IS_ALIGNED(pa, PMD_SIZE))
		return -EINVAL;
	ep = walk(as, va, 2, true, &shared);
	if (!ep)
		return -ENOMEM;
	old = pte_read(ep);
	set_pte(ep, pa | prot | _PAGE_PRESENT | _PAGE_PSE | _PAGE_SPECIAL);
	if (!(old & _PAGE_PRESENT))
		return 0;
	if (old & _PAGE_PSE) {
		if (is_live(as, shared))
			flush_tlb_page(va);
	} else {
		if (is_live(as, shared))
			flush_tlb();
		put_table(old & PTE_PFN_MASK, 1);
	}
	return 0;
}

int as_unmap(struct as *as, u64 va)
{
	bool shared;
	int level;
	pte_t *ep;
	u64 old;

	check_user_va(va, "as_unmap");
	ep = walk_leaf(as, va, &level, &shared);
	old = pte_read(ep);
	if (!(old & _PAGE_PRESENT))
		return -EFAULT;
	update_leaf(ep, va, 0, is_live(as, shared));
	drop_leaf(old);
	return 0;
}

/* Sets @set and clears @clear in the leaf mapping @va (never P). */
int as_protect(struct as *as, u64 va, u64 set, u64 clear)
{
	bool shared;
	int level;
	pte_t *ep;
	u64 old;

	check_user_va(va, "as_protect");
	ep = walk_leaf(as, va, &level, &shared);
	old = pte_read(ep);
	if (!(old & _PAGE_PRESENT))
		return -EFAULT;
	update_leaf(ep, va, (old & ~(clear & ~_PAGE_PRESENT)) | set,
		    is_live(as, shared));
	return 0;
}

/*
 * Replaces the 2 MiB mapping of @va by a 4 KiB table mapping the same
 * frames with the same rights (Linux: split_huge_pmd).  The new table is
 * filled with plain stores: it is not a page table until it is linked.
 */
int as_split_2m(struct as *as, u64 va)
{
	u64 old, pt, base, flags;
	bool shared;
	pte_t *ep, *t;
	unsigned int i;

	check_user_va(va, "as_split_2m");
	ep = walk(as, va, 2, false, &shared);
	if (!ep)
		return -EFAULT;
	old = pte_read(ep);
	if (!(old & _PAGE_PRESENT) || !(old & _PAGE_PSE))
		return -EINVAL;
	pt = palloc_alloc();
	if (!pt)
		return -ENOMEM;
	base = old & PDE_LARGE_MASK;
	flags = old & ((PAGE_SIZE - 1) | _PAGE_NX) & ~_PAGE_PSE;
	t = phys_to_virt(pt);
	for (i = 0; i < PTRS_PER_TABLE; i++)
		t[i] = (base + i * PAGE_SIZE) | flags;
	set_pte(ep, pt | _PAGE_TABLE);
	/* One INVLPG anywhere in a large page drops all of its translations. */
	if (is_live(as, shared))
		flush_tlb_page(ALIGN_DOWN(va, PMD_SIZE));
	return 0;
}

/*
 * Makes @dst use @src's table of @level (1 = PT .. 3 = PDPT) for @va: the
 * entry at @level + 1 in @dst points where @src's does, and the table
 * gains a count.  What @dst had there is put.
 */
int as_share_table(struct as *dst, struct as *src, u64 va, int level)
{
	pte_t *sp, *dp;
	bool shared;
	u64 e, old;

	check_user_va(va, "as_share_table");
	if (level < 1 || level > 3)
		return -EINVAL;
	sp = walk(src, va, level + 1, false, NULL);
	if (!sp)
		return -EFAULT;
	e = pte_read(sp);
	if (!(e & _PAGE_PRESENT) || (e & _PAGE_PSE))
		return -EINVAL;
	dp = walk(dst, va, level + 1, true, &shared);
	if (!dp)
		return -ENOMEM;
	old = pte_read(dp);
	if ((old & _PAGE_PRESENT) && (old & PTE_PFN_MASK) == (e & PTE_PFN_MASK))
		return 0;
	page_get(e & PTE_PFN_MASK);
	set_pte(dp, e);
	if (old & _PAGE_PRESENT) {
		if (is_live(dst, shared))
			flush_tlb();
		if (old & _PAGE_PSE)
			drop_leaf(old);
		else
			put_table(old & PTE_PFN_MASK, level);
	}
	return 0;
}

/* Unlinks @as's table of @level for @va, flushes, and puts it. */
int as_zap_table(struct as *as, u64 va, int level)
{
	bool shared;
	pte_t *ep;
	u64 old;

	check_user_va(va, "as_zap_table");
	if (level < 1 || level > 3)
		return -EINVAL;
	ep = walk(as, va, level + 1, false, &shared);
	if (!ep)
		return -EFAULT;
	old = pte_read(ep);
	if (!(old & _PAGE_PRESENT) || (old & _PAGE_PSE))
		return -EINVAL;
	clear_pte(ep);
	if (is_live(as, shared))
		flush_tlb();
	put_table(old & PTE_PFN_MASK, level);
	return 0;
}

/*
 * Maps @npages fresh zeroed frames from @va with @prot, each leaf table's
 * worth as one lazy batch (tables are allocated outside the batch), with
 * the flush for replaced mappings at the end of the batch; their frames
 * are dropped after it.
 */
int as_map_range(struct as *as, u64 va, u64 npages, u64 prot)
{
	check_user_va(va, "as_map_range");
	while (npages) {
		unsigned int i, n = min(npages, (u64)(PTRS_PER_TABLE - pt_index(va, 1)));
		u64 stale[PTRS_PER_TABLE];
		unsigned int nstale = 0;
		bool shared;
		pte_t *ep = walk(as, va, 1, true, &shared);
		int ret = 0;

		if (!ep)
			return -ENOMEM;
		enter_lazy_mmu();
		for (i = 0; i < n; i++) {
			u64 f = palloc_alloc(), old;

			if (!f) {
				ret = -ENOMEM;
				break;
			}
			old = pte_read(&ep[i]);
			set_pte(&ep[i], f | prot | _PAGE_PRESENT);
			if (old & _PAGE_PRESENT)
				stale[nstale++] = old;
		}
		if (nstale && is_live(as, shared))
			flush_tlb();
		leave_lazy_mmu();
		for (i = 0; i < nstale; i++)
			drop_leaf(stale[i]);
		if (ret)
			return ret;
		va += (u64)n * PAGE_SIZE;
		npages -= n;
	}
	return 0;
}

void as_unmap_range(struct as *as, u64 va, u64 npages)
{
	check_user_va(va, "as_unmap_range");
	while (npages) {
		unsigned int idx = pt_index(va, 1);
		unsigned int n = min(npages, (u64)(PTRS_PER_TABLE - idx));
		bool shared = false;
		pte_t *ep = walk(as, va, 1, false, &shared);

		if (ep)
			zap_ptes(ep - idx, idx, idx + n, va - (u64)idx * PAGE_SIZE,
				 is_live(as, shared));
		va += (u64)n * PAGE_SIZE;
		npages -= n;
	}
}

/*
 * Changes the rights of every present 4 KiB mapping in the range, each
 * leaf table's worth as one lazy batch of modify_prot() (Linux:
 * change_pte_range; under pv a large range's batch is one PROTECT op per
 * table, see pv_mmu_pv.c), and flushes: page by page in each batch for a
 * small range; for a large one everything once, at the end of the last
 * batch (after the range if the last leaf table is missing).
 */
void as_protect_range(struct as *as, u64 va, u64 npages, u64 set, u64 clear)
{
	bool each = npages <= FLUSH_CEILING, flush = false;

	check_user_va(va, "as_protect_range");
	clear &= ~_PAGE_PRESENT;
	while (npages) {
		unsigned int i, n = min(npages, (u64)(PTRS_PER_TABLE - pt_index(va, 1)));
		bool shared = false;
		pte_t *ep = walk(as, va, 1, false, &shared);
		bool live = is_live(as, shared);

		if (ep) {
			enter_lazy_mmu();
			for (i = 0; i < n; i++) {
				u64 e = pte_read(&ep[i]);

				if (!(e & _PAGE_PRESENT))
					continue;
				modify_prot(&ep[i], e, (e & ~clear) | set);
				if (live && each)
					flush_tlb_page(va + (u64)i * PAGE_SIZE);
				flush |= live && !each;
			}
			if (flush && n == npages) {
				flush_tlb();
				flush = false;
			}
			leave_lazy_mmu();
		}
		va += (u64)n * PAGE_SIZE;
		npages -= n;
	}
	if (flush)
		flush_tlb();
}

/*
 * Fills the leaf table @dst, not linked yet, with a copy of the live leaf
 * table @src, for a fork (Linux: copy_pte_range): counted frames gain a
 * count, and writable ones become read-only + _PAGE_COW on both sides.
 * @dst is ordinary memory (pv_mmu.h), so its entries are plain stores;
 * only the write protection of @src's entries goes through pv_mmu, as one
 * lazy batch.
 */
static void copy_ptes(pte_t *dst, pte_t *src)
{
	unsigned int i;

	enter_lazy_mmu();
	for (i = 0; i < PTRS_PER_TABLE; i++) {
		u64 e = pte_read(&src[i]);

		if (!(e & _PAGE_PRESENT))
			continue;
		if (!(e & _PAGE_SPECIAL)) {
			page_get(e & PTE_PFN_MASK);
			if (e & _PAGE_RW) {
				e = (e & ~_PAGE_RW) | _PAGE_COW;
				set_pte(&src[i], e);
			}
		}
		dst[i] = e;
	}
	leave_lazy_mmu();
}

/*
 * Builds a private copy of the table of @level that the parent's entry
 * @src_e points to, and returns in *@dst_e the entry that links it (0 if
 * nothing was allocated).  The copy is reachable from no root until the
 * caller stores that entry, so it is built bottom-up with plain stores:
 * a lower table is complete before the entry linking it is stored here,
 * and the caller links this one, complete, with one set_pte() if its
 * table is live (pv_mmu.h).  When out of memory the copy stops where it
 * is, consistent (every table in it is counted and linked), for the
 * caller to link and free with as_destroy().
 */
static int copy_table(u64 src_e, int level, u64 *dst_e)
{
	pte_t *s = table_va(src_e), *d;
	unsigned int i;
	int ret = 0;
	u64 pa;

	*dst_e = 0;
	pa = palloc_alloc();
	if (!pa)
		return -ENOMEM;
	d = phys_to_virt(pa);
	if (level == 1) {
		copy_ptes(d, s);
	} else {
		for (i = 0; i < PTRS_PER_TABLE && !ret; i++) {
			u64 e = pte_read(&s[i]);

			if (!(e & _PAGE_PRESENT))
				continue;
			if (e & _PAGE_PSE)
				d[i] = e;	/* 2 MiB: SPECIAL, shared as is */
			else
				ret = copy_table(e, level - 1, &d[i]);
		}
	}
	*dst_e = pa | (src_e & ~PTE_PFN_MASK & ~_PAGE_ACCESSED);
	return ret;
}

/* A copy umbra made (pv_cow.c): the frame it replaced loses that PTE's count. */
static void cow_done(u64 pte_gpa, u64 old_pte)
{
	(void)pte_gpa;
	page_put(old_pte & PTE_PFN_MASK);
}

/**
 * as_cow_reap() - account for the copy-on-write faults umbra resolved
 *
 * Under pv_cow (pv_mmu.h) a COW write may be resolved without reaching
 * as_cow_fault(); until this runs, the frames those writes copied keep
 * one count too many.  as_fork(), as_destroy() and as_cow_fault() call
 * it first; so do callers that read the counts of COW frames.
 */
void as_cow_reap(void)
{
	pv_cow_reap(cow_done);
}

/**
 * as_fork() - copy an address space with copy-on-write
 * @src: the parent
 *
 * Every table of @src's half is copied (shared tables too: the child gets
 * private copies); writable counted pages become read-only + _PAGE_COW in
 * both, so the first write on either side faults into as_cow_fault().
 * The child's tables are built with plain stores and each subtree is
 * linked into the child's root, complete, with one set_pte(); the other
 * pv_mmu ops are as_create()'s, the parent's write protection and the
 * flush for it.
 * Return: the child, or NULL when out of memory.
 */
struct as *as_fork(struct as *src)
{
	pte_t *sroot = phys_to_virt(src->root), *droot;
	struct as *dst = as_create();
	unsigned int i;

	if (!dst)
		return NULL;
	as_cow_reap();
	droot = phys_to_virt(dst->root);
	for (i = pt_index(AS_USER_START, 4); i < pt_index(AS_USER_END - 1, 4) + 1; i++) {
		u64 e = pte_read(&sroot[i]), copy;
		int ret;

		if (!(e & _PAGE_PRESENT))
			continue;
		ret = copy_table(e, 3, &copy);
		if (copy)
			set_pte(&droot[i], copy);
		if (ret) {
			flush_tlb();
			as_destroy(dst);
			return NULL;
		}
	}
	/* The parent's writable PTEs became read-only (maybe in shared tables). */
	flush_tlb();
	return dst;
}

/**
 * as_cow_fault() - resolve a write fault on a copy-on-write page
 * @as: the faulting address space
 * @va: the faulting address
 *
 * Reuses the frame when this mapping is its only user, else copies it.
 * Return: 0 if resolved, -EFAULT if @va is not a COW page, -ENOMEM.
 */
int as_cow_fault(struct as *as, u64 va)
{
	u64 e, frame, copy;
	bool shared;
	int level;
	pte_t *ep;

	as_cow_reap();
	ep = walk_leaf(as, va, &level, &shared);
	e = pte_read(ep);
	if (level != 1 || !(e & _PAGE_PRESENT) || !(e & _PAGE_COW))
		return -EFAULT;
	frame = e & PTE_PFN_MASK;
	copy = frame;
	if (page_count(frame) > 1) {
		copy = palloc_alloc_raw();
		if (!copy)
			return -ENOMEM;
		memcpy(phys_to_virt(copy), phys_to_virt(frame), PAGE_SIZE);
	}
	update_leaf(ep, va, copy | (((e & ~PTE_PFN_MASK) | _PAGE_RW) & ~_PAGE_COW),
		    is_live(as, shared));
	if (copy != frame)
		page_put(frame);
	return 0;
}

/*
 * Builds the kernel address space: RAM identity mapped, supervisor,
 * writable, executable, with 2 MiB pages except the first 2 MiB, mapped
 * 4 KiB at a time so that page 0 stays unmapped (NULL faults).  A and D
 * are preset: nobody tracks them here.
 */
void as_init(u64 mem_size)
{
	const u64 prot = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;
	pte_t *pt;
	u64 pa;

	if (mem_size > PGD_SIZE)
		panic("RAM above 512 GiB is not supported");
	kernel_as = as_create();
	if (!kernel_as)
		panic("no memory for the kernel page tables");
	/* The first 2 MiB: one leaf table, filled as one lazy batch. */
	pt = walk(kernel_as, 0, 1, true, NULL);
	if (!pt)
		panic("no memory for the kernel page tables");
	enter_lazy_mmu();
	for (pa = PAGE_SIZE; pa < PMD_SIZE; pa += PAGE_SIZE)
		set_pte(&pt[pt_index(pa, 1)], pa | prot);
	leave_lazy_mmu();
	for (pa = PMD_SIZE; pa < ALIGN_UP(mem_size, PMD_SIZE); pa += PMD_SIZE) {
		pte_t *ep = walk(kernel_as, pa, 2, true, NULL);

		if (!ep)
			panic("no memory for the kernel page tables");
		set_pte(ep, pa | prot | _PAGE_PSE);
	}
	as_switch(kernel_as);
}
