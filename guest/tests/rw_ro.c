// SPDX-License-Identifier: GPL-2.0
/*
 * rw_ro.c - case 4, RW -> RO with INVLPG: map a page writable and write
 * it (the TLB, or a shadow entry, now allows writes and D is set), make
 * it read-only and INVLPG it: the next write from ring 0 (CR0.WP=1) and
 * ring 3 must fault with P|W(|U) and leave the data alone; back to RW +
 * INVLPG, the write must go through.  Done page by page through as.c,
 * page by page by hand through pv_mmu, and over ranges (lazy batches,
 * per-page INVLPG and whole-TLB flush).
 */
#include "tests.h"

#define NPAGES	64

struct rw_ro_ctx {
	u64 values[NPAGES];	/* the model of each page's u64 at DATA_OFF */
	u64 wval;
};

static u64 page_va(unsigned int i)
{
	return TEST_VA + (u64)i * PAGE_SIZE;
}

static void expect_writable(struct rw_ro_ctx *c, unsigned int i, const char *what)
{
	struct outcome want;
	int cpl;

	for (cpl = 0; cpl <= 3; cpl += 3) {
		want_ok(&want, 0);
		if (check_access(page_va(i) + DATA_OFF, ACC_WRITE, cpl, ++c->wval,
				 &want, what))
			c->values[i] = c->wval;
		want_ok(&want, c->values[i]);
		check_access(page_va(i) + DATA_OFF, ACC_READ, cpl, 0, &want, what);
	}
}

static void expect_read_only(struct rw_ro_ctx *c, unsigned int i, const char *what)
{
	u64 va = page_va(i) + DATA_OFF;
	struct outcome want;
	int cpl;

	for (cpl = 0; cpl <= 3; cpl += 3) {
		want_pf(&want, va, PF_PROT | PF_WRITE | (cpl ? PF_USER : 0));
		check_access(va, ACC_WRITE, cpl, ++c->wval, &want, what);
		want_ok(&want, c->values[i]);
		check_access(va, ACC_READ, cpl, 0, &want, what);
	}
}

/* The same change by hand: one set_pte() and one invlpg() through pv_mmu. */
static void protect_by_hand(struct as *as, u64 va, bool writable)
{
	pte_t *ep = as_entry(as, va, 1, false);
	u64 e = pte_read(ep);

	set_pte(ep, writable ? e | _PAGE_RW : e & ~_PAGE_RW);
	flush_tlb_page(va);
}

void test_rw_ro(void)
{
	static struct rw_ro_ctx c;
	struct as *as = test_as_create();
	unsigned int i;

	memset(&c, 0, sizeof(c));
	c.wval = 0x4000;
	as_switch(as);
	for (i = 0; i < NPAGES; i++)
		as_map(as, page_va(i), test_frame(), _PAGE_RW | _PAGE_USER);

	/* Page by page, alternating as.c and hand-made updates. */
	for (i = 0; i < NPAGES; i++) {
		expect_writable(&c, i, "mapped RW");
		if (i & 1)
			protect_by_hand(as, page_va(i), false);
		else
			as_protect(as, page_va(i), 0, _PAGE_RW);
		expect_read_only(&c, i, "RW->RO+INVLPG");
		if (i & 1)
			protect_by_hand(as, page_va(i), true);
		else
			as_protect(as, page_va(i), _PAGE_RW, 0);
		expect_writable(&c, i, "RO->RW+INVLPG");
	}

	/* A small range: one lazy batch with an INVLPG per page. */
	as_protect_range(as, page_va(0), 16, 0, _PAGE_RW);
	for (i = 0; i < NPAGES; i++) {
		if (i < 16)
			expect_read_only(&c, i, "range of 16 RO");
		else
			expect_writable(&c, i, "outside the range");
	}
	/* The whole window: one batch, then one TLB flush. */
	as_protect_range(as, page_va(0), NPAGES, 0, _PAGE_RW);
	for (i = 0; i < NPAGES; i++)
		expect_read_only(&c, i, "range of 64 RO");
	as_protect_range(as, page_va(0), NPAGES, _PAGE_RW, 0);
	for (i = 0; i < NPAGES; i++)
		expect_writable(&c, i, "range of 64 RW again");

	/* The data went where the model says. */
	for (i = 0; i < NPAGES; i++) {
		int level;
		u64 pa = pte_read(as_leaf(as, page_va(i), &level)) & PTE_PFN_MASK;

		CHECK(*(u64 *)phys_to_virt(pa + DATA_OFF) == c.values[i],
		      "page %u: frame holds 0x%llx, model 0x%llx", i,
		      *(u64 *)phys_to_virt(pa + DATA_OFF), c.values[i]);
	}
	test_as_destroy(as);
}
