// SPDX-License-Identifier: GPL-2.0
/*
 * mmu_op.c - the batched mmu_op queue, host side
 *
 * What it owns:
 *   each vCPU's registered queue area (umbra_vcpu.pv_queue_gpa/_ops) and
 *   the processing of a flush: UMBRA_HC_MMU_FLUSH(n) walks the first n
 *   struct umbra_mmu_op of the area in order, validates each, applies it,
 *   writes its status, and stops at the first it refuses (pv.h says so).
 *
 * Applying: a PTE write goes into guest memory and umbra's shadow in one
 * step (umbra_mmu_write_gpte(): the shadow entries that mirrored the old
 * value are dropped), so the guest takes no write-protection trap and no
 * unsync round trip.  The TLB flushes the ops ask for, and the remote
 * flush the shadow changes need, are merged and done once at the end of
 * the batch, before the guest runs again (the TLB flush rule, mmu/flush.c).
 *
 * Everything in the area is guest-controlled: each op is copied in before
 * it is looked at, so the guest cannot change it between check and use.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/list.h>
#include <linux/stddef.h>
#include <linux/uaccess.h>
#include <umbra/mmu.h>
#include <umbra/pv.h>
#include <umbra/pvops.h>
#include "pvops.h"

static_assert(sizeof(struct umbra_mmu_op) == 32);

/* The queue area's first byte in the VMM's mapping, or NULL. */
static struct umbra_mmu_op __user *queue_hva(struct umbra_vcpu *vcpu)
{
	u64 gfn = vcpu->pv_queue_gpa >> PAGE_SHIFT;
	u64 npages = DIV_ROUND_UP(vcpu->pv_queue_ops, UMBRA_MMU_OPS_PER_PAGE);
	const struct umbra_memslot *slot = umbra_pv_ram_slot(vcpu->vm, gfn, npages);

	if (!slot)
		return NULL;
	return (struct umbra_mmu_op __user *)(slot->userspace_addr +
		((gfn - slot->base_gfn) << PAGE_SHIFT));
}

/**
 * umbra_pv_mmu_queue - UMBRA_HC_MMU_QUEUE: register (or drop) the queue
 * @vcpu: the vCPU
 * @gpa: the area's first byte, page aligned; 0 unregisters
 * @npages: its size, UMBRA_MMU_QUEUE_PAGES_MIN .. _MAX
 * @flags: UMBRA_MMU_QUEUE_DEFERRED_AD, or 0
 *
 * Return: 0, -UMBRA_PV_EINVAL, or -UMBRA_PV_EFAULT if the area is not
 * writable RAM in one memslot.
 */
long umbra_pv_mmu_queue(struct umbra_vcpu *vcpu, u64 gpa, u64 npages,
			u64 flags)
{
	int idx;
	bool ok;

	if (flags & ~(u64)UMBRA_MMU_QUEUE_DEFERRED_AD)
		return -UMBRA_PV_EINVAL;
	if (!gpa) {
		vcpu->pv_queue_gpa = 0;
		vcpu->pv_queue_ops = 0;
		return 0;
	}
	if ((gpa & ~PAGE_MASK) || npages < UMBRA_MMU_QUEUE_PAGES_MIN ||
	    npages > UMBRA_MMU_QUEUE_PAGES_MAX)
		return -UMBRA_PV_EINVAL;
	idx = srcu_read_lock(&vcpu->vm->srcu);
	ok = umbra_pv_ram_slot(vcpu->vm, gpa >> PAGE_SHIFT, npages);
	srcu_read_unlock(&vcpu->vm->srcu, idx);
	if (!ok)
		return -UMBRA_PV_EFAULT;
	if ((flags & UMBRA_MMU_QUEUE_DEFERRED_AD) && umbra_mmu_ad_enable(vcpu->vm))
		return -UMBRA_PV_EINVAL;	/* no memory for it: say no */
	vcpu->pv_queue_gpa = gpa;
	vcpu->pv_queue_ops = npages * UMBRA_MMU_OPS_PER_PAGE;
	return 0;
}

/* Validate and apply one op (CLEAR_PTE writes @op->val).  Return: its status. */
static u32 apply(struct umbra_vcpu *vcpu, struct umbra_mmu_op *op,
		 struct umbra_pv_effects *fx, bool *flush,
		 struct list_head *zapped)
{
	u32 flags_ok = op->op == UMBRA_MMU_OP_LOAD_CR3 ? UMBRA_MMU_CR3_NOFLUSH : 0;
	u64 old;
	int r;

	if ((op->flags & ~flags_ok) || op->reserved)
		return UMBRA_MMU_EFLAGS;

	switch (op->op) {
	case UMBRA_MMU_OP_WRITE_PTE:
	case UMBRA_MMU_OP_WRITE_PTE_KEEP_AD:
	case UMBRA_MMU_OP_CLEAR_PTE:
		if (op->addr & 7)
			return UMBRA_MMU_EALIGN;
		r = umbra_mmu_write_gpte(vcpu, op->addr,
					 op->op == UMBRA_MMU_OP_CLEAR_PTE ? 0 : op->val,
					 op->op == UMBRA_MMU_OP_WRITE_PTE_KEEP_AD,
					 &old, flush);
		if (r)
			return UMBRA_MMU_EBADGPA;
		if (op->op == UMBRA_MMU_OP_CLEAR_PTE)
			op->val = old;
		return UMBRA_MMU_OK;
	case UMBRA_MMU_OP_SYNC_AD:
		if (op->addr & ~PAGE_MASK)
			return UMBRA_MMU_EALIGN;
		return umbra_mmu_sync_ad(vcpu, op->addr) ? UMBRA_MMU_EBADGPA :
							   UMBRA_MMU_OK;
	case UMBRA_MMU_OP_INVLPG:
	case UMBRA_MMU_OP_FLUSH_TLB:
		fx->flush_tlb = true;
		return UMBRA_MMU_OK;
	case UMBRA_MMU_OP_LOAD_CR3:
		if (op->val & umbra_gpa_reserved(&vcpu->caps))
			return UMBRA_MMU_EVALUE;
		fx->load_cr3 = true;
		fx->cr3 = op->val;
		if (!(op->flags & UMBRA_MMU_CR3_NOFLUSH))
			fx->flush_tlb = true;
		return UMBRA_MMU_OK;
	case UMBRA_MMU_OP_RELEASE_PT:
		if (op->addr & ~PAGE_MASK)
			return UMBRA_MMU_EALIGN;
		/* This batch's own LOAD_CR3, if any, is the vCPU's CR3 now. */
		r = umbra_mmu_release_pt(vcpu, op->addr,
					 fx->load_cr3 ? fx->cr3 :
					 umbra_mmu_guest_cr3(vcpu), flush, zapped);
		if (r == -EBUSY)
			return UMBRA_MMU_ENOTPT;
		return r ? UMBRA_MMU_EBADGPA : UMBRA_MMU_OK;
	default:
		return UMBRA_MMU_EOP;
	}
}

/**
 * umbra_pv_mmu_flush - UMBRA_HC_MMU_FLUSH: process the first @n queued ops
 * @vcpu: the vCPU
 * @n: how many
 * @fx: CR3 load and TLB flush the backend must do afterwards
 *
 * Return: the number of ops processed (the refused one included), or
 * -UMBRA_PV_ENOQUEUE, -UMBRA_PV_E2BIG, -UMBRA_PV_EFAULT.
 */
long umbra_pv_mmu_flush(struct umbra_vcpu *vcpu, u64 n,
			struct umbra_pv_effects *fx)
{
	struct umbra_mmu_op __user *q;
	struct umbra_mmu_op op;
	bool flush = false;
	LIST_HEAD(zapped);
	long done = 0;
	int idx;

	if (!vcpu->pv_queue_ops)
		return -UMBRA_PV_ENOQUEUE;
	if (n > vcpu->pv_queue_ops)
		return -UMBRA_PV_E2BIG;
	vcpu->stats.hypercalls_mmu_flush++;

	/* A/D bits owed from before the batch go first: its ops may move them. */
	if (umbra_mmu_ad_owed(vcpu->vm))
		umbra_mmu_ad_sync(vcpu);
	idx = srcu_read_lock(&vcpu->vm->srcu);
	q = queue_hva(vcpu);
	if (!q) {
		done = -UMBRA_PV_EFAULT;
		goto out;
	}
	while (done < n) {
		if (copy_from_user(&op, &q[done], sizeof(op))) {
			done = done ?: -UMBRA_PV_EFAULT;
			break;
		}
		op.status = apply(vcpu, &op, fx, &flush, &zapped);
		if (put_user(op.status, &q[done].status) ||
		    (op.op == UMBRA_MMU_OP_CLEAR_PTE && !op.status &&
		     put_user(op.val, &q[done].val))) {
			done = done ?: -UMBRA_PV_EFAULT;
			break;
		}
		done++;
		vcpu->stats.mmu_ops++;
		if (op.status != UMBRA_MMU_OK)
			break;
	}
	umbra_mmu_flush_and_free(vcpu->vm, flush, &zapped);
	/*
	 * And those the batch ran up, before the guest may reuse a table it
	 * released in it.  After the flush: no CPU can dirty a dropped spte.
	 */
	if (umbra_mmu_ad_owed(vcpu->vm))
		umbra_mmu_ad_sync(vcpu);
out:
	srcu_read_unlock(&vcpu->vm->srcu, idx);
	return done;
}
