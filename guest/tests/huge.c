// SPDX-License-Identifier: GPL-2.0
/*
 * huge.c - case 7, 2 MiB pages (PS in the PDE): map one, access pages all
 * over it from both rings, take permission faults through it (read-only,
 * supervisor, NX) with the exact CR2, split it into a 4 KiB table that
 * maps the same frames (one INVLPG, as the architecture allows), change
 * single 4 KiB entries of the new table, and finally replace the table by
 * a 2 MiB page again.  Every access is checked against the model.
 */
#include "tests.h"

#define HVA	(TEST_VA + 2 * PMD_SIZE)

static const unsigned int sample[] = { 0, 1, 5, 7, 9, 100, 256, 511 };

static u64 sub_value(unsigned int k)
{
	return 0x7000 + k;
}

static u64 sub_va(unsigned int k)
{
	return HVA + (u64)k * PAGE_SIZE;
}

/* All access kinds on sub-page @k from both rings through the walk @w. */
static void check_sub(const struct model_walk *w, unsigned int k, u64 value,
		      const char *what)
{
	int cpl, kind;

	for (cpl = 0; cpl <= 3; cpl += 3) {
		for (kind = ACC_READ; kind <= ACC_EXEC; kind++) {
			u64 va = sub_va(k) + (kind == ACC_EXEC ? 0 : DATA_OFF);
			struct outcome want;

			model_expect(w, kind, cpl, true, true, va, &want);
			want.value = value;
			/* Writes store the value the page already has. */
			check_access(va, kind, cpl, value, &want, what);
		}
	}
}

static void check_all(const struct model_walk *w, const char *what)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sample); i++)
		check_sub(w, sample[i], sub_value(sample[i]), what);
}

void test_huge(void)
{
	struct model_walk big = { 3, { MF_TABLE, MF_TABLE, MF_P | MF_W | MF_U } };
	struct model_walk small;
	struct as *as = test_as_create();
	u64 huge = palloc_alloc_huge(), other = test_frame();
	struct outcome want;
	unsigned int k;
	int level;

	if (!huge)
		panic("huge_pages: no 2 MiB block");
	for (k = 0; k < PTRS_PER_TABLE; k++) {
		*(u8 *)phys_to_virt(huge + k * PAGE_SIZE) = RET_INSN;
		*(u64 *)phys_to_virt(huge + k * PAGE_SIZE + DATA_OFF) = sub_value(k);
	}
	*(u64 *)phys_to_virt(other + DATA_OFF) = 0x7777;
	as_switch(as);

	as_map_2m(as, HVA, huge, _PAGE_RW | _PAGE_USER);
	check_all(&big, "2 MiB RW user");
	as_leaf(as, HVA, &level);
	CHECK(level == 2, "the mapping is at level %d, not a 2 MiB PDE", level);

	as_protect(as, HVA, 0, _PAGE_RW);
	big.flags[2] = MF_P | MF_U;
	check_all(&big, "2 MiB read-only");
	as_protect(as, HVA, _PAGE_RW, _PAGE_USER);
	big.flags[2] = MF_P | MF_W;
	check_all(&big, "2 MiB supervisor");
	as_protect(as, HVA, _PAGE_USER | _PAGE_NX, 0);
	big.flags[2] = MF_P | MF_W | MF_U | MF_NX;
	check_all(&big, "2 MiB NX");
	as_protect(as, HVA, 0, _PAGE_NX);
	big.flags[2] = MF_P | MF_W | MF_U;
	check_all(&big, "2 MiB RW user again");

	/* Split: same frames, same rights, now through a 4 KiB table. */
	CHECK(!as_split_2m(as, HVA), "as_split_2m failed");
	as_leaf(as, HVA, &level);
	CHECK(level == 1, "after the split the mapping is at level %d", level);
	model_walk_4k(&small, MF_TABLE, MF_P | MF_W | MF_U);
	check_all(&small, "split");

	/* Single 4 KiB changes inside the former 2 MiB page. */
	as_map(as, sub_va(5), other, _PAGE_RW | _PAGE_USER);
	as_unmap(as, sub_va(7));
	as_protect(as, sub_va(9), 0, _PAGE_RW);
	check_sub(&small, 5, 0x7777, "remapped 4 KiB page");
	want_pf(&want, sub_va(7) + DATA_OFF, 0);
	check_access(want.cr2, ACC_READ, 0, 0, &want, "unmapped 4 KiB page");
	small.flags[3] = MF_P | MF_U;
	check_sub(&small, 9, sub_value(9), "read-only 4 KiB page");
	small.flags[3] = MF_P | MF_W | MF_U;
	check_sub(&small, 0, sub_value(0), "untouched 4 KiB page");
	check_sub(&small, 511, sub_value(511), "untouched 4 KiB page");

	/* Replace the table by a 2 MiB page again (the table is freed). */
	as_map_2m(as, HVA, huge, _PAGE_RW | _PAGE_USER);
	check_all(&big, "2 MiB again");

	as_unmap(as, HVA);
	want_pf(&want, HVA + DATA_OFF, 0);
	check_access(want.cr2, ACC_READ, 0, 0, &want, "2 MiB unmapped");
	test_as_destroy(as);
	palloc_free_huge(huge);
}
