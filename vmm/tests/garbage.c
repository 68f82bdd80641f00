// SPDX-License-Identifier: GPL-2.0
/*
 * garbage.c - a guest that fills its own live page tables with garbage:
 * the boot PML4 and PDPT get pseudo-random values, reserved bits and all,
 * then it flushes and touches memory.  Whatever that makes the CPU do
 * (a #PF with no handler, then #DF, then shutdown), the hypervisor must
 * end it with a clear exit and the host must not notice.
 */
#include "guest.h"

u32 guest_main(struct umbra_boot_info *bi, u64 rflags, u64 rsp)
{
	u64 *pml4, cr3, x = 0x9e3779b97f4a7c15ULL;
	int i;

	(void)bi; (void)rflags; (void)rsp;
	asm volatile("mov %%cr3, %0" : "=r"(cr3));
	pml4 = (u64 *)(cr3 & ~0xfffULL);
	print("garbage: scribbling over the page tables\n");
	for (i = 0; i < 512; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		pml4[i] = x | 1;	/* present, with whatever else */
	}
	asm volatile("mov %0, %%cr3" :: "r"(cr3) : "memory");
	*(volatile u64 *)0x200000;
	print("garbage: still running?\n");
	return 1;
}
