// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite umbra_memslot: umbra_memslot_check() and
 * umbra_memslots_apply() against hand-built slot sets.
 *
 * The expected errnos are KVM 6.12's, case by case, so that a VMM sees the
 * same answer from /dev/umbra as from /dev/kvm; tests/api_test.c checks
 * the same rules end to end against both devices.
 */
#include <kunit/test.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include "../core/core.h"

#define UADDR	0x7f0000000000ULL	/* a plausible user address */
#define MiB	(1ULL << 20)

/* A set with two slots: id 0 at [0, 1 MiB), id 3 at [16 MiB, 18 MiB). */
static struct umbra_memslots *two_slots(struct kunit *test)
{
	struct umbra_memslots *set;

	set = kunit_kzalloc(test, struct_size(set, slots, 2), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, set);
	set->nr = 2;
	set->slots[0] = (struct umbra_memslot) {
		.base_gfn = 0, .npages = MiB >> PAGE_SHIFT,
		.userspace_addr = UADDR, .id = 0,
	};
	set->slots[1] = (struct umbra_memslot) {
		.base_gfn = (16 * MiB) >> PAGE_SHIFT,
		.npages = (2 * MiB) >> PAGE_SHIFT,
		.userspace_addr = UADDR + 16 * MiB, .id = 3,
	};
	return set;
}

static struct kvm_userspace_memory_region2 region(u32 slot, u64 gpa, u64 size,
						  u64 uaddr, u32 flags)
{
	return (struct kvm_userspace_memory_region2) {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = uaddr,
	};
}

static int check(struct kunit *test, struct kvm_userspace_memory_region2 mem,
		 enum umbra_memslot_change_kind *kind)
{
	struct umbra_memslot_change chg = { .kind = -1 };
	int r = umbra_memslot_check(two_slots(test), &mem, &chg);

	if (kind)
		*kind = chg.kind;
	return r;
}

static void umbra_memslot_check_create_ok(struct kunit *test)
{
	enum umbra_memslot_change_kind kind;

	KUNIT_EXPECT_EQ(test, 0, check(test, region(1, 4 * MiB, MiB,
						    UADDR + 4 * MiB, 0), &kind));
	KUNIT_EXPECT_EQ(test, kind, UMBRA_MR_CREATE);
}

static void umbra_memslot_check_unaligned_einval(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, -EINVAL, check(test, region(1, 4 * MiB, 100,
							  UADDR, 0), NULL));
	KUNIT_EXPECT_EQ(test, -EINVAL, check(test, region(1, 4 * MiB + 8, MiB,
							  UADDR, 0), NULL));
	KUNIT_EXPECT_EQ(test, -EINVAL, check(test, region(1, 4 * MiB, MiB,
							  UADDR + 8, 0), NULL));
}

static void umbra_memslot_check_kernel_uaddr_einval(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, -EINVAL,
			check(test, region(1, 4 * MiB, MiB,
					   0xffff888000000000ULL, 0), NULL));
	/* A range that runs off the end of the user half. */
	KUNIT_EXPECT_EQ(test, -EINVAL,
			check(test, region(1, 4 * MiB, 2 * MiB,
					   TASK_SIZE_MAX - MiB, 0), NULL));
}

static void umbra_memslot_check_limits_einval(struct kunit *test)
{
	/* Slot id, address space, wrap, size. */
	KUNIT_EXPECT_EQ(test, -EINVAL, check(test, region(UMBRA_MAX_MEMSLOTS,
							  4 * MiB, MiB, UADDR, 0), NULL));
	KUNIT_EXPECT_EQ(test, 0, check(test, region(UMBRA_MAX_MEMSLOTS - 1,
						    4 * MiB, MiB, UADDR, 0), NULL));
	KUNIT_EXPECT_EQ(test, -EINVAL, check(test, region(1 << 16 | 1, 4 * MiB,
							  MiB, UADDR, 0), NULL));
	KUNIT_EXPECT_EQ(test, -EINVAL, check(test, region(1, -2 * MiB, 4 * MiB,
							  UADDR, 0), NULL));
	KUNIT_EXPECT_EQ(test, -EINVAL, check(test, region(1, 0x100000000000ULL,
							  1ULL << 43, PAGE_SIZE, 0), NULL));
}

static void umbra_memslot_check_flags_einval(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, -EINVAL, check(test, region(1, 4 * MiB, MiB, UADDR,
							  BIT(7)), NULL));
	KUNIT_EXPECT_EQ(test, -EINVAL, check(test, region(1, 4 * MiB, MiB, UADDR,
							  KVM_MEM_GUEST_MEMFD), NULL));
	/* Not implemented yet: refused rather than silently ignored. */
	KUNIT_EXPECT_EQ(test, -EINVAL, check(test, region(1, 4 * MiB, MiB, UADDR,
							  KVM_MEM_LOG_DIRTY_PAGES), NULL));
	KUNIT_EXPECT_EQ(test, 0, check(test, region(1, 4 * MiB, MiB, UADDR,
						    KVM_MEM_READONLY), NULL));
}

static void umbra_memslot_check_overlap_eexist(struct kunit *test)
{
	/* Straddles the end of slot 0, then the start of slot 3. */
	KUNIT_EXPECT_EQ(test, -EEXIST, check(test, region(1, MiB / 2, MiB,
							  UADDR, 0), NULL));
	KUNIT_EXPECT_EQ(test, -EEXIST, check(test, region(1, 15 * MiB, 2 * MiB,
							  UADDR, 0), NULL));
	/* Exactly adjacent is fine. */
	KUNIT_EXPECT_EQ(test, 0, check(test, region(1, MiB, 15 * MiB,
						    UADDR, 0), NULL));
	/* Moving slot 3 onto slot 0 overlaps; onto itself shifted does not. */
	KUNIT_EXPECT_EQ(test, -EEXIST, check(test, region(3, 0, 2 * MiB,
							  UADDR + 16 * MiB, 0), NULL));
}

static void umbra_memslot_check_modify_rules(struct kunit *test)
{
	enum umbra_memslot_change_kind kind;

	/* Move. */
	KUNIT_EXPECT_EQ(test, 0, check(test, region(3, 17 * MiB, 2 * MiB,
						    UADDR + 16 * MiB, 0), &kind));
	KUNIT_EXPECT_EQ(test, kind, UMBRA_MR_MOVE);
	/* Identical: nothing to do. */
	KUNIT_EXPECT_EQ(test, 0, check(test, region(3, 16 * MiB, 2 * MiB,
						    UADDR + 16 * MiB, 0), &kind));
	KUNIT_EXPECT_EQ(test, kind, UMBRA_MR_NONE);
	/* Resize, new uaddr, READONLY toggled: all refused. */
	KUNIT_EXPECT_EQ(test, -EINVAL, check(test, region(3, 16 * MiB, 4 * MiB,
							  UADDR + 16 * MiB, 0), NULL));
	KUNIT_EXPECT_EQ(test, -EINVAL, check(test, region(3, 16 * MiB, 2 * MiB,
							  UADDR, 0), NULL));
	KUNIT_EXPECT_EQ(test, -EINVAL, check(test, region(3, 16 * MiB, 2 * MiB,
							  UADDR + 16 * MiB,
							  KVM_MEM_READONLY), NULL));
}

static void umbra_memslot_check_delete(struct kunit *test)
{
	enum umbra_memslot_change_kind kind;

	KUNIT_EXPECT_EQ(test, 0, check(test, region(3, 0, 0, 0, 0), &kind));
	KUNIT_EXPECT_EQ(test, kind, UMBRA_MR_DELETE);
	KUNIT_EXPECT_EQ(test, -EINVAL, check(test, region(7, 0, 0, 0, 0), NULL));
}

static void umbra_memslots_apply_keeps_sorted(struct kunit *test)
{
	struct umbra_memslots *cur = two_slots(test), *next;
	struct umbra_memslot_change chg;
	struct kvm_userspace_memory_region2 mem;

	mem = region(9, 4 * MiB, MiB, UADDR + 4 * MiB, 0);
	KUNIT_ASSERT_EQ(test, 0, umbra_memslot_check(cur, &mem, &chg));
	next = umbra_memslots_apply(cur, &chg);
	KUNIT_ASSERT_NOT_NULL(test, next);
	KUNIT_EXPECT_EQ(test, next->nr, 3U);
	KUNIT_EXPECT_EQ(test, next->slots[0].id, 0);
	KUNIT_EXPECT_EQ(test, next->slots[1].id, 9);
	KUNIT_EXPECT_EQ(test, next->slots[2].id, 3);
	/* The old set is untouched: readers may still be walking it. */
	KUNIT_EXPECT_EQ(test, cur->nr, 2U);

	mem = region(0, 0, 0, 0, 0);
	KUNIT_ASSERT_EQ(test, 0, umbra_memslot_check(next, &mem, &chg));
	cur = umbra_memslots_apply(next, &chg);
	kvfree(next);
	KUNIT_ASSERT_NOT_NULL(test, cur);
	KUNIT_EXPECT_EQ(test, cur->nr, 2U);
	KUNIT_EXPECT_EQ(test, cur->slots[0].id, 9);
	KUNIT_EXPECT_EQ(test, cur->slots[1].id, 3);
	kvfree(cur);
}

static struct kunit_case umbra_memslot_cases[] = {
	KUNIT_CASE(umbra_memslot_check_create_ok),
	KUNIT_CASE(umbra_memslot_check_unaligned_einval),
	KUNIT_CASE(umbra_memslot_check_kernel_uaddr_einval),
	KUNIT_CASE(umbra_memslot_check_limits_einval),
	KUNIT_CASE(umbra_memslot_check_flags_einval),
	KUNIT_CASE(umbra_memslot_check_overlap_eexist),
	KUNIT_CASE(umbra_memslot_check_modify_rules),
	KUNIT_CASE(umbra_memslot_check_delete),
	KUNIT_CASE(umbra_memslots_apply_keeps_sorted),
	{}
};

static struct kunit_suite umbra_memslot_suite = {
	.name = "umbra_memslot",
	.test_cases = umbra_memslot_cases,
};
kunit_test_suite(umbra_memslot_suite);
