// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite umbra_mmu_sync: unsync leaf tables and their resync
 * (mmu/sync.c: umbra_sp_try_unsync(), umbra_mmu_guest_flush() with
 * sync_sp() and resync_spte(), umbra_sp_new_shadow()), driven the way a
 * guest drives them: write faults on the frame of a shadowed table, plain
 * stores into guest RAM, guest TLB flushes, and faults that build a new
 * shadow of a table.
 *
 * The environment is a small VM as the backend sees it (kunit/vm_env.c):
 * guest memory in user memory of the test thread, published as a RAM
 * memslot and a read-only one, the shadow MMU with its notifier on the
 * thread's mm, and a vCPU in long mode (CR0.WP, EFER.NXE unless a case
 * says otherwise, MAXPA physical address bits); one case adds a second
 * vCPU on the same root.  Memory starts zeroed; the guest's tables are
 * written into it:
 *
 *   PML4 (gfn 1)[1] -> PDPT (gfn 2)[2] -> PD (gfn 3)[3] -> PT  (gfn 4)
 *                                                  [4] -> PT2 (gfn 5)
 *                                                  [5] -> PT3 (gfn 6)
 *                                                  [6] -> PT, read-only and
 *                                                         supervisor-only
 *                      PDPT (gfn 2)[5] -> PT's frame used as a PD
 *   PT2[0], [1], [2]: the guest's windows onto PT, PT2 and PT3, writable
 *   and dirty; data frames DATA_GFN .. RAM_PAGES - 1; and after RAM,
 *   ROM_GFN in the read-only memslot, a page the shadow maps read-only.
 *
 * So PT can be made unsync by a write fault through its window, be
 * reached under another role (PD[6]), or be shadowed as an upper-level
 * table (PDPT[5]).  Faults go through umbra_mmu_page_fault() on the root
 * umbra_mmu_load() chose, as the backend's #PF exit would.
 *
 * What is checked: which tables are unsync and on mmu->unsync; that the
 * shadow does not move while the guest rewrites an unsync table; after a
 * guest flush, each spte against a model of the rights (model_spte(),
 * written from fault.c's rules, not from leaf_spte()), for every
 * combination of W, U, NX and D on either side of a change, under every
 * kind of entry above the table, with and without EFER.NXE; that the
 * table's frame is write-protected again and a further store traps; the
 * guest's A/D bits in RAM; the vCPUs' TLB flush requests.  Nothing runs
 * concurrently here, so the order "protect, flush, compare" is checked by
 * what it must leave behind (no writable mapping of a table in sync), not
 * by racing a store against the resync.  Every case
 * ends with check_rmaps() (every present spte on its rmap or parent list
 * exactly once, nothing else there) and check_zap_all() (zapping
 * everything, as a memslot deletion does, leaves no shadow page, unsync
 * entry or rmap entry).  Teardown is vm_env.c's.
 */
#include <kunit/test.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/uaccess.h>
#include "../core/core.h"
#include "../mmu/mmu.h"
#include "vm_env.h"

#define GPTE_P		_PAGE_PRESENT
#define GPTE_W		_PAGE_RW
#define GPTE_U		_PAGE_USER
#define GPTE_A		_PAGE_ACCESSED
#define GPTE_D		_PAGE_DIRTY
#define GPTE_NX		_PAGE_NX
#define GPTE_ALL	(GPTE_P | GPTE_W | GPTE_U | GPTE_A)
/* Bits of a 4 KiB PTE that grant nothing: caching, global, software. */
#define GPTE_CACHE	(_PAGE_PWT | _PAGE_PCD | _PAGE_PAT)
#define GPTE_AVAIL	(GENMASK_ULL(11, 9) | GENMASK_ULL(58, 52))

#define MAXPA		40
#define RAM_PAGES	64
#define ROM_GFN		64ULL
#define GUEST_PAGES	(RAM_PAGES + 1)	/* RAM, then ROM_GFN */

/* The guest's tables, see the top of the file. */
#define PML4_GFN	1ULL
#define PDPT_GFN	2ULL
#define PD_GFN		3ULL
#define PT_GFN		4ULL
#define PT2_GFN		5ULL
#define PT3_GFN		6ULL
#define DATA_GFN	32ULL
#define NR_DATA		(RAM_PAGES - DATA_GFN)

/* PD indices of the leaf tables, PDPT index of PT used as a PD. */
#define PD_PT		3
#define PD_PT2		4
#define PD_PT3		5
#define PD_PT_RO	6
#define PDPT_PT_AS_PD	5

/* The rights of PD[PD_PT_RO]: read-only, supervisor, executable. */
#define UPPER_RO	(GPTE_P | GPTE_A)

/* The address of entry @pt of the table at PD index @pd (PDPT index @pdpt). */
#define GVA(pdpt, pd, pt) ((1ULL << 39) | ((u64)(pdpt) << 30) | \
			   ((u64)(pd) << 21) | ((u64)(pt) << 12))
#define PT_VA(i)	GVA(2, PD_PT, i)
#define PT2_VA(i)	GVA(2, PD_PT2, i)
#define PT3_VA(i)	GVA(2, PD_PT3, i)

/* PT2's window onto leaf table @gfn (PT, PT2 or PT3): index, address. */
#define WIN(gfn)	((unsigned int)((gfn) - PT_GFN))
#define WIN_VA(gfn)	PT2_VA(WIN(gfn))

#define FRAME(gfn)	((u64)(gfn) << PAGE_SHIFT)
#define DATA(n)		FRAME(DATA_GFN + (n))

/* Long mode, NX, and MAXPA physical address bits. */
static const struct kvm_cpuid_entry2 sync_cpuid[] = {
	{ .function = 0x80000000, .eax = 0x80000008 },
	{ .function = 0x80000001, .edx = BIT(29) | BIT(20) },
	{ .function = 0x80000008, .eax = MAXPA | (48 << 8) },
};

struct sync_env {
	struct kunit *test;
	struct umbra_vm *vm;
	struct umbra_vcpu *vcpu;
	unsigned long ram_hva;
	bool nxe;			/* EFER.NXE */
	u64 upper;			/* the rights of PD[PD_PT] */
	unsigned long tables;		/* frames shadowed in sync, for the model */
	u64 pfn[GUEST_PAGES];		/* the host frame behind each gfn */
};

/* --- Guest memory ---------------------------------------------------- */

static u64 __user *gpte_ptr(struct sync_env *env, u64 table, unsigned int i)
{
	return (u64 __user *)(env->ram_hva + FRAME(table)) + i;
}

static u64 get_gpte(struct sync_env *env, u64 table, unsigned int i)
{
	u64 v;

	KUNIT_ASSERT_EQ(env->test, 0, get_user(v, gpte_ptr(env, table, i)));
	return v;
}

/* A plain guest store: no trap, no MMU call, as through a writable spte. */
static void set_gpte(struct sync_env *env, u64 table, unsigned int i, u64 v)
{
	KUNIT_ASSERT_EQ(env->test, 0, put_user(v, gpte_ptr(env, table, i)));
}

/* A store to a table that is in sync: it traps and is emulated. */
static void store_emulated(struct sync_env *env, u64 table, unsigned int i,
			   u64 v)
{
	KUNIT_ASSERT_EQ(env->test, 0,
			umbra_mmu_emulate_write(env->vcpu, FRAME(table) + i * sizeof(u64),
						&v, sizeof(v)));
}

static u64 gpte_gfn(u64 gpte)
{
	return (gpte & GENMASK_ULL(51, PAGE_SHIFT)) >> PAGE_SHIFT;
}

/* --- Setup ----------------------------------------------------------- */

static void load_root(struct sync_env *env, struct umbra_vcpu *vcpu)
{
	u64 root_hpa;

	umbra_kunit_long_mode(vcpu, FRAME(PML4_GFN), env->nxe);
	KUNIT_ASSERT_EQ(env->test, 0, umbra_mmu_load(vcpu, &root_hpa));
}

static struct umbra_vcpu *add_vcpu(struct sync_env *env, unsigned int id)
{
	struct umbra_vcpu *vcpu;

	vcpu = umbra_kunit_add_vcpu(env->test, env->vm, id, sync_cpuid,
				    ARRAY_SIZE(sync_cpuid));
	KUNIT_ASSERT_EQ(env->test, vcpu->caps.maxphyaddr, MAXPA);
	load_root(env, vcpu);
	return vcpu;
}

/*
 * The VM of the top of the file with vCPU 0 on its root; @upper is what
 * PD[PD_PT] grants (GPTE_ALL in all but the rights table).
 */
static void sync_env_init(struct kunit *test, struct sync_env *env, bool nxe,
			  u64 upper)
{
	u64 gfn;

	*env = (struct sync_env) { .test = test, .nxe = nxe, .upper = upper };
	env->ram_hva = umbra_kunit_user_pages(test, GUEST_PAGES);
	env->vm = umbra_kunit_vm_create(test);
	umbra_kunit_add_slot(test, env->vm, 0, 0, RAM_PAGES, env->ram_hva, 0);
	umbra_kunit_add_slot(test, env->vm, 1, ROM_GFN, 1,
			     env->ram_hva + FRAME(ROM_GFN), KVM_MEM_READONLY);

	/* Written, so every page is present (and writable) in the host. */
	KUNIT_ASSERT_EQ(test, 0UL, clear_user((void __user *)env->ram_hva,
					      GUEST_PAGES * PAGE_SIZE));
	for (gfn = 0; gfn < GUEST_PAGES; gfn++)
		env->pfn[gfn] = umbra_kunit_host_pfn(test, env->ram_hva + FRAME(gfn));

	set_gpte(env, PML4_GFN, 1, FRAME(PDPT_GFN) | GPTE_ALL);
	set_gpte(env, PDPT_GFN, 2, FRAME(PD_GFN) | GPTE_ALL);
	set_gpte(env, PDPT_GFN, PDPT_PT_AS_PD, FRAME(PT_GFN) | GPTE_ALL);
	set_gpte(env, PD_GFN, PD_PT, FRAME(PT_GFN) | upper);
	set_gpte(env, PD_GFN, PD_PT2, FRAME(PT2_GFN) | GPTE_ALL);
	set_gpte(env, PD_GFN, PD_PT3, FRAME(PT3_GFN) | GPTE_ALL);
	set_gpte(env, PD_GFN, PD_PT_RO, FRAME(PT_GFN) | UPPER_RO);
	for (gfn = PT_GFN; gfn <= PT3_GFN; gfn++)
		set_gpte(env, PT2_GFN, WIN(gfn), FRAME(gfn) | GPTE_ALL | GPTE_D);
	env->tables = BIT(PML4_GFN) | BIT(PDPT_GFN) | BIT(PD_GFN);

	env->vcpu = add_vcpu(env, 0);
}

/* --- The MMU's state ------------------------------------------------- */

static int fault(struct umbra_vcpu *vcpu, u64 va, u32 access,
		 struct umbra_pf *pf)
{
	struct umbra_pf unused;

	return umbra_mmu_page_fault(vcpu, va, access, pf ?: &unused);
}

static void fault_ok(struct sync_env *env, u64 va, u32 access)
{
	KUNIT_ASSERT_EQ_MSG(env->test, fault(env->vcpu, va, access, NULL),
			    UMBRA_PF_FIXED, "va %#llx access %#x", va, access);
}

/* The level-1 shadow of guest table @gfn whose role grants @access. */
static struct umbra_sp *leaf_sp(struct sync_env *env, u64 gfn,
				unsigned int access)
{
	struct umbra_mmu_vm *mmu = env->vm->mmu;
	struct umbra_sp *sp, *found = NULL;
	struct hlist_node *tmp;

	spin_lock(&mmu->lock);
	for_each_sp_of_gfn(mmu, sp, tmp, gfn)
		if (sp->role.level == 1 && sp->role.access == access)
			found = sp;
	spin_unlock(&mmu->lock);
	return found;
}

/* The ACC_* rights upper entries with gpte bits @upper leave to a table. */
static unsigned int upper_access(const struct sync_env *env, u64 upper)
{
	unsigned int acc = 0;

	if (upper & GPTE_W)
		acc |= ACC_WRITE;
	if (upper & GPTE_U)
		acc |= ACC_USER;
	if (!env->nxe || !(upper & GPTE_NX))
		acc |= ACC_EXEC;
	return acc;
}

/*
 * The usual shadow of leaf table @gfn: reached through PD[PD_PT] for PT,
 * through rwx upper entries for the others.
 */
static struct umbra_sp *table_sp(struct sync_env *env, u64 gfn)
{
	u64 upper = gfn == PT_GFN ? env->upper : GPTE_ALL;
	struct umbra_sp *sp = leaf_sp(env, gfn, upper_access(env, upper));

	KUNIT_ASSERT_NOT_NULL_MSG(env->test, sp, "no shadow of gfn %llu", gfn);
	return sp;
}

static unsigned int nr_unsync(struct sync_env *env)
{
	struct umbra_mmu_vm *mmu = env->vm->mmu;
	unsigned int n = 0;
	struct umbra_sp *sp;

	spin_lock(&mmu->lock);
	list_for_each_entry(sp, &mmu->unsync, unsync_link)
		n++;
	spin_unlock(&mmu->lock);
	return n;
}

static bool on_unsync_list(struct sync_env *env, struct umbra_sp *want)
{
	struct umbra_mmu_vm *mmu = env->vm->mmu;
	struct umbra_sp *sp;
	bool found = false;

	spin_lock(&mmu->lock);
	list_for_each_entry(sp, &mmu->unsync, unsync_link)
		found |= sp == want;
	spin_unlock(&mmu->lock);
	return found;
}

static void expect_unsync(struct sync_env *env, struct umbra_sp *sp, bool unsync)
{
	KUNIT_EXPECT_EQ_MSG(env->test, sp->unsync, unsync, "gfn %llu", sp->gfn);
	KUNIT_EXPECT_EQ_MSG(env->test, on_unsync_list(env, sp), unsync,
			    "gfn %llu", sp->gfn);
}

/*
 * The sptes on @gfn's rmap; *@writable gets how many of them allow writes
 * (W or MMU-writable).
 */
static unsigned int rmap_len_writable(struct sync_env *env, u64 gfn,
				      unsigned int *writable)
{
	struct umbra_vm *vm = env->vm;
	unsigned long *head, iter;
	unsigned int n = 0;
	u64 *sptep;
	int idx;

	*writable = 0;
	idx = srcu_read_lock(&vm->srcu);
	spin_lock(&vm->mmu->lock);
	head = umbra_gfn_rmap(vm, gfn);
	for (sptep = umbra_rmap_first(head, &iter); sptep;
	     sptep = umbra_rmap_next(head, &iter)) {
		n++;
		*writable += !!(*sptep & (SPTE_WRITABLE | SPTE_MMU_WRITABLE));
	}
	spin_unlock(&vm->mmu->lock);
	srcu_read_unlock(&vm->srcu, idx);
	return n;
}

static unsigned int rmap_len(struct sync_env *env, u64 gfn)
{
	unsigned int writable;

	return rmap_len_writable(env, gfn, &writable);
}

static unsigned int writable_mappings(struct sync_env *env, u64 gfn)
{
	unsigned int writable;

	rmap_len_writable(env, gfn, &writable);
	return writable;
}

/*
 * Guest table @gfn is protected: its window is mapped, read-only and not
 * MMU-writable, and so is every other spte of the frame.
 */
static void expect_protected(struct sync_env *env, u64 gfn)
{
	u64 win = table_sp(env, PT2_GFN)->spt[WIN(gfn)];

	KUNIT_EXPECT_TRUE_MSG(env->test, spte_present(win), "gfn %llu", gfn);
	KUNIT_EXPECT_EQ_MSG(env->test, writable_mappings(env, gfn), 0U,
			    "gfn %llu: window spte %#llx", gfn, win);
}

static bool flush_requested(struct umbra_vcpu *vcpu)
{
	return test_and_clear_bit(UMBRA_REQ_TLB_FLUSH, &vcpu->requests);
}

/*
 * A guest store to leaf table @gfn through its window: it faults and the
 * table goes unsync, so the window becomes writable and later stores go
 * through without a trap.
 */
static void make_unsync(struct sync_env *env, struct umbra_vcpu *vcpu, u64 gfn)
{
	struct umbra_sp *sp = table_sp(env, gfn);
	u64 win;

	KUNIT_ASSERT_EQ_MSG(env->test,
			    fault(vcpu, WIN_VA(gfn), PFERR_WRITE, NULL),
			    UMBRA_PF_FIXED, "gfn %llu", gfn);
	expect_unsync(env, sp, true);
	win = table_sp(env, PT2_GFN)->spt[WIN(gfn)];
	KUNIT_EXPECT_EQ_MSG(env->test, win & (SPTE_WRITABLE | SPTE_MMU_WRITABLE),
			    SPTE_WRITABLE | SPTE_MMU_WRITABLE,
			    "gfn %llu: window spte %#llx", gfn, win);
	KUNIT_EXPECT_EQ(env->test, spte_pfn(win), env->pfn[gfn]);
}

/* How often @want is on the rmap list @head: once, or it leaks or hides. */
static unsigned int rmap_count(unsigned long *head, u64 *want)
{
	unsigned long iter;
	unsigned int n = 0;
	u64 *sptep;

	for (sptep = umbra_rmap_first(head, &iter); sptep;
	     sptep = umbra_rmap_next(head, &iter))
		n += sptep == want;
	return n;
}

/*
 * The rmaps against the shadow pages: every present leaf spte is on the
 * rmap of the frame it maps exactly once, every upper-level one on its
 * child's parent list exactly once, and those lists hold nothing else.
 * Counted under mmu_lock and reported after it (KUnit may sleep).
 */
static void check_rmaps(struct sync_env *env)
{
	struct umbra_vm *vm = env->vm;
	struct umbra_mmu_vm *mmu = vm->mmu;
	unsigned long leaves = 0, links = 0, entries = 0, parents = 0;
	unsigned long *head, iter;
	unsigned int bad = 0, i;
	u64 gfn, *sptep, bad_spte = 0;
	struct umbra_sp *sp;
	int idx;

	idx = srcu_read_lock(&vm->srcu);
	spin_lock(&mmu->lock);
	list_for_each_entry(sp, &mmu->active, lru) {
		for (i = 0; i < SPTE_ENT_PER_PAGE; i++) {
			u64 spte = sp->spt[i];

			if (!spte_present(spte))
				continue;
			if (sp->role.level == 1) {
				leaves++;
				head = umbra_gfn_rmap(vm, umbra_sp_leaf_gfn(sp, i));
				if (!head || rmap_count(head, &sp->spt[i]) != 1) {
					bad++;
					bad_spte = spte;
				}
			} else {
				links++;
				if (rmap_count(&spte_child(spte)->parents,
					       &sp->spt[i]) != 1) {
					bad++;
					bad_spte = spte;
				}
			}
		}
		for (sptep = umbra_rmap_first(&sp->parents, &iter); sptep;
		     sptep = umbra_rmap_next(&sp->parents, &iter)) {
			parents++;
			if (!spte_present(*sptep) || sptep_sp(sptep)->role.level == 1 ||
			    spte_child(*sptep) != sp) {
				bad++;
				bad_spte = *sptep;
			}
		}
	}
	for (gfn = 0; gfn < GUEST_PAGES; gfn++) {
		head = umbra_gfn_rmap(vm, gfn);
		for (sptep = umbra_rmap_first(head, &iter); sptep;
		     sptep = umbra_rmap_next(head, &iter)) {
			sp = sptep_sp(sptep);
			entries++;
			if (!spte_present(*sptep) || sp->role.level != 1 ||
			    list_empty(&sp->lru) ||
			    umbra_sp_leaf_gfn(sp, sptep_index(sptep)) != gfn) {
				bad++;
				bad_spte = *sptep;
			}
		}
	}
	spin_unlock(&mmu->lock);
	srcu_read_unlock(&vm->srcu, idx);

	KUNIT_EXPECT_EQ_MSG(env->test, bad, 0U, "e.g. spte %#llx", bad_spte);
	KUNIT_EXPECT_EQ(env->test, entries, leaves);
	KUNIT_EXPECT_EQ(env->test, parents, links);
}

/*
 * Zap everything, as deleting a memslot does: no shadow page, unsync
 * entry or rmap entry may be left (a leaked rmap descriptor would keep a
 * head non-zero).  The roots the vCPUs hold go when they let go of them.
 */
static void check_zap_all(struct sync_env *env)
{
	struct umbra_vm *vm = env->vm;
	struct umbra_mmu_vm *mmu = vm->mmu;
	unsigned int nonempty = 0;
	u64 gfn;
	int idx;

	check_rmaps(env);
	umbra_mmu_zap_all(vm);
	KUNIT_EXPECT_EQ(env->test, mmu->nr_sps, 0UL);
	KUNIT_EXPECT_EQ(env->test, mmu->created, mmu->zapped);
	KUNIT_EXPECT_TRUE(env->test, list_empty(&mmu->active));
	KUNIT_EXPECT_TRUE(env->test, list_empty(&mmu->unsync));
	KUNIT_EXPECT_TRUE(env->test, hash_empty(mmu->hash));
	idx = srcu_read_lock(&vm->srcu);
	for (gfn = 0; gfn < GUEST_PAGES; gfn++)
		nonempty += !!*umbra_gfn_rmap(vm, gfn);
	srcu_read_unlock(&vm->srcu, idx);
	KUNIT_EXPECT_EQ(env->test, nonempty, 0U);
}

/* --- The model ------------------------------------------------------- */

static bool is_table(const struct sync_env *env, u64 gfn)
{
	return gfn < BITS_PER_LONG && (env->tables & BIT(gfn));
}

/*
 * The leaf spte for guest entry @gpte, below upper entries granting
 * @upper (gpte bits: W, U, NX), as fault.c makes it on a read fault and
 * resync_spte() remakes it in place; 0 where it cannot be mapped (not
 * present, not accessed, reserved bits, not memory).  Written from the
 * rules in fault.c's and spte.h's comments, not from leaf_spte(): rights
 * are the intersection of the walk's; host-writable for RAM, not for the
 * read-only slot; MMU-writable if the walk allows writes, the host page is
 * writable and the frame is not a shadowed table; W only once the guest's
 * D is set; D wherever W would be but for the frame being a table.
 */
static u64 model_spte(const struct sync_env *env, u64 gpte, u64 upper)
{
	u64 rsvd = GENMASK_ULL(51, MAXPA) | (env->nxe ? 0 : GPTE_NX);
	u64 gfn = gpte_gfn(gpte), spte;
	bool host_writable = gfn < RAM_PAGES;

	if (!(gpte & GPTE_P) || !(gpte & GPTE_A) || (gpte & rsvd) ||
	    gfn >= GUEST_PAGES)
		return 0;
	spte = (env->pfn[gfn] << PAGE_SHIFT) | SPTE_PRESENT | SPTE_ACCESSED;
	if (host_writable)
		spte |= SPTE_HOST_WRITABLE;
	if (gpte & upper & GPTE_U)
		spte |= SPTE_USER;
	if (env->nxe && ((gpte | upper) & GPTE_NX))
		spte |= SPTE_NX;
	/* D also marks W withheld only because the frame is a table. */
	if ((gpte & upper & GPTE_W) && host_writable && (gpte & GPTE_D))
		spte |= SPTE_DIRTY;
	if ((gpte & upper & GPTE_W) && host_writable && !is_table(env, gfn)) {
		spte |= SPTE_MMU_WRITABLE;
		if (gpte & GPTE_D)
			spte |= SPTE_WRITABLE;
	}
	return spte;
}

/*
 * The spte after a resync of an entry that held @old when it was mapped
 * by a read fault and holds @new now: kept if unchanged, remade in place
 * if it still maps the same frame and can be mapped, dropped otherwise.
 */
static u64 model_resync(const struct sync_env *env, u64 old, u64 new, u64 upper)
{
	if (!model_spte(env, old, upper))
		return 0;	/* never mapped: nothing to resync */
	if (old == new)
		return model_spte(env, old, upper);
	if (gpte_gfn(old) != gpte_gfn(new))
		return 0;
	return model_spte(env, new, upper);
}

/* --- 1. Write faults make leaf tables unsync ------------------------- */

/*
 * A write fault on a frame whose only shadows are leaf tables makes them
 * unsync and maps the frame writable; a frame that is not shadowed is
 * simply mapped writable, and loses it when it becomes a table.  Once the
 * frame also has an upper-level shadow it is never unsynced: the write is
 * handed to the emulator and umbra_sp_try_unsync() says no.
 */
static void umbra_mmu_sync_write_fault_unsyncs_leaf_tables(struct kunit *test)
{
	struct umbra_sp *pt, *pt2, *pd;
	struct umbra_pf pf = {};
	struct sync_env env;
	bool ok;

	sync_env_init(test, &env, true, GPTE_ALL);
	set_gpte(&env, PT_GFN, 7, DATA(0) | GPTE_ALL);
	set_gpte(&env, PT_GFN, 9, FRAME(PT3_GFN) | GPTE_ALL);
	set_gpte(&env, PT3_GFN, 0, DATA(1) | GPTE_ALL);

	fault_ok(&env, PT_VA(7), 0);
	fault_ok(&env, WIN_VA(PT_GFN), 0);
	pt = table_sp(&env, PT_GFN);
	pt2 = table_sp(&env, PT2_GFN);
	expect_unsync(&env, pt, false);
	expect_protected(&env, PT_GFN);

	make_unsync(&env, env.vcpu, PT_GFN);
	KUNIT_EXPECT_EQ(test, nr_unsync(&env), 1U);
	expect_unsync(&env, pt2, false);
	/* Again: already unsync, listed once. */
	fault_ok(&env, WIN_VA(PT_GFN), PFERR_WRITE);
	KUNIT_EXPECT_EQ(test, nr_unsync(&env), 1U);

	/* PT3 has no shadow yet: its window is an ordinary writable page... */
	fault_ok(&env, WIN_VA(PT3_GFN), PFERR_WRITE);
	KUNIT_EXPECT_TRUE(test, spte_writable(pt2->spt[WIN(PT3_GFN)]));
	/* ...until a walk through it makes it a table: protected, in sync. */
	fault_ok(&env, PT3_VA(0), 0);
	expect_protected(&env, PT3_GFN);
	expect_unsync(&env, table_sp(&env, PT3_GFN), false);

	/*
	 * PT's frame as a page directory: its new upper-level shadow resyncs
	 * PT (umbra_sp_new_shadow()) and protects the frame for good.
	 */
	fault_ok(&env, GVA(PDPT_PT_AS_PD, 9, 0), 0);
	pd = umbra_kunit_find_sp(env.vm, PT_GFN, 2);
	KUNIT_ASSERT_NOT_NULL(test, pd);
	expect_unsync(&env, pt, false);
	KUNIT_EXPECT_EQ(test, nr_unsync(&env), 0U);
	expect_protected(&env, PT_GFN);

	KUNIT_EXPECT_EQ(test, fault(env.vcpu, WIN_VA(PT_GFN) + 0x38,
				    PFERR_WRITE, &pf), UMBRA_PF_EMULATE);
	KUNIT_EXPECT_EQ(test, pf.gpa, FRAME(PT_GFN) + 0x38);
	expect_unsync(&env, pt, false);
	expect_protected(&env, PT_GFN);

	spin_lock(&env.vm->mmu->lock);
	ok = umbra_sp_try_unsync(env.vm, PT_GFN);
	spin_unlock(&env.vm->mmu->lock);
	KUNIT_EXPECT_FALSE(test, ok);
	expect_unsync(&env, pt, false);
	KUNIT_EXPECT_FALSE(test, pd->unsync);
	KUNIT_EXPECT_EQ(test, nr_unsync(&env), 0U);

	/* PT3's only shadow is a leaf table: it may go. */
	spin_lock(&env.vm->mmu->lock);
	ok = umbra_sp_try_unsync(env.vm, PT3_GFN);
	spin_unlock(&env.vm->mmu->lock);
	KUNIT_EXPECT_TRUE(test, ok);
	expect_unsync(&env, table_sp(&env, PT3_GFN), true);
	umbra_mmu_guest_flush(env.vcpu);
	KUNIT_EXPECT_EQ(test, nr_unsync(&env), 0U);
	check_zap_all(&env);
}

/* --- 2. Resync against the model, every transition ------------------- */

struct table_param {
	bool nxe;
	u64 upper;		/* PD[PD_PT]'s rights */
	const char *desc;
};

static const struct table_param table_params[] = {
	{ true, GPTE_ALL, "NXE, rwx above" },
	{ true, GPTE_P | GPTE_U | GPTE_A, "NXE, read-only above" },
	{ true, GPTE_P | GPTE_W | GPTE_A, "NXE, supervisor above" },
	{ true, GPTE_ALL | GPTE_NX, "NXE, no-exec above" },
	{ false, GPTE_ALL, "no NXE, rwx above" },
	{ false, GPTE_P | GPTE_U | GPTE_A, "no NXE, read-only above" },
	{ false, GPTE_P | GPTE_W | GPTE_A, "no NXE, supervisor above" },
};

KUNIT_ARRAY_PARAM_DESC(table, table_params, desc);

/* Rights combination @k (0..15) of W, U, D and NX. */
static u64 rights(unsigned int k)
{
	return (k & 1 ? GPTE_W : 0) | (k & 2 ? GPTE_U : 0) |
	       (k & 4 ? GPTE_D : 0) | (k & 8 ? GPTE_NX : 0);
}

#define NR_RIGHTS	16
#define NR_PAIRS	(NR_RIGHTS * NR_RIGHTS)

/*
 * The transitions besides the rights pairs, at entries NR_PAIRS + i.  The
 * frames named are the entries' whole frame fields.
 */
static const struct {
	const char *what;
	u64 old, new;
} changes[] = {
	{ "unchanged", DATA(0) | GPTE_ALL | GPTE_D, DATA(0) | GPTE_ALL | GPTE_D },
	{ "G set", DATA(1) | GPTE_ALL | GPTE_D,
	  DATA(1) | GPTE_ALL | GPTE_D | _PAGE_GLOBAL },
	{ "caching bits set", DATA(2) | GPTE_ALL, DATA(2) | GPTE_ALL | GPTE_CACHE },
	{ "software bits set", DATA(3) | GPTE_ALL | GPTE_D,
	  DATA(3) | GPTE_ALL | GPTE_D | GPTE_AVAIL },
	{ "software bits cleared", DATA(4) | GPTE_ALL | GPTE_AVAIL,
	  DATA(4) | GPTE_ALL | GPTE_U },
	{ "frame changed", DATA(5) | GPTE_ALL, DATA(6) | GPTE_ALL },
	{ "frame and rights changed", DATA(7) | GPTE_ALL | GPTE_D,
	  DATA(8) | GPTE_P | GPTE_A },
	{ "frame now a table", DATA(9) | GPTE_ALL, FRAME(PT2_GFN) | GPTE_ALL },
	{ "not present", DATA(10) | GPTE_ALL | GPTE_D,
	  DATA(10) | GPTE_W | GPTE_U | GPTE_A | GPTE_D },
	{ "cleared", DATA(11) | GPTE_ALL, 0 },
	{ "A cleared", DATA(12) | GPTE_ALL | GPTE_D, DATA(12) | GPTE_P | GPTE_W |
	  GPTE_U | GPTE_D },
	{ "A cleared, W cleared", DATA(13) | GPTE_ALL, DATA(13) | GPTE_P | GPTE_U },
	{ "reserved bit MAXPA", DATA(14) | GPTE_ALL,
	  DATA(14) | BIT_ULL(MAXPA) | GPTE_ALL },
	{ "reserved bit 51", DATA(15) | GPTE_ALL | GPTE_D,
	  DATA(15) | BIT_ULL(51) | GPTE_ALL | GPTE_D },
	{ "NX set", DATA(16) | GPTE_ALL, DATA(16) | GPTE_ALL | GPTE_NX },
	{ "read-only slot, made writable", FRAME(ROM_GFN) | GPTE_P | GPTE_U |
	  GPTE_A | GPTE_D, FRAME(ROM_GFN) | GPTE_ALL | GPTE_D },
	{ "read-only slot, U cleared", FRAME(ROM_GFN) | GPTE_ALL | GPTE_D,
	  FRAME(ROM_GFN) | GPTE_P | GPTE_W | GPTE_A | GPTE_D },
	{ "maps a table, made writable", FRAME(PT2_GFN) | GPTE_P | GPTE_U |
	  GPTE_A | GPTE_D, FRAME(PT2_GFN) | GPTE_ALL | GPTE_D },
	{ "maps itself, U cleared", FRAME(PT_GFN) | GPTE_ALL | GPTE_D,
	  FRAME(PT_GFN) | GPTE_P | GPTE_W | GPTE_A | GPTE_D },
	{ "maps itself, G set", FRAME(PT_GFN) | GPTE_ALL | GPTE_D,
	  FRAME(PT_GFN) | GPTE_ALL | GPTE_D | _PAGE_GLOBAL },
};

#define NR_ENTRIES	(NR_PAIRS + ARRAY_SIZE(changes))

/* Entry @i of PT in the rights table: the value it starts and ends with. */
static void transition(unsigned int i, u64 *old, u64 *new)
{
	if (i < NR_PAIRS) {
		u64 frame = DATA(i % NR_DATA) | GPTE_P | GPTE_A;

		*old = frame | rights(i / NR_RIGHTS);
		*new = frame | rights(i % NR_RIGHTS);
		return;
	}
	*old = changes[i - NR_PAIRS].old;
	*new = changes[i - NR_PAIRS].new;
}

static const char *transition_name(unsigned int i)
{
	return i < NR_PAIRS ? "rights" : changes[i - NR_PAIRS].what;
}

/*
 * PT is shadowed from NR_ENTRIES entries, goes unsync, and the guest
 * rewrites them all with plain stores.  Nothing in the shadow moves until
 * the guest flushes (an unrelated fault in between changes nothing); then
 * PT is in sync, its frame protected, the guest's entries as written, and
 * every spte as model_resync() says.  Every pair of W, U, D and NX
 * combinations is one entry, under each kind of entry above PT
 * (table_params).
 */
static void umbra_mmu_sync_resync_matches_model(struct kunit *test)
{
	const struct table_param *p = test->param_value;
	u64 *spt_before, *gptes_before, old, new, want, got;
	struct umbra_sp *pt;
	struct sync_env env;
	unsigned int i;
	int r;

	sync_env_init(test, &env, p->nxe, p->upper);
	spt_before = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	gptes_before = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, spt_before);
	KUNIT_ASSERT_NOT_NULL(test, gptes_before);

	for (i = 0; i < NR_ENTRIES; i++) {
		transition(i, &old, &new);
		set_gpte(&env, PT_GFN, i, old);
	}
	set_gpte(&env, PT3_GFN, 0, DATA(0) | GPTE_ALL);

	/* PT2 first, so PT's shadow protects the window when it comes. */
	fault_ok(&env, WIN_VA(PT_GFN), 0);
	env.tables |= BIT(PT_GFN) | BIT(PT2_GFN);
	for (i = 0; i < NR_ENTRIES; i++) {
		transition(i, &old, &new);
		want = model_spte(&env, old, p->upper);
		r = fault(env.vcpu, PT_VA(i), 0, NULL);
		KUNIT_ASSERT_EQ_MSG(test, r, want ? UMBRA_PF_FIXED : UMBRA_PF_GUEST,
				    "entry %u (%s) %#llx", i, transition_name(i), old);
	}
	pt = table_sp(&env, PT_GFN);
	/* The model agrees with the fault path before it judges the resync. */
	for (i = 0; i < NR_ENTRIES; i++) {
		transition(i, &old, &new);
		KUNIT_EXPECT_EQ_MSG(test, pt->spt[i], model_spte(&env, old, p->upper),
				    "entry %u (%s) %#llx: fault", i,
				    transition_name(i), old);
	}

	make_unsync(&env, env.vcpu, PT_GFN);
	memcpy(spt_before, pt->spt, PAGE_SIZE);
	memcpy(gptes_before, pt->gptes, PAGE_SIZE);
	for (i = 0; i < NR_ENTRIES; i++) {
		transition(i, &old, &new);
		set_gpte(&env, PT_GFN, i, new);
	}
	fault_ok(&env, PT3_VA(0), 0);
	KUNIT_EXPECT_EQ(test, memcmp(spt_before, pt->spt, PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, memcmp(gptes_before, pt->gptes, PAGE_SIZE), 0);
	expect_unsync(&env, pt, true);

	flush_requested(env.vcpu);
	umbra_mmu_guest_flush(env.vcpu);
	KUNIT_EXPECT_TRUE(test, flush_requested(env.vcpu));
	expect_unsync(&env, pt, false);
	KUNIT_EXPECT_EQ(test, nr_unsync(&env), 0U);
	expect_protected(&env, PT_GFN);

	for (i = 0; i < NR_ENTRIES; i++) {
		transition(i, &old, &new);
		want = model_resync(&env, old, new, p->upper);
		got = pt->spt[i];
		KUNIT_EXPECT_EQ_MSG(test, got, want,
				    "entry %u (%s): %#llx -> %#llx", i,
				    transition_name(i), old, new);
		if (old == new)
			KUNIT_EXPECT_EQ_MSG(test, got, spt_before[i],
					    "entry %u (%s) %#llx", i,
					    transition_name(i), old);
		if (spte_present(got))
			KUNIT_EXPECT_EQ_MSG(test, pt->gptes[i], new, "entry %u (%s)",
					    i, transition_name(i));
		/* A resync reads the guest's entries; it never writes them. */
		KUNIT_EXPECT_EQ_MSG(test, get_gpte(&env, PT_GFN, i), new,
				    "entry %u (%s)", i, transition_name(i));
	}
	check_zap_all(&env);
}

/* --- 3. Protect, flush, then compare --------------------------------- */

/*
 * PT maps itself at SELF.  A resync that remakes that entry in place must
 * see the frame as the table it is again: were it still counted as
 * unsync when the entry is remade, the frame would come out writable in
 * a table marked in sync, and the guest's next store to its own PTEs
 * would land without a trap and never be resynced.  So for each change
 * to the self-mapping entry: after the flush no spte may allow writing
 * the frame, and a further store traps (it faults, and the table goes
 * unsync again).
 */
#define SELF	500

static void umbra_mmu_sync_flush_protects_before_compare(struct kunit *test)
{
	static const struct {
		const char *what;
		u64 new;
		bool mapped;
	} rows[] = {
		{ "unchanged", FRAME(PT_GFN) | GPTE_ALL | GPTE_D, true },
		{ "G set", FRAME(PT_GFN) | GPTE_ALL | GPTE_D | _PAGE_GLOBAL, true },
		{ "software bit set", FRAME(PT_GFN) | GPTE_ALL | GPTE_D | BIT_ULL(9),
		  true },
		{ "U cleared", FRAME(PT_GFN) | GPTE_P | GPTE_W | GPTE_A | GPTE_D, true },
		{ "D cleared", FRAME(PT_GFN) | GPTE_ALL, true },
		{ "NX set", FRAME(PT_GFN) | GPTE_ALL | GPTE_D | GPTE_NX, true },
		{ "W cleared", FRAME(PT_GFN) | GPTE_P | GPTE_U | GPTE_A | GPTE_D,
		  true },
		{ "A cleared", FRAME(PT_GFN) | GPTE_P | GPTE_W | GPTE_U | GPTE_D,
		  false },
	};
	const u64 self = FRAME(PT_GFN) | GPTE_ALL | GPTE_D;
	struct umbra_sp *pt;
	struct sync_env env;
	unsigned int i;
	u64 spte;

	sync_env_init(test, &env, true, GPTE_ALL);
	set_gpte(&env, PT_GFN, 7, DATA(0) | GPTE_ALL);
	set_gpte(&env, PT_GFN, SELF, self);
	fault_ok(&env, PT_VA(7), 0);
	pt = table_sp(&env, PT_GFN);
	env.tables |= BIT(PT_GFN);

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		/* The store through the self-map traps and unsyncs PT. */
		fault_ok(&env, PT_VA(SELF), PFERR_WRITE);
		expect_unsync(&env, pt, true);
		KUNIT_EXPECT_TRUE_MSG(test, spte_writable(pt->spt[SELF]), "%s",
				      rows[i].what);

		set_gpte(&env, PT_GFN, SELF, rows[i].new);
		umbra_mmu_guest_flush(env.vcpu);
		expect_unsync(&env, pt, false);
		spte = pt->spt[SELF];
		KUNIT_EXPECT_EQ_MSG(test, spte_present(spte), rows[i].mapped,
				    "%s: spte %#llx", rows[i].what, spte);
		/* Write protection leaves D in an spte it takes W from. */
		KUNIT_EXPECT_EQ_MSG(test, spte & ~SPTE_DIRTY,
				    model_resync(&env, self, rows[i].new, GPTE_ALL) &
				    ~SPTE_DIRTY, "%s", rows[i].what);
		KUNIT_EXPECT_EQ_MSG(test, writable_mappings(&env, PT_GFN), 0U,
				    "%s: spte %#llx", rows[i].what, spte);

		/* The guest's next store to its PTEs is seen. */
		if (rows[i].new & GPTE_W) {
			fault_ok(&env, PT_VA(SELF), PFERR_WRITE);
			expect_unsync(&env, pt, true);
			umbra_mmu_guest_flush(env.vcpu);
			expect_unsync(&env, pt, false);
		}
		store_emulated(&env, PT_GFN, SELF, self);
	}
	check_zap_all(&env);
}

/* --- 4. A new shadow of an unsync frame ------------------------------ */

struct new_shadow_param {
	u64 va;			/* the first access through the new path */
	int level;		/* the new shadow's level */
	unsigned int access;	/* its role.access */
	const char *desc;
};

static const struct new_shadow_param new_shadow_params[] = {
	{ GVA(2, PD_PT_RO, 10), 1, ACC_EXEC, "leaf table, another role" },
	{ GVA(PDPT_PT_AS_PD, 9, 0), 2, ACC_ALL, "page directory" },
};

KUNIT_ARRAY_PARAM_DESC(new_shadow, new_shadow_params, desc);

/*
 * PT is unsync and the guest has rewritten two of its entries when a walk
 * reaches PT's frame another way (new_shadow_params): the new shadow is
 * made in sync, and PT is resynced and its frame protected first
 * (umbra_sp_new_shadow()), so the two shadows agree; the vCPUs are told
 * to flush, for the window lost W.
 */
static void umbra_mmu_sync_new_shadow_resyncs_first(struct kunit *test)
{
	const struct new_shadow_param *p = test->param_value;
	const u64 e7 = DATA(0) | GPTE_P | GPTE_W | GPTE_A | GPTE_D;
	const u64 e10 = DATA(4) | GPTE_P | GPTE_U | GPTE_A;
	struct umbra_sp *pt, *sp;
	struct sync_env env;

	sync_env_init(test, &env, true, GPTE_ALL);
	set_gpte(&env, PT_GFN, 7, DATA(0) | GPTE_ALL | GPTE_D);
	set_gpte(&env, PT_GFN, 8, DATA(1) | GPTE_ALL);
	set_gpte(&env, PT_GFN, 9, FRAME(PT3_GFN) | GPTE_ALL);
	set_gpte(&env, PT_GFN, 10, e10);
	set_gpte(&env, PT3_GFN, 0, DATA(3) | GPTE_ALL);
	env.tables |= BIT(PT_GFN) | BIT(PT2_GFN);

	fault_ok(&env, PT_VA(7), 0);
	fault_ok(&env, PT_VA(8), 0);
	fault_ok(&env, WIN_VA(PT_GFN), 0);
	pt = table_sp(&env, PT_GFN);
	make_unsync(&env, env.vcpu, PT_GFN);

	set_gpte(&env, PT_GFN, 7, e7);			/* U cleared */
	set_gpte(&env, PT_GFN, 8, DATA(2) | GPTE_ALL);	/* another frame */
	flush_requested(env.vcpu);

	fault_ok(&env, p->va, 0);
	sp = p->level == 1 ? leaf_sp(&env, PT_GFN, p->access) :
			     umbra_kunit_find_sp(env.vm, PT_GFN, p->level);
	KUNIT_ASSERT_NOT_NULL(test, sp);
	KUNIT_ASSERT_PTR_NE(test, sp, pt);
	KUNIT_EXPECT_EQ(test, (unsigned int)sp->role.access, p->access);
	KUNIT_EXPECT_FALSE(test, sp->unsync);

	expect_unsync(&env, pt, false);
	KUNIT_EXPECT_EQ(test, nr_unsync(&env), 0U);
	expect_protected(&env, PT_GFN);
	KUNIT_EXPECT_TRUE(test, flush_requested(env.vcpu));
	KUNIT_EXPECT_EQ(test, pt->spt[7], model_spte(&env, e7, GPTE_ALL));
	KUNIT_EXPECT_EQ(test, pt->spt[8], 0ULL);
	KUNIT_EXPECT_EQ(test, rmap_len(&env, DATA_GFN + 1), 0U);
	if (p->level == 1)
		KUNIT_EXPECT_EQ(test, sp->spt[10], model_spte(&env, e10, UPPER_RO));

	/* And PT stays in sync: a store is a trap now. */
	if (p->level == 1) {
		make_unsync(&env, env.vcpu, PT_GFN);
		expect_unsync(&env, sp, true);
		umbra_mmu_guest_flush(env.vcpu);
	} else {
		KUNIT_EXPECT_EQ(test, fault(env.vcpu, WIN_VA(PT_GFN),
					    PFERR_WRITE, NULL), UMBRA_PF_EMULATE);
	}
	KUNIT_EXPECT_EQ(test, nr_unsync(&env), 0U);
	expect_protected(&env, PT_GFN);
	check_zap_all(&env);
}

/* --- 5. Several tables, several vCPUs -------------------------------- */

/*
 * PT, PT3 and PT2 go unsync in that order, and the guest changes an entry
 * of each, and the windows in PT2 onto the three tables (rights that
 * grant nothing, so the windows are remade in place).  One flush resyncs
 * them all, and every window comes out protected, whichever table the
 * flush took first: a window onto a table still waiting for its resync
 * must not be made writable.
 */
static void umbra_mmu_sync_one_flush_resyncs_every_table(struct kunit *test)
{
	static const u64 tables[] = { PT_GFN, PT3_GFN, PT2_GFN };
	const u64 e7 = DATA(0) | GPTE_P | GPTE_W | GPTE_A | GPTE_D;
	struct umbra_sp *sp[ARRAY_SIZE(tables)];
	struct sync_env env;
	unsigned int i;
	u64 gfn;

	sync_env_init(test, &env, true, GPTE_ALL);
	set_gpte(&env, PT_GFN, 7, DATA(0) | GPTE_ALL | GPTE_D);
	set_gpte(&env, PT2_GFN, 7, DATA(1) | GPTE_ALL | GPTE_D);
	set_gpte(&env, PT3_GFN, 7, DATA(2) | GPTE_ALL | GPTE_D);
	env.tables |= BIT(PT_GFN) | BIT(PT2_GFN) | BIT(PT3_GFN);

	fault_ok(&env, PT_VA(7), 0);
	fault_ok(&env, PT2_VA(7), 0);
	fault_ok(&env, PT3_VA(7), 0);
	for (i = 0; i < ARRAY_SIZE(tables); i++) {
		fault_ok(&env, WIN_VA(tables[i]), 0);
		sp[i] = table_sp(&env, tables[i]);
	}
	for (i = 0; i < ARRAY_SIZE(tables); i++) {
		expect_protected(&env, tables[i]);
		make_unsync(&env, env.vcpu, tables[i]);
	}
	KUNIT_EXPECT_EQ(test, nr_unsync(&env), 3U);

	set_gpte(&env, PT_GFN, 7, e7);					/* U cleared */
	set_gpte(&env, PT2_GFN, 7, DATA(3) | GPTE_ALL | GPTE_D);	/* frame */
	set_gpte(&env, PT3_GFN, 7, DATA(2) | GPTE_P | GPTE_W | GPTE_U);	/* A */
	for (gfn = PT_GFN; gfn <= PT3_GFN; gfn++)
		set_gpte(&env, PT2_GFN, WIN(gfn),
			 FRAME(gfn) | GPTE_ALL | GPTE_D | _PAGE_GLOBAL);

	umbra_mmu_guest_flush(env.vcpu);
	KUNIT_EXPECT_EQ(test, nr_unsync(&env), 0U);
	for (i = 0; i < ARRAY_SIZE(tables); i++) {
		expect_unsync(&env, sp[i], false);
		expect_protected(&env, tables[i]);
	}
	KUNIT_EXPECT_EQ(test, sp[0]->spt[7], model_spte(&env, e7, GPTE_ALL));
	KUNIT_EXPECT_EQ(test, sp[2]->spt[7], 0ULL);
	KUNIT_EXPECT_EQ(test, sp[1]->spt[7], 0ULL);
	KUNIT_EXPECT_EQ(test, rmap_len(&env, DATA_GFN + 1), 0U);
	KUNIT_EXPECT_EQ(test, rmap_len(&env, DATA_GFN + 2), 0U);

	/* Each table's next store traps again. */
	for (i = 0; i < ARRAY_SIZE(tables); i++)
		make_unsync(&env, env.vcpu, tables[i]);
	umbra_mmu_guest_flush(env.vcpu);
	KUNIT_EXPECT_EQ(test, nr_unsync(&env), 0U);
	check_zap_all(&env);
}

/*
 * A table vCPU 1 made unsync is resynced by vCPU 0's flush (every unsync
 * table goes, whoever wrote it), and vCPU 1, which may hold the frame
 * writable in its TLB, is told to flush.  Two vCPUs cost nothing here:
 * neither runs, both share the root.
 */
static void umbra_mmu_sync_other_vcpu_flush_resyncs(struct kunit *test)
{
	const u64 e7 = DATA(0) | GPTE_P | GPTE_W | GPTE_A | GPTE_D;
	struct umbra_vcpu *vcpu1;
	struct umbra_sp *pt;
	struct sync_env env;

	sync_env_init(test, &env, true, GPTE_ALL);
	vcpu1 = add_vcpu(&env, 1);
	KUNIT_ASSERT_PTR_EQ(test, vcpu1->mmu->root, env.vcpu->mmu->root);
	set_gpte(&env, PT_GFN, 7, DATA(0) | GPTE_ALL | GPTE_D);
	env.tables |= BIT(PT_GFN) | BIT(PT2_GFN);

	KUNIT_ASSERT_EQ(test, fault(vcpu1, PT_VA(7), 0, NULL), UMBRA_PF_FIXED);
	KUNIT_ASSERT_EQ(test, fault(vcpu1, WIN_VA(PT_GFN), 0, NULL),
			UMBRA_PF_FIXED);
	pt = table_sp(&env, PT_GFN);
	make_unsync(&env, vcpu1, PT_GFN);
	set_gpte(&env, PT_GFN, 7, e7);

	flush_requested(env.vcpu);
	flush_requested(vcpu1);
	umbra_mmu_guest_flush(env.vcpu);
	expect_unsync(&env, pt, false);
	KUNIT_EXPECT_EQ(test, nr_unsync(&env), 0U);
	expect_protected(&env, PT_GFN);
	KUNIT_EXPECT_EQ(test, pt->spt[7], model_spte(&env, e7, GPTE_ALL));
	KUNIT_EXPECT_TRUE(test, flush_requested(env.vcpu));
	KUNIT_EXPECT_TRUE(test, flush_requested(vcpu1));
	check_zap_all(&env);
}

/* --- 6. Accessed and dirty ------------------------------------------- */

/*
 * sync.c's rule: a guest that clears A and flushes loses the spte, so its
 * next access goes through the walker, which sets A again in the guest's
 * entry.  Likewise D: clearing it keeps the entry but takes W away, so
 * the next write faults and the walker sets D.
 */
static void umbra_mmu_sync_accessed_dirty_rule(struct kunit *test)
{
	const u64 e7 = DATA(0) | GPTE_ALL | GPTE_D, e8 = DATA(1) | GPTE_ALL | GPTE_D;
	struct umbra_sp *pt;
	struct sync_env env;

	sync_env_init(test, &env, true, GPTE_ALL);
	set_gpte(&env, PT_GFN, 7, e7);
	set_gpte(&env, PT_GFN, 8, e8);
	env.tables |= BIT(PT_GFN) | BIT(PT2_GFN);
	fault_ok(&env, PT_VA(7), 0);
	fault_ok(&env, PT_VA(8), 0);
	fault_ok(&env, WIN_VA(PT_GFN), 0);
	pt = table_sp(&env, PT_GFN);
	KUNIT_ASSERT_TRUE(test, spte_writable(pt->spt[7]));
	KUNIT_ASSERT_TRUE(test, spte_writable(pt->spt[8]));
	make_unsync(&env, env.vcpu, PT_GFN);

	set_gpte(&env, PT_GFN, 7, e7 & ~GPTE_A);
	set_gpte(&env, PT_GFN, 8, e8 & ~GPTE_D);
	KUNIT_EXPECT_TRUE(test, spte_present(pt->spt[7]));
	umbra_mmu_guest_flush(env.vcpu);

	KUNIT_EXPECT_FALSE(test, spte_present(pt->spt[7]));
	KUNIT_EXPECT_EQ(test, rmap_len(&env, DATA_GFN), 0U);
	KUNIT_EXPECT_EQ(test, get_gpte(&env, PT_GFN, 7), e7 & ~GPTE_A);
	KUNIT_EXPECT_EQ(test, pt->spt[8], model_spte(&env, e8 & ~GPTE_D, GPTE_ALL));
	KUNIT_EXPECT_FALSE(test, spte_writable(pt->spt[8]));
	KUNIT_EXPECT_EQ(test, get_gpte(&env, PT_GFN, 8), e8 & ~GPTE_D);

	fault_ok(&env, PT_VA(7), 0);
	KUNIT_EXPECT_EQ(test, get_gpte(&env, PT_GFN, 7), e7);
	KUNIT_EXPECT_EQ(test, pt->spt[7], model_spte(&env, e7, GPTE_ALL));
	KUNIT_EXPECT_EQ(test, rmap_len(&env, DATA_GFN), 1U);

	fault_ok(&env, PT_VA(8), PFERR_WRITE);
	KUNIT_EXPECT_EQ(test, get_gpte(&env, PT_GFN, 8), e8);
	KUNIT_EXPECT_EQ(test, pt->spt[8], model_spte(&env, e8, GPTE_ALL));
	KUNIT_EXPECT_TRUE(test, spte_writable(pt->spt[8]));
	KUNIT_EXPECT_EQ(test, rmap_len(&env, DATA_GFN + 1), 1U);
	expect_unsync(&env, pt, false);
	check_zap_all(&env);
}

/* The leaf spte the shadow of @va ends in, walked from vCPU 0's root. */
static u64 leaf_spte_of(struct sync_env *env, u64 va)
{
	struct umbra_sp *sp = env->vcpu->mmu->root;
	int level;

	for (level = UMBRA_ROOT_LEVEL; sp && level > 1; level--) {
		u64 spte = sp->spt[level_index(va, level)];

		sp = spte_present(spte) ? spte_child(spte) : NULL;
	}
	return sp ? sp->spt[level_index(va, 1)] : 0;
}

/* How a guest frame stops being a page table. */
static const char *const unshadow_params[] = { "release_pt", "unprotect" };

static void unshadow_desc(const char *const *p, char *desc)
{
	strscpy(desc, *p, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(unshadow, unshadow_params, unshadow_desc);

/* PD index of a 2 MiB guest page over guest-physical 0 .. 2 MiB. */
#define PD_LARGE	7
#define LARGE_VA(gfn)	(GVA(2, PD_LARGE, 0) + FRAME(gfn))

/*
 * spte.h's "W withheld for shadowing": the frame of a table the guest lets
 * go (a PV RELEASE_PT, or a store the emulator gives up on, which
 * unprotects it) gets W back in every spte whose guest entry allows the
 * write and is dirty, through a guest table (PT2's window) and inside a
 * guest large page (a direct shadow) alike, so the guest's next store to
 * it takes no fault.  An entry that is clean, or read-only, keeps its
 * spte read-only: the first write must still fault to set D, or be
 * refused.
 */
static void umbra_mmu_sync_unshadowed_frame_gets_w_back(struct kunit *test)
{
	const char *how = *(const char *const *)test->param_value;
	const u64 clean = FRAME(PT3_GFN) | GPTE_ALL;
	const u64 ro = FRAME(PT3_GFN) | GPTE_P | GPTE_U | GPTE_A | GPTE_D;
	const unsigned int CLEAN = 3, RO = 4;
	struct umbra_vm *vm;
	struct sync_env env;
	unsigned int i;
	u64 spte;

	sync_env_init(test, &env, true, GPTE_ALL);
	vm = env.vm;
	set_gpte(&env, PT3_GFN, 0, DATA(0) | GPTE_ALL | GPTE_D);
	set_gpte(&env, PT2_GFN, CLEAN, clean);
	set_gpte(&env, PT2_GFN, RO, ro);
	set_gpte(&env, PD_GFN, PD_LARGE, GPTE_ALL | GPTE_D | _PAGE_PSE);
	env.tables |= BIT(PT2_GFN) | BIT(PT3_GFN);
	fault_ok(&env, PT3_VA(0), 0);		/* PT3 is shadowed now */
	fault_ok(&env, WIN_VA(PT3_GFN), 0);
	fault_ok(&env, PT2_VA(CLEAN), 0);
	fault_ok(&env, PT2_VA(RO), 0);
	fault_ok(&env, LARGE_VA(PT3_GFN), 0);
	KUNIT_ASSERT_EQ(test, rmap_len(&env, PT3_GFN), 4U);
	KUNIT_ASSERT_EQ(test, writable_mappings(&env, PT3_GFN), 0U);
	/* The mark: D without W where only shadowing keeps W away. */
	KUNIT_EXPECT_TRUE(test, leaf_spte_of(&env, WIN_VA(PT3_GFN)) & SPTE_DIRTY);
	KUNIT_EXPECT_TRUE(test, leaf_spte_of(&env, LARGE_VA(PT3_GFN)) & SPTE_DIRTY);
	KUNIT_EXPECT_FALSE(test, leaf_spte_of(&env, PT2_VA(CLEAN)) & SPTE_DIRTY);
	KUNIT_EXPECT_FALSE(test, leaf_spte_of(&env, PT2_VA(RO)) & SPTE_DIRTY);

	if (!strcmp(how, "release_pt")) {
		LIST_HEAD(zapped);
		bool flush = false;
		int idx = srcu_read_lock(&vm->srcu);

		KUNIT_EXPECT_EQ(test, 0, umbra_mmu_release_pt(env.vcpu, FRAME(PT3_GFN),
							      FRAME(PML4_GFN), &flush,
							      &zapped));
		umbra_mmu_flush_and_free(vm, flush, &zapped);
		srcu_read_unlock(&vm->srcu, idx);
	} else {
		umbra_mmu_unprotect(env.vcpu, FRAME(PT3_GFN));
	}
	env.tables &= ~BIT(PT3_GFN);
	KUNIT_EXPECT_NULL(test, umbra_kunit_find_sp(vm, PT3_GFN, 1));

	spte = leaf_spte_of(&env, WIN_VA(PT3_GFN));
	KUNIT_EXPECT_EQ(test, spte, model_spte(&env, FRAME(PT3_GFN) | GPTE_ALL | GPTE_D,
					       GPTE_ALL));
	KUNIT_EXPECT_TRUE(test, spte_writable(spte));
	spte = leaf_spte_of(&env, LARGE_VA(PT3_GFN));
	KUNIT_EXPECT_TRUE(test, spte_writable(spte) && (spte & SPTE_MMU_WRITABLE));
	KUNIT_EXPECT_EQ(test, spte_pfn(spte), env.pfn[PT3_GFN]);
	KUNIT_EXPECT_FALSE(test, spte_writable(leaf_spte_of(&env, PT2_VA(CLEAN))));
	spte = leaf_spte_of(&env, PT2_VA(RO));
	KUNIT_EXPECT_FALSE(test, spte & (SPTE_WRITABLE | SPTE_MMU_WRITABLE));
	KUNIT_EXPECT_EQ(test, writable_mappings(&env, PT3_GFN), 2U);

	/* The clean entry's first write still faults and sets D. */
	fault_ok(&env, PT2_VA(CLEAN), PFERR_WRITE);
	KUNIT_EXPECT_EQ(test, get_gpte(&env, PT2_GFN, CLEAN), clean | GPTE_D);
	KUNIT_EXPECT_TRUE(test, spte_writable(leaf_spte_of(&env, PT2_VA(CLEAN))));
	/* Writes through the read-only entry are the guest's #PF. */
	KUNIT_EXPECT_EQ(test, fault(env.vcpu, PT2_VA(RO), PFERR_WRITE, NULL),
			UMBRA_PF_GUEST);

	/* A frame shadowed again loses W everywhere, as before. */
	fault_ok(&env, PT3_VA(0), 0);
	env.tables |= BIT(PT3_GFN);
	KUNIT_EXPECT_EQ(test, writable_mappings(&env, PT3_GFN), 0U);
	for (i = 0; i < 2; i++)
		KUNIT_EXPECT_TRUE(test, leaf_spte_of(&env, i ? LARGE_VA(PT3_GFN) :
						     WIN_VA(PT3_GFN)) & SPTE_DIRTY);
	check_zap_all(&env);
}

static struct kunit_case umbra_mmu_sync_cases[] = {
	KUNIT_CASE(umbra_mmu_sync_write_fault_unsyncs_leaf_tables),
	KUNIT_CASE_PARAM(umbra_mmu_sync_resync_matches_model, table_gen_params),
	KUNIT_CASE(umbra_mmu_sync_flush_protects_before_compare),
	KUNIT_CASE_PARAM(umbra_mmu_sync_new_shadow_resyncs_first,
			 new_shadow_gen_params),
	KUNIT_CASE(umbra_mmu_sync_one_flush_resyncs_every_table),
	KUNIT_CASE(umbra_mmu_sync_other_vcpu_flush_resyncs),
	KUNIT_CASE(umbra_mmu_sync_accessed_dirty_rule),
	KUNIT_CASE_PARAM(umbra_mmu_sync_unshadowed_frame_gets_w_back,
			 unshadow_gen_params),
	{}
};

static struct kunit_suite umbra_mmu_sync_suite = {
	.name = "umbra_mmu_sync",
	.test_cases = umbra_mmu_sync_cases,
};
kunit_test_suite(umbra_mmu_sync_suite);
