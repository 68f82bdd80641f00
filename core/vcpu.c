// SPDX-License-Identifier: GPL-2.0
/*
 * vcpu.c - the vCPU object and its fd
 *
 * What it owns:
 *   creation of vCPUs (KVM_CREATE_VCPU on a VM fd), the vCPU fd's ioctls,
 *   and its mmap: page 0 is struct kvm_run, page 1 the PIO data page, any
 *   other page raises SIGBUS on access, as in KVM.
 *
 * Lifetime: see include/umbra/vm.h.  The vCPU fd holds a VM reference; the
 * vCPU itself is freed with its VM (umbra_vcpu_free() from vm.c).
 *
 * Locking: umbra_vcpu.mutex serialises every ioctl on one vCPU; creation
 * runs under umbra_vm.lock.
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

static vm_fault_t umbra_vcpu_fault(struct vm_fault *vmf)
{
	struct umbra_vcpu *vcpu = vmf->vma->vm_file->private_data;
	struct page *page;

	switch (vmf->pgoff) {
	case UMBRA_VCPU_RUN_PAGE:
		page = virt_to_page(vcpu->run);
		break;
	case UMBRA_VCPU_PIO_PAGE:
		page = virt_to_page(vcpu->pio_data);
		break;
	default:
		return VM_FAULT_SIGBUS;
	}
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct umbra_vcpu_vm_ops = {
	.fault = umbra_vcpu_fault,
};

static int umbra_vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	vma->vm_ops = &umbra_vcpu_vm_ops;
	return 0;
}

static int umbra_vcpu_release(struct inode *inode, struct file *file)
{
	struct umbra_vcpu *vcpu = file->private_data;

	umbra_vm_put(vcpu->vm);
	return 0;
}

static long vcpu_ioctl_locked(struct umbra_vcpu *vcpu, unsigned int ioctl,
			      void __user *argp)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;

	switch (ioctl) {
	case KVM_RUN:
		if (argp)
			return -EINVAL;		/* as KVM: the argument is unused */
		return umbra_backend->vcpu_run(vcpu);
	case KVM_GET_REGS:
		umbra_vcpu_get_regs(vcpu, &regs);
		if (copy_to_user(argp, &regs, sizeof(regs)))
			return -EFAULT;
		return 0;
	case KVM_SET_REGS:
		if (copy_from_user(&regs, argp, sizeof(regs)))
			return -EFAULT;
		umbra_vcpu_set_regs(vcpu, &regs);
		return 0;
	case KVM_GET_SREGS:
		umbra_vcpu_get_sregs(vcpu, &sregs);
		if (copy_to_user(argp, &sregs, sizeof(sregs)))
			return -EFAULT;
		return 0;
	case KVM_SET_SREGS:
		if (copy_from_user(&sregs, argp, sizeof(sregs)))
			return -EFAULT;
		return umbra_vcpu_set_sregs(vcpu, &sregs);
	case KVM_SET_CPUID2:
		return umbra_vcpu_set_cpuid2(vcpu, argp);
	case KVM_GET_CPUID2:
		return umbra_vcpu_get_cpuid2(vcpu, argp);
	case KVM_GET_MSRS:
	case KVM_SET_MSRS:
		return umbra_vcpu_msrs(vcpu, argp, ioctl == KVM_SET_MSRS);
	case KVM_GET_FPU:
		memset(&fpu, 0, sizeof(fpu));
		umbra_backend->get_fpu(vcpu, &fpu);
		return copy_to_user(argp, &fpu, sizeof(fpu)) ? -EFAULT : 0;
	case KVM_SET_FPU:
		if (copy_from_user(&fpu, argp, sizeof(fpu)))
			return -EFAULT;
		umbra_backend->set_fpu(vcpu, &fpu);
		return 0;
	default:
		return -EINVAL;		/* KVM's answer on a vCPU fd */
	}
}

static long umbra_vcpu_ioctl(struct file *file, unsigned int ioctl,
			     unsigned long arg)
{
	struct umbra_vcpu *vcpu = file->private_data;
	long r;

	/* Guest memory addresses belong to the creator's mm only. */
	if (vcpu->vm->mm != current->mm)
		return -EIO;
	if (ioctl == UMBRA_GET_VCPU_STATS) {
		umbra_mmu_stats(vcpu->vm, &vcpu->stats.shadow_pages_created,
				&vcpu->stats.shadow_pages_zapped);
		return copy_to_user((void __user *)arg, &vcpu->stats,
				    sizeof(vcpu->stats)) ? -EFAULT : 0;
	}
	if (_IOC_TYPE(ioctl) != KVMIO)
		return -EINVAL;
	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;
	r = vcpu_ioctl_locked(vcpu, ioctl, (void __user *)arg);
	mutex_unlock(&vcpu->mutex);
	return r;
}

static const struct file_operations umbra_vcpu_fops = {
	.owner		= THIS_MODULE,
	.release	= umbra_vcpu_release,
	.unlocked_ioctl	= umbra_vcpu_ioctl,
	.mmap		= umbra_vcpu_mmap,
	.llseek		= noop_llseek,
};

/**
 * umbra_vcpu_free - free a vCPU; only its VM's destructor calls this
 * @vcpu: the vCPU, no longer reachable from any fd
 */
void umbra_vcpu_free(struct umbra_vcpu *vcpu)
{
	umbra_backend->vcpu_free(vcpu);
	umbra_mmu_vcpu_destroy(vcpu);
	kvfree(vcpu->cpuid);
	free_page((unsigned long)vcpu->run);
	free_page((unsigned long)vcpu->pio_data);
	kfree(vcpu);
	atomic64_dec(&umbra_counters.vcpus);
}

static struct umbra_vcpu *vcpu_alloc(struct umbra_vm *vm, unsigned int id)
{
	struct umbra_vcpu *vcpu;

	vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);
	if (!vcpu)
		return NULL;
	vcpu->run = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vcpu->pio_data = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->run || !vcpu->pio_data) {
		free_page((unsigned long)vcpu->run);
		free_page((unsigned long)vcpu->pio_data);
		kfree(vcpu);
		return NULL;
	}
	atomic64_inc(&umbra_counters.vcpus);

	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->cpu = -1;
	mutex_init(&vcpu->mutex);
	umbra_cpuid_caps(NULL, 0, &vcpu->caps);
	umbra_regs_reset(vcpu);
	if (umbra_mmu_vcpu_init(vcpu) || umbra_backend->vcpu_create(vcpu)) {
		umbra_vcpu_free(vcpu);
		return NULL;
	}
	return vcpu;
}

static void vcpu_kick_ipi(void *unused)
{
	/* Nothing to do: the interrupt itself forced the #VMEXIT. */
}

/**
 * umbra_vcpu_request - ask a vCPU to act before it next enters the guest
 * @vcpu: the vCPU
 * @req: what to do
 *
 * If the vCPU is in the guest on another CPU right now, an IPI forces it
 * out.  The order closes the race with entry: the request bit is set
 * before umbra_vcpu.cpu is read here, and the entry path publishes cpu
 * before it reads the request bits (svm/run.c), with a full barrier on
 * both sides, so either the entry sees the bit or this sees the cpu.
 *
 * Context: any context where IPIs may be sent (interrupts enabled).
 */
void umbra_vcpu_request(struct umbra_vcpu *vcpu, enum umbra_vcpu_request req)
{
	int cpu;

	set_bit(req, &vcpu->requests);
	/* The request before cpu is read; pairs with smp_mb() in svm/run.c. */
	smp_mb__after_atomic();
	cpu = READ_ONCE(vcpu->cpu);
	if (cpu >= 0 && cpu != raw_smp_processor_id())
		smp_call_function_single(cpu, vcpu_kick_ipi, NULL, 0);
}

/**
 * umbra_vcpu_create - KVM_CREATE_VCPU
 * @vm: the VM
 * @id: the vCPU id from userspace
 *
 * Context: process context; takes umbra_vm.lock.
 * Return: the new vCPU fd, -EINVAL for an id out of range, -EEXIST for an
 * id in use, -ENOMEM, or an error from installing the fd.
 */
int umbra_vcpu_create(struct umbra_vm *vm, unsigned long id)
{
	struct umbra_vcpu *vcpu;
	char name[24];
	int fd;

	if (id >= UMBRA_MAX_VCPUS)
		return -EINVAL;

	mutex_lock(&vm->lock);
	fd = -EEXIST;
	if (vm->vcpus[id])
		goto out;
	fd = -ENOMEM;
	vcpu = vcpu_alloc(vm, id);
	if (!vcpu)
		goto out;

	/* The fd's reference; dropped by umbra_vcpu_release(). */
	umbra_vm_get(vm);
	/*
	 * Counted before its fd exists, so before it can run: a vCPU that
	 * writes guest page tables is always in the count (mmu/pte_write.c
	 * skips a re-read that only a second vCPU makes necessary).
	 */
	WRITE_ONCE(vm->nr_vcpus, vm->nr_vcpus + 1);
	snprintf(name, sizeof(name), "umbra-vcpu:%lu", id);
	fd = anon_inode_getfd(name, &umbra_vcpu_fops, vcpu, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		/* Not published, so no one else can see it: free it here. */
		WRITE_ONCE(vm->nr_vcpus, vm->nr_vcpus - 1);
		umbra_vcpu_free(vcpu);
		mutex_unlock(&vm->lock);
		umbra_vm_put(vm);
		return fd;
	}
	vm->vcpus[id] = vcpu;
out:
	mutex_unlock(&vm->lock);
	return fd;
}
