// SPDX-License-Identifier: GPL-2.0
/*
 * run.c - the VM as a whole while it runs: starting the vCPU threads,
 * deciding how the run ends, stopping every vCPU and the exit status.
 *
 * How a run ends: the first of
 *   - the guest writes the exit port (ioport.c)
 *   - a guest or hypervisor error (vcpu_fatal())
 *   - every vCPU has executed HLT
 *   - --timeout expires, or SIGINT/SIGTERM arrives (the main thread)
 * calls run_end(), which keeps that reason and status under run.lock and
 * wakes the main thread through an eventfd.  Later calls change nothing.
 *
 * How vCPUs are stopped: the main thread sets immediate_exit in each
 * vCPU's kvm_run and sends its thread SIGKICK, whose handler does nothing.
 * A vCPU inside KVM_RUN returns EINTR; one about to enter it returns at
 * once because of immediate_exit; the loop then sees run_stopping().  The
 * kick repeats until the thread is joined, so a signal that lands just
 * before KVM_RUN on a device without immediate_exit is not lost either.
 *
 * SIGINT and SIGTERM are blocked in every thread and read by the main
 * thread from a signalfd; only the main thread ever waits.
 */
#define _GNU_SOURCE	/* pthread_timedjoin_np(), sigabbrev_np() */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm.h"

#define SIGKICK			SIGUSR1
#define KICK_INTERVAL_MS	20
#define STOP_GIVE_UP_MS		10000

/**
 * run_end() - end the run, unless it has ended already
 * @vm:		the VM
 * @end:	why
 * @status:	umbra-run's exit status for that reason
 *
 * Context: any thread.
 * Return: true if this call ended the run (its reason is the one kept).
 */
bool run_end(struct vm *vm, enum run_end end, int status)
{
	struct run_state *rs = &vm->run;
	__u64 one = 1;
	bool first;

	pthread_mutex_lock(&rs->lock);
	first = rs->end == RUN_RUNNING;
	if (first) {
		__atomic_store_n(&rs->end, end, __ATOMIC_RELEASE);
		rs->status = status;
	}
	pthread_mutex_unlock(&rs->lock);
	if (first && write(rs->done_fd, &one, sizeof(one)) < 0)
		err("eventfd write: %s", strerror(errno));
	return first;
}

bool run_stopping(struct vm *vm)
{
	return __atomic_load_n(&vm->run.end, __ATOMIC_ACQUIRE) != RUN_RUNNING;
}

void run_vcpu_halted(struct vm *vm)
{
	struct run_state *rs = &vm->run;
	bool all;

	pthread_mutex_lock(&rs->lock);
	all = ++rs->halted == vm->nr_cpus;
	pthread_mutex_unlock(&rs->lock);
	if (all)
		run_end(vm, RUN_HALTED, VMM_EXIT_HALTED);
}

static void kick_handler(int sig)
{
	(void)sig;	/* its only job is to make KVM_RUN return EINTR */
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void kick(struct vcpu *vcpu)
{
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(vcpu->thread, SIGKICK);
}

/* Stop and join every vCPU thread; the run has ended already. */
static void stop_vcpus(struct vm *vm)
{
	struct timespec ts;
	unsigned int i, waited;
	int r;

	for (i = 0; i < vm->nr_cpus; i++) {
		struct vcpu *vcpu = &vm->vcpus[i];

		if (!vcpu->thread_started)
			continue;
		for (waited = 0;; waited += KICK_INTERVAL_MS) {
			kick(vcpu);
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += KICK_INTERVAL_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			r = pthread_timedjoin_np(vcpu->thread, NULL, &ts);
			if (r != ETIMEDOUT)
				break;
			if (waited >= STOP_GIVE_UP_MS) {
				/* Freeing what it uses would be worse than leaving. */
				err("vcpu %u does not stop: KVM_RUN ignores signals and immediate_exit; giving up",
				    i);
				_exit(VMM_EXIT_ERROR);
			}
		}
		vcpu->thread_started = false;
	}
}

/* Wait for the end: a vCPU's run_end(), the timeout or a signal. */
static void wait_for_end(struct vm *vm, int sig_fd, double deadline)
{
	struct pollfd fds[2] = {
		{ .fd = vm->run.done_fd, .events = POLLIN },
		{ .fd = sig_fd, .events = POLLIN },
	};
	struct signalfd_siginfo si;
	int timeout_ms, r;

	while (!run_stopping(vm)) {
		timeout_ms = -1;
		if (deadline > 0) {
			double left = deadline - now();

			timeout_ms = left > 0 ? (int)(left * 1000) + 1 : 0;
		}
		r = poll(fds, 2, timeout_ms);
		if (r < 0 && errno != EINTR) {
			err("poll: %s", strerror(errno));
			run_end(vm, RUN_ERROR, VMM_EXIT_ERROR);
		} else if (r == 0) {
			run_end(vm, RUN_TIMEOUT, VMM_EXIT_TIMEOUT);
		} else if (r > 0 && (fds[1].revents & POLLIN) &&
			   read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
			if (run_end(vm, RUN_SIGNAL, 128 + si.ssi_signo))
				err("SIG%s: stopping the guest", sigabbrev_np(si.ssi_signo));
		}
	}
}

static void report_end(struct vm *vm)
{
	struct run_state *rs = &vm->run;
	unsigned int i;
	__u64 rip;

	switch (rs->end) {
	case RUN_HALTED:
		err("all %u vCPU(s) halted without writing an exit status; a guest ends with an outl of its status to port 0x%x",
		    vm->nr_cpus, UMBRA_PORT_EXIT);
		break;
	case RUN_TIMEOUT:
		err("guest still running after %u s (--timeout); stopped it", vm->opts->timeout);
		for (i = 0; i < vm->nr_cpus; i++)
			if (!regs_rip(&vm->vcpus[i], &rip))
				fprintf(stderr, PROG ": vcpu %u was at RIP 0x%llx\n", i,
					(unsigned long long)rip);
		break;
	case RUN_GUEST_EXIT:
		info(vm->opts, "guest exit status %d", rs->status);
		break;
	default:
		break;
	}
}

/**
 * run_vm() - run the guest until it ends
 * @vm:	with every vCPU created
 *
 * Return: umbra-run's exit status (see VMM_EXIT_*).
 */
int run_vm(struct vm *vm)
{
	struct sigaction sa = { .sa_handler = kick_handler, .sa_flags = SA_RESTART };
	struct run_state *rs = &vm->run;
	sigset_t stop_sigs, old;
	double start, deadline = 0;
	unsigned int i;
	int sig_fd;

	pthread_mutex_init(&rs->lock, NULL);
	rs->end = RUN_RUNNING;
	rs->done_fd = eventfd(0, EFD_CLOEXEC);
	if (rs->done_fd < 0) {
		err("eventfd: %s", strerror(errno));
		return VMM_EXIT_SETUP;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGKICK, &sa, NULL);

	/* Blocked before any thread starts, so that all of them inherit it. */
	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGINT);
	sigaddset(&stop_sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_sigs, &old);
	sig_fd = signalfd(-1, &stop_sigs, SFD_CLOEXEC);
	if (sig_fd < 0) {
		err("signalfd: %s", strerror(errno));
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return VMM_EXIT_SETUP;
	}

	start = now();
	if (vm->opts->timeout)
		deadline = start + vm->opts->timeout;
	for (i = 0; i < vm->nr_cpus; i++) {
		if (vcpu_start(&vm->vcpus[i])) {
			run_end(vm, RUN_ERROR, VMM_EXIT_SETUP);
			break;
		}
	}
	wait_for_end(vm, sig_fd, deadline);
	stop_vcpus(vm);
	rs->wall = now() - start;

	close(sig_fd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	report_end(vm);
	return rs->status;
}
