// SPDX-License-Identifier: GPL-2.0
/*
 * unpaged.c - case unpaged_boot: the guest's first steps, taken with
 * paging off (umbra-run --unpaged; entry32.S took them and recorded what
 * it saw).  The suite runs this case only after such a boot.
 *
 * With paging off the hypervisor must make linear = physical for every
 * address, allow every access, and show the guest its own CR0 and CR4
 * (a shadow MMU runs the hardware with PG and PAE on underneath).  So:
 *   - CR0 as read had PE and not PG; CR4 as read was 0, what umbra-run
 *     gave (not the hardware's PAE);
 *   - each page of boot32_area read back, unpaged, the word written to it;
 *   - and read now through the identity map, each page still holds the
 *     word for its own physical address: a shadow that had sent two
 *     linear pages to one frame, or a page to the wrong frame, fails here
 *     even if it was self-consistent while unpaged.
 */
#include "tests.h"

#define BOOT32_PAGES	512		/* entry32.S */
#define BOOT32_PATTERN	0x5a3c96e1u

extern u32 boot32_ran, boot32_cr0, boot32_cr4, boot32_bad;
extern u8 boot32_area[BOOT32_PAGES][PAGE_SIZE];

bool unpaged_booted(void)
{
	return boot32_ran;
}

void test_unpaged(void)
{
	unsigned int i, bad = 0;

	CHECK((boot32_cr0 & 1) && !(boot32_cr0 & X86_CR0_PG),
	      "CR0 read with paging off was %#x: want PE set, PG clear", boot32_cr0);
	CHECK(boot32_cr4 == 0,
	      "CR4 read with paging off was %#x: want 0, the guest's own", boot32_cr4);
	CHECK(boot32_bad == 0, "%u of %u pages read back wrong with paging off",
	      boot32_bad, BOOT32_PAGES);

	for (i = 0; i < BOOT32_PAGES; i++) {
		u32 pa = (u32)(unsigned long)boot32_area[i];
		u32 got = *(volatile u32 *)boot32_area[i];

		if (got != (pa ^ BOOT32_PATTERN) && !bad++)
			CHECK(false, "page at %#x holds %#x under paging, want %#x",
			      pa, got, pa ^ BOOT32_PATTERN);
	}
	CHECK(!bad, "%u of %u pages hold the wrong word under paging", bad,
	      BOOT32_PAGES);
}
