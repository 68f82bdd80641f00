// SPDX-License-Identifier: GPL-2.0
/*
 * vm.c - the VM object and its fd
 *
 * What it owns:
 *   creation (KVM_CREATE_VM on /dev/umbra), the reference count, teardown,
 *   and the VM fd's ioctls.
 *
 * A VM holds the hardware backend (umbra_backend->get()) for its whole
 * life, so AMD-V is enabled exactly while some VM exists.
 *
 * Lifetime and locking: see include/umbra/vm.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <umbra/backend.h>
#include <umbra/mmu.h>
#include "core.h"

/* Flags the v1 ioctl may carry; anything else is a v2-only flag. */
#define UMBRA_MEM_V1_FLAGS	(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY)

void umbra_vm_get(struct umbra_vm *vm)
{
	kref_get(&vm->ref);
}

static void umbra_vm_destroy(struct kref *ref)
{
	struct umbra_vm *vm = container_of(ref, struct umbra_vm, ref);
	struct umbra_memslots *slots;
	unsigned int i;

	for (i = 0; i < UMBRA_MAX_VCPUS; i++)
		if (vm->vcpus[i])
			umbra_vcpu_free(vm->vcpus[i]);
	umbra_mmu_vm_destroy(vm);

	/* Last reference: no reader can be inside the SRCU section. */
	slots = rcu_dereference_protected(vm->memslots, 1);
	atomic64_sub(slots->nr, &umbra_counters.memslots);
	umbra_memslots_free(slots);

	cleanup_srcu_struct(&vm->srcu);
	mmdrop(vm->mm);
	umbra_backend->put();
	kfree(vm);
	atomic64_dec(&umbra_counters.vms);
}

void umbra_vm_put(struct umbra_vm *vm)
{
	kref_put(&vm->ref, umbra_vm_destroy);
}

static int umbra_vm_release(struct inode *inode, struct file *file)
{
	umbra_vm_put(file->private_data);
	return 0;
}

static long vm_set_memory_region(struct umbra_vm *vm, unsigned int ioctl,
				 void __user *argp)
{
	struct kvm_userspace_memory_region2 mem;
	size_t size;

	/* The v1 struct is a prefix of v2; the rest stays zero. */
	memset(&mem, 0, sizeof(mem));
	size = ioctl == KVM_SET_USER_MEMORY_REGION ?
	       sizeof(struct kvm_userspace_memory_region) : sizeof(mem);
	if (copy_from_user(&mem, argp, size))
		return -EFAULT;
	if (ioctl == KVM_SET_USER_MEMORY_REGION &&
	    (mem.flags & ~UMBRA_MEM_V1_FLAGS))
		return -EINVAL;
	return umbra_vm_set_memory_region(vm, &mem);
}

static long umbra_vm_ioctl(struct file *file, unsigned int ioctl,
			   unsigned long arg)
{
	struct umbra_vm *vm = file->private_data;
	void __user *argp = (void __user *)arg;

	/* Memslot addresses belong to the creator's mm only. */
	if (vm->mm != current->mm)
		return -EIO;

	switch (ioctl) {
	case KVM_CREATE_VCPU:
		return umbra_vcpu_create(vm, arg);
	case KVM_SET_USER_MEMORY_REGION:
	case KVM_SET_USER_MEMORY_REGION2:
		return vm_set_memory_region(vm, ioctl, argp);
	case KVM_CHECK_EXTENSION:
		return umbra_check_extension(vm, arg);
	default:
		return -ENOTTY;		/* KVM's answer on a VM fd */
	}
}

static const struct file_operations umbra_vm_fops = {
	.owner		= THIS_MODULE,
	.release	= umbra_vm_release,
	.unlocked_ioctl	= umbra_vm_ioctl,
	.llseek		= noop_llseek,
};

/**
 * umbra_vm_create - KVM_CREATE_VM
 * @type: the machine type; umbra has only type 0 (KVM_X86_DEFAULT_VM)
 *
 * Context: process context.
 * Return: the new VM fd, -EINVAL for another type, -EBUSY if another
 * hypervisor owns AMD-V, -ENOMEM, or an error from installing the fd.
 */
int umbra_vm_create(unsigned long type)
{
	struct umbra_vm *vm;
	int r;

	if (type != KVM_X86_DEFAULT_VM)
		return -EINVAL;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;
	kref_init(&vm->ref);
	mutex_init(&vm->lock);

	r = -ENOMEM;
	RCU_INIT_POINTER(vm->memslots, umbra_memslots_alloc_empty());
	if (!rcu_access_pointer(vm->memslots))
		goto free_vm;
	r = init_srcu_struct(&vm->srcu);
	if (r)
		goto free_slots;
	r = umbra_backend->get();
	if (r)
		goto free_srcu;

	mmgrab(current->mm);
	vm->mm = current->mm;
	r = umbra_mmu_vm_init(vm);
	if (r) {
		mmdrop(vm->mm);
		umbra_backend->put();
		goto free_srcu;
	}
	atomic64_inc(&umbra_counters.vms);

	/* From here on the fd owns the VM: its release frees everything. */
	r = anon_inode_getfd("umbra-vm", &umbra_vm_fops, vm, O_RDWR | O_CLOEXEC);
	if (r < 0)
		umbra_vm_put(vm);
	return r;

free_srcu:
	cleanup_srcu_struct(&vm->srcu);
free_slots:
	kvfree(rcu_access_pointer(vm->memslots));
free_vm:
	kfree(vm);
	return r;
}
