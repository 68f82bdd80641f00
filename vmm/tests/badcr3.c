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
	/*
	 * Legal under any MAXPHYADDR (a CR3 beyond it is a #GP, which with no
	 * IDT becomes a triple fault: a different test), outside the 128M of
	 * RAM the test gives.
	 */
	u64 cr3 = 0x80000000ULL;

	(void)bi; (void)rflags; (void)rsp;
	print("badcr3: loading CR3 outside RAM\n");
	asm volatile("mov %0, %%cr3" :: "r"(cr3) : "memory");
	print("badcr3: still running?\n");
	return 1;
}
