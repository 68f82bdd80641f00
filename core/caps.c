// SPDX-License-Identifier: GPL-2.0
/*
 * caps.c - KVM_CHECK_EXTENSION: what umbra promises
 *
 * The answer is honest: a capability is listed only when what it promises
 * works today.  Anything absent answers 0, as KVM does for an unknown
 * capability.  When a feature lands, its capability is added here in the
 * same commit, together with the test that proves it.
 *
 * umbra's own capabilities live at UMBRA_CAP_BASE and up (uapi/umbra.h).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/minmax.h>
#include <uapi/umbra.h>
#include "core.h"

/**
 * umbra_check_extension - KVM_CHECK_EXTENSION on the system or a VM fd
 * @vm: the VM, or NULL on the system fd (the answers are the same today)
 * @cap: KVM_CAP_* or UMBRA_CAP_*
 *
 * Return: 0 if unsupported, else a positive value with the capability's
 * documented meaning (a count or limit for some).
 */
long umbra_check_extension(struct umbra_vm *vm, unsigned long cap)
{
	switch (cap) {
	case KVM_CAP_USER_MEMORY:
	case KVM_CAP_USER_MEMORY2:
	case KVM_CAP_CHECK_EXTENSION_VM:
	case KVM_CAP_EXT_CPUID:		/* GET_SUPPORTED_CPUID, SET_CPUID2 */
	case KVM_CAP_IMMEDIATE_EXIT:
	case UMBRA_CAP_GLOBAL_STATS:
	case UMBRA_CAP_VCPU_STATS:
		return 1;
	case KVM_CAP_NR_VCPUS:		/* recommended: one per host CPU */
		return min_t(long, num_online_cpus(), UMBRA_MAX_VCPUS);
	case KVM_CAP_MAX_VCPUS:
	case KVM_CAP_MAX_VCPU_ID:
		return UMBRA_MAX_VCPUS;
	case KVM_CAP_NR_MEMSLOTS:
		return UMBRA_MAX_MEMSLOTS;
	case KVM_CAP_VM_TYPES:
		return BIT(KVM_X86_DEFAULT_VM);
	default:
		return 0;
	}
}
