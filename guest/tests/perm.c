// SPDX-License-Identifier: GPL-2.0
/*
 * perm.c - case 2, permission faults: every relevant combination of the
 * PDE's and the PTE's P, R/W, U/S and NX bits (EFER.NXE=1), CR0.WP 0 and
 * 1, ring 0 and ring 3, read, write and instruction fetch.  Each access's
 * outcome (no fault and the value read, or #PF with error code and CR2)
 * must equal the model's.  The negative control shows that a wrong
 * expectation is caught.
 */
#include "tests.h"

/* PTE and PDE flag combinations; P=0 once, with every other bit set. */
static const u8 leaf_combos[] = {
	MF_W | MF_U | MF_NX,
	MF_P, MF_P | MF_W, MF_P | MF_U, MF_P | MF_W | MF_U,
	MF_P | MF_NX, MF_P | MF_W | MF_NX, MF_P | MF_U | MF_NX,
	MF_P | MF_W | MF_U | MF_NX,
};

struct perm_ctx {
	struct as *as;
	u64 va;		/* the target page */
	u64 frame;
	u64 pt;		/* the PT mapping va */
	u64 wval;	/* next value to write */
	u64 value;	/* the model of the u64 at DATA_OFF */
};

static void set_combo(struct perm_ctx *c, u8 pde, u8 pte)
{
	/* PDE first to a full table, so that the PTE write finds the PT. */
	as_set_entry(c->as, c->va, 2, c->pt | _PAGE_TABLE);
	as_set_entry(c->as, c->va, 1, c->frame | _PAGE_SPECIAL | model_pte_bits(pte));
	as_set_entry(c->as, c->va, 2, c->pt | model_pte_bits(pde));
}

static void run_combo(struct perm_ctx *c, u8 pde, u8 pte)
{
	u64 *data = phys_to_virt(c->frame + DATA_OFF);
	struct model_walk w;
	char what[48];
	int wp, cpl, k;

	model_walk_4k(&w, pde, pte);
	set_combo(c, pde, pte);
	for (wp = 1; wp >= 0; wp--) {
		set_cr0_wp(wp);
		for (cpl = 0; cpl <= 3; cpl += 3) {
			for (k = ACC_READ; k <= ACC_EXEC; k++) {
				u64 target = c->va + (k == ACC_EXEC ? 0 : DATA_OFF);
				struct outcome want;

				model_expect(&w, k, cpl, wp, true, target, &want);
				want.value = c->value;
				snprintf(what, sizeof(what), "pde %x pte %x wp %d",
					 pde, pte, wp);
				check_access(target, k, cpl, ++c->wval, &want, what);
				if (k == ACC_WRITE && !want.fault)
					c->value = c->wval;
			}
		}
	}
	set_cr0_wp(true);
	CHECK(*data == c->value, "pde %x pte %x: memory holds 0x%llx, model 0x%llx",
	      pde, pte, *data, c->value);
}

/*
 * A user write to a read-only user page: the model's answer must match,
 * and answers with one bit wrong, or no fault at all, must not.
 */
static void negative_control(struct perm_ctx *c)
{
	struct outcome want, got, wrong;
	struct model_walk w;

	model_walk_4k(&w, MF_TABLE, MF_P | MF_U);
	set_combo(c, MF_TABLE, MF_P | MF_U);
	model_expect(&w, ACC_WRITE, 3, true, true, c->va + DATA_OFF, &want);
	do_access(c->va + DATA_OFF, ACC_WRITE, 3, 1, &got);
	CHECK(want.fault && want.err == (PF_PROT | PF_WRITE | PF_USER),
	      "model: user write to a read-only page gives err 0x%x", want.err);
	CHECK(outcome_equal(&want, &got, ACC_WRITE),
	      "control access: got fault %d err 0x%x", got.fault, got.err);
	wrong = want;
	wrong.err ^= PF_USER;
	CHECK(!outcome_equal(&wrong, &got, ACC_WRITE), "a wrong U bit went unnoticed");
	wrong = want;
	wrong.cr2 += 8;
	CHECK(!outcome_equal(&wrong, &got, ACC_WRITE), "a wrong CR2 went unnoticed");
	want_ok(&wrong, 0);
	CHECK(!outcome_equal(&wrong, &got, ACC_WRITE), "a missing fault went unnoticed");
}

void test_perm(void)
{
	struct perm_ctx c = { .va = TEST_VA, .wval = 0x1000, .value = 0 };
	unsigned int i, j;

	c.as = test_as_create();
	c.frame = test_frame();
	as_map(c.as, c.va, c.frame, _PAGE_SPECIAL);
	c.pt = pte_read(as_entry(c.as, c.va, 2, false)) & PTE_PFN_MASK;
	as_switch(c.as);

	for (i = 0; i < ARRAY_SIZE(leaf_combos); i++) {
		u8 pde = leaf_combos[i];

		for (j = 0; j < ARRAY_SIZE(leaf_combos); j++)
			run_combo(&c, pde, leaf_combos[j]);
	}
	negative_control(&c);

	set_combo(&c, MF_TABLE, MF_P);
	test_as_destroy(c.as);
	palloc_free(c.frame);
}
