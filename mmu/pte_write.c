// SPDX-License-Identifier: GPL-2.0
/*
 * pte_write.c - guest page-table changes that did not come as faults
 *
 * What it owns:
 *   umbra_mmu_emulate_write(): a store the guest made to a write-protected
 *   (shadowed) page table, decoded by the backend and applied here: the
 *   value goes into guest memory and every shadow entry that mirrored the
 *   old value is dropped, so the next access through it faults and is
 *   shadowed afresh from the new value.  Dropping an upper-level entry
 *   unlinks the subtree below it, which stays cached (shadow.c).
 *
 *   umbra_mmu_invlpg(): INVLPG is a guest TLB flush: unsync tables are
 *   brought up to date (sync.c) and the hardware's TLB is flushed.
 *
 * The same write path will serve the PV mmu_op queue: applying an op is
 * this, without the trap and the decode.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/uaccess.h>
#include "mmu.h"

/**
 * umbra_mmu_emulate_write - apply a guest store to guest memory and shadow
 * @vcpu: the vCPU that made it
 * @gpa: where (RAM)
 * @val: the bytes
 * @len: how many (1..8, or up to a page for string I/O); must not cross a
 *	 page
 *
 * Return: 0, or -EFAULT if @gpa is not RAM or the VMM's mapping refuses.
 */
int umbra_mmu_emulate_write(struct umbra_vcpu *vcpu, u64 gpa, const void *val,
			    unsigned int len)
{
	struct umbra_vm *vm = vcpu->vm;
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	u64 gfn = gpa >> PAGE_SHIFT, off = gpa & ~PAGE_MASK;
	struct umbra_memslot *slot;
	struct hlist_node *tmp;
	struct umbra_sp *sp;
	bool flush = false;
	LIST_HEAD(zapped);
	unsigned int i;
	int idx, r = 0;

	if (WARN_ON_ONCE(!len || off + len > PAGE_SIZE))
		return -EFAULT;
	idx = srcu_read_lock(&vm->srcu);
	slot = umbra_mmu_gfn_to_slot(vm, gfn);
	if (!slot || (slot->flags & KVM_MEM_READONLY) ||
	    copy_to_user((void __user *)(umbra_mmu_gfn_to_hva(slot, gfn) + off), val, len)) {
		r = -EFAULT;
		goto out;
	}

	spin_lock(&mmu->lock);
	hash_for_each_possible_safe(mmu->hash, sp, tmp, hash_link, gfn) {
		if (sp->gfn != gfn || sp->role.direct)
			continue;
		for (i = off / 8; i <= (off + len - 1) / 8; i++) {
			if (spte_present(sp->spt[i])) {
				umbra_spte_drop(vm, &sp->spt[i]);
				flush = true;
			}
		}
	}
	spin_unlock(&mmu->lock);
	umbra_mmu_flush_and_free(vm, flush, &zapped);
out:
	srcu_read_unlock(&vm->srcu, idx);
	return r;
}

/**
 * umbra_mmu_unprotect - stop shadowing a guest frame, so writes go through
 * @vcpu: the vCPU whose write hit it
 * @gpa: an address in the frame
 *
 * For stores that are not page-table updates (a page table freed and
 * reused as data, zeroed with REP STOS): drop every shadow of the frame, so
 * it is no longer write-protected, and let the guest run the store again.
 * If the frame is still a page table, the next walk through it shadows it
 * afresh from what the guest wrote.
 */
void umbra_mmu_unprotect(struct umbra_vcpu *vcpu, u64 gpa)
{
	struct umbra_vm *vm = vcpu->vm;
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	LIST_HEAD(zapped);
	bool flush;

	spin_lock(&mmu->lock);
	flush = umbra_sp_zap_gfn(vm, gpa >> PAGE_SHIFT, &zapped);
	spin_unlock(&mmu->lock);
	umbra_mmu_flush_and_free(vm, flush, &zapped);
}

/**
 * umbra_mmu_invlpg - the guest invalidated one translation
 * @vcpu: the vCPU
 * @gva: the address
 */
void umbra_mmu_invlpg(struct umbra_vcpu *vcpu, u64 gva)
{
	umbra_mmu_guest_flush(vcpu);
}

/**
 * umbra_mmu_zap_all - drop every shadow page of the VM
 * @vm: the VM
 *
 * Used when a memslot is deleted or moved: the sptes of its frames must go
 * before the frames mean something else.
 */
void umbra_mmu_zap_all(struct umbra_vm *vm)
{
	struct umbra_mmu_vm *mmu = vm_mmu(vm);
	LIST_HEAD(zapped);

	spin_lock(&mmu->lock);
	umbra_sp_zap_all(vm, &zapped);
	spin_unlock(&mmu->lock);
	umbra_mmu_flush_and_free(vm, true, &zapped);
}

/**
 * umbra_mmu_stats - VM-wide shadow page counts
 * @vm: the VM
 * @created: shadow pages created, ever
 * @zapped: shadow pages zapped, ever
 */
void umbra_mmu_stats(struct umbra_vm *vm, u64 *created, u64 *zapped)
{
	*created = READ_ONCE(vm_mmu(vm)->created);
	*zapped = READ_ONCE(vm_mmu(vm)->zapped);
}
