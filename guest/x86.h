/* SPDX-License-Identifier: GPL-2.0 */
/*
 * x86.h - the x86-64 architecture as the test guest sees it: paging-entry
 * bits, control registers, MSRs, CPUID, port I/O and TLB instructions as
 * inline helpers.  Nothing here knows about page-table policy; that is
 * pv_mmu.h (the update interface) and as.c (address spaces).
 */
#ifndef _GUEST_X86_H
#define _GUEST_X86_H

#include <linux/types.h>

/*
 * Paging-entry bits (4-level paging, all levels).  Bits 9-11 are ignored
 * by the CPU and used by the guest's address-space layer:
 *   _PAGE_SPECIAL  the frame is not refcounted by the mapping (image pages,
 *                  page-table aliases, 2 MiB test frames): unmap and
 *                  destroy leave it alone.
 *   _PAGE_COW      the page was writable before a fork-like copy; a write
 *                  fault on it is resolved by copying (or reusing) the frame.
 *                  It is umbra's UMBRA_PV_PTE_COW too (pv_cow.c).
 */
#define _PAGE_PRESENT	(1ULL << 0)
#define _PAGE_RW	(1ULL << 1)
#define _PAGE_USER	(1ULL << 2)
#define _PAGE_PWT	(1ULL << 3)
#define _PAGE_PCD	(1ULL << 4)
#define _PAGE_ACCESSED	(1ULL << 5)
#define _PAGE_DIRTY	(1ULL << 6)
#define _PAGE_PSE	(1ULL << 7)	/* in a PDE/PDPTE: maps a large page */
#define _PAGE_GLOBAL	(1ULL << 8)
#define _PAGE_SPECIAL	(1ULL << 9)
#define _PAGE_COW	(1ULL << 10)
#define _PAGE_NX	(1ULL << 63)

#define PTE_PFN_MASK	0x000ffffffffff000ULL	/* address bits of a 4 KiB entry */
#define PDE_LARGE_MASK	0x000fffffffe00000ULL	/* address bits of a 2 MiB entry */

/* A non-leaf entry of the guest's user/test half: the leaf decides. */
#define _PAGE_TABLE	(_PAGE_PRESENT | _PAGE_RW | _PAGE_USER)
/* A non-leaf entry of the kernel half (supervisor only). */
#define _KERNPG_TABLE	(_PAGE_PRESENT | _PAGE_RW)

/* #PF error code bits */
#define PF_PROT		(1U << 0)	/* 0: not present, 1: protection/rsvd */
#define PF_WRITE	(1U << 1)
#define PF_USER		(1U << 2)
#define PF_RSVD		(1U << 3)
#define PF_INSTR	(1U << 4)

#define X86_CR0_WP	(1UL << 16)
#define X86_CR0_PG	(1UL << 31)
#define MSR_EFER	0xc0000080
#define EFER_NX		(1ULL << 11)

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define PMD_SHIFT	21
#define PMD_SIZE	(1UL << PMD_SHIFT)
#define PUD_SHIFT	30
#define PUD_SIZE	(1UL << PUD_SHIFT)
#define PGD_SHIFT	39
#define PGD_SIZE	(1UL << PGD_SHIFT)
#define PTRS_PER_TABLE	512

/* Index of @va in the table of paging level @level (1 = PT .. 4 = PML4). */
static inline unsigned int pt_index(__u64 va, int level)
{
	return (va >> (PAGE_SHIFT + 9 * (level - 1))) & (PTRS_PER_TABLE - 1);
}

static inline void outb(__u16 port, __u8 v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(__u16 port, __u32 v)
{
	asm volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline __u8 inb(__u16 port)
{
	__u8 v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline unsigned long read_cr0(void)
{
	unsigned long v;

	asm volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static inline void write_cr0(unsigned long v)
{
	asm volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

static inline unsigned long read_cr2(void)
{
	unsigned long v;

	asm volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static inline unsigned long read_cr3(void)
{
	unsigned long v;

	asm volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static inline void write_cr3(unsigned long v)
{
	asm volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline unsigned long read_cr4(void)
{
	unsigned long v;

	asm volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static inline __u64 rdmsr(__u32 msr)
{
	__u32 lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((__u64)hi << 32) | lo;
}

static inline void wrmsr(__u32 msr, __u64 v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((__u32)v), "d"((__u32)(v >> 32))
		     : "memory");
}

static inline void cpuid(__u32 leaf, __u32 *a, __u32 *b, __u32 *c, __u32 *d)
{
	asm volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
		     : "a"(leaf), "c"(0));
}

/* VMMCALL, KVM's convention: RAX = nr, RBX, RCX and RDX = arguments. */
static inline long vmmcall3(__u64 nr, __u64 a0, __u64 a1, __u64 a2)
{
	long ret;

	asm volatile("vmmcall"
		     : "=a"(ret)
		     : "a"(nr), "b"(a0), "c"(a1), "d"(a2)
		     : "memory");
	return ret;
}

static inline __u64 rdtsc(void)
{
	__u32 lo, hi;

	asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((__u64)hi << 32) | lo;
}

static inline void __invlpg(unsigned long va)
{
	asm volatile("invlpg (%0)" : : "r"(va) : "memory");
}

/* In a spin loop on memory another vCPU writes. */
static inline void cpu_relax(void)
{
	asm volatile("pause" : : : "memory");
}

static inline __attribute__((noreturn)) void halt_forever(void)
{
	for (;;)
		asm volatile("cli; hlt");
}

#endif /* _GUEST_X86_H */
