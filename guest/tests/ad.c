// SPDX-License-Identifier: GPL-2.0
/*
 * ad.c - case 10, accessed and dirty bits in the guest's own entries: a
 * read (or fetch) sets A and not D, a write sets D; after clearing them
 * (through pv_mmu, then INVLPG) the next access sets them again, also when
 * the translation was cached writable.  A walk sets A in the upper levels
 * too.  A write that faults on a read-only page sets no D.  The same for
 * a 2 MiB page (A and D in the PDE), and from ring 3.  An entry written
 * already accessed but clean: a read leaves D clear, a write sets it
 * (under pv with deferred A/D umbra maps such an entry writable at once
 * and D lags in its copy until sync_ad(), which every check here calls
 * first, as pv_mmu.h asks of code that reads D).
 */
#include "tests.h"

#define NPAGES	8
#define AD	(_PAGE_ACCESSED | _PAGE_DIRTY)

static const char *ad_name(u64 e)
{
	static const char *const names[] = { "-", "A", "D", "AD" };

	return names[((e & _PAGE_ACCESSED) ? 1 : 0) | ((e & _PAGE_DIRTY) ? 2 : 0)];
}

static void expect_ad(pte_t *ep, u64 want, const char *what, u64 va)
{
	u64 e;

	sync_ad(ep);
	e = pte_read(ep);

	CHECK((e & AD) == want, "%s at 0x%llx: entry has %s, want %s", what, va,
	      ad_name(e), ad_name(want));
}

static void clear_bits(pte_t *ep, u64 bits, u64 va)
{
	set_pte(ep, pte_read(ep) & ~bits);
	flush_tlb_page(va);
}

static void access_ok(u64 va, enum acc_kind kind, int cpl)
{
	struct outcome want, got;

	want_ok(&want, 0);
	do_access(va + (kind == ACC_EXEC ? 0 : DATA_OFF), kind, cpl, 0, &got);
	CHECK(!got.fault, "%s 0x%llx cpl%d faulted with err 0x%x", acc_name(kind),
	      va, cpl, got.err);
}

static void one_page(struct as *as, u64 va, int cpl)
{
	pte_t *ep = as_entry(as, va, 1, false);

	expect_ad(ep, 0, "never accessed", va);
	access_ok(va, ACC_READ, cpl);
	expect_ad(ep, _PAGE_ACCESSED, "after a read", va);
	access_ok(va, ACC_WRITE, cpl);
	expect_ad(ep, AD, "after a write", va);

	clear_bits(ep, AD, va);
	expect_ad(ep, 0, "cleared", va);
	access_ok(va, ACC_READ, cpl);
	expect_ad(ep, _PAGE_ACCESSED, "read after clearing", va);
	access_ok(va, ACC_WRITE, cpl);
	expect_ad(ep, AD, "write after clearing", va);

	clear_bits(ep, _PAGE_DIRTY, va);
	access_ok(va, ACC_WRITE, cpl);
	expect_ad(ep, AD, "write after clearing D", va);

	clear_bits(ep, _PAGE_ACCESSED, va);
	access_ok(va, ACC_READ, cpl);
	expect_ad(ep, AD, "read after clearing A", va);

	clear_bits(ep, AD, va);
	access_ok(va, ACC_EXEC, cpl);
	expect_ad(ep, _PAGE_ACCESSED, "fetch", va);

	/* Write to read-only: a fault, and no D. */
	clear_bits(ep, AD | _PAGE_RW, va);
	{
		struct outcome want;

		want_pf(&want, va + DATA_OFF, PF_PROT | PF_WRITE | (cpl ? PF_USER : 0));
		check_access(va + DATA_OFF, ACC_WRITE, cpl, 1, &want, "read-only");
	}
	sync_ad(ep);
	CHECK(!(pte_read(ep) & _PAGE_DIRTY), "a faulting write set D at 0x%llx", va);
	set_pte(ep, pte_read(ep) | _PAGE_RW);
	flush_tlb_page(va);
}

/*
 * An entry written with A already set and D clear, as an OS maps a page it
 * is about to use: the first read leaves D clear, the first write sets it,
 * at once or (deferred A/D) by the next sync_ad().  Twice: the second time
 * the entry is rewritten over a mapping the write dirtied.
 */
static void preaccessed(struct as *as, u64 va, int cpl)
{
	pte_t *ep = as_entry(as, va, 1, false);
	u64 clean = (pte_read(ep) & ~_PAGE_DIRTY) | _PAGE_ACCESSED | _PAGE_RW;
	int round;

	for (round = 0; round < 2; round++) {
		set_pte(ep, clean);
		flush_tlb_page(va);
		access_ok(va, ACC_READ, cpl);
		expect_ad(ep, _PAGE_ACCESSED, "pre-accessed entry after a read", va);
		access_ok(va, ACC_WRITE, cpl);
		expect_ad(ep, AD, "pre-accessed entry after a write", va);
		access_ok(va, ACC_WRITE, cpl);
		expect_ad(ep, AD, "pre-accessed entry after a second write", va);
	}
}

/* A in the PDE, PDPTE and PML4E of @va, cleared and set again by a walk. */
static void upper_levels(struct as *as, u64 va)
{
	int level;

	for (level = 2; level <= 4; level++) {
		pte_t *ep = as_entry(as, va, level, false);

		as_set_entry(as, va, level, pte_read(ep) & ~_PAGE_ACCESSED);
		CHECK(!(pte_read(ep) & _PAGE_ACCESSED), "level %d A not cleared", level);
		access_ok(va, ACC_READ, 0);
		CHECK(pte_read(ep) & _PAGE_ACCESSED,
		      "a walk did not set A in the level %d entry", level);
	}
}

static void huge_page(struct as *as)
{
	u64 va = TEST_VA + PUD_SIZE / 2, huge = palloc_alloc_huge();
	pte_t *ep;

	if (!huge)
		panic("accessed_dirty: no 2 MiB block");
	*(u8 *)phys_to_virt(huge + 5 * PAGE_SIZE) = RET_INSN;
	as_map_2m(as, va, huge, _PAGE_RW | _PAGE_USER);
	ep = as_entry(as, va, 2, false);
	expect_ad(ep, 0, "2 MiB never accessed", va);
	access_ok(va + 5 * PAGE_SIZE, ACC_READ, 0);
	expect_ad(ep, _PAGE_ACCESSED, "2 MiB after a read", va);
	access_ok(va + 300 * PAGE_SIZE, ACC_WRITE, 3);
	expect_ad(ep, AD, "2 MiB after a write", va);
	clear_bits(ep, AD, va);
	access_ok(va + 5 * PAGE_SIZE, ACC_EXEC, 0);
	expect_ad(ep, _PAGE_ACCESSED, "2 MiB fetch after clearing", va);
	access_ok(va + 5 * PAGE_SIZE, ACC_WRITE, 0);
	expect_ad(ep, AD, "2 MiB write after clearing", va);
	as_unmap(as, va);
	palloc_free_huge(huge);
}

void test_ad(void)
{
	struct as *as = test_as_create();
	unsigned int i;

	as_switch(as);
	for (i = 0; i < NPAGES; i++) {
		u64 va = TEST_VA + (u64)i * PAGE_SIZE;

		as_map(as, va, test_frame(), _PAGE_RW | _PAGE_USER);
		one_page(as, va, i & 1 ? 3 : 0);
		preaccessed(as, va, i & 1 ? 3 : 0);
	}
	upper_levels(as, TEST_VA);
	huge_page(as);
	test_as_destroy(as);
}
