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

/* System ioctl (on the /dev/umbra fd). */
#define UMBRA_GET_GLOBAL_STATS	_IOR(UMBRAIO, 0x80, struct umbra_global_stats)

#endif /* _UAPI_UMBRA_H */
