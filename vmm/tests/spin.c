// SPDX-License-Identifier: GPL-2.0
/*
 * spin.c - every vCPU loops forever: for --timeout, SIGTERM and the vCPU
 * thread names.
 */
#include "guest.h"

u32 guest_main(struct umbra_boot_info *bi, u64 rflags, u64 rsp)
{
	(void)bi; (void)rflags; (void)rsp;
	for (;;)
		asm volatile("pause");
}
