// SPDX-License-Identifier: GPL-2.0
/*
 * suite.c - the correctness suite's runner.  Runs every case (or those
 * named on the command line) in order, each from a clean state (kernel
 * address space, CR0.WP and EFER.NXE set, no #PF hook), checks that it
 * gave back every frame it took, prints "ok - NAME" or "not ok - NAME:
 * first failure", then "guest: N passed, M failed", and exits with 0 if
 * nothing failed, else 1.  A case that does not apply to this boot
 * (unpaged_boot without --unpaged) is skipped with a "# skip" line and
 * not counted.  "seed=N" seeds the random cases.  If the guest
 * dies inside a case (panic, unexpected exception) the case is reported
 * "not ok" and the summary printed before the exit with status 3.
 *
 * "quirk=rsvd-no-p" accepts a reserved-bit #PF whose error code lacks P
 * (everything else must still match).  The architecture sets P with RSVD
 * (a reserved bit only counts in a present entry), but QEMU's TCG page
 * walker (target/i386 mmu_translate(), do_fault_rsvd, as of QEMU 7.2)
 * reports RSVD alone, so a guest whose page walks QEMU does itself (KVM
 * with npt=1 in the TCG test host) sees that.  A shadow MMU computes the
 * error code itself and must get it right: never pass this for umbra.
 */
#include "tests.h"

/* @applies: NULL, or whether this boot can run the case at all. */
struct test_case {
	const char *name;
	void (*run)(void);
	bool (*applies)(void);
};

static const struct test_case cases[] = {
	{ "unpaged_boot",		test_unpaged, unpaged_booted },
	{ "smp_remote_flush",		test_smp, smp_applies },
	{ "smp_pte_race",		test_smp_race, smp_applies },
	{ "smp_own_flush",		test_smp_native, smp_native_applies },
	{ "demand_faults",		test_demand, NULL },
	{ "permission_faults",		test_perm, NULL },
	{ "reserved_bits",		test_rsvd, NULL },
	{ "rw_to_ro_invlpg",		test_rw_ro, NULL },
	{ "unmap_flush",		test_unmap, NULL },
	{ "cr3_switch_shared_tables",	test_cr3, NULL },
	{ "huge_pages",			test_huge, NULL },
	{ "page_table_alias",		test_pt_alias, NULL },
	{ "fork_cow",			test_cow, NULL },
	{ "accessed_dirty",		test_ad, NULL },
	{ "random_stress",		test_stress, NULL },
};

u64 test_seed = 0x756d627261;	/* "umbra" */
bool quirk_rsvd_no_p;
u64 quirk_rsvd_no_p_hits;

static unsigned int nr_failures;
static char first_failure[200];
static const struct test_case *running;
static unsigned int nr_pass, nr_fail;

bool __test_check(bool ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ok)
		return true;
	if (!nr_failures++) {
		const char *base = file;

		for (; *file; file++)
			if (*file == '/')
				base = file + 1;
		n = snprintf(first_failure, sizeof(first_failure), "%s:%d: ",
			     base, line);
		va_start(ap, fmt);
		vsnprintf(first_failure + n, sizeof(first_failure) - n, fmt, ap);
		va_end(ap);
	}
	return false;
}

bool test_failed(void)
{
	return nr_failures != 0;
}

static void reset_state(void)
{
	pf_hook = NULL;
	set_cr0_wp(true);
	set_efer_nx(true);
	as_switch(kernel_as);
}

/* The guest died inside a case: report it, keep the summary parseable. */
static void report_crash(void)
{
	kprintf("not ok - %s: the guest crashed (see above)\n", running->name);
	kprintf("guest: %u passed, %u failed\n", nr_pass, nr_fail + 1);
}

static bool run_case(const struct test_case *tc)
{
	u64 used = palloc_used(), t0, t1;

	nr_failures = 0;
	reset_state();
	running = tc;
	fatal_hook = report_crash;
	t0 = rdtsc();
	tc->run();
	t1 = rdtsc();
	fatal_hook = NULL;
	reset_state();
	if (palloc_used() != used)
		CHECK(false, "leaked %lld frames", (s64)(palloc_used() - used));
	if (nr_failures > 1)
		kprintf("not ok - %s: %s (and %u more failures)\n", tc->name,
		       first_failure, nr_failures - 1);
	else if (nr_failures)
		kprintf("not ok - %s: %s\n", tc->name, first_failure);
	else
		kprintf("ok - %s\n", tc->name);
	kprintf("# %s: %llu Mcycles\n", tc->name, (t1 - t0) >> 20);
	return !nr_failures;
}

static bool selected(const char *name, int argc, char **argv)
{
	bool any = false;
	int i;

	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "seed=", 5) || !strncmp(argv[i], "quirk=", 6))
			continue;
		any = true;
		if (!strcmp(argv[i], name))
			return true;
	}
	return !any;
}

void suite_main(int argc, char **argv)
{
	unsigned int i;
	int a;

	for (a = 0; a < argc; a++) {
		if (!strncmp(argv[a], "seed=", 5)) {
			if (!parse_u64(argv[a] + 5, &test_seed) || !test_seed) {
				kprintf("guest: bad seed '%s'\n", argv[a] + 5);
				guest_exit(2);
			}
			continue;
		}
		if (!strncmp(argv[a], "quirk=", 6)) {
			if (strcmp(argv[a] + 6, "rsvd-no-p")) {
				kprintf("guest: unknown quirk '%s'\n", argv[a] + 6);
				guest_exit(2);
			}
			quirk_rsvd_no_p = true;
			continue;
		}
		for (i = 0; i < ARRAY_SIZE(cases); i++)
			if (!strcmp(argv[a], cases[i].name))
				break;
		if (i == ARRAY_SIZE(cases)) {
			kprintf("guest: no test case '%s'\n", argv[a]);
			guest_exit(2);
		}
	}
	kprintf("# suite: seed %llu, pv_mmu %s\n", test_seed, pv_mmu->name);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		if (!selected(cases[i].name, argc, argv))
			continue;
		if (cases[i].applies && !cases[i].applies()) {
			kprintf("# skip - %s: not this kind of boot\n", cases[i].name);
			continue;
		}
		/* vCPU 1 waits, spinning, only until it is of no more use. */
		if (cases[i].run != test_smp && cases[i].run != test_smp_race &&
		    cases[i].run != test_smp_native)
			smp_ap_park();
		if (run_case(&cases[i]))
			nr_pass++;
		else
			nr_fail++;
	}
	if (quirk_rsvd_no_p_hits)
		kprintf("# quirk rsvd-no-p: accepted %llu RSVD faults without P\n",
		       quirk_rsvd_no_p_hits);
	kprintf("# pv_mmu %s: hypercalls=%llu mmu_ops=%llu\n", pv_mmu->name,
		pv_mmu_stats.hypercalls, pv_mmu_stats.ops);
	kprintf("guest: %u passed, %u failed\n", nr_pass, nr_fail);
	guest_exit(nr_fail ? 1 : 0);
}
