// SPDX-License-Identifier: GPL-2.0
/*
 * model.c - the reference model of x86-64 4-level paging the suite checks
 * against.  It knows the architecture's rules (AMD APM vol. 2 5.6, Intel
 * SDM vol. 3 4.6-4.7) and nothing of page tables in memory:
 *
 *   - the walk stops at the first entry with P=0: #PF, P=0 in the code;
 *   - a present entry with a reserved bit set (or NX while EFER.NXE=0)
 *     stops it with #PF, P=1 and RSVD=1;
 *   - otherwise rights are the AND over the walk: ring 3 needs U on every
 *     level; a write needs W on every level from ring 3, and from ring 0
 *     only when CR0.WP=1; a fetch needs NX clear on every level when
 *     EFER.NXE=1 (no SMEP: ring 0 may fetch user pages);
 *   - the error code carries W for a write, U for ring 3, and I/D for a
 *     fetch only when EFER.NXE=1; CR2 is the accessed address.
 */
#include "tests.h"

void model_expect(const struct model_walk *w, enum acc_kind kind, int cpl,
		  bool wp, bool nxe, u64 va, struct outcome *want)
{
	u32 err = (kind == ACC_WRITE ? PF_WRITE : 0) |
		  (cpl == 3 ? PF_USER : 0) |
		  (kind == ACC_EXEC && nxe ? PF_INSTR : 0);
	bool user = true, writable = true, exec = true;
	int i;

	for (i = 0; i < w->n; i++) {
		u8 f = w->flags[i];

		if (!(f & MF_P)) {
			want_pf(want, va, err);
			return;
		}
		if ((f & MF_RSVD) || ((f & MF_NX) && !nxe)) {
			want_pf(want, va, err | PF_PROT | PF_RSVD);
			return;
		}
		user = user && (f & MF_U);
		writable = writable && (f & MF_W);
		exec = exec && !(f & MF_NX);
	}
	if ((cpl == 3 && !user) ||
	    (kind == ACC_WRITE && !writable && (cpl == 3 || wp)) ||
	    (kind == ACC_EXEC && !exec))
		want_pf(want, va, err | PF_PROT);
	else
		want_ok(want, 0);
}

/* The architectural bits for model flags (MF_RSVD is the caller's). */
u64 model_pte_bits(u8 mf)
{
	return (mf & MF_P ? _PAGE_PRESENT : 0) | (mf & MF_W ? _PAGE_RW : 0) |
	       (mf & MF_U ? _PAGE_USER : 0) | (mf & MF_NX ? _PAGE_NX : 0);
}

/* A 4 KiB translation whose PML4E and PDPTE are what as.c makes. */
void model_walk_4k(struct model_walk *w, u8 pde, u8 pte)
{
	w->n = 4;
	w->flags[0] = MF_TABLE;
	w->flags[1] = MF_TABLE;
	w->flags[2] = pde;
	w->flags[3] = pte;
}
