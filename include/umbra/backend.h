/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The hardware backend: what core/ needs from AMD-V (svm/), behind a small
 * ops table so that a VMX backend could sit beside it later.
 *
 * Ownership of the host CPUs' virtualisation extension:
 *   umbra turns AMD-V on (EFER.SVME and VM_HSAVE_PA on every online CPU)
 *   only while at least one VM exists, and off again when the last VM goes.
 *   If another hypervisor (kvm_amd) already has EFER.SVME set, VM creation
 *   fails with -EBUSY and nothing is written; kvm_amd in turn refuses to
 *   enable while umbra holds it.  Each side only ever clears what it set,
 *   so one module's unload never breaks the other.
 */
#ifndef _UMBRA_BACKEND_H
#define _UMBRA_BACKEND_H

#include <linux/types.h>

struct kvm_fpu;
struct umbra_vcpu;

/**
 * struct umbra_backend_ops - hardware backend
 * @name:	"svm"
 * @init:	at module load: check that the host can run guests and set up
 *		per-CPU state.  Return: 0, or -errno after printing one line
 *		saying why not.
 * @exit:	at module unload, after the last VM is gone
 * @get:	a VM is being created: make sure virtualisation is enabled on
 *		every online CPU.  Return: 0, or -EBUSY if another hypervisor
 *		owns it, or -errno.
 * @put:	a VM is gone; disable when no VM is left
 * @users:	how many VMs hold the hardware (for statistics)
 * @vcpu_create: give a new vCPU its hardware state (umbra_vcpu.arch).
 *		Return: 0 or -ENOMEM.
 * @vcpu_free:	free it; called once, when the VM goes
 * @vcpu_run:	KVM_RUN.  Return: 0 with kvm_run->exit_reason set, -EINTR
 *		for a pending signal (exit_reason KVM_EXIT_INTR), or -errno.
 * @get_msr, @set_msr: an MSR for KVM_GET/SET_MSRS.  Return: 0, or -errno
 *		for an MSR umbra does not give guests or a value it cannot hold.
 * @get_fpu, @set_fpu: the legacy FPU/SSE state for KVM_GET/SET_FPU.
 *
 * The vCPU ops are called with umbra_vcpu.mutex held.
 *
 * Context: process context, may sleep; @get and @put take the CPU hotplug
 * lock.
 */
struct umbra_backend_ops {
	const char *name;
	int (*init)(void);
	void (*exit)(void);
	int (*get)(void);
	void (*put)(void);
	unsigned int (*users)(void);
	int (*vcpu_create)(struct umbra_vcpu *vcpu);
	void (*vcpu_free)(struct umbra_vcpu *vcpu);
	int (*vcpu_run)(struct umbra_vcpu *vcpu);
	int (*get_msr)(struct umbra_vcpu *vcpu, u32 index, u64 *data);
	int (*set_msr)(struct umbra_vcpu *vcpu, u32 index, u64 data);
	void (*get_fpu)(struct umbra_vcpu *vcpu, struct kvm_fpu *fpu);
	void (*set_fpu)(struct umbra_vcpu *vcpu, const struct kvm_fpu *fpu);
};

/* svm/hw.c */
extern const struct umbra_backend_ops umbra_svm_ops;

#endif /* _UMBRA_BACKEND_H */
