/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * umbra's own additions to the KVM API.
 *
 * /dev/umbra speaks the x86 subset of <linux/kvm.h> with KVM's numbers and
 * structures.  What umbra adds lives here, in a number range of its own so
 * that it can never collide with a future KVM ioctl or capability:
 *
 *  - ioctls use type UMBRAIO (0xAF) with numbers from 0x80 up (0xAF 00-1F
 *    belongs to fsl_hypervisor, see ioctl-number.rst);
 *  - capabilities for KVM_CHECK_EXTENSION start at UMBRA_CAP_BASE.
 *
 * Numbers are never reused.  The header is self-contained (__u64 types
 * only) so it compiles in the module, in the VMM and in test programs.
 */
#ifndef _UAPI_UMBRA_H
#define _UAPI_UMBRA_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define UMBRAIO			0xAF

/* Capabilities, answered by KVM_CHECK_EXTENSION on any umbra fd. */
#define UMBRA_CAP_BASE		0x10000
#define UMBRA_CAP_GLOBAL_STATS	(UMBRA_CAP_BASE + 0)
#define UMBRA_CAP_VCPU_STATS	(UMBRA_CAP_BASE + 1)

/**
 * struct umbra_global_stats - objects alive in the module right now
 * @vms:	VMs not yet freed (a VM lives while its fd or any vCPU fd is open)
 * @vcpus:	vCPUs not yet freed
 * @memslots:	memslots in all live VMs
 * @svm_users:	VMs holding AMD-V enabled on the host CPUs (0 or @vms)
 * @reserved:	zero; room to grow without a new ioctl
 *
 * All counts drop to zero once every umbra fd is closed: the lifetime tests
 * use this to prove that nothing leaks.
 */
struct umbra_global_stats {
	__u64 vms;
	__u64 vcpus;
	__u64 memslots;
	__u64 svm_users;
	__u64 reserved[12];
};

/**
 * struct umbra_vcpu_stats - event counts of one vCPU since its creation
 *
 * The first fields carry the names of KVM's binary statistics
 * (KVM_GET_STATS_FD) with the same meaning, so that umbra-run and the
 * benchmarks compare like with like:
 *
 * @exits:	VM exits of any kind
 * @pf_taken:	#PF exits taken by the shadow MMU
 * @pf_fixed:	of those, fixed by installing or changing an spte
 * @pf_guest:	#PF injected into the guest (its own tables said no)
 * @pf_spurious: #PF that needed no change (another vCPU got there first)
 * @io_exits:	exits to userspace for port I/O
 * @mmio_exits:	exits to userspace for MMIO
 * @halt_exits:	HLT
 * @signal_exits: KVM_RUN returned -EINTR / KVM_EXIT_INTR for a signal
 * @irq_exits:	exits for a host interrupt
 * @invlpg:	guest INVLPG
 * @tlb_flush:	guest TLB flushes (CR3 loads with flush, PV flushes)
 * @hypercalls:	VMMCALL
 *
 * umbra's own:
 * @cr3_loads:	guest CR3 writes
 * @shadow_pages_created: shadow page-table pages allocated (VM-wide total)
 * @shadow_pages_zapped: shadow page-table pages torn down (VM-wide total)
 * @hypercalls_mmu_flush: UMBRA_HC_MMU_FLUSH hypercalls (PV mmu_op batches)
 * @mmu_ops:	mmu_ops processed in them
 * @ad_synced:	D bits copied back to guest PTEs under deferred A/D,
 *		by this vCPU (PV; see include/umbra/pv.h)
 * @pv_cow:	copy-on-write faults umbra resolved itself (PV COW area,
 *		include/umbra/pv.h); each is also in @pf_taken, not @pf_guest
 * @reserved:	zero; room to grow
 */
struct umbra_vcpu_stats {
	__u64 exits;
	__u64 pf_taken;
	__u64 pf_fixed;
	__u64 pf_guest;
	__u64 pf_spurious;
	__u64 io_exits;
	__u64 mmio_exits;
	__u64 halt_exits;
	__u64 signal_exits;
	__u64 irq_exits;
	__u64 invlpg;
	__u64 tlb_flush;
	__u64 hypercalls;
	__u64 cr3_loads;
	__u64 shadow_pages_created;
	__u64 shadow_pages_zapped;
	__u64 hypercalls_mmu_flush;
	__u64 mmu_ops;
	__u64 ad_synced;
	__u64 pv_cow;
	__u64 reserved[12];
};

/* System ioctl (on the /dev/umbra fd). */
#define UMBRA_GET_GLOBAL_STATS	_IOR(UMBRAIO, 0x80, struct umbra_global_stats)

/* vCPU ioctl (on a vCPU fd); see UMBRA_CAP_VCPU_STATS. */
#define UMBRA_GET_VCPU_STATS	_IOR(UMBRAIO, 0x81, struct umbra_vcpu_stats)

#endif /* _UAPI_UMBRA_H */
