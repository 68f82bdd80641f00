// SPDX-License-Identifier: GPL-2.0
/*
 * msr.c - the MSR ioctls: KVM_GET_MSR_INDEX_LIST, KVM_GET_MSRS, KVM_SET_MSRS
 *
 * What it owns:
 *   the list of MSRs umbra gives guests, and the ioctls' KVM semantics:
 *   entries are processed in order, the first one umbra refuses ends the
 *   batch, and the ioctl returns how many were processed (userspace
 *   compares that with nmsrs).  Where each MSR lives is the backend's
 *   business (svm/msr.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/msr-index.h>
#include <umbra/backend.h>
#include "core.h"

#define UMBRA_MAX_IO_MSRS	256	/* KVM's MAX_IO_MSRS */

static const u32 umbra_msrs[] = {
	MSR_EFER, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
	MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE,
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_IA32_CR_PAT, MSR_IA32_TSC, MSR_TSC_AUX, MSR_IA32_APICBASE,
};

/**
 * umbra_get_msr_index_list - KVM_GET_MSR_INDEX_LIST
 * @arg: userspace struct kvm_msr_list with room for nmsrs indices
 *
 * Return: 0, or -E2BIG with nmsrs set to the number needed (as KVM), or
 * -EFAULT.
 */
int umbra_get_msr_index_list(struct kvm_msr_list __user *arg)
{
	struct kvm_msr_list hdr;
	u32 n = ARRAY_SIZE(umbra_msrs);

	if (copy_from_user(&hdr, arg, sizeof(hdr)))
		return -EFAULT;
	if (put_user(n, &arg->nmsrs))
		return -EFAULT;
	if (hdr.nmsrs < n)
		return -E2BIG;
	return copy_to_user(arg->indices, umbra_msrs, sizeof(umbra_msrs)) ?
	       -EFAULT : 0;
}

/**
 * umbra_vcpu_msrs - KVM_GET_MSRS and KVM_SET_MSRS
 * @vcpu: the vCPU, its mutex held
 * @arg: userspace struct kvm_msrs
 * @set: KVM_SET_MSRS
 *
 * Return: the number of entries processed, or -E2BIG (too many), -EFAULT,
 * -ENOMEM.
 */
int umbra_vcpu_msrs(struct umbra_vcpu *vcpu, struct kvm_msrs __user *arg,
		    bool set)
{
	struct kvm_msr_entry *e;
	struct kvm_msrs hdr;
	u32 i;
	int r;

	lockdep_assert_held(&vcpu->mutex);
	if (copy_from_user(&hdr, arg, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nmsrs >= UMBRA_MAX_IO_MSRS)
		return -E2BIG;
	e = memdup_array_user(arg->entries, hdr.nmsrs, sizeof(*e));
	if (IS_ERR(e))
		return PTR_ERR(e);

	for (i = 0; i < hdr.nmsrs; i++) {
		r = set ? umbra_backend->set_msr(vcpu, e[i].index, e[i].data) :
			  umbra_backend->get_msr(vcpu, e[i].index, &e[i].data);
		if (r)
			break;
	}
	r = i;
	if (!set && copy_to_user(arg->entries, e, i * sizeof(*e)))
		r = -EFAULT;
	kfree(e);
	return r;
}
