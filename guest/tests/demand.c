// SPDX-License-Identifier: GPL-2.0
/*
 * demand.c - case 1, demand faults over many MiB: the guest's own demand
 * paging.  Nothing is mapped in a 16 MiB window; a #PF hook maps a fresh
 * frame for each faulting page.  Plain C stores touch every page, so each
 * page must fault exactly once, with error code W (not present, write,
 * ring 0) and CR2 in that page; then every page must read back its
 * pattern through the window and through the identity map of the frame
 * the hook chose (the translation is the one the model recorded).
 */
#include "tests.h"

#define DEMAND_PAGES	4096	/* 16 MiB */

static struct {
	u64 base;
	u64 frames[DEMAND_PAGES];	/* the model: page -> frame */
	u64 faults;
	u64 bad;			/* faults not as expected */
	u64 bad_cr2;
	u32 bad_err;
} dm;

static u64 pattern(u64 i)
{
	return 0x5a5a000000000000ULL ^ (i * 0x9e3779b97f4a7c15ULL);
}

static bool demand_hook(const struct pf_info *pf)
{
	u64 idx, frame;

	if (pf->cr2 < dm.base || pf->cr2 >= dm.base + DEMAND_PAGES * PAGE_SIZE)
		return false;
	idx = (pf->cr2 - dm.base) >> PAGE_SHIFT;
	dm.faults++;
	if (pf->err != PF_WRITE || pf->user || dm.frames[idx]) {
		if (!dm.bad++) {
			dm.bad_err = pf->err;
			dm.bad_cr2 = pf->cr2;
		}
		if (dm.frames[idx])
			return true;	/* spurious: already mapped, retry */
	}
	frame = palloc_alloc();
	if (!frame || as_map(current_as, ALIGN_DOWN(pf->cr2, PAGE_SIZE), frame,
			     _PAGE_RW | _PAGE_NX))
		panic("demand_faults: out of memory");
	dm.frames[idx] = frame;
	return true;
}

void test_demand(void)
{
	struct as *as = test_as_create();
	struct outcome want;
	u64 i, bad = 0, first_bad = 0;

	memset(&dm, 0, sizeof(dm));
	dm.base = TEST_VA;
	as_switch(as);
	pf_hook = demand_hook;

	/* Touch: the first store to each page faults, the second must not. */
	for (i = 0; i < DEMAND_PAGES; i++) {
		volatile u64 *p = (u64 *)(dm.base + i * PAGE_SIZE);

		p[i % 512] = pattern(i);
		p[511 - i % 512] = ~pattern(i);
	}
	CHECK(dm.faults == DEMAND_PAGES, "%llu demand faults for %u pages",
	      dm.faults, DEMAND_PAGES);
	CHECK(!dm.bad, "%llu unexpected faults, first err 0x%x cr2 0x%llx",
	      dm.bad, dm.bad_err, dm.bad_cr2);

	/* Verify through the window, the identity map and the PTEs. */
	for (i = 0; i < DEMAND_PAGES; i++) {
		const u64 *p = (u64 *)(dm.base + i * PAGE_SIZE);
		const u64 *f = phys_to_virt(dm.frames[i]);
		unsigned int j = i % 512, k = 511 - i % 512;
		int level;
		pte_t *ep = as_leaf(as, dm.base + i * PAGE_SIZE, &level);

		if (p[j] != pattern(i) || p[k] != ~pattern(i) ||
		    f[j] != pattern(i) || f[k] != ~pattern(i) || level != 1 ||
		    (pte_read(ep) & PTE_PFN_MASK) != dm.frames[i]) {
			if (!bad++)
				first_bad = i;
		}
	}
	CHECK(!bad, "%llu pages read back wrong, first page %llu", bad, first_bad);
	CHECK(dm.faults == DEMAND_PAGES, "reading back faulted again (%llu faults)",
	      dm.faults);

	/* Negative control: the page past the window is left unmapped. */
	pf_hook = NULL;
	want_pf(&want, dm.base + DEMAND_PAGES * PAGE_SIZE, 0);
	check_access(want.cr2, ACC_READ, 0, 0, &want, "past the window");

	as_unmap_range(as, dm.base, DEMAND_PAGES);
	want_pf(&want, dm.base, 0);
	check_access(dm.base, ACC_READ, 0, 0, &want, "after unmapping");
	test_as_destroy(as);
}
