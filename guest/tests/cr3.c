// SPDX-License-Identifier: GPL-2.0
/*
 * cr3.c - case 6, CR3 switches among address spaces that share page
 * tables.  Ten address spaces, each with:
 *   TEST_VA          a private page (own tables), and at TEST_VA + 4 KiB a
 *                    second one in odd-numbered spaces only;
 *   TEST_VA2 (slot 2) a PDPT shared by all ten: one shared page, and at
 *                    +1 GiB a PD that comes and goes under the shared PDPT;
 *   TEST_VA3 (slot 3) own PDPTs, but a PD shared per group of spaces
 *                    (id % 3), whose page is remapped between two frames,
 *                    sometimes through a member that is not current.
 * After every switch each space's view is checked against the model
 * (values, and #PF where nothing is mapped), from ring 0 and ring 3.
 */
#include "tests.h"

#define NAS	10
#define NGRP	3
#define ROUNDS	400

#define VA_PRIV		TEST_VA
#define VA_PRIV2	(TEST_VA + PAGE_SIZE)
#define VA_SH		TEST_VA2
#define VA_SH2		(TEST_VA2 + PUD_SIZE)
#define VA_GRP		TEST_VA3

#define PROT		(_PAGE_RW | _PAGE_USER)

static struct {
	struct as *as[NAS];
	u64 priv[NAS], priv2[NAS];	/* values at DATA_OFF */
	u64 sh_frame, sh_val;
	u64 sh2_frame, sh2_val;
	bool sh2_mapped;
	u64 grp_frame[NGRP][2], grp_val[NGRP][2];
	int grp_cur[NGRP];
	u64 wval;
} m;

static void expect_value(u64 va, int cpl, u64 value, const char *what)
{
	struct outcome want;

	want_ok(&want, value);
	check_access(va + DATA_OFF, ACC_READ, cpl, 0, &want, what);
}

static void expect_hole(u64 va, int cpl, const char *what)
{
	struct outcome want;

	want_pf(&want, va + DATA_OFF, cpl ? PF_USER : 0);
	check_access(va + DATA_OFF, ACC_READ, cpl, 0, &want, what);
}

static void verify(int j, int cpl)
{
	int g = j % NGRP;

	expect_value(VA_PRIV, cpl, m.priv[j], "private page");
	if (j & 1)
		expect_value(VA_PRIV2, cpl, m.priv2[j], "odd-only page");
	else
		expect_hole(VA_PRIV2, cpl, "odd-only page in an even space");
	expect_value(VA_SH, cpl, m.sh_val, "page under the shared PDPT");
	if (m.sh2_mapped)
		expect_value(VA_SH2, cpl, m.sh2_val, "PD under the shared PDPT");
	else
		expect_hole(VA_SH2, cpl, "zapped PD under the shared PDPT");
	expect_value(VA_GRP, cpl, m.grp_val[g][m.grp_cur[g]], "group PD page");
}

static void write_value(u64 va, int cpl, u64 *model, const char *what)
{
	struct outcome want;

	want_ok(&want, 0);
	if (check_access(va + DATA_OFF, ACC_WRITE, cpl, ++m.wval, &want, what))
		*model = m.wval;
}

static void setup(void)
{
	u64 frame;
	int i, g;

	m.wval = 0x6000;
	m.sh_frame = test_frame();
	m.sh2_frame = test_frame();
	for (g = 0; g < NGRP; g++) {
		for (i = 0; i < 2; i++) {
			m.grp_frame[g][i] = test_frame();
			m.grp_val[g][i] = 0x6600 + g * 2 + i;
			*(u64 *)phys_to_virt(m.grp_frame[g][i] + DATA_OFF) =
				m.grp_val[g][i];
		}
	}
	for (i = 0; i < NAS; i++) {
		m.as[i] = test_as_create();
		frame = test_frame();
		m.priv[i] = 0x6100 + i;
		*(u64 *)phys_to_virt(frame + DATA_OFF) = m.priv[i];
		as_map(m.as[i], VA_PRIV, frame, PROT);
		if (i & 1) {
			frame = test_frame();
			m.priv2[i] = 0x6200 + i;
			*(u64 *)phys_to_virt(frame + DATA_OFF) = m.priv2[i];
			as_map(m.as[i], VA_PRIV2, frame, PROT);
		}
		if (!i)
			as_map(m.as[0], VA_SH, m.sh_frame, PROT | _PAGE_SPECIAL);
		else
			as_share_table(m.as[i], m.as[0], VA_SH, 3);
		g = i % NGRP;
		if (i < NGRP)
			as_map(m.as[i], VA_GRP, m.grp_frame[g][0],
			       PROT | _PAGE_SPECIAL);
		else
			as_share_table(m.as[i], m.as[g], VA_GRP, 2);
	}
}

void test_cr3(void)
{
	u64 seed = test_seed ^ 0xc3c3c3c3ULL;
	int r, i, j = -1, g;

	memset(&m, 0, sizeof(m));
	setup();

	for (r = 0; r < ROUNDS && !test_failed(); r++) {
		int next = prng_below(&seed, NAS - 1);
		int cpl = r % 3 == 2 ? 3 : 0;

		j = next >= j && j >= 0 ? next + 1 : next;	/* a real switch */
		as_switch(m.as[j]);
		verify(j, cpl);

		write_value(VA_PRIV, cpl, &m.priv[j], "private write");
		write_value(VA_SH, cpl, &m.sh_val, "shared write");
		if (r % 4 == 0) {
			/* Remap a group's page through any member. */
			int who;

			g = prng_below(&seed, NGRP);
			who = g + NGRP * prng_below(&seed, (NAS - g + NGRP - 1) / NGRP);
			m.grp_cur[g] ^= 1;
			as_map(m.as[who], VA_GRP, m.grp_frame[g][m.grp_cur[g]],
			       PROT | _PAGE_SPECIAL);
		}
		if (r % 5 == 0) {
			if (m.sh2_mapped)
				as_zap_table(m.as[j], VA_SH2, 2);
			else
				as_map(m.as[j], VA_SH2, m.sh2_frame,
				       PROT | _PAGE_SPECIAL);
			m.sh2_mapped = !m.sh2_mapped;
		}
		verify(j, cpl);
	}
	/* Every space once more, in order, from ring 3. */
	for (i = 0; i < NAS && !test_failed(); i++) {
		as_switch(m.as[i]);
		verify(i, 3);
	}
	/* Negative control: no space sees its neighbour's private page. */
	for (i = 0; i < NAS && !test_failed(); i++) {
		struct outcome want, got;

		as_switch(m.as[i]);
		want_ok(&want, m.priv[(i + 1) % NAS]);
		do_access(VA_PRIV + DATA_OFF, ACC_READ, 0, 0, &got);
		CHECK(!outcome_equal(&want, &got, ACC_READ),
		      "space %d reads space %d's private value", i, (i + 1) % NAS);
	}

	as_switch(kernel_as);
	for (i = 0; i < NAS; i++)
		test_as_destroy(m.as[i]);
	palloc_free(m.sh_frame);
	palloc_free(m.sh2_frame);
	for (g = 0; g < NGRP; g++)
		for (i = 0; i < 2; i++)
			palloc_free(m.grp_frame[g][i]);
}
