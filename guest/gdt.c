// SPDX-License-Identifier: GPL-2.0
/*
 * gdt.c - the guest's own GDT and TSS.  umbra-run's boot GDT has only ring
 * 0 segments; the suite runs code in ring 3, which needs user code and
 * data segments (DPL 3) and a TSS whose RSP0 gives the CPU a ring 0 stack
 * to take an exception from ring 3 on.
 *
 * Layout (the selectors are in guest.h):
 *   0x08 kernel code (64-bit), 0x10 kernel data,
 *   0x18 user data (DPL 3),    0x20 user code (64-bit, DPL 3),
 *   0x28 the 64-bit TSS (two slots).
 */
#include "guest.h"

struct tss64 {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
} __packed;

struct desc_ptr {
	u16 limit;
	u64 base;
} __packed;

#define TRAP_STACK_SIZE	16384

static struct tss64 tss __aligned(16);
static u64 gdt[7] __aligned(16);
static u8 trap_stack[TRAP_STACK_SIZE] __aligned(16);

/* A 16-byte system descriptor for the TSS (type 9: available 64-bit TSS). */
static void set_tss_desc(u64 *desc, u64 base, u32 limit)
{
	desc[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
		  (0x89ULL << 40) | ((u64)((limit >> 16) & 0xf) << 48) |
		  (((base >> 24) & 0xff) << 56);
	desc[1] = base >> 32;
}

static void gdt_load(void)
{
	struct desc_ptr gdtr = { sizeof(gdt) - 1, (u64)gdt };

	asm volatile("lgdt %0" : : "m"(gdtr));
	/* Reload CS with a far return, then the data segments. */
	asm volatile("pushq %0\n\t"
		     "leaq 1f(%%rip), %%rax\n\t"
		     "pushq %%rax\n\t"
		     "lretq\n"
		     "1:"
		     : : "i"(KERNEL_CS) : "rax", "memory");
	asm volatile("movl %0, %%ds\n\t"
		     "movl %0, %%es\n\t"
		     "movl %0, %%ss\n\t"
		     "movl %1, %%fs\n\t"
		     "movl %1, %%gs"
		     : : "r"(KERNEL_DS), "r"(0));
}

void gdt_init(void)
{
	gdt[1] = 0x00af9a000000ffffULL;		/* kernel code, L=1 */
	gdt[2] = 0x00cf92000000ffffULL;		/* kernel data */
	gdt[3] = 0x00cff2000000ffffULL;		/* user data, DPL 3 */
	gdt[4] = 0x00affa000000ffffULL;		/* user code, L=1, DPL 3 */
	tss.rsp[0] = (u64)trap_stack + TRAP_STACK_SIZE;
	tss.iomap_base = sizeof(tss);		/* no I/O bitmap */
	set_tss_desc(&gdt[5], (u64)&tss, sizeof(tss) - 1);

	gdt_load();
	asm volatile("ltr %w0" : : "r"(TSS_SEL));
}

/*
 * vCPU 1 (smp.c) takes the same GDT but not the TSS, which vCPU 0's LTR
 * has marked busy (a second LTR would #GP): it never leaves ring 0, so
 * it never needs RSP0.
 */
void gdt_init_ap(void)
{
	gdt_load();
}
