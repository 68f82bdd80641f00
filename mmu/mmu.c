// SPDX-License-Identifier: GPL-2.0
/*
 * mmu.c - the shadow MMU's lifetime, memslot lookups and memory cache
 *
 * What it owns:
 *   umbra_mmu_vm and umbra_mmu_vcpu (creation, teardown), the bound on
 *   shadow pages per VM (module parameter max_shadow_pages), the per-vCPU
 *   cache that feeds allocations made under mmu_lock, and gfn -> memslot
 *   -> hva lookups.
 *
 * Every page the MMU allocates is charged to the VMM's memory cgroup
 * (GFP_KERNEL_ACCOUNT): a VM pays for its own shadow tables.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include "mmu.h"

static unsigned long max_shadow_pages = 16384;
module_param(max_shadow_pages, ulong, 0644);
MODULE_PARM_DESC(max_shadow_pages,
		 "Shadow page-table pages per VM before the oldest are reclaimed (default 16384 = 64 MiB)");

/* A spare shadow page (MMU_SPARE_SPS), fields cleared but its pages kept. */
static struct umbra_sp *spare_get(struct umbra_mmu_vm *mmu)
{
	struct umbra_sp *sp;
	u64 *spt, *gptes;

	if (!READ_ONCE(mmu->nr_spare))
		return NULL;
	spin_lock(&mmu->spare_lock);
	sp = list_first_entry_or_null(&mmu->spare, struct umbra_sp, zap_link);
	if (sp) {
		list_del(&sp->zap_link);
		mmu->nr_spare--;
	}
	spin_unlock(&mmu->spare_lock);
	if (!sp)
		return NULL;
	spt = sp->spt;
	gptes = sp->gptes;
	memset(sp, 0, sizeof(*sp));
	sp->spt = spt;
	sp->gptes = gptes;
	return sp;
}

/* Frees a shadow page that never was or no longer is one, pages and all. */
static void sp_free_now(struct umbra_sp *sp)
{
	free_page((unsigned long)sp->spt);
	free_page((unsigned long)sp->gptes);
	kfree(sp);
}

/**
 * umbra_mmu_sp_free - a zapped shadow page is unreachable: keep or free it
 * @vm: its VM
 * @sp: the page, off every list, its table's entries all not present
 *
 * Kept as a spare while the VM has fewer than MMU_SPARE_SPS.
 * Context: any; takes the spare lock, never mmu_lock.
 */
void umbra_mmu_sp_free(struct umbra_vm *vm, struct umbra_sp *sp)
{
	struct umbra_mmu_vm *mmu = vm_mmu(vm);

	spin_lock(&mmu->spare_lock);
	if (mmu->nr_spare < MMU_SPARE_SPS) {
		list_add(&sp->zap_link, &mmu->spare);
		mmu->nr_spare++;
		sp = NULL;
	}
	spin_unlock(&mmu->spare_lock);
	if (sp)
		sp_free_now(sp);
}

/**
 * umbra_mmu_topup - fill the vCPU's cache before taking mmu_lock
 * @vcpu: the vCPU
 *
 * Return: 0 or -ENOMEM.
 */
int umbra_mmu_topup(struct umbra_vcpu *vcpu)
{
	struct umbra_mmu_vcpu *m = vcpu->mmu;

	while (m->nr_cache < MMU_CACHE_PAGES) {
		void *p = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);

		if (!p)
			return -ENOMEM;
		m->cache[m->nr_cache++] = p;
	}
	while (m->nr_sp_cache < MMU_CACHE_SPS) {
		struct umbra_sp *sp = spare_get(vm_mmu(vcpu->vm)) ?:
				      kzalloc(sizeof(*sp), GFP_KERNEL_ACCOUNT);

		if (!sp)
			return -ENOMEM;
		m->sp_cache[m->nr_sp_cache++] = sp;
	}
	while (m->nr_desc_cache < MMU_CACHE_DESCS) {
		void *d = kmalloc(RMAP_DESC_BYTES, GFP_KERNEL_ACCOUNT);

		if (!d)
			return -ENOMEM;
		m->desc_cache[m->nr_desc_cache++] = d;
	}
	return 0;
}

/* A zeroed struct umbra_sp from the cache; NULL only without umbra_mmu_topup(). */
struct umbra_sp *umbra_mmu_cache_alloc_sp(struct umbra_vcpu *vcpu)
{
	struct umbra_mmu_vcpu *m = vcpu->mmu;

	if (!m->nr_sp_cache)
		return NULL;
	return m->sp_cache[--m->nr_sp_cache];
}

/* An rmap descriptor, not zeroed; NULL only without umbra_mmu_topup(). */
void *umbra_mmu_cache_alloc_desc(struct umbra_vcpu *vcpu)
{
	struct umbra_mmu_vcpu *m = vcpu->mmu;

	if (!m->nr_desc_cache)
		return NULL;
	return m->desc_cache[--m->nr_desc_cache];
}

/* A zeroed page from the cache; NULL only if umbra_mmu_topup() was skipped. */
void *umbra_mmu_cache_alloc(struct umbra_vcpu *vcpu)
{
	struct umbra_mmu_vcpu *m = vcpu->mmu;

	if (!m->nr_cache)
		return NULL;
	return m->cache[--m->nr_cache];
}

/**
 * umbra_mmu_gfn_to_slot - the memslot holding a guest frame
 * @vm: the VM
 * @gfn: the frame
 *
 * Context: inside umbra_vm.srcu, or with umbra_vm.lock held.
 * Return: the slot (its rmap may be changed under mmu_lock), or NULL.
 */
struct umbra_memslot *umbra_mmu_gfn_to_slot(struct umbra_vm *vm, u64 gfn)
{
	struct umbra_memslots *set;
	int lo = 0, hi;

	set = srcu_dereference_check(vm->memslots, &vm->srcu,
				     lockdep_is_held(&vm->lock));
	hi = set->nr - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		struct umbra_memslot *s = &set->slots[mid];

		if (gfn < s->base_gfn)
			hi = mid - 1;
		else if (gfn >= s->base_gfn + s->npages)
			lo = mid + 1;
		else
			return s;
	}
	return NULL;
}

u64 umbra_mmu_gfn_to_hva(const struct umbra_memslot *slot, u64 gfn)
{
	return slot->userspace_addr + ((gfn - slot->base_gfn) << PAGE_SHIFT);
}

/**
 * umbra_mmu_ram_hva - the VMM's address of guest RAM byte @gpa
 * @vm: the VM
 * @gpa: the byte
 *
 * Writable RAM only: a read-only slot, a slot being deleted or no slot
 * at all gives NULL.  Context: inside umbra_vm.srcu.
 */
void __user *umbra_mmu_ram_hva(struct umbra_vm *vm, u64 gpa)
{
	struct umbra_memslot *slot = umbra_mmu_gfn_to_slot(vm, gpa >> PAGE_SHIFT);

	if (!slot || (slot->flags & (KVM_MEM_READONLY | UMBRA_MEMSLOT_INVALID)))
		return NULL;
	return (void __user *)(umbra_mmu_gfn_to_hva(slot, gpa >> PAGE_SHIFT) +
			       (gpa & ~PAGE_MASK));
}

/**
 * umbra_mmu_get_host_page - take the VMM's page behind a guest frame
 * @vm: the VM
 * @gfn: the frame, in RAM (for @write, writable RAM)
 * @write: the host will store into it
 * @hp: filled in; @hp->page is NULL on failure
 *
 * The page is faulted in if need be (get_user_pages_fast()).
 * Context: inside umbra_vm.srcu, may sleep.
 * Return: true if @hp holds the page.
 */
bool umbra_mmu_get_host_page(struct umbra_vm *vm, u64 gfn, bool write,
			     struct umbra_host_page *hp)
{
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	struct umbra_memslot *slot = umbra_mmu_gfn_to_slot(vm, gfn);

	hp->page = NULL;
	if (!slot || (slot->flags & UMBRA_MEMSLOT_INVALID) ||
	    (write && (slot->flags & KVM_MEM_READONLY)))
		return false;
	hp->gfn = gfn;
	hp->writable = write;
	hp->seq = mmu_invalidate_seq(mmu);
	if (get_user_pages_fast(umbra_mmu_gfn_to_hva(slot, gfn), 1,
				write ? FOLL_WRITE : 0, &hp->page) != 1) {
		hp->page = NULL;
		return false;
	}
	return true;
}

/*
 * Copies @from into @to's page with kmap_local_page() and copy_page(): one
 * pass, kernel to kernel, where copy_from_user() into a bounce page and
 * back out makes two, each a byte-wise REP MOVSB on FSRM CPUs (test host,
 * per page: copy_page() 4.7K cycles, one copy_from_user() 18.8K).
 */
static void copy_to_host_page(struct umbra_host_page *to, struct page *from)
{
	void *s = kmap_local_page(from);
	void *d = kmap_local_page(to->page);

	copy_page(d, s);
	kunmap_local(d);
	kunmap_local(s);
}

/**
 * umbra_mmu_copy_from_gfn - copy a guest frame into another, held by the host
 * @vm: the VM
 * @gfn: the frame to copy
 * @to: the page to copy into, from umbra_mmu_get_host_page() for writing
 * @flush: set when a remote TLB flush is due
 * @zapped: shadow pages zapped, to free after that flush
 *
 * A frame some spte maps is copied from the host page that spte maps,
 * under mmu_lock: the notifier zaps every spte of a page, under the same
 * lock, before the host may take the page away (mmu/notifier.c), so while
 * one is present the page is in place and no lookup or reference is
 * needed.  A frame no spte maps is looked up first.
 *
 * The copy is a store into @to->gfn that no shadow saw: if that frame is
 * still a shadowed table, its shadows describe what was there before, so
 * they go (and writes to it stop trapping), in the same mmu_lock section
 * as the copy and the check that @to is still the VMM's page at @to->gfn
 * (struct umbra_host_page): one section where a COW fault took three.
 *
 * Context: inside umbra_vm.srcu, may sleep.
 * Return: 0; -EFAULT if @gfn is not RAM the host can read; -EAGAIN if a
 * host invalidation hit @to (the copy does not count, the shadows of
 * @to->gfn are left alone).
 */
int umbra_mmu_copy_from_gfn(struct umbra_vm *vm, u64 gfn,
			    struct umbra_host_page *to, bool *flush,
			    struct list_head *zapped)
{
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	struct umbra_host_page from = {};
	unsigned long *head, iter;
	struct page *src = NULL;
	u64 *sptep;
	int r = 0;

	spin_lock(&mmu->lock);
	head = umbra_gfn_rmap(vm, gfn);
	sptep = head ? umbra_rmap_first(head, &iter) : NULL;
	if (sptep && !WARN_ON_ONCE(!pfn_valid(spte_pfn(*sptep))))
		src = pfn_to_page(spte_pfn(*sptep));
	if (!src) {
		spin_unlock(&mmu->lock);
		if (!umbra_mmu_get_host_page(vm, gfn, false, &from))
			return -EFAULT;
		src = from.page;
		spin_lock(&mmu->lock);
	}
	copy_to_host_page(to, src);
	if (mmu_invalidated(mmu, to->seq))
		r = -EAGAIN;
	else
		*flush |= umbra_gfn_unshadow(vm, to->gfn, zapped);
	spin_unlock(&mmu->lock);
	umbra_mmu_put_host_page(&from, false);
	return r;
}

/**
 * umbra_mmu_set_page_dirty - the host stored into @page, or a writable
 * spte lets the guest do so
 * @page: a page of guest RAM the caller holds a reference to
 *
 * The page cache must know (file-backed or swapped-in RAM), but a page
 * already dirty has nothing left to tell: every ->dirty_folio() returns
 * at once for one, so set_page_dirty_lock() would take and drop the page
 * lock for nothing, on every fault.  The test is not a race with
 * writeback: a writeback that cleans the page after it writes out what
 * the host stored, and write-protects the page's mappings first, which
 * the MMU notifier passes on to every spte (mmu/notifier.c), so the
 * guest's next store faults and comes back here.
 *
 * Context: may sleep.
 */
void umbra_mmu_set_page_dirty(struct page *page)
{
	if (!PageDirty(page))
		set_page_dirty_lock(page);
}

/* Drops @hp's reference; @dirtied: the host stored into the page. */
void umbra_mmu_put_host_page(struct umbra_host_page *hp, bool dirtied)
{
	if (!hp->page)
		return;
	if (dirtied)
		umbra_mmu_set_page_dirty(hp->page);
	put_page(hp->page);
	hp->page = NULL;
}

/**
 * umbra_mmu_vm_init - the shadow MMU of a new VM
 * @vm: the VM, created by the current process
 *
 * Return: 0 or -errno (no memory, or the notifier could not register).
 */
int umbra_mmu_vm_init(struct umbra_vm *vm)
{
	struct umbra_mmu_vm *mmu;
	int r;

	mmu = kzalloc(sizeof(*mmu), GFP_KERNEL_ACCOUNT);
	if (!mmu)
		return -ENOMEM;
	spin_lock_init(&mmu->lock);
	spin_lock_init(&mmu->spare_lock);
	INIT_LIST_HEAD(&mmu->spare);
	hash_init(mmu->hash);
	INIT_LIST_HEAD(&mmu->active);
	INIT_LIST_HEAD(&mmu->unsync);
	mmu->max_sps = max(READ_ONCE(max_shadow_pages), 64UL);
	mmu->ad_max = UMBRA_AD_MAX;
	mmu->vm = vm;
	vm->mmu = mmu;

	r = umbra_mmu_notifier_init(vm);
	if (r) {
		vm->mmu = NULL;
		kfree(mmu);
	}
	return r;
}

/**
 * umbra_mmu_vm_destroy - tear the shadow MMU down
 * @vm: the VM, its vCPUs already freed
 */
void umbra_mmu_vm_destroy(struct umbra_vm *vm)
{
	struct umbra_mmu_vm *mmu = vm->mmu;
	struct umbra_sp *sp;
	LIST_HEAD(zapped);

	if (!mmu)
		return;
	umbra_mmu_notifier_exit(vm);
	spin_lock(&mmu->lock);
	umbra_sp_zap_all(vm, &zapped);
	spin_unlock(&mmu->lock);
	/* No vCPU is left to run on these: nothing to flush. */
	umbra_sp_free_list(vm, &zapped);
	WARN_ON_ONCE(mmu->nr_sps || mmu->nr_ad_live);
	while ((sp = spare_get(mmu)))
		sp_free_now(sp);
	umbra_mmu_ad_free(mmu);
	kfree(mmu);
	vm->mmu = NULL;
}

int umbra_mmu_vcpu_init(struct umbra_vcpu *vcpu)
{
	vcpu->mmu = kzalloc(sizeof(*vcpu->mmu), GFP_KERNEL_ACCOUNT);
	if (!vcpu->mmu)
		return -ENOMEM;
	vcpu->mmu->prefetch = kzalloc(sizeof(*vcpu->mmu->prefetch),
				      GFP_KERNEL_ACCOUNT);
	return vcpu->mmu->prefetch ? 0 : -ENOMEM;
}

void umbra_mmu_vcpu_destroy(struct umbra_vcpu *vcpu)
{
	struct umbra_mmu_vcpu *m = vcpu->mmu;
	struct umbra_vm *vm = vcpu->vm;
	LIST_HEAD(zapped);
	unsigned int i;

	if (!m)
		return;
	if (vm->mmu) {
		spin_lock(&vm->mmu->lock);
		if (m->root)
			umbra_sp_put_root(vm, m->root, &zapped);
		for (i = 0; i < UMBRA_PREV_ROOTS; i++)
			if (m->prev_roots[i])
				umbra_sp_put_root(vm, m->prev_roots[i], &zapped);
		for (i = 0; i < UMBRA_PAE_ROOTS; i++)
			if (m->pae_sp[i])
				umbra_sp_put_root(vm, m->pae_sp[i], &zapped);
		spin_unlock(&vm->mmu->lock);
		umbra_sp_free_list(vm, &zapped);
	}
	while (m->nr_cache)
		free_page((unsigned long)m->cache[--m->nr_cache]);
	while (m->nr_sp_cache)
		sp_free_now(m->sp_cache[--m->nr_sp_cache]);
	while (m->nr_desc_cache)
		kfree(m->desc_cache[--m->nr_desc_cache]);
	kfree(m->prefetch);
	free_page((unsigned long)m->pae_root);
	kfree(m);
	vcpu->mmu = NULL;
}
