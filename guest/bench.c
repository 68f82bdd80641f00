// SPDX-License-Identifier: GPL-2.0
/*
 * bench.c - workloads for comparing MMUs ("bench NAME ARGS" on the
 * command line).  Each does its setup untimed (fork and mmap, which take
 * fresh frames in their loop, run one round of it first, so that the
 * timed rounds measure the steady state: the host page faults of a
 * frame's first use are paid once per VM whatever the MMU), times its
 * loop with RDTSC, prints one line "bench NAME: ops=N cycles=C
 * hypercalls=H mmu_ops=M" and exits 0; H and M are the pv_mmu_stats of
 * the timed loop (the VMMCALLs the pv backend made, 0 for native; the
 * pv_mmu ops issued).  Scripts parse "ops=N cycles=C": those stay first.
 * All page-table work goes through as.c and so through pv_mmu, with lazy
 * MMU batches where Linux has them (copy_pte_range, zap_pte_range,
 * change_pte_range).
 *
 *   demand MiB         pre-map MiB of fresh pages, then time one write to
 *                      each page (ops = pages touched)
 *   churn N            N times: map 64 pages one by one, write each,
 *                      unmap each with INVLPG (ops = N)
 *   fork MiB [N]       a parent with MiB of written pages forks N times;
 *                      each child runs (CR3 switch), writes one word in
 *                      every FORK_TOUCH_STRIDE-th page (a copy-on-write
 *                      fault each) and exits (ops = N); before its bench
 *                      line it prints "phases fork: fork=F child=C
 *                      exit=E", the cycles per fork of as_fork(), of the
 *                      child's writes and of its exit
 *   spawn MiB [N]      fork's shape with a child that writes one page
 *                      (its first, one COW fault) and exits, as a child
 *                      that goes on to exec does: the tables copied and
 *                      torn down, hardly a COW ("phases spawn: ...")
 *   mmap MiB N         N times: map MiB populated, write each page, unmap
 *                      (ops = N); before its bench line it prints "phases
 *                      mmap: map=M touch=T unmap=U", the cycles per op of
 *                      each step
 *   mprotect MiB N     MiB mapped and written; N times: make it read-only,
 *                      make it writable, write each page (ops = N)
 *   cpuid N            N CPUIDs, each a VM exit that the hypervisor answers
 *                      in the kernel: the cost of one round trip, the
 *                      floor under every exit the others take (ops = N)
 */
#include "guest.h"

#define BENCH_VA	(AS_USER_START + PUD_SIZE)
#define CHURN_PAGES	64
/*
 * A forked child writes every this-many-th page before it exits: a child
 * that runs a little, so that each fork takes copy-on-write faults and its
 * exit frees the copies, without the COW path (a fault and a 4 KiB copy
 * per page) dominating the copy of the tables (64 MiB: 256 faults against
 * 16384 entries copied).
 */
#define FORK_TOUCH_STRIDE	64
/* What a child writes: never a value touch() gave the parent. */
#define CHILD_STAMP		(1ULL << 63)

static void __noreturn bench_usage(const char *why)
{
	kprintf("bench: %s\n"
	       "usage: bench demand MiB | churn N | fork MiB [N] | spawn MiB [N] |"
	       " mmap MiB N | mprotect MiB N | cpuid N\n", why);
	guest_exit(2);
}

static u64 arg_u64(int argc, char **argv, int i, u64 dflt, const char *name)
{
	u64 v;

	if (i >= argc) {
		if (dflt)
			return dflt;
		kprintf("bench: missing %s\n", name);
		bench_usage("bad arguments");
	}
	if (!parse_u64(argv[i], &v) || !v)
		bench_usage("arguments are positive numbers");
	return v;
}

static u64 mib_pages(u64 mib)
{
	/* Leave room for tables, counts and the kernel. */
	if (mib > (boot_info->mem_size >> 20) / 2)
		bench_usage("MiB is more than half of the guest's memory");
	return mib << (20 - PAGE_SHIFT);
}

static struct as *bench_as(void)
{
	struct as *as = as_create();

	if (!as)
		panic("bench: no address space");
	as_switch(as);
	return as;
}

static void map_range(struct as *as, u64 pages)
{
	if (as_map_range(as, BENCH_VA, pages, _PAGE_RW | _PAGE_NX))
		panic("bench: out of memory mapping %llu pages", pages);
}

static void touch(u64 pages, u64 stamp)
{
	u64 i;

	for (i = 0; i < pages; i++)
		*(volatile u64 *)(BENCH_VA + i * PAGE_SIZE) = stamp + i;
}

static struct pv_mmu_stats stats_t0;

/* Starts the timed loop: its TSC, and pv_mmu_stats for report(). */
static u64 start_clock(void)
{
	stats_t0 = pv_mmu_stats;
	return rdtsc();
}

static void __noreturn report(const char *name, u64 ops, u64 cycles)
{
	kprintf("bench %s: ops=%llu cycles=%llu hypercalls=%llu mmu_ops=%llu\n",
		name, ops, cycles, pv_mmu_stats.hypercalls - stats_t0.hypercalls,
		pv_mmu_stats.ops - stats_t0.ops);
	guest_exit(0);
}

static void __noreturn bench_demand(u64 mib)
{
	u64 pages = mib_pages(mib), t0, t1;
	struct as *as = bench_as();

	map_range(as, pages);
	t0 = start_clock();
	touch(pages, 1);
	t1 = rdtsc();
	report("demand", pages, t1 - t0);
}

static void __noreturn bench_churn(u64 iters)
{
	struct as *as = bench_as();
	u64 frames[CHURN_PAGES], t0, t1, n;
	unsigned int i;

	for (i = 0; i < CHURN_PAGES; i++) {
		frames[i] = palloc_alloc();
		if (!frames[i])
			panic("bench: out of memory");
	}
	t0 = start_clock();
	for (n = 0; n < iters; n++) {
		for (i = 0; i < CHURN_PAGES; i++)
			if (as_map(as, BENCH_VA + i * PAGE_SIZE, frames[i],
				   _PAGE_RW | _PAGE_NX | _PAGE_SPECIAL))
				panic("bench: out of memory");
		touch(CHURN_PAGES, n);
		for (i = 0; i < CHURN_PAGES; i++)
			as_unmap(as, BENCH_VA + i * PAGE_SIZE);
	}
	t1 = rdtsc();
	report("churn", iters, t1 - t0);
}

static u64 cow_faults;

/* Resolves the children's writes to pages the fork made copy-on-write. */
static bool bench_cow_hook(const struct pf_info *pf)
{
	int ret;

	if ((pf->err & (PF_PROT | PF_WRITE)) != (PF_PROT | PF_WRITE))
		return false;
	ret = as_cow_fault(current_as, pf->cr2);
	if (ret == -ENOMEM)
		panic("bench: out of memory in a COW fault at %llx", pf->cr2);
	if (ret)
		return false;
	cow_faults++;
	return true;
}

/* Where bench fork's cycles go: as_fork(), the child's writes, its exit. */
static struct {
	u64 fork, child, exit;
} fork_phase;

/*
 * The child of fork @n: writes one word in every @stride-th of the
 * @pages, each a COW fault, and exits.  Returns how many it wrote.
 */
static u64 run_child(struct as *parent, struct as *child, u64 pages,
		     u64 stride, u64 n)
{
	u64 i, touched = 0, t0 = rdtsc(), t1;

	as_switch(child);
	for (i = 0; i < pages; i += stride) {
		*(volatile u64 *)(BENCH_VA + i * PAGE_SIZE) = CHILD_STAMP + n;
		touched++;
	}
	t1 = rdtsc();
	fork_phase.child += t1 - t0;
	as_switch(parent);
	as_destroy(child);
	fork_phase.exit += rdtsc() - t1;
	return touched;
}

/*
 * Each child must have had its own copies: one COW fault per word it
 * wrote, resolved here or by umbra (pv_cow, counted when as_destroy()
 * reaped them), and the parent's words (touch() stamp 1) as they were.
 */
static void check_children(u64 pages, u64 stride, u64 touched)
{
	u64 i;

	if (cow_faults + pv_cow_resolved != touched)
		panic("bench: %llu COW faults (%llu by umbra) for %llu child writes",
		      cow_faults + pv_cow_resolved, pv_cow_resolved, touched);
	for (i = 0; i < pages; i += stride) {
		u64 v = *(volatile u64 *)(BENCH_VA + i * PAGE_SIZE);

		if (v != 1 + i)
			panic("bench: parent page %llu holds %llx after the children, not %llx",
			      i, v, 1 + i);
	}
}

/* Fork @n of @parent: the child's run and exit.  Returns its writes. */
static u64 fork_round(struct as *parent, u64 pages, u64 stride, u64 n)
{
	u64 f0 = rdtsc();
	struct as *child = as_fork(parent);

	if (!child)
		panic("bench: out of memory forking");
	fork_phase.fork += rdtsc() - f0;
	return run_child(parent, child, pages, stride, n);
}

/* fork and spawn (@name): the child writes every @stride-th page. */
static void __noreturn bench_fork(const char *name, u64 mib, u64 iters,
				  u64 stride)
{
	u64 pages = mib_pages(mib), touched = 0, t0, t1, n;
	struct as *parent = bench_as();

	map_range(parent, pages);
	touch(pages, 1);
	pf_hook = bench_cow_hook;
	if (!stride)
		stride = pages;		/* spawn: the first page only */
	fork_round(parent, pages, stride, 0);	/* the warm-up round */
	as_cow_reap();
	pv_cow_resolved = 0;
	cow_faults = 0;
	memset(&fork_phase, 0, sizeof(fork_phase));
	t0 = start_clock();
	for (n = 1; n <= iters; n++)
		touched += fork_round(parent, pages, stride, n);
	t1 = rdtsc();
	check_children(pages, stride, touched);
	kprintf("phases %s: fork=%llu child=%llu exit=%llu cycles per op\n",
		name, fork_phase.fork / iters, fork_phase.child / iters,
		fork_phase.exit / iters);
	report(name, iters, t1 - t0);
}

static void __noreturn bench_mmap(u64 mib, u64 iters)
{
	u64 pages = mib_pages(mib), t0, t1, n;
	u64 map = 0, use = 0, unmap = 0, p0, p1, p2;
	struct as *as = bench_as();

	map_range(as, pages);		/* the warm-up round */
	touch(pages, 0);
	as_unmap_range(as, BENCH_VA, pages);
	t0 = start_clock();
	for (n = 0; n < iters; n++) {
		p0 = rdtsc();
		map_range(as, pages);
		p1 = rdtsc();
		touch(pages, n);
		p2 = rdtsc();
		as_unmap_range(as, BENCH_VA, pages);
		map += p1 - p0;
		use += p2 - p1;
		unmap += rdtsc() - p2;
	}
	t1 = rdtsc();
	kprintf("phases mmap: map=%llu touch=%llu unmap=%llu cycles per op\n",
		map / iters, use / iters, unmap / iters);
	report("mmap", iters, t1 - t0);
}

static void __noreturn bench_mprotect(u64 mib, u64 iters)
{
	u64 pages = mib_pages(mib), t0, t1, n;
	struct as *as = bench_as();

	map_range(as, pages);
	touch(pages, 0);
	t0 = start_clock();
	for (n = 0; n < iters; n++) {
		as_protect_range(as, BENCH_VA, pages, 0, _PAGE_RW);
		as_protect_range(as, BENCH_VA, pages, _PAGE_RW, 0);
		touch(pages, n);
	}
	t1 = rdtsc();
	report("mprotect", iters, t1 - t0);
}

static void __noreturn bench_cpuid(u64 iters)
{
	u32 a, b, c, d;
	u64 i, t0, t1;

	t0 = start_clock();
	for (i = 0; i < iters; i++)
		cpuid(0, &a, &b, &c, &d);
	t1 = rdtsc();
	report("cpuid", iters, t1 - t0);
}

void bench_main(int argc, char **argv)
{
	const char *name = argc ? argv[0] : "";

	smp_ap_park();			/* the workloads run on vCPU 0 alone */

	if (!strcmp(name, "demand"))
		bench_demand(arg_u64(argc, argv, 1, 0, "MiB"));
	if (!strcmp(name, "churn"))
		bench_churn(arg_u64(argc, argv, 1, 0, "N"));
	if (!strcmp(name, "fork") || !strcmp(name, "spawn"))
		bench_fork(name, arg_u64(argc, argv, 1, 0, "MiB"),
			   arg_u64(argc, argv, 2, 1, "N"),
			   name[0] == 'f' ? FORK_TOUCH_STRIDE : 0);
	if (!strcmp(name, "mmap"))
		bench_mmap(arg_u64(argc, argv, 1, 0, "MiB"),
			   arg_u64(argc, argv, 2, 0, "N"));
	if (!strcmp(name, "mprotect"))
		bench_mprotect(arg_u64(argc, argv, 1, 0, "MiB"),
			       arg_u64(argc, argv, 2, 0, "N"));
	if (!strcmp(name, "cpuid"))
		bench_cpuid(arg_u64(argc, argv, 1, 0, "N"));
	bench_usage(argc ? "unknown workload" : "no workload given");
}
