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
 * Paging modes:
 *   - 4-level long mode: the root shadows the guest's PML4.
 *   - Paging off (real mode, or protected mode before CR0.PG): linear
 *     addresses are guest-physical, every access allowed.  The guest's
 *     code is 16- or 32-bit, so the hardware cannot run long mode under
 *     it: it runs legacy PAE (the backend forces CR4.PAE and keeps EFER.LME
 *     off), whose 4 GiB are exactly what a 32-bit linear address reaches.
 *     The root is then a page of four PDPTEs (pae_root, below 4 GiB:
 *     legacy CR3 has 32 bits), each pointing at a direct level-2 shadow
 *     page for one GiB of guest-physical memory.  PDPTEs allow only P and
 *     the address (the rest is reserved in PAE), so they are built here
 *     rather than by umbra_sp_link(); the four tables are held as roots
 *     (root_count), so a zap marks them invalid and the next load
 *     replaces them, as for a 4-level root.  Below them everything is
 *     the ordinary direct shadow of a guest large page (fault.c).
 *   - 32-bit paging and PAE paging outside long mode are refused with
 *     -EOPNOTSUPP (the backend reports an internal error naming the
 *     mode): not implemented.
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

/* The role of the four PAE tables that map guest-physical memory. */
static union umbra_sp_role unpaged_role(const struct umbra_paging *p)
{
	union umbra_sp_role role = {
		.level = 2,
		.access = ACC_ALL,
		.direct = 1,
		.cr0_wp = 1,	/* all access allowed: WP changes nothing */
		.nxe = !!(p->efer & EFER_NX),
	};

	return role;
}

/* Let go of the PAE tables (leaving unpaged mode, or replacing them). */
static void put_pae_roots(struct umbra_vcpu *vcpu, struct list_head *zapped)
{
	struct umbra_mmu_vcpu *m = vcpu->mmu;
	int i;

	for (i = 0; i < UMBRA_PAE_ROOTS; i++) {
		if (m->pae_sp[i])
			umbra_sp_put_root(vcpu->vm, m->pae_sp[i], zapped);
		m->pae_sp[i] = NULL;
		if (m->pae_root)
			m->pae_root[i] = 0;
	}
}

/* Are the PAE tables in place, valid and of the role @p asks for? */
static bool pae_roots_ok(const struct umbra_mmu_vcpu *m)
{
	union umbra_sp_role role = unpaged_role(&m->paging);
	int i;

	for (i = 0; i < UMBRA_PAE_ROOTS; i++)
		if (!m->pae_sp[i] || READ_ONCE(m->pae_sp[i]->invalid) ||
		    m->pae_sp[i]->role.word != role.word)
			return false;
	return true;
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

/*
 * Paging off: the PAE root over guest-physical memory (see the top of the
 * file).  Return: 0, -ENOMEM.
 */
static int load_unpaged(struct umbra_vcpu *vcpu, u64 *root_hpa)
{
	struct umbra_mmu_vcpu *m = vcpu->mmu;
	struct umbra_vm *vm = vcpu->vm;
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	union umbra_sp_role role = unpaged_role(&m->paging);
	bool created;
	LIST_HEAD(zapped);
	int i, r;

	if (!m->reload && pae_roots_ok(m)) {
		*root_hpa = __pa(m->pae_root);
		return 0;
	}
	if (!m->pae_root) {
		/* Legacy PAE takes CR3 bits 31:5 only. */
		m->pae_root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT | GFP_DMA32);
		if (!m->pae_root)
			return -ENOMEM;
	}
	r = umbra_mmu_topup(vcpu);
	if (r)
		return r;

	spin_lock(&mmu->lock);
	stash_root(vcpu, &zapped);
	if (!pae_roots_ok(m))
		put_pae_roots(vcpu, &zapped);
	for (i = 0; i < UMBRA_PAE_ROOTS; i++) {
		struct umbra_sp *sp = m->pae_sp[i];

		if (!sp) {
			sp = umbra_sp_get(vcpu, (u64)i << (2 * 9), role, &created);
			if (!sp) {
				r = -ENOMEM;
				break;
			}
			sp->root_count++;
			m->pae_sp[i] = sp;
		}
		m->pae_root[i] = __pa(sp->spt) | _PAGE_PRESENT;
	}
	if (!r) {
		m->reload = false;
		umbra_sp_reclaim(vm, &zapped);
	}
	spin_unlock(&mmu->lock);
	umbra_mmu_flush_and_free(vm, false, &zapped);
	if (r)
		return r;
	*root_hpa = __pa(m->pae_root);
	/* The vCPU's TLB may hold the previous root's translations. */
	set_bit(UMBRA_REQ_TLB_FLUSH, &vcpu->requests);
	return 0;
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

	if (umbra_vcpu_take_request(vcpu, UMBRA_REQ_MMU_RELOAD))
		m->reload = true;
	if (mmu_unpaged(m))
		return load_unpaged(vcpu, root_hpa);
	if (m->root && !m->reload && !READ_ONCE(m->root->invalid)) {
		*root_hpa = __pa(m->root->spt);
		return 0;
	}
	if (!(p->efer & EFER_LMA))
		return -EOPNOTSUPP;	/* 32-bit or PAE paging outside long mode */

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
	put_pae_roots(vcpu, &zapped);
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
