/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The boot protocol between umbra-run (vmm/) and a guest kernel (guest/).
 * The module never reads it.  Self-contained (__u64 types), so it compiles
 * in the VMM and in the freestanding guest alike.
 *
 * Image: an ELF64 x86-64 executable.  umbra-run copies each PT_LOAD segment
 * to guest-physical p_paddr (zero-filling up to p_memsz); segments must lie
 * at or above UMBRA_BOOT_IMAGE_MIN and inside RAM.
 *
 * Memory: RAM is [0, mem_size).  umbra-run owns [0, UMBRA_BOOT_IMAGE_MIN):
 * boot info pages, its GDT, its page tables and the boot stacks live there.
 * Everything from boot_info.free_start up to mem_size is the guest's.
 *
 * Entry state, on every vCPU at once (there is no INIT/SIPI):
 *   64-bit mode: CR0 = PE|MP|ET|NE|WP|PG, CR4 = PAE|OSFXSR|OSXMMEXCPT,
 *   EFER = SCE|LME|LMA|NXE; CR3 = an identity map of all of RAM with
 *   2 MiB pages, present, writable, supervisor, executable;
 *   GDT: 0x08 = 64-bit code, 0x10 = data; CS = 0x08, the rest 0x10;
 *   RFLAGS = 0x2 (interrupts off); RIP = e_entry;
 *   RSP = the top of a 16 KiB stack of this vCPU's own;
 *   RDI = guest-physical (= virtual) address of this vCPU's
 *   struct umbra_boot_info.
 *
 * Unpaged entry (umbra-run --unpaged), the way a PC kernel starts: paging
 * off, 32-bit protected mode.  The image must then begin (at its lowest
 * PT_LOAD address) with a struct umbra_boot32_header; every vCPU starts
 *   CR0 = PE|ET|NE, CR4 = 0, EFER = 0, CR3 = 0; GDT as above plus
 *   0x18 = 32-bit code; CS = 0x18, the rest 0x10; EFLAGS = 0x2;
 *   EIP = entry32; ESP = the top of its boot stack;
 *   EDI = the address of its struct umbra_boot_info.
 * The guest builds its own page tables; umbra-run's are there all the same.
 *
 * I/O ports (handled by umbra-run):
 *   UMBRA_PORT_SERIAL..+7  a minimal 8250: bytes written to +0 (THR) go to
 *                          umbra-run's stdout; +5 (LSR) reads 0x60
 *                          (transmitter empty); other reads return 0.
 *   UMBRA_PORT_EXIT        a 32-bit OUT ends the VM: umbra-run exits with
 *                          the value (0 success, 1..125 failure).
 * Any other port or MMIO access is reported by umbra-run as an error
 * naming the port or address and the guest RIP.
 */
#ifndef _UMBRA_BOOT_H
#define _UMBRA_BOOT_H

#ifndef __ASSEMBLY__
#include <linux/types.h>
#endif

#define UMBRA_BOOT_MAGIC	0x746f6f4261726d75ULL	/* "umbraBoot" */
#define UMBRA_BOOT_IMAGE_MIN	0x100000ULL		/* 1 MiB */
#define UMBRA_BOOT_CMDLINE_MAX	256

#define UMBRA_BOOT32_MAGIC	0x32336172626d75ULL	/* "umbra32" */

#define UMBRA_PORT_SERIAL	0x3f8
#define UMBRA_PORT_EXIT		0xf4

#ifndef __ASSEMBLY__
/**
 * struct umbra_boot_info - what a vCPU finds at RDI on entry
 * @magic:	UMBRA_BOOT_MAGIC
 * @mem_size:	bytes of RAM from guest-physical 0
 * @free_start:	first guest-physical byte (page aligned) not used by
 *		umbra-run or the image
 * @nr_cpus:	number of vCPUs
 * @cpu_id:	this vCPU, 0 .. nr_cpus - 1
 * @cmdline:	NUL-terminated arguments given after "--" to umbra-run,
 *		joined with single spaces
 */
struct umbra_boot_info {
	__u64 magic;
	__u64 mem_size;
	__u64 free_start;
	__u32 nr_cpus;
	__u32 cpu_id;
	char cmdline[UMBRA_BOOT_CMDLINE_MAX];
};

/**
 * struct umbra_boot32_header - the start of an image that boots unpaged
 * @magic:	UMBRA_BOOT32_MAGIC
 * @entry32:	guest-physical address of the 32-bit entry point
 */
struct umbra_boot32_header {
	__u64 magic;
	__u64 entry32;
};
#endif /* !__ASSEMBLY__ */

#endif /* _UMBRA_BOOT_H */
