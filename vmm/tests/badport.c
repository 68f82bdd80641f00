// SPDX-License-Identifier: GPL-2.0
/*
 * badport.c - writes port 0x80, which umbra-run has no device for: it must
 * name the port and RIP and exit 3.  Also the exit port written with the
 * wrong size, when the command line says "outb".
 */
#include "guest.h"

u32 guest_main(struct umbra_boot_info *bi, u64 rflags, u64 rsp)
{
	(void)rflags; (void)rsp;
	if (bi->cmdline[0] == 'o')
		outb(UMBRA_PORT_EXIT, 0);
	else
		outb(0x80, 0x42);
	return 1;
}
