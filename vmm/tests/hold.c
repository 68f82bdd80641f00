// SPDX-License-Identifier: GPL-2.0
/*
 * hold.c - keep one VM with one vCPU (no in-kernel irqchip) alive on DEV
 * until killed, printing "held" once it exists.
 *
 * Why: creating the first VM and vCPU on KVM enables two static keys
 * (preempt_notifier_key, kvm_has_noapic_vcpu) and destroying the last
 * disables them, which live-patches kernel text with int3 (text_poke_bp).
 * Under the test host's TCG emulation that patching intermittently oopses
 * ("Oops: int3" in __schedule).  Holding a VM for the whole suite keeps
 * the keys on, so the many short umbra-run VMs patch nothing.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

int main(int argc, char **argv)
{
	int sys, vm, vcpu;

	if (argc != 2) {
		fprintf(stderr, "usage: hold DEV\n");
		return 2;
	}
	sys = open(argv[1], O_RDWR | O_CLOEXEC);
	if (sys < 0) {
		fprintf(stderr, "hold: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	vm = ioctl(sys, KVM_CREATE_VM, 0);
	if (vm < 0) {
		fprintf(stderr, "hold: KVM_CREATE_VM: %s\n", strerror(errno));
		return 1;
	}
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0) {
		fprintf(stderr, "hold: KVM_CREATE_VCPU: %s\n", strerror(errno));
		return 1;
	}
	printf("held\n");
	fflush(stdout);
	for (;;)
		pause();
}
