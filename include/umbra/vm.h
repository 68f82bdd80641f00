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

#include <linux/bitops.h>
#include <linux/bits.h>
#include <linux/cpumask.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/srcu.h>
#include <linux/types.h>
#include <linux/kvm.h>
#include <uapi/umbra.h>

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
 *		(bit 31, UMBRA_MEMSLOT_INVALID, is umbra's own: see
 *		core/memslot.c)
 * @rmap:	one reverse-map head per page (mmu/rmap.c); allocated when
 *		the slot is created, carried along when the set is copied,
 *		freed when the slot is deleted
 */
#define UMBRA_MEMSLOT_INVALID	BIT(31)	/* being deleted or moved */

struct umbra_memslot {
	u64 base_gfn;
	u64 npages;
	u64 userspace_addr;
	u32 flags;
	u16 id;
	unsigned long *rmap;
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
 * @gbpages:	1 GiB pages (CPUID 0x80000001 EDX.Page1GB): PS in a PDPTE
 *		is reserved without it
 *
 * Derived from the vCPU's CPUID (KVM_SET_CPUID2) by umbra_cpuid_caps();
 * a vCPU without CPUID gets the narrowest set, as KVM does.
 */
struct umbra_guest_caps {
	u8 maxphyaddr;
	u64 cr4_reserved;
	u64 efer_reserved;
	bool x2apic;
	bool gbpages;
};

/* Bits of a guest-physical address (CR3, APIC_BASE) beyond MAXPHYADDR. */
static inline u64 umbra_gpa_reserved(const struct umbra_guest_caps *caps)
{
	return caps->maxphyaddr >= 64 ? 0 : GENMASK_ULL(63, caps->maxphyaddr);
}

struct umbra_vm;
struct umbra_mmu_vcpu;
struct umbra_mmu_vm;

/* General purpose registers, indexed by their x86 encoding (ModRM.reg). */
enum umbra_gpr {
	UMBRA_RAX, UMBRA_RCX, UMBRA_RDX, UMBRA_RBX,
	UMBRA_RSP, UMBRA_RBP, UMBRA_RSI, UMBRA_RDI,
	UMBRA_R8, UMBRA_R9, UMBRA_R10, UMBRA_R11,
	UMBRA_R12, UMBRA_R13, UMBRA_R14, UMBRA_R15,
	UMBRA_NR_GPRS,
};

/* Requests to a vCPU, acted on before its next guest entry. */
enum umbra_vcpu_request {
	UMBRA_REQ_TLB_FLUSH,	/* flush the guest's TLB (new ASID) */
	UMBRA_REQ_MMU_RELOAD,	/* the shadow root was zapped: load a new one */
};

/**
 * struct umbra_vcpu - one virtual CPU
 * @vm:		owning VM (the vCPU fd holds a reference on it)
 * @id:		vCPU id from KVM_CREATE_VCPU
 * @mutex:	serialises this vCPU's ioctls
 * @run:	struct kvm_run, page 0 of the vCPU mmap
 * @pio_data:	page 1 of the vCPU mmap
 * @gpr:	general purpose registers by encoding (enum umbra_gpr); the
 *		backend's entry code loads and saves them, so RSP and RAX
 *		here are copies of what the VMCB holds while the vCPU runs
 * @rip:	instruction pointer
 * @rflags:	flags
 * @sregs:	segment, control and descriptor-table registers; its
 *		interrupt_bitmap is unused (see @pending_irq).  The backend
 *		owns the live copy while KVM_RUN runs and writes it back here
 *		before KVM_RUN returns.
 * @sregs_dirty: userspace changed registers: the backend reloads them
 * @pending_irq: vector queued by KVM_SET_SREGS' interrupt_bitmap, or -1
 * @cpuid:	entries from KVM_SET_CPUID2, @cpuid_nent of them
 * @caps:	derived from @cpuid
 * @arch:	the hardware backend's state (struct umbra_svm_vcpu)
 * @mmu:	the shadow MMU's per-vCPU state
 * @requests:	bits of enum umbra_vcpu_request
 * @cpu:	host CPU the vCPU runs on inside KVM_RUN, or -1
 * @stats:	event counts (UMBRA_GET_VCPU_STATS)
 * @pv_queue_gpa: the PV mmu_op queue area (pvops/mmu_op.c), or 0
 * @pv_queue_ops: how many ops it holds, or 0 when none is registered
 * @pv_cow_gpa:	the PV COW area (pvops/cow.c), or 0
 */
struct umbra_vcpu {
	struct umbra_vm *vm;
	unsigned int id;
	struct mutex mutex;
	struct kvm_run *run;
	void *pio_data;
	u64 gpr[UMBRA_NR_GPRS];
	u64 rip;
	u64 rflags;
	struct kvm_sregs sregs;
	bool sregs_dirty;
	int pending_irq;
	struct kvm_cpuid_entry2 *cpuid;
	unsigned int cpuid_nent;
	struct umbra_guest_caps caps;
	void *arch;
	struct umbra_mmu_vcpu *mmu;
	unsigned long requests;
	int cpu;
	struct umbra_vcpu_stats stats;
	u64 pv_queue_gpa;
	u32 pv_queue_ops;
	u64 pv_cow_gpa;
};

/*
 * Take request @req of @vcpu's, by its own thread before an entry: true
 * if it was pending.  Tested before it is cleared, so that the usual case,
 * nothing pending, is a load and not a locked read-modify-write on every
 * entry.  A request set just after the test is not lost: its sender then
 * sees the vCPU in the guest and kicks it out (umbra_vcpu_request()).
 */
static inline bool umbra_vcpu_take_request(struct umbra_vcpu *vcpu,
					   enum umbra_vcpu_request req)
{
	return test_bit(req, &vcpu->requests) &&
	       test_and_clear_bit(req, &vcpu->requests);
}

/**
 * struct umbra_vm - one virtual machine
 * @ref:	see "Lifetime" above
 * @mm:		the creator's mm; ioctls from any other mm get -EIO, as in
 *		KVM, because memslot addresses mean nothing elsewhere
 * @lock:	vCPU creation and memslot updates
 * @srcu:	protects readers of @memslots
 * @memslots:	the published memslot set
 * @vcpus:	indexed by vCPU id, written once under @lock
 * @nr_vcpus:	vCPUs created (the non-NULL entries in @vcpus), each
 *		counted before its fd exists, under @lock; read locklessly
 * @mmu:	the shadow MMU's per-VM state (shadow pages, rmaps, notifier)
 */
struct umbra_vm {
	struct kref ref;
	struct mm_struct *mm;
	struct mutex lock;
	struct srcu_struct srcu;
	struct umbra_memslots __rcu *memslots;
	struct umbra_vcpu *vcpus[UMBRA_MAX_VCPUS];
	unsigned int nr_vcpus;
	struct umbra_mmu_vm *mmu;
};

#endif /* _UMBRA_VM_H */
