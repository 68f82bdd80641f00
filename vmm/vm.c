// SPDX-License-Identifier: GPL-2.0
/*
 * vm.c - the hypervisor device, the VM and its memory.
 *
 * Parts: opening the device with a hint when it is missing or busy,
 * checking the API version and the vCPU count against KVM_CAP_MAX_VCPUS,
 * KVM_CREATE_VM, guest RAM (one anonymous MAP_NORESERVE mapping, so a large
 * --mem costs only what the guest touches) as memslot 0 at gpa 0, and
 * vm_destroy(), which undoes whatever part of that was done.
 *
 * Nothing here tells umbra from KVM: what differs is asked for with
 * KVM_CHECK_EXTENSION, so the VMM behaves the same on both devices.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm.h"

#define KVM_API_VERSION_WANTED	12

/* The device's family, for hints only: "kvm" in the name or not. */
static bool dev_is_kvm(const char *dev)
{
	const char *base = strrchr(dev, '/');

	return strstr(base ? base + 1 : dev, "kvm") != NULL;
}

static int open_dev(struct vm *vm, const char *dev)
{
	const char *hint = "";

	vm->sys_fd = open(dev, O_RDWR | O_CLOEXEC);
	if (vm->sys_fd >= 0)
		return 0;

	switch (errno) {
	case ENOENT:
	case ENXIO:
	case ENODEV:
		hint = dev_is_kvm(dev) ?
			" (is kvm_amd loaded? try modprobe kvm_amd, or --dev /dev/umbra)" :
			" (is umbra.ko loaded? try insmod umbra.ko, or --dev /dev/kvm)";
		break;
	case EACCES:
	case EPERM:
		hint = " (run as root, or give your group access with a udev rule, see README.md)";
		break;
	}
	err("%s: %s%s", dev, strerror(errno), hint);
	return -1;
}

/* KVM_CHECK_EXTENSION on the VM if there is one, else on the device. */
int vm_check_extension(struct vm *vm, long cap)
{
	int r = ioctl(vm->vm_fd >= 0 ? vm->vm_fd : vm->sys_fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

static int check_dev(struct vm *vm)
{
	const char *dev = vm->opts->dev;
	int r, max;

	r = ioctl(vm->sys_fd, KVM_GET_API_VERSION, 0);
	if (r < 0) {
		err("%s: KVM_GET_API_VERSION: %s (is this a KVM-API device?)", dev, strerror(errno));
		return -1;
	}
	if (r != KVM_API_VERSION_WANTED) {
		err("%s: KVM_GET_API_VERSION is %d, " PROG " speaks %d", dev, r,
		    KVM_API_VERSION_WANTED);
		return -1;
	}

	/* KVM's rule: without KVM_CAP_MAX_VCPUS, use KVM_CAP_NR_VCPUS. */
	max = vm_check_extension(vm, KVM_CAP_MAX_VCPUS);
	if (max <= 0)
		max = vm_check_extension(vm, KVM_CAP_NR_VCPUS);
	if (max > 0 && vm->nr_cpus > (unsigned int)max) {
		err("--cpus %u: %s supports at most %d vCPUs (KVM_CAP_MAX_VCPUS)",
		    vm->nr_cpus, dev, max);
		return -1;
	}

	r = ioctl(vm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r < 0) {
		err("%s: KVM_GET_VCPU_MMAP_SIZE: %s", dev, strerror(errno));
		return -1;
	}
	if ((size_t)r < sizeof(struct kvm_run)) {
		err("%s: KVM_GET_VCPU_MMAP_SIZE is %d, less than struct kvm_run (%zu)", dev, r,
		    sizeof(struct kvm_run));
		return -1;
	}
	vm->run_size = r;
	return 0;
}

static int create_vm(struct vm *vm)
{
	const char *dev = vm->opts->dev;
	const char *hint = "";

	vm->vm_fd = ioctl(vm->sys_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd >= 0)
		return 0;
	if (errno == EBUSY)
		hint = dev_is_kvm(dev) ?
			" (another hypervisor owns AMD-V: rmmod umbra, or use --dev /dev/umbra)" :
			" (kvm_amd owns AMD-V: run rmmod kvm_amd, or use --dev /dev/kvm)";
	else if (errno == ENOMEM)
		hint = " (out of memory)";
	err("%s: KVM_CREATE_VM: %s%s", dev, strerror(errno), hint);
	vm->vm_fd = -1;
	return -1;
}

static int create_ram(struct vm *vm)
{
	struct kvm_userspace_memory_region region;
	char buf[32];
	void *p;

	p = mmap(NULL, vm->mem_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		err("cannot map %s of guest RAM: %s (try a smaller --mem)",
		    size_str(vm->mem_size, buf, sizeof(buf)), strerror(errno));
		return -1;
	}
	vm->ram = p;

	region = (struct kvm_userspace_memory_region) {
		.slot = 0,
		.flags = 0,
		.guest_phys_addr = 0,
		.memory_size = vm->mem_size,
		.userspace_addr = (__u64)(uintptr_t)p,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region)) {
		err("%s: KVM_SET_USER_MEMORY_REGION (slot 0, %s at gpa 0): %s%s", vm->opts->dev,
		    size_str(vm->mem_size, buf, sizeof(buf)), strerror(errno),
		    errno == EINVAL ? " (too much RAM for this host? try a smaller --mem)" : "");
		return -1;
	}
	info(vm->opts, "RAM: %s at gpa 0, host %p", size_str(vm->mem_size, buf, sizeof(buf)), p);
	return 0;
}

/**
 * vm_create() - open the device and create the VM with its RAM
 * @vm:		zeroed, with sys_fd and vm_fd at -1 and the image read
 * @opts:	the options
 *
 * Return: 0, or -1 after saying what failed; vm_destroy() cleans up either way.
 */
int vm_create(struct vm *vm, const struct vmm_opts *opts)
{
	vm->opts = opts;
	vm->mem_size = opts->mem_size;
	vm->nr_cpus = opts->nr_cpus;
	vm->run.done_fd = -1;

	vm->vcpus = calloc(vm->nr_cpus, sizeof(*vm->vcpus));
	if (!vm->vcpus) {
		err("out of memory");
		return -1;
	}
	for (unsigned int i = 0; i < vm->nr_cpus; i++)
		vm->vcpus[i].fd = -1;

	if (open_dev(vm, opts->dev) || check_dev(vm) || create_vm(vm) || create_ram(vm))
		return -1;
	return 0;
}

void vm_destroy(struct vm *vm)
{
	unsigned int i;

	if (vm->vcpus) {
		for (i = 0; i < vm->nr_cpus; i++)
			vcpu_destroy(&vm->vcpus[i]);
		free(vm->vcpus);
		vm->vcpus = NULL;
	}
	free(vm->cpuid);
	vm->cpuid = NULL;
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	vm->vm_fd = -1;
	if (vm->ram)
		munmap(vm->ram, vm->mem_size);
	vm->ram = NULL;
	if (vm->sys_fd >= 0)
		close(vm->sys_fd);
	vm->sys_fd = -1;
	if (vm->run.done_fd >= 0)
		close(vm->run.done_fd);
	vm->run.done_fd = -1;
}
