// SPDX-License-Identifier: GPL-2.0
/*
 * walk.c - the guest's own page tables, walked as the CPU walks them
 *
 * What it owns:
 *   umbra_mmu_walk(): a 4-level long-mode walk with x86's checks (P, R/W, U/S,
 *   NX under EFER.NXE, CR0.WP, SMEP, reserved bits) that sets the
 *   accessed and dirty bits in the guest's entries as the CPU would, and
 *   computes the #PF error code when the guest's tables say no; and
 *   translation helpers built on it for instruction fetch and string I/O.
 *
 * A/D bits are set with a compare-and-exchange on the guest's memory:
 * another vCPU (or the guest's own software on it) may be changing the
 * same entry, and a plain store could undo its change.  A failed compare
 * means the entry changed under us: the walk starts over.
 *
 * Context: process context (it reads guest memory through the VMM's
 * mapping and may fault it in), inside umbra_vm.srcu.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/uaccess.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include "mmu.h"

#define PTE_P		_PAGE_PRESENT
#define PTE_A		_PAGE_ACCESSED
#define PTE_D		_PAGE_DIRTY
#define PTE_PS		_PAGE_PSE
#define PTE_NX		_PAGE_NX

#define WALK_RETRIES	8

/**
 * umbra_mmu_rsvd_bits - bits that must be zero in an entry of @level
 * @vcpu: the vCPU (its paging registers and CPUID decide)
 * @level: 1 (PTE) .. 4 (PML4E)
 * @pte: the entry (its PS bit matters at levels 2 and 3)
 *
 * SDM vol. 3, 4.5.
 */
u64 umbra_mmu_rsvd_bits(const struct umbra_vcpu *vcpu, int level, u64 pte)
{
	const struct umbra_paging *p = &vcpu->mmu->paging;
	u8 maxpa = vcpu->caps.maxphyaddr;
	u64 rsvd = GENMASK_ULL(51, maxpa);

	if (!(p->efer & EFER_NX))
		rsvd |= PTE_NX;
	if (level == 4)
		rsvd |= PTE_PS;
	else if (level == 3 && (pte & PTE_PS) && !vcpu->caps.gbpages)
		rsvd |= PTE_PS;			/* no 1 GiB pages in CPUID */
	else if (level == 3 && (pte & PTE_PS))
		rsvd |= GENMASK_ULL(29, 13);	/* 1 GiB frame: 29:13 */
	else if (level == 2 && (pte & PTE_PS))
		rsvd |= GENMASK_ULL(20, 13);	/* 2 MiB frame: 20:13 */
	return rsvd;
}

/* Would the CPU refuse @access (PFERR_* bits) with these rights? */
static bool access_denied(const struct umbra_paging *p, unsigned int acc,
			  u32 access)
{
	bool user = access & PFERR_USER;

	if (user && !(acc & ACC_USER))
		return true;
	if ((access & PFERR_WRITE) && !(acc & ACC_WRITE) &&
	    (user || (p->cr0 & X86_CR0_WP)))
		return true;
	if (access & PFERR_FETCH) {
		if (!(acc & ACC_EXEC))
			return true;
		if (!user && (acc & ACC_USER) && (p->cr4 & X86_CR4_SMEP))
			return true;
	}
	return false;
}

/**
 * umbra_mmu_gpte_ptr - where the VMM maps @addr's entry in a guest table
 * @vm: the VM
 * @table_gfn: the guest table
 * @addr: the guest-virtual address being translated
 * @level: the table's level
 *
 * Context: inside umbra_vm.srcu.
 * Return: the user pointer, or NULL if the table is not (usable) RAM.
 */
u64 __user *umbra_mmu_gpte_ptr(struct umbra_vm *vm, u64 table_gfn, u64 addr,
			       int level)
{
	struct umbra_memslot *slot = umbra_mmu_gfn_to_slot(vm, table_gfn);

	if (!slot || (slot->flags & UMBRA_MEMSLOT_INVALID))
		return NULL;
	return (u64 __user *)(umbra_mmu_gfn_to_hva(slot, table_gfn) +
			      level_index(addr, level) * sizeof(u64));
}

/* Set @bits in a guest entry.  Return: 0, 1 if it changed, -EFAULT. */
static int gpte_set_bits(u64 __user *ptr, u64 old, u64 bits)
{
	if (!user_access_begin(ptr, sizeof(*ptr)))
		return -EFAULT;
	if (!unsafe_try_cmpxchg_user(ptr, &old, old | bits, efault)) {
		user_access_end();
		return 1;
	}
	user_access_end();
	return 0;
efault:
	user_access_end();
	return -EFAULT;
}

/* Set A on every level walked, and D on the leaf for a write. */
static int walk_set_ad(struct umbra_vcpu *vcpu, u64 addr, u32 access,
		       struct umbra_walk *w)
{
	int level, r;

	for (level = UMBRA_ROOT_LEVEL; level >= w->level; level--) {
		u64 pte = w->gpte[level], bits = 0;
		u64 __user *ptr;

		if (!(pte & PTE_A))
			bits |= PTE_A;
		if (level == w->level && (access & PFERR_WRITE) && !(pte & PTE_D))
			bits |= PTE_D;
		if (!bits)
			continue;
		ptr = umbra_mmu_gpte_ptr(vcpu->vm, w->table_gfn[level], addr, level);
		if (!ptr)
			return -EFAULT;
		r = gpte_set_bits(ptr, pte, bits);
		if (r)
			return r;
		w->gpte[level] = pte | bits;
	}
	return 0;
}

static int walk_once(struct umbra_vcpu *vcpu, u64 addr, u32 access,
		     struct umbra_walk *w)
{
	const struct umbra_paging *p = &vcpu->mmu->paging;
	u64 table_gfn, pte = 0, frame;
	unsigned int acc = ACC_ALL;
	u64 __user *ptr;
	int level;

	table_gfn = umbra_mmu_cr3_gfn(vcpu, p->cr3);
	/* I/D is reported only where fetches can fault (SDM vol. 3, 4.7). */
	w->fault_error = access & (PFERR_WRITE | PFERR_USER);
	if ((access & PFERR_FETCH) &&
	    ((p->efer & EFER_NX) || (p->cr4 & X86_CR4_SMEP)))
		w->fault_error |= PFERR_FETCH;

	for (level = UMBRA_ROOT_LEVEL; level >= 1; level--) {
		w->table_gfn[level] = table_gfn;
		w->pt_access[level] = acc;
		ptr = umbra_mmu_gpte_ptr(vcpu->vm, table_gfn, addr, level);
		if (!ptr || get_user(pte, ptr))
			return -EFAULT;		/* a table outside RAM */
		w->gpte[level] = pte;

		if (!(pte & PTE_P))
			return 1;
		if (pte & umbra_mmu_rsvd_bits(vcpu, level, pte)) {
			w->fault_error |= PFERR_RSVD | PFERR_PRESENT;
			return 1;
		}
		acc &= gpte_access(pte, p->efer & EFER_NX);
		if (level == 1 || (level <= 3 && (pte & PTE_PS)))
			break;
		table_gfn = (pte & GENMASK_ULL(51, PAGE_SHIFT)) >> PAGE_SHIFT;
	}

	w->level = level;
	w->access = acc;
	/* A large page: its first frame plus the address's offset into it. */
	frame = (pte & GENMASK_ULL(51, PAGE_SHIFT + 9 * (level - 1))) >> PAGE_SHIFT;
	w->gfn = frame + ((addr >> PAGE_SHIFT) & ((1ULL << (9 * (level - 1))) - 1));

	if (access_denied(p, acc, access)) {
		w->fault_error |= PFERR_PRESENT;
		return 1;
	}
	return 0;
}

/**
 * umbra_mmu_walk_denied_by_rw - did only a 4 KiB leaf's R/W refuse a write?
 * @vcpu: the vCPU
 * @w: a walk that failed with a protection fault
 * @access: the access it was for
 *
 * True if the leaf is a present 4 KiB PTE and the walk would have allowed
 * @access had that PTE had R/W: the shape of a copy-on-write fault.
 */
bool umbra_mmu_walk_denied_by_rw(struct umbra_vcpu *vcpu,
				 const struct umbra_walk *w, u32 access)
{
	const struct umbra_paging *p = &vcpu->mmu->paging;
	unsigned int acc;

	/* PRESENT without RSVD: access_denied() refused a complete walk. */
	if (!(access & PFERR_WRITE) || mmu_unpaged(vcpu->mmu) ||
	    (w->fault_error & (PFERR_PRESENT | PFERR_RSVD)) != PFERR_PRESENT ||
	    w->level != 1 || (w->gpte[1] & _PAGE_RW))
		return false;
	acc = w->pt_access[1] & gpte_access(w->gpte[1] | _PAGE_RW, p->efer & EFER_NX);
	return !access_denied(p, acc, access);
}

/*
 * Paging off: the linear address is the guest-physical one (32 bits: the
 * guest runs 16- or 32-bit code) and nothing is checked.  Reported as a
 * leaf at level 3 with every right and A/D set, so that the fault path
 * builds direct tables under it as inside a guest 1 GiB page (root.c).
 */
static void walk_unpaged(u64 addr, struct umbra_walk *w)
{
	memset(w, 0, sizeof(*w));
	w->level = 3;
	w->gfn = (u32)addr >> PAGE_SHIFT;
	w->gpte[3] = PTE_P | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED |
		     _PAGE_DIRTY | _PAGE_PSE;
	w->access = ACC_ALL;
	w->pt_access[UMBRA_ROOT_LEVEL] = ACC_ALL;
	w->pt_access[3] = ACC_ALL;
}

/**
 * umbra_mmu_walk - translate a guest-virtual address as the CPU would
 * @vcpu: the vCPU (4-level long mode, or paging off)
 * @addr: the address
 * @access: PFERR_WRITE / PFERR_USER / PFERR_FETCH of the access
 * @w: the walk's outcome
 *
 * Return: 0 (translated; A/D set), 1 (the guest's tables refuse:
 * w->fault_error holds the #PF error code), or -EFAULT (a guest table lies
 * outside RAM, or the guest kept changing the entries under the walk).
 */
int umbra_mmu_walk(struct umbra_vcpu *vcpu, u64 addr, u32 access,
	     struct umbra_walk *w)
{
	int i, r;

	if (mmu_unpaged(vcpu->mmu)) {
		walk_unpaged(addr, w);
		return 0;
	}
	for (i = 0; i < WALK_RETRIES; i++) {
		r = walk_once(vcpu, addr, access, w);
		if (r)
			return r;
		r = walk_set_ad(vcpu, addr, access, w);
		if (r <= 0)
			return r;
	}
	return -EFAULT;
}

/**
 * umbra_mmu_gva_to_gpa - translate for emulation
 * @vcpu: the vCPU
 * @gva: the address
 * @access: PFERR_* bits of the access
 * @pf: on a guest fault, the #PF to inject; on success, @pf->gpa
 *
 * Return: 0, -EFAULT with @pf filled for a guest #PF, or -EIO when a guest
 * table lies outside RAM.
 */
int umbra_mmu_gva_to_gpa(struct umbra_vcpu *vcpu, u64 gva, u32 access,
			 struct umbra_pf *pf)
{
	struct umbra_walk w;
	int idx, r;

	idx = srcu_read_lock(&vcpu->vm->srcu);
	r = umbra_mmu_walk(vcpu, gva, access, &w);
	srcu_read_unlock(&vcpu->vm->srcu, idx);
	if (r < 0)
		return -EIO;
	if (r) {
		pf->fault_addr = gva;
		pf->fault_error = w.fault_error;
		return -EFAULT;
	}
	pf->gpa = (w.gfn << PAGE_SHIFT) | (gva & ~PAGE_MASK);
	return 0;
}

/* The VMM's address of guest-physical @gpa, or 0 outside RAM. */
static unsigned long gpa_to_hva(struct umbra_vm *vm, u64 gpa)
{
	struct umbra_memslot *slot;
	unsigned long hva = 0;
	int idx;

	idx = srcu_read_lock(&vm->srcu);
	slot = umbra_mmu_gfn_to_slot(vm, gpa >> PAGE_SHIFT);
	if (slot && !(slot->flags & UMBRA_MEMSLOT_INVALID))
		hva = umbra_mmu_gfn_to_hva(slot, gpa >> PAGE_SHIFT) | (gpa & ~PAGE_MASK);
	srcu_read_unlock(&vm->srcu, idx);
	return hva;
}

/**
 * umbra_mmu_read_guest_virt - copy from guest-virtual memory
 * @vcpu: the vCPU
 * @gva: where
 * @buf: to
 * @len: how much
 * @access: PFERR_FETCH for an instruction fetch, PFERR_USER at CPL 3
 * @pf: the #PF to inject on a guest fault
 *
 * Return: 0, -EFAULT (inject @pf), -EIO (not RAM or not readable).
 */
int umbra_mmu_read_guest_virt(struct umbra_vcpu *vcpu, u64 gva, void *buf,
			      unsigned int len, u32 access, struct umbra_pf *pf)
{
	while (len) {
		unsigned int n = min_t(unsigned int, len,
				       PAGE_SIZE - (gva & ~PAGE_MASK));
		unsigned long hva;
		int r;

		r = umbra_mmu_gva_to_gpa(vcpu, gva, access, pf);
		if (r)
			return r;
		hva = gpa_to_hva(vcpu->vm, pf->gpa);
		if (!hva || copy_from_user(buf, (void __user *)hva, n))
			return -EIO;
		gva += n;
		buf += n;
		len -= n;
	}
	return 0;
}

/**
 * umbra_mmu_write_guest_virt - copy to guest-virtual memory
 * @vcpu: the vCPU
 * @gva: where
 * @buf: from
 * @len: how much
 * @access: PFERR_USER at CPL 3, else 0
 * @pf: the #PF to inject on a guest fault
 *
 * Writes go through umbra_mmu_emulate_write(), so a write that lands in a
 * shadowed guest page table updates the shadow too.
 *
 * Return: 0, -EFAULT (inject @pf), -EIO.
 */
int umbra_mmu_write_guest_virt(struct umbra_vcpu *vcpu, u64 gva,
			       const void *buf, unsigned int len, u32 access,
			       struct umbra_pf *pf)
{
	while (len) {
		unsigned int n = min_t(unsigned int, len,
				       PAGE_SIZE - (gva & ~PAGE_MASK));
		int r;

		r = umbra_mmu_gva_to_gpa(vcpu, gva, PFERR_WRITE | access, pf);
		if (r)
			return r;
		if (umbra_mmu_emulate_write(vcpu, pf->gpa, buf, n))
			return -EIO;
		gva += n;
		buf += n;
		len -= n;
	}
	return 0;
}
