// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite umbra_regs: register-state legality (umbra_sregs_invalid()),
 * the CPUID-derived rules behind it (umbra_cpuid_caps()) and the reset
 * state (umbra_regs_reset()).
 */
#include <kunit/test.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include "../core/core.h"

/* CPUID with long mode, NX, x2APIC and 48 physical address bits. */
static const struct kvm_cpuid_entry2 cpuid_lm[] = {
	{ .function = 0x1, .ecx = BIT(21) },
	{ .function = 0x80000000, .eax = 0x80000008 },
	{ .function = 0x80000001, .edx = BIT(29) | BIT(20) },
	{ .function = 0x80000008, .eax = 0x3030 },
};

static struct umbra_guest_caps caps_of(const struct kvm_cpuid_entry2 *e,
				       unsigned int n)
{
	struct umbra_guest_caps caps;

	umbra_cpuid_caps(e, n, &caps);
	return caps;
}

/* A valid 64-bit state: paging on, PAE, LME+LMA, a 64-bit code segment. */
static struct kvm_sregs long_mode(void)
{
	struct kvm_sregs s = {
		.cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_ET,
		.cr3 = 0x1000,
		.cr4 = X86_CR4_PAE,
		.efer = EFER_LME | EFER_LMA,
		.apic_base = 0xfee00000 | MSR_IA32_APICBASE_ENABLE,
	};

	s.cs.l = 1;
	s.cs.present = 1;
	return s;
}

static void umbra_sregs_invalid_long_mode_ok(struct kunit *test)
{
	struct umbra_guest_caps caps = caps_of(cpuid_lm, ARRAY_SIZE(cpuid_lm));
	struct kvm_sregs s = long_mode();

	KUNIT_EXPECT_NULL(test, umbra_sregs_invalid(&s, &caps));
}

static void umbra_sregs_invalid_long_mode_needs_cpuid_lm(struct kunit *test)
{
	struct umbra_guest_caps caps = caps_of(NULL, 0);
	struct kvm_sregs s = long_mode();

	KUNIT_EXPECT_NOT_NULL(test, umbra_sregs_invalid(&s, &caps));
}

static void umbra_sregs_invalid_long_mode_consistency(struct kunit *test)
{
	struct umbra_guest_caps caps = caps_of(cpuid_lm, ARRAY_SIZE(cpuid_lm));
	struct kvm_sregs s;

	s = long_mode();
	s.cr4 &= ~X86_CR4_PAE;
	KUNIT_EXPECT_NOT_NULL(test, umbra_sregs_invalid(&s, &caps));

	s = long_mode();
	s.efer &= ~EFER_LMA;
	KUNIT_EXPECT_NOT_NULL(test, umbra_sregs_invalid(&s, &caps));

	s = long_mode();
	s.cr3 = 1ULL << 48;		/* MAXPHYADDR is 48 */
	KUNIT_EXPECT_NOT_NULL(test, umbra_sregs_invalid(&s, &caps));
	s.cr3 = (1ULL << 48) - PAGE_SIZE;
	KUNIT_EXPECT_NULL(test, umbra_sregs_invalid(&s, &caps));

	/* VMRUN refuses CS.L together with CS.D. */
	s = long_mode();
	s.cs.db = 1;
	KUNIT_EXPECT_NOT_NULL(test, umbra_sregs_invalid(&s, &caps));
}

static void umbra_sregs_invalid_outside_long_mode(struct kunit *test)
{
	struct umbra_guest_caps caps = caps_of(cpuid_lm, ARRAY_SIZE(cpuid_lm));
	struct kvm_sregs s = long_mode();

	/* LMA without paging. */
	s.cr0 &= ~X86_CR0_PG;
	s.cs.l = 0;
	KUNIT_EXPECT_NOT_NULL(test, umbra_sregs_invalid(&s, &caps));
	/* No LMA, but CS.L. */
	s.efer &= ~EFER_LMA;
	s.cs.l = 1;
	KUNIT_EXPECT_NOT_NULL(test, umbra_sregs_invalid(&s, &caps));
	s.cs.l = 0;
	KUNIT_EXPECT_NULL(test, umbra_sregs_invalid(&s, &caps));
}

static void umbra_sregs_invalid_cr0_rules(struct kunit *test)
{
	struct umbra_guest_caps caps = caps_of(cpuid_lm, ARRAY_SIZE(cpuid_lm));
	struct kvm_sregs s = long_mode();

	s.cr0 |= 1ULL << 32;
	KUNIT_EXPECT_NOT_NULL(test, umbra_sregs_invalid(&s, &caps));
	s = long_mode();
	s.cr0 |= X86_CR0_NW;
	KUNIT_EXPECT_NOT_NULL(test, umbra_sregs_invalid(&s, &caps));
	s.cr0 |= X86_CR0_CD;
	KUNIT_EXPECT_NULL(test, umbra_sregs_invalid(&s, &caps));
	s = long_mode();
	s.cr0 &= ~X86_CR0_PE;
	KUNIT_EXPECT_NOT_NULL(test, umbra_sregs_invalid(&s, &caps));
}

static void umbra_sregs_invalid_cr4_reserved(struct kunit *test)
{
	struct umbra_guest_caps caps = caps_of(cpuid_lm, ARRAY_SIZE(cpuid_lm));
	static const u64 never[] = { BIT(15), BIT(32), X86_CR4_VMXE,
				     X86_CR4_PCIDE, X86_CR4_LA57, X86_CR4_PKE };
	struct kvm_sregs s;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(never); i++) {
		s = long_mode();
		s.cr4 |= never[i];
		KUNIT_EXPECT_NOT_NULL_MSG(test, umbra_sregs_invalid(&s, &caps),
					  "CR4 bit %#llx", never[i]);
	}
	/* OSXSAVE needs CPUID.1:ECX.XSAVE, absent here. */
	s = long_mode();
	s.cr4 |= X86_CR4_OSXSAVE;
	KUNIT_EXPECT_NOT_NULL(test, umbra_sregs_invalid(&s, &caps));
	s.cr4 = X86_CR4_PAE | X86_CR4_PGE | X86_CR4_OSFXSR;
	KUNIT_EXPECT_NULL(test, umbra_sregs_invalid(&s, &caps));
}

static void umbra_sregs_invalid_efer_reserved(struct kunit *test)
{
	struct umbra_guest_caps caps = caps_of(cpuid_lm, ARRAY_SIZE(cpuid_lm));
	struct kvm_sregs s = long_mode();

	s.efer |= EFER_NX | EFER_SCE;
	KUNIT_EXPECT_NULL(test, umbra_sregs_invalid(&s, &caps));
	s.efer |= EFER_SVME;		/* no nested virtualisation */
	KUNIT_EXPECT_NOT_NULL(test, umbra_sregs_invalid(&s, &caps));
	s = long_mode();
	s.efer |= BIT(20);
	KUNIT_EXPECT_NOT_NULL(test, umbra_sregs_invalid(&s, &caps));
}

static void umbra_sregs_invalid_apic_base(struct kunit *test)
{
	struct umbra_guest_caps lm = caps_of(cpuid_lm, ARRAY_SIZE(cpuid_lm));
	struct umbra_guest_caps none = caps_of(NULL, 0);
	struct kvm_sregs s = { .cr0 = X86_CR0_ET };

	s.apic_base = 0xfee00000 | MSR_IA32_APICBASE_ENABLE | X2APIC_ENABLE;
	KUNIT_EXPECT_NULL(test, umbra_sregs_invalid(&s, &lm));
	/* x2APIC needs CPUID.1:ECX.x2APIC. */
	KUNIT_EXPECT_NOT_NULL(test, umbra_sregs_invalid(&s, &none));
	/* x2APIC mode with the APIC disabled is not a state. */
	s.apic_base = 0xfee00000 | X2APIC_ENABLE;
	KUNIT_EXPECT_NOT_NULL(test, umbra_sregs_invalid(&s, &lm));
	/* Beyond MAXPHYADDR (36 without CPUID) and low reserved bits. */
	s.apic_base = (1ULL << 36) | MSR_IA32_APICBASE_ENABLE;
	KUNIT_EXPECT_NOT_NULL(test, umbra_sregs_invalid(&s, &none));
	s.apic_base = 0xfee00000 | 0x1;
	KUNIT_EXPECT_NOT_NULL(test, umbra_sregs_invalid(&s, &none));
}

static void umbra_cpuid_caps_maxphyaddr(struct kunit *test)
{
	struct kvm_cpuid_entry2 e[] = {
		{ .function = 0x80000000, .eax = 0x80000008 },
		{ .function = 0x80000008, .eax = 0xff },
	};

	KUNIT_EXPECT_EQ(test, caps_of(NULL, 0).maxphyaddr, 36);
	/* A hostile width is clamped to what x86 defines. */
	KUNIT_EXPECT_EQ(test, caps_of(e, 2).maxphyaddr, 52);
	/* Leaf 0x80000008 does not count unless 0x80000000 reaches it. */
	e[0].eax = 0x80000001;
	KUNIT_EXPECT_EQ(test, caps_of(e, 2).maxphyaddr, 36);
}

static void umbra_regs_reset_power_on_state(struct kunit *test)
{
	struct umbra_vcpu *vcpu = kunit_kzalloc(test, sizeof(*vcpu), GFP_KERNEL);
	struct umbra_guest_caps caps = caps_of(NULL, 0);

	KUNIT_ASSERT_NOT_NULL(test, vcpu);
	umbra_regs_reset(vcpu);
	KUNIT_EXPECT_EQ(test, vcpu->rip, 0xfff0ULL);
	KUNIT_EXPECT_EQ(test, vcpu->rflags, 2ULL);
	KUNIT_EXPECT_EQ(test, vcpu->gpr[UMBRA_RDX], 0x600ULL);
	KUNIT_EXPECT_EQ(test, vcpu->sregs.cs.selector, 0xf000);
	KUNIT_EXPECT_EQ(test, vcpu->sregs.cs.base, 0xffff0000ULL);
	KUNIT_EXPECT_EQ(test, vcpu->sregs.cr0, 0x60000010ULL);
	KUNIT_EXPECT_EQ(test, vcpu->pending_irq, -1);
	/* vCPU 0 is the bootstrap processor. */
	KUNIT_EXPECT_TRUE(test, vcpu->sregs.apic_base & MSR_IA32_APICBASE_BSP);
	/* The reset state is itself a state userspace may load. */
	KUNIT_EXPECT_NULL(test, umbra_sregs_invalid(&vcpu->sregs, &caps));
}

static struct kunit_case umbra_regs_cases[] = {
	KUNIT_CASE(umbra_sregs_invalid_long_mode_ok),
	KUNIT_CASE(umbra_sregs_invalid_long_mode_needs_cpuid_lm),
	KUNIT_CASE(umbra_sregs_invalid_long_mode_consistency),
	KUNIT_CASE(umbra_sregs_invalid_outside_long_mode),
	KUNIT_CASE(umbra_sregs_invalid_cr0_rules),
	KUNIT_CASE(umbra_sregs_invalid_cr4_reserved),
	KUNIT_CASE(umbra_sregs_invalid_efer_reserved),
	KUNIT_CASE(umbra_sregs_invalid_apic_base),
	KUNIT_CASE(umbra_cpuid_caps_maxphyaddr),
	KUNIT_CASE(umbra_regs_reset_power_on_state),
	{}
};

static struct kunit_suite umbra_regs_suite = {
	.name = "umbra_regs",
	.test_cases = umbra_regs_cases,
};
kunit_test_suite(umbra_regs_suite);
