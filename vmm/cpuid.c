// SPDX-License-Identifier: GPL-2.0
/*
 * cpuid.c - the CPUID table the vCPUs see.
 *
 * The table is what the device supports (KVM_GET_SUPPORTED_CPUID).  A
 * device that does not offer that ioctl gets a minimal table built here:
 * the host's vendor and signature, and just the features the boot protocol
 * and a simple 64-bit kernel need.  Either way each vCPU gets its own copy
 * with its APIC ID filled in (leaf 1 EBX, x2APIC leaves 0xb/0x1f, AMD's
 * 0x8000001e).  The table must be set before the special registers: KVM
 * refuses EFER.LME (and NXE, SCE) unless the guest's CPUID has LM (NX,
 * SYSCALL).
 */
#include <cpuid.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm.h"

#define CPUID_MAX_ENTRIES	1024

/* Leaf 1 EDX */
#define F1_FPU		(1U << 0)
#define F1_TSC		(1U << 4)
#define F1_MSR		(1U << 5)
#define F1_PAE		(1U << 6)
#define F1_CX8		(1U << 8)
#define F1_APIC		(1U << 9)
#define F1_SEP		(1U << 11)
#define F1_PGE		(1U << 13)
#define F1_CMOV		(1U << 15)
#define F1_PAT		(1U << 16)
#define F1_CLFLUSH	(1U << 19)
#define F1_MMX		(1U << 23)
#define F1_FXSR		(1U << 24)
#define F1_SSE		(1U << 25)
#define F1_SSE2		(1U << 26)
/* Leaf 0x80000001 EDX */
#define F81_SYSCALL	(1U << 11)
#define F81_NX		(1U << 20)
#define F81_LM		(1U << 29)

static struct kvm_cpuid2 *cpuid_alloc(unsigned int nent)
{
	struct kvm_cpuid2 *c;

	c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
	if (c)
		c->nent = nent;
	return c;
}

/* KVM_GET_SUPPORTED_CPUID, growing the buffer while the answer is E2BIG. */
static struct kvm_cpuid2 *cpuid_supported(struct vm *vm, int *error)
{
	struct kvm_cpuid2 *c;
	unsigned int nent;

	for (nent = 64; nent <= CPUID_MAX_ENTRIES; nent *= 2) {
		c = cpuid_alloc(nent);
		if (!c) {
			*error = ENOMEM;
			return NULL;
		}
		if (!ioctl(vm->sys_fd, KVM_GET_SUPPORTED_CPUID, c))
			return c;
		*error = errno;
		free(c);
		if (*error != E2BIG)
			return NULL;
	}
	return NULL;
}

static void set_entry(struct kvm_cpuid_entry2 *e, __u32 fn, __u32 a, __u32 b, __u32 c,
		      __u32 d)
{
	*e = (struct kvm_cpuid_entry2) {
		.function = fn, .eax = a, .ebx = b, .ecx = c, .edx = d,
	};
}

/* The minimal table: leaves 0, 1, 0x80000000, 0x80000001, 0x80000008. */
static struct kvm_cpuid2 *cpuid_minimal(void)
{
	struct kvm_cpuid2 *c = cpuid_alloc(5);
	unsigned int a, b, cx, d, sig = 0;

	if (!c)
		return NULL;
	/* The host's vendor string, so that the guest sees what it runs on. */
	__cpuid(0, a, b, cx, d);
	set_entry(&c->entries[0], 0, 1, b, cx, d);
	if (a >= 1)
		__cpuid(1, sig, b, cx, d);
	set_entry(&c->entries[1], 1, sig,
		  8 << 8,	/* CLFLUSH line size: 8 x 8 = 64 bytes */
		  0,
		  F1_FPU | F1_TSC | F1_MSR | F1_PAE | F1_CX8 | F1_APIC | F1_SEP |
		  F1_PGE | F1_CMOV | F1_PAT | F1_CLFLUSH | F1_MMX | F1_FXSR |
		  F1_SSE | F1_SSE2);
	/* 0x80000000 repeats the vendor string, as AMD's CPUs do. */
	set_entry(&c->entries[2], 0x80000000, 0x80000008, c->entries[0].ebx,
		  c->entries[0].ecx, c->entries[0].edx);
	set_entry(&c->entries[3], 0x80000001, sig, 0, 0, F81_SYSCALL | F81_NX | F81_LM);
	set_entry(&c->entries[4], 0x80000008, 0x3030, 0, 0, 0);	/* 48-bit phys and virt */
	return c;
}

/**
 * cpuid_init() - choose the VM's CPUID table
 * @vm:	with the device open
 *
 * Return: 0, or -1 when out of memory.
 */
int cpuid_init(struct vm *vm)
{
	int error = 0;

	vm->cpuid = cpuid_supported(vm, &error);
	if (vm->cpuid) {
		info(vm->opts, "CPUID: %u leaves from KVM_GET_SUPPORTED_CPUID", vm->cpuid->nent);
		return 0;
	}
	vm->cpuid = cpuid_minimal();
	if (!vm->cpuid) {
		err("out of memory");
		return -1;
	}
	info(vm->opts, "CPUID: KVM_GET_SUPPORTED_CPUID failed (%s); using " PROG "'s minimal table of %u leaves",
	     strerror(error), vm->cpuid->nent);
	return 0;
}

/**
 * cpuid_set() - give a vCPU the VM's table with its own APIC ID
 * @vcpu:	created, before its special registers are set
 *
 * Return: 0, or -1 after naming the ioctl that failed.
 */
int cpuid_set(struct vcpu *vcpu)
{
	const struct kvm_cpuid2 *vmc = vcpu->vm->cpuid;
	struct kvm_cpuid2 *c = cpuid_alloc(vmc->nent);
	unsigned int i;
	int r;

	if (!c) {
		err("out of memory");
		return -1;
	}
	memcpy(c->entries, vmc->entries, vmc->nent * sizeof(c->entries[0]));
	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x00ffffff) | (vcpu->id << 24);
			break;
		case 0xb:
		case 0x1f:
			e->edx = vcpu->id;
			break;
		case 0x8000001e:
			e->eax = vcpu->id;
			break;
		}
	}
	r = ioctl(vcpu->fd, KVM_SET_CPUID2, c);
	if (r)
		err("vcpu %u: KVM_SET_CPUID2 (%u leaves): %s", vcpu->id, c->nent, strerror(errno));
	free(c);
	return r ? -1 : 0;
}
