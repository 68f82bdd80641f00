// SPDX-License-Identifier: GPL-2.0
/*
 * shadow.c - shadow pages: the host's copies of the guest's page tables
 *
 * What it owns:
 *   the cache of shadow pages by (gfn, role), linking them into a shadow
 *   tree, tearing them down ("zap"), write protection of the guest tables
 *   they shadow, and the pool bound.
 *
 * A shadow page is kept after the guest stops using it (a CR3 switch, an
 * upper-level entry rewritten): it stays in the hash, linked to no parent,
 * ready for the next time the same guest table is reached the same way.
 * It is in sync all the same, because the guest table it shadows stays
 * write-protected and every write to it is applied to the shadow
 * (pte_write.c).  Only the pool bound (umbra_mmu_vm.max_sps) or a host
 * invalidation makes it go: the oldest first.
 *
 * Why write-protect: a guest table may be changed by any store of the
 * guest; write-protecting the frame (clearing W and MMU-writable in every
 * spte that maps it, rmap.c) turns each such store into a #PF that umbra
 * sees.  Clearing MMU-writable too, not just W, keeps any lockless writer
 * from giving W back (spte.h).
 *
 * Locking: everything here runs under mmu_lock.  Zapped pages go on a list
 * that the caller frees after the TLB flush (flush.c), never before: a CPU
 * may still be walking them.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/slab.h>
#include "mmu.h"

static void assert_mmu_locked(struct umbra_vm *vm)
{
	lockdep_assert_held(&vm_mmu(vm)->lock);
}

/**
 * umbra_sp_get - find or create the shadow page for (@gfn, @role)
 * @vcpu: supplies memory from its cache
 * @gfn: the guest table, or the first frame of a direct page
 * @role: see union umbra_sp_role
 * @created: set to whether a new page was made (the caller then
 *	     write-protects @gfn unless @role is direct)
 *
 * Return: the page, or NULL if the cache ran dry (a topup bug).
 */
struct umbra_sp *umbra_sp_get(struct umbra_vcpu *vcpu, u64 gfn,
			union umbra_sp_role role, bool *created)
{
	struct umbra_mmu_vm *mmu = vm_mmu(vcpu->vm);
	struct umbra_sp *sp;

	assert_mmu_locked(vcpu->vm);
	*created = false;
	hash_for_each_possible(mmu->hash, sp, hash_link, gfn) {
		if (sp->gfn == gfn && sp->role.word == role.word) {
			list_move(&sp->lru, &mmu->active);
			return sp;
		}
	}

	/*
	 * A spare (MMU_SPARE_SPS) comes with its table, and maybe a gfn
	 * array; one the role does not need stays with it, unused.
	 */
	sp = umbra_mmu_cache_alloc_sp(vcpu);
	if (WARN_ON_ONCE(!sp))
		return NULL;
	if (!sp->spt)
		sp->spt = umbra_mmu_cache_alloc(vcpu);
	if (role.level == 1 && !role.direct && !sp->gptes)
		sp->gptes = umbra_mmu_cache_alloc(vcpu);
	if (WARN_ON_ONCE(!sp->spt || (role.level == 1 && !role.direct && !sp->gptes))) {
		umbra_mmu_sp_free(vcpu->vm, sp);
		return NULL;
	}
	set_page_private(virt_to_page(sp->spt), (unsigned long)sp);
	sp->gfn = gfn;
	sp->role = role;
	INIT_LIST_HEAD(&sp->zap_link);
	INIT_LIST_HEAD(&sp->unsync_link);
	hash_add(mmu->hash, &sp->hash_link, gfn);
	list_add(&sp->lru, &mmu->active);
	mmu->nr_sps++;
	mmu->created++;
	*created = true;
	return sp;
}

/**
 * umbra_sp_link - point an upper-level spte at a shadow page
 * @vcpu: supplies an rmap descriptor if needed
 * @sptep: the entry, not present
 * @child: the page
 *
 * Return: 0 or -ENOMEM.
 */
int umbra_sp_link(struct umbra_vcpu *vcpu, u64 *sptep, struct umbra_sp *child)
{
	int r = umbra_rmap_add(vcpu, &child->parents, sptep);

	if (!r)
		WRITE_ONCE(*sptep, __pa(child->spt) | SPTE_NONLEAF);
	return r;
}

/**
 * umbra_spte_drop_owed - make an spte not present; deferred A/D is yours
 * @vm: the VM
 * @sptep: the entry (present or not)
 *
 * A leaf spte leaves its frame's rmap; an upper-level one leaves its
 * child's parent list (the child stays cached).  The caller flushes.
 *
 * Return: the A/D bits a deferred spte owed its guest PTE (ad.c), now
 * the caller's to hand on; 0 for any other.
 */
u64 umbra_spte_drop_owed(struct umbra_vm *vm, u64 *sptep)
{
	struct umbra_sp *sp = sptep_sp(sptep);
	u64 spte = *sptep;
	unsigned long *head;

	if (!spte_present(spte))
		return 0;
	if (sp->role.level == 1) {
		head = umbra_gfn_rmap(vm, umbra_sp_leaf_gfn(sp, sptep_index(sptep)));
		if (head)
			umbra_rmap_remove(head, sptep);
		if (spte & SPTE_AD_DEFERRED)
			return umbra_ad_drop(vm, sp, sptep_index(sptep));
	} else {
		umbra_rmap_remove(&spte_child(spte)->parents, sptep);
	}
	WRITE_ONCE(*sptep, 0);
	return 0;
}

/**
 * umbra_spte_drop - make an spte not present, unhooking what it referenced
 * @vm: the VM
 * @sptep: the entry (present or not)
 *
 * As umbra_spte_drop_owed(); what a deferred spte owes goes on the list
 * of A/D bits owed to guest PTEs (ad.c).  The caller flushes.
 */
void umbra_spte_drop(struct umbra_vm *vm, u64 *sptep)
{
	u64 bits = umbra_spte_drop_owed(vm, sptep);

	if (bits)
		umbra_ad_owe(vm, sptep_sp(sptep), sptep_index(sptep), bits);
}

/**
 * umbra_sp_zap - tear a shadow page down
 * @vm: the VM
 * @sp: the page
 * @zapped: where the page goes to be freed after the flush
 *
 * Its entries are dropped and every parent entry pointing to it is
 * cleared.  A page some vCPU uses as its root cannot be freed yet: it is
 * marked invalid, those vCPUs are told to load another root, and the last
 * one to let go frees it (umbra_sp_put_root()).
 *
 * Return: true (a TLB flush is needed).
 */
bool umbra_sp_zap(struct umbra_vm *vm, struct umbra_sp *sp, struct list_head *zapped)
{
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	unsigned long iter;
	unsigned int i;
	u64 *sptep;

	assert_mmu_locked(vm);
	/*
	 * Most entries of a table being zapped are empty (a leaf table holds
	 * what the guest touched and the prefetch filled): test before the
	 * call.  A deferred spte may gain D meanwhile, never P, so a
	 * non-present one stays non-present.
	 */
	for (i = 0; i < SPTE_ENT_PER_PAGE; i++)
		if (spte_present(READ_ONCE(sp->spt[i])))
			umbra_spte_drop(vm, &sp->spt[i]);
	while ((sptep = umbra_rmap_first(&sp->parents, &iter))) {
		umbra_rmap_remove(&sp->parents, sptep);
		WRITE_ONCE(*sptep, 0);
	}

	hash_del(&sp->hash_link);
	list_del_init(&sp->lru);
	list_del_init(&sp->unsync_link);
	sp->unsync = false;
	mmu->nr_sps--;
	mmu->zapped++;

	if (sp->root_count) {
		sp->invalid = true;
		for (i = 0; i < UMBRA_MAX_VCPUS; i++) {
			struct umbra_vcpu *v = READ_ONCE(vm->vcpus[i]);

			if (v)
				umbra_vcpu_request(v, UMBRA_REQ_MMU_RELOAD);
		}
	} else {
		list_add(&sp->zap_link, zapped);
	}
	return true;
}

/**
 * umbra_sp_put_root - a vCPU stops using @sp as a root (or previous root)
 * @vm: the VM
 * @sp: the page
 * @zapped: receives @sp if it was zapped meanwhile and this was the last user
 */
void umbra_sp_put_root(struct umbra_vm *vm, struct umbra_sp *sp,
		 struct list_head *zapped)
{
	assert_mmu_locked(vm);
	if (!WARN_ON_ONCE(sp->root_count <= 0) && !--sp->root_count &&
	    sp->invalid)
		list_add(&sp->zap_link, zapped);
}


/**
 * umbra_gfn_is_shadowed - must writes to this frame trap?
 * @vm: the VM
 * @gfn: the frame
 *
 * Return: true if some shadow page of the frame is in sync (unsync ones
 * let the guest write, see sync.c).
 */
bool umbra_gfn_is_shadowed(struct umbra_vm *vm, u64 gfn)
{
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	struct hlist_node *tmp;
	struct umbra_sp *sp;

	assert_mmu_locked(vm);
	for_each_sp_of_gfn(mmu, sp, tmp, gfn)
		if (!sp->unsync)
			return true;
	return false;
}

/**
 * umbra_sp_zap_gfn - zap every shadow of one guest table
 * @vm: the VM
 * @gfn: the table's frame
 * @zapped: see umbra_sp_zap()
 *
 * Return: whether anything was zapped (a flush is needed).
 */
bool umbra_sp_zap_gfn(struct umbra_vm *vm, u64 gfn, struct list_head *zapped)
{
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	struct hlist_node *tmp;
	struct umbra_sp *sp;
	bool flush = false;

	for_each_sp_of_gfn(mmu, sp, tmp, gfn)
		flush |= umbra_sp_zap(vm, sp, zapped);
	return flush;
}

/**
 * umbra_gfn_write_protect - take write access to a frame away from every spte
 * @vm: the VM
 * @gfn: the frame, about to be shadowed
 *
 * Clears W and MMU-writable (see the file comment for why both).
 *
 * Return: whether some spte lost W, i.e. a TLB flush is needed before the
 * protection can be relied on.
 */
bool umbra_gfn_write_protect(struct umbra_vm *vm, u64 gfn)
{
	unsigned long *head = umbra_gfn_rmap(vm, gfn), iter;
	bool flush = false;
	u64 *sptep;

	assert_mmu_locked(vm);
	if (!head)
		return false;
	for (sptep = umbra_rmap_first(head, &iter); sptep; sptep = umbra_rmap_next(head, &iter)) {
		u64 spte = *sptep;

		if (!(spte & (SPTE_WRITABLE | SPTE_MMU_WRITABLE)))
			continue;
		flush |= spte_writable(spte);
		if (spte & SPTE_AD_DEFERRED)
			umbra_ad_write_protect(sptep);	/* volatile: keep D */
		else
			WRITE_ONCE(*sptep, spte & ~(SPTE_WRITABLE | SPTE_MMU_WRITABLE));
	}
	return flush;
}

/*
 * The rights the guest's walk gave leaf spte @idx of @sp: the upper
 * levels' (the role), and for a table that shadows a guest one, its entry.
 */
static unsigned int leaf_access(const struct umbra_sp *sp, unsigned int idx)
{
	unsigned int acc = sp->role.access;

	if (!sp->role.direct)
		acc &= gpte_access(sp->gptes[idx], sp->role.nxe);
	return acc;
}

/**
 * umbra_gfn_unprotect - give W back to sptes of a frame that is no table now
 * @vm: the VM
 * @gfn: the frame; its last shadow page has just been zapped
 *
 * Undoes umbra_gfn_write_protect() where it can (spte.h, "W withheld for
 * shadowing"): every spte of @gfn with D but not W whose guest entry still
 * grants the write gets MMU-writable and W again.  Without this a table
 * frame the guest frees and reuses takes one more fault on its first
 * store, only for the shadow MMU to find nothing to protect.  Sptes in
 * unsync tables are left to their resync; a deferred spte's D is the CPU's,
 * not this mark.  Gaining rights needs no TLB flush: a CPU that still
 * holds the read-only translation faults once and finds the spte writable.
 */
static void umbra_gfn_unprotect(struct umbra_vm *vm, u64 gfn)
{
	unsigned long *head = umbra_gfn_rmap(vm, gfn), iter;
	u64 *sptep;

	assert_mmu_locked(vm);
	if (!head || umbra_gfn_is_shadowed(vm, gfn))
		return;
	for (sptep = umbra_rmap_first(head, &iter); sptep; sptep = umbra_rmap_next(head, &iter)) {
		struct umbra_sp *sp = sptep_sp(sptep);
		u64 spte = *sptep;

		if ((spte & (SPTE_WRITABLE | SPTE_AD_DEFERRED | SPTE_DIRTY |
			     SPTE_HOST_WRITABLE)) != (SPTE_DIRTY | SPTE_HOST_WRITABLE) ||
		    sp->unsync || !(leaf_access(sp, sptep_index(sptep)) & ACC_WRITE))
			continue;
		spte |= SPTE_MMU_WRITABLE | SPTE_WRITABLE;
		spte_check(spte);
		WRITE_ONCE(*sptep, spte);
	}
}

/**
 * umbra_gfn_unshadow - a frame is no guest table now: stop shadowing it
 * @vm: the VM
 * @gfn: the frame
 * @zapped: see umbra_sp_zap()
 *
 * Every shadow of @gfn is zapped, and the sptes that map the frame get W
 * back where the guest allows it (umbra_gfn_unprotect()), so that stores
 * to it stop trapping: for a released table (RELEASE_PT), a store the
 * emulator gives up on, a frame the host copied into.
 *
 * Return: whether a flush is needed.
 */
bool umbra_gfn_unshadow(struct umbra_vm *vm, u64 gfn, struct list_head *zapped)
{
	bool flush = umbra_sp_zap_gfn(vm, gfn, zapped);

	umbra_gfn_unprotect(vm, gfn);
	return flush;
}

/**
 * umbra_sp_reclaim - keep the pool within its bound, oldest first
 * @vm: the VM
 * @zapped: see umbra_sp_zap()
 *
 * Roots in use are skipped; they go when their vCPUs let go of them.
 */
void umbra_sp_reclaim(struct umbra_vm *vm, struct list_head *zapped)
{
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	struct umbra_sp *sp, *prev;

	assert_mmu_locked(vm);
	list_for_each_entry_safe_reverse(sp, prev, &mmu->active, lru) {
		if (mmu->nr_sps <= mmu->max_sps)
			break;
		if (!sp->root_count)
			umbra_sp_zap(vm, sp, zapped);
	}
}

/**
 * umbra_sp_zap_all - zap every shadow page of the VM
 * @vm: the VM
 * @zapped: see umbra_sp_zap()
 */
void umbra_sp_zap_all(struct umbra_vm *vm, struct list_head *zapped)
{
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	struct umbra_sp *sp;

	assert_mmu_locked(vm);
	while (!list_empty(&mmu->active)) {
		sp = list_first_entry(&mmu->active, struct umbra_sp, lru);
		umbra_sp_zap(vm, sp, zapped);
	}
}
