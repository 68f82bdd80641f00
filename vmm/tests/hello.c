// SPDX-License-Identifier: GPL-2.0
/*
 * hello.c - the good path of the boot protocol, on every vCPU.
 *
 * Checks the entry state include/umbra/boot.h promises (boot info, control
 * registers, EFER, selectors, RFLAGS, a 16 KiB-aligned stack top below
 * 1 MiB, the identity map up to the last byte of RAM); vCPU 0 exercises
 * 2- and 4-byte and string port I/O on the serial port; then each prints
 * "hello from vcpu N" with a rep outsb and counts itself done.  The last vCPU done
 * prints the command line and exits 0; the others halt.
 * A failed check prints "FAIL vcpu N: what = value" and exits 10 + check.
 */
#include "guest.h"

#define CR0_WANT	0x80010033UL	/* PE MP ET NE WP PG */
#define CR4_WANT	0x620UL		/* PAE OSFXSR OSXMMEXCPT */
#define EFER_WANT	0xd01UL		/* SCE LME LMA NXE */

static u32 nr_done;
static u32 serial_checked;

static u32 fail(struct umbra_boot_info *bi, u32 code, const char *what, u64 val)
{
	print("FAIL vcpu ");
	print_dec(bi->cpu_id);
	print(": ");
	print(what);
	print(" = ");
	print_hex(val);
	print("\n");
	return 10 + code;
}

static u32 check_entry(struct umbra_boot_info *bi, u64 rflags, u64 rsp)
{
	volatile u64 *last;

	if (bi->magic != UMBRA_BOOT_MAGIC)
		return fail(bi, 0, "magic", bi->magic);
	if ((u64)bi >= UMBRA_BOOT_IMAGE_MIN || ((u64)bi & 0xfff))
		return fail(bi, 1, "boot info address", (u64)bi);
	if (bi->cpu_id >= bi->nr_cpus)
		return fail(bi, 2, "cpu_id", bi->cpu_id);
	if (bi->free_start & 0xfff || bi->free_start < (u64)_end ||
	    bi->free_start > bi->mem_size)
		return fail(bi, 3, "free_start", bi->free_start);
	if (READ_CR(0) != CR0_WANT)
		return fail(bi, 4, "cr0", READ_CR(0));
	if (READ_CR(4) != CR4_WANT)
		return fail(bi, 5, "cr4", READ_CR(4));
	if (rdmsr(0xc0000080) != EFER_WANT)
		return fail(bi, 6, "efer", rdmsr(0xc0000080));
	if (READ_SEG(cs) != 0x08)
		return fail(bi, 7, "cs", READ_SEG(cs));
	if (READ_SEG(ds) != 0x10 || READ_SEG(es) != 0x10 || READ_SEG(ss) != 0x10 ||
	    READ_SEG(fs) != 0x10 || READ_SEG(gs) != 0x10)
		return fail(bi, 8, "ds/es/ss/fs/gs", READ_SEG(ds));
	if (rflags != 0x2)
		return fail(bi, 9, "rflags", rflags);
	if (rsp & 0x3fff || rsp > UMBRA_BOOT_IMAGE_MIN || rsp < 0x4000)
		return fail(bi, 10, "rsp", rsp);
	if (READ_CR(3) >= UMBRA_BOOT_IMAGE_MIN)
		return fail(bi, 11, "cr3", READ_CR(3));

	/* The identity map covers all of RAM: each vCPU its own last qword. */
	last = (volatile u64 *)(bi->mem_size - 8 * (bi->cpu_id + 1));
	*last = 0x5a5a0000UL + bi->cpu_id;
	if (*last != 0x5a5a0000UL + bi->cpu_id)
		return fail(bi, 12, "last qword of RAM", *last);
	return 0;
}

/* Sizes 2 and 4, in and out, plain and string, and LCR.DLAB. */
static u32 check_serial(struct umbra_boot_info *bi)
{
	static const u16 w[] = { 'o', 'u', 't', 's', 'w', ' ', 'o', 'k', '\n' };
	static const u32 l[] = { 'o', 'u', 't', 's', 'l', ' ', 'o', 'k', '\n' };
	u8 lsr[4] = { 0, 0, 0, 0 };
	int i;

	insb(UMBRA_PORT_SERIAL + 5, lsr, 4);
	for (i = 0; i < 4; i++)
		if (lsr[i] != 0x60)
			return fail(bi, 20, "rep insb of LSR", lsr[i]);
	if (inb(UMBRA_PORT_SERIAL + 5) != 0x60)
		return fail(bi, 21, "inb LSR", inb(UMBRA_PORT_SERIAL + 5));
	if (inw(UMBRA_PORT_SERIAL + 4) != 0x6000)
		return fail(bi, 22, "inw MCR/LSR", inw(UMBRA_PORT_SERIAL + 4));
	if (inl(UMBRA_PORT_SERIAL + 4) != 0x6000)
		return fail(bi, 23, "inl MCR..SCR", inl(UMBRA_PORT_SERIAL + 4));
	if (inb(UMBRA_PORT_SERIAL) != 0)
		return fail(bi, 24, "inb RBR", inb(UMBRA_PORT_SERIAL));

	/* A guest that sets the baud rate: the divisor must not print. */
	outb(UMBRA_PORT_SERIAL + 3, 0x80);
	outb(UMBRA_PORT_SERIAL, 0x01);
	outb(UMBRA_PORT_SERIAL + 1, 0x00);
	outb(UMBRA_PORT_SERIAL + 3, 0x03);

	/* Each item's low byte lands in THR, the rest in IER/IIR/LCR. */
	outsw(UMBRA_PORT_SERIAL, w, sizeof(w) / sizeof(w[0]));
	outsl(UMBRA_PORT_SERIAL, l, sizeof(l) / sizeof(l[0]));
	outw(UMBRA_PORT_SERIAL, 'w');
	outl(UMBRA_PORT_SERIAL, 'l');
	print_char('\n');
	return 0;
}

u32 guest_main(struct umbra_boot_info *bi, u64 rflags, u64 rsp)
{
	static const char hello[] = "hello from vcpu ";
	u32 r;

	r = check_entry(bi, rflags, rsp);
	if (r)
		return r;
	/*
	 * LCR.DLAB belongs to the one UART, not to a vCPU: the others print
	 * only after vCPU 0 has finished playing with it.
	 */
	if (bi->cpu_id == 0) {
		r = check_serial(bi);
		if (r)
			return r;
		print("boot: mem_size ");
		print_hex(bi->mem_size);
		print(" nr_cpus ");
		print_dec(bi->nr_cpus);
		print("\n");
		__atomic_store_n(&serial_checked, 1, __ATOMIC_RELEASE);
	}
	while (!__atomic_load_n(&serial_checked, __ATOMIC_ACQUIRE))
		asm volatile("pause");
	outsb(UMBRA_PORT_SERIAL, hello, sizeof(hello) - 1);
	print_dec(bi->cpu_id);
	print_char('\n');

	if (__atomic_add_fetch(&nr_done, 1, __ATOMIC_SEQ_CST) != bi->nr_cpus)
		halt_forever();
	print("all ");
	print_dec(bi->nr_cpus);
	print(" vcpus done; cmdline [");
	print(bi->cmdline);
	print("]\n");
	return 0;
}
