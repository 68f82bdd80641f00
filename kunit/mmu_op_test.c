// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite umbra_mmu_op: the host side of the PV mmu_op queue
 * (include/umbra/pv.h; pvops/mmu_op.c, pvops/hypercall.c, and the MMU
 * primitives they call in mmu/pte_write.c) against a model of the ABI
 * written here.
 *
 * The environment is a small VM as the backend sees it (kunit/vm_env.c):
 * guest RAM in real user memory of the test thread (kunit_vm_mmap()),
 * published as memslots with core/memslot.c's own helpers, the shadow MMU
 * (umbra_mmu_vm_init(), whose MMU notifier sits on the test thread's mm)
 * and one vCPU with its MMU state, in long mode with MAXPA physical
 * address bits:
 *
 *   slot 0   gfn 0 .. RAM_PAGES - 1      writable RAM; the queue area
 *                                        starts at QUEUE_GFN
 *   slot 1   ROM_GFN .. + ROM_PAGES - 1   read-only RAM (KVM_MEM_READONLY)
 *   HOLE_GFN                             no memslot
 *
 * Each flush is checked against the model (model_apply()) for: the value
 * returned (ops processed, the refused one included); every processed op's
 * status written back into guest memory, every other byte of the queue
 * left as the test wrote it (ops after a refusal keep the sentinel status
 * UNTOUCHED); every word of guest RAM outside the queue (the entries the
 * ops wrote, KEEP_AD keeping the A/D bits the old entry had, and nothing
 * else), the read-only slot unchanged; the effects struct (TLB flushes
 * merged, the last CR3 load); the vCPU's mmu_op counters.  Hypercall-level
 * errors must leave every op untouched.
 *
 * RELEASE_PT is refused (UMBRA_MMU_ENOTPT) exactly for a page that is
 * some vCPU's current CR3, counting a LOAD_CR3 earlier in the same batch;
 * the model knows each vCPU's CR3 because the test sets it (set_cr3()).
 *
 * The shadow cases build a real shadow for a guest 4-level chain
 * (umbra_mmu_load() for the root, umbra_mmu_page_fault() for the rest) and
 * check what the ops do to it: a PTE write drops the spte mirroring the
 * old entry and asks every vCPU for a TLB flush, a present and accessed
 * leaf entry is mapped at once, RELEASE_PT zaps the table's shadow (a
 * previous root's too), and the current root is refused.
 *
 * Everything built is torn down through KUnit actions, so a failed
 * assertion cleans up too.  The actions run in KUnit's cleanup thread,
 * after the test thread (and with it the mm's last user) has exited: the
 * MMU notifier's release has zapped the shadow by then, and the vCPU and
 * VM teardown free what is left.
 */
#include <kunit/test.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/processor-flags.h>
#include <umbra/pv.h>
#include <umbra/pvops.h>
#include "../core/core.h"
#include "../mmu/mmu.h"
#include "vm_env.h"

#define GPTE_P		_PAGE_PRESENT
#define GPTE_W		_PAGE_RW
#define GPTE_U		_PAGE_USER
#define GPTE_A		_PAGE_ACCESSED
#define GPTE_D		_PAGE_DIRTY
#define GPTE_AD		(GPTE_A | GPTE_D)
#define GPTE_ALL	(GPTE_P | GPTE_W | GPTE_U)

/* Guest-physical layout, see the top of the file. */
#define RAM_PAGES	32
#define RAM_END		((u64)RAM_PAGES << PAGE_SHIFT)
#define ROM_GFN		0x100ULL
#define ROM_PAGES	2
#define HOLE_GFN	0x200ULL
#define QUEUE_GFN	16ULL
#define QUEUE_GPA	(QUEUE_GFN << PAGE_SHIFT)
#define QUEUE_PAGES	4		/* what most cases register */
#define QUEUE_OPS	(QUEUE_PAGES * UMBRA_MMU_OPS_PER_PAGE)
#define MAX_OPS		(UMBRA_MMU_QUEUE_PAGES_MAX * UMBRA_MMU_OPS_PER_PAGE)

/* The pages the random ops write entries into. */
#define TABLE_GFN	1ULL
#define TABLE_PAGES	8

/* The guest's physical-address width (CPUID 0x80000008). */
#define MAXPA		40

/* The status the test writes into every op: no UMBRA_MMU_* value. */
#define UNTOUCHED	0xdeadbeefU

/* A gpa of an entry in the table pages: page @p, index @i. */
#define ENTRY(p, i)	(((TABLE_GFN + (p)) << PAGE_SHIFT) + (i) * sizeof(u64))

/*
 * The shadow cases' guest tables: the address SH_ADDR has a different
 * index at every level.
 *
 *   PML4 (gfn 1)[1] -> PDPT (gfn 2)[2] -> PD (gfn 3)[3] -> PT (gfn 4)[4]
 *   -> SH_LEAF_GFN;  ALT_ROOT_GFN is an empty PML4 to switch to.
 */
#define PML4_GFN	1ULL
#define PDPT_GFN	2ULL
#define PD_GFN		3ULL
#define PT_GFN		4ULL
#define ALT_ROOT_GFN	5ULL
#define SH_LEAF_GFN	9ULL
#define SH_LEAF2_GFN	10ULL
#define SH_ADDR		((1ULL << 39) | (2ULL << 30) | (3ULL << 21) | (4ULL << 12))
#define SH_ENTRY(gfn, i) (((gfn) << PAGE_SHIFT) + (i) * sizeof(u64))

/* Long mode, NX, 1 GiB pages and MAXPA physical address bits. */
static const struct kvm_cpuid_entry2 op_cpuid[] = {
	{ .function = 0x80000000, .eax = 0x80000008 },
	{ .function = 0x80000001, .edx = BIT(29) | BIT(26) | BIT(20) },
	{ .function = 0x80000008, .eax = MAXPA | (48 << 8) },
};

struct op_env {
	struct kunit *test;
	struct umbra_vm *vm;
	struct umbra_vcpu *vcpu;
	unsigned long ram_hva;		/* the VMM's address of gfn 0 */
	unsigned long rom_hva;		/* ... and of ROM_GFN */
	struct umbra_vcpu *vcpu2;	/* a second vCPU, or NULL */
	u64 queue_gpa;			/* the area registered, 0 if none */
	u8 maxpa;			/* the model's MAXPHYADDR */
	u64 cr3, cr3_2;			/* the CR3 the MMU was told, per vCPU */
	u64 *model;			/* RAM as the model has it */
	u64 *rom;			/* the read-only slot's contents */
	u64 *page;			/* a page to read RAM into */
	u64 seed;			/* for the random ops */
	unsigned int failures;		/* mismatches reported so far */
};

/* Report one mismatch in a loop without flooding the log. */
#define OP_MISMATCH(env, fmt, ...)					\
	do {								\
		if ((env)->failures++ < 8)				\
			KUNIT_FAIL((env)->test, fmt, ##__VA_ARGS__);	\
	} while (0)

static u64 rnd(struct op_env *env)
{
	u64 x = env->seed;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return env->seed = x;
}

/* --- Guest memory ---------------------------------------------------- */

static void __user *ram_uptr(const struct op_env *env, u64 gpa)
{
	return (void __user *)(env->ram_hva + gpa);
}

static u64 read_u64(struct op_env *env, u64 gpa)
{
	u64 v;

	KUNIT_ASSERT_EQ(env->test, 0UL,
			copy_from_user(&v, ram_uptr(env, gpa), sizeof(v)));
	return v;
}

static void write_u64(struct op_env *env, u64 gpa, u64 v)
{
	KUNIT_ASSERT_EQ(env->test, 0UL,
			copy_to_user(ram_uptr(env, gpa), &v, sizeof(v)));
}

static void fill_page(struct op_env *env, u64 gfn, u64 v)
{
	unsigned int i;

	for (i = 0; i < PAGE_SIZE / sizeof(u64); i++)
		write_u64(env, (gfn << PAGE_SHIFT) + i * sizeof(u64), v);
}

static struct umbra_mmu_op __user *queue_uptr(const struct op_env *env)
{
	return ram_uptr(env, env->queue_gpa ?: QUEUE_GPA);
}

static void write_queue(struct op_env *env, const struct umbra_mmu_op *ops,
			unsigned int n)
{
	KUNIT_ASSERT_EQ(env->test, 0UL,
			copy_to_user(queue_uptr(env), ops, n * sizeof(*ops)));
}

static void read_queue(struct op_env *env, struct umbra_mmu_op *ops,
		       unsigned int n)
{
	KUNIT_ASSERT_EQ(env->test, 0UL,
			copy_from_user(ops, queue_uptr(env), n * sizeof(*ops)));
}

static struct umbra_mmu_op mkop(u32 op, u64 addr, u64 val, u32 flags)
{
	return (struct umbra_mmu_op) {
		.op = op, .status = UNTOUCHED, .addr = addr, .val = val,
		.flags = flags,
	};
}

/* PROTECT of @count entries from @addr: rights @rights. */
static struct umbra_mmu_op mkprot(u64 addr, u64 rights, u32 count)
{
	struct umbra_mmu_op op = mkop(UMBRA_MMU_OP_PROTECT, addr, rights, 0);

	op.count = count;
	return op;
}

/* --- Setup and teardown ---------------------------------------------- */

/* Room for @n ops, freed with the test. */
static struct umbra_mmu_op *alloc_ops(struct kunit *test, unsigned int n)
{
	struct umbra_mmu_op *ops = kunit_kcalloc(test, n, sizeof(*ops), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, ops);
	return ops;
}

/* vCPU @id of @vm, with op_cpuid's MAXPA physical address bits. */
static struct umbra_vcpu *add_vcpu(struct kunit *test, struct umbra_vm *vm,
				   unsigned int id)
{
	struct umbra_vcpu *vcpu;

	vcpu = umbra_kunit_add_vcpu(test, vm, id, op_cpuid, ARRAY_SIZE(op_cpuid));
	KUNIT_ASSERT_EQ(test, vcpu->caps.maxphyaddr, MAXPA);
	return vcpu;
}

/*
 * The VM of the top of the file, its shadow MMU and vCPU 0; RAM outside
 * the queue and the read-only slot hold random words, the queue zeroes.
 */
static void op_env_init(struct kunit *test, struct op_env *env)
{
	struct umbra_vm *vm;
	unsigned int i;

	*env = (struct op_env) {
		.test = test, .maxpa = MAXPA,
		.seed = 0x9e3779b97f4a7c15ULL,
	};
	env->ram_hva = umbra_kunit_user_pages(test, RAM_PAGES);
	env->rom_hva = umbra_kunit_user_pages(test, ROM_PAGES);
	vm = umbra_kunit_vm_create(test);
	umbra_kunit_add_slot(test, vm, 0, 0, RAM_PAGES, env->ram_hva, 0);
	umbra_kunit_add_slot(test, vm, 1, ROM_GFN, ROM_PAGES, env->rom_hva,
			     KVM_MEM_READONLY);

	env->vm = vm;
	env->vcpu = add_vcpu(test, vm, 0);

	env->model = kunit_kmalloc(test, RAM_END, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, env->model);
	env->rom = kunit_kmalloc(test, ROM_PAGES * PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, env->rom);
	env->page = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, env->page);

	for (i = 0; i < RAM_END / sizeof(u64); i++)
		env->model[i] = rnd(env);
	memset(&env->model[QUEUE_GPA / sizeof(u64)], 0,
	       UMBRA_MMU_QUEUE_PAGES_MAX * PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, 0UL, copy_to_user(ram_uptr(env, 0), env->model,
						RAM_END));
	for (i = 0; i < ROM_PAGES * PAGE_SIZE / sizeof(u64); i++)
		env->rom[i] = rnd(env);
	KUNIT_ASSERT_EQ(test, 0UL, copy_to_user((void __user *)env->rom_hva,
						env->rom, ROM_PAGES * PAGE_SIZE));
}

/* UMBRA_HC_MMU_QUEUE through the hypercall; keeps env->queue_gpa current. */
static long register_queue(struct op_env *env, u64 gpa, u64 npages)
{
	struct umbra_pv_effects fx = {};
	long r = umbra_pv_hypercall(env->vcpu, UMBRA_HC_MMU_QUEUE, gpa, npages, 0, &fx);

	KUNIT_EXPECT_FALSE(env->test, fx.flush_tlb || fx.load_cr3);
	if (!r)
		env->queue_gpa = gpa;
	return r;
}

static void op_env_init_queue(struct kunit *test, struct op_env *env)
{
	op_env_init(test, env);
	KUNIT_ASSERT_EQ(test, 0L, register_queue(env, QUEUE_GPA, QUEUE_PAGES));
}

/* --- The model ------------------------------------------------------- */

static bool model_ram(u64 gpa)
{
	return gpa < RAM_END;
}

static bool cr3_is(u64 cr3, u64 gfn)
{
	return (cr3 & GENMASK_ULL(51, PAGE_SHIFT)) >> PAGE_SHIFT == gfn;
}

/*
 * Some vCPU's current CR3: the one its MMU was told, or for the vCPU
 * flushing, a LOAD_CR3 earlier in the batch.
 */
static bool model_live_root(const struct op_env *env,
			    const struct umbra_pv_effects *fx, u64 gfn)
{
	return cr3_is(fx->load_cr3 ? fx->cr3 : env->cr3, gfn) ||
	       (env->vcpu2 && cr3_is(env->cr3_2, gfn));
}

/* The checks of an op on a whole page: flags, alignment, RAM. */
static u32 model_page_op(const struct umbra_mmu_op *op)
{
	if (op->flags || op->count)
		return UMBRA_MMU_EFLAGS;
	if (op->addr & ~PAGE_MASK)
		return UMBRA_MMU_EALIGN;
	if (!model_ram(op->addr))
		return UMBRA_MMU_EBADGPA;
	return UMBRA_MMU_OK;
}

/*
 * What pv.h says one op does: its status, and (if UMBRA_MMU_OK) its
 * effect on env->model, on @fx and on the op's own @val in the queue
 * (@val_out: CLEAR_PTE hands back the entry's last value).
 */
static u32 model_apply(struct op_env *env, const struct umbra_mmu_op *op,
		       struct umbra_pv_effects *fx, u64 *val_out)
{
	u32 status;
	u64 *e;

	*val_out = op->val;
	switch (op->op) {
	case UMBRA_MMU_OP_WRITE_PTE:
	case UMBRA_MMU_OP_WRITE_PTE_KEEP_AD:
	case UMBRA_MMU_OP_CLEAR_PTE:
		if (op->flags || op->count)
			return UMBRA_MMU_EFLAGS;
		if (op->addr & 7)
			return UMBRA_MMU_EALIGN;
		if (!model_ram(op->addr))
			return UMBRA_MMU_EBADGPA;
		e = &env->model[op->addr / sizeof(u64)];
		if (op->op == UMBRA_MMU_OP_WRITE_PTE)
			*e = op->val;
		else if (op->op == UMBRA_MMU_OP_WRITE_PTE_KEEP_AD)
			*e = op->val | (*e & GPTE_AD);
		else
			*val_out = xchg(e, 0);
		return UMBRA_MMU_OK;
	case UMBRA_MMU_OP_PROTECT:
		if (op->flags)
			return UMBRA_MMU_EFLAGS;
		if (op->addr & 7)
			return UMBRA_MMU_EALIGN;
		if (op->val & ~UMBRA_MMU_PROT_RIGHTS)
			return UMBRA_MMU_EVALUE;
		if (!op->count || op->count > 512 - (op->addr & ~PAGE_MASK) / 8)
			return UMBRA_MMU_ECOUNT;
		if (!model_ram(op->addr))
			return UMBRA_MMU_EBADGPA;
		for (e = &env->model[op->addr / sizeof(u64)];
		     e < &env->model[op->addr / sizeof(u64) + op->count]; e++)
			if (*e & GPTE_P)
				*e = (*e & ~UMBRA_MMU_PROT_RIGHTS) | op->val;
		return UMBRA_MMU_OK;
	case UMBRA_MMU_OP_INVLPG:
	case UMBRA_MMU_OP_FLUSH_TLB:
		if (op->flags || op->count)
			return UMBRA_MMU_EFLAGS;
		fx->flush_tlb = true;
		return UMBRA_MMU_OK;
	case UMBRA_MMU_OP_LOAD_CR3:
		if ((op->flags & ~UMBRA_MMU_CR3_NOFLUSH) || op->count)
			return UMBRA_MMU_EFLAGS;
		if (env->maxpa < 64 && (op->val >> env->maxpa))
			return UMBRA_MMU_EVALUE;
		fx->load_cr3 = true;
		fx->cr3 = op->val;
		if (!(op->flags & UMBRA_MMU_CR3_NOFLUSH))
			fx->flush_tlb = true;
		return UMBRA_MMU_OK;
	case UMBRA_MMU_OP_RELEASE_PT:
		status = model_page_op(op);
		/* Shadowed or not: a page umbra does not shadow is a no-op. */
		if (!status && model_live_root(env, fx, op->addr >> PAGE_SHIFT))
			return UMBRA_MMU_ENOTPT;
		return status;
	case UMBRA_MMU_OP_SYNC_AD:
		/* Without deferred A/D nothing is owed: no entry changes. */
		return model_page_op(op);
	default:
		return UMBRA_MMU_EOP;
	}
}

/* RAM outside the queue pages the ops were written to, against the model. */
static void check_ram(struct op_env *env, unsigned int nq)
{
	u64 qfirst = env->queue_gpa ?: QUEUE_GPA;
	u64 qend = qfirst + PAGE_ALIGN(max(nq, 1U) * sizeof(struct umbra_mmu_op));
	u64 *buf = env->page;
	u64 gpa;
	unsigned int i;

	for (gpa = 0; gpa < RAM_END; gpa += PAGE_SIZE) {
		if (gpa >= qfirst && gpa < qend)
			continue;
		KUNIT_ASSERT_EQ(env->test, 0UL,
				copy_from_user(buf, ram_uptr(env, gpa), PAGE_SIZE));
		for (i = 0; i < PAGE_SIZE / sizeof(u64); i++) {
			u64 want = env->model[gpa / sizeof(u64) + i];

			if (buf[i] != want)
				OP_MISMATCH(env, "gpa %#llx holds %#llx, want %#llx",
					    gpa + i * sizeof(u64), buf[i], want);
		}
	}

	for (i = 0; i < ROM_PAGES * PAGE_SIZE / sizeof(u64); i++) {
		u64 v;

		KUNIT_ASSERT_EQ(env->test, 0UL,
				copy_from_user(&v, (u64 __user *)env->rom_hva + i,
					       sizeof(v)));
		if (v != env->rom[i])
			OP_MISMATCH(env, "read-only gpa %#llx holds %#llx, want %#llx",
				    (ROM_GFN << PAGE_SHIFT) + i * sizeof(u64), v,
				    env->rom[i]);
	}
}

static void snapshot_ram(struct op_env *env)
{
	KUNIT_ASSERT_EQ(env->test, 0UL,
			copy_from_user(env->model, ram_uptr(env, 0), RAM_END));
}

/*
 * Write @ops (@nq of them) at the start of the registered queue, run
 * UMBRA_HC_MMU_FLUSH(@n) and check everything against the model: the
 * result, each op (status and the rest), guest RAM, the read-only slot,
 * the effects, the counters.  The effects are returned in @fx_out.
 * Return: the hypercall's result.
 */
static long flush_and_check(struct op_env *env, const struct umbra_mmu_op *ops,
			    unsigned int nq, unsigned int n,
			    struct umbra_pv_effects *fx_out)
{
	struct kunit *test = env->test;
	struct umbra_pv_effects want_fx = {}, fx = {};
	struct umbra_vcpu_stats before = env->vcpu->stats;
	struct umbra_mmu_op *got;
	u32 *want_status;
	u64 *want_val;
	long want = n, ret;
	unsigned int i;

	want_status = kunit_kcalloc(test, max(nq, 1U), sizeof(*want_status), GFP_KERNEL);
	want_val = kunit_kcalloc(test, max(nq, 1U), sizeof(*want_val), GFP_KERNEL);
	got = kunit_kcalloc(test, max(nq, 1U), sizeof(*got), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, want_status);
	KUNIT_ASSERT_NOT_NULL(test, want_val);
	KUNIT_ASSERT_NOT_NULL(test, got);

	snapshot_ram(env);
	write_queue(env, ops, nq);
	for (i = 0; i < n; i++) {
		want_status[i] = model_apply(env, &ops[i], &want_fx, &want_val[i]);
		if (want_status[i] != UMBRA_MMU_OK) {
			want = i + 1;
			break;
		}
	}

	ret = umbra_pv_hypercall(env->vcpu, UMBRA_HC_MMU_FLUSH, n, 0, 0, &fx);
	KUNIT_EXPECT_EQ_MSG(test, ret, want, "UMBRA_HC_MMU_FLUSH(%u)", n);

	read_queue(env, got, nq);
	for (i = 0; i < nq; i++) {
		struct umbra_mmu_op exp = ops[i];

		if (i < want) {
			exp.status = want_status[i];
			if (exp.status == UMBRA_MMU_OK)
				exp.val = want_val[i];
		}
		if (memcmp(&exp, &got[i], sizeof(exp)))
			OP_MISMATCH(env,
				    "op %u of %u (%s addr %#llx val %#llx flags %#x count %#x): status %#x, want %#x%s",
				    i, n, umbra_mmu_op_name(ops[i].op), ops[i].addr, ops[i].val,
				    ops[i].flags, ops[i].count, got[i].status,
				    exp.status,
				    got[i].status == exp.status ? " (other fields changed)" : "");
	}
	check_ram(env, nq);

	KUNIT_EXPECT_EQ(test, fx.flush_tlb, want_fx.flush_tlb);
	KUNIT_EXPECT_EQ(test, fx.load_cr3, want_fx.load_cr3);
	if (want_fx.load_cr3)
		KUNIT_EXPECT_EQ(test, fx.cr3, want_fx.cr3);
	KUNIT_EXPECT_EQ(test, env->vcpu->stats.mmu_ops, before.mmu_ops + want);
	KUNIT_EXPECT_EQ(test, env->vcpu->stats.hypercalls_mmu_flush,
			before.hypercalls_mmu_flush + 1);

	kunit_kfree(test, got);
	kunit_kfree(test, want_val);
	kunit_kfree(test, want_status);
	if (fx_out)
		*fx_out = fx;
	return ret;
}

/*
 * A flush the hypercall refuses as a whole: it returns @err and looks at
 * no op (two that would write RAM are queued to make sure).
 */
static void expect_flush_refused(struct op_env *env, u64 n, long err)
{
	struct kunit *test = env->test;
	struct umbra_mmu_op ops[2] = {
		mkop(UMBRA_MMU_OP_WRITE_PTE, ENTRY(0, 0), 0x1111000 | GPTE_ALL, 0),
		mkop(UMBRA_MMU_OP_LOAD_CR3, 0, 0x5000, 0),
	}, got[2];
	struct umbra_vcpu_stats before = env->vcpu->stats;
	struct umbra_pv_effects fx = {};

	snapshot_ram(env);
	write_queue(env, ops, ARRAY_SIZE(ops));
	KUNIT_EXPECT_EQ_MSG(test, umbra_pv_hypercall(env->vcpu, UMBRA_HC_MMU_FLUSH,
						     n, 0, 0, &fx), err,
			    "UMBRA_HC_MMU_FLUSH(%llu)", n);
	read_queue(env, got, ARRAY_SIZE(got));
	KUNIT_EXPECT_EQ(test, memcmp(ops, got, sizeof(ops)), 0);
	check_ram(env, ARRAY_SIZE(ops));
	KUNIT_EXPECT_FALSE(test, fx.flush_tlb);
	KUNIT_EXPECT_FALSE(test, fx.load_cr3);
	KUNIT_EXPECT_EQ(test, env->vcpu->stats.mmu_ops, before.mmu_ops);
}

/*
 * One op that is refused with @status, between a valid write before it
 * (applied) and one after it (not looked at).
 */
static void expect_refused(struct op_env *env, struct umbra_mmu_op bad,
			   u32 status)
{
	struct umbra_mmu_op ops[3] = {
		mkop(UMBRA_MMU_OP_WRITE_PTE, ENTRY(0, 7), rnd(env), 0),
		bad,
		mkop(UMBRA_MMU_OP_WRITE_PTE, ENTRY(0, 8), rnd(env), 0),
	};
	struct umbra_mmu_op got;

	KUNIT_EXPECT_EQ(env->test, 2L, flush_and_check(env, ops, 3, 3, NULL));
	/* The model agrees; say which status explicitly all the same. */
	KUNIT_ASSERT_EQ(env->test, 0UL,
			copy_from_user(&got, queue_uptr(env) + 1, sizeof(got)));
	KUNIT_EXPECT_EQ_MSG(env->test, got.status, status,
			    "%s addr %#llx val %#llx flags %#x count %#x",
			    umbra_mmu_op_name(bad.op), bad.addr, bad.val, bad.flags,
			    bad.count);
	KUNIT_EXPECT_EQ(env->test, read_u64(env, ENTRY(0, 7)), ops[0].val);
}

/* A random op the model accepts; entries go to the table pages. */
static struct umbra_mmu_op random_op(struct op_env *env)
{
	u64 r = rnd(env), val = rnd(env);
	u64 entry = ENTRY(r % TABLE_PAGES, (r >> 8) % 512);
	u64 va = (u64)((s64)(val << 16) >> 16) & PAGE_MASK;	/* canonical */

	switch ((r >> 20) % 11) {
	case 0: case 1: case 2:
		return mkop(UMBRA_MMU_OP_WRITE_PTE, entry, val, 0);
	case 3: case 4:
		return mkop(UMBRA_MMU_OP_WRITE_PTE_KEEP_AD, entry, val, 0);
	case 5:
		/* CLEAR writes 0 whatever val says. */
		return mkop(UMBRA_MMU_OP_CLEAR_PTE, entry, val, 0);
	case 6:
		return mkop(UMBRA_MMU_OP_INVLPG, va, 0, 0);
	case 7:
		return mkop(UMBRA_MMU_OP_FLUSH_TLB, 0, 0, 0);
	case 8:
		/* Never a RAM page, so no RELEASE_PT below meets it. */
		return mkop(UMBRA_MMU_OP_LOAD_CR3, 0,
			    (val & GENMASK_ULL(MAXPA - 1, 0)) | BIT_ULL(MAXPA - 1),
			    (r >> 32) & 1 ? UMBRA_MMU_CR3_NOFLUSH : 0);
	case 9:
		/* To the table's end, or a few entries (none past it). */
		return mkprot(entry, val & UMBRA_MMU_PROT_RIGHTS,
			      (r >> 40) & 1 ? 512 - (r >> 8) % 512 :
			      1 + (r >> 41) % min_t(u64, 8, 512 - (r >> 8) % 512));
	default:
		/* Any RAM page but gfn 0, the CR3 of a vCPU that never set one. */
		return mkop(UMBRA_MMU_OP_RELEASE_PT,
			    (1 + (r >> 32) % (RAM_PAGES - 1)) << PAGE_SHIFT, 0, 0);
	}
}

/* --- Each op alone ----------------------------------------------------- */

/* WRITE_PTE stores val as is: old A/D bits do not survive. */
static void umbra_pv_mmu_flush_write_pte_ok(struct kunit *test)
{
	struct umbra_mmu_op op;
	struct op_env env;

	op_env_init_queue(test, &env);
	write_u64(&env, ENTRY(0, 5), 0xabc000 | GPTE_ALL | GPTE_AD);
	op = mkop(UMBRA_MMU_OP_WRITE_PTE, ENTRY(0, 5), 0x123000 | GPTE_P, 0);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, NULL));
	KUNIT_EXPECT_EQ(test, read_u64(&env, ENTRY(0, 5)), 0x123000ULL | GPTE_P);

	/* Any 64-bit value: the ABI does not check entries. */
	op = mkop(UMBRA_MMU_OP_WRITE_PTE, ENTRY(7, 511), ~0ULL, 0);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, NULL));
	KUNIT_EXPECT_EQ(test, read_u64(&env, ENTRY(7, 511)), ~0ULL);

	/* The last entry of RAM. */
	op = mkop(UMBRA_MMU_OP_WRITE_PTE, RAM_END - 8, 0x77000 | GPTE_P, 0);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, NULL));
	KUNIT_EXPECT_EQ(test, read_u64(&env, RAM_END - 8), 0x77000ULL | GPTE_P);
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* KEEP_AD: val | the A and D the entry had, for every combination. */
static void umbra_pv_mmu_flush_write_pte_keep_ad_ok(struct kunit *test)
{
	static const u64 ad[] = { 0, GPTE_A, GPTE_D, GPTE_AD };
	struct op_env env;
	unsigned int o, v;

	op_env_init_queue(test, &env);
	for (o = 0; o < ARRAY_SIZE(ad); o++) {
		for (v = 0; v < ARRAY_SIZE(ad); v++) {
			u64 old = 0xabc000 | GPTE_ALL | ad[o];
			u64 val = 0x456000 | GPTE_P | GPTE_W | ad[v];
			struct umbra_mmu_op op;

			write_u64(&env, ENTRY(1, 9), old);
			op = mkop(UMBRA_MMU_OP_WRITE_PTE_KEEP_AD, ENTRY(1, 9), val, 0);
			KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, NULL));
			KUNIT_EXPECT_EQ_MSG(test, read_u64(&env, ENTRY(1, 9)),
					    val | ad[o], "old %#llx val %#llx", old, val);
		}
	}
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* CLEAR_PTE stores 0, whatever val and the old entry hold, and returns the old. */
static void umbra_pv_mmu_flush_clear_pte_ok(struct kunit *test)
{
	struct umbra_mmu_op op;
	struct op_env env;

	op_env_init_queue(test, &env);
	write_u64(&env, ENTRY(2, 3), 0xabc000 | GPTE_ALL | GPTE_AD);
	op = mkop(UMBRA_MMU_OP_CLEAR_PTE, ENTRY(2, 3), 0x999000 | GPTE_P, 0);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, NULL));
	KUNIT_EXPECT_EQ(test, read_u64(&env, ENTRY(2, 3)), 0ULL);
	read_queue(&env, &op, 1);
	KUNIT_EXPECT_EQ(test, op.val, 0xabc000ULL | GPTE_ALL | GPTE_AD);
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* INVLPG and FLUSH_TLB ask for a flush and touch no memory. */
static void umbra_pv_mmu_flush_invlpg_flush_tlb_ok(struct kunit *test)
{
	struct umbra_pv_effects fx;
	struct umbra_mmu_op op;
	struct op_env env;

	op_env_init_queue(test, &env);
	op = mkop(UMBRA_MMU_OP_INVLPG, 0xffff888000123000ULL, 0, 0);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, &fx));
	KUNIT_EXPECT_TRUE(test, fx.flush_tlb);
	KUNIT_EXPECT_FALSE(test, fx.load_cr3);

	op = mkop(UMBRA_MMU_OP_FLUSH_TLB, 0, 0, 0);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, &fx));
	KUNIT_EXPECT_TRUE(test, fx.flush_tlb);
	KUNIT_EXPECT_FALSE(test, fx.load_cr3);
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* LOAD_CR3 hands the value on, with a flush unless NOFLUSH. */
static void umbra_pv_mmu_flush_load_cr3_ok(struct kunit *test)
{
	/* The top frame bit, PCD and PWT, a PCID: all within MAXPHYADDR. */
	const u64 cr3 = BIT_ULL(MAXPA - 1) | 0x5000 | X86_CR3_PCD | X86_CR3_PWT;
	struct umbra_pv_effects fx;
	struct umbra_mmu_op op;
	struct op_env env;

	op_env_init_queue(test, &env);
	op = mkop(UMBRA_MMU_OP_LOAD_CR3, 0, cr3, 0);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, &fx));
	KUNIT_EXPECT_TRUE(test, fx.load_cr3);
	KUNIT_EXPECT_EQ(test, fx.cr3, cr3);
	KUNIT_EXPECT_TRUE(test, fx.flush_tlb);

	op = mkop(UMBRA_MMU_OP_LOAD_CR3, 0, 0x7000 | 0x123, UMBRA_MMU_CR3_NOFLUSH);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, &fx));
	KUNIT_EXPECT_TRUE(test, fx.load_cr3);
	KUNIT_EXPECT_EQ(test, fx.cr3, 0x7123ULL);
	KUNIT_EXPECT_FALSE(test, fx.flush_tlb);
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/*
 * RELEASE_PT of a RAM page umbra shadows nothing of is accepted and
 * changes nothing (pv.h's comment on UMBRA_MMU_ENOTPT says otherwise; the
 * guest releases every table it frees, shadowed or not).
 */
static void umbra_pv_mmu_flush_release_pt_unshadowed_ok(struct kunit *test)
{
	struct umbra_pv_effects fx;
	struct umbra_mmu_op op;
	struct op_env env;

	op_env_init_queue(test, &env);
	op = mkop(UMBRA_MMU_OP_RELEASE_PT, TABLE_GFN << PAGE_SHIFT, 0, 0);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, &fx));
	KUNIT_EXPECT_FALSE(test, fx.flush_tlb);
	op = mkop(UMBRA_MMU_OP_RELEASE_PT, RAM_END - PAGE_SIZE, 0, 0);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, &fx));
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* --- Batches --------------------------------------------------------- */

/* Queue order: later ops see what earlier ones of the same batch wrote. */
static void umbra_pv_mmu_flush_in_queue_order(struct kunit *test)
{
	const u64 e = ENTRY(3, 40), f = ENTRY(3, 41);
	struct umbra_mmu_op ops[] = {
		mkop(UMBRA_MMU_OP_WRITE_PTE, e, 0x1000 | GPTE_P | GPTE_AD, 0),
		mkop(UMBRA_MMU_OP_WRITE_PTE_KEEP_AD, e, 0x2000 | GPTE_P, 0),
		mkop(UMBRA_MMU_OP_WRITE_PTE, f, 0x3000 | GPTE_P, 0),
		mkop(UMBRA_MMU_OP_CLEAR_PTE, f, 0, 0),
		mkop(UMBRA_MMU_OP_WRITE_PTE_KEEP_AD, f, 0x4000 | GPTE_P, 0),
		mkop(UMBRA_MMU_OP_LOAD_CR3, 0, 0x8000, UMBRA_MMU_CR3_NOFLUSH),
		mkop(UMBRA_MMU_OP_LOAD_CR3, 0, 0x9000, UMBRA_MMU_CR3_NOFLUSH),
	};
	struct umbra_pv_effects fx;
	struct op_env env;

	op_env_init_queue(test, &env);
	write_u64(&env, e, 0);
	write_u64(&env, f, GPTE_AD);
	KUNIT_EXPECT_EQ(test, (long)ARRAY_SIZE(ops),
			flush_and_check(&env, ops, ARRAY_SIZE(ops), ARRAY_SIZE(ops), &fx));
	KUNIT_EXPECT_EQ(test, read_u64(&env, e), 0x2000ULL | GPTE_P | GPTE_AD);
	KUNIT_EXPECT_EQ(test, read_u64(&env, f), 0x4000ULL | GPTE_P);
	/* The last CR3 load wins; no op asked for a flush. */
	KUNIT_EXPECT_TRUE(test, fx.load_cr3);
	KUNIT_EXPECT_EQ(test, fx.cr3, 0x9000ULL);
	KUNIT_EXPECT_FALSE(test, fx.flush_tlb);
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* One flush asked for anywhere in the batch is kept, also before a NOFLUSH load. */
static void umbra_pv_mmu_flush_effects_merged(struct kunit *test)
{
	struct umbra_mmu_op ops[] = {
		mkop(UMBRA_MMU_OP_INVLPG, 0x400000, 0, 0),
		mkop(UMBRA_MMU_OP_WRITE_PTE, ENTRY(0, 1), 0x5000 | GPTE_P, 0),
		mkop(UMBRA_MMU_OP_LOAD_CR3, 0, 0xa000, UMBRA_MMU_CR3_NOFLUSH),
		mkop(UMBRA_MMU_OP_INVLPG, 0x401000, 0, 0),
	};
	struct umbra_pv_effects fx;
	struct op_env env;

	op_env_init_queue(test, &env);
	KUNIT_EXPECT_EQ(test, (long)ARRAY_SIZE(ops),
			flush_and_check(&env, ops, ARRAY_SIZE(ops), ARRAY_SIZE(ops), &fx));
	KUNIT_EXPECT_TRUE(test, fx.flush_tlb);
	KUNIT_EXPECT_TRUE(test, fx.load_cr3);
	KUNIT_EXPECT_EQ(test, fx.cr3, 0xa000ULL);

	/* Only the first @n ops count: the rest of the queue is not read. */
	KUNIT_EXPECT_EQ(test, 2L, flush_and_check(&env, ops + 1, 3, 2, &fx));
	KUNIT_EXPECT_FALSE(test, fx.flush_tlb);
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* 300 random ops over three pages of a four-page queue, a few times. */
static void umbra_pv_mmu_flush_mixed_batch_ok(struct kunit *test)
{
	const unsigned int n = 300;
	struct umbra_mmu_op *ops;
	struct op_env env;
	unsigned int round, i;

	op_env_init_queue(test, &env);
	ops = alloc_ops(test, QUEUE_OPS);

	for (round = 0; round < 8; round++) {
		for (i = 0; i < QUEUE_OPS; i++)
			ops[i] = random_op(&env);
		KUNIT_EXPECT_EQ_MSG(test, (long)n,
				    flush_and_check(&env, ops, QUEUE_OPS, n, NULL),
				    "round %u", round);
	}

	/* The whole area at once. */
	for (i = 0; i < QUEUE_OPS; i++)
		ops[i] = random_op(&env);
	KUNIT_EXPECT_EQ(test, (long)QUEUE_OPS,
			flush_and_check(&env, ops, QUEUE_OPS, QUEUE_OPS, NULL));
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/*
 * A refusal in the middle of a long batch, on either side of a queue page
 * boundary: the ops before it applied, it has its status, the rest of the
 * 300 untouched and without effect.
 */
static void umbra_pv_mmu_flush_mixed_batch_refusal_stops(struct kunit *test)
{
	static const unsigned int at[] = {
		0, 1, UMBRA_MMU_OPS_PER_PAGE - 1, UMBRA_MMU_OPS_PER_PAGE,
		2 * UMBRA_MMU_OPS_PER_PAGE + 3, 299,
	};
	const unsigned int n = 300;
	struct umbra_mmu_op *ops;
	struct op_env env;
	unsigned int k, i;

	op_env_init_queue(test, &env);
	ops = alloc_ops(test, n);

	for (k = 0; k < ARRAY_SIZE(at); k++) {
		for (i = 0; i < n; i++)
			ops[i] = random_op(&env);
		switch (k % 4) {
		case 0:
			ops[at[k]] = mkop(UMBRA_MMU_OP_WRITE_PTE,
					  HOLE_GFN << PAGE_SHIFT, 1, 0);
			break;
		case 1:
			ops[at[k]] = mkop(UMBRA_MMU_OP_LOAD_CR3, 0, BIT_ULL(MAXPA), 0);
			break;
		case 2:
			ops[at[k]] = mkop(UMBRA_MMU_OP_WRITE_PTE_KEEP_AD,
					  ENTRY(0, 0) + 4, 1, 0);
			break;
		default:
			ops[at[k]] = mkop(42, 0, 0, 0);
			break;
		}
		KUNIT_EXPECT_EQ_MSG(test, (long)at[k] + 1,
				    flush_and_check(&env, ops, n, n, NULL),
				    "refusal at %u", at[k]);
	}
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/*
 * PROTECT gives present entries the rights and keeps the rest of each
 * (frame, A/D, caching, software bits); entries not present stay as they
 * are, whatever they hold.  A few entries, a whole table, its last entry.
 */
static void umbra_pv_mmu_flush_protect_ok(struct kunit *test)
{
	const u64 keep = GPTE_AD | _PAGE_PWT | _PAGE_PCD | BIT_ULL(9) |
			 BIT_ULL(11) | BIT_ULL(52) | BIT_ULL(62);
	struct umbra_mmu_op op;
	struct op_env env;
	unsigned int i;

	op_env_init_queue(test, &env);
	write_u64(&env, ENTRY(2, 10), 0x123000 | GPTE_ALL | keep | _PAGE_NX);
	write_u64(&env, ENTRY(2, 11), 0x456000 | GPTE_W | GPTE_D);	/* not present */
	write_u64(&env, ENTRY(2, 12), 0x789000 | GPTE_P | GPTE_A);	/* has them */
	write_u64(&env, ENTRY(2, 13), 0xabc000 | GPTE_P | _PAGE_GLOBAL);
	op = mkprot(ENTRY(2, 10), GPTE_P, 4);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, NULL));
	KUNIT_EXPECT_EQ(test, read_u64(&env, ENTRY(2, 10)), 0x123000ULL | GPTE_P | keep);
	KUNIT_EXPECT_EQ(test, read_u64(&env, ENTRY(2, 11)), 0x456000ULL | GPTE_W | GPTE_D);
	KUNIT_EXPECT_EQ(test, read_u64(&env, ENTRY(2, 12)), 0x789000ULL | GPTE_P | GPTE_A);
	KUNIT_EXPECT_EQ(test, read_u64(&env, ENTRY(2, 13)), 0xabc000ULL | GPTE_P);

	/* Every right at once; P clear makes present entries not present. */
	op = mkprot(ENTRY(2, 10), UMBRA_MMU_PROT_RIGHTS, 1);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, NULL));
	KUNIT_EXPECT_EQ(test, read_u64(&env, ENTRY(2, 10)),
			0x123000ULL | UMBRA_MMU_PROT_RIGHTS | keep);
	op = mkprot(ENTRY(2, 12), 0, 2);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, NULL));
	KUNIT_EXPECT_EQ(test, read_u64(&env, ENTRY(2, 12)), 0x789000ULL | GPTE_A);

	/* A whole table of random words, and the last entry of another. */
	for (i = 0; i < 512; i++)
		write_u64(&env, ENTRY(3, i), rnd(&env));
	op = mkprot(ENTRY(3, 0), GPTE_P | GPTE_U | _PAGE_NX, 512);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, NULL));
	write_u64(&env, ENTRY(4, 511), 0x5000 | GPTE_P);
	op = mkprot(ENTRY(4, 511), GPTE_P | GPTE_W, 1);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, NULL));
	KUNIT_EXPECT_EQ(test, read_u64(&env, ENTRY(4, 511)), 0x5000ULL | GPTE_P | GPTE_W);
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/*
 * PROTECT refused: rights with a bit PROTECT does not set (EVALUE), a run
 * of no entries or past its table's last (ECOUNT); the longest run that
 * fits is fine.
 */
static void umbra_pv_mmu_flush_protect_bad_run(struct kunit *test)
{
	static const u64 bad_rights[] = {
		BIT_ULL(12), BIT_ULL(51), GPTE_A, GPTE_D, _PAGE_PSE, BIT_ULL(9),
		BIT_ULL(52), _PAGE_PWT, ~0ULL,
	};
	static const struct { unsigned int idx; u32 count; } runs[] = {
		{ 0, 0 }, { 0, 513 }, { 500, 13 }, { 511, 2 }, { 1, 512 },
		{ 0, U32_MAX }, { 511, U32_MAX },
	};
	struct umbra_mmu_op op;
	struct op_env env;
	unsigned int i;

	op_env_init_queue(test, &env);
	for (i = 0; i < ARRAY_SIZE(bad_rights); i++)
		expect_refused(&env, mkprot(ENTRY(2, 0), GPTE_P | bad_rights[i], 1),
			       UMBRA_MMU_EVALUE);
	for (i = 0; i < ARRAY_SIZE(runs); i++)
		expect_refused(&env, mkprot(ENTRY(2, runs[i].idx), GPTE_P, runs[i].count),
			       UMBRA_MMU_ECOUNT);
	/* Bad rights and a bad count: the rights are looked at first. */
	expect_refused(&env, mkprot(ENTRY(2, 0), GPTE_A, 0), UMBRA_MMU_EVALUE);
	/* Not RAM and a bad count: the count is the op's own, checked first. */
	expect_refused(&env, mkprot(HOLE_GFN << PAGE_SHIFT, GPTE_P, 0),
		       UMBRA_MMU_ECOUNT);

	op = mkprot(ENTRY(2, 500), GPTE_P, 12);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, NULL));
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* --- Runs: one table's PTE writes, one lock section ----------------- */

/* A PTE write of a random kind, random value, to entry @idx of page @p. */
static struct umbra_mmu_op random_pte_write(struct op_env *env, unsigned int p,
					    unsigned int idx)
{
	static const u32 kinds[] = {
		UMBRA_MMU_OP_WRITE_PTE, UMBRA_MMU_OP_WRITE_PTE_KEEP_AD,
		UMBRA_MMU_OP_CLEAR_PTE,
	};
	u32 kind = kinds[rnd(env) % ARRAY_SIZE(kinds)];

	return mkop(kind, ENTRY(p, idx % 512), rnd(env), 0);
}

/*
 * Batches made of runs (pvops/mmu_op.c hands the PTE writes to one table
 * that follow each other to umbra_mmu_write_gptes() together): longer
 * than a run may be, so across the rounds the queue is read in; an entry
 * written again in the same run; two tables taking turns, op by op and
 * run by run; runs cut by ops of other kinds.  Each op as the model says.
 */
static void umbra_pv_mmu_flush_table_runs_ok(struct kunit *test)
{
	const unsigned int n = 5 * UMBRA_GPTE_RUN_MAX + 3;
	struct umbra_mmu_op *ops;
	struct op_env env;
	unsigned int kind, i;

	op_env_init_queue(test, &env);
	ops = alloc_ops(test, n);

	for (kind = 0; kind < 6; kind++) {
		for (i = 0; i < n; i++) {
			switch (kind) {
			case 0:		/* a sweep, as mprotect does */
				ops[i] = random_pte_write(&env, 2, 100 + i);
				break;
			case 1:		/* four entries, again and again */
				ops[i] = random_pte_write(&env, 2, rnd(&env) % 4);
				break;
			case 2:		/* two tables, op by op */
				ops[i] = random_pte_write(&env, 3 + (i & 1), rnd(&env) % 8);
				break;
			case 3:		/* two tables, five ops each */
				ops[i] = random_pte_write(&env, 3 + (i / 5) % 2, i);
				break;
			case 4:		/* a TLB op every seventh */
				ops[i] = i % 7 == 6 ? mkop(UMBRA_MMU_OP_INVLPG, 0x400000, 0, 0) :
						      random_pte_write(&env, 5, i);
				break;
			default:	/* the last entry of one table, the first of the next */
				ops[i] = random_pte_write(&env, 6 + (i & 1), i & 1 ? 0 : 511);
				break;
			}
		}
		KUNIT_EXPECT_EQ_MSG(test, (long)n, flush_and_check(&env, ops, n, n, NULL),
				    "batch kind %u", kind);
	}
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/*
 * A refused op inside one table's run of PTE writes, wherever the run
 * could split (its first op, second, the last of a round, the first of
 * the next, the last of the batch): the writes before it applied, it has
 * its status, the ones after are untouched.
 */
static void umbra_pv_mmu_flush_table_run_refusal_stops(struct kunit *test)
{
	const unsigned int n = 2 * UMBRA_GPTE_RUN_MAX + 4;
	const unsigned int at[] = {
		0, 1, 5, UMBRA_GPTE_RUN_MAX - 1, UMBRA_GPTE_RUN_MAX,
		UMBRA_GPTE_RUN_MAX + 1, n - 1,
	};
	struct umbra_mmu_op *ops;
	struct op_env env;
	unsigned int k, i;

	op_env_init_queue(test, &env);
	ops = alloc_ops(test, n);

	for (k = 0; k < ARRAY_SIZE(at); k++) {
		struct umbra_mmu_op *bad = &ops[at[k]];

		for (i = 0; i < n; i++)
			ops[i] = random_pte_write(&env, 1, 3 * i);
		switch (k % 4) {
		case 0:		/* misaligned, in the same table */
			bad->addr += 4;
			break;
		case 1:
			bad->flags = UMBRA_MMU_CR3_NOFLUSH;
			break;
		case 2:
			bad->count = 1;
			break;
		default:	/* read-only RAM */
			bad->addr = ROM_GFN << PAGE_SHIFT;
			break;
		}
		KUNIT_EXPECT_EQ_MSG(test, (long)at[k] + 1,
				    flush_and_check(&env, ops, n, n, NULL),
				    "refusal at %u", at[k]);
	}
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* --- Refusals -------------------------------------------------------- */

/* Entries outside RAM and in read-only RAM (PROTECT's too); RELEASE_PT outside RAM. */
static void umbra_pv_mmu_flush_bad_gpa_ebadgpa(struct kunit *test)
{
	static const u32 writes[] = {
		UMBRA_MMU_OP_WRITE_PTE, UMBRA_MMU_OP_WRITE_PTE_KEEP_AD,
		UMBRA_MMU_OP_CLEAR_PTE,
	};
	const u64 bad[] = {
		HOLE_GFN << PAGE_SHIFT,			/* no memslot */
		RAM_END,				/* just past RAM */
		(ROM_GFN - 1) << PAGE_SHIFT,		/* just before ROM */
		ROM_GFN << PAGE_SHIFT,			/* read-only RAM */
		((ROM_GFN + ROM_PAGES) << PAGE_SHIFT) - 8,
		BIT_ULL(51), ~7ULL,
	};
	struct op_env env;
	unsigned int w, b;

	op_env_init_queue(test, &env);
	for (w = 0; w < ARRAY_SIZE(writes); w++)
		for (b = 0; b < ARRAY_SIZE(bad); b++)
			expect_refused(&env, mkop(writes[w], bad[b], 0x1000 | GPTE_P, 0),
				       UMBRA_MMU_EBADGPA);
	for (b = 0; b < ARRAY_SIZE(bad); b++)
		expect_refused(&env, mkprot(bad[b], GPTE_P, 1), UMBRA_MMU_EBADGPA);

	expect_refused(&env, mkop(UMBRA_MMU_OP_RELEASE_PT, HOLE_GFN << PAGE_SHIFT, 0, 0),
		       UMBRA_MMU_EBADGPA);
	expect_refused(&env, mkop(UMBRA_MMU_OP_RELEASE_PT, RAM_END, 0, 0),
		       UMBRA_MMU_EBADGPA);
	expect_refused(&env, mkop(UMBRA_MMU_OP_RELEASE_PT, PAGE_MASK, 0, 0),
		       UMBRA_MMU_EBADGPA);
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* Entries not 8-byte aligned (PROTECT's first too); RELEASE_PT not page aligned. */
static void umbra_pv_mmu_flush_misaligned_ealign(struct kunit *test)
{
	static const u32 writes[] = {
		UMBRA_MMU_OP_WRITE_PTE, UMBRA_MMU_OP_WRITE_PTE_KEEP_AD,
		UMBRA_MMU_OP_CLEAR_PTE,
	};
	static const u64 pt_off[] = { 1, 8, 0x800, 0xff8, 0xfff };
	struct op_env env;
	unsigned int w, off;

	op_env_init_queue(test, &env);
	for (w = 0; w < ARRAY_SIZE(writes); w++)
		for (off = 1; off < 8; off++)
			expect_refused(&env, mkop(writes[w], ENTRY(4, 2) + off,
						  0x1000 | GPTE_P, 0),
				       UMBRA_MMU_EALIGN);
	for (off = 1; off < 8; off++)
		expect_refused(&env, mkprot(ENTRY(4, 2) + off, GPTE_P, 1),
			       UMBRA_MMU_EALIGN);
	for (off = 0; off < ARRAY_SIZE(pt_off); off++)
		expect_refused(&env, mkop(UMBRA_MMU_OP_RELEASE_PT,
					  (TABLE_GFN << PAGE_SHIFT) + pt_off[off], 0, 0),
			       UMBRA_MMU_EALIGN);
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* Op numbers pv.h does not define. */
static void umbra_pv_mmu_flush_unknown_op_eop(struct kunit *test)
{
	static const u32 bad[] = { 0, UMBRA_MMU_OP_PROTECT + 1, 0x100,
				   0x80000001, U32_MAX };
	struct op_env env;
	unsigned int i;

	op_env_init_queue(test, &env);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		expect_refused(&env, mkop(bad[i], ENTRY(0, 9), 0x1000 | GPTE_P, 0),
			       UMBRA_MMU_EOP);
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* LOAD_CR3 with bits at or above MAXPHYADDR; an earlier load stands. */
static void umbra_pv_mmu_flush_load_cr3_beyond_maxpa_evalue(struct kunit *test)
{
	static const unsigned int bits[] = { MAXPA, MAXPA + 1, 51, 52, 62, 63 };
	struct umbra_pv_effects fx;
	struct op_env env;
	unsigned int i;

	op_env_init_queue(test, &env);
	for (i = 0; i < ARRAY_SIZE(bits); i++) {
		struct umbra_mmu_op ops[] = {
			mkop(UMBRA_MMU_OP_LOAD_CR3, 0, 0x3000, UMBRA_MMU_CR3_NOFLUSH),
			mkop(UMBRA_MMU_OP_LOAD_CR3, 0, 0x4000 | BIT_ULL(bits[i]), 0),
			mkop(UMBRA_MMU_OP_LOAD_CR3, 0, 0x5000, 0),
		};

		KUNIT_EXPECT_EQ(test, 2L, flush_and_check(&env, ops, 3, 3, &fx));
		KUNIT_EXPECT_EQ(test, fx.cr3, 0x3000ULL);
		KUNIT_EXPECT_FALSE(test, fx.flush_tlb);
		expect_refused(&env, ops[1], UMBRA_MMU_EVALUE);
	}

	/* Without CPUID leaf 0x80000008 the width is 36. */
	umbra_cpuid_caps(NULL, 0, &env.vcpu->caps);
	KUNIT_ASSERT_EQ(test, env.vcpu->caps.maxphyaddr, 36);
	env.maxpa = 36;
	expect_refused(&env, mkop(UMBRA_MMU_OP_LOAD_CR3, 0, BIT_ULL(36), 0),
		       UMBRA_MMU_EVALUE);
	{
		struct umbra_mmu_op op = mkop(UMBRA_MMU_OP_LOAD_CR3, 0,
					      BIT_ULL(35) | 0x1000, 0);

		KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, &fx));
		KUNIT_EXPECT_EQ(test, fx.cr3, BIT_ULL(35) | 0x1000);
	}
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* Flags an op does not take, and a count on an op that takes none. */
static void umbra_pv_mmu_flush_bad_flags_eflags(struct kunit *test)
{
	static const u32 ops[] = {
		UMBRA_MMU_OP_WRITE_PTE, UMBRA_MMU_OP_WRITE_PTE_KEEP_AD,
		UMBRA_MMU_OP_CLEAR_PTE, UMBRA_MMU_OP_INVLPG,
		UMBRA_MMU_OP_FLUSH_TLB, UMBRA_MMU_OP_LOAD_CR3,
		UMBRA_MMU_OP_RELEASE_PT, UMBRA_MMU_OP_PROTECT,
	};
	static const u32 flags[] = { UMBRA_MMU_CR3_NOFLUSH, 2, BIT(31) };
	struct op_env env;
	unsigned int o, f;

	op_env_init_queue(test, &env);
	for (o = 0; o < ARRAY_SIZE(ops); o++) {
		/* Otherwise valid: entry, page and CR3 all acceptable. */
		u64 addr = ops[o] == UMBRA_MMU_OP_RELEASE_PT ?
			   TABLE_GFN << PAGE_SHIFT : ENTRY(5, 5);
		struct umbra_mmu_op op = mkop(ops[o], addr, 0x6000, 0);
		bool prot = ops[o] == UMBRA_MMU_OP_PROTECT;

		/* PROTECT: valid rights and count, so only the flags are wrong. */
		if (prot)
			op = mkprot(addr, GPTE_P, 1);
		for (f = 0; f < ARRAY_SIZE(flags); f++) {
			/* NOFLUSH is LOAD_CR3's own flag. */
			if (ops[o] == UMBRA_MMU_OP_LOAD_CR3 &&
			    flags[f] == UMBRA_MMU_CR3_NOFLUSH)
				continue;
			op.flags = flags[f];
			op.count = prot;
			expect_refused(&env, op, UMBRA_MMU_EFLAGS);
			/* ...also next to a legal flag. */
			if (ops[o] == UMBRA_MMU_OP_LOAD_CR3) {
				op.flags |= UMBRA_MMU_CR3_NOFLUSH;
				expect_refused(&env, op, UMBRA_MMU_EFLAGS);
			}
		}
		/* A count where the op takes none: PROTECT's is bad_run_ecount's. */
		if (prot)
			continue;
		op.flags = 0;
		op.count = 1;
		expect_refused(&env, op, UMBRA_MMU_EFLAGS);
		op.count = U32_MAX;
		expect_refused(&env, op, UMBRA_MMU_EFLAGS);
		if (ops[o] == UMBRA_MMU_OP_LOAD_CR3) {
			op.flags = UMBRA_MMU_CR3_NOFLUSH;
			op.count = 0x100;
			expect_refused(&env, op, UMBRA_MMU_EFLAGS);
		}
	}
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* --- The shadow ------------------------------------------------------ */

/* The indirect shadow page of @gfn at @level, or NULL. */
static struct umbra_sp *find_sp(struct op_env *env, u64 gfn, int level)
{
	return umbra_kunit_find_sp(env->vm, gfn, level);
}

/* Tell @vcpu's MMU it runs in long mode on @cr3 (the backend's job). */
static void set_cr3(struct op_env *env, struct umbra_vcpu *vcpu, u64 cr3)
{
	umbra_kunit_long_mode(vcpu, cr3, true);
	if (vcpu == env->vcpu)
		env->cr3 = cr3;
	else
		env->cr3_2 = cr3;
}

static void load_root(struct op_env *env, u64 root_gfn)
{
	u64 root_hpa;

	set_cr3(env, env->vcpu, root_gfn << PAGE_SHIFT);
	KUNIT_ASSERT_EQ(env->test, 0, umbra_mmu_load(env->vcpu, &root_hpa));
}

/*
 * The guest chain for SH_ADDR, a root for it and a read fault through it:
 * shadow pages for all four tables, the leaf spte present.
 */
static void shadow_init(struct kunit *test, struct op_env *env)
{
	struct umbra_pf pf = {};
	struct umbra_sp *pt;
	u64 gfn;

	op_env_init_queue(test, env);
	for (gfn = PML4_GFN; gfn <= ALT_ROOT_GFN; gfn++)
		fill_page(env, gfn, 0);
	write_u64(env, SH_ENTRY(PML4_GFN, 1), (PDPT_GFN << PAGE_SHIFT) | GPTE_ALL);
	write_u64(env, SH_ENTRY(PDPT_GFN, 2), (PD_GFN << PAGE_SHIFT) | GPTE_ALL);
	write_u64(env, SH_ENTRY(PD_GFN, 3), (PT_GFN << PAGE_SHIFT) | GPTE_ALL);
	write_u64(env, SH_ENTRY(PT_GFN, 4), (SH_LEAF_GFN << PAGE_SHIFT) | GPTE_ALL);

	load_root(env, PML4_GFN);
	KUNIT_ASSERT_EQ(test, UMBRA_PF_FIXED,
			umbra_mmu_page_fault(env->vcpu, SH_ADDR, 0, &pf));
	pt = find_sp(env, PT_GFN, 1);
	KUNIT_ASSERT_NOT_NULL(test, pt);
	KUNIT_ASSERT_TRUE(test, spte_present(pt->spt[4]));
	KUNIT_ASSERT_NOT_NULL(test, find_sp(env, PD_GFN, 2));
	KUNIT_ASSERT_NOT_NULL(test, find_sp(env, PDPT_GFN, 3));
	KUNIT_ASSERT_NOT_NULL(test, find_sp(env, PML4_GFN, 4));
	/* The walk set A in the guest's entries. */
	KUNIT_ASSERT_EQ(test, read_u64(env, SH_ENTRY(PT_GFN, 4)),
			(SH_LEAF_GFN << PAGE_SHIFT) | GPTE_ALL | GPTE_A);
}

static unsigned long leaf_rmap(struct op_env *env, u64 gfn)
{
	struct umbra_memslots *set = rcu_dereference_protected(env->vm->memslots, 1);

	return set->slots[0].rmap[gfn];
}

static bool tlb_flush_requested(struct op_env *env)
{
	return test_and_clear_bit(UMBRA_REQ_TLB_FLUSH, &env->vcpu->requests);
}

/*
 * A PTE write to a shadowed table drops the spte that mirrored the old
 * entry and has every vCPU flush; an entry with no mirror costs no flush.
 * None of it is a guest TLB flush (fx.flush_tlb).
 */
static void umbra_pv_mmu_flush_write_pte_drops_shadow(struct kunit *test)
{
	const u64 leaf = (SH_LEAF2_GFN << PAGE_SHIFT) | GPTE_P | GPTE_W;
	struct umbra_pv_effects fx;
	struct umbra_sp *pt, *root;
	struct umbra_mmu_op op;
	struct op_env env;
	u64 old_spte;

	shadow_init(test, &env);
	pt = find_sp(&env, PT_GFN, 1);
	root = find_sp(&env, PML4_GFN, 4);

	/* An entry with no spte behind it: no flush. */
	tlb_flush_requested(&env);
	op = mkop(UMBRA_MMU_OP_WRITE_PTE, SH_ENTRY(PT_GFN, 5), leaf, 0);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, &fx));
	KUNIT_EXPECT_FALSE(test, tlb_flush_requested(&env));
	KUNIT_EXPECT_TRUE(test, spte_present(pt->spt[4]));

	/*
	 * The mirrored leaf entry: KEEP_AD keeps the walker's A.  The old
	 * translation goes; umbra may map the new one at once.
	 */
	old_spte = pt->spt[4];
	op = mkop(UMBRA_MMU_OP_WRITE_PTE_KEEP_AD, SH_ENTRY(PT_GFN, 4), leaf, 0);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, &fx));
	KUNIT_EXPECT_EQ(test, read_u64(&env, SH_ENTRY(PT_GFN, 4)), leaf | GPTE_A);
	KUNIT_EXPECT_TRUE(test, !spte_present(pt->spt[4]) ||
			  spte_pfn(pt->spt[4]) != spte_pfn(old_spte));
	KUNIT_EXPECT_TRUE(test, tlb_flush_requested(&env));
	KUNIT_EXPECT_FALSE(test, fx.flush_tlb);
	KUNIT_EXPECT_EQ(test, leaf_rmap(&env, SH_LEAF_GFN), 0UL);

	/* An upper-level entry: the root's spte goes, the PDPT stays cached. */
	KUNIT_EXPECT_TRUE(test, spte_present(root->spt[1]));
	op = mkop(UMBRA_MMU_OP_CLEAR_PTE, SH_ENTRY(PML4_GFN, 1), 0, 0);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, &fx));
	KUNIT_EXPECT_FALSE(test, spte_present(root->spt[1]));
	KUNIT_EXPECT_TRUE(test, tlb_flush_requested(&env));
	KUNIT_EXPECT_NOT_NULL(test, find_sp(&env, PDPT_GFN, 3));
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* The host frame behind guest frame @gfn (RAM, present). */
static u64 host_pfn(struct op_env *env, u64 gfn)
{
	return umbra_kunit_host_pfn(env->test, env->ram_hva + (gfn << PAGE_SHIFT));
}

/*
 * A PV write of a present, accessed leaf entry into a shadowed leaf table
 * maps the new frame at once (writable only if the entry is dirty too);
 * without A, or with a frame that is not RAM or a reserved bit, nothing
 * is mapped and the first access goes through the walker.
 */
static void umbra_pv_mmu_flush_write_pte_prefills_accessed_leaf(struct kunit *test)
{
	const u64 frame = SH_LEAF2_GFN << PAGE_SHIFT;
	static const struct {
		unsigned int idx;
		u64 val;
		bool mapped, writable;
	} cases[] = {
		{ 6, GPTE_ALL | GPTE_A, true, false },
		{ 7, GPTE_ALL | GPTE_A | GPTE_D, true, true },
		{ 8, GPTE_P | GPTE_A | GPTE_D, true, false },	/* read-only */
		{ 9, GPTE_ALL | GPTE_D, false, false },		/* A clear */
		{ 10, GPTE_ALL | GPTE_A | BIT_ULL(51), false, false },	/* reserved */
		{ 11, GPTE_W | GPTE_A, false, false },		/* not present */
	};
	struct umbra_sp *pt;
	struct op_env env;
	unsigned int i;
	u64 pfn;

	shadow_init(test, &env);
	pt = find_sp(&env, PT_GFN, 1);
	pfn = host_pfn(&env, SH_LEAF2_GFN);

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct umbra_mmu_op op = mkop(UMBRA_MMU_OP_WRITE_PTE,
					      SH_ENTRY(PT_GFN, cases[i].idx),
					      frame | cases[i].val, 0);
		u64 spte;

		KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, NULL));
		spte = pt->spt[cases[i].idx];
		KUNIT_EXPECT_EQ_MSG(test, spte_present(spte), cases[i].mapped,
				    "entry %#llx: spte %#llx", op.val, spte);
		if (!spte_present(spte))
			continue;
		KUNIT_EXPECT_EQ_MSG(test, spte_pfn(spte), pfn, "entry %#llx", op.val);
		KUNIT_EXPECT_EQ_MSG(test, spte_writable(spte), cases[i].writable,
				    "entry %#llx: spte %#llx", op.val, spte);
	}

	/* A frame outside RAM is not mapped either. */
	{
		struct umbra_mmu_op op = mkop(UMBRA_MMU_OP_WRITE_PTE,
					      SH_ENTRY(PT_GFN, 12),
					      (HOLE_GFN << PAGE_SHIFT) | GPTE_ALL |
					      GPTE_A | GPTE_D, 0);

		KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, NULL));
		KUNIT_EXPECT_FALSE(test, spte_present(pt->spt[12]));
	}

	/* Rewriting a prefilled entry drops what was mapped from it. */
	tlb_flush_requested(&env);
	{
		struct umbra_mmu_op op = mkop(UMBRA_MMU_OP_CLEAR_PTE,
					      SH_ENTRY(PT_GFN, 7), 0, 0);

		KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, NULL));
		KUNIT_EXPECT_FALSE(test, spte_present(pt->spt[7]));
		KUNIT_EXPECT_TRUE(test, tlb_flush_requested(&env));
	}
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* RELEASE_PT of a shadowed table zaps its shadow and unlinks it. */
static void umbra_pv_mmu_flush_release_pt_zaps_shadow(struct kunit *test)
{
	u64 created, zapped_before, zapped_after;
	struct umbra_pv_effects fx;
	struct umbra_mmu_op op;
	struct umbra_sp *pd;
	struct op_env env;

	shadow_init(test, &env);
	pd = find_sp(&env, PD_GFN, 2);
	KUNIT_ASSERT_TRUE(test, spte_present(pd->spt[3]));
	umbra_mmu_stats(env.vm, &created, &zapped_before);
	tlb_flush_requested(&env);

	op = mkop(UMBRA_MMU_OP_RELEASE_PT, PT_GFN << PAGE_SHIFT, 0, 0);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, &fx));
	KUNIT_EXPECT_NULL(test, find_sp(&env, PT_GFN, 1));
	KUNIT_EXPECT_FALSE(test, spte_present(pd->spt[3]));
	KUNIT_EXPECT_EQ(test, leaf_rmap(&env, SH_LEAF_GFN), 0UL);
	umbra_mmu_stats(env.vm, &created, &zapped_after);
	KUNIT_EXPECT_EQ(test, zapped_after, zapped_before + 1);
	KUNIT_EXPECT_TRUE(test, tlb_flush_requested(&env));
	KUNIT_EXPECT_FALSE(test, fx.flush_tlb);

	/* Again: nothing is shadowed there any more, still fine. */
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, &fx));
	KUNIT_EXPECT_FALSE(test, tlb_flush_requested(&env));
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/*
 * A released table's shadow page is kept whole for the next one
 * (MMU_SPARE_SPS): off every list, its table's entries all not present,
 * which is why the spare's pages need no zeroing; the next topup takes
 * it with its fields cleared, and a new shadow page made from it uses
 * its table and gfn array.  The VM keeps at most MMU_SPARE_SPS.
 */
static void umbra_pv_mmu_released_shadow_is_spare(struct kunit *test)
{
	struct umbra_mmu_vcpu *m;
	struct umbra_mmu_vm *mmu;
	struct umbra_sp *pt, *sp;
	union umbra_sp_role role;
	struct umbra_pv_effects fx;
	struct umbra_mmu_op op;
	unsigned int i, spare;
	struct op_env env;
	bool created;
	u64 *spt, *gptes;

	shadow_init(test, &env);
	m = env.vcpu->mmu;
	mmu = env.vm->mmu;
	pt = find_sp(&env, PT_GFN, 1);
	KUNIT_ASSERT_NOT_NULL(test, pt);
	KUNIT_ASSERT_TRUE(test, spte_present(pt->spt[4]));
	spt = pt->spt;
	gptes = pt->gptes;
	role = pt->role;
	spare = mmu->nr_spare;

	op = mkop(UMBRA_MMU_OP_RELEASE_PT, PT_GFN << PAGE_SHIFT, 0, 0);
	KUNIT_ASSERT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, &fx));
	KUNIT_ASSERT_EQ(test, mmu->nr_spare, spare + 1);
	KUNIT_ASSERT_PTR_EQ(test, list_first_entry(&mmu->spare, struct umbra_sp,
						   zap_link), pt);
	KUNIT_EXPECT_PTR_EQ(test, pt->spt, spt);
	KUNIT_EXPECT_PTR_EQ(test, pt->gptes, gptes);
	for (i = 0; i < SPTE_ENT_PER_PAGE; i++)
		if (spte_present(spt[i]))
			OP_MISMATCH(&env, "spare's entry %u present: %llx", i, spt[i]);

	/* Empty the vCPU's cache: the topup takes the spare first. */
	while (m->nr_sp_cache) {
		sp = umbra_mmu_cache_alloc_sp(env.vcpu);
		free_page((unsigned long)sp->spt);
		free_page((unsigned long)sp->gptes);
		kfree(sp);
	}
	KUNIT_ASSERT_EQ(test, umbra_mmu_topup(env.vcpu), 0);
	KUNIT_EXPECT_EQ(test, mmu->nr_spare, spare);
	KUNIT_ASSERT_PTR_EQ(test, m->sp_cache[0], pt);
	KUNIT_EXPECT_PTR_EQ(test, pt->spt, spt);
	KUNIT_EXPECT_PTR_EQ(test, pt->gptes, gptes);
	KUNIT_EXPECT_EQ(test, pt->parents, 0UL);
	KUNIT_EXPECT_EQ(test, pt->gfn, 0ULL);
	KUNIT_EXPECT_EQ(test, pt->root_count, 0);
	KUNIT_EXPECT_FALSE(test, pt->invalid);

	/* The next shadow page made from the cache is the spare, pages and all. */
	swap(m->sp_cache[0], m->sp_cache[m->nr_sp_cache - 1]);
	spin_lock(&mmu->lock);
	sp = umbra_sp_get(env.vcpu, ALT_ROOT_GFN, role, &created);
	spin_unlock(&mmu->lock);
	KUNIT_EXPECT_TRUE(test, created);
	KUNIT_EXPECT_PTR_EQ(test, sp, pt);
	KUNIT_EXPECT_PTR_EQ(test, sp->spt, spt);
	KUNIT_EXPECT_PTR_EQ(test, sptep_sp(&sp->spt[0]), sp);

	/* The bound: one more than MMU_SPARE_SPS freed, MMU_SPARE_SPS kept. */
	for (i = 0; i <= MMU_SPARE_SPS; i++) {
		sp = kzalloc(sizeof(*sp), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, sp);
		umbra_mmu_sp_free(env.vm, sp);
	}
	KUNIT_EXPECT_EQ(test, mmu->nr_spare, MMU_SPARE_SPS);
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* RELEASE_PT of the vCPU's live root: ENOTPT, and the root survives. */
static void umbra_pv_mmu_flush_release_live_root_enotpt(struct kunit *test)
{
	struct umbra_sp *root;
	struct op_env env;

	shadow_init(test, &env);
	expect_refused(&env, mkop(UMBRA_MMU_OP_RELEASE_PT, PML4_GFN << PAGE_SHIFT, 0, 0),
		       UMBRA_MMU_ENOTPT);
	root = find_sp(&env, PML4_GFN, 4);
	KUNIT_ASSERT_NOT_NULL(test, root);
	KUNIT_EXPECT_EQ(test, root->root_count, 1);
	KUNIT_EXPECT_FALSE(test, root->invalid);
	KUNIT_EXPECT_TRUE(test, spte_present(root->spt[1]));
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/*
 * A guest that switches away from an address space and then frees its
 * PML4 (guest/as.c: as_destroy()) releases a table that is no vCPU's CR3
 * any more, though umbra still keeps its shadow among the vCPU's previous
 * roots: accepted, and that shadow goes.
 */
static void umbra_pv_mmu_flush_release_previous_root_ok(struct kunit *test)
{
	struct umbra_mmu_op op;
	struct umbra_sp *prev;
	struct op_env env;

	shadow_init(test, &env);
	prev = find_sp(&env, PML4_GFN, 4);
	load_root(&env, ALT_ROOT_GFN);
	KUNIT_ASSERT_NOT_NULL(test, find_sp(&env, ALT_ROOT_GFN, 4));
	KUNIT_ASSERT_PTR_EQ(test, env.vcpu->mmu->prev_roots[0], prev);

	op = mkop(UMBRA_MMU_OP_RELEASE_PT, PML4_GFN << PAGE_SHIFT, 0, 0);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, NULL));
	KUNIT_EXPECT_NULL(test, find_sp(&env, PML4_GFN, 4));
	/* Still referenced from prev_roots: kept, but marked for dropping. */
	KUNIT_EXPECT_TRUE(test, prev->invalid);
	/* The live root is untouched. */
	KUNIT_EXPECT_PTR_EQ(test, find_sp(&env, ALT_ROOT_GFN, 4), env.vcpu->mmu->root);
	KUNIT_EXPECT_FALSE(test, env.vcpu->mmu->root->invalid);
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/*
 * LOAD_CR3 away from a root and RELEASE_PT of it in one batch: the
 * release sees the new CR3, so it is accepted and the root's shadow goes
 * (the vCPU is told to load another root).
 */
static void umbra_pv_mmu_flush_release_root_after_load_cr3_ok(struct kunit *test)
{
	struct umbra_mmu_op ops[] = {
		mkop(UMBRA_MMU_OP_LOAD_CR3, 0, ALT_ROOT_GFN << PAGE_SHIFT, 0),
		mkop(UMBRA_MMU_OP_RELEASE_PT, PML4_GFN << PAGE_SHIFT, 0, 0),
	};
	struct umbra_pv_effects fx;
	struct umbra_sp *root;
	struct op_env env;

	shadow_init(test, &env);
	root = env.vcpu->mmu->root;
	KUNIT_ASSERT_PTR_EQ(test, root, find_sp(&env, PML4_GFN, 4));
	clear_bit(UMBRA_REQ_MMU_RELOAD, &env.vcpu->requests);
	tlb_flush_requested(&env);

	KUNIT_EXPECT_EQ(test, 2L, flush_and_check(&env, ops, 2, 2, &fx));
	KUNIT_EXPECT_EQ(test, fx.cr3, ALT_ROOT_GFN << PAGE_SHIFT);
	KUNIT_EXPECT_NULL(test, find_sp(&env, PML4_GFN, 4));
	KUNIT_EXPECT_TRUE(test, root->invalid);
	KUNIT_EXPECT_TRUE(test, test_bit(UMBRA_REQ_MMU_RELOAD, &env.vcpu->requests));
	KUNIT_EXPECT_TRUE(test, tlb_flush_requested(&env));
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/*
 * Without any shadow: RELEASE_PT of the page that is the vCPU's CR3 (as
 * its MMU was told, or as a LOAD_CR3 earlier in the batch set it, PCID
 * bits aside) is ENOTPT; of the page it was before that load, accepted.
 */
static void umbra_pv_mmu_flush_release_current_cr3_enotpt(struct kunit *test)
{
	const u64 cr3 = 6ULL << PAGE_SHIFT, next = 7ULL << PAGE_SHIFT;
	struct op_env env;

	op_env_init_queue(test, &env);
	set_cr3(&env, env.vcpu, cr3 | X86_CR3_PCD);
	expect_refused(&env, mkop(UMBRA_MMU_OP_RELEASE_PT, cr3, 0, 0),
		       UMBRA_MMU_ENOTPT);
	{
		struct umbra_mmu_op ops[] = {
			/* Released before the load: not the CR3 yet. */
			mkop(UMBRA_MMU_OP_RELEASE_PT, next, 0, 0),
			mkop(UMBRA_MMU_OP_LOAD_CR3, 0, next | 0x18, 0),
			mkop(UMBRA_MMU_OP_RELEASE_PT, cr3, 0, 0),
			mkop(UMBRA_MMU_OP_RELEASE_PT, next, 0, 0),
			mkop(UMBRA_MMU_OP_WRITE_PTE, ENTRY(0, 10), 0x1000, 0),
		};

		KUNIT_EXPECT_EQ(test, 4L, flush_and_check(&env, ops, 5, 5, NULL));
		KUNIT_ASSERT_EQ(test, 0UL, copy_from_user(ops, queue_uptr(&env),
							  sizeof(ops)));
		KUNIT_EXPECT_EQ(test, ops[2].status, (u32)UMBRA_MMU_OK);
		KUNIT_EXPECT_EQ(test, ops[3].status, (u32)UMBRA_MMU_ENOTPT);
	}
	{
		/* The last load counts. */
		struct umbra_mmu_op ops[] = {
			mkop(UMBRA_MMU_OP_LOAD_CR3, 0, next, 0),
			mkop(UMBRA_MMU_OP_LOAD_CR3, 0, 8ULL << PAGE_SHIFT,
			     UMBRA_MMU_CR3_NOFLUSH),
			mkop(UMBRA_MMU_OP_RELEASE_PT, next, 0, 0),
			mkop(UMBRA_MMU_OP_RELEASE_PT, cr3, 0, 0),
		};

		KUNIT_EXPECT_EQ(test, 4L, flush_and_check(&env, ops, 4, 4, NULL));
	}
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* Another vCPU's CR3 is as live; this vCPU's LOAD_CR3 does not change it. */
static void umbra_pv_mmu_flush_release_other_vcpu_cr3_enotpt(struct kunit *test)
{
	const u64 cr3 = 3ULL << PAGE_SHIFT;
	struct op_env env;

	op_env_init_queue(test, &env);
	set_cr3(&env, env.vcpu, 2ULL << PAGE_SHIFT);
	env.vcpu2 = add_vcpu(test, env.vm, 1);
	set_cr3(&env, env.vcpu2, cr3);
	expect_refused(&env, mkop(UMBRA_MMU_OP_RELEASE_PT, cr3, 0, 0),
		       UMBRA_MMU_ENOTPT);
	{
		struct umbra_mmu_op ops[] = {
			mkop(UMBRA_MMU_OP_LOAD_CR3, 0, 5ULL << PAGE_SHIFT, 0),
			mkop(UMBRA_MMU_OP_RELEASE_PT, 2ULL << PAGE_SHIFT, 0, 0),
			mkop(UMBRA_MMU_OP_RELEASE_PT, cr3, 0, 0),
		};

		KUNIT_EXPECT_EQ(test, 3L, flush_and_check(&env, ops, 3, 3, NULL));
	}
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* --- Registration and the hypercall ---------------------------------- */

/* No queue: every flush is -ENOQUEUE, n = 0 included. */
static void umbra_pv_mmu_flush_no_queue_enoqueue(struct kunit *test)
{
	struct umbra_pv_effects fx = {};
	struct op_env env;

	op_env_init(test, &env);
	expect_flush_refused(&env, 1, -UMBRA_PV_ENOQUEUE);
	expect_flush_refused(&env, 0, -UMBRA_PV_ENOQUEUE);
	expect_flush_refused(&env, U64_MAX, -UMBRA_PV_ENOQUEUE);
	KUNIT_EXPECT_EQ(test, umbra_pv_mmu_flush(env.vcpu, 1, &fx),
			(long)-UMBRA_PV_ENOQUEUE);
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* gpa 0 unregisters: flushes are -ENOQUEUE again; registering again works. */
static void umbra_pv_mmu_queue_unregister_then_flush_enoqueue(struct kunit *test)
{
	struct umbra_mmu_op op = mkop(UMBRA_MMU_OP_FLUSH_TLB, 0, 0, 0);
	struct op_env env;

	op_env_init_queue(test, &env);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, NULL));
	KUNIT_EXPECT_EQ(test, 0L, register_queue(&env, 0, 0));
	env.queue_gpa = 0;
	expect_flush_refused(&env, 1, -UMBRA_PV_ENOQUEUE);
	/* npages does not matter when unregistering. */
	KUNIT_EXPECT_EQ(test, 0L, register_queue(&env, 0, 1000));
	env.queue_gpa = 0;
	expect_flush_refused(&env, 1, -UMBRA_PV_ENOQUEUE);

	KUNIT_EXPECT_EQ(test, 0L, register_queue(&env, QUEUE_GPA, 2));
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, NULL));
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* n beyond the area: -E2BIG, nothing looked at; exactly the area is fine. */
static void umbra_pv_mmu_flush_beyond_area_e2big(struct kunit *test)
{
	struct umbra_mmu_op *ops;
	struct op_env env;
	unsigned int pages, i;

	op_env_init(test, &env);
	ops = alloc_ops(test, MAX_OPS);
	for (pages = UMBRA_MMU_QUEUE_PAGES_MIN; pages <= UMBRA_MMU_QUEUE_PAGES_MAX;
	     pages += 2) {
		unsigned int nops = pages * UMBRA_MMU_OPS_PER_PAGE;

		KUNIT_ASSERT_EQ(test, 0L, register_queue(&env, QUEUE_GPA, pages));
		expect_flush_refused(&env, nops + 1, -UMBRA_PV_E2BIG);
		expect_flush_refused(&env, U32_MAX + 1ULL, -UMBRA_PV_E2BIG);
		expect_flush_refused(&env, U64_MAX, -UMBRA_PV_E2BIG);
		expect_flush_refused(&env, BIT_ULL(63), -UMBRA_PV_E2BIG);

		for (i = 0; i < nops; i++)
			ops[i] = random_op(&env);
		KUNIT_EXPECT_EQ_MSG(test, (long)nops,
				    flush_and_check(&env, ops, nops, nops, NULL),
				    "%u pages", pages);
	}
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* n = 0 is a flush of nothing. */
static void umbra_pv_mmu_flush_zero_ops_ok(struct kunit *test)
{
	struct umbra_mmu_op op = mkop(UMBRA_MMU_OP_LOAD_CR3, 0, 0x1000, 0);
	struct umbra_pv_effects fx;
	struct op_env env;

	op_env_init_queue(test, &env);
	KUNIT_EXPECT_EQ(test, 0L, flush_and_check(&env, &op, 1, 0, &fx));
	KUNIT_EXPECT_FALSE(test, fx.load_cr3);
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* Unaligned areas and sizes outside MIN..MAX: -EINVAL, no queue. */
static void umbra_pv_mmu_queue_bad_args_einval(struct kunit *test)
{
	static const u64 npages[] = {
		0, 1, UMBRA_MMU_QUEUE_PAGES_MAX + 1, 16, BIT_ULL(32),
		BIT_ULL(32) + 2, U64_MAX,
	};
	static const u64 off[] = { 8, 0x800, 0xfff };
	struct op_env env;
	unsigned int i;

	op_env_init(test, &env);
	for (i = 0; i < ARRAY_SIZE(npages); i++)
		KUNIT_EXPECT_EQ_MSG(test, register_queue(&env, QUEUE_GPA, npages[i]),
				    (long)-UMBRA_PV_EINVAL, "npages %llu", npages[i]);
	for (i = 0; i < ARRAY_SIZE(off); i++)
		KUNIT_EXPECT_EQ_MSG(test, register_queue(&env, QUEUE_GPA + off[i], 2),
				    (long)-UMBRA_PV_EINVAL, "gpa %#llx", QUEUE_GPA + off[i]);
	/* An unaligned gpa below a page is not "0". */
	KUNIT_EXPECT_EQ(test, register_queue(&env, 8, 2), (long)-UMBRA_PV_EINVAL);
	expect_flush_refused(&env, 1, -UMBRA_PV_ENOQUEUE);
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* Areas that are not writable RAM in one memslot: -EFAULT, no queue. */
static void umbra_pv_mmu_queue_not_ram_efault(struct kunit *test)
{
	static const struct { u64 gfn, npages; } bad[] = {
		{ HOLE_GFN, 2 },			/* no memslot */
		{ RAM_PAGES, 2 },			/* just past RAM */
		{ RAM_PAGES - 1, 2 },			/* straddles the end */
		{ RAM_PAGES - 7, 8 },
		{ ROM_GFN, 2 },				/* read-only */
		{ ROM_GFN - 1, 2 },			/* into read-only */
		{ BIT_ULL(40), 2 },
		{ U64_MAX >> PAGE_SHIFT, 2 },		/* wraps around */
	};
	struct op_env env;
	unsigned int i;

	op_env_init(test, &env);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		KUNIT_EXPECT_EQ_MSG(test,
				    register_queue(&env, bad[i].gfn << PAGE_SHIFT,
						   bad[i].npages),
				    (long)-UMBRA_PV_EFAULT, "gfn %#llx, %llu pages",
				    bad[i].gfn, bad[i].npages);
	expect_flush_refused(&env, 1, -UMBRA_PV_ENOQUEUE);

	/* Up to the last page of RAM is fine. */
	KUNIT_EXPECT_EQ(test, 0L, register_queue(&env, RAM_END - 8 * PAGE_SIZE, 8));
	KUNIT_EXPECT_EQ(test, 0L, register_queue(&env, RAM_END - 2 * PAGE_SIZE, 2));
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* Registering again moves the queue: the old area is no longer read. */
static void umbra_pv_mmu_queue_reregister_moves(struct kunit *test)
{
	struct umbra_mmu_op op = mkop(UMBRA_MMU_OP_WRITE_PTE, ENTRY(0, 3), 0x3000, 0);
	struct umbra_mmu_op old = mkop(UMBRA_MMU_OP_WRITE_PTE, ENTRY(0, 4), 0x4000, 0);
	struct umbra_mmu_op got;
	struct op_env env;

	op_env_init_queue(test, &env);
	write_queue(&env, &old, 1);
	KUNIT_ASSERT_EQ(test, 0L, register_queue(&env, QUEUE_GPA + 4 * PAGE_SIZE, 2));
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, NULL));
	KUNIT_EXPECT_EQ(test, read_u64(&env, ENTRY(0, 3)), 0x3000ULL);
	KUNIT_ASSERT_EQ(test, 0UL, copy_from_user(&got, ram_uptr(&env, QUEUE_GPA),
						  sizeof(got)));
	KUNIT_EXPECT_EQ(test, memcmp(&got, &old, sizeof(got)), 0);
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* The area is checked at every flush: a queue in a slot marked invalid (being deleted) is -EFAULT. */
static void umbra_pv_mmu_flush_slot_gone_efault(struct kunit *test)
{
	struct umbra_memslots *set;
	struct op_env env;

	op_env_init_queue(test, &env);
	set = rcu_dereference_protected(env.vm->memslots, 1);
	KUNIT_ASSERT_EQ(test, set->slots[0].base_gfn, 0ULL);
	set->slots[0].flags |= UMBRA_MEMSLOT_INVALID;
	expect_flush_refused(&env, 1, -UMBRA_PV_EFAULT);
	set->slots[0].flags &= ~UMBRA_MEMSLOT_INVALID;
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* Numbers umbra does not define: -1000 (KVM's -KVM_ENOSYS), no effect. */
static void umbra_pv_hypercall_unknown_enosys(struct kunit *test)
{
	static const u64 nrs[] = {
		0, 1, 5, 12,				/* KVM's own */
		UMBRA_HC_BASE, UMBRA_HC_COW_AREA + 1,
		UMBRA_HC_MMU_QUEUE | BIT_ULL(32),	/* no truncation to 32 bits */
		UMBRA_HC_MMU_FLUSH | BIT_ULL(63), U64_MAX,
	};
	struct op_env env;
	unsigned int i;

	op_env_init(test, &env);
	for (i = 0; i < ARRAY_SIZE(nrs); i++) {
		struct umbra_pv_effects fx = {};

		KUNIT_EXPECT_EQ_MSG(test, umbra_pv_hypercall(env.vcpu, nrs[i],
							     QUEUE_GPA, 2, 0, &fx),
				    -1000L, "nr %#llx", nrs[i]);
		KUNIT_EXPECT_FALSE(test, fx.flush_tlb || fx.load_cr3);
	}
	/* Nothing was registered on the way. */
	expect_flush_refused(&env, 1, -UMBRA_PV_ENOQUEUE);
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* The direct calls and the hypercall agree. */
static void umbra_pv_hypercall_dispatches_queue_and_flush(struct kunit *test)
{
	struct umbra_mmu_op op = mkop(UMBRA_MMU_OP_CLEAR_PTE, ENTRY(6, 6), 0, 0);
	struct umbra_pv_effects fx = {};
	struct op_env env;

	op_env_init(test, &env);
	KUNIT_EXPECT_EQ(test, umbra_pv_mmu_queue(env.vcpu, QUEUE_GPA, 1, 0),
			(long)-UMBRA_PV_EINVAL);
	KUNIT_EXPECT_EQ(test, umbra_pv_mmu_queue(env.vcpu, HOLE_GFN << PAGE_SHIFT, 2, 0),
			(long)-UMBRA_PV_EFAULT);
	KUNIT_ASSERT_EQ(test, umbra_pv_mmu_queue(env.vcpu, QUEUE_GPA, 3, 0), 0L);
	env.queue_gpa = QUEUE_GPA;
	KUNIT_EXPECT_EQ(test, env.vcpu->pv_queue_ops, 3 * UMBRA_MMU_OPS_PER_PAGE);

	write_queue(&env, &op, 1);
	KUNIT_EXPECT_EQ(test, umbra_pv_mmu_flush(env.vcpu, 1, &fx), 1L);
	KUNIT_EXPECT_EQ(test, read_u64(&env, ENTRY(6, 6)), 0ULL);
	KUNIT_EXPECT_EQ(test, umbra_pv_mmu_flush(env.vcpu, 3 * UMBRA_MMU_OPS_PER_PAGE + 1, &fx),
			(long)-UMBRA_PV_E2BIG);
	/* ...and through the hypercall, checked against the model. */
	op.addr = ENTRY(6, 7);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, NULL));
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/* --- Deferred A/D ----------------------------------------------------- */

/* One op through the queue, without the model: deferred A/D writes D. */
static u32 run_op(struct op_env *env, struct umbra_mmu_op *op)
{
	struct umbra_pv_effects fx = {};

	write_queue(env, op, 1);
	KUNIT_EXPECT_EQ(env->test, 1L,
			umbra_pv_hypercall(env->vcpu, UMBRA_HC_MMU_FLUSH, 1, 0, 0, &fx));
	read_queue(env, op, 1);
	return op->status;
}

/* WRITE_PTE of @val into entry @idx of the shadowed PT; Return: its spte. */
static u64 put_leaf(struct op_env *env, struct umbra_sp *pt, unsigned int idx,
		    u64 val)
{
	struct umbra_mmu_op op = mkop(UMBRA_MMU_OP_WRITE_PTE,
				      SH_ENTRY(PT_GFN, idx), val, 0);

	KUNIT_EXPECT_EQ(env->test, UMBRA_MMU_OK, run_op(env, &op));
	return READ_ONCE(pt->spt[idx]);
}

/* What the CPU does on the first write through a deferred spte. */
static void cpu_dirties(struct umbra_sp *pt, unsigned int idx)
{
	set_bit(ilog2(SPTE_ACCESSED), (unsigned long *)&pt->spt[idx]);
	set_bit(ilog2(SPTE_DIRTY), (unsigned long *)&pt->spt[idx]);
}

/* shadow_init() with the queue registered for deferred A/D; Return: the PT's shadow. */
static struct umbra_sp *deferred_ad_init(struct kunit *test, struct op_env *env)
{
	struct umbra_pv_effects fx = {};

	shadow_init(test, env);
	KUNIT_ASSERT_EQ(test, 0L,
			umbra_pv_hypercall(env->vcpu, UMBRA_HC_MMU_QUEUE, QUEUE_GPA,
					   QUEUE_PAGES, UMBRA_MMU_QUEUE_DEFERRED_AD, &fx));
	return find_sp(env, PT_GFN, 1);
}

/*
 * Deferred A/D (ad.c, pv.h): with UMBRA_MMU_QUEUE_DEFERRED_AD a clean,
 * writable leaf entry is mapped writable at once, accessed or not, and the
 * A/D it lacks are owed; every way the spte can go hands on the bits the
 * CPU set: SYNC_AD, a KEEP_AD rewrite of the same frame, CLEAR_PTE (in
 * @val), write protection followed by a drop, a zap (paid later, and only
 * while the entry still maps the frame).  Past the bound entries map the
 * old way.
 */
static void umbra_pv_mmu_deferred_ad(struct kunit *test)
{
	const u64 frame = SH_LEAF2_GFN << PAGE_SHIFT, clean = frame | GPTE_ALL | GPTE_A;
	struct umbra_mmu_vm *mmu;
	struct umbra_pv_effects fx = {};
	struct umbra_mmu_op op;
	struct umbra_sp *pt;
	struct op_env env;
	LIST_HEAD(zapped);
	u64 spte, synced;

	shadow_init(test, &env);
	mmu = env.vm->mmu;
	pt = find_sp(&env, PT_GFN, 1);
	KUNIT_EXPECT_EQ(test, -(long)UMBRA_PV_EINVAL,
			umbra_pv_hypercall(env.vcpu, UMBRA_HC_MMU_QUEUE, QUEUE_GPA,
					   QUEUE_PAGES, 2, &fx));
	KUNIT_ASSERT_EQ(test, 0L,
			umbra_pv_hypercall(env.vcpu, UMBRA_HC_MMU_QUEUE, QUEUE_GPA,
					   QUEUE_PAGES, UMBRA_MMU_QUEUE_DEFERRED_AD, &fx));

	/* Mapped writable and clean; the entry's D stays clear. */
	spte = put_leaf(&env, pt, 6, clean);
	KUNIT_EXPECT_TRUE(test, spte_writable(spte) && (spte & SPTE_AD_DEFERRED) &&
			  !(spte & SPTE_DIRTY));
	KUNIT_EXPECT_EQ(test, mmu->nr_ad_live, 1U);
	KUNIT_EXPECT_EQ(test, read_u64(&env, SH_ENTRY(PT_GFN, 6)), clean);

	/* SYNC_AD of a clean one changes nothing; of a dirty one pays. */
	op = mkop(UMBRA_MMU_OP_SYNC_AD, PT_GFN << PAGE_SHIFT, 0, 0);
	KUNIT_EXPECT_EQ(test, UMBRA_MMU_OK, run_op(&env, &op));
	KUNIT_EXPECT_EQ(test, read_u64(&env, SH_ENTRY(PT_GFN, 6)), clean);
	cpu_dirties(pt, 6);
	synced = env.vcpu->stats.ad_synced;
	op = mkop(UMBRA_MMU_OP_SYNC_AD, PT_GFN << PAGE_SHIFT, 0, 0);
	KUNIT_EXPECT_EQ(test, UMBRA_MMU_OK, run_op(&env, &op));
	KUNIT_EXPECT_EQ(test, read_u64(&env, SH_ENTRY(PT_GFN, 6)), clean | GPTE_D);
	spte = READ_ONCE(pt->spt[6]);
	KUNIT_EXPECT_TRUE(test, spte_writable(spte) && (spte & SPTE_DIRTY));
	KUNIT_EXPECT_EQ(test, env.vcpu->stats.ad_synced, synced + 1);
	/* Paid: a second SYNC_AD owes nothing. */
	op = mkop(UMBRA_MMU_OP_SYNC_AD, PT_GFN << PAGE_SHIFT, 0, 0);
	KUNIT_EXPECT_EQ(test, UMBRA_MMU_OK, run_op(&env, &op));
	KUNIT_EXPECT_EQ(test, env.vcpu->stats.ad_synced, synced + 1);
	op = mkop(UMBRA_MMU_OP_SYNC_AD, HOLE_GFN << PAGE_SHIFT, 0, 0);
	KUNIT_EXPECT_EQ(test, UMBRA_MMU_EBADGPA, run_op(&env, &op));

	/*
	 * Not even accessed: mapped all the same, without A; a read marks A
	 * only, and SYNC_AD pays just that.  It stays deferred for the D.
	 */
	spte = put_leaf(&env, pt, 13, clean & ~GPTE_A);
	KUNIT_EXPECT_TRUE(test, spte_writable(spte) && (spte & SPTE_AD_DEFERRED) &&
			  !(spte & (SPTE_ACCESSED | SPTE_DIRTY)));
	set_bit(ilog2(SPTE_ACCESSED), (unsigned long *)&pt->spt[13]);
	op = mkop(UMBRA_MMU_OP_SYNC_AD, PT_GFN << PAGE_SHIFT, 0, 0);
	KUNIT_EXPECT_EQ(test, UMBRA_MMU_OK, run_op(&env, &op));
	KUNIT_EXPECT_EQ(test, read_u64(&env, SH_ENTRY(PT_GFN, 13)), clean);
	KUNIT_EXPECT_TRUE(test, READ_ONCE(pt->spt[13]) & SPTE_AD_DEFERRED);
	cpu_dirties(pt, 13);
	op = mkop(UMBRA_MMU_OP_SYNC_AD, PT_GFN << PAGE_SHIFT, 0, 0);
	KUNIT_EXPECT_EQ(test, UMBRA_MMU_OK, run_op(&env, &op));
	KUNIT_EXPECT_EQ(test, read_u64(&env, SH_ENTRY(PT_GFN, 13)), clean | GPTE_D);

	/* KEEP_AD taking W away, same frame: the D stays in the entry. */
	put_leaf(&env, pt, 7, clean);
	cpu_dirties(pt, 7);
	op = mkop(UMBRA_MMU_OP_WRITE_PTE_KEEP_AD, SH_ENTRY(PT_GFN, 7),
		  frame | GPTE_P | GPTE_U, 0);
	KUNIT_EXPECT_EQ(test, UMBRA_MMU_OK, run_op(&env, &op));
	KUNIT_EXPECT_EQ(test, read_u64(&env, SH_ENTRY(PT_GFN, 7)),
			frame | GPTE_P | GPTE_U | GPTE_AD);

	/* CLEAR_PTE hands the D back in @val. */
	put_leaf(&env, pt, 8, clean);
	cpu_dirties(pt, 8);
	op = mkop(UMBRA_MMU_OP_CLEAR_PTE, SH_ENTRY(PT_GFN, 8), 0, 0);
	KUNIT_EXPECT_EQ(test, UMBRA_MMU_OK, run_op(&env, &op));
	KUNIT_EXPECT_EQ(test, op.val, clean | GPTE_D);
	KUNIT_EXPECT_EQ(test, read_u64(&env, SH_ENTRY(PT_GFN, 8)), 0ULL);

	/* Write protection keeps the D the CPU set; the drop pays it. */
	put_leaf(&env, pt, 9, clean);
	cpu_dirties(pt, 9);
	spin_lock(&mmu->lock);
	umbra_gfn_write_protect(env.vm, SH_LEAF2_GFN);
	spte = READ_ONCE(pt->spt[9]);
	KUNIT_EXPECT_TRUE(test, !spte_writable(spte) && (spte & SPTE_DIRTY) &&
			  (spte & SPTE_AD_DEFERRED));
	umbra_spte_drop(env.vm, &pt->spt[9]);
	spin_unlock(&mmu->lock);
	KUNIT_EXPECT_EQ(test, mmu->nr_ad_pending, 1U);
	umbra_mmu_ad_sync(env.vcpu);
	KUNIT_EXPECT_EQ(test, mmu->nr_ad_pending, 0U);
	KUNIT_EXPECT_EQ(test, read_u64(&env, SH_ENTRY(PT_GFN, 9)), clean | GPTE_D);

	/* No room left: a clean entry maps read-only, as without the flag. */
	mmu->ad_max = mmu->nr_ad_live + mmu->nr_ad_pending;
	spte = put_leaf(&env, pt, 10, clean);
	KUNIT_EXPECT_TRUE(test, spte_present(spte) && !spte_writable(spte) &&
			  !(spte & SPTE_AD_DEFERRED));
	mmu->ad_max = UMBRA_AD_MAX;

	/*
	 * A zap of the whole table (the pool, a host invalidation) owes the
	 * D of entries 11 and 12; 12 is rewritten to another frame before
	 * umbra pays, so only 11 gets it.
	 */
	put_leaf(&env, pt, 11, clean);
	put_leaf(&env, pt, 12, clean);
	cpu_dirties(pt, 11);
	cpu_dirties(pt, 12);
	spin_lock(&mmu->lock);
	umbra_sp_zap_gfn(env.vm, PT_GFN, &zapped);
	spin_unlock(&mmu->lock);
	umbra_mmu_flush_and_free(env.vm, true, &zapped);
	KUNIT_EXPECT_EQ(test, mmu->nr_ad_pending, 2U);
	KUNIT_EXPECT_EQ(test, mmu->nr_ad_live, 0U);
	write_u64(&env, SH_ENTRY(PT_GFN, 12), (SH_LEAF_GFN << PAGE_SHIFT) | GPTE_ALL | GPTE_A);
	umbra_mmu_ad_sync(env.vcpu);
	KUNIT_EXPECT_EQ(test, read_u64(&env, SH_ENTRY(PT_GFN, 11)), clean | GPTE_D);
	KUNIT_EXPECT_EQ(test, read_u64(&env, SH_ENTRY(PT_GFN, 12)),
			(SH_LEAF_GFN << PAGE_SHIFT) | GPTE_ALL | GPTE_A);
	KUNIT_EXPECT_EQ(test, mmu->nr_ad_pending, 0U);
}

/* The shadow cases' addresses of entry @idx of the PT (SH_ADDR is entry 4). */
#define SH_PT_ADDR(idx)	(SH_ADDR + ((u64)(idx) - 4) * PAGE_SIZE)

/* Write @n ops into the queue, flush them all; they must all pass. */
static void run_batch(struct op_env *env, struct umbra_mmu_op *ops,
		      unsigned int n)
{
	struct umbra_pv_effects fx = {};
	unsigned int i;

	write_queue(env, ops, n);
	KUNIT_EXPECT_EQ(env->test, (long)n,
			umbra_pv_hypercall(env->vcpu, UMBRA_HC_MMU_FLUSH, n, 0, 0, &fx));
	read_queue(env, ops, n);
	for (i = 0; i < n; i++)
		KUNIT_EXPECT_EQ_MSG(env->test, ops[i].status, UMBRA_MMU_OK, "op %u", i);
}

/*
 * Entries 20..27 of the shadowed PT map gfns 20..27, writable and dirty,
 * and a write through each maps it writable: @pfn gets their host frames.
 */
static void map_dirty_run(struct op_env *env, struct umbra_sp *pt, u64 pfn[8])
{
	unsigned int i;

	for (i = 0; i < 8; i++) {
		struct umbra_pf pf = {};

		write_u64(env, SH_ENTRY(PT_GFN, 20 + i),
			  ((20ULL + i) << PAGE_SHIFT) | GPTE_ALL | GPTE_AD);
		KUNIT_ASSERT_EQ(env->test, UMBRA_PF_FIXED,
				umbra_mmu_page_fault(env->vcpu, SH_PT_ADDR(20 + i),
						     PFERR_WRITE, &pf));
		KUNIT_ASSERT_TRUE(env->test, spte_writable(pt->spt[20 + i]));
		pfn[i] = spte_pfn(pt->spt[20 + i]);
	}
}

/*
 * A run over a shadowed leaf table, as mprotect and fork's write-protect
 * make: the sptes of entries that keep their frame follow in place (W
 * goes, and comes back), an entry given a new frame in the middle of the
 * run is mapped at once, a CLEAR drops its spte, and every vCPU is asked
 * for one flush.
 */
static void umbra_pv_mmu_flush_table_run_follows_shadow(struct kunit *test)
{
	const u64 rw = GPTE_ALL | GPTE_AD, ro = GPTE_P | GPTE_U;
	struct umbra_mmu_op ops[10];
	u64 pfn[8], new_pfn;
	struct umbra_sp *pt;
	struct op_env env;
	unsigned int i;

	shadow_init(test, &env);
	pt = find_sp(&env, PT_GFN, 1);
	map_dirty_run(&env, pt, pfn);
	new_pfn = host_pfn(&env, 28);

	for (i = 0; i < 8; i++)
		ops[i] = mkop(UMBRA_MMU_OP_WRITE_PTE_KEEP_AD, SH_ENTRY(PT_GFN, 20 + i),
			      ((20ULL + i) << PAGE_SHIFT) | ro, 0);
	ops[4] = mkop(UMBRA_MMU_OP_WRITE_PTE, SH_ENTRY(PT_GFN, 24),
		      (28ULL << PAGE_SHIFT) | rw, 0);
	ops[7] = mkop(UMBRA_MMU_OP_CLEAR_PTE, SH_ENTRY(PT_GFN, 27), 0, 0);
	ops[8] = mkop(UMBRA_MMU_OP_INVLPG, SH_PT_ADDR(20), 0, 0);
	ops[9] = mkop(UMBRA_MMU_OP_WRITE_PTE_KEEP_AD, SH_ENTRY(PT_GFN, 20),
		      (20ULL << PAGE_SHIFT) | ro, 0);
	tlb_flush_requested(&env);
	run_batch(&env, ops, ARRAY_SIZE(ops));
	KUNIT_EXPECT_TRUE(test, tlb_flush_requested(&env));
	for (i = 0; i < 8; i++) {
		u64 spte = READ_ONCE(pt->spt[20 + i]);

		if (i == 4) {
			KUNIT_EXPECT_TRUE_MSG(test, spte_present(spte) &&
					      spte_writable(spte) &&
					      spte_pfn(spte) == new_pfn,
					      "new frame: spte %#llx", spte);
		} else if (i == 7) {
			KUNIT_EXPECT_FALSE(test, spte_present(spte));
			KUNIT_EXPECT_EQ(test, ops[7].val, (27ULL << PAGE_SHIFT) | rw);
		} else {
			KUNIT_EXPECT_TRUE_MSG(test, spte_present(spte) &&
					      !spte_writable(spte) &&
					      spte_pfn(spte) == pfn[i],
					      "entry %u: spte %#llx", 20 + i, spte);
			KUNIT_EXPECT_EQ(test, read_u64(&env, SH_ENTRY(PT_GFN, 20 + i)),
					((20ULL + i) << PAGE_SHIFT) | ro | GPTE_AD);
		}
	}

	/* And back: the same sptes, writable again. */
	for (i = 0; i < 7; i++)
		ops[i] = mkop(UMBRA_MMU_OP_WRITE_PTE_KEEP_AD, SH_ENTRY(PT_GFN, 20 + i),
			      ((i == 4 ? 28ULL : 20ULL + i) << PAGE_SHIFT) | GPTE_ALL, 0);
	run_batch(&env, ops, 7);
	KUNIT_EXPECT_TRUE(test, tlb_flush_requested(&env));
	for (i = 0; i < 7; i++) {
		u64 spte = READ_ONCE(pt->spt[20 + i]);

		KUNIT_EXPECT_TRUE_MSG(test, spte_present(spte) && spte_writable(spte) &&
				      spte_pfn(spte) == (i == 4 ? new_pfn : pfn[i]),
				      "entry %u: spte %#llx", 20 + i, spte);
	}
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/*
 * A whole run of new leaf entries, as mmap populating a table makes: each
 * gets its translation at once, for its own frame; also when every frame
 * is mapped already, so that each spte takes an rmap descriptor (the
 * cache holds one per write of a run).
 */
static void umbra_pv_mmu_flush_table_run_prefills_each(struct kunit *test)
{
	struct umbra_mmu_op ops[UMBRA_GPTE_RUN_MAX];
	unsigned int i, first, round;
	struct umbra_sp *pt;
	struct op_env env;

	shadow_init(test, &env);
	pt = find_sp(&env, PT_GFN, 1);
	/* Frames 12..15 and 20.. (not the queue's); entries 40.., then 60.. */
	for (round = 0; round < 2; round++) {
		first = round ? 60 : 40;
		for (i = 0; i < ARRAY_SIZE(ops); i++) {
			u64 gfn = i < 4 ? 12 + i : 16 + i;

			ops[i] = mkop(UMBRA_MMU_OP_WRITE_PTE, SH_ENTRY(PT_GFN, first + i),
				      (gfn << PAGE_SHIFT) | GPTE_ALL | GPTE_AD, 0);
		}
		run_batch(&env, ops, ARRAY_SIZE(ops));
		for (i = 0; i < ARRAY_SIZE(ops); i++) {
			u64 gfn = i < 4 ? 12 + i : 16 + i;
			u64 spte = READ_ONCE(pt->spt[first + i]);

			KUNIT_EXPECT_TRUE_MSG(test, spte_present(spte) &&
					      spte_writable(spte) &&
					      spte_pfn(spte) == host_pfn(&env, gfn),
					      "entry %u: spte %#llx", first + i, spte);
		}
	}
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/*
 * The shadow of the PT agrees with the guest's entries (no deferred A/D
 * here): every present spte was made from an entry that is present and
 * accessed, maps the host page of the entry's frame with no more rights
 * than it gives (U, NX), and is writable only if the entry is writable
 * and dirty and its frame is no table shadowed in sync (a write fault
 * through an entry that maps the PT makes the PT unsync, sync.c).
 */
static unsigned int expect_pt_agrees(struct op_env *env, struct umbra_sp *pt)
{
	unsigned int i, present = 0;

	for (i = 0; i < SPTE_ENT_PER_PAGE; i++) {
		u64 spte = READ_ONCE(pt->spt[i]), gpte, gfn;
		bool ok;

		if (!spte_present(spte))
			continue;
		present++;
		gpte = read_u64(env, SH_ENTRY(PT_GFN, i));
		gfn = (gpte & GENMASK_ULL(51, PAGE_SHIFT)) >> PAGE_SHIFT;
		ok = (gpte & GPTE_P) && (gpte & GPTE_A) && gfn < RAM_PAGES &&
		     spte_pfn(spte) == host_pfn(env, gfn) &&
		     (!(spte & SPTE_USER) || (gpte & GPTE_U)) &&
		     (!(gpte & _PAGE_NX) || (spte & SPTE_NX));
		/* The PT itself may be mapped writable once it is unsync. */
		if (spte_writable(spte))
			ok &= (gpte & (GPTE_W | GPTE_D)) == (GPTE_W | GPTE_D) &&
			      (gfn < PML4_GFN || gfn > PT_GFN ||
			       (gfn == PT_GFN && pt->unsync));
		if (!ok)
			OP_MISMATCH(env, "PT entry %u holds %#llx, its spte %#llx",
				    i, gpte, spte);
	}
	return present;
}

/*
 * Two vCPUs write one entry at once: vCPU 0's value lands in the guest
 * table, then vCPU 1's (another frame), then vCPU 1's shadow follows,
 * then vCPU 0's.  The entry holds vCPU 1's value, so the shadow must map
 * vCPU 1's frame or nothing: following the value vCPU 0 wrote would leave
 * it mapping a frame the entry no longer names, with nothing to resync it.
 * umbra_kunit_gpte_window puts vCPU 1's whole write in vCPU 0's window.
 */
static struct op_env *race_env;
static bool race_ran;

static void race_write_theirs(struct umbra_vcpu *vcpu)
{
	struct umbra_gpte_write w = {
		.gpa = SH_ENTRY(PT_GFN, 4),
		.val = (SH_LEAF_GFN << PAGE_SHIFT) | GPTE_ALL | GPTE_AD,
	};
	bool flush = false;
	LIST_HEAD(none);

	umbra_kunit_gpte_window = NULL;		/* once, not in the nested run */
	race_ran = vcpu == race_env->vcpu;
	KUNIT_EXPECT_EQ(race_env->test, 1,
			umbra_mmu_write_gptes(race_env->vcpu2, &w, 1, &flush));
	umbra_mmu_flush_and_free(race_env->vm, flush, &none);
}

static void umbra_pv_mmu_flush_racing_writes_follow_the_last(struct kunit *test)
{
	const u64 mine = (SH_LEAF2_GFN << PAGE_SHIFT) | GPTE_ALL | GPTE_AD;
	const u64 theirs = (SH_LEAF_GFN << PAGE_SHIFT) | GPTE_ALL | GPTE_AD;
	struct umbra_mmu_op op;
	struct umbra_sp *pt;
	struct op_env env;
	u64 spte;

	shadow_init(test, &env);
	env.vcpu2 = add_vcpu(test, env.vm, 1);
	pt = find_sp(&env, PT_GFN, 1);
	op = mkop(UMBRA_MMU_OP_WRITE_PTE, SH_ENTRY(PT_GFN, 4), mine, 0);
	race_env = &env;
	race_ran = false;
	umbra_kunit_gpte_window = race_write_theirs;
	KUNIT_EXPECT_EQ(test, UMBRA_MMU_OK, run_op(&env, &op));
	umbra_kunit_gpte_window = NULL;
	KUNIT_ASSERT_TRUE(test, race_ran);
	KUNIT_EXPECT_EQ(test, read_u64(&env, SH_ENTRY(PT_GFN, 4)), theirs);
	spte = READ_ONCE(pt->spt[4]);
	KUNIT_EXPECT_TRUE_MSG(test, !spte_present(spte) ||
			      spte_pfn(spte) == host_pfn(&env, SH_LEAF_GFN),
			      "spte %#llx maps %s", spte,
			      spte_pfn(spte) == host_pfn(&env, SH_LEAF2_GFN) ?
			      "the frame of the write that lost" : "some frame");
	/* And the shadow's copy of the entry is the entry. */
	if (spte_present(spte))
		KUNIT_EXPECT_EQ(test, pt->gptes[4], theirs);
}

/*
 * Random batches of PTE writes to a shadowed leaf table (runs of every
 * kind: repeated entries, new frames, frames kept with new rights, CLEARs,
 * PROTECTs, entries that map a shadowed table or no RAM), with random faults
 * through the table between them: after each batch the shadow agrees
 * with the guest's entries.
 */
static void umbra_pv_mmu_flush_random_runs_shadow_agrees(struct kunit *test)
{
	static const u64 frames[] = { 9, 10, 12, 13, 20, 21, 22, PT_GFN, PD_GFN, HOLE_GFN };
	static const u32 kinds[] = {
		UMBRA_MMU_OP_WRITE_PTE, UMBRA_MMU_OP_WRITE_PTE_KEEP_AD,
		UMBRA_MMU_OP_CLEAR_PTE,
	};
	const u64 bits[] = { GPTE_P, GPTE_W, GPTE_U, GPTE_A, GPTE_D, _PAGE_NX };
	unsigned int round, i, b, present = 0;
	struct umbra_mmu_op ops[48];
	struct umbra_sp *pt;
	struct op_env env;

	shadow_init(test, &env);
	pt = find_sp(&env, PT_GFN, 1);
	for (round = 0; round < 40; round++) {
		for (i = 0; i < ARRAY_SIZE(ops); i++) {
			u64 r = rnd(&env), val = frames[r % ARRAY_SIZE(frames)] << PAGE_SHIFT;

			/* Mostly present and accessed, so that sptes get made. */
			val |= GPTE_P | GPTE_A;
			for (b = 0; b < ARRAY_SIZE(bits); b++)
				if ((r >> (8 + b)) & 1)
					val ^= bits[b];
			ops[i] = mkop(kinds[(r >> 16) % ARRAY_SIZE(kinds)],
				      SH_ENTRY(PT_GFN, 16 + (r >> 24) % 16), val, 0);
			/* One op in four a PROTECT of a few of the 16. */
			if (!((r >> 32) & 3))
				ops[i] = mkprot(SH_ENTRY(PT_GFN, 16 + (r >> 24) % 16),
						val & UMBRA_MMU_PROT_RIGHTS,
						1 + (r >> 34) % (16 - (r >> 24) % 16));
		}
		run_batch(&env, ops, ARRAY_SIZE(ops));
		present += expect_pt_agrees(&env, pt);
		for (i = 0; i < 8; i++) {
			static const u32 errs[] = { 0, PFERR_WRITE, PFERR_USER,
						    PFERR_USER | PFERR_WRITE };
			u64 r = rnd(&env);
			struct umbra_pf pf = {};

			umbra_mmu_page_fault(env.vcpu, SH_PT_ADDR(16 + r % 16),
					     errs[(r >> 8) % ARRAY_SIZE(errs)], &pf);
		}
		expect_pt_agrees(&env, pt);
	}
	/* Not vacuous: most batches leave sptes to compare. */
	KUNIT_EXPECT_GT(test, present, 40U);
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/*
 * PROTECT over a shadowed leaf table, as an mprotect sweep sends it: the
 * sptes follow in place (W goes, and comes back, for the same host
 * pages), an entry not present stays without a spte, and every vCPU is
 * asked for a flush; a PROTECT that changes nothing writes nothing and
 * asks for none.
 */
static void umbra_pv_mmu_flush_protect_follows_shadow(struct kunit *test)
{
	struct umbra_mmu_op op;
	struct umbra_sp *pt;
	struct op_env env;
	unsigned int i;
	u64 pfn[8];

	shadow_init(test, &env);
	pt = find_sp(&env, PT_GFN, 1);
	map_dirty_run(&env, pt, pfn);
	/* ...but entry 23 goes away (a trapped store, say: no spte left). */
	op = mkop(UMBRA_MMU_OP_CLEAR_PTE, SH_ENTRY(PT_GFN, 23), 0, 0);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, NULL));

	tlb_flush_requested(&env);
	op = mkprot(SH_ENTRY(PT_GFN, 20), GPTE_P | GPTE_U, 8);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, NULL));
	KUNIT_EXPECT_TRUE(test, tlb_flush_requested(&env));
	for (i = 0; i < 8; i++) {
		u64 spte = READ_ONCE(pt->spt[20 + i]);

		if (i == 3) {
			KUNIT_EXPECT_FALSE(test, spte_present(spte));
			KUNIT_EXPECT_EQ(test, read_u64(&env, SH_ENTRY(PT_GFN, 23)), 0ULL);
			continue;
		}
		KUNIT_EXPECT_TRUE_MSG(test, spte_present(spte) && !spte_writable(spte) &&
				      spte_pfn(spte) == pfn[i],
				      "entry %u: spte %#llx", 20 + i, spte);
		KUNIT_EXPECT_EQ(test, pt->gptes[20 + i],
				((20ULL + i) << PAGE_SHIFT) | GPTE_P | GPTE_U | GPTE_AD);
	}
	KUNIT_EXPECT_EQ(test, expect_pt_agrees(&env, pt), 8U);

	/* Again: nothing changes, nothing to flush. */
	op = mkprot(SH_ENTRY(PT_GFN, 20), GPTE_P | GPTE_U, 8);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, NULL));
	KUNIT_EXPECT_FALSE(test, tlb_flush_requested(&env));

	/* And back: the same sptes, writable again, without a fault. */
	op = mkprot(SH_ENTRY(PT_GFN, 20), GPTE_ALL, 8);
	KUNIT_EXPECT_EQ(test, 1L, flush_and_check(&env, &op, 1, 1, NULL));
	KUNIT_EXPECT_TRUE(test, tlb_flush_requested(&env));
	for (i = 0; i < 8; i++) {
		u64 spte = READ_ONCE(pt->spt[20 + i]);

		if (i == 3)
			continue;
		KUNIT_EXPECT_TRUE_MSG(test, spte_present(spte) && spte_writable(spte) &&
				      spte_pfn(spte) == pfn[i],
				      "entry %u: spte %#llx", 20 + i, spte);
	}
	KUNIT_EXPECT_EQ(test, env.failures, 0U);
}

/*
 * Deferred A/D in a run: the D the CPU set in sptes the run drops is paid
 * as for one op (a KEEP_AD rewrite keeps it in the entry, a CLEAR hands
 * it back in @val), and a spte the CPU left clean owes nothing.  An entry
 * written again later in the batch sees the D paid by then, as it would
 * one op at a time.
 */
static void umbra_pv_mmu_deferred_ad_in_run(struct kunit *test)
{
	const u64 frame = SH_LEAF2_GFN << PAGE_SHIFT, clean = frame | GPTE_ALL | GPTE_A;
	struct umbra_mmu_op ops[5];
	struct umbra_sp *pt;
	struct op_env env;
	unsigned int i;

	pt = deferred_ad_init(test, &env);
	for (i = 0; i < 4; i++)
		KUNIT_ASSERT_TRUE(test, put_leaf(&env, pt, 6 + i, clean) & SPTE_AD_DEFERRED);
	cpu_dirties(pt, 6);
	cpu_dirties(pt, 8);
	cpu_dirties(pt, 9);

	ops[0] = mkop(UMBRA_MMU_OP_WRITE_PTE_KEEP_AD, SH_ENTRY(PT_GFN, 6),
		      frame | GPTE_P | GPTE_U, 0);
	ops[1] = mkop(UMBRA_MMU_OP_WRITE_PTE_KEEP_AD, SH_ENTRY(PT_GFN, 7),
		      frame | GPTE_P | GPTE_U, 0);
	ops[2] = mkop(UMBRA_MMU_OP_CLEAR_PTE, SH_ENTRY(PT_GFN, 8), 0, 0);
	ops[3] = mkop(UMBRA_MMU_OP_WRITE_PTE, SH_ENTRY(PT_GFN, 9),
		      frame | GPTE_P | GPTE_U | GPTE_A, 0);
	ops[4] = mkop(UMBRA_MMU_OP_CLEAR_PTE, SH_ENTRY(PT_GFN, 6), 0, 0);
	run_batch(&env, ops, ARRAY_SIZE(ops));
	KUNIT_EXPECT_EQ(test, ops[4].val, frame | GPTE_P | GPTE_U | GPTE_AD);
	KUNIT_EXPECT_EQ(test, read_u64(&env, SH_ENTRY(PT_GFN, 6)), 0ULL);
	KUNIT_EXPECT_EQ(test, read_u64(&env, SH_ENTRY(PT_GFN, 7)),
			frame | GPTE_P | GPTE_U | GPTE_A);
	KUNIT_EXPECT_EQ(test, ops[2].val, clean | GPTE_D);
	KUNIT_EXPECT_EQ(test, read_u64(&env, SH_ENTRY(PT_GFN, 8)), 0ULL);
	/* Same frame: WRITE_PTE keeps what the old mapping dirtied, too. */
	KUNIT_EXPECT_EQ(test, read_u64(&env, SH_ENTRY(PT_GFN, 9)),
			frame | GPTE_P | GPTE_U | GPTE_AD);
	KUNIT_EXPECT_EQ(test, env.vm->mmu->nr_ad_pending, 0U);
}

/*
 * Deferred A/D and PROTECT: a deferred spte is dropped rather than
 * followed, and the D the CPU set in it lands in the entry (same frame);
 * one the CPU left clean owes nothing.
 */
static void umbra_pv_mmu_deferred_ad_protect(struct kunit *test)
{
	const u64 frame = SH_LEAF2_GFN << PAGE_SHIFT, clean = frame | GPTE_ALL | GPTE_A;
	struct umbra_mmu_op op;
	struct umbra_sp *pt;
	struct op_env env;

	pt = deferred_ad_init(test, &env);
	KUNIT_ASSERT_TRUE(test, put_leaf(&env, pt, 6, clean) & SPTE_AD_DEFERRED);
	KUNIT_ASSERT_TRUE(test, put_leaf(&env, pt, 7, clean) & SPTE_AD_DEFERRED);
	cpu_dirties(pt, 6);

	op = mkprot(SH_ENTRY(PT_GFN, 6), GPTE_P | GPTE_U, 2);
	KUNIT_EXPECT_EQ(test, UMBRA_MMU_OK, run_op(&env, &op));
	KUNIT_EXPECT_EQ(test, read_u64(&env, SH_ENTRY(PT_GFN, 6)),
			frame | GPTE_P | GPTE_U | GPTE_AD);
	KUNIT_EXPECT_EQ(test, read_u64(&env, SH_ENTRY(PT_GFN, 7)),
			frame | GPTE_P | GPTE_U | GPTE_A);
	KUNIT_EXPECT_FALSE(test, spte_present(pt->spt[6]) && spte_writable(pt->spt[6]));
	KUNIT_EXPECT_FALSE(test, spte_present(pt->spt[7]) && spte_writable(pt->spt[7]));
	KUNIT_EXPECT_EQ(test, env.vm->mmu->nr_ad_pending, 0U);
}

static struct kunit_case umbra_mmu_op_cases[] = {
	KUNIT_CASE(umbra_pv_mmu_flush_write_pte_ok),
	KUNIT_CASE(umbra_pv_mmu_flush_write_pte_keep_ad_ok),
	KUNIT_CASE(umbra_pv_mmu_flush_clear_pte_ok),
	KUNIT_CASE(umbra_pv_mmu_flush_invlpg_flush_tlb_ok),
	KUNIT_CASE(umbra_pv_mmu_flush_load_cr3_ok),
	KUNIT_CASE(umbra_pv_mmu_flush_release_pt_unshadowed_ok),
	KUNIT_CASE(umbra_pv_mmu_flush_in_queue_order),
	KUNIT_CASE(umbra_pv_mmu_flush_effects_merged),
	KUNIT_CASE(umbra_pv_mmu_flush_mixed_batch_ok),
	KUNIT_CASE(umbra_pv_mmu_flush_mixed_batch_refusal_stops),
	KUNIT_CASE(umbra_pv_mmu_flush_protect_ok),
	KUNIT_CASE(umbra_pv_mmu_flush_protect_bad_run),
	KUNIT_CASE(umbra_pv_mmu_flush_table_runs_ok),
	KUNIT_CASE(umbra_pv_mmu_flush_table_run_refusal_stops),
	KUNIT_CASE(umbra_pv_mmu_flush_bad_gpa_ebadgpa),
	KUNIT_CASE(umbra_pv_mmu_flush_misaligned_ealign),
	KUNIT_CASE(umbra_pv_mmu_flush_unknown_op_eop),
	KUNIT_CASE(umbra_pv_mmu_flush_load_cr3_beyond_maxpa_evalue),
	KUNIT_CASE(umbra_pv_mmu_flush_bad_flags_eflags),
	KUNIT_CASE(umbra_pv_mmu_flush_write_pte_drops_shadow),
	KUNIT_CASE(umbra_pv_mmu_flush_write_pte_prefills_accessed_leaf),
	KUNIT_CASE(umbra_pv_mmu_flush_racing_writes_follow_the_last),
	KUNIT_CASE(umbra_pv_mmu_deferred_ad),
	KUNIT_CASE(umbra_pv_mmu_deferred_ad_in_run),
	KUNIT_CASE(umbra_pv_mmu_deferred_ad_protect),
	KUNIT_CASE(umbra_pv_mmu_flush_table_run_follows_shadow),
	KUNIT_CASE(umbra_pv_mmu_flush_table_run_prefills_each),
	KUNIT_CASE(umbra_pv_mmu_flush_protect_follows_shadow),
	KUNIT_CASE(umbra_pv_mmu_flush_random_runs_shadow_agrees),
	KUNIT_CASE(umbra_pv_mmu_flush_release_pt_zaps_shadow),
	KUNIT_CASE(umbra_pv_mmu_released_shadow_is_spare),
	KUNIT_CASE(umbra_pv_mmu_flush_release_live_root_enotpt),
	KUNIT_CASE(umbra_pv_mmu_flush_release_previous_root_ok),
	KUNIT_CASE(umbra_pv_mmu_flush_release_root_after_load_cr3_ok),
	KUNIT_CASE(umbra_pv_mmu_flush_release_current_cr3_enotpt),
	KUNIT_CASE(umbra_pv_mmu_flush_release_other_vcpu_cr3_enotpt),
	KUNIT_CASE(umbra_pv_mmu_flush_no_queue_enoqueue),
	KUNIT_CASE(umbra_pv_mmu_queue_unregister_then_flush_enoqueue),
	KUNIT_CASE(umbra_pv_mmu_flush_beyond_area_e2big),
	KUNIT_CASE(umbra_pv_mmu_flush_zero_ops_ok),
	KUNIT_CASE(umbra_pv_mmu_queue_bad_args_einval),
	KUNIT_CASE(umbra_pv_mmu_queue_not_ram_efault),
	KUNIT_CASE(umbra_pv_mmu_queue_reregister_moves),
	KUNIT_CASE(umbra_pv_mmu_flush_slot_gone_efault),
	KUNIT_CASE(umbra_pv_hypercall_unknown_enosys),
	KUNIT_CASE(umbra_pv_hypercall_dispatches_queue_and_flush),
	{}
};

static struct kunit_suite umbra_mmu_op_suite = {
	.name = "umbra_mmu_op",
	.test_cases = umbra_mmu_op_cases,
};
kunit_test_suite(umbra_mmu_op_suite);
