/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The objects every part of umbra shares: the VM, its memslots and its
 * vCPUs.
 *
 * Lifetime:
 *   A VM is reference counted.  Its fd holds one reference and every vCPU
 *   fd holds one more, so the fds may be closed in any order; the VM and all
 *   of its vCPUs are freed together when the last reference goes
 *   (umbra_vm_put()).  vCPUs are never freed on their own, as in KVM.
 *
 * Locking (lock order from outer to inner):
 *   umbra_vcpu.mutex   serialises the ioctls of one vCPU.
 *   umbra_vm.lock      vCPU creation and memslot updates ("slots lock").
 *   umbra_vm.srcu      readers of umbra_vm.memslots; writers publish a new
 *                      array with rcu_assign_pointer() under umbra_vm.lock
 *                      and free the old one after synchronize_srcu().
 */
#ifndef _UMBRA_VM_H
#define _UMBRA_VM_H

#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/srcu.h>
#include <linux/types.h>
#include <linux/kvm.h>

/* Hard limits, reported through KVM_CHECK_EXTENSION. */
#define UMBRA_MAX_VCPUS		64	/* also the vCPU id limit */
#define UMBRA_MAX_MEMSLOTS	512	/* slot ids 0..511, one address space */
#define UMBRA_MAX_CPUID_ENTRIES	256	/* KVM_MAX_CPUID_ENTRIES */

/* The vCPU mmap: page 0 is struct kvm_run, page 1 the PIO data page. */
#define UMBRA_VCPU_RUN_PAGE	0
#define UMBRA_VCPU_PIO_PAGE	1	/* == KVM_PIO_PAGE_OFFSET */
#define UMBRA_VCPU_MMAP_PAGES	2

/**
 * struct umbra_memslot - one range of guest-physical memory
 * @base_gfn:	first guest frame
 * @npages:	size in pages, never 0 in a published array
 * @userspace_addr: host virtual address of @base_gfn in the VM's mm
 * @flags:	KVM_MEM_* flags
 * @id:		slot id from userspace (the low 16 bits of kvm's "slot")
 */
struct umbra_memslot {
	u64 base_gfn;
	u64 npages;
	u64 userspace_addr;
	u32 flags;
	u16 id;
};

/**
 * struct umbra_memslots - an immutable, published set of memslots
 * @nr:		number of slots in @slots
 * @slots:	sorted by @base_gfn, non-overlapping
 *
 * A set is never changed once published; an update builds a new set and
 * frees the old one after an SRCU grace period of umbra_vm.srcu.
 */
struct umbra_memslots {
	unsigned int nr;
	struct umbra_memslot slots[] __counted_by(nr);
};

/**
 * struct umbra_guest_caps - what the guest's CPUID allows
 * @maxphyaddr:	guest physical address width (36 without leaf 0x80000008)
 * @cr4_reserved: CR4 bits the guest may not set
 * @efer_reserved: EFER bits the guest may not set
 * @x2apic:	x2APIC mode may be enabled in APIC_BASE
 *
 * Derived from the vCPU's CPUID (KVM_SET_CPUID2) by umbra_cpuid_caps();
 * a vCPU without CPUID gets the narrowest set, as KVM does.
 */
struct umbra_guest_caps {
	u8 maxphyaddr;
	u64 cr4_reserved;
	u64 efer_reserved;
	bool x2apic;
};

struct umbra_vm;

/**
 * struct umbra_vcpu - one virtual CPU
 * @vm:		owning VM (the vCPU fd holds a reference on it)
 * @id:		vCPU id from KVM_CREATE_VCPU
 * @mutex:	serialises this vCPU's ioctls
 * @run:	struct kvm_run, page 0 of the vCPU mmap
 * @pio_data:	page 1 of the vCPU mmap
 * @regs:	general purpose registers, RIP and RFLAGS
 * @sregs:	segment, control and descriptor-table registers; its
 *		interrupt_bitmap is unused (see @pending_irq)
 * @pending_irq: vector queued by KVM_SET_SREGS' interrupt_bitmap, or -1
 * @cpuid:	entries from KVM_SET_CPUID2, @cpuid_nent of them
 * @caps:	derived from @cpuid
 */
struct umbra_vcpu {
	struct umbra_vm *vm;
	unsigned int id;
	struct mutex mutex;
	struct kvm_run *run;
	void *pio_data;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	int pending_irq;
	struct kvm_cpuid_entry2 *cpuid;
	unsigned int cpuid_nent;
	struct umbra_guest_caps caps;
};

/**
 * struct umbra_vm - one virtual machine
 * @ref:	see "Lifetime" above
 * @mm:		the creator's mm; ioctls from any other mm get -EIO, as in
 *		KVM, because memslot addresses mean nothing elsewhere
 * @lock:	vCPU creation and memslot updates
 * @srcu:	protects readers of @memslots
 * @memslots:	the published memslot set
 * @vcpus:	indexed by vCPU id, written once under @lock
 * @nr_vcpus:	number of non-NULL entries in @vcpus
 */
struct umbra_vm {
	struct kref ref;
	struct mm_struct *mm;
	struct mutex lock;
	struct srcu_struct srcu;
	struct umbra_memslots __rcu *memslots;
	struct umbra_vcpu *vcpus[UMBRA_MAX_VCPUS];
	unsigned int nr_vcpus;
};

#endif /* _UMBRA_VM_H */
