// SPDX-License-Identifier: GPL-2.0
/*
 * mmio.c - a guest that reads a guest-physical address where there is no
 * RAM (the local APIC's 0xfee00030, with no in-kernel APIC): it maps
 * 3-4 GiB itself with a page directory of 2 MiB pages at free_start.
 * umbra-run must report the MMIO read with its address and exit 3.
 */
#include "guest.h"

#define MMIO_GPA	0xfee00030UL

u32 guest_main(struct umbra_boot_info *bi, u64 rflags, u64 rsp)
{
	u64 *pml4 = (u64 *)(READ_CR(3) & ~0xfffUL);
	u64 *pdpt = (u64 *)(pml4[0] & ~0xfffUL);
	u64 *pd = (u64 *)bi->free_start;
	u64 gb = MMIO_GPA >> 30;
	int i;

	(void)rflags; (void)rsp;
	for (i = 0; i < 512; i++)
		pd[i] = ((gb << 30) + ((u64)i << 21)) | 0x83;	/* P RW PS */
	pdpt[gb] = (u64)pd | 0x3;
	write_cr3(READ_CR(3));
	print("mmio: reading ");
	print_hex(MMIO_GPA);
	print("\n");
	return *(volatile u32 *)MMIO_GPA ? 1 : 1;
}
