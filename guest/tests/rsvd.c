// SPDX-License-Identifier: GPL-2.0
/*
 * rsvd.c - case 3, reserved-bit faults: a present entry with a reserved
 * bit set must give #PF with RSVD|P (plus W, U, I/D for the access) at
 * each level, in preference to a permission fault, and must not matter
 * in a non-present entry.  Bits used: bit 51 and bit MAXPHYADDR (reserved
 * when MAXPHYADDR < 52, from CPUID 0x80000008), PS in a PML4E, bits 13-20
 * of a 2 MiB PDE, and NX while EFER.NXE=0.  EFER.NXE=0 also changes the
 * error code of a fetch fault (no I/D).  Each variant ends with a
 * positive control: the same page reads fine once the bit is gone.
 */
#include "tests.h"

struct rsvd_variant {
	const char *name;
	int level;	/* the entry changed: 1 = PTE .. 4 = PML4E */
	u64 set;	/* bits set in it */
	u64 clear;	/* bits cleared in it */
	bool nxe;	/* EFER.NXE during the accesses */
	u8 mf_set;	/* the same change, in model flags */
	u8 mf_clear;
	bool needs_bit51;
};

#define BIT51	(1ULL << 51)

static const struct rsvd_variant variants[] = {
	{ "pte bit 51", 1, BIT51, 0, true, MF_RSVD, 0, true },
	{ "pde bit 51", 2, BIT51, 0, true, MF_RSVD, 0, true },
	{ "pdpte bit 51", 3, BIT51, 0, true, MF_RSVD, 0, true },
	{ "pml4e bit 51", 4, BIT51, 0, true, MF_RSVD, 0, true },
	{ "pml4e PS", 4, _PAGE_PSE, 0, true, MF_RSVD, 0, false },
	{ "supervisor pte bit 51", 1, BIT51, _PAGE_USER, true, MF_RSVD, MF_U, true },
	{ "read-only pte bit 51", 1, BIT51, _PAGE_RW, true, MF_RSVD, MF_W, true },
	{ "not-present pte bit 51", 1, BIT51, _PAGE_PRESENT, true, 0, MF_P, true },
	{ "pte NX, NXE=0", 1, _PAGE_NX, 0, false, MF_NX, 0, false },
	{ "pde NX, NXE=0", 2, _PAGE_NX, 0, false, MF_NX, 0, false },
	{ "not-present pte, NXE=0", 1, 0, _PAGE_PRESENT, false, 0, MF_P, false },
	{ "plain pte, NXE=0", 1, 0, 0, false, 0, 0, false },
};

struct rsvd_ctx {
	struct as *as;
	u64 va;
	struct model_walk base;
	u64 value;	/* the model of the u64 at DATA_OFF */
	u64 wval;
};

/* Every access kind from both rings through the walk @w. */
static void run_accesses(struct rsvd_ctx *c, const struct model_walk *w,
			 bool nxe, const char *name)
{
	int cpl, k;

	for (cpl = 0; cpl <= 3; cpl += 3) {
		for (k = ACC_READ; k <= ACC_EXEC; k++) {
			u64 target = c->va + (k == ACC_EXEC ? 0 : DATA_OFF);
			struct outcome want;

			model_expect(w, k, cpl, true, nxe, target, &want);
			want.value = c->value;
			check_access(target, k, cpl, ++c->wval, &want, name);
			if (k == ACC_WRITE && !want.fault)
				c->value = c->wval;
		}
	}
}

static void run_variant(struct rsvd_ctx *c, const struct rsvd_variant *v,
			u64 set)
{
	struct model_walk w = c->base;
	struct outcome want;
	u64 orig = pte_read(as_entry(c->as, c->va, v->level, false));
	int i = w.n - v->level;

	w.flags[i] = (w.flags[i] & ~v->mf_clear) | v->mf_set;
	as_set_entry(c->as, c->va, v->level, (orig & ~v->clear) | set);
	set_efer_nx(v->nxe);
	run_accesses(c, &w, v->nxe, v->name);
	set_efer_nx(true);
	as_set_entry(c->as, c->va, v->level, orig);

	want_ok(&want, c->value);
	check_access(c->va + DATA_OFF, ACC_READ, 0, 0, &want, "positive control");
}

/* Bits 13-20 of a 2 MiB PDE are reserved (bit 12 is PAT). */
static void run_huge(struct rsvd_ctx *c)
{
	static const u64 bits[] = { 1ULL << 13, 1ULL << 20 };
	u64 huge = palloc_alloc_huge(), orig;
	struct model_walk w = { 3, { MF_TABLE, MF_TABLE, MF_P | MF_W | MF_U } };
	struct rsvd_ctx h = *c;
	struct outcome want;
	unsigned int i;

	if (!huge)
		panic("reserved_bits: no 2 MiB block");
	*(u8 *)phys_to_virt(huge) = RET_INSN;
	h.va = TEST_VA2 + PUD_SIZE;
	h.value = 0;
	as_map_2m(c->as, h.va, huge, _PAGE_RW | _PAGE_USER);
	orig = pte_read(as_entry(c->as, h.va, 2, false));
	for (i = 0; i < ARRAY_SIZE(bits); i++) {
		as_set_entry(c->as, h.va, 2, orig | bits[i]);
		w.flags[2] = MF_P | MF_W | MF_U | MF_RSVD;
		run_accesses(&h, &w, true, "2 MiB pde bits 13-20");
		as_set_entry(c->as, h.va, 2, orig);
		w.flags[2] = MF_P | MF_W | MF_U;
		run_accesses(&h, &w, true, "2 MiB pde, positive control");
	}
	as_unmap(c->as, h.va);
	palloc_free_huge(huge);
	want_pf(&want, h.va + DATA_OFF, 0);
	check_access(h.va + DATA_OFF, ACC_READ, 0, 0, &want, "2 MiB unmapped");
}

void test_rsvd(void)
{
	struct rsvd_ctx c = { .va = TEST_VA2, .wval = 0x2000 };
	int maxphy = cpu_maxphyaddr();
	bool bit51 = maxphy < 52;
	u64 frame = test_frame();
	unsigned int i;

	model_walk_4k(&c.base, MF_TABLE, MF_P | MF_W | MF_U);
	c.as = test_as_create();
	as_map(c.as, c.va, frame, _PAGE_RW | _PAGE_USER | _PAGE_SPECIAL);
	as_switch(c.as);
	kprintf("# reserved_bits: MAXPHYADDR %d\n", maxphy);
	if (!bit51)
		kprintf("# reserved_bits: MAXPHYADDR is 52, skipping bit 51\n");

	for (i = 0; i < ARRAY_SIZE(variants); i++) {
		if (variants[i].needs_bit51 && !bit51)
			continue;
		run_variant(&c, &variants[i], variants[i].set);
	}
	if (maxphy < 51) {
		struct rsvd_variant v = variants[0];

		v.name = "pte bit MAXPHYADDR";
		run_variant(&c, &v, 1ULL << maxphy);
	}
	run_huge(&c);

	test_as_destroy(c.as);
	palloc_free(frame);
}
