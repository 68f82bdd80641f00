// SPDX-License-Identifier: GPL-2.0
/*
 * unmap.c - case 5, unmap + flush then access must fault: after a page was
 * read (so a translation is cached), unmapping it with INVLPG, with a full
 * TLB flush, as part of a lazy range, or by zapping its whole PT must make
 * every access fault with P=0 and CR2 = the address; mapping it again to
 * another frame must show the new frame, never the old one.
 */
#include "tests.h"

#define NPAGES	64

static u64 page_va(unsigned int i)
{
	return TEST_VA + (u64)i * PAGE_SIZE;
}

static u64 stamp(unsigned int i, unsigned int round)
{
	return 0xabcd000000000000ULL | ((u64)round << 32) | i;
}

/* Maps page @i to a fresh frame stamped for @round and checks it reads so. */
static void map_and_read(struct as *as, unsigned int i, unsigned int round)
{
	u64 frame = test_frame();
	struct outcome want;

	*(u64 *)phys_to_virt(frame + DATA_OFF) = stamp(i, round);
	as_map(as, page_va(i), frame, _PAGE_RW | _PAGE_USER);
	want_ok(&want, stamp(i, round));
	check_access(page_va(i) + DATA_OFF, ACC_READ, 0, 0, &want, "mapped");
	check_access(page_va(i) + DATA_OFF, ACC_READ, 3, 0, &want, "mapped");
}

static void expect_unmapped(unsigned int i, const char *what)
{
	u64 va = page_va(i);
	struct outcome want;
	int cpl;

	for (cpl = 0; cpl <= 3; cpl += 3) {
		u32 u = cpl ? PF_USER : 0;

		want_pf(&want, va + DATA_OFF, u);
		check_access(va + DATA_OFF, ACC_READ, cpl, 0, &want, what);
		want_pf(&want, va + DATA_OFF, u | PF_WRITE);
		check_access(va + DATA_OFF, ACC_WRITE, cpl, 1, &want, what);
		want_pf(&want, va, u | PF_INSTR);
		check_access(va, ACC_EXEC, cpl, 0, &want, what);
	}
}

void test_unmap(void)
{
	struct as *as = test_as_create();
	unsigned int i;

	as_switch(as);
	for (i = 0; i < NPAGES; i++)
		map_and_read(as, i, 0);

	/* One page at a time: as_unmap() (INVLPG), or by hand with a full flush. */
	for (i = 0; i < NPAGES; i += 2) {
		if (i % 4) {
			as_unmap(as, page_va(i));
		} else {
			pte_t *ep = as_entry(as, page_va(i), 1, false);
			u64 e = pte_read(ep);

			clear_pte(ep);
			flush_tlb();
			page_put(e & PTE_PFN_MASK);
		}
		expect_unmapped(i, "unmapped");
		map_and_read(as, i, 1);
	}

	/* A lazy range of 8 (per-page INVLPG) and of all 64 (one flush). */
	as_unmap_range(as, page_va(8), 8);
	for (i = 0; i < NPAGES; i++) {
		struct outcome want;

		if (i >= 8 && i < 16) {
			expect_unmapped(i, "range of 8 unmapped");
			continue;
		}
		want_ok(&want, stamp(i, i % 2 ? 0 : 1));
		check_access(page_va(i) + DATA_OFF, ACC_READ, 0, 0, &want,
			     "outside the unmapped range");
	}
	as_unmap_range(as, page_va(0), NPAGES);
	for (i = 0; i < NPAGES; i++)
		expect_unmapped(i, "range of 64 unmapped");
	for (i = 0; i < NPAGES; i++)
		map_and_read(as, i, 2);

	/* Zap the PT: the PDE goes, the whole TLB is flushed. */
	as_zap_table(as, page_va(0), 1);
	for (i = 0; i < NPAGES; i++)
		expect_unmapped(i, "PT zapped");
	for (i = 0; i < NPAGES; i++)
		map_and_read(as, i, 3);

	test_as_destroy(as);
}
