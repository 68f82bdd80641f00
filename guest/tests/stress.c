// SPDX-License-Identifier: GPL-2.0
/*
 * stress.c - case 11, random operations against the model.  A seeded PRNG
 * drives thousands of steps over a 64-page window that straddles two
 * PTs, in four address spaces: map (a frame from a small pool, random
 * W/U/NX), unmap, protect, access (read/write/fetch, ring 0 or 3), switch
 * address space, share a PT between two spaces, zap a PT, toggle CR0.WP,
 * flush the TLB.  The model mirrors the PTs as objects (so a PT shared by
 * two spaces is one model PT) and the frames' contents; every access must
 * give the model's value or the model's #PF.  A failure names the step and
 * the seed ("suite random_stress seed=N" replays it).
 */
#include "tests.h"

#define ST_NAS		4
#define ST_SLOTS	2			/* PTs the window touches */
#define ST_PER_SLOT	32			/* window pages per PT */
#define ST_PAGES	(ST_SLOTS * ST_PER_SLOT)
#define ST_FRAMES	12
#define ST_STEPS	20000
#define ST_BASE		(TEST_VA + PMD_SIZE - ST_PER_SLOT * PAGE_SIZE)
#define ST_MAX_PT	(ST_NAS * ST_SLOTS)

static const u16 offsets[] = { 8, 16, 2048, 4088 };

struct st_entry {
	s8 frame;	/* -1: not mapped */
	u8 flags;	/* MF_* */
};

struct st_pt {
	int refs;	/* 0: free model PT */
	struct st_entry e[ST_PER_SLOT];
};

static struct {
	struct as *as[ST_NAS];
	int pt[ST_NAS][ST_SLOTS];	/* model PT index, -1: none */
	struct st_pt pts[ST_MAX_PT];
	u64 frame_pa[ST_FRAMES];
	u64 val[ST_FRAMES][ARRAY_SIZE(offsets)];
	int cur;
	bool wp;
	u64 seed, wval;
	int step;
} st;

static u64 page_va(int p)
{
	return ST_BASE + (u64)p * PAGE_SIZE;
}

static u64 slot_va(int s)
{
	return page_va(s * ST_PER_SLOT);
}

static struct st_entry *entry(int a, int p)
{
	int pt = st.pt[a][p / ST_PER_SLOT];

	return pt < 0 ? NULL : &st.pts[pt].e[p % ST_PER_SLOT];
}

static int new_pt(void)
{
	int i, j;

	for (i = 0; i < ST_MAX_PT; i++) {
		if (st.pts[i].refs)
			continue;
		st.pts[i].refs = 1;
		for (j = 0; j < ST_PER_SLOT; j++)
			st.pts[i].e[j].frame = -1;
		return i;
	}
	panic("random_stress: model out of PTs");
}

static u8 random_flags(void)
{
	u64 r = prng_next(&st.seed);

	return MF_P | (r & 1 ? MF_W : 0) | (r & 2 ? MF_U : 0) |
	       ((r & 12) == 12 ? MF_NX : 0);
}

static void op_map(int a, int p)
{
	int f = prng_below(&st.seed, ST_FRAMES), s = p / ST_PER_SLOT;
	u8 flags = random_flags();

	if (st.pt[a][s] < 0)
		st.pt[a][s] = new_pt();
	entry(a, p)->frame = f;
	entry(a, p)->flags = flags;
	if (as_map(st.as[a], page_va(p), st.frame_pa[f],
		   model_pte_bits(flags) | _PAGE_SPECIAL))
		panic("random_stress: out of memory");
}

static void op_unmap(int a, int p)
{
	struct st_entry *e = entry(a, p);

	if (!e || e->frame < 0)
		return;
	e->frame = -1;
	CHECK(!as_unmap(st.as[a], page_va(p)), "step %d: as_unmap failed", st.step);
}

static void op_protect(int a, int p)
{
	struct st_entry *e = entry(a, p);
	const u64 rights = _PAGE_RW | _PAGE_USER | _PAGE_NX;

	if (!e || e->frame < 0)
		return;
	e->flags = random_flags();
	CHECK(!as_protect(st.as[a], page_va(p), model_pte_bits(e->flags) & rights,
			  rights & ~model_pte_bits(e->flags)),
	      "step %d: as_protect failed", st.step);
}

static void put_pt(int pt)
{
	if (!--st.pts[pt].refs)
		memset(&st.pts[pt], 0, sizeof(st.pts[pt]));
}

static void op_share(int dst, int src, int s)
{
	int pt = st.pt[src][s];

	if (dst == src || pt < 0 || st.pt[dst][s] == pt)
		return;
	if (st.pt[dst][s] >= 0)
		put_pt(st.pt[dst][s]);
	st.pt[dst][s] = pt;
	st.pts[pt].refs++;
	CHECK(!as_share_table(st.as[dst], st.as[src], slot_va(s), 1),
	      "step %d: as_share_table failed", st.step);
}

static void op_zap(int a, int s)
{
	if (st.pt[a][s] < 0)
		return;
	put_pt(st.pt[a][s]);
	st.pt[a][s] = -1;
	CHECK(!as_zap_table(st.as[a], slot_va(s), 1), "step %d: as_zap_table failed",
	      st.step);
}

/* The model's answer for an access to page @p of the current space. */
static void expect(int p, enum acc_kind kind, int cpl, int o, struct outcome *want)
{
	struct st_entry *e = entry(st.cur, p);
	u64 va = page_va(p) + (kind == ACC_EXEC ? 0 : offsets[o]);
	struct model_walk w;

	model_walk_4k(&w, e ? MF_TABLE : 0, e && e->frame >= 0 ? e->flags : 0);
	model_expect(&w, kind, cpl, st.wp, true, va, want);
	if (!want->fault && kind == ACC_READ)
		want->value = st.val[e->frame][o];
}

static void op_access(int p)
{
	int o = prng_below(&st.seed, ARRAY_SIZE(offsets));
	enum acc_kind kind = prng_below(&st.seed, 3);
	int cpl = prng_below(&st.seed, 2) * 3;
	u64 va = page_va(p) + (kind == ACC_EXEC ? 0 : offsets[o]);
	struct outcome want;
	char what[64];

	expect(p, kind, cpl, o, &want);
	snprintf(what, sizeof(what), "step %d seed %llu space %d wp %d",
		 st.step, test_seed, st.cur, st.wp);
	if (check_access(va, kind, cpl, ++st.wval, &want, what) &&
	    kind == ACC_WRITE && !want.fault)
		st.val[entry(st.cur, p)->frame][o] = st.wval;
}

static void step(void)
{
	int r = prng_below(&st.seed, 100);
	int a = prng_below(&st.seed, ST_NAS);
	int p = prng_below(&st.seed, ST_PAGES);
	int s = prng_below(&st.seed, ST_SLOTS);

	if (r < 45) {
		op_access(p);
	} else if (r < 65) {
		op_map(a, p);
	} else if (r < 73) {
		op_unmap(a, p);
	} else if (r < 85) {
		op_protect(a, p);
	} else if (r < 93) {
		st.cur = a;
		as_switch(st.as[a]);
	} else if (r < 96) {
		op_share(a, prng_below(&st.seed, ST_NAS), s);
	} else if (r < 98) {
		op_zap(a, s);
	} else if (r < 99) {
		st.wp = !st.wp;
		set_cr0_wp(st.wp);
	} else {
		flush_tlb();
	}
}

/* A model that is wrong about one page must be caught. */
static void negative_control(void)
{
	struct outcome want, got;
	struct st_entry *e;

	as_switch(st.as[st.cur]);
	op_map(st.cur, 0);
	e = entry(st.cur, 0);
	e->flags = MF_P | MF_W | MF_U;
	as_protect(st.as[st.cur], page_va(0), _PAGE_RW | _PAGE_USER, _PAGE_NX);
	expect(0, ACC_READ, 3, 0, &want);
	do_access(page_va(0) + offsets[0], ACC_READ, 3, 0, &got);
	CHECK(outcome_equal(&want, &got, ACC_READ), "control read failed");
	want.value++;
	CHECK(!outcome_equal(&want, &got, ACC_READ), "a wrong value went unnoticed");
	e->flags &= ~MF_U;	/* the model is now wrong about U */
	expect(0, ACC_READ, 3, 0, &want);
	CHECK(!outcome_equal(&want, &got, ACC_READ),
	      "a wrong U bit in the model went unnoticed");
	e->flags |= MF_U;
}

void test_stress(void)
{
	int a, f, o, s;

	memset(&st, 0, sizeof(st));
	st.seed = test_seed;
	st.wp = true;
	st.wval = 0xa000;
	for (f = 0; f < ST_FRAMES; f++) {
		st.frame_pa[f] = test_frame();
		for (o = 0; o < (int)ARRAY_SIZE(offsets); o++) {
			st.val[f][o] = ((u64)f << 32) | offsets[o];
			*(u64 *)phys_to_virt(st.frame_pa[f] + offsets[o]) = st.val[f][o];
		}
	}
	for (a = 0; a < ST_NAS; a++) {
		st.as[a] = test_as_create();
		for (s = 0; s < ST_SLOTS; s++)
			st.pt[a][s] = -1;
		for (f = 0; f < ST_PAGES / 2; f++)
			op_map(a, prng_below(&st.seed, ST_PAGES));
	}
	st.cur = 0;
	as_switch(st.as[0]);

	for (st.step = 0; st.step < ST_STEPS && !test_failed(); st.step++)
		step();
	set_cr0_wp(true);
	st.wp = true;
	if (!test_failed())
		negative_control();

	as_switch(kernel_as);
	for (a = 0; a < ST_NAS; a++)
		test_as_destroy(st.as[a]);
	for (f = 0; f < ST_FRAMES; f++)
		palloc_free(st.frame_pa[f]);
}
