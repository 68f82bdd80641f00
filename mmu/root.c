// SPDX-License-Identifier: GPL-2.0
/*
 * root.c - the shadow root the hardware runs on
 *
 * What it owns:
 *   the guest paging state as the backend reports it, the choice of root
 *   for the guest's CR3, and a small cache of the roots of previous CR3
 *   values, so that a guest switching among a few address spaces finds
 *   their shadows ready (each cached root holds a root_count reference, so
 *   its whole tree stays cached too).
 *
 * Paging modes: 4-level long mode.  A guest with paging off, or in 32-bit
 * paging, is refused with -EOPNOTSUPP (the backend reports it as an
 * internal error naming the mode): not implemented yet.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include "mmu.h"

/**
 * umbra_mmu_set_paging - the guest's CR0, CR3, CR4 or EFER changed
 * @vcpu: the vCPU
 * @p: the new values
 *
 * The root is chosen lazily, on the next umbra_mmu_load().
 */
void umbra_mmu_set_paging(struct umbra_vcpu *vcpu, const struct umbra_paging *p)
{
	struct umbra_mmu_vcpu *m = vcpu->mmu;

	if (!memcmp(&m->paging, p, sizeof(*p)) && m->root)
		return;
	m->paging = *p;
	m->reload = true;
}

/**
 * umbra_mmu_guest_cr3 - the guest's CR3 as the MMU last heard it
 * @vcpu: the vCPU
 */
u64 umbra_mmu_guest_cr3(struct umbra_vcpu *vcpu)
{
	return vcpu->mmu->paging.cr3;
}

static union umbra_sp_role root_role(const struct umbra_paging *p)
{
	union umbra_sp_role role = {
		.level = UMBRA_ROOT_LEVEL,
		.access = ACC_ALL,
		.cr0_wp = !!(p->cr0 & X86_CR0_WP),
		.nxe = !!(p->efer & EFER_NX),
	};

	return role;
}

/* The guest table CR3 points to (the address bits the guest's width has). */
u64 umbra_mmu_cr3_gfn(const struct umbra_vcpu *vcpu, u64 cr3)
{
	return (cr3 & GENMASK_ULL(vcpu->caps.maxphyaddr - 1, PAGE_SHIFT)) >> PAGE_SHIFT;
}

/* Retire the current root into the previous-roots cache. */
static void stash_root(struct umbra_vcpu *vcpu, struct list_head *zapped)
{
	struct umbra_mmu_vcpu *m = vcpu->mmu;
	struct umbra_sp *old = m->root;
	int i;

	m->root = NULL;
	if (!old)
		return;
	if (old->invalid) {
		umbra_sp_put_root(vcpu->vm, old, zapped);
		return;
	}
	if (m->prev_roots[UMBRA_PREV_ROOTS - 1])
		umbra_sp_put_root(vcpu->vm, m->prev_roots[UMBRA_PREV_ROOTS - 1], zapped);
	for (i = UMBRA_PREV_ROOTS - 1; i > 0; i--)
		m->prev_roots[i] = m->prev_roots[i - 1];
	m->prev_roots[0] = old;
}

/* Take a matching root out of the previous-roots cache, if any. */
static struct umbra_sp *unstash_root(struct umbra_vcpu *vcpu, u64 gfn,
				     union umbra_sp_role role,
				     struct list_head *zapped)
{
	struct umbra_mmu_vcpu *m = vcpu->mmu;
	struct umbra_sp *sp;
	int i, j;

	for (i = 0; i < UMBRA_PREV_ROOTS; i++) {
		sp = m->prev_roots[i];
		if (!sp)
			continue;
		if (sp->invalid) {
			umbra_sp_put_root(vcpu->vm, sp, zapped);
			m->prev_roots[i] = NULL;
			continue;
		}
		if (sp->gfn != gfn || sp->role.word != role.word)
			continue;
		for (j = i; j < UMBRA_PREV_ROOTS - 1; j++)
			m->prev_roots[j] = m->prev_roots[j + 1];
		m->prev_roots[UMBRA_PREV_ROOTS - 1] = NULL;
		return sp;
	}
	return NULL;
}

/**
 * umbra_mmu_load - make sure a valid shadow root is loaded
 * @vcpu: the vCPU, about to enter the guest
 * @root_hpa: the root's host-physical address, for the hardware's CR3
 *
 * Context: process context, may sleep.
 * Return: 0, -EOPNOTSUPP for a paging mode umbra does not shadow yet,
 * -EFAULT when CR3 points outside guest RAM, -ENOMEM.
 */
int umbra_mmu_load(struct umbra_vcpu *vcpu, u64 *root_hpa)
{
	struct umbra_mmu_vcpu *m = vcpu->mmu;
	struct umbra_vm *vm = vcpu->vm;
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	const struct umbra_paging *p = &m->paging;
	union umbra_sp_role role;
	struct umbra_sp *sp;
	bool created, flush = false;
	LIST_HEAD(zapped);
	int idx, r = 0;
	u64 gfn;

	if (test_and_clear_bit(UMBRA_REQ_MMU_RELOAD, &vcpu->requests))
		m->reload = true;
	if (m->root && !m->reload && !READ_ONCE(m->root->invalid)) {
		*root_hpa = __pa(m->root->spt);
		return 0;
	}
	if (!(p->cr0 & X86_CR0_PG) || !(p->efer & EFER_LMA))
		return -EOPNOTSUPP;

	r = umbra_mmu_topup(vcpu);
	if (r)
		return r;

	role = root_role(p);
	gfn = umbra_mmu_cr3_gfn(vcpu, p->cr3);
	idx = srcu_read_lock(&vm->srcu);
	if (!umbra_mmu_gfn_to_slot(vm, gfn)) {
		r = -EFAULT;
		goto out;
	}

	spin_lock(&mmu->lock);
	stash_root(vcpu, &zapped);
	sp = unstash_root(vcpu, gfn, role, &zapped);
	if (!sp) {
		sp = umbra_sp_get(vcpu, gfn, role, &created);
		if (!sp) {
			spin_unlock(&mmu->lock);
			r = -ENOMEM;
			goto out_free;
		}
		if (created)
			flush = umbra_sp_new_shadow(vm, gfn);
		sp->root_count++;
	}
	m->root = sp;
	m->reload = false;
	umbra_sp_reclaim(vm, &zapped);
	spin_unlock(&mmu->lock);
	*root_hpa = __pa(sp->spt);
	/* The vCPU's TLB may hold the previous root's translations. */
	set_bit(UMBRA_REQ_TLB_FLUSH, &vcpu->requests);
out_free:
	umbra_mmu_flush_and_free(vm, flush, &zapped);
out:
	srcu_read_unlock(&vm->srcu, idx);
	return r;
}
