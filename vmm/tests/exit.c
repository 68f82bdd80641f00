// SPDX-License-Identifier: GPL-2.0
/*
 * exit.c - exits with the number given as its command line ("exit.elf --
 * 7" exits 7): the command line and the exit port, end to end.
 */
#include "guest.h"

u32 guest_main(struct umbra_boot_info *bi, u64 rflags, u64 rsp)
{
	const char *s = bi->cmdline;
	u32 n = 0;

	(void)rflags; (void)rsp;
	while (*s >= '0' && *s <= '9')
		n = n * 10 + (*s++ - '0');
	return n;
}
