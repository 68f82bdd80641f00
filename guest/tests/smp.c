// SPDX-License-Identifier: GPL-2.0
/*
 * smp.c - the cases with two vCPUs: smp_pte_race and smp_own_flush (below)
 * and smp_remote_flush, remote TLB flushes: what an mmu_op batch on vCPU
 * 0 takes away, vCPU 1 can no longer use once the batch has returned.
 *
 * pv.h promises it ("Other vCPUs"): umbra's shadow is shared by the vCPUs
 * and its flush rule covers them all, so a PV guest needs no TLB
 * shootdown IPI.  A native guest does need one, and this guest has no
 * interrupts, so the case runs only under pvmmu=pv on umbra, with two
 * vCPUs (umbra-run -c 2).
 *
 * vCPU 1 (checker(), started through ../smp.c) runs on the case's address
 * space and spins on a phase number.  At each new phase it checks every
 * page of a window against what vCPU 0 published with the number: that
 * a read faults or gives the word it must, that a write faults or lands
 * (then it stamps the page with the phase and reads the stamp back).
 * vCPU 0 changes the window between phases, with as.c's lazy-MMU
 * batches, only once vCPU 1 has finished checking: vCPU 1 spins in the
 * guest meanwhile, so the old translations are still in its TLB when the
 * change comes and only umbra's flush can take them out.  Each round
 * moves the window (a random place, so that it often straddles two leaf
 * tables) and goes through:
 *   map, fresh frames     reads 0, writes land
 *   protect read-only     reads the stamps, writes fault
 *   protect writable      writes land again
 *   map over, new frames  reads 0, not the old frames' stamps
 *   fork                  the parent's pages read-only (COW): writes fault
 *   vCPU 0 writes (COW)   umbra copies; vCPU 1 reads vCPU 0's words, and
 *                         its stamps never reach the child's frames
 *   unmap                 reads fault
 * After each phase vCPU 0 checks the frames themselves: those the guest
 * tables name hold vCPU 1's stamps, those that were taken away hold what
 * they held before, so a stray write is seen from both sides.  Every
 * RACE_EVERY-th round makes the same changes while vCPU 1 hammers the
 * window (umbra's faults racing its batches), and only the unmapped
 * phase at its end is checked.
 */
#include "tests.h"

#include <umbra/pv.h>

#define NPAGES		24
#define ROUNDS		96
/* Every RACE_EVERY-th round is a race round (below). */
#define RACE_EVERY	4
#define STOP		(~0ULL)
#define FIRST_FAIL_LEN	120

/*
 * The phase vCPU 0 publishes: everything but @seq is written first, @seq
 * last; vCPU 1 answers with @done = @seq once it has checked it.  A
 * racing phase is answered twice: @racing = @seq once vCPU 1 has read the
 * phase (vCPU 0 may then publish the next), @done = @seq once it has
 * seen the next.
 */
static struct {
	u64 cr3;		/* vCPU 1's address space */
	u64 va;			/* the window, NPAGES pages */
	bool present;		/* reads must work (else fault) */
	bool writable;		/* writes must work (else fault) */
	bool race;		/* no checks: access the window until the next */
	bool reload;		/* vCPU 1 flushes its own TLB before it checks */
	u64 racing;		/* vCPU 1: the racing phase it is in */
	u64 want[NPAGES];	/* the word each page reads, when present */
	u64 seq;		/* the phase; STOP ends checker() */
	u64 done;		/* vCPU 1: the last phase checked */
	u64 fails;		/* vCPU 1: failed checks */
	char first[FIRST_FAIL_LEN];	/* vCPU 1: the first, spelled out */
} ph;

/* vCPU 1's stamp for page @i in phase @seq: never 0 nor a vCPU 0 word. */
static u64 stamp(u64 seq, unsigned int i)
{
	return (seq << 8) | i | 1ULL << 62;
}

/* vCPU 0's COW write of round @r to page @i. */
static u64 cow_word(u64 r, unsigned int i)
{
	return (r << 8) | i | 1ULL << 61;
}

static u64 page_va(u64 va, unsigned int i)
{
	return va + (u64)i * PAGE_SIZE + DATA_OFF;
}

/* vCPU 1's failure record (the suite's CHECK() is vCPU 0's alone). */
static void __printf(1, 2) ap_fail(const char *fmt, ...)
{
	va_list ap;

	if (!ph.fails++) {
		va_start(ap, fmt);
		vsnprintf(ph.first, sizeof(ph.first), fmt, ap);
		va_end(ap);
	}
}

static void check_phase(u64 seq)
{
	unsigned int i;
	u64 v;

	for (i = 0; i < NPAGES; i++) {
		u64 va = page_va(ph.va, i);
		bool rfault = probe_read(va, &v);

		if (!ph.present) {
			if (!rfault)
				ap_fail("phase %llu page %u: read %llx through a translation taken away",
					seq, i, v);
			continue;
		}
		if (rfault) {
			ap_fail("phase %llu page %u: read faulted", seq, i);
			continue;
		}
		if (v != ph.want[i])
			ap_fail("phase %llu page %u: read %llx, want %llx (a stale frame?)",
				seq, i, v, ph.want[i]);
		if (probe_write(va, stamp(seq, i)) != !ph.writable) {
			ap_fail("phase %llu page %u: a write %s", seq, i,
				ph.writable ? "faulted" :
				"went through a translation made read-only");
			continue;
		}
		if (ph.writable && (probe_read(va, &v) || v != stamp(seq, i)))
			ap_fail("phase %llu page %u: read back %llx after writing %llx",
				seq, i, v, stamp(seq, i));
	}
	if (!ph.present)
		return;
	/*
	 * Each faulting write above was an exit, and an exit may flush this
	 * CPU's TLB (QEMU's does on every VMRUN): read every page once more,
	 * so that the next change finds all of them in the TLB.
	 */
	for (i = 0; i < NPAGES; i++) {
		u64 want = ph.writable ? stamp(seq, i) : ph.want[i];

		if (probe_read(page_va(ph.va, i), &v) || v != want)
			ap_fail("phase %llu page %u: read %llx at the end, want %llx",
				seq, i, v, want);
	}
}

/*
 * A racing phase: read and write the whole window over and over while
 * vCPU 0 changes it, until the next phase.  Any access may fault or not
 * and any value goes; what counts is that umbra survives the races
 * (faults against batches, COW swaps against A-bit updates) and that
 * the phase after it checks out.
 */
static void race_phase(u64 seq)
{
	unsigned int i;
	u64 v;

	WRITE_ONCE(ph.racing, seq);
	while (READ_ONCE(ph.seq) == seq) {
		for (i = 0; i < NPAGES; i++) {
			probe_read(page_va(ph.va, i), &v);
			probe_write(page_va(ph.va, i), stamp(seq, i));
		}
	}
}

/* vCPU 1's part: check each phase as it comes, until STOP. */
static void checker(void)
{
	u64 seen = 0, seq;

	write_cr3(ph.cr3);
	for (;;) {
		while ((seq = READ_ONCE(ph.seq)) == seen)
			cpu_relax();
		if (seq == STOP)
			break;
		if (READ_ONCE(ph.race)) {
			race_phase(seq);
		} else {
			if (READ_ONCE(ph.reload))
				write_cr3(ph.cr3);
			check_phase(seq);
		}
		seen = seq;
		WRITE_ONCE(ph.done, seq);
	}
	write_cr3(kernel_as->root);
	WRITE_ONCE(ph.done, STOP);
}

static u64 next_seq = 1;

/* Publishes a phase and waits for vCPU 1 to check it.  Return: its seq. */
static u64 publish(bool present, bool writable)
{
	u64 seq = next_seq++;

	WRITE_ONCE(ph.present, present);
	WRITE_ONCE(ph.writable, writable);
	WRITE_ONCE(ph.race, false);
	barrier();
	WRITE_ONCE(ph.seq, seq);
	if (!CHECK(smp_wait_until(&ph.done, seq),
		   "vCPU 1 did not finish phase %llu", seq))
		return 0;
	return seq;
}

static u64 *frame_word(struct as *as, u64 va, unsigned int i)
{
	int level;
	u64 e = pte_read(as_leaf(as, page_va(va, i), &level));

	if (!CHECK(level == 1 && (e & _PAGE_PRESENT),
		   "page %u of the window is not mapped by a PTE", i))
		return NULL;
	return phys_to_virt((e & PTE_PFN_MASK) + DATA_OFF);
}

/*
 * After a writable phase @seq: the frames @as's tables name hold vCPU 1's
 * stamps, which are also what the next phase must read.  Records each
 * frame in @frames.
 */
static void check_stamped(struct as *as, u64 va, u64 seq, u64 **frames)
{
	unsigned int i;

	for (i = 0; i < NPAGES; i++) {
		frames[i] = frame_word(as, va, i);
		if (frames[i])
			CHECK(*frames[i] == stamp(seq, i),
			      "phase %llu page %u: the frame holds %llx, not vCPU 1's %llx",
			      seq, i, *frames[i], stamp(seq, i));
		ph.want[i] = stamp(seq, i);
	}
}

/* The frames in @frames still hold the stamps of phase @seq. */
static void check_kept(u64 **frames, u64 seq, const char *what)
{
	unsigned int i;

	for (i = 0; i < NPAGES; i++)
		if (frames[i])
			CHECK(*frames[i] == stamp(seq, i),
			      "%s: page %u's old frame holds %llx, not %llx",
			      what, i, *frames[i], stamp(seq, i));
}

/* @cow: fork and let vCPU 0's writes take COW faults too (pv only). */
static void one_round(struct as *as, u64 va, u64 r, bool cow)
{
	u64 *frames[NPAGES], *old[NPAGES];
	struct as *child;
	unsigned int i;
	u64 seq, s;

	ph.va = va;
	CHECK(!as_map_range(as, va, NPAGES, _PAGE_RW), "out of memory");
	memset(ph.want, 0, sizeof(ph.want));
	seq = publish(true, true);
	check_stamped(as, va, seq, frames);

	as_protect_range(as, va, NPAGES, 0, _PAGE_RW);
	publish(true, false);
	check_kept(frames, seq, "read-only");

	as_protect_range(as, va, NPAGES, _PAGE_RW, 0);
	seq = publish(true, true);
	check_stamped(as, va, seq, frames);

	/* New frames over the old ones: the old are freed after the batch. */
	CHECK(!as_map_range(as, va, NPAGES, _PAGE_RW), "out of memory");
	memset(ph.want, 0, sizeof(ph.want));
	seq = publish(true, true);
	check_stamped(as, va, seq, frames);
	s = seq;
	if (!cow)
		goto unmap;

	child = as_fork(as);
	if (!CHECK(child, "out of memory forking"))
		return;
	publish(true, false);
	check_kept(frames, seq, "after the fork");

	for (i = 0; i < NPAGES; i++) {
		CHECK(!probe_write(page_va(va, i), cow_word(r, i)),
		      "round %llu page %u: umbra left a COW write to the guest",
		      r, i);
		ph.want[i] = cow_word(r, i);
		old[i] = frame_word(child, va, i);
	}
	s = publish(true, true);
	check_kept(old, seq, "the child's copy after vCPU 1's writes");
	check_stamped(as, va, s, frames);
	as_destroy(child);
unmap:
	as_unmap_range(as, va, NPAGES);
	publish(false, false);
	check_kept(frames, s, "after the unmap");
}

/*
 * A race round: the changes of one_round(), with vCPU 1 accessing the
 * window all along instead of checking between them; then an unmapped
 * phase that it checks as usual.  Under pv only (smp_rounds()).
 */
static void race_round(struct as *as, u64 va, u64 r)
{
	u64 seq = next_seq++;
	struct as *child;
	unsigned int i;

	ph.va = va;
	WRITE_ONCE(ph.race, true);
	barrier();
	WRITE_ONCE(ph.seq, seq);
	if (!CHECK(smp_wait_until(&ph.racing, seq),
		   "vCPU 1 did not start racing phase %llu", seq))
		return;
	CHECK(!as_map_range(as, va, NPAGES, _PAGE_RW), "out of memory");
	as_protect_range(as, va, NPAGES, 0, _PAGE_RW);
	as_protect_range(as, va, NPAGES, _PAGE_RW, 0);
	CHECK(!as_map_range(as, va, NPAGES, _PAGE_RW), "out of memory");
	child = as_fork(as);
	if (CHECK(child, "out of memory forking")) {
		for (i = 0; i < NPAGES; i++)
			CHECK(!probe_write(page_va(va, i), cow_word(r, i)),
			      "race round %llu page %u: umbra left a COW write to the guest",
			      r, i);
		as_destroy(child);
	}
	as_unmap_range(as, va, NPAGES);
	publish(false, false);
}

static void report_ap(void)
{
	CHECK(!ph.fails, "vCPU 1: %s (%llu failed checks)", ph.first, ph.fails);
}

/*
 * The rounds, under pv (@native false: vCPU 0 runs on the address space
 * too, vCPU 1 checks with the TLB it has, COW and race rounds included)
 * or native: vCPU 0 changes an address space it does not run on, so as.c
 * flushes nothing, and vCPU 1 flushes its own TLB before each check (the
 * guest has no IPI, and x86 lets a CPU use a translation until it
 * flushes).  Native has no race rounds: without a shootdown, vCPU 1 may
 * write a frame vCPU 0 has freed, a guest bug on any CPU; and no fork,
 * whose COW faults would need a #PF hook, which runs on whichever vCPU
 * faults.
 */
static void smp_rounds(bool native, const char *name)
{
	struct as *as = test_as_create();
	u64 seed = test_seed, r;

	memset(&ph, 0, sizeof(ph));
	next_seq = 1;
	ph.cr3 = as->root;
	ph.reload = native;
	if (!native)
		as_switch(as);
	if (!CHECK(smp_ap_call(checker), "vCPU 1 is not there to run the checker")) {
		test_as_destroy(as);
		return;
	}
	for (r = 0; r < ROUNDS && !test_failed() && !READ_ONCE(ph.fails); r++) {
		/* Anywhere in the first 1 GiB of the window's PDPTE. */
		u64 va = TEST_VA + prng_below(&seed, 512 * 512 - NPAGES) * PAGE_SIZE;

		if (!native && r % RACE_EVERY == RACE_EVERY - 1)
			race_round(as, va, r);
		else
			one_round(as, va, r, !native);
	}
	WRITE_ONCE(ph.seq, STOP);
	CHECK(smp_ap_wait() && READ_ONCE(ph.done) == STOP,
	      "vCPU 1 did not stop");
	report_ap();
	kprintf("# %s: %llu rounds, %llu phases checked by vCPU 1\n", name,
		r, next_seq - 1);
	as_switch(kernel_as);
	test_as_destroy(as);
}

void test_smp(void)
{
	smp_rounds(false, "smp_remote_flush");
}

/*
 * smp_own_flush: the rounds under the native backend.  vCPU 0 changes
 * the tables of vCPU 1's address space with plain stores (trapped, or
 * into unsync tables) and flushes nothing; vCPU 1 flushes its own TLB
 * (a CR3 load) before it looks, and what it sees then must be what the
 * tables say, on umbra as on KVM: its flush alone must bring a shared
 * shadow up to date.
 */
void test_smp_native(void)
{
	smp_rounds(true, "smp_own_flush");
}

/*
 * smp_pte_race: both vCPUs write the same PTEs at the same moment, each
 * through its own mmu_op queue, each its own frames, round after round.
 * After each round every PTE names one of the two frames, and the shadow
 * must map the one it names (an access reads that frame's marker),
 * whichever write came last and in whatever order umbra made the shadow
 * follow the two.
 */
#define RACE_PAGES	8
#define RACE_ROUNDS	300
#define RACE_PTE	(_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)

static struct {
	u64 queue;			/* vCPU 1's queue area */
	u64 *pte[RACE_PAGES];		/* the entries both write */
	u64 val[RACE_PAGES];		/* what vCPU 1 writes into them */
	u64 round;			/* vCPU 0: go; STOP ends racer() */
	u64 done;			/* vCPU 1: the round it has written */
	u64 bad;			/* vCPU 1: a call or an op that failed */
	long ret;
	u32 status;
} rc;

static u64 race_va(unsigned int i)
{
	return TEST_VA + (u64)i * PAGE_SIZE;
}

/* vCPU 1's batch of a round: its frames into every entry, at once. */
static void racer_batch(struct umbra_mmu_op *q)
{
	unsigned int i;
	long r;

	for (i = 0; i < RACE_PAGES; i++)
		q[i] = (struct umbra_mmu_op) {
			.op = UMBRA_MMU_OP_WRITE_PTE, .status = ~0U,
			.addr = (u64)rc.pte[i], .val = rc.val[i],
		};
	r = vmmcall3(UMBRA_HC_MMU_FLUSH, RACE_PAGES, 0, 0);
	for (i = 0; i < RACE_PAGES; i++) {
		if (r != RACE_PAGES || q[i].status != UMBRA_MMU_OK) {
			rc.ret = r;
			rc.status = q[i].status;
			rc.bad = 1;
		}
	}
}

/* vCPU 1's part: a queue of its own, one batch per round. */
static void racer(void)
{
	u64 seen = 0, round;
	long r;

	write_cr3(ph.cr3);
	r = vmmcall3(UMBRA_HC_MMU_QUEUE, rc.queue, UMBRA_MMU_QUEUE_PAGES_MIN, 0);
	if (r < 0) {
		rc.ret = r;
		rc.bad = 1;
	}
	for (;;) {
		while ((round = READ_ONCE(rc.round)) == seen)
			cpu_relax();
		if (round == STOP)
			break;
		if (!rc.bad)
			racer_batch(phys_to_virt(rc.queue));
		seen = round;
		WRITE_ONCE(rc.done, round);
	}
	vmmcall3(UMBRA_HC_MMU_QUEUE, 0, 0, 0);
	write_cr3(kernel_as->root);
}

/* After a round: every PTE names one of the frames, the shadow that one. */
static void race_check(u64 round, const u64 *mine, u64 *last)
{
	unsigned int i;
	u64 v;

	for (i = 0; i < RACE_PAGES; i++) {
		u64 e = pte_read((pte_t *)rc.pte[i]), want = e & PTE_PFN_MASK;

		if (!CHECK(e == mine[i] || e == rc.val[i],
			   "round %llu page %u: the PTE holds %llx, neither write",
			   round, i, e))
			continue;
		CHECK(!probe_read(race_va(i) + DATA_OFF, &v) && v == want,
		      "round %llu page %u: the PTE names frame %llx, the shadow maps the one holding %llx",
		      round, i, want, v);
		last[e == mine[i]]++;
	}
}

void test_smp_race(void)
{
	struct as *as = test_as_create();
	u64 mine[RACE_PAGES], last[2] = { 0, 0 }, r, v;
	unsigned int i;
	int level;

	memset(&rc, 0, sizeof(rc));
	for (i = 0; i < RACE_PAGES; i++) {
		mine[i] = test_frame();
		rc.val[i] = test_frame() | RACE_PTE;
		*(u64 *)phys_to_virt(mine[i] + DATA_OFF) = mine[i];
		*(u64 *)phys_to_virt((rc.val[i] & PTE_PFN_MASK) + DATA_OFF) =
			rc.val[i] & PTE_PFN_MASK;
		mine[i] |= RACE_PTE;
		as_set_entry(as, race_va(i), 1, mine[i]);
		rc.pte[i] = (u64 *)as_leaf(as, race_va(i), &level);
	}
	rc.queue = palloc_alloc_contig(UMBRA_MMU_QUEUE_PAGES_MIN);
	if (!CHECK(rc.queue, "no memory for vCPU 1's queue"))
		goto out;
	ph.cr3 = as->root;
	as_switch(as);
	if (!CHECK(smp_ap_call(racer), "vCPU 1 is not there to race"))
		goto out;
	for (r = 1; r <= RACE_ROUNDS && !test_failed(); r++) {
		/* Both start from the shadow filled: the writes must drop it. */
		for (i = 0; i < RACE_PAGES; i++)
			probe_read(race_va(i) + DATA_OFF, &v);
		WRITE_ONCE(rc.round, r);
		enter_lazy_mmu();
		for (i = 0; i < RACE_PAGES; i++)
			set_pte((pte_t *)rc.pte[i], mine[i]);
		leave_lazy_mmu();
		if (!CHECK(smp_wait_until(&rc.done, r), "vCPU 1 did not finish round %llu", r) ||
		    !CHECK(!rc.bad, "vCPU 1's flush: returned %ld, status %u", rc.ret, rc.status))
			break;
		flush_tlb();		/* this CPU's: only the shadow is left */
		race_check(r, mine, last);
	}
	WRITE_ONCE(rc.round, STOP);
	CHECK(smp_ap_wait(), "vCPU 1 did not stop");
	kprintf("# smp_pte_race: %llu rounds, last write vCPU 0's %llu times, vCPU 1's %llu\n",
		r - 1, last[1], last[0]);
out:
	for (i = 0; i < RACE_PAGES; i++) {
		as_set_entry(as, race_va(i), 1, 0);
		palloc_free(mine[i] & PTE_PFN_MASK);
		palloc_free(rc.val[i] & PTE_PFN_MASK);
	}
	for (i = 0; rc.queue && i < UMBRA_MMU_QUEUE_PAGES_MIN; i++)
		palloc_free(rc.queue + i * PAGE_SIZE);
	as_switch(kernel_as);
	test_as_destroy(as);
}

/* Two vCPUs, the pv backend with umbra's COW, a paged boot. */
bool smp_applies(void)
{
	return boot_info->nr_cpus >= 2 && pv_cow_on && !unpaged_booted();
}

/* Two vCPUs, the native backend, a paged boot. */
bool smp_native_applies(void)
{
	return boot_info->nr_cpus >= 2 && !strcmp(pv_mmu->name, "native") &&
	       !unpaged_booted();
}
