/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vm_env.h - a small VM for the KUnit suites that run the real shadow MMU
 *
 * What a suite gets (kunit/vm_env.c): guest RAM in user memory of the test
 * thread (kunit_vm_mmap(), which also gives the thread an mm), memslots
 * published with core/memslot.c's own helpers, the shadow MMU
 * (umbra_mmu_vm_init(), its MMU notifier on that mm) and vCPUs with their
 * MMU state, in vm->vcpus[] as real ones are.
 *
 * Everything is torn down through KUnit actions, so a failed assertion
 * cleans up too.  The actions run in KUnit's cleanup thread after the test
 * thread, and with it the mm's last user, has exited: the MMU notifier's
 * release has zapped the shadow by then, and the vCPU and VM teardown free
 * what is left.
 */
#ifndef _UMBRA_KUNIT_VM_ENV_H
#define _UMBRA_KUNIT_VM_ENV_H

#include <linux/types.h>

struct kunit;
struct kvm_cpuid_entry2;
struct umbra_sp;
struct umbra_vcpu;
struct umbra_vm;

unsigned long umbra_kunit_user_pages(struct kunit *test, unsigned int npages);
struct umbra_vm *umbra_kunit_vm_create(struct kunit *test);
void umbra_kunit_add_slot(struct kunit *test, struct umbra_vm *vm, u32 id,
			  u64 gfn, u64 npages, unsigned long hva, u32 flags);
struct umbra_vcpu *umbra_kunit_add_vcpu(struct kunit *test, struct umbra_vm *vm,
					unsigned int id,
					const struct kvm_cpuid_entry2 *cpuid,
					unsigned int nent);
void umbra_kunit_long_mode(struct umbra_vcpu *vcpu, u64 cr3, bool nxe);
struct umbra_sp *umbra_kunit_find_sp(struct umbra_vm *vm, u64 gfn, int level);
u64 umbra_kunit_host_pfn(struct kunit *test, unsigned long hva);

#endif /* _UMBRA_KUNIT_VM_ENV_H */
