// SPDX-License-Identifier: GPL-2.0
/*
 * badcr3.c - a guest that points CR3 at a frame outside its RAM.
 * The hypervisor must stop it with a clear exit (umbra: an internal
 * error naming the cause; KVM: whatever its MMU makes of it), never
 * hurt the host; umbra-run reports it and exits 3.
 */
#include "guest.h"

u32 guest_main(struct umbra_boot_info *bi, u64 rflags, u64 rsp)
{
	u64 cr3 = 0x7ff000000000ULL;	/* far beyond any test RAM */

	(void)bi; (void)rflags; (void)rsp;
	print("badcr3: loading CR3 outside RAM\n");
	asm volatile("mov %0, %%cr3" :: "r"(cr3) : "memory");
	print("badcr3: still running?\n");
	return 1;
}
