// SPDX-License-Identifier: GPL-2.0
/*
 * halt.c - every vCPU halts without writing the exit port: umbra-run must
 * say so and exit 2.
 */
#include "guest.h"

u32 guest_main(struct umbra_boot_info *bi, u64 rflags, u64 rsp)
{
	(void)bi; (void)rflags; (void)rsp;
	halt_forever();
	return 1;
}
