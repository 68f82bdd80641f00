// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite umbra_pv_cow: copy-on-write faults umbra resolves in the
 * #PF exit (include/umbra/pv.h, "Copy-on-write by the host"; pvops/cow.c,
 * with the fault path's report of a write refused only by R/W in
 * mmu/fault.c and the PTE swap in mmu/pte_write.c).
 *
 * The environment is a small VM as the backend sees it (kunit/vm_env.c):
 * guest RAM in user memory of the test thread, one vCPU in long mode on
 *
 *   PML4 (gfn 1)[0] -> PDPT (gfn 2)[0] -> PD (gfn 3)[0] -> PT (gfn 4)
 *                                          PD[1] -> PT_RO (gfn 5), read-only
 *   PT[i] and PT_RO[i] map data frames DATA_GFN + i
 *   the COW area at AREA_GFN, free frames from FREE_GFN;
 *   slot 1 a read-only page at ROM_GFN; HOLE_GFN in no memslot.
 *
 * A case faults through umbra_mmu_page_fault(), as the backend's #PF exit
 * does, then hands the result to umbra_pv_cow_fault() (one try) or to
 * umbra_pv_cow_resolve() (the exit's whole step, retries included),
 * and checks guest memory: the copy, the PTE, the area's counts and log,
 * and that every refusal leaves all three as they were.  Two cases check
 * the host pages the copy goes through (umbra_mmu_get_host_page(),
 * umbra_mmu_copy_from_gfn()).
 */
#include <kunit/test.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/uaccess.h>
#include <umbra/pv.h>
#include <umbra/pvops.h>
#include "../core/core.h"
#include "../mmu/mmu.h"
#include "vm_env.h"

#define MAXPA		40
#define RAM_PAGES	64
#define ROM_GFN		0x100ULL
#define HOLE_GFN	0x200ULL
#define PML4_GFN	1ULL
#define PDPT_GFN	2ULL
#define PD_GFN		3ULL
#define PT_GFN		4ULL
#define PT_RO_GFN	5ULL
#define AREA_GFN	8ULL
#define FREE_GFN	16ULL
#define DATA_GFN	32ULL

#define FRAME(gfn)	((u64)(gfn) << PAGE_SHIFT)
#define GPTE_RW		(_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED)
#define GPTE_COW	(_PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | UMBRA_PV_PTE_COW)
#define VA(pd, i)	(((u64)(pd) << 21) | ((u64)(i) << PAGE_SHIFT))
#define PF_UWRITE	(PFERR_PRESENT | PFERR_WRITE | PFERR_USER)

static const struct kvm_cpuid_entry2 cow_cpuid[] = {
	{ .function = 0x80000000, .eax = 0x80000008 },
	{ .function = 0x80000001, .edx = BIT(29) | BIT(20) },
	{ .function = 0x80000008, .eax = MAXPA | (48 << 8) },
};

struct cow_env {
	struct kunit *test;
	struct umbra_vm *vm;
	struct umbra_vcpu *vcpu;
	unsigned long ram;
};

static u64 __user *ram_ptr(struct cow_env *env, u64 gpa)
{
	return (u64 __user *)(env->ram + gpa);
}

static u64 rd(struct cow_env *env, u64 gpa)
{
	u64 v;

	KUNIT_ASSERT_EQ(env->test, 0, get_user(v, ram_ptr(env, gpa)));
	return v;
}

static void wr(struct cow_env *env, u64 gpa, u64 v)
{
	KUNIT_ASSERT_EQ(env->test, 0, put_user(v, ram_ptr(env, gpa)));
}

static u64 area_gpa(size_t off)
{
	return FRAME(AREA_GFN) + off;
}

#define AREA(field)	area_gpa(offsetof(struct umbra_cow_area, field))

/* Sets the area's counts: nr_free in the low word, nr_done in the high. */
static void set_counts(struct cow_env *env, u32 nr_free, u32 nr_done)
{
	wr(env, AREA(nr_free), nr_free | (u64)nr_done << 32);
}

static u32 nr_free(struct cow_env *env)
{
	return (u32)rd(env, AREA(nr_free));
}

static u32 nr_done(struct cow_env *env)
{
	return rd(env, AREA(nr_free)) >> 32;
}

/* Data frame @i holds the words i * 1000 + j. */
static u64 data_word(unsigned int i, unsigned int j)
{
	return i * 1000ULL + j;
}

static void cow_env_init(struct kunit *test, struct cow_env *env)
{
	unsigned int i, j;
	u64 root_hpa;

	*env = (struct cow_env) { .test = test };
	env->ram = umbra_kunit_user_pages(test, RAM_PAGES + 1);
	env->vm = umbra_kunit_vm_create(test);
	umbra_kunit_add_slot(test, env->vm, 0, 0, RAM_PAGES, env->ram, 0);
	umbra_kunit_add_slot(test, env->vm, 1, ROM_GFN, 1,
			     env->ram + FRAME(RAM_PAGES), KVM_MEM_READONLY);
	KUNIT_ASSERT_EQ(test, 0UL, clear_user((void __user *)env->ram,
					      (RAM_PAGES + 1) * PAGE_SIZE));
	wr(env, FRAME(PML4_GFN), FRAME(PDPT_GFN) | GPTE_RW);
	wr(env, FRAME(PDPT_GFN), FRAME(PD_GFN) | GPTE_RW);
	wr(env, FRAME(PD_GFN), FRAME(PT_GFN) | GPTE_RW);
	wr(env, FRAME(PD_GFN) + 8, FRAME(PT_RO_GFN) | (GPTE_RW & ~_PAGE_RW));
	for (i = 0; i < 8; i++) {
		wr(env, FRAME(PT_GFN) + i * 8, FRAME(DATA_GFN + i) | GPTE_COW);
		wr(env, FRAME(PT_RO_GFN) + i * 8, FRAME(DATA_GFN + i) | GPTE_COW);
		for (j = 0; j < 512; j += 64)
			wr(env, FRAME(DATA_GFN + i) + j * 8, data_word(i, j));
	}
	for (i = 0; i < UMBRA_COW_FREE_MAX && i < 8; i++)
		wr(env, AREA(free) + i * 8, FREE_GFN + i);

	env->vcpu = umbra_kunit_add_vcpu(test, env->vm, 0, cow_cpuid,
					 ARRAY_SIZE(cow_cpuid));
	umbra_kunit_long_mode(env->vcpu, FRAME(PML4_GFN), true);
	KUNIT_ASSERT_EQ(test, 0, umbra_mmu_load(env->vcpu, &root_hpa));
	KUNIT_ASSERT_EQ(test, 0L, umbra_pv_cow_area(env->vcpu, FRAME(AREA_GFN)));
}

/* A write at @va with error code @err, as the #PF exit hands it over. */
static int fault(struct cow_env *env, u64 va, u32 err, struct umbra_pf *pf)
{
	*pf = (struct umbra_pf) {};
	return umbra_mmu_page_fault(env->vcpu, va, err, pf);
}

/* The whole guest RAM, to see that a refusal changed nothing. */
static u64 *snapshot(struct cow_env *env)
{
	u64 *s = kunit_kmalloc(env->test, RAM_PAGES * PAGE_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(env->test, s);
	KUNIT_ASSERT_EQ(env->test, 0UL, copy_from_user(s, (void __user *)env->ram,
						       RAM_PAGES * PAGE_SIZE));
	return s;
}

static bool ram_unchanged(struct cow_env *env, const u64 *before)
{
	u64 *now = snapshot(env);
	bool same = !memcmp(now, before, RAM_PAGES * PAGE_SIZE);

	kunit_kfree(env->test, now);
	return same;
}

/*
 * The rule of pv.h: the top free frame gets a copy of the page, the PTE
 * points at it writable and dirty without the COW bit, the log records
 * the old PTE, and the guest's retried write goes to the copy through a
 * writable spte, without another #PF going to the guest.
 */
static void umbra_pv_cow_fault_copies_and_logs(struct kunit *test)
{
	const u64 pte_gpa = FRAME(PT_GFN) + 2 * 8, old = FRAME(DATA_GFN + 2) | GPTE_COW;
	struct cow_env env;
	struct umbra_pf pf;
	struct umbra_sp *sp;
	unsigned int j;
	u64 pte;

	cow_env_init(test, &env);
	set_counts(&env, 3, 0);
	/* A read maps the page first: the old translation must go. */
	KUNIT_ASSERT_EQ(test, fault(&env, VA(0, 2), PFERR_USER, &pf), UMBRA_PF_FIXED);
	KUNIT_ASSERT_EQ(test, fault(&env, VA(0, 2), PF_UWRITE, &pf), UMBRA_PF_GUEST);
	KUNIT_EXPECT_EQ(test, pf.rw_gpte_gpa, pte_gpa);
	KUNIT_EXPECT_EQ(test, pf.rw_gpte, old);
	clear_bit(UMBRA_REQ_TLB_FLUSH, &env.vcpu->requests);

	/* The read shadowed PT: the swap maps the copy there, writable. */
	KUNIT_ASSERT_EQ(test, umbra_pv_cow_fault(env.vcpu, &pf), UMBRA_PV_COW_MAPPED);
	pte = rd(&env, pte_gpa);
	KUNIT_EXPECT_EQ(test, pte, FRAME(FREE_GFN + 2) |
			(old & ~PTE_PFN_MASK & ~UMBRA_PV_PTE_COW) | _PAGE_RW | _PAGE_DIRTY);
	for (j = 0; j < 512; j += 64)
		KUNIT_EXPECT_EQ(test, rd(&env, FRAME(FREE_GFN + 2) + j * 8), data_word(2, j));
	KUNIT_EXPECT_EQ(test, rd(&env, FRAME(DATA_GFN + 2)), data_word(2, 0));
	KUNIT_EXPECT_EQ(test, nr_free(&env), 2U);
	KUNIT_EXPECT_EQ(test, nr_done(&env), 1U);
	KUNIT_EXPECT_EQ(test, rd(&env, AREA(done[0].pte_gpa)), pte_gpa);
	KUNIT_EXPECT_EQ(test, rd(&env, AREA(done[0].old_pte)), old);
	KUNIT_EXPECT_EQ(test, env.vcpu->stats.pv_cow, 1ULL);
	KUNIT_EXPECT_TRUE(test, test_bit(UMBRA_REQ_TLB_FLUSH, &env.vcpu->requests));
	sp = umbra_kunit_find_sp(env.vm, PT_GFN, 1);
	KUNIT_ASSERT_NOT_NULL(test, sp);
	KUNIT_EXPECT_TRUE(test, spte_writable(sp->spt[2]));
	KUNIT_EXPECT_EQ(test, spte_pfn(sp->spt[2]),
			umbra_kunit_host_pfn(test, env.ram + FRAME(FREE_GFN + 2)));

	/* The retried write: a writable spte onto the copy, or a fixable fault. */
	KUNIT_EXPECT_EQ(test, fault(&env, VA(0, 2), PF_UWRITE, &pf), UMBRA_PF_FIXED);

	/* The next one takes the next frame and the next log slot. */
	KUNIT_ASSERT_EQ(test, fault(&env, VA(0, 5), PF_UWRITE, &pf), UMBRA_PF_GUEST);
	KUNIT_ASSERT_EQ(test, umbra_pv_cow_fault(env.vcpu, &pf), UMBRA_PV_COW_MAPPED);
	KUNIT_EXPECT_EQ(test, rd(&env, FRAME(PT_GFN) + 5 * 8) & PTE_PFN_MASK,
			FRAME(FREE_GFN + 1));
	KUNIT_EXPECT_EQ(test, nr_free(&env), 1U);
	KUNIT_EXPECT_EQ(test, nr_done(&env), 2U);
	KUNIT_EXPECT_EQ(test, rd(&env, AREA(done[1].pte_gpa)), FRAME(PT_GFN) + 5 * 8);
}

/* One way umbra must leave a fault to the guest, and what it sets up. */
struct refusal {
	const char *what;
	u32 nr_free, nr_done;
	u64 top_free;		/* free[nr_free - 1], if nr_free is sane */
	unsigned int pd;	/* 0: PT, 1: PT_RO (read-only above) */
	u32 err;
	bool no_area, no_cow_bit;
};

static const struct refusal refusals[] = {
	{ "no area registered", 3, 0, FREE_GFN, 0, PF_UWRITE, .no_area = true },
	{ "PTE without the COW bit", 3, 0, FREE_GFN, 0, PF_UWRITE, .no_cow_bit = true },
	{ "no free frame", 0, 0, FREE_GFN, 0, PF_UWRITE },
	{ "nr_free beyond the array", UMBRA_COW_FREE_MAX + 1, 0, FREE_GFN, 0, PF_UWRITE },
	{ "log full", 3, UMBRA_COW_DONE_MAX, FREE_GFN, 0, PF_UWRITE },
	{ "nr_done beyond the array", 3, ~0U, FREE_GFN, 0, PF_UWRITE },
	{ "free frame in no memslot", 3, 0, HOLE_GFN, 0, PF_UWRITE },
	{ "free frame read-only", 3, 0, ROM_GFN, 0, PF_UWRITE },
	{ "free frame beyond MAXPHYADDR bits", 3, 0, 1ULL << 52, 0, PF_UWRITE },
	{ "free frame is the page itself", 3, 0, DATA_GFN + 1, 0, PF_UWRITE },
	{ "read-only above the PTE", 3, 0, FREE_GFN, 1, PF_UWRITE },
	{ "a read, not a write", 3, 0, FREE_GFN, 0, PFERR_PRESENT | PFERR_USER },
};

static void refusal_desc(const struct refusal *r, char *desc)
{
	strscpy(desc, r->what, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(refusal, refusals, refusal_desc);

/*
 * Resolve @pf on vCPU 0 with no flush requests pending: vCPU 0 and @other
 * must be asked to flush exactly when @want.
 */
static void expect_cow_flushes(struct cow_env *env, struct umbra_vcpu *other,
			       const struct umbra_pf *pf, bool want)
{
	clear_bit(UMBRA_REQ_TLB_FLUSH, &env->vcpu->requests);
	clear_bit(UMBRA_REQ_TLB_FLUSH, &other->requests);
	KUNIT_ASSERT_NE(env->test, umbra_pv_cow_fault(env->vcpu, pf), UMBRA_PV_COW_NO);
	KUNIT_EXPECT_EQ(env->test, test_bit(UMBRA_REQ_TLB_FLUSH, &env->vcpu->requests), want);
	KUNIT_EXPECT_EQ(env->test, test_bit(UMBRA_REQ_TLB_FLUSH, &other->requests), want);
}

/*
 * The flush rule across vCPUs: a swap that dropped a translation the
 * shadow held asks every vCPU of the VM to flush (vCPU 1 runs on the same
 * tables, so on the same shadow), one that found none asks nobody.
 */
static void umbra_pv_cow_fault_flush_reaches_every_vcpu(struct kunit *test)
{
	struct umbra_vcpu *other;
	struct cow_env env;
	struct umbra_pf pf;

	cow_env_init(test, &env);
	set_counts(&env, 3, 0);
	other = umbra_kunit_add_vcpu(test, env.vm, 1, cow_cpuid,
				     ARRAY_SIZE(cow_cpuid));
	umbra_kunit_long_mode(other, FRAME(PML4_GFN), true);

	/* Page 1 was never read: no spte mirrored its PTE. */
	KUNIT_ASSERT_EQ(test, fault(&env, VA(0, 1), PF_UWRITE, &pf), UMBRA_PF_GUEST);
	expect_cow_flushes(&env, other, &pf, false);

	/* Page 2 was read first: its read-only translation goes everywhere. */
	KUNIT_ASSERT_EQ(test, fault(&env, VA(0, 2), PFERR_USER, &pf), UMBRA_PF_FIXED);
	KUNIT_ASSERT_EQ(test, fault(&env, VA(0, 2), PF_UWRITE, &pf), UMBRA_PF_GUEST);
	expect_cow_flushes(&env, other, &pf, true);
	KUNIT_EXPECT_EQ(test, nr_done(&env), 2U);
}

/*
 * Every refusal pv.h lists: the fault stays the guest's #PF, and guest
 * RAM, the area included, is exactly as it was.
 */
static void umbra_pv_cow_fault_refusals_leave_all(struct kunit *test)
{
	const struct refusal *r = test->param_value;
	u64 pt = r->pd ? PT_RO_GFN : PT_GFN;
	struct cow_env env;
	struct umbra_pf pf;
	u64 *before;
	int ret;

	cow_env_init(test, &env);
	if (r->no_area)
		KUNIT_ASSERT_EQ(test, 0L, umbra_pv_cow_area(env.vcpu, 0));
	if (r->no_cow_bit)
		wr(&env, FRAME(pt) + 8, FRAME(DATA_GFN + 1) | (GPTE_COW & ~UMBRA_PV_PTE_COW));
	set_counts(&env, r->nr_free, r->nr_done);
	if (r->nr_free && r->nr_free <= UMBRA_COW_FREE_MAX)
		wr(&env, AREA(free) + (r->nr_free - 1) * 8, r->top_free);
	before = snapshot(&env);

	ret = fault(&env, VA(r->pd, 1), r->err, &pf);
	if (!(r->err & PFERR_WRITE)) {
		/* A read of a COW page is no fault at all: nothing to resolve. */
		KUNIT_EXPECT_EQ(test, ret, UMBRA_PF_FIXED);
		KUNIT_EXPECT_EQ(test, pf.rw_gpte_gpa, 0ULL);
	} else {
		KUNIT_ASSERT_EQ(test, ret, UMBRA_PF_GUEST);
		KUNIT_EXPECT_EQ(test, pf.fault_error, r->err);
		KUNIT_EXPECT_EQ(test, pf.rw_gpte_gpa, r->pd ? 0ULL : FRAME(pt) + 8);
		KUNIT_EXPECT_EQ(test, umbra_pv_cow_fault(env.vcpu, &pf), UMBRA_PV_COW_NO);
	}
	KUNIT_EXPECT_TRUE(test, ram_unchanged(&env, before));
	KUNIT_EXPECT_EQ(test, env.vcpu->stats.pv_cow, 0ULL);
}

/*
 * The PTE changed between the walk and the swap (another vCPU, say): the
 * guest just retries, nothing is logged, no frame is taken, and the PTE
 * keeps the other writer's value.
 */
static void umbra_pv_cow_fault_changed_pte_is_left(struct kunit *test)
{
	const u64 pte_gpa = FRAME(PT_GFN) + 3 * 8, theirs = FRAME(DATA_GFN + 7) | GPTE_RW;
	struct cow_env env;
	struct umbra_pf pf;

	cow_env_init(test, &env);
	set_counts(&env, 3, 0);
	KUNIT_ASSERT_EQ(test, fault(&env, VA(0, 3), PF_UWRITE, &pf), UMBRA_PF_GUEST);
	wr(&env, pte_gpa, theirs);
	KUNIT_EXPECT_EQ(test, umbra_pv_cow_fault(env.vcpu, &pf), UMBRA_PV_COW_RETRY);
	KUNIT_EXPECT_EQ(test, rd(&env, pte_gpa), theirs);
	KUNIT_EXPECT_EQ(test, nr_free(&env), 3U);
	KUNIT_EXPECT_EQ(test, nr_done(&env), 0U);
	KUNIT_EXPECT_EQ(test, env.vcpu->stats.pv_cow, 0ULL);
}

/*
 * The PTE changed between the walk and the swap but is still a COW (an
 * A/D update, say): umbra_pv_cow_resolve(), the #PF exit's step after a
 * walk gave the fault to the guest, walks again and resolves it in the
 * same exit instead of handing the guest a #PF it did not earn; a PTE
 * that stopped being a COW is the guest's fault again.
 */
static void umbra_pv_cow_resolve_retries_changed_cow(struct kunit *test)
{
	const u64 pte_gpa = FRAME(PT_GFN) + 3 * 8;
	const u64 cow = FRAME(DATA_GFN + 3) | GPTE_COW | _PAGE_DIRTY;
	const u64 ro = FRAME(DATA_GFN + 5) | (GPTE_COW & ~UMBRA_PV_PTE_COW);
	struct cow_env env;
	struct umbra_pf pf;
	u64 pte;

	cow_env_init(test, &env);
	set_counts(&env, 3, 0);
	KUNIT_ASSERT_EQ(test, fault(&env, VA(0, 3), PF_UWRITE, &pf), UMBRA_PF_GUEST);
	wr(&env, pte_gpa, cow);		/* not what the walk read, still a COW */
	KUNIT_EXPECT_EQ(test, umbra_pv_cow_resolve(env.vcpu, VA(0, 3), PF_UWRITE, &pf),
			UMBRA_PF_FIXED);
	pte = rd(&env, pte_gpa);
	KUNIT_EXPECT_EQ(test, pte & PTE_PFN_MASK, FRAME(FREE_GFN + 2));
	KUNIT_EXPECT_EQ(test, pte & (UMBRA_PV_PTE_COW | _PAGE_RW), (u64)_PAGE_RW);
	KUNIT_EXPECT_EQ(test, nr_done(&env), 1U);
	KUNIT_EXPECT_EQ(test, rd(&env, AREA(done[0].old_pte)), cow);
	KUNIT_EXPECT_EQ(test, env.vcpu->stats.pv_cow, 1ULL);

	/* Made read-only for good meanwhile: the guest's #PF, nothing taken. */
	KUNIT_ASSERT_EQ(test, fault(&env, VA(0, 5), PF_UWRITE, &pf), UMBRA_PF_GUEST);
	wr(&env, FRAME(PT_GFN) + 5 * 8, ro);
	KUNIT_EXPECT_EQ(test, umbra_pv_cow_resolve(env.vcpu, VA(0, 5), PF_UWRITE, &pf),
			UMBRA_PF_GUEST);
	KUNIT_EXPECT_EQ(test, pf.fault_addr, VA(0, 5));
	KUNIT_EXPECT_EQ(test, rd(&env, FRAME(PT_GFN) + 5 * 8), ro);
	KUNIT_EXPECT_EQ(test, nr_free(&env), 2U);
	KUNIT_EXPECT_EQ(test, nr_done(&env), 1U);
}

/*
 * A free frame the guest hands over while it is still a shadowed page
 * table: the copy overwrites it, and its shadows go, so none describes
 * what it held before.
 */
static void umbra_pv_cow_fault_drops_shadow_of_frame(struct kunit *test)
{
	struct cow_env env;
	struct umbra_pf pf;

	cow_env_init(test, &env);
	set_counts(&env, 1, 0);
	wr(&env, AREA(free), PT_RO_GFN);
	KUNIT_ASSERT_EQ(test, fault(&env, VA(1, 0), PFERR_USER, &pf), UMBRA_PF_FIXED);
	KUNIT_ASSERT_NOT_NULL(test, umbra_kunit_find_sp(env.vm, PT_RO_GFN, 1));

	/* PT has no shadow yet: resolved, but the write must be faulted in. */
	KUNIT_ASSERT_EQ(test, fault(&env, VA(0, 4), PF_UWRITE, &pf), UMBRA_PF_GUEST);
	KUNIT_ASSERT_EQ(test, umbra_pv_cow_fault(env.vcpu, &pf), UMBRA_PV_COW_RETRY);
	KUNIT_EXPECT_NULL(test, umbra_kunit_find_sp(env.vm, PT_RO_GFN, 1));
	KUNIT_EXPECT_EQ(test, rd(&env, FRAME(PT_RO_GFN)), data_word(4, 0));
}

/* UMBRA_HC_COW_AREA's answers. */
static void umbra_pv_cow_area_checks_gpa(struct kunit *test)
{
	struct cow_env env;

	cow_env_init(test, &env);
	KUNIT_EXPECT_EQ(test, umbra_pv_cow_area(env.vcpu, FRAME(AREA_GFN) + 8),
			-(long)UMBRA_PV_EINVAL);
	KUNIT_EXPECT_EQ(test, umbra_pv_cow_area(env.vcpu, FRAME(HOLE_GFN)),
			-(long)UMBRA_PV_EFAULT);
	KUNIT_EXPECT_EQ(test, umbra_pv_cow_area(env.vcpu, FRAME(ROM_GFN)),
			-(long)UMBRA_PV_EFAULT);
	/* A refused call keeps the area registered before it. */
	KUNIT_EXPECT_EQ(test, env.vcpu->pv_cow_gpa, FRAME(AREA_GFN));
	KUNIT_EXPECT_EQ(test, umbra_pv_cow_area(env.vcpu, 0), 0L);
	KUNIT_EXPECT_EQ(test, env.vcpu->pv_cow_gpa, 0ULL);
}

/* Would a store into @hp be lost (struct umbra_host_page)? */
static bool host_page_stale(struct cow_env *env, const struct umbra_host_page *hp)
{
	struct umbra_mmu_vm *mmu = env->vm->mmu;
	bool stale;

	spin_lock(&mmu->lock);
	stale = mmu_invalidated(mmu, hp->seq);
	spin_unlock(&mmu->lock);
	return stale;
}

/*
 * The host pages the copy goes through (mmu/mmu.c): refused where guest
 * RAM is not (no memslot, a write to read-only memory), and stale once
 * the host has invalidated the page (here MADV_DONTNEED), which is when
 * a copy made into it would be lost and cow.c leaves the fault to the
 * guest.
 */
static void umbra_mmu_host_page_stale_after_invalidation(struct kunit *test)
{
	struct umbra_host_page hp;
	struct cow_env env;
	unsigned long hva;
	int idx;

	cow_env_init(test, &env);
	hva = env.ram + FRAME(FREE_GFN);
	idx = srcu_read_lock(&env.vm->srcu);
	KUNIT_EXPECT_FALSE(test, umbra_mmu_get_host_page(env.vm, HOLE_GFN, false, &hp));
	KUNIT_EXPECT_NULL(test, hp.page);
	KUNIT_EXPECT_FALSE(test, umbra_mmu_get_host_page(env.vm, ROM_GFN, true, &hp));
	KUNIT_EXPECT_NULL(test, hp.page);
	KUNIT_EXPECT_TRUE(test, umbra_mmu_get_host_page(env.vm, ROM_GFN, false, &hp));
	umbra_mmu_put_host_page(&hp, false);

	KUNIT_ASSERT_TRUE(test, umbra_mmu_get_host_page(env.vm, FREE_GFN, true, &hp));
	KUNIT_EXPECT_EQ(test, (u64)page_to_pfn(hp.page), umbra_kunit_host_pfn(test, hva));
	KUNIT_EXPECT_FALSE(test, host_page_stale(&env, &hp));
	KUNIT_EXPECT_EQ(test, 0, do_madvise(current->mm, hva, PAGE_SIZE, MADV_DONTNEED));
	KUNIT_EXPECT_TRUE(test, host_page_stale(&env, &hp));
	umbra_mmu_put_host_page(&hp, true);
	KUNIT_EXPECT_NULL(test, hp.page);
	srcu_read_unlock(&env.vm->srcu, idx);
}

/*
 * umbra_mmu_copy_from_gfn() both ways: from the host page an spte maps
 * (under mmu_lock, no lookup), and by a lookup when no spte maps the
 * frame.  The copy lands in the page held, and the source is unchanged.
 * Once the host has invalidated the page held, a copy into it does not
 * count (-EAGAIN).  The destination is no table here: nothing to zap
 * (umbra_pv_cow_fault_drops_shadow_of_frame has one).
 */
static void umbra_mmu_copy_from_gfn_mapped_or_not(struct kunit *test)
{
	struct umbra_host_page to;
	struct cow_env env;
	struct umbra_pf pf;
	LIST_HEAD(zapped);
	bool flush = false;
	unsigned int j;
	int idx;

	cow_env_init(test, &env);
	idx = srcu_read_lock(&env.vm->srcu);
	KUNIT_ASSERT_TRUE(test, umbra_mmu_get_host_page(env.vm, FREE_GFN, true, &to));

	KUNIT_ASSERT_EQ(test, *umbra_gfn_rmap(env.vm, DATA_GFN + 3), 0UL);
	KUNIT_ASSERT_EQ(test, umbra_mmu_copy_from_gfn(env.vm, DATA_GFN + 3, &to,
						      &flush, &zapped), 0);
	for (j = 0; j < 512; j += 64)
		KUNIT_EXPECT_EQ(test, rd(&env, FRAME(FREE_GFN) + j * 8), data_word(3, j));

	KUNIT_ASSERT_EQ(test, fault(&env, VA(0, 6), PFERR_USER, &pf), UMBRA_PF_FIXED);
	KUNIT_ASSERT_NE(test, *umbra_gfn_rmap(env.vm, DATA_GFN + 6), 0UL);
	KUNIT_ASSERT_EQ(test, umbra_mmu_copy_from_gfn(env.vm, DATA_GFN + 6, &to,
						      &flush, &zapped), 0);
	for (j = 0; j < 512; j += 64) {
		KUNIT_EXPECT_EQ(test, rd(&env, FRAME(FREE_GFN) + j * 8), data_word(6, j));
		KUNIT_EXPECT_EQ(test, rd(&env, FRAME(DATA_GFN + 6) + j * 8), data_word(6, j));
	}
	KUNIT_EXPECT_EQ(test, umbra_mmu_copy_from_gfn(env.vm, HOLE_GFN, &to,
						      &flush, &zapped), -EFAULT);
	KUNIT_EXPECT_FALSE(test, flush);
	KUNIT_EXPECT_TRUE(test, list_empty(&zapped));

	KUNIT_EXPECT_EQ(test, 0, do_madvise(current->mm, env.ram + FRAME(FREE_GFN),
					    PAGE_SIZE, MADV_DONTNEED));
	KUNIT_EXPECT_EQ(test, umbra_mmu_copy_from_gfn(env.vm, DATA_GFN + 3, &to,
						      &flush, &zapped), -EAGAIN);
	umbra_mmu_put_host_page(&to, true);
	srcu_read_unlock(&env.vm->srcu, idx);
}

static struct kunit_case umbra_pv_cow_cases[] = {
	KUNIT_CASE(umbra_pv_cow_fault_copies_and_logs),
	KUNIT_CASE(umbra_pv_cow_fault_flush_reaches_every_vcpu),
	KUNIT_CASE_PARAM(umbra_pv_cow_fault_refusals_leave_all, refusal_gen_params),
	KUNIT_CASE(umbra_pv_cow_fault_changed_pte_is_left),
	KUNIT_CASE(umbra_pv_cow_resolve_retries_changed_cow),
	KUNIT_CASE(umbra_pv_cow_fault_drops_shadow_of_frame),
	KUNIT_CASE(umbra_pv_cow_area_checks_gpa),
	KUNIT_CASE(umbra_mmu_host_page_stale_after_invalidation),
	KUNIT_CASE(umbra_mmu_copy_from_gfn_mapped_or_not),
	{}
};

static struct kunit_suite umbra_pv_cow_suite = {
	.name = "umbra_pv_cow",
	.test_cases = umbra_pv_cow_cases,
};
kunit_test_suite(umbra_pv_cow_suite);
