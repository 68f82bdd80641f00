/* SPDX-License-Identifier: GPL-2.0 */
/*
 * core/ private header, laid out by the file that defines each part.
 */
#ifndef _UMBRA_CORE_H
#define _UMBRA_CORE_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <umbra/vm.h>

/* main.c: module init, /dev/umbra and the system ioctls */
extern const struct umbra_backend_ops *umbra_backend;

/* Live objects, for UMBRA_GET_GLOBAL_STATS and the leak tests. */
struct umbra_counters {
	atomic64_t vms;
	atomic64_t vcpus;
	atomic64_t memslots;
};
extern struct umbra_counters umbra_counters;

/* caps.c: KVM_CHECK_EXTENSION */
long umbra_check_extension(struct umbra_vm *vm, unsigned long cap);

/* vm.c: the VM object and its fd */
int umbra_vm_create(unsigned long type);
void umbra_vm_get(struct umbra_vm *vm);
void umbra_vm_put(struct umbra_vm *vm);

/* vcpu.c: the vCPU object and its fd */
int umbra_vcpu_create(struct umbra_vm *vm, unsigned long id);
void umbra_vcpu_free(struct umbra_vcpu *vcpu);

/* memslot.c: KVM_SET_USER_MEMORY_REGION(2) */
enum umbra_memslot_change_kind {
	UMBRA_MR_NONE,		/* identical to the existing slot */
	UMBRA_MR_CREATE,
	UMBRA_MR_DELETE,
	UMBRA_MR_MOVE,
	UMBRA_MR_FLAGS_ONLY,
};

struct umbra_memslot_change {
	enum umbra_memslot_change_kind kind;
	struct umbra_memslot slot;	/* the new slot (or the deleted one) */
};

int umbra_memslot_check(const struct umbra_memslots *cur,
			const struct kvm_userspace_memory_region2 *mem,
			struct umbra_memslot_change *chg);
struct umbra_memslots *umbra_memslots_apply(const struct umbra_memslots *cur,
					    const struct umbra_memslot_change *chg);
struct umbra_memslots *umbra_memslots_alloc_empty(void);
void umbra_memslots_free(struct umbra_memslots *set);
int umbra_vm_set_memory_region(struct umbra_vm *vm,
			       const struct kvm_userspace_memory_region2 *mem);

/* cpuid.c: KVM_SET_CPUID2 / KVM_GET_CPUID2 and what the guest may use */
void umbra_cpuid_caps(const struct kvm_cpuid_entry2 *entries, unsigned int nent,
		      struct umbra_guest_caps *caps);
int umbra_vcpu_set_cpuid2(struct umbra_vcpu *vcpu,
			  struct kvm_cpuid2 __user *arg);
int umbra_vcpu_get_cpuid2(struct umbra_vcpu *vcpu,
			  struct kvm_cpuid2 __user *arg);
int umbra_get_supported_cpuid(struct kvm_cpuid2 __user *arg);

/* msr.c: the MSR ioctls */
int umbra_get_msr_index_list(struct kvm_msr_list __user *arg);
int umbra_vcpu_msrs(struct umbra_vcpu *vcpu, struct kvm_msrs __user *arg,
		    bool set);

/* regs.c: register state, its reset values and its legality */
void umbra_regs_reset(struct umbra_vcpu *vcpu);
const char *umbra_sregs_invalid(const struct kvm_sregs *sregs,
				const struct umbra_guest_caps *caps);
int umbra_vcpu_set_sregs(struct umbra_vcpu *vcpu, const struct kvm_sregs *sregs);
void umbra_vcpu_get_sregs(struct umbra_vcpu *vcpu, struct kvm_sregs *sregs);
void umbra_vcpu_set_regs(struct umbra_vcpu *vcpu, const struct kvm_regs *regs);
void umbra_vcpu_get_regs(struct umbra_vcpu *vcpu, struct kvm_regs *regs);

#endif /* _UMBRA_CORE_H */
