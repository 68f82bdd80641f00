// SPDX-License-Identifier: GPL-2.0
/*
 * vmctl - tiny driver for the shell-level integration tests
 *
 *   vmctl create DEV        create a VM, print "ok" or the errno name
 *   vmctl hold DEV SECS     create a VM with a memslot and a vCPU, print
 *                           "held", keep it for SECS seconds (or until killed)
 *   vmctl stats [DEV]       print umbra's live-object counts (default
 *                           /dev/umbra): "vms=N vcpus=N memslots=N svm_users=N"
 *   vmctl demo DEV          walk through the API step by step, saying what
 *                           each call did (make demo)
 *
 * Exit status: 0 on success, 1 when the operation failed, 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>
#include "umbra.h"

static const char *errname(int e)
{
	switch (e) {
	case EBUSY: return "EBUSY";
	case EINVAL: return "EINVAL";
	case ENOENT: return "ENOENT";
	case ENODEV: return "ENODEV";
	case ENXIO: return "ENXIO";
	case EACCES: return "EACCES";
	case ENOMEM: return "ENOMEM";
	default: return strerror(e);
	}
}

static int open_dev(const char *dev)
{
	int fd = open(dev, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		printf("%s\n", errname(errno));
		exit(1);
	}
	return fd;
}

static int create(const char *dev)
{
	int sys = open_dev(dev), vm = ioctl(sys, KVM_CREATE_VM, 0);

	if (vm < 0) {
		printf("%s\n", errname(errno));
		return 1;
	}
	printf("ok\n");
	return 0;
}

static int hold(const char *dev, unsigned int secs)
{
	int sys = open_dev(dev), vm, vcpu;
	struct kvm_userspace_memory_region mem = { .memory_size = 1 << 20 };
	void *p;

	vm = ioctl(sys, KVM_CREATE_VM, 0);
	if (vm < 0) {
		printf("%s\n", errname(errno));
		return 1;
	}
	p = mmap(NULL, mem.memory_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mem.userspace_addr = (unsigned long)p;
	if (p == MAP_FAILED || ioctl(vm, KVM_SET_USER_MEMORY_REGION, &mem) ||
	    (vcpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0) {
		printf("%s\n", errname(errno));
		return 1;
	}
	printf("held\n");
	fflush(stdout);
	sleep(secs);
	return 0;
}

static int stats(const char *dev)
{
	struct umbra_global_stats st;
	int sys = open_dev(dev);

	if (ioctl(sys, UMBRA_GET_GLOBAL_STATS, &st)) {
		printf("%s\n", errname(errno));
		return 1;
	}
	printf("vms=%llu vcpus=%llu memslots=%llu svm_users=%llu\n",
	       (unsigned long long)st.vms, (unsigned long long)st.vcpus,
	       (unsigned long long)st.memslots, (unsigned long long)st.svm_users);
	return 0;
}

#define STEP(fmt, ...) printf("  %-44s " fmt "\n", __VA_ARGS__)

static int demo(const char *dev)
{
	struct kvm_userspace_memory_region mem = { .slot = 0, .memory_size = 16 << 20 };
	int sys = open_dev(dev), vm, vcpu, r, size;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	void *p;

	printf("%s:\n", dev);
	STEP("%d", "KVM_GET_API_VERSION", ioctl(sys, KVM_GET_API_VERSION, 0));
	STEP("%d", "KVM_CHECK_EXTENSION(NR_MEMSLOTS)",
	     ioctl(sys, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS));
	STEP("%d", "KVM_CHECK_EXTENSION(MAX_VCPUS)",
	     ioctl(sys, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS));
	size = ioctl(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	STEP("%d bytes", "KVM_GET_VCPU_MMAP_SIZE", size);
	vm = ioctl(sys, KVM_CREATE_VM, 0);
	if (vm < 0) {
		STEP("failed: %s", "KVM_CREATE_VM", errname(errno));
		return 1;
	}
	STEP("fd %d", "KVM_CREATE_VM", vm);
	p = mmap(NULL, mem.memory_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mem.userspace_addr = (unsigned long)p;
	r = ioctl(vm, KVM_SET_USER_MEMORY_REGION, &mem);
	STEP("%s (16 MiB at gpa 0, hva %p)", "KVM_SET_USER_MEMORY_REGION",
	     r ? errname(errno) : "ok", p);
	mem.guest_phys_addr = 8 << 20;
	mem.slot = 1;
	r = ioctl(vm, KVM_SET_USER_MEMORY_REGION, &mem);
	STEP("%s (as KVM says)", "  same range again in slot 1 -> overlap",
	     r ? errname(errno) : "accepted?!");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	STEP("fd %d", "KVM_CREATE_VCPU(0)", vcpu);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	STEP("%s", "mmap(vcpu fd) -> struct kvm_run", p == MAP_FAILED ? "failed" : "ok");
	ioctl(vcpu, KVM_GET_REGS, &regs);
	ioctl(vcpu, KVM_GET_SREGS, &sregs);
	STEP("rip=%#llx rflags=%#llx", "KVM_GET_REGS (reset state)",
	     (unsigned long long)regs.rip, (unsigned long long)regs.rflags);
	STEP("cs=%#x:%#llx cr0=%#llx", "KVM_GET_SREGS (reset state)",
	     sregs.cs.selector, (unsigned long long)sregs.cs.base,
	     (unsigned long long)sregs.cr0);
	sregs.cr0 |= 1ULL << 31;		/* PG without PE */
	r = ioctl(vcpu, KVM_SET_SREGS, &sregs);
	STEP("%s", "KVM_SET_SREGS(CR0.PG without PE)", r ? errname(errno) : "accepted?!");
	r = ioctl(vcpu, KVM_RUN, 0);
	STEP("%s", "KVM_RUN", r ? strerror(errno) : "ran");
	close(vcpu);
	close(vm);
	close(sys);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "demo"))
		return demo(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "create"))
		return create(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "hold"))
		return hold(argv[2], atoi(argv[3]));
	if ((argc == 2 || argc == 3) && !strcmp(argv[1], "stats"))
		return stats(argc == 3 ? argv[2] : "/dev/umbra");
	fprintf(stderr, "usage: vmctl create DEV | hold DEV SECS | stats [DEV] | demo DEV\n");
	return 2;
}
