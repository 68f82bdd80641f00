// SPDX-License-Identifier: GPL-2.0
/*
 * pv_cow.c - copy-on-write faults resolved by umbra (UMBRA_PV_FEATURE_COW)
 *
 * The guest keeps one COW area (include/umbra/pv.h): a pool of free
 * frames umbra copies into, and a log of the copies it made.  Both are
 * plain memory of this vCPU's: umbra touches them only while vCPU 0 is
 * in an exit, so no atomics are needed.  pv_cow_reap() empties the log
 * (its caller drops the old frames' counts) and refills the pool; the
 * pool's frames are allocated, with a count of one that passes to the PTE
 * umbra points at them.  Only vCPU 0 writes to COW pages (vCPU 1 never
 * takes a COW fault it wants resolved, see smp.c), so one area is all.
 */
#include "guest.h"

#include <umbra/pv.h>

_Static_assert(_PAGE_COW == UMBRA_PV_PTE_COW, "as.c's COW bit is umbra's");

bool pv_cow_on;
u64 pv_cow_resolved;
static struct umbra_cow_area *area;

static void refill(void)
{
	while (area->nr_free < UMBRA_COW_FREE_MAX) {
		u64 f = palloc_alloc_raw();	/* umbra copies over it */

		if (!f)
			break;		/* short of memory: faults fall back */
		area->free[area->nr_free++] = f >> PAGE_SHIFT;
	}
}

/* Registers the area; under the pv backend, once umbra offers the feature. */
void pv_cow_init(void)
{
	u64 pa = palloc_alloc();
	long ret;

	if (!pa)
		panic("pv_cow: no memory for the COW area");
	area = phys_to_virt(pa);
	refill();
	ret = vmmcall3(UMBRA_HC_COW_AREA, pa, 0, 0);
	if (ret < 0)
		panic("pv_cow: UMBRA_HC_COW_AREA(0x%llx) failed: %ld", pa, ret);
	pv_cow_on = true;
	kprintf("guest: pv_cow: umbra resolves COW faults, pool of %u frames\n",
		area->nr_free);
}

void pv_cow_reap(void (*done)(u64 pte_gpa, u64 old_pte))
{
	u32 n, i;

	if (!pv_cow_on)
		return;
	n = READ_ONCE(area->nr_done);
	if (n > UMBRA_COW_DONE_MAX)
		panic("pv_cow: umbra logged %u copies in %u slots", n,
		      UMBRA_COW_DONE_MAX);
	for (i = 0; i < n; i++)
		done(area->done[i].pte_gpa, area->done[i].old_pte);
	pv_cow_resolved += n;
	area->nr_done = 0;
	refill();
}
