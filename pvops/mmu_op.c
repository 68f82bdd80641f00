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
 * step (umbra_mmu_write_gptes(): the shadow entries that mirrored the old
 * value are dropped), so the guest takes no write-protection trap and no
 * unsync round trip.  The TLB flushes the ops ask for, and the remote
 * flush the shadow changes need, are merged and done once at the end of
 * the batch, before the guest runs again (the TLB flush rule, mmu/flush.c).
 *
 * Runs: the PTE writes to one table that follow each other in the queue
 * (fork's write-protect, munmap, mmap populating a table) are applied
 * together, umbra_mmu_write_gptes() paying for the table lookup and
 * mmu_lock once per run rather than once per op; to the guest it is as if
 * they went one by one.  A PROTECT is an mprotect sweep sent as one op,
 * applied the same way (umbra_mmu_protect_gptes()).
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

/*
 * Ops copied in, and answered, per round of a flush: as many as a run of
 * PTE writes to one table may be (apply_pte_writes()).
 */
#define OPS_PER_ROUND	UMBRA_GPTE_RUN_MAX

static bool is_pte_write(const struct umbra_mmu_op *op)
{
	return op->op == UMBRA_MMU_OP_WRITE_PTE ||
	       op->op == UMBRA_MMU_OP_WRITE_PTE_KEEP_AD ||
	       op->op == UMBRA_MMU_OP_CLEAR_PTE;
}

/* A PTE write's checks before it is applied.  Return: its status so far. */
static u32 check_pte_write(const struct umbra_mmu_op *op)
{
	if (op->flags || op->count)
		return UMBRA_MMU_EFLAGS;
	return op->addr & 7 ? UMBRA_MMU_EALIGN : UMBRA_MMU_OK;
}

/*
 * Apply @ops[0], a PTE write that passed its checks, and the ones after
 * it that are too and write the same table, as one run
 * (umbra_mmu_write_gptes()).  Return: how many were applied, each with
 * its status set (and a CLEAR_PTE's @val): all OK but perhaps the last.
 */
static unsigned int apply_pte_writes(struct umbra_vcpu *vcpu,
				     struct umbra_mmu_op *ops, unsigned int n,
				     bool *flush)
{
	struct umbra_gpte_write w[OPS_PER_ROUND];
	unsigned int i, k;
	int r;

	for (k = 0; k < n && is_pte_write(&ops[k]) && !check_pte_write(&ops[k]) &&
		    !((ops[k].addr ^ ops[0].addr) & PAGE_MASK); k++) {
		w[k].gpa = ops[k].addr;
		w[k].val = ops[k].op == UMBRA_MMU_OP_CLEAR_PTE ? 0 : ops[k].val;
		w[k].keep_ad = ops[k].op == UMBRA_MMU_OP_WRITE_PTE_KEEP_AD;
	}
	r = umbra_mmu_write_gptes(vcpu, w, k, flush);
	if (r < 0) {
		ops[0].status = UMBRA_MMU_EBADGPA;
		return 1;
	}
	for (i = 0; i < r; i++) {
		ops[i].status = UMBRA_MMU_OK;
		if (ops[i].op == UMBRA_MMU_OP_CLEAR_PTE)
			ops[i].val = w[i].old;
	}
	return r;
}

/* Validate and apply one op that is not a PTE write.  Return: its status. */
static u32 apply_other(struct umbra_vcpu *vcpu, struct umbra_mmu_op *op,
		       struct umbra_pv_effects *fx, bool *flush,
		       struct list_head *zapped)
{
	u32 flags_ok = op->op == UMBRA_MMU_OP_LOAD_CR3 ? UMBRA_MMU_CR3_NOFLUSH : 0;
	int r;

	if ((op->flags & ~flags_ok) || (op->count && op->op != UMBRA_MMU_OP_PROTECT))
		return UMBRA_MMU_EFLAGS;

	switch (op->op) {
	case UMBRA_MMU_OP_PROTECT:
		if (op->addr & 7)
			return UMBRA_MMU_EALIGN;
		if (op->val & ~UMBRA_MMU_PROT_RIGHTS)
			return UMBRA_MMU_EVALUE;
		if (!op->count ||
		    op->count > PAGE_SIZE / 8 - (op->addr & ~PAGE_MASK) / 8)
			return UMBRA_MMU_ECOUNT;
		return umbra_mmu_protect_gptes(vcpu, op->addr, op->count,
					       op->val, flush) ?
		       UMBRA_MMU_EBADGPA : UMBRA_MMU_OK;
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

/*
 * Validate and apply @ops[0] and, if it starts a run of PTE writes to one
 * table, the rest of the run.  Return: how many ops were applied, 1..@n.
 */
static unsigned int apply(struct umbra_vcpu *vcpu, struct umbra_mmu_op *ops,
			  unsigned int n, struct umbra_pv_effects *fx,
			  bool *flush, struct list_head *zapped)
{
	if (is_pte_write(&ops[0])) {
		ops[0].status = check_pte_write(&ops[0]);
		return ops[0].status ? 1 : apply_pte_writes(vcpu, ops, n, flush);
	}
	ops[0].status = apply_other(vcpu, &ops[0], fx, flush, zapped);
	return 1;
}

/*
 * Copy @n ops in from the queue at @q: the fields the host reads (status
 * is its to write), in one user-access window.  A few loads per op rather
 * than copy_from_user()'s string move, which QEMU's emulated CPUs run a
 * byte at a time: mprotect batches were 15-20% faster so.
 * Return: how many whole ops were copied.
 */
static unsigned int fetch(struct umbra_mmu_op *ops,
			  const struct umbra_mmu_op __user *q, unsigned int n)
{
	unsigned int i;

	if (!user_access_begin(q, n * sizeof(*q)))
		return 0;
	for (i = 0; i < n; i++) {
		unsafe_get_user(ops[i].op, &q[i].op, efault);
		unsafe_get_user(ops[i].addr, &q[i].addr, efault);
		unsafe_get_user(ops[i].val, &q[i].val, efault);
		unsafe_get_user(ops[i].flags, &q[i].flags, efault);
		unsafe_get_user(ops[i].count, &q[i].count, efault);
	}
efault:
	user_access_end();
	return i;
}

/*
 * Write the status of @n applied ops back to the queue at @q (and a
 * CLEAR_PTE's old entry).  Return: how many were answered.
 */
static unsigned int answer(struct umbra_mmu_op __user *q,
			   const struct umbra_mmu_op *ops, unsigned int n)
{
	unsigned int i;

	if (!user_access_begin(q, n * sizeof(*q)))
		return 0;
	for (i = 0; i < n; i++) {
		unsafe_put_user(ops[i].status, &q[i].status, efault);
		if (ops[i].op == UMBRA_MMU_OP_CLEAR_PTE &&
		    ops[i].status == UMBRA_MMU_OK)
			unsafe_put_user(ops[i].val, &q[i].val, efault);
	}
efault:
	user_access_end();
	return i;
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
	struct umbra_mmu_op ops[OPS_PER_ROUND];
	struct umbra_mmu_op __user *q;
	bool flush = false, stop = false;
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
	/*
	 * Round by round: copy ops in, apply them, answer them.  Only whole
	 * ops that were copied are applied, and a count returned covers only
	 * answered ones; if the first cannot be copied or answered, the
	 * batch fails with EFAULT.
	 */
	while (done < n && !stop) {
		unsigned int want = min_t(u64, n - done, OPS_PER_ROUND);
		unsigned int got, i, answered;

		got = fetch(ops, &q[done], want);
		if (!got) {
			done = done ?: -UMBRA_PV_EFAULT;
			break;
		}
		for (i = 0; i < got && !stop; ) {
			i += apply(vcpu, &ops[i], got - i, fx, &flush, &zapped);
			stop = ops[i - 1].status != UMBRA_MMU_OK;
		}
		answered = answer(&q[done], ops, i);
		vcpu->stats.mmu_ops += i;
		if (answered < i) {
			done = done + answered ?: -UMBRA_PV_EFAULT;
			break;
		}
		done += i;
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
