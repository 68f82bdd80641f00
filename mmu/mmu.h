/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mmu/ private header, laid out by the file that defines each part.
 *
 * The path of a guest #PF, by file:
 *   fault.c    umbra_mmu_page_fault(): walk, fault the host page in, map
 *   walk.c     the guest's own page tables, with x86's checks and A/D
 *   shadow.c   shadow pages: find or create by (gfn, role), link, zap
 *   rmap.c     gfn -> the sptes that map it, for write protection
 *   flush.c    the TLB flush rule and freeing zapped pages after it
 *   root.c     the root for the guest's CR3, and a cache of previous ones
 *   pte_write.c a guest write to a shadowed page table, INVLPG
 *   sync.c     unsync leaf tables, resynced on the guest's TLB flushes
 *   notifier.c the host takes a page away: zap first
 *
 * Locking:
 *   umbra_mmu_vm.lock (a spinlock, "mmu_lock") protects every shadow page,
 *   spte, rmap and the shadow-page hash.  Nothing sleeps under it: pages
 *   for new shadow pages come from a per-vCPU cache filled beforehand
 *   (umbra_mmu_topup()).  Guest memory is read and host pages are faulted in
 *   before it is taken; the notifier sequence count (invalidate_seq) tells
 *   the fault path when a host page it looked up went away meanwhile.
 *
 *   Lock order: umbra_vcpu.mutex -> umbra_vm.lock -> mmu_lock.
 */
#ifndef _UMBRA_MMU_MMU_H
#define _UMBRA_MMU_MMU_H

#include <linux/hashtable.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/spinlock.h>
#include <asm/processor-flags.h>
#include <umbra/mmu.h>
#include "spte.h"

#define SPTE_ENT_PER_PAGE	512
#define UMBRA_ROOT_LEVEL	4
#define UMBRA_PREV_ROOTS	3	/* previous roots kept for fast CR3 switches */
#define UMBRA_PAE_ROOTS		4	/* PDPTEs of a PAE root: 4 GiB, paging off */

/* Accumulated access of a guest walk (role.access and leaf permissions). */
#define ACC_EXEC	BIT(0)
#define ACC_WRITE	BIT(1)
#define ACC_USER	BIT(2)
#define ACC_ALL		(ACC_EXEC | ACC_WRITE | ACC_USER)

/* The rights one guest entry grants by itself (NX counts only with NXE). */
static inline unsigned int gpte_access(u64 gpte, bool nxe)
{
	unsigned int acc = 0;

	if (gpte & _PAGE_RW)
		acc |= ACC_WRITE;
	if (gpte & _PAGE_USER)
		acc |= ACC_USER;
	if (!nxe || !(gpte & _PAGE_NX))
		acc |= ACC_EXEC;
	return acc;
}

/*
 * The leaf spte for host frame @pfn under guest rights @acc: the one place
 * that applies spte.h's rules.  W only with MMU-writable, MMU-writable only
 * with host-writable and for a frame that is not a shadowed table, and W
 * only once the guest's D bit is (or is being) set, so that a clean page
 * faults on its first write and the walker can set D.  A dirty entry kept
 * read-only only because its frame is a shadowed table gets D all the
 * same: "W withheld for shadowing" (spte.h), which umbra_gfn_unprotect()
 * reads when the frame stops being a table.
 */
static inline u64 leaf_spte(u64 pfn, unsigned int acc, bool nxe,
			    bool host_writable, bool shadowed, bool dirty)
{
	u64 spte = (pfn << PAGE_SHIFT) | SPTE_PRESENT | SPTE_ACCESSED;

	if (acc & ACC_USER)
		spte |= SPTE_USER;
	if (!(acc & ACC_EXEC) && nxe)
		spte |= SPTE_NX;
	if (host_writable)
		spte |= SPTE_HOST_WRITABLE;
	if ((acc & ACC_WRITE) && host_writable && dirty)
		spte |= SPTE_DIRTY;
	if ((acc & ACC_WRITE) && host_writable && !shadowed) {
		spte |= SPTE_MMU_WRITABLE;
		if (dirty)
			spte |= SPTE_WRITABLE;
	}
	return spte;
}

/**
 * union umbra_sp_role - what, besides the gfn, makes two shadow pages differ
 * @level:	1 (maps 4 KiB pages) .. 4
 * @access:	ACC_* allowed by the guest entries above this table
 * @direct:	shadows no guest table: maps a guest 2 MiB or 1 GiB page
 *		(gfn is its first frame) with 4 KiB sptes, or, with the
 *		guest's paging off, guest-physical memory itself (root.c)
 * @cr0_wp:	built under CR0.WP=1 (WP=0 gives supervisor writes to
 *		read-only pages, which changes what a leaf spte allows)
 * @nxe:	built under EFER.NXE=1 (NX in sptes is reserved otherwise)
 * @word:	all of the above, for hashing and comparing
 */
union umbra_sp_role {
	u32 word;
	struct {
		u32 level:3;
		u32 access:3;
		u32 direct:1;
		u32 cr0_wp:1;
		u32 nxe:1;
	};
};

/**
 * struct umbra_sp - a shadow page: one page of sptes and its bookkeeping
 * @hash_link:	in umbra_mmu_vm.hash, by @gfn
 * @lru:	in umbra_mmu_vm.active, newest first (reclaim takes the oldest)
 * @zap_link:	on a list of zapped pages waiting for the TLB flush
 * @gfn:	the guest table it shadows, or the first frame it maps (direct)
 * @role:	see union umbra_sp_role
 * @spt:	the sptes (a page the hardware walks)
 * @gptes:	for a leaf table that shadows a guest table: the guest PTE
 *		each present spte was made from (the frame it maps is in
 *		it); resync compares against it
 * @parents:	the upper-level sptes that point here (an rmap list)
 * @unsync:	a leaf table the guest may write without a trap: the shadow
 *		may lag until the guest's next TLB flush resyncs it (sync.c)
 * @unsync_link: in umbra_mmu_vm.unsync while @unsync
 * @root_count:	vCPUs using this page as their root (or keeping it as a
 *		previous root); it is not freed while non-zero
 * @invalid:	zapped while a root; freed when root_count drops to zero
 */
struct umbra_sp {
	struct hlist_node hash_link;
	struct list_head lru;
	struct list_head zap_link;
	u64 gfn;
	union umbra_sp_role role;
	u64 *spt;
	u64 *gptes;
	unsigned long parents;
	int root_count;
	bool invalid;
	bool unsync;
	struct list_head unsync_link;
};

/**
 * struct umbra_mmu_vm - the shadow MMU's state for one VM
 * @lock:	"mmu_lock", see above
 * @hash:	shadow pages by gfn
 * @active:	all live shadow pages, newest first
 * @nr_sps:	number of them
 * @max_sps:	the pool's bound: beyond it the oldest are reclaimed
 * @notifier:	registered on the VMM's mm
 * @invalidate_seq: bumped at the end of every host invalidation
 * @invalidate_in_progress: host invalidations between start and end
 * @unsync:	unsync shadow pages, see umbra_sp.unsync
 * @created:	shadow pages created, ever
 * @zapped:	shadow pages zapped, ever
 * @ad_pending:	deferred A/D (ad.c): A/D bits owed to guest PTEs whose
 *		sptes are gone, UMBRA_AD_MAX slots once enabled, else NULL
 * @nr_ad_pending: entries in @ad_pending
 * @nr_ad_live:	sptes with SPTE_AD_DEFERRED; with @nr_ad_pending at most
 *		@ad_max, so that a dropped one always finds a slot
 * @ad_max:	that bound (UMBRA_AD_MAX; KUnit lowers it)
 * @spare:	freed shadow pages kept whole for the next ones (mmu.c), at
 *		most MMU_SPARE_SPS, under @spare_lock
 * @nr_spare:	how many
 * @spare_lock:	guards @spare and @nr_spare; taken without mmu_lock
 * @vm:		back pointer
 */
struct umbra_mmu_vm {
	spinlock_t lock;
	DECLARE_HASHTABLE(hash, 10);
	struct list_head active;
	unsigned long nr_sps;
	unsigned long max_sps;
	struct mmu_notifier notifier;
	unsigned long invalidate_seq;
	long invalidate_in_progress;
	struct list_head unsync;
	u64 created;
	u64 zapped;
	struct umbra_ad_pending *ad_pending;
	unsigned int nr_ad_pending;
	unsigned int nr_ad_live;
	unsigned int ad_max;
	struct list_head spare;
	unsigned int nr_spare;
	spinlock_t spare_lock;
	struct umbra_vm *vm;
};

/*
 * What one fault may allocate under mmu_lock: a table and a gfn array per
 * level, and an rmap descriptor per list it touches (the frame's, a new
 * table's parents); a run of PV writes to one table may add an spte per
 * write (to every shadow of the table; the prefill stops when the cache
 * is empty).  Descriptors are small objects (rmap.c), not pages: a frame
 * mapped twice, by the guest's direct map and a user mapping, is the
 * common case, not a rare one.
 */
#define MMU_CACHE_PAGES	12
#define MMU_CACHE_SPS	UMBRA_ROOT_LEVEL
#define MMU_CACHE_DESCS	UMBRA_GPTE_RUN_MAX
#define RMAP_DESC_BYTES	128	/* a power of two: kmalloc aligns it so */

/*
 * Freed shadow pages a VM keeps for its next ones (mmu.c): a PV guest's
 * exit zaps its child's tables at once (RELEASE_PT) and its next fork
 * needs as many again, 30-odd per fork of 64 MiB.  A spare keeps its
 * table page, every entry not present (umbra_sp_zap() dropped them all),
 * and its gfn array, whose entries mean something only where the table's
 * is present: neither needs zeroing.  The bound is 64 * 8 KiB per VM.
 */
#define MMU_SPARE_SPS	64

#define PREFETCH_PAGES	64	/* an aligned window inside a guest large page */

/**
 * struct prefetch - host pages found around a fault (fault.c)
 * @pages:	referenced pages for gfns @first_gfn .. + @n - 1
 * @n:		how many (0: no prefetch)
 * @first_gfn:	the window's first frame
 * @writable:	looked up for writing (the guest entry allows writes)
 */
struct prefetch {
	struct page *pages[PREFETCH_PAGES];
	int n;
	u64 first_gfn;
	bool writable;
};

/**
 * struct umbra_mmu_vcpu - the shadow MMU's state for one vCPU
 * @paging:	the guest's CR0/CR3/CR4/EFER as last told
 * @root:	the shadow root in use, or NULL before the first load
 * @reload:	@paging changed since @root was chosen
 * @prev_roots: roots of recent CR3 values, kept to make switching back cheap
 * @pae_root:	with the guest's paging off, the hardware's CR3: a page
 *		below 4 GiB holding four PAE PDPTEs, one per @pae_sp
 * @pae_sp:	the direct level-2 tables those PDPTEs point to, each
 *		mapping one GiB of guest-physical memory (held as roots)
 * @cache:	zeroed pages for new shadow tables and gfn arrays, filled
 *		before mmu_lock is taken; a shadow page from @sp_cache that
 *		was a spare brings its own (MMU_SPARE_SPS)
 * @nr_cache:	pages in @cache
 * @sp_cache:	struct umbra_sp objects, likewise: zeroed ones, and spares
 *		with @spt (and maybe @gptes) still attached
 * @nr_sp_cache: objects in @sp_cache
 * @desc_cache:	rmap descriptors (RMAP_DESC_BYTES each), likewise
 * @nr_desc_cache: objects in @desc_cache
 * @prefetch:	the fault path's prefetch window (fault.c), kept here to
 *		stay off the kernel stack
 */
struct umbra_mmu_vcpu {
	struct umbra_paging paging;
	struct umbra_sp *root;
	bool reload;
	struct umbra_sp *prev_roots[UMBRA_PREV_ROOTS];
	u64 *pae_root;
	struct umbra_sp *pae_sp[UMBRA_PAE_ROOTS];
	void *cache[MMU_CACHE_PAGES];
	unsigned int nr_cache;
	struct umbra_sp *sp_cache[MMU_CACHE_SPS];
	unsigned int nr_sp_cache;
	void *desc_cache[MMU_CACHE_DESCS];
	unsigned int nr_desc_cache;
	struct prefetch *prefetch;
};

static inline struct umbra_mmu_vm *vm_mmu(struct umbra_vm *vm)
{
	return vm->mmu;
}

/*
 * The notifier protocol (notifier.c) for a host page looked up outside
 * mmu_lock: note the sequence before the lookup, and under mmu_lock ask
 * whether an invalidation ran or is running since; if so the page may no
 * longer be the VMM's.
 */
static inline unsigned long mmu_invalidate_seq(struct umbra_mmu_vm *mmu)
{
	unsigned long seq = READ_ONCE(mmu->invalidate_seq);

	smp_rmb();	/* pairs with the smp_wmb() in notifier.c */
	return seq;
}

static inline bool mmu_invalidated(struct umbra_mmu_vm *mmu, unsigned long seq)
{
	lockdep_assert_held(&mmu->lock);
	return mmu->invalidate_in_progress || mmu->invalidate_seq != seq;
}

/* The guest's paging is off: linear addresses are guest-physical. */
static inline bool mmu_unpaged(const struct umbra_mmu_vcpu *m)
{
	return !(m->paging.cr0 & X86_CR0_PG);
}

/*
 * The shadow page a walk of the shadow for @addr starts at, and its level:
 * the root, or with paging off the PAE table for @addr's GiB.  NULL before
 * the first umbra_mmu_load().
 */
static inline struct umbra_sp *shadow_top(const struct umbra_mmu_vcpu *m,
					  u64 addr, int *level)
{
	if (mmu_unpaged(m)) {
		*level = 2;
		return m->pae_sp[(addr >> 30) & (UMBRA_PAE_ROOTS - 1)];
	}
	*level = UMBRA_ROOT_LEVEL;
	return m->root;
}

/* The shadow page an upper-level spte points to (page->private). */
static inline struct umbra_sp *spte_child(u64 spte)
{
	return (struct umbra_sp *)page_private(pfn_to_page(spte_pfn(spte)));
}

static inline struct umbra_sp *sptep_sp(u64 *sptep)
{
	return (struct umbra_sp *)page_private(virt_to_page(sptep));
}

static inline unsigned int sptep_index(u64 *sptep)
{
	return ((unsigned long)sptep & ~PAGE_MASK) / sizeof(u64);
}

/* Index of @addr's entry in a table of @level. */
static inline unsigned int level_index(u64 addr, int level)
{
	return (addr >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
}

/* Indirect shadow pages of a guest table frame (under mmu_lock). */
#define for_each_sp_of_gfn(mmu, sp, tmp, _gfn)				\
	hash_for_each_possible_safe((mmu)->hash, sp, tmp, hash_link, _gfn) \
		if ((sp)->gfn != (_gfn) || (sp)->role.direct) {} else

/* mmu.c: lifetime, memslots, the page cache */
int umbra_mmu_topup(struct umbra_vcpu *vcpu);
void *umbra_mmu_cache_alloc(struct umbra_vcpu *vcpu);
void *umbra_mmu_cache_alloc_desc(struct umbra_vcpu *vcpu);
struct umbra_sp *umbra_mmu_cache_alloc_sp(struct umbra_vcpu *vcpu);
void umbra_mmu_sp_free(struct umbra_vm *vm, struct umbra_sp *sp);
struct umbra_memslot *umbra_mmu_gfn_to_slot(struct umbra_vm *vm, u64 gfn);
u64 umbra_mmu_gfn_to_hva(const struct umbra_memslot *slot, u64 gfn);
void umbra_mmu_set_page_dirty(struct page *page);

/* walk.c: the guest page-table walker */
struct umbra_walk {
	int level;			/* level of the leaf: 1, 2 (2 MiB), 3 (1 GiB) */
	u64 gfn;			/* frame the address maps to */
	u64 table_gfn[UMBRA_ROOT_LEVEL + 1];	/* guest table at each level */
	u64 gpte[UMBRA_ROOT_LEVEL + 1];	/* the entry read at each level */
	unsigned int pt_access[UMBRA_ROOT_LEVEL + 1]; /* access above each level */
	unsigned int access;		/* effective ACC_* of the whole walk */
	u32 fault_error;		/* #PF error code when the walk fails */
};
int umbra_mmu_walk(struct umbra_vcpu *vcpu, u64 addr, u32 access,
	     struct umbra_walk *w);
u64 umbra_mmu_rsvd_bits(const struct umbra_vcpu *vcpu, int level, u64 pte);
bool umbra_mmu_walk_denied_by_rw(struct umbra_vcpu *vcpu,
				 const struct umbra_walk *w, u32 access);
u64 __user *umbra_mmu_gpte_ptr(struct umbra_vm *vm, u64 table_gfn, u64 addr,
			       int level);
u64 umbra_mmu_cr3_gfn(const struct umbra_vcpu *vcpu, u64 cr3);

/* rmap.c: gfn -> sptes, and shadow-page parent lists (same structure) */
int umbra_rmap_add(struct umbra_vcpu *vcpu, unsigned long *head, u64 *sptep);
void umbra_rmap_remove(unsigned long *head, u64 *sptep);
u64 *umbra_rmap_first(unsigned long *head, unsigned long *iter);
u64 *umbra_rmap_next(unsigned long *head, unsigned long *iter);
unsigned long *umbra_gfn_rmap(struct umbra_vm *vm, u64 gfn);

/* shadow.c: shadow pages */
struct umbra_sp *umbra_sp_get(struct umbra_vcpu *vcpu, u64 gfn,
			union umbra_sp_role role, bool *created);
int umbra_sp_link(struct umbra_vcpu *vcpu, u64 *sptep, struct umbra_sp *child);
void umbra_spte_drop(struct umbra_vm *vm, u64 *sptep);
u64 umbra_spte_drop_owed(struct umbra_vm *vm, u64 *sptep);
bool umbra_sp_zap(struct umbra_vm *vm, struct umbra_sp *sp, struct list_head *zapped);
bool umbra_sp_zap_gfn(struct umbra_vm *vm, u64 gfn, struct list_head *zapped);
bool umbra_gfn_is_shadowed(struct umbra_vm *vm, u64 gfn);
bool umbra_gfn_write_protect(struct umbra_vm *vm, u64 gfn);
bool umbra_gfn_unshadow(struct umbra_vm *vm, u64 gfn, struct list_head *zapped);
void umbra_sp_put_root(struct umbra_vm *vm, struct umbra_sp *sp,
		 struct list_head *zapped);
void umbra_sp_reclaim(struct umbra_vm *vm, struct list_head *zapped);
void umbra_sp_zap_all(struct umbra_vm *vm, struct list_head *zapped);

/* sync.c: unsync leaf tables */
bool umbra_sp_try_unsync(struct umbra_vm *vm, u64 gfn);
bool umbra_sp_new_shadow(struct umbra_vm *vm, u64 gfn);
bool umbra_sp_sync_entry(struct umbra_vm *vm, struct umbra_sp *sp, unsigned int i);
bool umbra_sp_resync_spte(struct umbra_vm *vm, struct umbra_sp *sp,
			  unsigned int i, u64 gpte);
u64 umbra_sp_leaf_gfn(struct umbra_sp *sp, unsigned int idx);

/* ad.c: deferred A/D */
#define UMBRA_AD_MAX	16384	/* deferred-A/D sptes per VM, live + pending */

/**
 * struct umbra_ad_pending - A/D bits owed to a guest PTE
 * @gpa:	the guest PTE
 * @gpte:	the value the dropped spte was made from: the bits go there
 *		only while the PTE still maps that frame
 * @bits:	_PAGE_ACCESSED and/or _PAGE_DIRTY
 */
struct umbra_ad_pending {
	u64 gpa;
	u64 gpte;
	u64 bits;
};

void umbra_mmu_ad_free(struct umbra_mmu_vm *mmu);
bool umbra_ad_may_defer(struct umbra_mmu_vm *mmu);
u64 umbra_ad_spte(struct umbra_mmu_vm *mmu, u64 spte, u64 gpte);
u64 umbra_ad_drop(struct umbra_vm *vm, struct umbra_sp *sp, unsigned int idx);
void umbra_ad_owe(struct umbra_vm *vm, struct umbra_sp *sp, unsigned int idx,
		  u64 bits);
void umbra_ad_write_protect(u64 *sptep);
void umbra_ad_pay(u64 __user *ptr, u64 entry, u64 bits);

/* flush.c: the TLB flush rule */
void umbra_sp_free_list(struct umbra_vm *vm, struct list_head *zapped);

#if IS_ENABLED(CONFIG_UMBRA_KUNIT_TEST)
/*
 * pte_write.c, KUnit only: called in a run's window between its guest
 * writes and its mmu_lock section, where another vCPU's writes of the
 * same entries may land (gptes_now()); NULL outside the test for that.
 */
extern void (*umbra_kunit_gpte_window)(struct umbra_vcpu *vcpu);
#endif

/* notifier.c: host invalidations */
int umbra_mmu_notifier_init(struct umbra_vm *vm);
void umbra_mmu_notifier_exit(struct umbra_vm *vm);

#endif /* _UMBRA_MMU_MMU_H */
