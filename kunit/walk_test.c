// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite umbra_walk: umbra_mmu_walk() (mmu/walk.c), the guest
 * page-table walker, against a model of the SDM's rules written here.
 *
 * The walker reads the guest's tables through the VMM's mapping of guest
 * memory, so each case gives its thread an mm and a few pages of user
 * memory (kunit_vm_mmap()), publishes one memslot over them at gpa 0
 * (built with core/memslot.c's own helpers) and writes a 4-level table
 * chain into them with copy_to_user().  The address walked has a
 * different index at every level:
 *
 *   PML4 (gfn 1)[1] -> PDPT (gfn 2)[2] -> PD (gfn 3)[3] -> PT (gfn 4)[4]
 *
 * What is checked: the return value, the #PF error code, the leaf level
 * and frame (with the offset into a large page), and the guest's A/D bits
 * read back from user memory: A on every entry used after a successful
 * walk, D on the leaf after a write, and no change at all after a failed
 * walk.  SMAP is not modelled (umbra's walker does not implement it).
 *
 * Every case tears down what it built (memslots, SRCU) through KUnit
 * actions, so a failed assertion cleans up too.
 */
#include <kunit/test.h>
#include <linux/mman.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/uaccess.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include "../core/core.h"
#include "../mmu/mmu.h"

#define GPTE_P		_PAGE_PRESENT
#define GPTE_W		_PAGE_RW
#define GPTE_U		_PAGE_USER
#define GPTE_A		_PAGE_ACCESSED
#define GPTE_D		_PAGE_DIRTY
#define GPTE_PS		_PAGE_PSE
#define GPTE_NX		_PAGE_NX
#define GPTE_ALL	(GPTE_P | GPTE_W | GPTE_U)	/* present, all rights */

/* Guest-physical layout: one slot of SLOT_PAGES pages at gpa 0. */
#define SLOT_PAGES	16
#define PML4_GFN	1ULL
#define PDPT_GFN	2ULL
#define PD_GFN		3ULL
#define PT_GFN		4ULL
#define OUTSIDE_GFN	0x100ULL	/* no memslot there */

/* Frames the leaves map: the walker never touches them, so not RAM. */
#define LEAF_GFN	0x12345ULL
#define HUGE_2M_GFN	(0x40000000ULL >> PAGE_SHIFT)	/* 2 MiB aligned */
#define HUGE_1G_GFN	(0x80000000ULL >> PAGE_SHIFT)	/* 1 GiB aligned */

/* The guest's physical-address width (CPUID 0x80000008) in most cases. */
#define MAXPA		40

/* The address walked: index 1, 2, 3, 4 at levels 4..1, then an offset. */
#define ADDR		((1ULL << 39) | (2ULL << 30) | (3ULL << 21) | \
			 (4ULL << 12) | 0x123)

#define ACC_R		0		/* supervisor read */
#define ACC_W		PFERR_WRITE
#define ACC_X		PFERR_FETCH
#define ACC_UR		PFERR_USER
#define ACC_UW		(PFERR_USER | PFERR_WRITE)
#define ACC_UX		(PFERR_USER | PFERR_FETCH)

static const u32 all_accesses[] = { ACC_R, ACC_W, ACC_X, ACC_UR, ACC_UW, ACC_UX };

/* Long mode, NX, 1 GiB pages and MAXPA physical address bits. */
static const struct kvm_cpuid_entry2 walk_cpuid[] = {
	{ .function = 0x80000000, .eax = 0x80000008 },
	{ .function = 0x80000001, .edx = BIT(29) | BIT(26) | BIT(20) },
	{ .function = 0x80000008, .eax = MAXPA | (48 << 8) },
};

struct walk_env {
	struct umbra_vm *vm;
	struct umbra_vcpu *vcpu;
	unsigned long hva;		/* the VMM's address of gfn 0 */
	unsigned int failures;		/* mismatches reported so far */
};

/* Where the entry for ADDR lives at @level (4..1). */
static const u64 table_gfn[UMBRA_ROOT_LEVEL + 1] = {
	[4] = PML4_GFN, [3] = PDPT_GFN, [2] = PD_GFN, [1] = PT_GFN,
};

static const unsigned int table_index[UMBRA_ROOT_LEVEL + 1] = {
	[4] = 1, [3] = 2, [2] = 3, [1] = 4,
};

static u64 __user *gpte_uptr(const struct walk_env *env, int level)
{
	return (u64 __user *)(env->hva + table_gfn[level] * PAGE_SIZE +
			      table_index[level] * sizeof(u64));
}

/* Write the entries of levels 4..1 (pte[1..4]) into the guest's tables. */
static void write_gptes(struct kunit *test, struct walk_env *env,
			const u64 *pte)
{
	int level;

	for (level = UMBRA_ROOT_LEVEL; level >= 1; level--)
		KUNIT_ASSERT_EQ(test, 0UL, copy_to_user(gpte_uptr(env, level),
							&pte[level], sizeof(u64)));
}

static u64 read_gpte(struct kunit *test, struct walk_env *env, int level)
{
	u64 val;

	KUNIT_ASSERT_EQ(test, 0UL, copy_from_user(&val, gpte_uptr(env, level),
						  sizeof(val)));
	return val;
}

/* A chain of fully permissive entries mapping ADDR to LEAF_GFN. */
static void default_gptes(u64 *pte)
{
	pte[0] = 0;
	pte[4] = (PDPT_GFN << PAGE_SHIFT) | GPTE_ALL;
	pte[3] = (PD_GFN << PAGE_SHIFT) | GPTE_ALL;
	pte[2] = (PT_GFN << PAGE_SHIFT) | GPTE_ALL;
	pte[1] = (LEAF_GFN << PAGE_SHIFT) | GPTE_ALL;
}

static void set_paging(struct walk_env *env, bool wp, bool smep, bool nxe)
{
	struct umbra_paging *p = &env->vcpu->mmu->paging;

	p->cr0 = X86_CR0_PE | X86_CR0_PG | (wp ? X86_CR0_WP : 0);
	p->cr3 = PML4_GFN << PAGE_SHIFT;
	p->cr4 = X86_CR4_PAE | (smep ? X86_CR4_SMEP : 0);
	p->efer = EFER_LME | EFER_LMA | (nxe ? EFER_NX : 0);
}

static int do_walk(struct walk_env *env, u64 addr, u32 access,
		   struct umbra_walk *w)
{
	int idx, r;

	memset(w, 0, sizeof(*w));
	idx = srcu_read_lock(&env->vm->srcu);
	r = umbra_mmu_walk(env->vcpu, addr, access, w);
	srcu_read_unlock(&env->vm->srcu, idx);
	return r;
}

/* --- Setup and teardown ---------------------------------------------- */

static void walk_srcu_cleanup(void *data)
{
	struct umbra_vm *vm = data;

	cleanup_srcu_struct(&vm->srcu);
}

static void walk_memslots_free(void *data)
{
	struct umbra_vm *vm = data;
	struct umbra_memslots *set = rcu_dereference_protected(vm->memslots, 1);

	RCU_INIT_POINTER(vm->memslots, NULL);
	if (set)
		umbra_memslots_free(set);
}

/*
 * A VM with one memslot over fresh user memory, and a vCPU in long mode
 * (CR0.WP, EFER.NXE, no SMEP) whose CPUID says MAXPA physical bits.
 */
static void walk_env_init(struct kunit *test, struct walk_env *env)
{
	struct kvm_userspace_memory_region2 mem = {};
	struct umbra_memslot_change chg;
	struct umbra_memslots *empty, *set;
	struct umbra_vcpu *vcpu;
	struct umbra_vm *vm;
	unsigned long hva;

	hva = kunit_vm_mmap(test, NULL, 0, SLOT_PAGES * PAGE_SIZE,
			    PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_NE_MSG(test, hva, 0UL, "no user memory for the guest");
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(hva));
	KUNIT_ASSERT_LT(test, hva, (unsigned long)TASK_SIZE);

	vm = kunit_kzalloc(test, sizeof(*vm), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vm);
	KUNIT_ASSERT_EQ(test, 0, init_srcu_struct(&vm->srcu));
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, walk_srcu_cleanup, vm));
	mutex_init(&vm->lock);

	mem.slot = 0;
	mem.guest_phys_addr = 0;
	mem.memory_size = SLOT_PAGES * PAGE_SIZE;
	mem.userspace_addr = hva;
	empty = umbra_memslots_alloc_empty();
	KUNIT_ASSERT_NOT_NULL(test, empty);
	if (umbra_memslot_check(empty, &mem, &chg) || chg.kind != UMBRA_MR_CREATE) {
		kvfree(empty);
		KUNIT_FAIL_AND_ABORT(test, "umbra_memslot_check() refused the slot");
	}
	chg.slot.rmap = kvcalloc(SLOT_PAGES, sizeof(*chg.slot.rmap), GFP_KERNEL);
	set = chg.slot.rmap ? umbra_memslots_apply(empty, &chg) : NULL;
	kvfree(empty);
	if (!set) {
		kvfree(chg.slot.rmap);
		KUNIT_FAIL_AND_ABORT(test, "no memory for the memslot set");
	}
	rcu_assign_pointer(vm->memslots, set);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, walk_memslots_free, vm));

	vcpu = kunit_kzalloc(test, sizeof(*vcpu), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vcpu);
	vcpu->mmu = kunit_kzalloc(test, sizeof(*vcpu->mmu), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vcpu->mmu);
	vcpu->vm = vm;
	umbra_cpuid_caps(walk_cpuid, ARRAY_SIZE(walk_cpuid), &vcpu->caps);
	KUNIT_ASSERT_EQ(test, vcpu->caps.maxphyaddr, MAXPA);

	*env = (struct walk_env) { .vm = vm, .vcpu = vcpu, .hva = hva };
	set_paging(env, true, false, true);
}

/* --- The model ------------------------------------------------------- */

/*
 * Reserved bits of a 4-level paging entry, from the SDM (vol. 3, 4.5,
 * "Format of a PML4E/PDPTE/PDE/PTE" and 4.13.1): physical-address bits at
 * and above MAXPHYADDR, XD without EFER.NXE, PS in a PML4E, and the bits
 * of a large page's frame field below its alignment (PAT sits at bit 12).
 */
static u64 sdm_rsvd(const struct umbra_paging *p, u8 maxpa, int level, u64 e)
{
	u64 rsvd = 0;
	int bit;

	for (bit = maxpa; bit <= 51; bit++)
		rsvd |= BIT_ULL(bit);
	if (!(p->efer & EFER_NX))
		rsvd |= BIT_ULL(63);
	if (level == 4)
		rsvd |= BIT_ULL(7);
	if (level == 3 && (e & GPTE_PS))
		for (bit = 13; bit < 30; bit++)
			rsvd |= BIT_ULL(bit);
	if (level == 2 && (e & GPTE_PS))
		for (bit = 13; bit < 21; bit++)
			rsvd |= BIT_ULL(bit);
	return rsvd;
}

struct sdm_result {
	int ret;		/* 0 translated, 1 #PF */
	u32 err;		/* the #PF error code */
	int level;		/* leaf level when translated */
	u64 gfn;		/* frame when translated */
};

/*
 * What the SDM says an access does (vol. 3, 4.6 "Access rights" and 4.7
 * "Page-fault exceptions"): the walk stops at the first entry that is not
 * present (P=0 in the error code) or has a reserved bit set (RSVD=1, P=1);
 * then the rights are the AND of R/W and U/S over every entry and XD is
 * the OR (with NXE=1).  W/R and U/S of the error code describe the access;
 * I/D is 1 for a fetch only if EFER.NXE=1 or CR4.SMEP=1.
 */
static struct sdm_result sdm_walk(const struct umbra_paging *p, u8 maxpa,
				  const u64 *pte, u64 addr, u32 access)
{
	bool user = access & PFERR_USER, write = access & PFERR_WRITE;
	bool fetch = access & PFERR_FETCH;
	bool nxe = p->efer & EFER_NX, smep = p->cr4 & X86_CR4_SMEP;
	bool user_page = true, writable = true, xd = false, denied;
	struct sdm_result res = { .ret = 1 };
	u64 e = 0, span;
	int level;

	if (write)
		res.err |= PFERR_WRITE;
	if (user)
		res.err |= PFERR_USER;
	if (fetch && (nxe || smep))
		res.err |= PFERR_FETCH;

	for (level = 4; level >= 1; level--) {
		e = pte[level];
		if (!(e & GPTE_P))
			return res;
		if (e & sdm_rsvd(p, maxpa, level, e)) {
			res.err |= PFERR_RSVD | PFERR_PRESENT;
			return res;
		}
		user_page &= !!(e & GPTE_U);
		writable &= !!(e & GPTE_W);
		xd |= nxe && (e & GPTE_NX);
		if (level == 1 || ((level == 2 || level == 3) && (e & GPTE_PS)))
			break;
	}

	if (user)
		denied = !user_page || (write && !writable) || (fetch && xd);
	else
		denied = (write && !writable && (p->cr0 & X86_CR0_WP)) ||
			 (fetch && (xd || (smep && user_page)));
	if (denied) {
		res.err |= PFERR_PRESENT;
		return res;
	}

	/* 4 KiB, 2 MiB or 1 GiB: the frame field with the low bits from @addr. */
	span = level == 1 ? 1 : level == 2 ? 512 : 512 * 512;
	res.ret = 0;
	res.err = 0;
	res.level = level;
	res.gfn = (((e & GENMASK_ULL(51, 12)) >> PAGE_SHIFT) & ~(span - 1)) |
		  ((addr >> PAGE_SHIFT) & (span - 1));
	return res;
}

/* Report one mismatch in a table-driven loop, without flooding the log. */
#define WALK_MISMATCH(test, env, fmt, ...)				\
	do {								\
		if ((env)->failures++ < 8)				\
			KUNIT_FAIL(test, fmt, ##__VA_ARGS__);		\
	} while (0)

/*
 * Write @pte, walk ADDR with @access, compare everything with the model.
 * Return: true if all matched.
 */
static bool check_walk(struct kunit *test, struct walk_env *env, const u64 *pte,
		       u32 access, const char *what)
{
	const struct umbra_paging *p = &env->vcpu->mmu->paging;
	struct sdm_result want;
	struct umbra_walk w;
	unsigned int before = env->failures;
	int r, level;

	write_gptes(test, env, pte);
	want = sdm_walk(p, env->vcpu->caps.maxphyaddr, pte, ADDR, access);
	r = do_walk(env, ADDR, access, &w);

	if (r != want.ret) {
		WALK_MISMATCH(test, env,
			      "%s: access %#x cr0 %#llx cr4 %#llx efer %#llx ptes %#llx %#llx %#llx %#llx: returned %d, want %d",
			      what, access, p->cr0, p->cr4, p->efer, pte[4], pte[3],
			      pte[2], pte[1], r, want.ret);
		return false;
	}
	if (r && w.fault_error != want.err)
		WALK_MISMATCH(test, env,
			      "%s: access %#x cr0 %#llx cr4 %#llx efer %#llx ptes %#llx %#llx %#llx %#llx: error %#x, want %#x",
			      what, access, p->cr0, p->cr4, p->efer, pte[4], pte[3],
			      pte[2], pte[1], w.fault_error, want.err);
	if (!r && (w.level != want.level || w.gfn != want.gfn))
		WALK_MISMATCH(test, env,
			      "%s: access %#x ptes %#llx %#llx %#llx %#llx: level %d gfn %#llx, want level %d gfn %#llx",
			      what, access, pte[4], pte[3], pte[2], pte[1],
			      w.level, w.gfn, want.level, want.gfn);

	/* A on every entry used, D on a written leaf; nothing if it failed. */
	for (level = 4; level >= 1; level--) {
		u64 expect = pte[level], got = read_gpte(test, env, level);

		if (!r && level >= want.level) {
			expect |= GPTE_A;
			if (level == want.level && (access & PFERR_WRITE))
				expect |= GPTE_D;
		}
		if (got != expect)
			WALK_MISMATCH(test, env,
				      "%s: access %#x: level %d entry %#llx after the walk, want %#llx",
				      what, access, level, got, expect);
	}
	return env->failures == before;
}

/* --- Cases ----------------------------------------------------------- */

/*
 * The table-driven cases run one counter over every combination and take
 * each dimension's digit from it, lowest first.
 */
static unsigned int digit(unsigned int *n, unsigned int radix)
{
	unsigned int d = *n % radix;

	*n /= radix;
	return d;
}

enum nx_at { NX_NONE, NX_LEAF, NX_UPPER, NX_AT_MAX };

/*
 * Every combination of: the R/W and U/S bits of the 4 KiB leaf and of one
 * upper level (each of PML4E, PDPTE, PDE in turn; the others allow
 * everything), XD nowhere / on the leaf / on that upper level, EFER.NXE,
 * CR0.WP, CR4.SMEP, and the six kinds of access.
 */
static void umbra_mmu_walk_permissions_match_sdm(struct kunit *test)
{
	const unsigned int combos = ARRAY_SIZE(all_accesses) * 8 * NX_AT_MAX *
				    4 * 4 * 3;
	unsigned int n, walks = 0;
	struct walk_env env;

	walk_env_init(test, &env);

	for (n = 0; n < combos; n++) {
		unsigned int c = n;
		u32 access = all_accesses[digit(&c, ARRAY_SIZE(all_accesses))];
		unsigned int flags = digit(&c, 8);	/* WP, SMEP, NXE */
		unsigned int nx = digit(&c, NX_AT_MAX);
		unsigned int lbits = digit(&c, 4);	/* leaf W, U */
		unsigned int ubits = digit(&c, 4);	/* upper W, U */
		unsigned int upper = 2 + digit(&c, 3);	/* PDE, PDPTE, PML4E */
		u64 pte[UMBRA_ROOT_LEVEL + 1];

		default_gptes(pte);
		pte[upper] &= ~(GPTE_W | GPTE_U);
		pte[upper] |= (ubits & 1 ? GPTE_W : 0) | (ubits & 2 ? GPTE_U : 0);
		pte[1] &= ~(GPTE_W | GPTE_U);
		pte[1] |= (lbits & 1 ? GPTE_W : 0) | (lbits & 2 ? GPTE_U : 0);
		if (nx == NX_LEAF)
			pte[1] |= GPTE_NX;
		else if (nx == NX_UPPER)
			pte[upper] |= GPTE_NX;
		set_paging(&env, flags & 1, flags & 2, flags & 4);

		check_walk(test, &env, pte, access, "permissions");
		walks++;
	}
	KUNIT_EXPECT_EQ(test, walks, 6912U);
	KUNIT_EXPECT_EQ_MSG(test, env.failures, 0U, "mismatches in %u walks",
			    walks);
}

/* A few of the table's cases spelled out, as a reader's anchor. */
static void umbra_mmu_walk_permissions_examples(struct kunit *test)
{
	u64 pte[UMBRA_ROOT_LEVEL + 1];
	struct walk_env env;
	struct umbra_walk w;

	walk_env_init(test, &env);

	/* A user write to a page read-only at the PDPTE only. */
	default_gptes(pte);
	pte[3] &= ~GPTE_W;
	write_gptes(test, &env, pte);
	KUNIT_EXPECT_EQ(test, 1, do_walk(&env, ADDR, ACC_UW, &w));
	KUNIT_EXPECT_EQ(test, w.fault_error,
			(u32)(PFERR_PRESENT | PFERR_WRITE | PFERR_USER));

	/* The same from the supervisor: WP=1 refuses, WP=0 allows. */
	KUNIT_EXPECT_EQ(test, 1, do_walk(&env, ADDR, ACC_W, &w));
	KUNIT_EXPECT_EQ(test, w.fault_error, (u32)(PFERR_PRESENT | PFERR_WRITE));
	set_paging(&env, false, false, true);
	KUNIT_EXPECT_EQ(test, 0, do_walk(&env, ADDR, ACC_W, &w));

	/* A supervisor fetch from a user page under SMEP. */
	default_gptes(pte);
	write_gptes(test, &env, pte);
	set_paging(&env, true, true, true);
	KUNIT_EXPECT_EQ(test, 1, do_walk(&env, ADDR, ACC_X, &w));
	KUNIT_EXPECT_EQ(test, w.fault_error, (u32)(PFERR_PRESENT | PFERR_FETCH));
	KUNIT_EXPECT_EQ(test, 0, do_walk(&env, ADDR, ACC_UX, &w));

	/* A user read where the PML4E is supervisor-only. */
	default_gptes(pte);
	pte[4] &= ~GPTE_U;
	write_gptes(test, &env, pte);
	set_paging(&env, true, false, true);
	KUNIT_EXPECT_EQ(test, 1, do_walk(&env, ADDR, ACC_UR, &w));
	KUNIT_EXPECT_EQ(test, w.fault_error, (u32)(PFERR_PRESENT | PFERR_USER));
	KUNIT_EXPECT_EQ(test, 0, do_walk(&env, ADDR, ACC_R, &w));
}

/*
 * The I/D bit of the error code (SDM 4.7): 1 for a fetch if EFER.NXE=1 or
 * CR4.SMEP=1, else 0.
 */
static void umbra_mmu_walk_fetch_error_id_needs_nxe_or_smep(struct kunit *test)
{
	u64 pte[UMBRA_ROOT_LEVEL + 1];
	struct walk_env env;
	struct umbra_walk w;
	u32 want = PFERR_PRESENT | PFERR_USER;

	walk_env_init(test, &env);
	default_gptes(pte);
	pte[1] &= ~GPTE_U;		/* a user fetch from a supervisor page */
	write_gptes(test, &env, pte);

	set_paging(&env, true, false, true);		/* NXE */
	KUNIT_EXPECT_EQ(test, 1, do_walk(&env, ADDR, ACC_UX, &w));
	KUNIT_EXPECT_EQ(test, w.fault_error, want | PFERR_FETCH);
	set_paging(&env, true, true, false);		/* SMEP */
	KUNIT_EXPECT_EQ(test, 1, do_walk(&env, ADDR, ACC_UX, &w));
	KUNIT_EXPECT_EQ(test, w.fault_error, want | PFERR_FETCH);

	set_paging(&env, true, false, false);		/* neither */
	KUNIT_EXPECT_EQ(test, 1, do_walk(&env, ADDR, ACC_UX, &w));
	KUNIT_EXPECT_EQ(test, w.fault_error, want);
}

/* P=0 at each level: the error code has no P; other bits are ignored. */
static void umbra_mmu_walk_not_present_each_level(struct kunit *test)
{
	static const u64 not_present[] = { 0, ~(u64)GPTE_P };
	const unsigned int combos = ARRAY_SIZE(all_accesses) *
				    ARRAY_SIZE(not_present) * 4;
	struct walk_env env;
	unsigned int n;

	walk_env_init(test, &env);
	for (n = 0; n < combos; n++) {
		unsigned int c = n;
		u32 access = all_accesses[digit(&c, ARRAY_SIZE(all_accesses))];
		u64 entry = not_present[digit(&c, ARRAY_SIZE(not_present))];
		int level = 1 + digit(&c, 4);
		u64 pte[UMBRA_ROOT_LEVEL + 1];
		struct umbra_walk w;

		default_gptes(pte);
		pte[level] = entry;
		KUNIT_EXPECT_TRUE(test, check_walk(test, &env, pte, access,
						   "not present"));
		/* And spelled out: the access bits alone. */
		KUNIT_EXPECT_EQ(test, 1, do_walk(&env, ADDR, access, &w));
		KUNIT_EXPECT_EQ(test, w.fault_error, access);
	}
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* Physical-address bits at and above MAXPHYADDR, at every level. */
static void umbra_mmu_walk_rsvd_above_maxphyaddr(struct kunit *test)
{
	static const unsigned int bits[] = { MAXPA, MAXPA + 1, 51 };
	const unsigned int combos = ARRAY_SIZE(all_accesses) *
				    ARRAY_SIZE(bits) * 4;
	struct walk_env env;
	unsigned int n;

	walk_env_init(test, &env);
	for (n = 0; n < combos; n++) {
		unsigned int c = n;
		u32 access = all_accesses[digit(&c, ARRAY_SIZE(all_accesses))];
		unsigned int bit = bits[digit(&c, ARRAY_SIZE(bits))];
		int level = 1 + digit(&c, 4);
		u64 pte[UMBRA_ROOT_LEVEL + 1];
		struct umbra_walk w;

		default_gptes(pte);
		pte[level] |= BIT_ULL(bit);
		KUNIT_EXPECT_TRUE(test, check_walk(test, &env, pte, access,
						   "rsvd maxphyaddr"));
		KUNIT_EXPECT_EQ(test, 1, do_walk(&env, ADDR, access, &w));
		KUNIT_EXPECT_EQ(test, w.fault_error,
				access | PFERR_RSVD | PFERR_PRESENT);
	}

	/* Just below MAXPHYADDR is a frame bit: the leaf maps it. */
	{
		u64 pte[UMBRA_ROOT_LEVEL + 1];
		struct umbra_walk w;

		default_gptes(pte);
		pte[1] |= BIT_ULL(MAXPA - 1);
		write_gptes(test, &env, pte);
		KUNIT_EXPECT_EQ(test, 0, do_walk(&env, ADDR, ACC_R, &w));
		KUNIT_EXPECT_EQ(test, w.gfn,
				LEAF_GFN | BIT_ULL(MAXPA - 1 - PAGE_SHIFT));
	}
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* Without CPUID leaf 0x80000008 MAXPHYADDR is 36: bit 36 is reserved. */
static void umbra_mmu_walk_rsvd_default_maxphyaddr_36(struct kunit *test)
{
	u64 pte[UMBRA_ROOT_LEVEL + 1];
	struct walk_env env;
	struct umbra_walk w;

	walk_env_init(test, &env);
	umbra_cpuid_caps(NULL, 0, &env.vcpu->caps);
	KUNIT_ASSERT_EQ(test, env.vcpu->caps.maxphyaddr, 36);

	default_gptes(pte);
	pte[1] |= BIT_ULL(36);
	KUNIT_EXPECT_TRUE(test, check_walk(test, &env, pte, ACC_R, "maxpa 36"));
	KUNIT_EXPECT_EQ(test, 1, do_walk(&env, ADDR, ACC_R, &w));
	KUNIT_EXPECT_EQ(test, w.fault_error, (u32)(PFERR_RSVD | PFERR_PRESENT));

	pte[1] &= ~BIT_ULL(36);
	pte[1] |= BIT_ULL(35);
	KUNIT_EXPECT_TRUE(test, check_walk(test, &env, pte, ACC_R, "maxpa 36"));
}

/* XD with EFER.NXE=0 is a reserved bit at every level: RSVD|P. */
static void umbra_mmu_walk_rsvd_nx_without_nxe(struct kunit *test)
{
	static const u32 data_accesses[] = { ACC_R, ACC_W, ACC_UR, ACC_UW };
	struct walk_env env;
	unsigned int n;
	int level;

	walk_env_init(test, &env);
	set_paging(&env, true, false, false);
	for (n = 0; n < ARRAY_SIZE(data_accesses) * 4; n++) {
		unsigned int c = n;
		u32 access = data_accesses[digit(&c, ARRAY_SIZE(data_accesses))];
		u64 pte[UMBRA_ROOT_LEVEL + 1];
		struct umbra_walk w;

		level = 1 + digit(&c, 4);

		default_gptes(pte);
		pte[level] |= GPTE_NX;
		KUNIT_EXPECT_TRUE(test, check_walk(test, &env, pte, access,
						   "nx without nxe"));
		KUNIT_EXPECT_EQ(test, 1, do_walk(&env, ADDR, access, &w));
		KUNIT_EXPECT_EQ(test, w.fault_error,
				access | PFERR_RSVD | PFERR_PRESENT);
	}

	/* The same tables with NXE=1 translate (reads; XD only stops fetches). */
	set_paging(&env, true, false, true);
	for (level = 4; level >= 1; level--) {
		u64 pte[UMBRA_ROOT_LEVEL + 1];
		struct umbra_walk w;

		default_gptes(pte);
		pte[level] |= GPTE_NX;
		write_gptes(test, &env, pte);
		KUNIT_EXPECT_EQ(test, 0, do_walk(&env, ADDR, ACC_R, &w));
		KUNIT_EXPECT_EQ(test, 1, do_walk(&env, ADDR, ACC_X, &w));
		KUNIT_EXPECT_EQ(test, w.fault_error,
				(u32)(PFERR_PRESENT | PFERR_FETCH));
	}
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* PS is reserved in a PML4E. */
static void umbra_mmu_walk_rsvd_ps_in_pml4e(struct kunit *test)
{
	u64 pte[UMBRA_ROOT_LEVEL + 1];
	struct walk_env env;
	struct umbra_walk w;
	unsigned int i;

	walk_env_init(test, &env);
	default_gptes(pte);
	pte[4] |= GPTE_PS;
	for (i = 0; i < ARRAY_SIZE(all_accesses); i++) {
		KUNIT_EXPECT_TRUE(test, check_walk(test, &env, pte,
						   all_accesses[i], "ps in pml4e"));
		KUNIT_EXPECT_EQ(test, 1, do_walk(&env, ADDR, all_accesses[i], &w));
		KUNIT_EXPECT_EQ(test, w.fault_error,
				all_accesses[i] | PFERR_RSVD | PFERR_PRESENT);
	}
}

/* The frame field of a large page below its alignment, bit 12 (PAT) aside. */
static void umbra_mmu_walk_rsvd_large_page_frame(struct kunit *test)
{
	struct walk_env env;
	struct umbra_walk w;
	unsigned int bit;

	walk_env_init(test, &env);
	for (bit = 12; bit <= 30; bit++) {
		u64 pte[UMBRA_ROOT_LEVEL + 1];
		bool rsvd;

		/* 2 MiB: 20:13 reserved; 21 and up are frame bits. */
		default_gptes(pte);
		pte[2] = (HUGE_2M_GFN << PAGE_SHIFT) | GPTE_ALL | GPTE_PS |
			 BIT_ULL(bit);
		rsvd = bit >= 13 && bit <= 20;
		KUNIT_EXPECT_TRUE(test, check_walk(test, &env, pte, ACC_R, "2m frame"));
		KUNIT_EXPECT_EQ_MSG(test, do_walk(&env, ADDR, ACC_R, &w), rsvd ? 1 : 0,
				    "2 MiB page with bit %u", bit);
		if (rsvd)
			KUNIT_EXPECT_EQ(test, w.fault_error,
					(u32)(PFERR_RSVD | PFERR_PRESENT));

		/* 1 GiB: 29:13 reserved. */
		default_gptes(pte);
		pte[3] = (HUGE_1G_GFN << PAGE_SHIFT) | GPTE_ALL | GPTE_PS |
			 BIT_ULL(bit);
		rsvd = bit >= 13 && bit <= 29;
		KUNIT_EXPECT_TRUE(test, check_walk(test, &env, pte, ACC_R, "1g frame"));
		KUNIT_EXPECT_EQ_MSG(test, do_walk(&env, ADDR, ACC_R, &w), rsvd ? 1 : 0,
				    "1 GiB page with bit %u", bit);
		if (rsvd)
			KUNIT_EXPECT_EQ(test, w.fault_error,
					(u32)(PFERR_RSVD | PFERR_PRESENT));
	}
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* A 2 MiB leaf in the PD: level 2, the frame plus ADDR's 4 KiB index in it. */
static void umbra_mmu_walk_large_2m(struct kunit *test)
{
	u64 pte[UMBRA_ROOT_LEVEL + 1];
	struct walk_env env;
	struct umbra_walk w;

	walk_env_init(test, &env);
	default_gptes(pte);
	/* PAT (bit 12 of a large page) is not part of the frame. */
	pte[2] = (HUGE_2M_GFN << PAGE_SHIFT) | GPTE_ALL | GPTE_PS | BIT_ULL(12);
	write_gptes(test, &env, pte);

	KUNIT_ASSERT_EQ(test, 0, do_walk(&env, ADDR, ACC_W, &w));
	KUNIT_EXPECT_EQ(test, w.level, 2);
	KUNIT_EXPECT_EQ(test, w.gfn, HUGE_2M_GFN + 4);
	KUNIT_EXPECT_EQ(test, w.table_gfn[2], PD_GFN);
	/* A on PML4E, PDPTE, PDE; D on the PDE; the PT is not touched. */
	KUNIT_EXPECT_EQ(test, read_gpte(test, &env, 4), pte[4] | GPTE_A);
	KUNIT_EXPECT_EQ(test, read_gpte(test, &env, 3), pte[3] | GPTE_A);
	KUNIT_EXPECT_EQ(test, read_gpte(test, &env, 2), pte[2] | GPTE_A | GPTE_D);
	KUNIT_EXPECT_EQ(test, read_gpte(test, &env, 1), pte[1]);

	/* Another 4 KiB page of it, and the model agrees. */
	KUNIT_ASSERT_EQ(test, 0, do_walk(&env, ADDR + 0x17 * PAGE_SIZE, ACC_R, &w));
	KUNIT_EXPECT_EQ(test, w.gfn, HUGE_2M_GFN + 4 + 0x17);
	KUNIT_EXPECT_TRUE(test, check_walk(test, &env, pte, ACC_UW, "2m"));
}

/* A 1 GiB leaf in the PDPT: level 3, the frame plus ADDR's index in it. */
static void umbra_mmu_walk_large_1g(struct kunit *test)
{
	u64 pte[UMBRA_ROOT_LEVEL + 1];
	struct walk_env env;
	struct umbra_walk w;

	walk_env_init(test, &env);
	default_gptes(pte);
	pte[3] = (HUGE_1G_GFN << PAGE_SHIFT) | GPTE_ALL | GPTE_PS | BIT_ULL(12);
	write_gptes(test, &env, pte);

	KUNIT_ASSERT_EQ(test, 0, do_walk(&env, ADDR, ACC_W, &w));
	KUNIT_EXPECT_EQ(test, w.level, 3);
	KUNIT_EXPECT_EQ(test, w.gfn, HUGE_1G_GFN + (3 << 9) + 4);
	KUNIT_EXPECT_EQ(test, read_gpte(test, &env, 4), pte[4] | GPTE_A);
	KUNIT_EXPECT_EQ(test, read_gpte(test, &env, 3), pte[3] | GPTE_A | GPTE_D);
	KUNIT_EXPECT_EQ(test, read_gpte(test, &env, 2), pte[2]);
	KUNIT_EXPECT_EQ(test, read_gpte(test, &env, 1), pte[1]);
	KUNIT_EXPECT_TRUE(test, check_walk(test, &env, pte, ACC_UR, "1g"));

	/* A large leaf's rights count like a 4 KiB one's. */
	pte[3] &= ~GPTE_U;
	KUNIT_EXPECT_TRUE(test, check_walk(test, &env, pte, ACC_UR, "1g"));
	write_gptes(test, &env, pte);
	KUNIT_EXPECT_EQ(test, 1, do_walk(&env, ADDR, ACC_UR, &w));
	KUNIT_EXPECT_EQ(test, w.fault_error, (u32)(PFERR_PRESENT | PFERR_USER));
}

/* Without CPUID's Page1GB, PS in a PDPTE is a reserved bit. */
static void umbra_mmu_walk_rsvd_1g_without_gbpages(struct kunit *test)
{
	u64 pte[UMBRA_ROOT_LEVEL + 1];
	struct walk_env env;
	struct umbra_walk w;

	walk_env_init(test, &env);
	env.vcpu->caps.gbpages = false;
	default_gptes(pte);
	pte[3] = (HUGE_1G_GFN << PAGE_SHIFT) | GPTE_ALL | GPTE_PS;
	write_gptes(test, &env, pte);
	KUNIT_EXPECT_EQ(test, 1, do_walk(&env, ADDR, ACC_R, &w));
	KUNIT_EXPECT_EQ(test, w.fault_error, (u32)(PFERR_PRESENT | PFERR_RSVD));
}

/* A read walk sets A on all four entries and D nowhere. */
static void umbra_mmu_walk_ad_read_sets_a(struct kunit *test)
{
	u64 pte[UMBRA_ROOT_LEVEL + 1];
	struct walk_env env;
	struct umbra_walk w;
	int level;

	walk_env_init(test, &env);
	default_gptes(pte);
	write_gptes(test, &env, pte);
	KUNIT_ASSERT_EQ(test, 0, do_walk(&env, ADDR, ACC_UR, &w));
	for (level = 4; level >= 1; level--) {
		KUNIT_EXPECT_EQ(test, read_gpte(test, &env, level),
				pte[level] | GPTE_A);
		KUNIT_EXPECT_EQ(test, w.gpte[level], pte[level] | GPTE_A);
	}
	/* Walking again changes nothing. */
	KUNIT_ASSERT_EQ(test, 0, do_walk(&env, ADDR, ACC_R, &w));
	for (level = 4; level >= 1; level--)
		KUNIT_EXPECT_EQ(test, read_gpte(test, &env, level),
				pte[level] | GPTE_A);
}

/* A write walk sets A everywhere and D on the leaf only, also when A was set. */
static void umbra_mmu_walk_ad_write_sets_d(struct kunit *test)
{
	u64 pte[UMBRA_ROOT_LEVEL + 1];
	struct walk_env env;
	struct umbra_walk w;
	int level;

	walk_env_init(test, &env);
	default_gptes(pte);
	for (level = 4; level >= 1; level--)
		pte[level] |= GPTE_A;
	write_gptes(test, &env, pte);
	KUNIT_ASSERT_EQ(test, 0, do_walk(&env, ADDR, ACC_W, &w));
	for (level = 4; level >= 2; level--)
		KUNIT_EXPECT_EQ(test, read_gpte(test, &env, level), pte[level]);
	KUNIT_EXPECT_EQ(test, read_gpte(test, &env, 1), pte[1] | GPTE_D);
	KUNIT_EXPECT_EQ(test, w.gpte[1], pte[1] | GPTE_D);

	/* From clean: A and D in one go; a supervisor write under WP=0 too. */
	default_gptes(pte);
	pte[1] &= ~GPTE_W;
	write_gptes(test, &env, pte);
	set_paging(&env, false, false, true);
	KUNIT_ASSERT_EQ(test, 0, do_walk(&env, ADDR, ACC_W, &w));
	for (level = 4; level >= 2; level--)
		KUNIT_EXPECT_EQ(test, read_gpte(test, &env, level),
				pte[level] | GPTE_A);
	KUNIT_EXPECT_EQ(test, read_gpte(test, &env, 1), pte[1] | GPTE_A | GPTE_D);
}

/* Failed walks set neither A nor D, whatever made them fail. */
static void umbra_mmu_walk_ad_untouched_on_fault(struct kunit *test)
{
	u64 pte[UMBRA_ROOT_LEVEL + 1];
	struct walk_env env;
	struct umbra_walk w;
	int level, bad;

	walk_env_init(test, &env);
	for (bad = 0; bad < 3; bad++) {
		default_gptes(pte);
		if (bad == 0)
			pte[1] &= ~GPTE_P;		/* not present */
		else if (bad == 1)
			pte[2] |= BIT_ULL(51);		/* reserved */
		else
			pte[1] &= ~GPTE_W;		/* protection */
		write_gptes(test, &env, pte);
		KUNIT_EXPECT_EQ(test, 1, do_walk(&env, ADDR, ACC_UW, &w));
		for (level = 4; level >= 1; level--)
			KUNIT_EXPECT_EQ_MSG(test, read_gpte(test, &env, level),
					    pte[level], "fault kind %d, level %d",
					    bad, level);
	}
}

/* A table outside every memslot (or CR3 there) is -EFAULT, not a #PF. */
static void umbra_mmu_walk_table_outside_ram_efault(struct kunit *test)
{
	u64 pte[UMBRA_ROOT_LEVEL + 1];
	struct walk_env env;
	struct umbra_walk w;

	walk_env_init(test, &env);
	default_gptes(pte);
	pte[3] = (OUTSIDE_GFN << PAGE_SHIFT) | GPTE_ALL;
	write_gptes(test, &env, pte);
	KUNIT_EXPECT_EQ(test, -EFAULT, do_walk(&env, ADDR, ACC_R, &w));
	/* ...and sets no A bit on the way. */
	KUNIT_EXPECT_EQ(test, read_gpte(test, &env, 4), pte[4]);

	default_gptes(pte);
	write_gptes(test, &env, pte);
	env.vcpu->mmu->paging.cr3 = OUTSIDE_GFN << PAGE_SHIFT;
	KUNIT_EXPECT_EQ(test, -EFAULT, do_walk(&env, ADDR, ACC_R, &w));
}

static struct kunit_case umbra_walk_cases[] = {
	KUNIT_CASE(umbra_mmu_walk_permissions_match_sdm),
	KUNIT_CASE(umbra_mmu_walk_permissions_examples),
	KUNIT_CASE(umbra_mmu_walk_fetch_error_id_needs_nxe_or_smep),
	KUNIT_CASE(umbra_mmu_walk_not_present_each_level),
	KUNIT_CASE(umbra_mmu_walk_rsvd_above_maxphyaddr),
	KUNIT_CASE(umbra_mmu_walk_rsvd_default_maxphyaddr_36),
	KUNIT_CASE(umbra_mmu_walk_rsvd_nx_without_nxe),
	KUNIT_CASE(umbra_mmu_walk_rsvd_ps_in_pml4e),
	KUNIT_CASE(umbra_mmu_walk_rsvd_large_page_frame),
	KUNIT_CASE(umbra_mmu_walk_large_2m),
	KUNIT_CASE(umbra_mmu_walk_large_1g),
	KUNIT_CASE(umbra_mmu_walk_rsvd_1g_without_gbpages),
	KUNIT_CASE(umbra_mmu_walk_ad_read_sets_a),
	KUNIT_CASE(umbra_mmu_walk_ad_write_sets_d),
	KUNIT_CASE(umbra_mmu_walk_ad_untouched_on_fault),
	KUNIT_CASE(umbra_mmu_walk_table_outside_ram_efault),
	{}
};

static struct kunit_suite umbra_walk_suite = {
	.name = "umbra_walk",
	.test_cases = umbra_walk_cases,
};
kunit_test_suite(umbra_walk_suite);
