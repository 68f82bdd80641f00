// SPDX-License-Identifier: GPL-2.0
/*
 * vm_env.c - a small VM for the KUnit suites that run the real shadow MMU
 *
 * See vm_env.h for what it builds and how it is torn down.  The pieces are
 * the ones the ioctls use (core/memslot.c's helpers, umbra_mmu_vm_init(),
 * umbra_mmu_vcpu_init()), put together without file descriptors, so a
 * suite drives the MMU exactly as the backend would.
 */
#include <kunit/test.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include "../core/core.h"
#include "../mmu/mmu.h"
#include "vm_env.h"

static void vm_env_srcu_cleanup(void *data)
{
	struct umbra_vm *vm = data;

	cleanup_srcu_struct(&vm->srcu);
}

static void vm_env_memslots_free(void *data)
{
	struct umbra_vm *vm = data;
	struct umbra_memslots *set = rcu_dereference_protected(vm->memslots, 1);

	RCU_INIT_POINTER(vm->memslots, NULL);
	if (set)
		umbra_memslots_free(set);
}

static void vm_env_mmdrop(void *data)
{
	mmdrop(data);
}

static void vm_env_mmu_vm_destroy(void *data)
{
	umbra_mmu_vm_destroy(data);
}

static void vm_env_vcpu_destroy(void *data)
{
	struct umbra_vcpu *vcpu = data;

	vcpu->vm->vcpus[vcpu->id] = NULL;
	vcpu->vm->nr_vcpus--;
	umbra_mmu_vcpu_destroy(vcpu);
}

/**
 * umbra_kunit_user_pages - fresh user memory for the test thread
 * @test: the test
 * @npages: how many pages
 *
 * The first call gives the test thread an mm.
 *
 * Return: the address (the test is aborted if there is none).
 */
unsigned long umbra_kunit_user_pages(struct kunit *test, unsigned int npages)
{
	unsigned long hva;

	hva = kunit_vm_mmap(test, NULL, 0, npages * PAGE_SIZE,
			    PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_NE_MSG(test, hva, 0UL, "no user memory for the guest");
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(hva));
	KUNIT_ASSERT_LT(test, hva, (unsigned long)TASK_SIZE);
	return hva;
}

/**
 * umbra_kunit_vm_create - a VM with no memslot yet and its shadow MMU
 * @test: the test; umbra_kunit_user_pages() must have given it an mm
 *
 * The VM belongs to the test thread's mm, where the MMU notifier goes.
 *
 * Return: the VM (the test is aborted on failure).
 */
struct umbra_vm *umbra_kunit_vm_create(struct kunit *test)
{
	struct umbra_memslots *empty;
	struct umbra_vm *vm;

	KUNIT_ASSERT_NOT_NULL(test, current->mm);
	vm = kunit_kzalloc(test, sizeof(*vm), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vm);
	KUNIT_ASSERT_EQ(test, 0, init_srcu_struct(&vm->srcu));
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, vm_env_srcu_cleanup, vm));
	mutex_init(&vm->lock);
	kref_init(&vm->ref);

	empty = umbra_memslots_alloc_empty();
	KUNIT_ASSERT_NOT_NULL(test, empty);
	rcu_assign_pointer(vm->memslots, empty);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, vm_env_memslots_free, vm));

	mmgrab(current->mm);
	vm->mm = current->mm;
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, vm_env_mmdrop, vm->mm));
	KUNIT_ASSERT_EQ(test, 0, umbra_mmu_vm_init(vm));
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, vm_env_mmu_vm_destroy, vm));
	return vm;
}

/**
 * umbra_kunit_add_slot - add a memslot, as KVM_SET_USER_MEMORY_REGION would
 * @test: the test
 * @vm: the VM (its set is published to no one else, so no grace period)
 * @id: slot id
 * @gfn: first frame
 * @npages: size
 * @hva: the VMM's address of @gfn
 * @flags: KVM_MEM_* flags
 *
 * The old set's rmaps move to the new one.
 */
void umbra_kunit_add_slot(struct kunit *test, struct umbra_vm *vm, u32 id,
			  u64 gfn, u64 npages, unsigned long hva, u32 flags)
{
	struct kvm_userspace_memory_region2 mem = {
		.slot = id, .flags = flags,
		.guest_phys_addr = gfn << PAGE_SHIFT,
		.memory_size = npages << PAGE_SHIFT,
		.userspace_addr = hva,
	};
	struct umbra_memslots *cur = rcu_dereference_protected(vm->memslots, 1);
	struct umbra_memslot_change chg;
	struct umbra_memslots *set;

	KUNIT_ASSERT_EQ(test, 0, umbra_memslot_check(cur, &mem, &chg));
	KUNIT_ASSERT_EQ(test, chg.kind, UMBRA_MR_CREATE);
	chg.slot.rmap = kvcalloc(npages, sizeof(*chg.slot.rmap), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, chg.slot.rmap);
	set = umbra_memslots_apply(cur, &chg);
	if (!set) {
		kvfree(chg.slot.rmap);
		KUNIT_FAIL_AND_ABORT(test, "no memory for the memslot set");
	}
	rcu_assign_pointer(vm->memslots, set);
	kvfree(cur);
}

/**
 * umbra_kunit_add_vcpu - vCPU @id of @vm with its MMU state
 * @test: the test
 * @vm: the VM
 * @id: the vCPU id (its index in vm->vcpus[])
 * @cpuid: its CPUID, which sets vcpu->caps
 * @nent: entries in @cpuid
 *
 * Return: the vCPU, with paging off until umbra_kunit_long_mode().
 */
struct umbra_vcpu *umbra_kunit_add_vcpu(struct kunit *test, struct umbra_vm *vm,
					unsigned int id,
					const struct kvm_cpuid_entry2 *cpuid,
					unsigned int nent)
{
	struct umbra_vcpu *vcpu;
	int r;

	vcpu = kunit_kzalloc(test, sizeof(*vcpu), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vcpu);
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->cpu = -1;
	mutex_init(&vcpu->mutex);
	umbra_cpuid_caps(cpuid, nent, &vcpu->caps);
	r = umbra_mmu_vcpu_init(vcpu);
	vm->vcpus[id] = vcpu;
	vm->nr_vcpus++;
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, vm_env_vcpu_destroy, vcpu));
	KUNIT_ASSERT_EQ(test, r, 0);
	return vcpu;
}

/**
 * umbra_kunit_long_mode - tell @vcpu's MMU it runs in long mode on @cr3
 * @vcpu: the vCPU
 * @cr3: the guest's CR3
 * @nxe: EFER.NXE
 *
 * With CR0.WP, as the backend would report it; the root is loaded lazily
 * (umbra_mmu_load()).
 */
void umbra_kunit_long_mode(struct umbra_vcpu *vcpu, u64 cr3, bool nxe)
{
	struct umbra_paging p = {
		.cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_WP,
		.cr3 = cr3,
		.cr4 = X86_CR4_PAE,
		.efer = EFER_LME | EFER_LMA | (nxe ? EFER_NX : 0),
	};

	umbra_mmu_set_paging(vcpu, &p);
}

/**
 * umbra_kunit_find_sp - the indirect shadow page of @gfn at @level
 * @vm: the VM
 * @gfn: the guest table
 * @level: 1 .. 4
 *
 * Return: the page (the last one found if several roles have one), or NULL.
 */
struct umbra_sp *umbra_kunit_find_sp(struct umbra_vm *vm, u64 gfn, int level)
{
	struct umbra_mmu_vm *mmu = vm->mmu;
	struct umbra_sp *sp, *found = NULL;
	struct hlist_node *tmp;

	spin_lock(&mmu->lock);
	for_each_sp_of_gfn(mmu, sp, tmp, gfn)
		if (sp->role.level == level)
			found = sp;
	spin_unlock(&mmu->lock);
	return found;
}

/**
 * umbra_kunit_host_pfn - the host frame behind user address @hva
 * @test: the test
 * @hva: present user memory
 *
 * Return: the frame (the test is aborted if it cannot be looked up).
 */
u64 umbra_kunit_host_pfn(struct kunit *test, unsigned long hva)
{
	struct page *page;
	u64 pfn;

	KUNIT_ASSERT_EQ(test, 1, get_user_pages_fast(hva, 1, 0, &page));
	pfn = page_to_pfn(page);
	put_page(page);
	return pfn;
}
