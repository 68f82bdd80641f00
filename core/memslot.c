// SPDX-License-Identifier: GPL-2.0
/*
 * memslot.c - guest physical memory layout (KVM_SET_USER_MEMORY_REGION(2))
 *
 * What it owns:
 *   umbra_vm.memslots, an immutable sorted array of slots published with
 *   RCU and read under umbra_vm.srcu.
 *
 * Parts:
 *   umbra_memslot_check()	validates a request against the current set
 *				and classifies it (create, delete, move,
 *				flags, nothing), with KVM's errnos in KVM's
 *				order of checks, so that a VMM sees the same
 *				answer from /dev/umbra as from /dev/kvm.
 *   umbra_memslots_apply()	builds the new set from the old one.
 *   umbra_vm_set_memory_region() the ioctl: check, apply, publish, free.
 *
 * Deleting or moving a slot must not leave sptes mapping its frames, and
 * the sptes' reverse maps are found through the slot.  So the slot is
 * first published marked invalid (faults on it retry), every SRCU reader
 * of the older set is waited for, the shadow is zapped while the slot can
 * still be found, and only then is the final set published.
 *
 * The first two are pure functions of their arguments; kunit/memslot_test.c
 * drives them directly.
 *
 * Locking: umbra_vm.lock is held across check-apply-publish so that two
 * updates cannot both pass the overlap check against the same old set.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include <umbra/mmu.h>
#include "core.h"

/* KVM's limit on one slot's size; the gfn arithmetic below relies on it. */
#define UMBRA_MEM_MAX_NR_PAGES	((1UL << 31) - 1)

/* Flags umbra implements.  LOG_DIRTY_PAGES arrives with dirtylog/. */
#define UMBRA_MEM_VALID_FLAGS	KVM_MEM_READONLY

static const struct umbra_memslot *
find_by_id(const struct umbra_memslots *set, u16 id)
{
	unsigned int i;

	for (i = 0; i < set->nr; i++)
		if (set->slots[i].id == id)
			return &set->slots[i];
	return NULL;
}

/* Does [start, end) intersect any slot other than @id? */
static bool overlaps(const struct umbra_memslots *set, u16 id, u64 start,
		     u64 end)
{
	unsigned int i;

	for (i = 0; i < set->nr; i++) {
		const struct umbra_memslot *s = &set->slots[i];

		if (s->id != id && start < s->base_gfn + s->npages &&
		    s->base_gfn < end)
			return true;
	}
	return false;
}

/**
 * umbra_memslot_check - validate and classify a memslot request
 * @cur: the current, published set
 * @mem: the request, already copied from userspace
 * @chg: filled with the change to make when 0 is returned
 *
 * The checks and their order follow KVM 6.12's __kvm_set_memory_region(),
 * narrowed to what umbra implements: one address space, no guest_memfd, no
 * dirty logging yet.
 *
 * Context: any; the caller holds umbra_vm.lock if @cur is published.
 * Return: 0, -EINVAL for a malformed request, -EEXIST for an overlap.
 */
int umbra_memslot_check(const struct umbra_memslots *cur,
			const struct kvm_userspace_memory_region2 *mem,
			struct umbra_memslot_change *chg)
{
	const struct umbra_memslot *old;
	u16 as_id = mem->slot >> 16, id = (u16)mem->slot;
	u64 npages = mem->memory_size >> PAGE_SHIFT;
	u64 base_gfn = mem->guest_phys_addr >> PAGE_SHIFT;

	if (id >= UMBRA_MAX_MEMSLOTS)
		return -EINVAL;
	if (mem->flags & ~UMBRA_MEM_VALID_FLAGS)
		return -EINVAL;
	if (mem->memory_size & (PAGE_SIZE - 1))
		return -EINVAL;
	if (mem->guest_phys_addr & (PAGE_SIZE - 1))
		return -EINVAL;
	/* Guest memory is read with __get_user() and friends later on. */
	if ((mem->userspace_addr & (PAGE_SIZE - 1)) ||
	    mem->userspace_addr != untagged_addr(mem->userspace_addr) ||
	    !access_ok((void __user *)(unsigned long)mem->userspace_addr,
		       mem->memory_size))
		return -EINVAL;
	if (as_id != 0)
		return -EINVAL;
	if (mem->guest_phys_addr + mem->memory_size < mem->guest_phys_addr)
		return -EINVAL;
	if (npages > UMBRA_MEM_MAX_NR_PAGES)
		return -EINVAL;

	old = find_by_id(cur, id);

	if (!mem->memory_size) {
		if (!old)
			return -EINVAL;
		chg->kind = UMBRA_MR_DELETE;
		chg->slot = *old;
		return 0;
	}
	chg->slot.rmap = old ? old->rmap : NULL;

	if (!old) {
		chg->kind = UMBRA_MR_CREATE;
	} else {
		if (mem->userspace_addr != old->userspace_addr ||
		    npages != old->npages ||
		    ((mem->flags ^ old->flags) & KVM_MEM_READONLY))
			return -EINVAL;

		if (base_gfn != old->base_gfn)
			chg->kind = UMBRA_MR_MOVE;
		else if (mem->flags != old->flags)
			chg->kind = UMBRA_MR_FLAGS_ONLY;
		else
			chg->kind = UMBRA_MR_NONE;
	}

	if ((chg->kind == UMBRA_MR_CREATE || chg->kind == UMBRA_MR_MOVE) &&
	    overlaps(cur, id, base_gfn, base_gfn + npages))
		return -EEXIST;

	chg->slot = (struct umbra_memslot) {
		.base_gfn = base_gfn,
		.npages = npages,
		.userspace_addr = mem->userspace_addr,
		.flags = mem->flags,
		.id = id,
		.rmap = chg->slot.rmap,
	};
	return 0;
}

static struct umbra_memslots *alloc_set(unsigned int nr)
{
	struct umbra_memslots *set;

	set = kvzalloc(struct_size(set, slots, nr), GFP_KERNEL_ACCOUNT);
	if (set)
		set->nr = nr;
	return set;
}

/**
 * umbra_memslots_alloc_empty - the memslot set of a new VM
 *
 * Return: an empty set, or NULL on allocation failure.
 */
struct umbra_memslots *umbra_memslots_alloc_empty(void)
{
	return alloc_set(0);
}

static int cmp_base_gfn(const void *a, const void *b)
{
	const struct umbra_memslot *x = a, *y = b;

	if (x->base_gfn != y->base_gfn)
		return x->base_gfn < y->base_gfn ? -1 : 1;
	return 0;
}

/**
 * umbra_memslots_apply - build the set that results from a checked change
 * @cur: the current set, not modified
 * @chg: a change returned by umbra_memslot_check() against @cur, other than
 *	 UMBRA_MR_NONE
 *
 * Return: the new set, sorted by base_gfn, or NULL on allocation failure.
 */
struct umbra_memslots *umbra_memslots_apply(const struct umbra_memslots *cur,
					    const struct umbra_memslot_change *chg)
{
	unsigned int nr = cur->nr, i, j = 0;
	struct umbra_memslots *set;

	if (chg->kind == UMBRA_MR_CREATE)
		nr++;
	else if (chg->kind == UMBRA_MR_DELETE)
		nr--;

	set = alloc_set(nr);
	if (!set)
		return NULL;

	for (i = 0; i < cur->nr; i++)
		if (cur->slots[i].id != chg->slot.id)
			set->slots[j++] = cur->slots[i];
	if (chg->kind != UMBRA_MR_DELETE)
		set->slots[j++] = chg->slot;

	sort(set->slots, set->nr, sizeof(set->slots[0]), cmp_base_gfn, NULL);
	return set;
}

/* Publish @new, wait for readers of the old set, free it. */
static void publish(struct umbra_vm *vm, struct umbra_memslots *new)
{
	struct umbra_memslots *old;

	old = rcu_replace_pointer(vm->memslots, new, lockdep_is_held(&vm->lock));
	/* No reader may still be walking the old set when it is freed. */
	synchronize_srcu(&vm->srcu);
	kvfree(old);
}

/*
 * Step one of a delete or move: the slot stays, marked invalid, while the
 * shadow forgets it.
 */
static int invalidate_slot(struct umbra_vm *vm, u16 id)
{
	struct umbra_memslots *cur, *inter;
	unsigned int i;

	cur = rcu_dereference_protected(vm->memslots, lockdep_is_held(&vm->lock));
	inter = kvmemdup(cur, struct_size(cur, slots, cur->nr), GFP_KERNEL_ACCOUNT);
	if (!inter)
		return -ENOMEM;
	for (i = 0; i < inter->nr; i++)
		if (inter->slots[i].id == id)
			inter->slots[i].flags |= UMBRA_MEMSLOT_INVALID;
	publish(vm, inter);
	umbra_mmu_zap_all(vm);
	return 0;
}

/**
 * umbra_memslots_free - free a VM's last memslot set and its reverse maps
 * @set: the set, no longer reachable
 */
void umbra_memslots_free(struct umbra_memslots *set)
{
	unsigned int i;

	for (i = 0; i < set->nr; i++)
		kvfree(set->slots[i].rmap);
	kvfree(set);
}

/**
 * umbra_vm_set_memory_region - KVM_SET_USER_MEMORY_REGION(2) on a VM
 * @vm: the VM
 * @mem: the request, copied from userspace
 *
 * Context: process context, takes umbra_vm.lock and waits for an SRCU grace
 * period before freeing the old set.
 * Return: 0 or -errno as umbra_memslot_check(), -ENOMEM.
 */
int umbra_vm_set_memory_region(struct umbra_vm *vm,
			       const struct kvm_userspace_memory_region2 *mem)
{
	struct umbra_memslot_change chg;
	struct umbra_memslots *old, *new;
	int r;

	mutex_lock(&vm->lock);
	old = rcu_dereference_protected(vm->memslots, lockdep_is_held(&vm->lock));

	r = umbra_memslot_check(old, mem, &chg);
	if (r || chg.kind == UMBRA_MR_NONE)
		goto out;

	r = -ENOMEM;
	if (chg.kind == UMBRA_MR_CREATE) {
		chg.slot.rmap = kvcalloc(chg.slot.npages, sizeof(*chg.slot.rmap),
					 GFP_KERNEL_ACCOUNT);
		if (!chg.slot.rmap)
			goto out;
	}
	/*
	 * Build the final set first: it does not depend on the intermediate
	 * one (which differs only in the slot being replaced or removed), and
	 * nothing may fail once the slot is published invalid, or faults on it
	 * would retry forever.
	 */
	new = umbra_memslots_apply(old, &chg);
	if (!new) {
		if (chg.kind == UMBRA_MR_CREATE)
			kvfree(chg.slot.rmap);
		r = -ENOMEM;
		goto out;
	}
	if (chg.kind == UMBRA_MR_DELETE || chg.kind == UMBRA_MR_MOVE) {
		r = invalidate_slot(vm, chg.slot.id);
		if (r) {
			kvfree(new);
			goto out;
		}
	}
	publish(vm, new);
	mutex_unlock(&vm->lock);

	if (chg.kind == UMBRA_MR_CREATE)
		atomic64_inc(&umbra_counters.memslots);
	if (chg.kind == UMBRA_MR_DELETE) {
		kvfree(chg.slot.rmap);	/* zapped: no spte refers to it */
		atomic64_dec(&umbra_counters.memslots);
	}
	return 0;
out:
	mutex_unlock(&vm->lock);
	return r;
}
