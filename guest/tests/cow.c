// SPDX-License-Identifier: GPL-2.0
/*
 * cow.c - case 9, fork-like copy-on-write.  A parent with writable and
 * read-only pages is copied (as_fork: writable pages become read-only +
 * COW on both sides); the copy is copied again.  A #PF hook resolves
 * write faults on COW pages (as_cow_fault: copy the frame, or reuse it
 * when this mapping is its last user).  The model keeps each space's
 * values and which pages still owe a COW fault: every write must fault
 * exactly when the model says, with P|W(|U) and the written address in
 * CR2; every space must keep reading its own data, also after the others
 * are destroyed; a write to a page that was read-only before the fork
 * must stay a real fault; and a last user must get its frame back
 * without a copy.
 */
#include "tests.h"

#define NPAGES	16	/* writable */
#define NRO	2	/* read-only, after the writable ones */
#define NALL	(NPAGES + NRO)

struct cow_model {
	struct as *as;
	u64 val[NALL];
	bool pending[NALL];	/* the next write takes a COW fault */
};

static struct {
	u64 faults;
	u64 bad;
	u32 bad_err;
	u64 bad_cr2;
	u64 expect_cr2;
} cw;

static bool cow_hook(const struct pf_info *pf)
{
	u32 want = PF_PROT | PF_WRITE | (pf->user ? PF_USER : 0);

	if ((pf->err & (PF_PROT | PF_WRITE)) != (PF_PROT | PF_WRITE) ||
	    as_cow_fault(current_as, pf->cr2))
		return false;
	cw.faults++;
	if ((pf->err != want || pf->cr2 != cw.expect_cr2) && !cw.bad++) {
		cw.bad_err = pf->err;
		cw.bad_cr2 = pf->cr2;
	}
	return true;
}

static u64 page_va(unsigned int i)
{
	return TEST_VA + (u64)i * PAGE_SIZE + DATA_OFF;
}

static u64 frame_of(struct as *as, unsigned int i)
{
	int level;

	return pte_read(as_leaf(as, page_va(i), &level)) & PTE_PFN_MASK;
}

/* COW faults so far: the hook's, and those umbra resolved (pv_cow). */
static u64 cow_faults(void)
{
	as_cow_reap();
	return cw.faults + pv_cow_resolved;
}

/* Writes page @i of @m (which must be current) and checks the fault count. */
static void cow_write(struct cow_model *m, unsigned int i, int cpl, u64 val)
{
	u64 before = cow_faults();
	struct outcome want;

	cw.expect_cr2 = page_va(i);
	if (i >= NPAGES)
		want_pf(&want, page_va(i), PF_PROT | PF_WRITE | (cpl ? PF_USER : 0));
	else
		want_ok(&want, 0);
	if (!check_access(page_va(i), ACC_WRITE, cpl, val, &want, "COW write"))
		return;
	before = cow_faults() - before;
	CHECK(before == (m->pending[i] ? 1 : 0),
	      "space %d page %u: %llu COW faults, model says %d", m->as->id, i,
	      before, m->pending[i]);
	if (i < NPAGES) {
		m->val[i] = val;
		m->pending[i] = false;
	}
}

static void verify(struct cow_model *m, int cpl, const char *what)
{
	struct outcome want;
	unsigned int i;

	as_switch(m->as);
	for (i = 0; i < NALL; i++) {
		want_ok(&want, m->val[i]);
		check_access(page_va(i), ACC_READ, cpl, 0, &want, what);
	}
}

static void fork_model(struct cow_model *child, struct cow_model *parent)
{
	unsigned int i;

	as_switch(parent->as);
	child->as = as_fork(parent->as);
	if (!child->as)
		panic("fork_cow: out of memory");
	for (i = 0; i < NALL; i++) {
		child->val[i] = parent->val[i];
		parent->pending[i] = i < NPAGES;
		child->pending[i] = i < NPAGES;
	}
}

void test_cow(void)
{
	static struct cow_model parent, child, grand;
	u64 orig[NALL];
	unsigned int i;

	memset(&cw, 0, sizeof(cw));
	memset(&parent, 0, sizeof(parent));
	parent.as = test_as_create();
	for (i = 0; i < NALL; i++) {
		orig[i] = test_frame();
		parent.val[i] = 0x9000 + i;
		*(u64 *)phys_to_virt(orig[i] + DATA_OFF) = parent.val[i];
		as_map(parent.as, TEST_VA + i * PAGE_SIZE, orig[i],
		       _PAGE_USER | (i < NPAGES ? _PAGE_RW : 0));
	}
	pf_hook = cow_hook;
	verify(&parent, 0, "parent before fork");

	fork_model(&child, &parent);
	for (i = 0; i < NALL; i++)
		CHECK(page_count(orig[i]) == 2, "page %u: count %u after fork",
		      i, page_count(orig[i]));

	as_switch(parent.as);
	for (i = 0; i < 8; i++)
		cow_write(&parent, i, i & 1 ? 3 : 0, 0x9100 + i);
	for (i = 0; i < 8; i++)
		cow_write(&parent, i, 0, 0x9180 + i);	/* no second fault */
	cow_write(&parent, NPAGES, 0, 1);		/* read-only stays so */
	verify(&parent, 3, "parent after its writes");
	verify(&child, 0, "child after the parent's writes");

	fork_model(&grand, &child);
	as_switch(child.as);
	for (i = 4; i < 12; i++)
		cow_write(&child, i, 3, 0x9200 + i);
	as_switch(grand.as);
	for (i = 0; i < 4; i++)
		cow_write(&grand, i, 0, 0x9300 + i);
	cow_write(&grand, 12, 3, 0x9312);

	/*
	 * The child is the last user of orig[0..3]: reuse, no copy.  Where
	 * umbra resolves COW faults it copies all the same (pv.h), and the
	 * reap frees the frame instead (the case's leak check sees that it
	 * does: the frame may well be back in umbra's pool by now).
	 */
	as_switch(child.as);
	for (i = 0; i < 4; i++) {
		CHECK(page_count(orig[i]) == 1, "page %u: count %u, want 1",
		      i, page_count(orig[i]));
		cow_write(&child, i, 0, 0x9400 + i);
		if (pv_cow_on)
			CHECK(frame_of(child.as, i) != orig[i],
			      "page %u: umbra resolved the fault without a copy", i);
		else
			CHECK(frame_of(child.as, i) == orig[i],
			      "page %u: last user got a copy, not its frame", i);
	}

	verify(&parent, 0, "parent");
	verify(&child, 3, "child");
	verify(&grand, 0, "grandchild");
	CHECK(!cw.bad, "%llu COW faults with a wrong error code or CR2, first err 0x%x cr2 0x%llx",
	      cw.bad, cw.bad_err, cw.bad_cr2);

	/* Destroy the parent first: the others keep their data. */
	test_as_destroy(parent.as);
	verify(&child, 0, "child after the parent exited");
	verify(&grand, 3, "grandchild after the parent exited");
	test_as_destroy(child.as);
	verify(&grand, 0, "grandchild alone");
	test_as_destroy(grand.as);
}
