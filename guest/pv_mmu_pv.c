// SPDX-License-Identifier: GPL-2.0
/*
 * pv_mmu_pv.c - the pv pv_mmu backend: every page-table write, TLB flush,
 * CR3 load and table release goes to umbra as one struct umbra_mmu_op
 * through the mmu_op queue of include/umbra/pv.h, the ABI this file
 * follows to the letter.
 *
 * Parts: discovery and registration (pv_probe(): umbra's CPUID signature
 * and UMBRA_PV_FEATURE_MMU_OP, then a queue of UMBRA_MMU_QUEUE_PAGES_MAX
 * contiguous frames, or _MIN if palloc has no such run, registered with
 * UMBRA_HC_MMU_QUEUE); the queue (append_op() fills the next slot,
 * flush_queue() hands the pending ops to UMBRA_HC_MMU_FLUSH and checks
 * every one); the pv_mmu ops, each a single umbra_mmu_op.
 *
 * Batching: outside lazy MMU mode an op is flushed alone (n = 1), so it
 * has taken effect when the op returns, as with native.  Between
 * enter_lazy_mmu() and leave_lazy_mmu() ops are appended and flushed on
 * leave, or earlier when the queue is full; the caller's rules in
 * pv_mmu.h make the deferral invisible.  load_cr3 is never batched with
 * other ops, see pv_load_cr3().
 *
 * Invariants:
 *   - queue[0, nr_queued) are the ops not yet given to the host, in the
 *     order they were issued; nr_queued <= queue_cap.
 *   - Outside lazy mode nr_queued is 0 between ops.
 *   - Before a flush every pending op's status is STATUS_PENDING, which
 *     is no UMBRA_MMU_* value: an op the host says it processed must
 *     come back UMBRA_MMU_OK, so a host that forgets to write the status
 *     is caught too.
 * Any failure (a negative result, fewer ops processed than given, a
 * status other than OK) is a bug in the guest or in umbra, never an
 * expected outcome here: the guest panics with the op, which the suite
 * reports as a crashed case.
 *
 * No locking: only vCPU 0 changes page tables (vCPU 1 runs only smp.c's
 * functions, which never use pv_mmu; the others park in HLT, see
 * entry.S), so there is one queue, registered and flushed by vCPU 0.
 * No op is issued from an exception handler while a lazy section is
 * open (lazy sections wrap PTE loops over identity-mapped tables, which
 * do not fault).
 */
#include "guest.h"

#include <umbra/pv.h>

_Static_assert(sizeof(struct umbra_mmu_op) == 32, "pv.h: 32-byte mmu_op");

#define STATUS_PENDING	0xffffffffU	/* set by the guest, never by umbra */
/* Ops of a failed batch printed before the panic, up to the bad one. */
#define DUMP_OPS	16

static struct umbra_mmu_op *queue;	/* identity-mapped address */
static u64 queue_gpa;
static unsigned int queue_cap;		/* ops that fit in the area */
static unsigned int nr_queued;
static bool lazy;
static bool deferred_ad;		/* registered with it: D bits lag */

static void dump_op(unsigned int i)
{
	const struct umbra_mmu_op *q = &queue[i];

	kprintf("guest: pv_mmu:   [%u] %s addr 0x%llx val 0x%llx flags 0x%x status 0x%x\n",
		i, umbra_mmu_op_name(q->op), q->addr, q->val, q->flags, q->status);
}

/*
 * The flush of @n ops returned @done and op @bad is where it went wrong:
 * show the batch up to it and die.  @bad < @n always.
 */
static void __noreturn bad_flush(unsigned int n, long done, unsigned int bad,
				 const char *what)
{
	const struct umbra_mmu_op *q = &queue[bad];
	unsigned int i;

	kprintf("guest: pv_mmu: UMBRA_HC_MMU_FLUSH(%u) = %ld, %s%s\n", n, done,
		what, lazy ? " (lazy batch)" : "");
	for (i = bad > DUMP_OPS ? bad - DUMP_OPS : 0; i <= bad; i++)
		dump_op(i);
	panic("pv_mmu: op %u of %u: %s addr 0x%llx val 0x%llx status %u",
	      bad, n, umbra_mmu_op_name(q->op), q->addr, q->val, q->status);
}

/* Gives the pending ops to umbra and checks what it did with each. */
static void flush_queue(void)
{
	unsigned int n = nr_queued, i;
	long done;

	if (!n)
		return;
	done = vmmcall3(UMBRA_HC_MMU_FLUSH, n, 0, 0);
	pv_mmu_stats.hypercalls++;
	if (done < 0) {
		kprintf("guest: pv_mmu: queue at 0x%llx, %u ops\n", queue_gpa,
			queue_cap);
		bad_flush(n, done, 0, "the call failed");
	}
	for (i = 0; i < n && i < done; i++)
		if (READ_ONCE(queue[i].status) != UMBRA_MMU_OK)
			bad_flush(n, done, i, "an op was refused");
	if (done > n)
		bad_flush(n, done, n - 1, "more ops processed than given");
	if (done < n)
		bad_flush(n, done, done, "stopped without refusing an op");
	nr_queued = 0;
}

/* Fills the next slot, flushing first if the queue is full. */
static void append_op(u32 op, u64 addr, u64 val)
{
	struct umbra_mmu_op *q;

	if (nr_queued == queue_cap)
		flush_queue();
	q = &queue[nr_queued++];
	q->op = op;
	q->status = STATUS_PENDING;
	q->addr = addr;
	q->val = val;
	q->flags = 0;
	q->count = 0;
}

/* One op: queued in lazy mode, else done before this returns. */
static void queue_op(u32 op, u64 addr, u64 val)
{
	append_op(op, addr, val);
	if (!lazy)
		flush_queue();
}

/*
 * The guest-physical address of the entry at @ptep.  The guest reaches
 * its page tables through the identity map of RAM (phys_to_virt(), PML4
 * slot 0 of every address space and umbra-run's boot tables alike), so
 * the address is the pointer.  Anything else, a test's alias of a table
 * say, has no physical address known here: a bug in the caller.
 */
static u64 entry_gpa(const pte_t *ptep)
{
	u64 va = (u64)(unsigned long)ptep;

	if (va >= boot_info->mem_size)
		panic("pv_mmu: entry %p is not in the identity map of RAM", ptep);
	return va;
}

static void pv_set_pte(pte_t *ptep, u64 val)
{
	queue_op(UMBRA_MMU_OP_WRITE_PTE, entry_gpa(ptep), val);
}

/*
 * A change of rights only (mprotect's PTE loop) is a PROTECT of one entry,
 * and in lazy mode the next entry of the same table, given the same
 * rights, extends the PROTECT queued last: a leaf table's sweep is one
 * op.  That is exact because @old is what the entry holds (the caller
 * just read it, pv_mmu.h) and PROTECT keeps everything but the rights.
 * Any other change is a WRITE_PTE, as set_pte() sends.
 */
static void pv_modify_prot(pte_t *ptep, u64 old, u64 val)
{
	u64 gpa = entry_gpa(ptep), rights = val & UMBRA_MMU_PROT_RIGHTS;
	struct umbra_mmu_op *last = nr_queued ? &queue[nr_queued - 1] : NULL;

	if (!(old & _PAGE_PRESENT) || ((old ^ val) & ~UMBRA_MMU_PROT_RIGHTS)) {
		queue_op(UMBRA_MMU_OP_WRITE_PTE, gpa, val);
		return;
	}
	if (lazy && last && last->op == UMBRA_MMU_OP_PROTECT &&
	    last->val == rights && (gpa & (PAGE_SIZE - 1)) &&
	    last->addr + 8ULL * last->count == gpa) {
		last->count++;
		return;
	}
	append_op(UMBRA_MMU_OP_PROTECT, gpa, rights);
	queue[nr_queued - 1].count = 1;
	if (!lazy)
		flush_queue();
}

static void pv_clear_pte(pte_t *ptep)
{
	queue_op(UMBRA_MMU_OP_CLEAR_PTE, entry_gpa(ptep), 0);
}

static void pv_invlpg(u64 va)
{
	queue_op(UMBRA_MMU_OP_INVLPG, va, 0);
}

static void pv_flush_tlb(void)
{
	queue_op(UMBRA_MMU_OP_FLUSH_TLB, 0, 0);
}

/*
 * LOAD_CR3 goes alone, even in lazy mode.  umbra merges a batch's TLB
 * flushes and does them once at its end, so an INVLPG queued before a
 * CR3 load in the same batch would be done in the new address space, not
 * the old one it was meant for; and the caller (as_switch()) takes the
 * switch as done when this returns.  So: flush what is pending, then
 * the load by itself, with the flush it implies (flags 0).
 */
static void pv_load_cr3(u64 pa)
{
	flush_queue();
	append_op(UMBRA_MMU_OP_LOAD_CR3, 0, pa);
	flush_queue();
}

static void pv_release_pt(u64 pa)
{
	queue_op(UMBRA_MMU_OP_RELEASE_PT, pa, 0);
}

/* The table holding @ptep: SYNC_AD (deferred A/D, pv.h). */
static void pv_sync_ad(pte_t *ptep)
{
	if (deferred_ad)
		queue_op(UMBRA_MMU_OP_SYNC_AD, entry_gpa(ptep) & ~(PAGE_SIZE - 1), 0);
}

static void pv_enter_lazy_mmu(void)
{
	if (lazy)
		panic("pv_mmu: lazy MMU sections do not nest");
	lazy = true;
}

static void pv_leave_lazy_mmu(void)
{
	if (!lazy)
		panic("pv_mmu: leave_lazy_mmu() outside a lazy section");
	flush_queue();
	lazy = false;
}

/*
 * Copies the signature bytes into @s up to the first NUL (KVM pads its
 * "KVMKVMKVM" with them), '?' for anything else unprintable.
 */
static void signature_string(char s[13], u32 b, u32 c, u32 d)
{
	const u32 regs[3] = { b, c, d };
	unsigned int i;

	for (i = 0; i < 12; i++) {
		char ch = regs[i / 4] >> (8 * (i % 4));

		if (!ch)
			break;
		s[i] = ch >= 0x20 && ch < 0x7f ? ch : '?';
	}
	s[i] = '\0';
}

/*
 * Finds umbra's PV MMU (pv.h, Discovery) and registers this vCPU's
 * queue.  Returns NULL, or why the backend cannot run here.  A queue
 * umbra refuses is a bug on one side or the other: panic.
 */
static const char *pv_probe(void)
{
	static char why[80];
	unsigned int npages, flags;
	char sig[13];
	u32 a, b, c, d;
	u64 pa;
	long ret;

	cpuid(UMBRA_CPUID_SIGNATURE, &a, &b, &c, &d);
	if (b != UMBRA_CPUID_SIG_EBX || c != UMBRA_CPUID_SIG_ECX ||
	    d != UMBRA_CPUID_SIG_EDX) {
		signature_string(sig, b, c, d);
		snprintf(why, sizeof(why),
			 "CPUID 0x%x signature \"%s\", not umbra's",
			 UMBRA_CPUID_SIGNATURE, sig);
		return why;
	}
	if (a < UMBRA_CPUID_FEATURES)
		return "umbra without CPUID leaf 0x40000001";
	cpuid(UMBRA_CPUID_FEATURES, &a, &b, &c, &d);
	if (!(a & UMBRA_PV_FEATURE_MMU_OP))
		return "umbra without UMBRA_PV_FEATURE_MMU_OP";

	/*
	 * The largest area the ABI allows: a leaf table's PTE loop with an
	 * INVLPG per entry then fits in one flush.  The minimum if palloc
	 * cannot find that many contiguous frames.
	 */
	npages = UMBRA_MMU_QUEUE_PAGES_MAX;
	pa = palloc_alloc_contig(npages);
	if (!pa) {
		npages = UMBRA_MMU_QUEUE_PAGES_MIN;
		pa = palloc_alloc_contig(npages);
	}
	if (!pa)
		panic("pv_mmu: no memory for the mmu_op queue");
	/* Deferred A/D when umbra offers it: first writes cost no exit. */
	flags = (a & UMBRA_PV_FEATURE_DEFERRED_AD) ? UMBRA_MMU_QUEUE_DEFERRED_AD : 0;
	ret = vmmcall3(UMBRA_HC_MMU_QUEUE, pa, npages, flags);
	if (ret < 0)
		panic("pv_mmu: UMBRA_HC_MMU_QUEUE(0x%llx, %u, %#x) failed: %ld",
		      pa, npages, flags, ret);
	deferred_ad = flags;
	kprintf("guest: pv_mmu: queue of %u ops%s\n",
		npages * (unsigned int)UMBRA_MMU_OPS_PER_PAGE,
		deferred_ad ? ", deferred A/D" : "");
	/* And copy-on-write faults resolved in the #PF exit (pv_cow.c). */
	if (a & UMBRA_PV_FEATURE_COW)
		pv_cow_init();
	queue = phys_to_virt(pa);
	queue_gpa = pa;
	queue_cap = npages * UMBRA_MMU_OPS_PER_PAGE;
	return NULL;
}

const struct pv_mmu_ops pv_mmu_pv_ops = {
	.name		= "pv",
	.probe		= pv_probe,
	.set_pte	= pv_set_pte,
	.modify_prot	= pv_modify_prot,
	.clear_pte	= pv_clear_pte,
	.invlpg		= pv_invlpg,
	.flush_tlb	= pv_flush_tlb,
	.load_cr3	= pv_load_cr3,
	.release_pt	= pv_release_pt,
	.sync_ad	= pv_sync_ad,
	.enter_lazy_mmu	= pv_enter_lazy_mmu,
	.leave_lazy_mmu	= pv_leave_lazy_mmu,
};
