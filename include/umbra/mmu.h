/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shadow MMU's API for the rest of umbra (core/, svm/).
 *
 * The guest's paging state (CR0, CR3, CR4, EFER) is told to the MMU by the
 * backend whenever it changes; the MMU answers with the host-physical root
 * of the shadow tables the hardware must run on (umbra_mmu_root()).
 * #PF exits go to umbra_mmu_page_fault(), which either fixes the shadow or
 * says what the guest's own tables say (inject #PF) or that the address is
 * not RAM (MMIO).
 */
#ifndef _UMBRA_MMU_H
#define _UMBRA_MMU_H

#include <linux/list.h>
#include <linux/types.h>
#include <umbra/vm.h>

/* x86 #PF error code bits (SDM vol. 3, 4.7). */
#define PFERR_PRESENT	BIT(0)
#define PFERR_WRITE	BIT(1)
#define PFERR_USER	BIT(2)
#define PFERR_RSVD	BIT(3)
#define PFERR_FETCH	BIT(4)
#define PFERR_PK	BIT(5)

/**
 * struct umbra_paging - the guest registers that define its address space
 * @cr0, @cr3, @cr4, @efer: the guest's own values (not the hardware's)
 */
struct umbra_paging {
	u64 cr0, cr3, cr4, efer;
};

/**
 * enum umbra_pf_result - what umbra_mmu_page_fault() did
 * @UMBRA_PF_FIXED:	the shadow now maps the access; re-enter the guest
 * @UMBRA_PF_GUEST:	the guest's own tables refuse it: inject #PF with
 *			@fault_error at @fault_addr
 * @UMBRA_PF_MMIO:	the address is not RAM: emulate the access at @gpa
 * @UMBRA_PF_EMULATE:	a write to a guest page table that is shadowed and
 *			cannot be made writable: emulate the write at @gpa
 *
 * These are non-negative; errors from the host side are -errno.
 */
enum umbra_pf_result {
	UMBRA_PF_FIXED,
	UMBRA_PF_GUEST,
	UMBRA_PF_MMIO,
	UMBRA_PF_EMULATE,
};

/**
 * struct umbra_pf - the outcome of a fault or a translation
 * @gpa:	guest-physical address of the access (MMIO, EMULATE)
 * @fault_addr:	for UMBRA_PF_GUEST: CR2
 * @fault_error: for UMBRA_PF_GUEST: the #PF error code
 * @rw_gpte_gpa: for UMBRA_PF_GUEST from umbra_mmu_page_fault(): if only
 *		the R/W bit of a present 4 KiB PTE refused the write (a
 *		copy-on-write fault, maybe), that PTE's guest-physical
 *		address, else 0
 * @rw_gpte:	that PTE, as the walk read it
 */
struct umbra_pf {
	u64 gpa;
	u64 fault_addr;
	u32 fault_error;
	u64 rw_gpte_gpa;
	u64 rw_gpte;
};

/**
 * struct umbra_host_page - a page of guest RAM the host holds for a moment
 * @page:	the VMM's page behind @gfn, with a reference
 * @gfn:	the guest frame
 * @writable:	taken for writing (the host may store into it)
 * @seq:	the MMU notifier's sequence (mmu/notifier.c) read before the
 *		lookup
 *
 * The reference keeps @page from being freed, not the VMM from mapping
 * another page at @gfn: a store into @page counts only if, after it and
 * under mmu_lock, @seq shows that no host invalidation is running or ran
 * since the lookup (mmu_invalidated(), mmu/mmu.h).  Then every
 * invalidation to come begins after the store and carries it along as
 * the page's contents (migration copies it, a COW break in the VMM
 * copies it, swap writes it out).
 */
struct umbra_host_page {
	struct page *page;
	u64 gfn;
	bool writable;
	unsigned long seq;
};

/* mmu/mmu.c: per-VM and per-vCPU lifetime, guest RAM */
int umbra_mmu_vm_init(struct umbra_vm *vm);
void umbra_mmu_vm_destroy(struct umbra_vm *vm);
int umbra_mmu_vcpu_init(struct umbra_vcpu *vcpu);
void umbra_mmu_vcpu_destroy(struct umbra_vcpu *vcpu);
void __user *umbra_mmu_ram_hva(struct umbra_vm *vm, u64 gpa);
bool umbra_mmu_get_host_page(struct umbra_vm *vm, u64 gfn, bool write,
			     struct umbra_host_page *hp);
void umbra_mmu_put_host_page(struct umbra_host_page *hp, bool dirtied);
int umbra_mmu_copy_from_gfn(struct umbra_vm *vm, u64 gfn,
			    struct umbra_host_page *to, bool *flush,
			    struct list_head *zapped);

/* mmu/root.c: the root the hardware runs on */
void umbra_mmu_set_paging(struct umbra_vcpu *vcpu, const struct umbra_paging *p);
int umbra_mmu_load(struct umbra_vcpu *vcpu, u64 *root_hpa);
u64 umbra_mmu_guest_cr3(struct umbra_vcpu *vcpu);

/* mmu/fault.c: #PF exits */
int umbra_mmu_page_fault(struct umbra_vcpu *vcpu, u64 addr, u32 error,
			 struct umbra_pf *pf);

/* mmu/walk.c: translation for emulation (instruction fetch, string I/O) */
int umbra_mmu_gva_to_gpa(struct umbra_vcpu *vcpu, u64 gva, u32 access,
			 struct umbra_pf *pf);
int umbra_mmu_read_guest_virt(struct umbra_vcpu *vcpu, u64 gva, void *buf,
			      unsigned int len, u32 access, struct umbra_pf *pf);
int umbra_mmu_write_guest_virt(struct umbra_vcpu *vcpu, u64 gva,
			       const void *buf, unsigned int len, u32 access,
			       struct umbra_pf *pf);

/* mmu/pte_write.c: guest page-table updates that did not trap as faults */
int umbra_mmu_emulate_write(struct umbra_vcpu *vcpu, u64 gpa, const void *val,
			    unsigned int len);
void umbra_mmu_unprotect(struct umbra_vcpu *vcpu, u64 gpa);

/**
 * struct umbra_gpte_write - one write of a run (umbra_mmu_write_gptes())
 * @gpa:	the entry, 8-byte aligned
 * @val:	the new value
 * @keep_ad:	keep the accessed and dirty bits the entry has now
 * @old:	out: the entry's previous value, with the A/D bits its mapping
 *		gathered under deferred A/D (ad.c) folded in
 */
struct umbra_gpte_write {
	u64 gpa;
	u64 val;
	u64 old;
	bool keep_ad;
};

/* The longest run umbra_mmu_write_gptes() takes at once. */
#define UMBRA_GPTE_RUN_MAX	16

int umbra_mmu_write_gptes(struct umbra_vcpu *vcpu, struct umbra_gpte_write *w,
			  unsigned int n, bool *flush);
int umbra_mmu_protect_gptes(struct umbra_vcpu *vcpu, u64 gpa, unsigned int n,
			    u64 rights, bool *flush);
int umbra_mmu_cmpxchg_gpte(struct umbra_vcpu *vcpu, u64 gpa, u64 expect,
			   u64 val, const struct umbra_host_page *hint,
			   bool *flush);
int umbra_mmu_release_pt(struct umbra_vcpu *vcpu, u64 gpa, u64 cr3, bool *flush,
			 struct list_head *zapped);
void umbra_mmu_flush_and_free(struct umbra_vm *vm, bool flush,
			      struct list_head *zapped);
void umbra_mmu_invlpg(struct umbra_vcpu *vcpu, u64 gva);

/* ad.c: deferred A/D, for the PV mmu_op queue */
int umbra_mmu_ad_enable(struct umbra_vm *vm);
void umbra_mmu_ad_sync(struct umbra_vcpu *vcpu);
int umbra_mmu_sync_ad(struct umbra_vcpu *vcpu, u64 gpa);
bool umbra_mmu_ad_owed(struct umbra_vm *vm);

/* mmu/sync.c: unsync leaf tables */
void umbra_mmu_guest_flush(struct umbra_vcpu *vcpu);
void umbra_mmu_zap_all(struct umbra_vm *vm);
void umbra_mmu_stats(struct umbra_vm *vm, u64 *created, u64 *zapped);

/* mmu/flush.c: the TLB flush rule */
void umbra_mmu_flush_remote_tlbs(struct umbra_vm *vm);

/* core/vcpu.c: requests and kicks (used by the MMU) */
void umbra_vcpu_request(struct umbra_vcpu *vcpu, enum umbra_vcpu_request req);

#endif /* _UMBRA_MMU_H */
