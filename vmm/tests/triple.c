// SPDX-License-Identifier: GPL-2.0
/*
 * triple.c - a guest that triple-faults: it loads an empty IDT and
 * executes ud2 (#UD -> #GP -> #DF -> shutdown).  umbra-run must say
 * "triple fault", dump the registers and exit 3.
 */
#include "guest.h"

u32 guest_main(struct umbra_boot_info *bi, u64 rflags, u64 rsp)
{
	struct { u16 limit; u64 base; } __attribute__((packed)) idt = { 0, 0 };

	(void)bi; (void)rflags; (void)rsp;
	print("triple: about to fault\n");
	asm volatile("lidt %0; ud2" :: "m"(idt));
	return 1;
}
