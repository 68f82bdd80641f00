// SPDX-License-Identifier: GPL-2.0
/*
 * vcpu.c - one vCPU: its creation and entry state, its thread
 * ("umbra-vcpu-N") and the KVM_RUN loop that dispatches its exits.
 *
 * Exits and what they mean:
 *   IO              ioport.c (serial, exit port; anything else is an error)
 *   HLT             this vCPU is done (interrupts are off and nothing sends
 *                   any); run.c ends the VM when all are
 *   MMIO            an error: umbra-run has no MMIO devices
 *   SHUTDOWN        triple fault
 *   FAIL_ENTRY      the hardware refused VMRUN/VMLAUNCH
 *   INTERNAL_ERROR  the hypervisor gave up (e.g. emulation failed)
 *   KVM_RUN EINTR   a signal: run.c's kick when stopping, else go on
 * Every error ends the VM through vcpu_fatal(), which keeps only the first
 * reason (run_end()) and dumps that vCPU's registers.
 */
#define _GNU_SOURCE	/* pthread_setname_np() */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm.h"

/**
 * vcpu_create() - create vCPU @id with its run page, CPUID and entry state
 * @vm:	the VM, with the boot area written
 * @id:	0 .. nr_cpus - 1
 *
 * Return: 0, or -1 after naming what failed; vm_destroy() cleans up.
 */
int vcpu_create(struct vm *vm, unsigned int id)
{
	struct vcpu *vcpu = &vm->vcpus[id];
	void *p;

	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (vcpu->fd < 0) {
		err("vcpu %u: KVM_CREATE_VCPU: %s", id, strerror(errno));
		vcpu->fd = -1;
		return -1;
	}
	p = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (p == MAP_FAILED) {
		err("vcpu %u: cannot map its kvm_run (%zu bytes): %s", id, vm->run_size,
		    strerror(errno));
		return -1;
	}
	vcpu->run = p;

	/* CPUID first: it decides which EFER bits KVM_SET_SREGS accepts. */
	if (cpuid_set(vcpu) || boot_set_entry_state(vcpu))
		return -1;
	return 0;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->vm->run_size);
	vcpu->run = NULL;
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->fd = -1;
}

/**
 * vcpu_fatal() - end the VM for a guest or hypervisor error on @vcpu
 * @vcpu:	the vCPU that saw it, from its own thread
 * @dump:	print its registers after the message
 * @fmt:	what happened, and where
 *
 * Only the first error of a run is reported; later ones (often echoes of
 * the first, or vCPUs being stopped) are dropped.
 *
 * Return: true if this was the error reported.
 */
bool vcpu_fatal(struct vcpu *vcpu, bool dump, const char *fmt, ...)
{
	va_list ap;

	if (!run_end(vcpu->vm, RUN_ERROR, VMM_EXIT_ERROR))
		return false;
	serial_flush(&vcpu->line);	/* what the guest said first */
	fprintf(stderr, PROG ": vcpu %u: ", vcpu->id);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (dump)
		regs_dump(vcpu);
	return true;
}

static const char *internal_error_name(__u32 suberror)
{
	switch (suberror) {
	case KVM_INTERNAL_ERROR_EMULATION:	return "instruction emulation failed";
	case KVM_INTERNAL_ERROR_SIMUL_EX:	return "exception while delivering an exception";
	case KVM_INTERNAL_ERROR_DELIVERY_EV:	return "exit while delivering an event";
	case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON: return "unexpected exit reason";
	default:				return "unknown suberror";
	}
}

static void report_internal_error(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char data[256] = "";
	size_t len = 0;
	__u32 i, n = run->internal.ndata;

	if (n > ARRAY_SIZE(run->internal.data))
		n = ARRAY_SIZE(run->internal.data);
	for (i = 0; i < n && len < sizeof(data); i++)
		len += snprintf(data + len, sizeof(data) - len, " 0x%llx",
				(unsigned long long)run->internal.data[i]);
	vcpu_fatal(vcpu, true, "KVM_EXIT_INTERNAL_ERROR: suberror %u (%s), data:%s",
		   run->internal.suberror, internal_error_name(run->internal.suberror),
		   n ? data : " none");
}

static void report_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	unsigned int len = run->mmio.len > 8 ? 8 : run->mmio.len;
	char val[32] = "";
	__u64 v = 0, rip = 0;

	if (run->mmio.is_write) {
		memcpy(&v, run->mmio.data, len);
		snprintf(val, sizeof(val), " of 0x%llx", (unsigned long long)v);
	}
	regs_rip(vcpu, &rip);
	vcpu_fatal(vcpu, true, "MMIO %s%s, %u bytes at gpa 0x%llx, RIP 0x%llx: nothing there (RAM is 0-0x%llx and " PROG " has no MMIO devices)",
		   run->mmio.is_write ? "write" : "read", val, run->mmio.len,
		   (unsigned long long)run->mmio.phys_addr, (unsigned long long)rip,
		   (unsigned long long)vcpu->vm->mem_size - 1);
}

/* Dispatch one exit.  Returns 0 to re-enter the guest, -1 to stop. */
static int vcpu_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	__u32 reason = run->exit_reason;

	if (reason < VMM_NR_EXIT_REASONS)
		vcpu->exits.reason[reason]++;
	else
		vcpu->exits.reason_other++;

	switch (reason) {
	case KVM_EXIT_IO:
		return ioport_exit(vcpu);
	case KVM_EXIT_HLT:
		run_vcpu_halted(vcpu->vm);
		return -1;
	case KVM_EXIT_MMIO:
		report_mmio(vcpu);
		return -1;
	case KVM_EXIT_SHUTDOWN:
		vcpu_fatal(vcpu, true, "guest triple fault (KVM_EXIT_SHUTDOWN)");
		return -1;
	case KVM_EXIT_FAIL_ENTRY:
		vcpu_fatal(vcpu, true, "KVM_EXIT_FAIL_ENTRY: the CPU refused to enter the guest: hardware entry failure reason 0x%llx on host CPU %u",
			   (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
			   run->fail_entry.cpu);
		return -1;
	case KVM_EXIT_INTERNAL_ERROR:
		report_internal_error(vcpu);
		return -1;
	case KVM_EXIT_UNKNOWN:
		vcpu_fatal(vcpu, true, "KVM_EXIT_UNKNOWN: hardware exit reason 0x%llx",
			   (unsigned long long)run->hw.hardware_exit_reason);
		return -1;
	case KVM_EXIT_INTR:
		return 0;
	default:
		vcpu_fatal(vcpu, true, "unexpected exit reason %u (KVM_EXIT_%s) from KVM_RUN",
			   reason, stats_exit_name(reason) ?: "?");
		return -1;
	}
}

static void vcpu_run_failed(struct vcpu *vcpu, int error)
{
	const char *dev = vcpu->vm->opts->dev;

	if (error == EOPNOTSUPP || error == ENOTTY)
		vcpu_fatal(vcpu, false, "KVM_RUN: %s (%s cannot run guests: it does not implement KVM_RUN; try --dev /dev/kvm)",
			   strerror(error), dev);
	else
		vcpu_fatal(vcpu, true, "KVM_RUN: %s", strerror(error));
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;

	while (!run_stopping(vcpu->vm)) {
		if (ioctl(vcpu->fd, KVM_RUN, 0)) {
			int error = errno;

			if (error == EINTR || error == EAGAIN) {
				/* A kick (run.c) or a stray signal: look again. */
				vcpu->exits.intr++;
				continue;
			}
			vcpu_run_failed(vcpu, error);
			break;
		}
		if (vcpu_exit(vcpu))
			break;
	}
	serial_flush(&vcpu->line);
	return NULL;
}

/**
 * vcpu_start() - start the vCPU's thread, named umbra-vcpu-N
 * @vcpu:	created
 *
 * Return: 0, or -1 after saying why.
 */
int vcpu_start(struct vcpu *vcpu)
{
	char name[16];
	int r;

	r = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	if (r) {
		err("vcpu %u: cannot start its thread: %s", vcpu->id, strerror(r));
		return -1;
	}
	vcpu->thread_started = true;
	snprintf(name, sizeof(name), "umbra-vcpu-%u", vcpu->id);
	pthread_setname_np(vcpu->thread, name);
	return 0;
}
