// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite umbra_spte: the helpers and invariants of mmu/spte.h.
 *
 * What is checked: spte_bad() on every combination of W, MMU-writable and
 * host-writable (bad exactly when the chain W => MMU-writable =>
 * host-writable breaks), and that no other bit changes its answer;
 * spte_pfn(), spte_present() and spte_writable() read only their own
 * bits; spte_check() stays silent on good sptes (it is never fed a bad
 * one: its WARN would fail the test host's run); and the static layout
 * facts: the software bits sit where the hardware ignores them in both
 * 4-level and PAE entries (11:9), outside the frame, NX and every
 * hardware bit, and upper-level sptes allow all --
 * which also means the writability chain is a rule for leaf sptes only.
 */
#include <kunit/test.h>
#include "../mmu/mmu.h"

/*
 * Bits 11:9 are ignored by the hardware at every level of 4-level and of
 * PAE paging (the shadow of a guest with paging off is PAE, root.c).
 */
#define SPTE_HW_IGNORED		GENMASK_ULL(11, 9)
#define SPTE_SOFTWARE_BITS	(SPTE_HOST_WRITABLE | SPTE_MMU_WRITABLE)

static_assert(!(SPTE_SOFTWARE_BITS & ~SPTE_HW_IGNORED));
static_assert(!(SPTE_SOFTWARE_BITS & (SPTE_PFN_MASK | SPTE_NX | 0x1ff)));
static_assert(GENMASK_ULL(51, PAGE_SHIFT) == SPTE_PFN_MASK);
static_assert(!(SPTE_NONLEAF & (SPTE_NX | SPTE_SOFTWARE_BITS | SPTE_PFN_MASK)));

/* Bits that say nothing about writability, to mix into spte_bad() inputs. */
static const u64 other_bits[] = {
	0,
	SPTE_PRESENT,
	SPTE_PRESENT | SPTE_USER | SPTE_ACCESSED | SPTE_DIRTY,
	SPTE_PRESENT | SPTE_NX | SPTE_PFN_MASK,
	(0x12345ULL << PAGE_SHIFT) | SPTE_PRESENT | SPTE_ACCESSED,
};

static void umbra_spte_bad_every_combination(struct kunit *test)
{
	unsigned int combo, j;

	for (combo = 0; combo < 8; combo++) {
		bool w = combo & 1, mmu_w = combo & 2, host_w = combo & 4;
		/* The chain W => MMU-writable => host-writable. */
		bool want = (w && !mmu_w) || (mmu_w && !host_w);
		u64 spte = (w ? SPTE_WRITABLE : 0) |
			   (mmu_w ? SPTE_MMU_WRITABLE : 0) |
			   (host_w ? SPTE_HOST_WRITABLE : 0);

		for (j = 0; j < ARRAY_SIZE(other_bits); j++)
			KUNIT_EXPECT_EQ_MSG(test, spte_bad(spte | other_bits[j]), want,
					    "W %d MMU-writable %d host-writable %d, other %#llx",
					    w, mmu_w, host_w, other_bits[j]);
	}
}

/* The good ones, as the fault path builds them: spte_check() is silent. */
static void umbra_spte_check_silent_when_good(struct kunit *test)
{
	u64 frame = (0x4321ULL << PAGE_SHIFT) | SPTE_PRESENT | SPTE_ACCESSED;

	KUNIT_EXPECT_FALSE(test, spte_check(frame));
	KUNIT_EXPECT_FALSE(test, spte_check(frame | SPTE_HOST_WRITABLE));
	KUNIT_EXPECT_FALSE(test, spte_check(frame | SPTE_HOST_WRITABLE |
					    SPTE_MMU_WRITABLE));
	KUNIT_EXPECT_FALSE(test, spte_check(frame | SPTE_HOST_WRITABLE |
					    SPTE_MMU_WRITABLE | SPTE_WRITABLE |
					    SPTE_DIRTY));
	KUNIT_EXPECT_FALSE(test, spte_check(0));
}

static void umbra_spte_pfn_frame_only(struct kunit *test)
{
	static const u64 pfns[] = { 0, 1, 0x12345, (1ULL << 40) - 1 };
	u64 noise = SPTE_PRESENT | SPTE_WRITABLE | SPTE_USER | SPTE_ACCESSED |
		    SPTE_DIRTY | SPTE_NX | SPTE_SOFTWARE_BITS | 0xfff;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pfns); i++) {
		u64 spte = pfns[i] << PAGE_SHIFT;

		KUNIT_EXPECT_EQ(test, spte_pfn(spte), pfns[i]);
		KUNIT_EXPECT_EQ(test, spte_pfn(spte | noise), pfns[i]);
	}
	/* The frame is bits 51:12, nothing else. */
	KUNIT_EXPECT_EQ(test, spte_pfn(~0ULL), (1ULL << 40) - 1);
	KUNIT_EXPECT_EQ(test, spte_pfn(~SPTE_PFN_MASK), 0ULL);
}

static void umbra_spte_present_p_bit_only(struct kunit *test)
{
	KUNIT_EXPECT_FALSE(test, spte_present(0));
	KUNIT_EXPECT_TRUE(test, spte_present(SPTE_PRESENT));
	KUNIT_EXPECT_TRUE(test, spte_present(SPTE_NONLEAF));
	/* A non-present spte may carry anything else. */
	KUNIT_EXPECT_FALSE(test, spte_present(~(u64)SPTE_PRESENT));
	KUNIT_EXPECT_TRUE(test, spte_present(~0ULL));
}

static void umbra_spte_writable_w_bit_only(struct kunit *test)
{
	KUNIT_EXPECT_FALSE(test, spte_writable(0));
	KUNIT_EXPECT_TRUE(test, spte_writable(SPTE_WRITABLE));
	KUNIT_EXPECT_FALSE(test, spte_writable(SPTE_PRESENT | SPTE_SOFTWARE_BITS));
	KUNIT_EXPECT_FALSE(test, spte_writable(~(u64)SPTE_WRITABLE));
}

/* The static_asserts above, again where a reader of the results sees them. */
static void umbra_spte_bits_layout(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, SPTE_HOST_WRITABLE, BIT_ULL(9));
	KUNIT_EXPECT_EQ(test, SPTE_MMU_WRITABLE, BIT_ULL(10));
	KUNIT_EXPECT_EQ(test, SPTE_SOFTWARE_BITS & ~SPTE_HW_IGNORED, 0ULL);
	KUNIT_EXPECT_EQ(test, SPTE_SOFTWARE_BITS & SPTE_PFN_MASK, 0ULL);
	KUNIT_EXPECT_EQ(test, SPTE_SOFTWARE_BITS & (SPTE_NX | 0x1ffULL), 0ULL);
	/* No hardware bit of 4-level or PAE paging. */
	KUNIT_EXPECT_EQ(test, SPTE_SOFTWARE_BITS & (SPTE_PRESENT | SPTE_WRITABLE |
			SPTE_USER | SPTE_ACCESSED | SPTE_DIRTY | _PAGE_PSE |
			_PAGE_GLOBAL | _PAGE_PWT | _PAGE_PCD), 0ULL);
	KUNIT_EXPECT_EQ(test, SPTE_PFN_MASK, GENMASK_ULL(51, 12));
	KUNIT_EXPECT_EQ(test, (u64)SPTE_NONLEAF,
			(u64)(SPTE_PRESENT | SPTE_WRITABLE | SPTE_USER | SPTE_ACCESSED));
	/*
	 * The W => MMU-writable => host-writable chain holds for leaf sptes
	 * only: an upper-level spte has W and no software bit, so spte_bad()
	 * calls it bad and spte_check() must never be given one.
	 */
	KUNIT_EXPECT_TRUE_MSG(test, spte_bad(SPTE_NONLEAF),
			      "SPTE_NONLEAF now satisfies the chain: update spte.h's invariants and this test");
}

static struct kunit_case umbra_spte_cases[] = {
	KUNIT_CASE(umbra_spte_bad_every_combination),
	KUNIT_CASE(umbra_spte_check_silent_when_good),
	KUNIT_CASE(umbra_spte_pfn_frame_only),
	KUNIT_CASE(umbra_spte_present_p_bit_only),
	KUNIT_CASE(umbra_spte_writable_w_bit_only),
	KUNIT_CASE(umbra_spte_bits_layout),
	{}
};

static struct kunit_suite umbra_spte_suite = {
	.name = "umbra_spte",
	.test_cases = umbra_spte_cases,
};
kunit_test_suite(umbra_spte_suite);
