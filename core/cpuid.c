// SPDX-License-Identifier: GPL-2.0
/*
 * cpuid.c - the guest's CPUID table and what it allows
 *
 * What it owns:
 *   umbra_vcpu.cpuid (set by KVM_SET_CPUID2, read back by KVM_GET_CPUID2)
 *   and umbra_vcpu.caps, the register bits that the table makes legal.
 *
 * Why legality depends on CPUID: as on hardware, a guest may only set CR4
 * and EFER bits for features its CPUID announces (CR4.OSXSAVE needs XSAVE,
 * EFER.LME needs LM, ...).  KVM 6.12 applies the same rule to
 * KVM_SET_SREGS, so umbra does too: a VMM gets the same answer from both.
 * umbra is narrower where its shadow MMU does not implement a feature yet
 * (PCID, PKE, LA57, SMAP, nested virtualisation): those bits stay reserved
 * whatever the table says, so they can never reach VMRUN.  SMAP in
 * particular: the hardware would enforce it on the shadow while the walker
 * (which does not model RFLAGS.AC) allowed the access, and the guest would
 * fault forever.
 *
 * Locking: called under umbra_vcpu.mutex.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bits.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/cpufeature.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <umbra/pv.h>
#include "core.h"

/* CR4 bits umbra can give a guest at all, given CPUID and a host that has them. */
#define UMBRA_CR4_ALWAYS (X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE | \
			  X86_CR4_PSE | X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE | \
			  X86_CR4_PCE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT)

/* A CR4 bit and the CPUID bit (leaf, subleaf, register, bit) that gates it. */
struct cpuid_gate {
	u32 function;
	u32 index;
	u8 reg;		/* 0 eax, 1 ebx, 2 ecx, 3 edx */
	u8 bit;
	u16 host_feature;	/* X86_FEATURE_* the host must have */
	u64 cr4;
};

static const struct cpuid_gate cr4_gates[] = {
	{ 0x1, 0, 2, 26, X86_FEATURE_XSAVE,    X86_CR4_OSXSAVE },
	{ 0x7, 0, 1,  0, X86_FEATURE_FSGSBASE, X86_CR4_FSGSBASE },
	{ 0x7, 0, 1,  7, X86_FEATURE_SMEP,     X86_CR4_SMEP },
	{ 0x7, 0, 2,  2, X86_FEATURE_UMIP,     X86_CR4_UMIP },
};

static const struct kvm_cpuid_entry2 *
cpuid_find(const struct kvm_cpuid_entry2 *e, unsigned int nent, u32 function,
	   u32 index)
{
	unsigned int i;

	for (i = 0; i < nent; i++)
		if (e[i].function == function &&
		    (!(e[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		     e[i].index == index))
			return &e[i];
	return NULL;
}

static bool cpuid_has(const struct kvm_cpuid_entry2 *e, unsigned int nent,
		      u32 function, u32 index, u8 reg, u8 bit)
{
	const struct kvm_cpuid_entry2 *ent = cpuid_find(e, nent, function, index);
	u32 val;

	if (!ent)
		return false;
	val = reg == 0 ? ent->eax : reg == 1 ? ent->ebx :
	      reg == 2 ? ent->ecx : ent->edx;
	return val & BIT(bit);
}

/* As KVM's cpuid_query_maxphyaddr(): 36 unless leaf 0x80000008 says more. */
static u8 cpuid_maxphyaddr(const struct kvm_cpuid_entry2 *e, unsigned int nent)
{
	const struct kvm_cpuid_entry2 *ent = cpuid_find(e, nent, 0x80000000, 0);

	if (!ent || ent->eax < 0x80000008)
		return 36;
	ent = cpuid_find(e, nent, 0x80000008, 0);
	if (!ent)
		return 36;
	/* Hostile tables must not make a shift count out of range. */
	return min_t(u8, ent->eax & 0xff, 52);
}

/**
 * umbra_cpuid_caps - what a CPUID table lets the guest put in its registers
 * @entries: the table (may be NULL when @nent is 0)
 * @nent: number of entries
 * @caps: filled in
 *
 * A pure function of the table, except that CR4 features the host lacks
 * stay reserved: VMRUN refuses a CR4 bit the processor does not implement.
 *
 * Context: any.
 */
void umbra_cpuid_caps(const struct kvm_cpuid_entry2 *entries, unsigned int nent,
		      struct umbra_guest_caps *caps)
{
	u64 cr4_allowed = UMBRA_CR4_ALWAYS;
	u64 efer_allowed = EFER_SCE;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cr4_gates); i++) {
		const struct cpuid_gate *g = &cr4_gates[i];

		if (cpuid_has(entries, nent, g->function, g->index, g->reg, g->bit) &&
		    boot_cpu_has(g->host_feature))
			cr4_allowed |= g->cr4;
	}

	/* 0x80000001: EDX.LM (29) allows long mode, EDX.NX (20) EFER.NXE. */
	if (cpuid_has(entries, nent, 0x80000001, 0, 3, 29))
		efer_allowed |= EFER_LME | EFER_LMA;
	if (cpuid_has(entries, nent, 0x80000001, 0, 3, 20))
		efer_allowed |= EFER_NX;

	caps->cr4_reserved = ~cr4_allowed;
	caps->efer_reserved = ~efer_allowed;
	caps->maxphyaddr = cpuid_maxphyaddr(entries, nent);
	caps->x2apic = cpuid_has(entries, nent, 0x1, 0, 2, 21);
	caps->gbpages = cpuid_has(entries, nent, 0x80000001, 0, 3, 26);
}

/* KVM refuses a linear-address width other than 48 or 57 (or 0, unset). */
static bool cpuid_table_valid(const struct kvm_cpuid_entry2 *e, unsigned int nent)
{
	const struct kvm_cpuid_entry2 *ent = cpuid_find(e, nent, 0x80000008, 0);
	u32 vaddr_bits;

	if (!ent)
		return true;
	vaddr_bits = (ent->eax >> 8) & 0xff;
	return vaddr_bits == 0 || vaddr_bits == 48 || vaddr_bits == 57;
}

/**
 * umbra_vcpu_set_cpuid2 - KVM_SET_CPUID2
 * @vcpu: the vCPU, its mutex held
 * @arg: userspace struct kvm_cpuid2 followed by its entries
 *
 * Return: 0, -EFAULT, -E2BIG for more than UMBRA_MAX_CPUID_ENTRIES entries,
 * -EINVAL for a table KVM would refuse, -ENOMEM.
 */
int umbra_vcpu_set_cpuid2(struct umbra_vcpu *vcpu, struct kvm_cpuid2 __user *arg)
{
	struct kvm_cpuid_entry2 *entries = NULL;
	struct kvm_cpuid2 hdr;

	lockdep_assert_held(&vcpu->mutex);

	if (copy_from_user(&hdr, arg, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent > UMBRA_MAX_CPUID_ENTRIES)
		return -E2BIG;
	if (hdr.nent) {
		entries = vmemdup_array_user(arg->entries, hdr.nent,
					     sizeof(*entries));
		if (IS_ERR(entries))
			return PTR_ERR(entries);
	}
	if (!cpuid_table_valid(entries, hdr.nent)) {
		kvfree(entries);
		return -EINVAL;
	}

	kvfree(vcpu->cpuid);
	vcpu->cpuid = entries;
	vcpu->cpuid_nent = hdr.nent;
	umbra_cpuid_caps(entries, hdr.nent, &vcpu->caps);
	return 0;
}

/**
 * umbra_vcpu_get_cpuid2 - KVM_GET_CPUID2
 * @vcpu: the vCPU, its mutex held
 * @arg: userspace struct kvm_cpuid2 with room for nent entries
 *
 * Return: 0 with nent set to the table's size, -E2BIG if nent is too small
 * (nent is left alone then, as KVM does), -EFAULT.
 */
int umbra_vcpu_get_cpuid2(struct umbra_vcpu *vcpu, struct kvm_cpuid2 __user *arg)
{
	struct kvm_cpuid2 hdr;

	lockdep_assert_held(&vcpu->mutex);

	if (copy_from_user(&hdr, arg, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent < vcpu->cpuid_nent)
		return -E2BIG;
	if (copy_to_user(arg->entries, vcpu->cpuid,
			 array_size(vcpu->cpuid_nent, sizeof(*vcpu->cpuid))))
		return -EFAULT;
	hdr.nent = vcpu->cpuid_nent;
	if (copy_to_user(arg, &hdr, sizeof(hdr)))
		return -EFAULT;
	return 0;
}

/*
 * What umbra can give a guest, leaf by leaf: the bits umbra virtualises
 * correctly, ANDed with what the host has.  Left out on purpose: the APIC
 * and x2APIC (no interrupt controller yet), XSAVE/AVX (guest XCR0 is not
 * switched yet), SMAP (the walker does not model RFLAGS.AC), PCID, PKU,
 * LA57, SVM/VMX (no nesting), MCE/MCA, MTRR, monitor/mwait.
 */
struct supported_leaf {
	u32 function;
	u32 eax, ebx, ecx, edx;	/* masks applied to the host's values */
};

#define ALL	0xffffffffU

static const struct supported_leaf supported_leaves[] = {
	{ 0x0, ALL, ALL, ALL, ALL },
	/* FPU DE PSE TSC MSR PAE CX8 SEP PGE CMOV PAT PSE36 CLFLUSH MMX FXSR SSE SSE2 */
	{ 0x1, ALL, 0x0000ff00,
	  BIT(0) | BIT(1) | BIT(9) | BIT(13) | BIT(19) | BIT(20) | BIT(22) |
	  BIT(23) | BIT(25) | BIT(30),
	  BIT(0) | BIT(2) | BIT(3) | BIT(4) | BIT(5) | BIT(6) | BIT(8) | BIT(11) |
	  BIT(13) | BIT(15) | BIT(16) | BIT(17) | BIT(19) | BIT(23) | BIT(24) |
	  BIT(25) | BIT(26) },
	/* FSGSBASE BMI1 SMEP BMI2 ERMS ADX CLFLUSHOPT SHA; UMIP */
	{ 0x7, 0, BIT(0) | BIT(3) | BIT(7) | BIT(8) | BIT(9) | BIT(19) |
	  BIT(23) | BIT(29), BIT(2), 0 },
	{ 0x80000000, ALL, ALL, ALL, ALL },
	/* LAHF ABM SSE4A MISALIGNSSE PREFETCHW; SYSCALL NX MMXEXT 1GB RDTSCP LM */
	{ 0x80000001, ALL, 0, BIT(0) | BIT(5) | BIT(6) | BIT(7) | BIT(8),
	  BIT(11) | BIT(20) | BIT(22) | BIT(26) | BIT(27) | BIT(29) },
	{ 0x80000008, 0xff, 0, 0, 0 },	/* physical address width */
};

#define CPUID_HYPERVISOR	BIT(31)	/* leaf 1 ECX: "running under one" */
#define UMBRA_MAX_BASIC_LEAF	0x7
#define UMBRA_MAX_EXT_LEAF	0x80000008

static void fill_supported(struct kvm_cpuid_entry2 *e, const struct supported_leaf *l)
{
	u32 eax, ebx, ecx, edx;

	cpuid_count(l->function, 0, &eax, &ebx, &ecx, &edx);
	*e = (struct kvm_cpuid_entry2) {
		.function = l->function,
		.eax = eax & l->eax, .ebx = ebx & l->ebx,
		.ecx = ecx & l->ecx, .edx = edx & l->edx,
	};
	switch (l->function) {
	case 0x0:
		e->eax = min_t(u32, eax, UMBRA_MAX_BASIC_LEAF);
		break;
	case 0x1:
		e->ecx |= CPUID_HYPERVISOR;
		break;
	case 0x7:
		e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		break;
	case 0x80000000:
		e->eax = min_t(u32, eax, UMBRA_MAX_EXT_LEAF);
		break;
	case 0x80000008:
		e->eax |= 48 << 8;	/* 4-level paging: 48-bit linear addresses */
		break;
	}
}

/* umbra's own leaves: the signature, and the PV features it implements. */
static const struct kvm_cpuid_entry2 hypervisor_leaves[] = {
	{ .function = UMBRA_CPUID_SIGNATURE, .eax = UMBRA_CPUID_FEATURES,
	  .ebx = UMBRA_CPUID_SIG_EBX, .ecx = UMBRA_CPUID_SIG_ECX,
	  .edx = UMBRA_CPUID_SIG_EDX },
	{ .function = UMBRA_CPUID_FEATURES,
	  .eax = UMBRA_PV_FEATURE_MMU_OP | UMBRA_PV_FEATURE_DEFERRED_AD |
		 UMBRA_PV_FEATURE_COW },
};

/**
 * umbra_get_supported_cpuid - KVM_GET_SUPPORTED_CPUID
 * @arg: userspace struct kvm_cpuid2 with room for nent entries
 *
 * Return: 0 with nent set, -E2BIG if nent is too small, -EFAULT.
 */
int umbra_get_supported_cpuid(struct kvm_cpuid2 __user *arg)
{
	struct kvm_cpuid_entry2 e[ARRAY_SIZE(supported_leaves) +
				  ARRAY_SIZE(hypervisor_leaves)];
	struct kvm_cpuid2 hdr;
	unsigned int i;

	if (copy_from_user(&hdr, arg, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent < ARRAY_SIZE(e))
		return -E2BIG;
	for (i = 0; i < ARRAY_SIZE(supported_leaves); i++)
		fill_supported(&e[i], &supported_leaves[i]);
	memcpy(&e[i], hypervisor_leaves, sizeof(hypervisor_leaves));
	if (copy_to_user(arg->entries, e, sizeof(e)))
		return -EFAULT;
	hdr.nent = ARRAY_SIZE(e);
	return copy_to_user(arg, &hdr, sizeof(hdr)) ? -EFAULT : 0;
}
