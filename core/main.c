// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - module init and /dev/umbra
 *
 * What it owns:
 *   module load and unload, the misc device /dev/umbra (mode 0600; a udev
 *   rule may hand it to a group), and the system ioctls: KVM_GET_API_VERSION,
 *   KVM_CREATE_VM, KVM_CHECK_EXTENSION, KVM_GET_VCPU_MMAP_SIZE and
 *   UMBRA_GET_GLOBAL_STATS.
 *
 * Every fd umbra hands out (system, VM, vCPU) pins the module through its
 * file_operations' owner, so `rmmod umbra` fails with EBUSY until the last
 * fd is closed, and by then every VM has been freed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>
#include <uapi/umbra.h>
#include <umbra/backend.h>
#include "core.h"

const struct umbra_backend_ops *umbra_backend = &umbra_svm_ops;
struct umbra_counters umbra_counters;

static long get_global_stats(void __user *argp)
{
	struct umbra_global_stats st = {
		.vms = atomic64_read(&umbra_counters.vms),
		.vcpus = atomic64_read(&umbra_counters.vcpus),
		.memslots = atomic64_read(&umbra_counters.memslots),
		.svm_users = umbra_backend->users(),
	};

	return copy_to_user(argp, &st, sizeof(st)) ? -EFAULT : 0;
}

static long umbra_dev_ioctl(struct file *file, unsigned int ioctl,
			    unsigned long arg)
{
	switch (ioctl) {
	case KVM_GET_API_VERSION:
		return arg ? -EINVAL : KVM_API_VERSION;
	case KVM_CREATE_VM:
		return umbra_vm_create(arg);
	case KVM_CHECK_EXTENSION:
		return umbra_check_extension(NULL, arg);
	case KVM_GET_VCPU_MMAP_SIZE:
		return arg ? -EINVAL : UMBRA_VCPU_MMAP_PAGES * PAGE_SIZE;
	case KVM_GET_SUPPORTED_CPUID:
		return umbra_get_supported_cpuid((void __user *)arg);
	case KVM_GET_MSR_INDEX_LIST:
		return umbra_get_msr_index_list((void __user *)arg);
	case UMBRA_GET_GLOBAL_STATS:
		return get_global_stats((void __user *)arg);
	default:
		return -EINVAL;		/* KVM's answer on the system fd */
	}
}

static const struct file_operations umbra_dev_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= umbra_dev_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice umbra_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "umbra",
	.fops	= &umbra_dev_fops,
	.mode	= 0600,
};

static int __init umbra_init(void)
{
	int r;

	r = umbra_backend->init();
	if (r)
		return r;

	r = misc_register(&umbra_dev);
	if (r) {
		pr_err("cannot register /dev/umbra: %d\n", r);
		umbra_backend->exit();
		return r;
	}
	pr_info("ready: /dev/umbra (backend %s, KVM API %d)\n",
		umbra_backend->name, KVM_API_VERSION);
	return 0;
}

static void __exit umbra_exit(void)
{
	misc_deregister(&umbra_dev);
	umbra_backend->exit();
}

module_init(umbra_init);
module_exit(umbra_exit);
MODULE_DESCRIPTION("umbra: paravirtual shadow-MMU hypervisor speaking the KVM API");
MODULE_LICENSE("GPL");
