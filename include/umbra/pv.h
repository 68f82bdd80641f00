/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pv.h - the paravirtual ABI between umbra and its guests
 *
 * Shared by the module (pvops/) and the guest (guest/); self-contained
 * (__u64 types), freestanding-safe.  Numbers are never reused.
 *
 * Discovery
 *   CPUID 0x40000000: EAX = highest hypervisor leaf (>= 0x40000001),
 *   EBX:ECX:EDX = "umbraumbraum".  CPUID 0x40000001: EAX = feature bits
 *   (UMBRA_PV_FEATURE_*).  A guest that does not find the signature (on
 *   KVM, say) uses no PV interface.
 *
 * Hypercalls
 *   VMMCALL with KVM's register convention: RAX = number, RBX, RCX, RDX,
 *   RSI = arguments, RAX = result.  Results are >= 0 on success and a
 *   negative UMBRA_PV_E* on failure.  An unknown number returns -1000
 *   (KVM's -KVM_ENOSYS).
 *
 * The mmu_op queue (UMBRA_PV_FEATURE_MMU_OP)
 *   Each vCPU registers a queue area of UMBRA_MMU_QUEUE_PAGES_MIN to
 *   UMBRA_MMU_QUEUE_PAGES_MAX guest-physical pages (page aligned, in RAM,
 *   physically contiguous) with UMBRA_HC_MMU_QUEUE(gpa, npages, flags);
 *   gpa 0 unregisters.  The area is an array of struct umbra_mmu_op.
 *   flags: UMBRA_MMU_QUEUE_* (unknown ones are UMBRA_PV_EINVAL).
 *
 *   While in lazy MMU mode the guest appends ops to its queue; on leaving
 *   lazy mode, or when the queue is full, it calls UMBRA_HC_MMU_FLUSH(n)
 *   once for the first n ops.  Outside lazy mode an op goes at once
 *   (n = 1).  The host:
 *     - processes the ops in order, each validated before it is applied;
 *     - writes each processed op's status (UMBRA_MMU_OK or the reason it
 *       was refused) into the op;
 *     - stops at the first op it refuses: that op has its reason, the ones
 *       after it are untouched;
 *     - returns how many ops it processed, refused one included, or a
 *       negative UMBRA_PV_E* if the call itself is wrong (no queue, n
 *       beyond the area, the area no longer RAM), in which case no op
 *       was looked at.
 *   UMBRA_MMU_CR3_NOFLUSH is a hint: umbra may flush anyway (it does
 *   today: a new shadow root needs a new ASID).
 *   Ordering: the ops of one flush take effect in queue order, and all of
 *   them, TLB flushes included, before the hypercall returns.  Within one
 *   batch the TLB flushes the ops ask for are merged into the fewest real
 *   flushes, done once at the end: nothing in the batch may rely on a
 *   flush earlier in the same batch (the guest's lazy-mode rules forbid it
 *   anyway).
 *
 *   Applying a PTE write updates the guest's entry and umbra's shadow
 *   together: no write-protection trap, no unsync round trip.  A LOAD_CR3
 *   takes effect when the batch ends; later ops of the same batch see it
 *   only as far as RELEASE_PT's live-root check goes, so a guest that
 *   needs the new CR3 in place flushes the batch after the LOAD_CR3.
 *   CLEAR_PTE hands the entry's last value back in the op's @val (as an
 *   atomic get-and-clear would), A/D included (see below).
 *
 *   PROTECT is an mprotect sweep in one op (Linux: change_pte_range()
 *   with pte_modify()): @addr is an entry of a table at any level, @count
 *   how many entries from it (1 up to the table's last, else ECOUNT), @val
 *   the rights to give them, UMBRA_MMU_PROT_RIGHTS bits only (else
 *   EVALUE).  Each present entry of the run becomes
 *   (entry & ~UMBRA_MMU_PROT_RIGHTS) | val, atomically, so its frame, its
 *   A/D bits and the rest stay as they are; entries not present are left
 *   alone.  As far as the guest can tell it is @count WRITE_PTE_KEEP_ADs of
 *   the present entries, with rights @val: the shadow follows, and what it
 *   takes away is flushed, as for them.  A guest that changes one table
 *   entry by entry sends one PROTECT for the whole of it instead of one op
 *   per entry (umbra's guest merges consecutive entries with the same new
 *   rights into the PROTECT it queued last).
 *
 *   Other vCPUs: an op that takes a translation away (clears an entry,
 *   or drops R/W, P or U, sets NX, or points it at another frame; also
 *   RELEASE_PT) has taken it out of every vCPU's TLB when the hypercall
 *   returns, not only the caller's: the vCPUs share umbra's shadow, and
 *   its flush rule covers them all.  A PV guest needs no TLB shootdown
 *   IPI for its page-table changes.  INVLPG, FLUSH_TLB and LOAD_CR3's
 *   flush act on the calling vCPU, as the instructions do.
 *
 * Deferred A/D (UMBRA_PV_FEATURE_DEFERRED_AD)
 *   Registering with UMBRA_MMU_QUEUE_DEFERRED_AD (any vCPU; it stays on
 *   for the VM) lets umbra map a present leaf entry that a WRITE_PTE or
 *   WRITE_PTE_KEEP_AD op gives at once, even if it is not accessed yet or
 *   (writable) not dirty yet, and let the CPU record the first access and
 *   the first write in umbra's copy instead of taking a fault to set A or
 *   D in the entry.  The entry's A and D bits then lag: umbra copies them
 *   back lazily, and none is ever lost:
 *     - SYNC_AD(addr = a page table, page aligned) brings every entry of
 *       that table up to date before the batch returns; a guest syncs a
 *       table before it reads A or D bits in it (reclaim, writeback);
 *     - an op that rewrites an entry keeps its bits if the new value maps
 *       the same frame (WRITE_PTE_KEEP_AD, PROTECT, or WRITE_PTE of the
 *       same frame with other rights), and CLEAR_PTE returns them in @val; a
 *       WRITE_PTE to another frame replaces the entry, A/D and all, as a
 *       plain store does on hardware;
 *     - whenever umbra drops its copy for a reason of its own, the bits
 *       go to the entry before the guest runs again, if the entry still
 *       maps the same frame.
 *
 * Copy-on-write by the host (UMBRA_PV_FEATURE_COW)
 *   A copy-on-write fault costs a shadow MMU two exits: the #PF, which
 *   umbra must intercept, and the guest's fix (a hypercall, or a trapped
 *   store and an INVLPG).  A vCPU that registers a COW area with
 *   UMBRA_HC_COW_AREA(gpa) (one page, page aligned, writable RAM; gpa 0
 *   unregisters) lets umbra resolve them inside the first exit.  A write
 *   that faults only because a present 4 KiB PTE lacks R/W, where that
 *   PTE has UMBRA_PV_PTE_COW and every level above allows the write, is
 *   resolved by umbra if the area has a frame in free[] and room in
 *   done[]:
 *     - it takes frame free[nr_free - 1] (a frame number) and copies the
 *       4 KiB page the PTE maps into it;
 *     - it replaces the PTE, if it still holds what the walk read (else
 *       the guest just retries the write), by the new frame with the old
 *       PTE's other bits, R/W, A and D set and UMBRA_PV_PTE_COW clear, and
 *       flushes the old translation from every vCPU's TLB;
 *     - it records { the PTE's address, the old PTE } in done[nr_done],
 *       increments nr_done, decrements nr_free, and resumes the guest,
 *       whose write now goes to the copy.
 *   Otherwise (no area, free[] empty, done[] full, counts beyond the
 *   arrays, a frame that is not writable RAM or is the page being copied)
 *   the guest gets its #PF as usual and the area stays as it was; if the
 *   PTE itself turns out not to be writable RAM, or the host took the
 *   free frame's memory away during the copy (swap, migration), the #PF
 *   comes after the copy, with nr_free and nr_done as they were and that
 *   frame's contents undefined.  umbra
 *   never decides whether a copy is needed: a page with one user left
 *   is copied too, and the guest frees the old one when it reads done[].
 *   A frame given in free[] is the guest's word: one that is still a page
 *   table is overwritten all the same, and umbra drops its shadows so that
 *   they never disagree with it.
 *   The area is the registering vCPU's, and umbra reads and writes it only
 *   while that vCPU is in an exit: the guest fills free[] and empties
 *   done[] (setting nr_done to 0) with plain stores, and sees umbra's
 *   updates when it runs again.
 */
#ifndef _UMBRA_PV_H
#define _UMBRA_PV_H

#include <linux/types.h>

#define UMBRA_CPUID_SIGNATURE		0x40000000
#define UMBRA_CPUID_FEATURES		0x40000001
/* "umbraumbraum" in EBX, ECX, EDX */
#define UMBRA_CPUID_SIG_EBX		0x72626d75	/* "umbr" */
#define UMBRA_CPUID_SIG_ECX		0x626d7561	/* "aumb" */
#define UMBRA_CPUID_SIG_EDX		0x6d756172	/* "raum" */

#define UMBRA_PV_FEATURE_MMU_OP		(1U << 0)
#define UMBRA_PV_FEATURE_DEFERRED_AD	(1U << 1)
#define UMBRA_PV_FEATURE_COW		(1U << 2)

/* Hypercall numbers (RAX); umbra's own range, away from KVM's. */
#define UMBRA_HC_BASE			0x756d0000	/* "um" */
#define UMBRA_HC_MMU_QUEUE		(UMBRA_HC_BASE + 1)
#define UMBRA_HC_MMU_FLUSH		(UMBRA_HC_BASE + 2)
#define UMBRA_HC_COW_AREA		(UMBRA_HC_BASE + 3)

/* Hypercall errors (returned negated in RAX). */
#define UMBRA_PV_EINVAL			1	/* bad argument */
#define UMBRA_PV_ENOQUEUE		2	/* no queue registered */
#define UMBRA_PV_E2BIG			3	/* n beyond the registered area */
#define UMBRA_PV_EFAULT			4	/* the queue area is not RAM */

#define UMBRA_MMU_QUEUE_PAGES_MIN	2
#define UMBRA_MMU_QUEUE_PAGES_MAX	8

/* UMBRA_HC_MMU_QUEUE flags */
#define UMBRA_MMU_QUEUE_DEFERRED_AD	(1U << 0)

/* Ops (umbra_mmu_op.op). */
#define UMBRA_MMU_OP_WRITE_PTE		1	/* *addr = val */
#define UMBRA_MMU_OP_WRITE_PTE_KEEP_AD	2	/* *addr = val | (*addr & (A|D)) */
#define UMBRA_MMU_OP_CLEAR_PTE		3	/* *addr = 0 */
#define UMBRA_MMU_OP_INVLPG		4	/* addr = a linear address */
#define UMBRA_MMU_OP_FLUSH_TLB		5	/* the whole TLB */
/* CR3 = val; flushes unless flags has UMBRA_MMU_CR3_NOFLUSH */
#define UMBRA_MMU_OP_LOAD_CR3		6
/* addr: a page that stops being a page table */
#define UMBRA_MMU_OP_RELEASE_PT		7
/* addr: a page table whose entries' D bits must be brought up to date */
#define UMBRA_MMU_OP_SYNC_AD		8
/* count entries from addr, those present: rights = val (see above) */
#define UMBRA_MMU_OP_PROTECT		9

/*
 * The rights of an entry, as PROTECT sets them: P, R/W, U/S, G and NX.
 * The rest (frame, A/D, caching, the bits left to software) it keeps.
 */
#define UMBRA_MMU_PROT_RIGHTS		(0x107ULL | (1ULL << 63))

#define UMBRA_MMU_CR3_NOFLUSH		(1U << 0)

/* Statuses (umbra_mmu_op.status). */
#define UMBRA_MMU_OK			0
#define UMBRA_MMU_EBADGPA		1	/* not RAM, or read-only RAM */
/*
 * RELEASE_PT of a page that is still some vCPU's current CR3 (counting a
 * LOAD_CR3 earlier in the same batch): it is the table that vCPU runs on.
 */
#define UMBRA_MMU_ENOTPT		2
#define UMBRA_MMU_EALIGN		3	/* addr misaligned for the op */
#define UMBRA_MMU_EOP			4	/* unknown op */
#define UMBRA_MMU_EVALUE		5	/* a value the register can't hold */
#define UMBRA_MMU_EFLAGS		6	/* unknown flags, or a stray count */
#define UMBRA_MMU_ECOUNT		7	/* no entries, or past the table */

/**
 * struct umbra_mmu_op - one queued MMU operation (32 bytes)
 * @op:		UMBRA_MMU_OP_*
 * @status:	written by the host: UMBRA_MMU_OK or a UMBRA_MMU_E*
 * @addr:	guest-physical address of the entry (8-byte aligned), the
 *		linear address for INVLPG, the page for RELEASE_PT
 * @val:	the new entry, or the new CR3; for CLEAR_PTE, written by the
 *		host: the entry's last value
 * @flags:	op flags (UMBRA_MMU_CR3_NOFLUSH); 0 otherwise
 * @count:	PROTECT: how many entries, 1 up to the end of @addr's
 *		table; 0 for every other op
 */
struct umbra_mmu_op {
	__u32 op;
	__u32 status;
	__u64 addr;
	__u64 val;
	__u32 flags;
	__u32 count;
};

#define UMBRA_MMU_OPS_PER_PAGE		(4096 / sizeof(struct umbra_mmu_op))

/* A PTE bit x86 leaves to software: copy-on-write, see above. */
#define UMBRA_PV_PTE_COW		(1ULL << 10)

#define UMBRA_COW_FREE_MAX		170
#define UMBRA_COW_DONE_MAX		170

/**
 * struct umbra_cow_done - one copy-on-write umbra resolved
 * @pte_gpa:	guest-physical address of the PTE it rewrote
 * @old_pte:	the PTE before: its frame is the page that was copied
 */
struct umbra_cow_done {
	__u64 pte_gpa;
	__u64 old_pte;
};

/**
 * struct umbra_cow_area - a vCPU's COW area (one page)
 * @nr_free:	frames in @free: the guest sets it, umbra takes from the top
 * @nr_done:	entries in @done: umbra appends, the guest empties
 * @reserved:	zero
 * @free:	frame numbers umbra may copy into
 * @done:	the copies umbra made, oldest first
 */
struct umbra_cow_area {
	__u32 nr_free;
	__u32 nr_done;
	__u64 reserved;
	__u64 free[UMBRA_COW_FREE_MAX];
	struct umbra_cow_done done[UMBRA_COW_DONE_MAX];
};

/* The name of an op number, for messages ("?" for an unknown one). */
static inline const char *umbra_mmu_op_name(__u32 op)
{
	static const char *const names[] = {
		[UMBRA_MMU_OP_WRITE_PTE]	 = "WRITE_PTE",
		[UMBRA_MMU_OP_WRITE_PTE_KEEP_AD] = "WRITE_PTE_KEEP_AD",
		[UMBRA_MMU_OP_CLEAR_PTE]	 = "CLEAR_PTE",
		[UMBRA_MMU_OP_INVLPG]		 = "INVLPG",
		[UMBRA_MMU_OP_FLUSH_TLB]	 = "FLUSH_TLB",
		[UMBRA_MMU_OP_LOAD_CR3]		 = "LOAD_CR3",
		[UMBRA_MMU_OP_RELEASE_PT]	 = "RELEASE_PT",
		[UMBRA_MMU_OP_SYNC_AD]		 = "SYNC_AD",
		[UMBRA_MMU_OP_PROTECT]		 = "PROTECT",
	};

	return op < sizeof(names) / sizeof(names[0]) && names[op] ? names[op] : "?";
}

#endif /* _UMBRA_PV_H */
