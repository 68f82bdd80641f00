// SPDX-License-Identifier: GPL-2.0
/*
 * rmap.c - reverse maps: from a gfn to the sptes that map it
 *
 * What it owns:
 *   the rmap list structure, used twice: per gfn (every leaf spte mapping
 *   that frame, so the frame can be write-protected or unmapped) and per
 *   shadow page (every upper-level spte pointing to it, so it can be
 *   unlinked when zapped).
 *
 * A list head is one unsigned long:
 *   0               empty
 *   bit 0 clear     a single spte pointer
 *   bit 0 set       a pointer to a chain of struct rmap_desc
 * so the common case (one mapping) costs no allocation.
 *
 * Locking: every function here runs under mmu_lock.  Descriptors come
 * from the vCPU's cache (umbra_mmu_topup()), never from the allocator
 * under the lock.  They are RMAP_DESC_BYTES objects, aligned to their
 * size (the iterator keeps an index in the low bits): a frame the guest
 * maps both through its direct map and in a user mapping needs one, and
 * that is most frames a guest process touches.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include "mmu.h"

#define RMAP_DESC_N	14

struct rmap_desc {
	u64 *sptep[RMAP_DESC_N];
	struct rmap_desc *next;
	unsigned int n;
};
static_assert(sizeof(struct rmap_desc) <= RMAP_DESC_BYTES);
static_assert(RMAP_DESC_N < RMAP_DESC_BYTES);	/* the iterator's index bits */

static struct rmap_desc *desc_of(unsigned long head)
{
	return (struct rmap_desc *)(head & ~1UL);
}

/**
 * umbra_rmap_add - remember that @sptep maps (or points to) what @head is for
 * @vcpu: supplies a descriptor from its cache when one is needed
 * @head: the list
 * @sptep: the entry
 *
 * Return: 0, or -ENOMEM if the cache ran dry (a topup bug).
 */
int umbra_rmap_add(struct umbra_vcpu *vcpu, unsigned long *head, u64 *sptep)
{
	struct rmap_desc *d;

	if (!*head) {
		*head = (unsigned long)sptep;
		return 0;
	}
	if (!(*head & 1)) {
		d = umbra_mmu_cache_alloc_desc(vcpu);
		if (WARN_ON_ONCE(!d))
			return -ENOMEM;
		memset(d, 0, sizeof(*d));
		d->sptep[0] = (u64 *)*head;
		d->sptep[1] = sptep;
		d->n = 2;
		*head = (unsigned long)d | 1;
		return 0;
	}
	d = desc_of(*head);
	if (d->n == RMAP_DESC_N) {
		struct rmap_desc *nd = umbra_mmu_cache_alloc_desc(vcpu);

		if (WARN_ON_ONCE(!nd))
			return -ENOMEM;
		memset(nd, 0, sizeof(*nd));
		nd->next = d;
		*head = (unsigned long)nd | 1;
		d = nd;
	}
	d->sptep[d->n++] = sptep;
	return 0;
}

static void desc_free(struct rmap_desc *d)
{
	kfree(d);
}

/**
 * umbra_rmap_remove - forget @sptep
 * @head: the list it is on
 * @sptep: the entry; it must be there
 */
void umbra_rmap_remove(unsigned long *head, u64 *sptep)
{
	struct rmap_desc *d, *first;
	unsigned int i;

	if (!(*head & 1)) {
		/* Never drop someone else's entry: it would escape write protection. */
		if (!WARN_ON_ONCE(*head != (unsigned long)sptep))
			*head = 0;
		return;
	}
	first = desc_of(*head);
	for (d = first; d; d = d->next) {
		for (i = 0; i < d->n; i++) {
			if (d->sptep[i] != sptep)
				continue;
			/* Fill the hole with the first descriptor's last entry. */
			d->sptep[i] = first->sptep[--first->n];
			if (!first->n) {
				*head = first->next ? (unsigned long)first->next | 1 : 0;
				desc_free(first);
			}
			return;
		}
	}
	WARN_ONCE(1, "umbra: spte %p not on its rmap\n", sptep);
}

/**
 * umbra_rmap_first - start walking a list
 * @head: the list
 * @iter: iterator state
 *
 * The list must not change during the walk; to remove while walking,
 * call umbra_rmap_first() again after each removal.
 *
 * Return: the first entry, or NULL.
 */
u64 *umbra_rmap_first(unsigned long *head, unsigned long *iter)
{
	if (!*head)
		return NULL;
	if (!(*head & 1)) {
		*iter = 0;
		return (u64 *)*head;
	}
	*iter = *head & ~1UL;	/* descriptor; index in the low bits below */
	return desc_of(*head)->sptep[0];
}

/* Iterator: descriptor pointer | index (descriptors are RMAP_DESC_BYTES aligned). */
u64 *umbra_rmap_next(unsigned long *head, unsigned long *iter)
{
	struct rmap_desc *d = (struct rmap_desc *)(*iter & ~(RMAP_DESC_BYTES - 1UL));
	unsigned int i = (*iter & (RMAP_DESC_BYTES - 1)) + 1;

	if (!d)
		return NULL;
	if (i < d->n) {
		*iter = (unsigned long)d | i;
		return d->sptep[i];
	}
	d = d->next;
	*iter = (unsigned long)d;
	return d ? d->sptep[0] : NULL;
}

/**
 * umbra_gfn_rmap - the rmap head of a guest frame
 * @vm: the VM
 * @gfn: the frame
 *
 * Context: mmu_lock held, and umbra_vm.srcu (or umbra_vm.lock) so the
 * memslot cannot go away.
 * Return: the head, or NULL for a frame outside every memslot.
 */
unsigned long *umbra_gfn_rmap(struct umbra_vm *vm, u64 gfn)
{
	struct umbra_memslot *slot = umbra_mmu_gfn_to_slot(vm, gfn);

	return slot ? &slot->rmap[gfn - slot->base_gfn] : NULL;
}
