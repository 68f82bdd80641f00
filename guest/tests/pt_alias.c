// SPDX-License-Identifier: GPL-2.0
/*
 * pt_alias.c - case 8, a page table mapped into its own address space
 * and written through that mapping.  This case deliberately bypasses
 * pv_mmu for those writes (that is the point: a hypervisor must notice
 * writes to a page table however they are made); TLB maintenance still
 * goes through pv_mmu.
 *
 * The PT of a 2 MiB window maps itself at entry SELF, so ALIAS reads and
 * writes the PT: an entry changed through ALIAS and INVLPGed must take
 * effect (new frame, read-only, gone), entries written through pv_mmu
 * must read back through ALIAS, and ALIAS can make itself read-only.  The
 * PD is aliased too: a PDE cleared, restored and pointed at the other PT
 * (two PDEs sharing one PT) through the alias, with full flushes.
 */
#include "tests.h"

#define T	(TEST_VA + 4 * PMD_SIZE)
#define T2	(T + PMD_SIZE)
#define SELF	16
#define ALIAS	(T + SELF * PAGE_SIZE)
#define ALIAS2	(T + (SELF + 1) * PAGE_SIZE)

#define LEAF	(_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_SPECIAL)

static void expect_value(u64 va, int cpl, u64 value, const char *what)
{
	struct outcome want;

	want_ok(&want, value);
	check_access(va + DATA_OFF, ACC_READ, cpl, 0, &want, what);
}

static void expect_fault(u64 va, enum acc_kind kind, u32 err, const char *what)
{
	struct outcome want;

	want_pf(&want, va, err);
	check_access(va, kind, 0, 0, &want, what);
}

void test_pt_alias(void)
{
	volatile pte_t *ap = (pte_t *)ALIAS, *pdp = (pte_t *)ALIAS2;
	struct as *as = test_as_create();
	u64 a = test_frame(), b = test_frame(), pt, pt2, pd;
	pte_t *self;

	*(u64 *)phys_to_virt(a + DATA_OFF) = 0xaaaa;
	*(u64 *)phys_to_virt(b + DATA_OFF) = 0xbbbb;
	as_switch(as);
	as_map(as, T, a, LEAF);
	as_map(as, T + PAGE_SIZE, a, LEAF);
	as_map(as, T2, a, LEAF);
	pt = pte_read(as_entry(as, T, 2, false)) & PTE_PFN_MASK;
	pt2 = pte_read(as_entry(as, T2, 2, false)) & PTE_PFN_MASK;
	pd = pte_read(as_entry(as, T, 3, false)) & PTE_PFN_MASK;
	as_map(as, ALIAS, pt, _PAGE_RW | _PAGE_SPECIAL);
	as_map(as, ALIAS2, pd, _PAGE_RW | _PAGE_SPECIAL);
	self = phys_to_virt(pt);

	/* What pv_mmu wrote reads back through the alias. */
	CHECK(ap[0] == pte_read(&self[0]) && (ap[0] & PTE_PFN_MASK) == a,
	      "alias reads PTE 0 as 0x%llx", (u64)ap[0]);
	CHECK((ap[SELF] & PTE_PFN_MASK) == pt, "alias reads its own PTE as 0x%llx",
	      (u64)ap[SELF]);
	expect_value(T, 0, 0xaaaa, "before any alias write");

	/* Remap through the alias. */
	ap[0] = b | LEAF;
	flush_tlb_page(T);
	expect_value(T, 0, 0xbbbb, "remapped through the alias");
	expect_value(T, 3, 0xbbbb, "remapped through the alias");

	/* Read-only through the alias. */
	ap[1] = a | (LEAF & ~_PAGE_RW);
	flush_tlb_page(T + PAGE_SIZE);
	expect_value(T + PAGE_SIZE, 0, 0xaaaa, "read-only through the alias");
	expect_fault(T + PAGE_SIZE + DATA_OFF, ACC_WRITE, PF_PROT | PF_WRITE,
		     "read-only through the alias");

	/* Unmapped through the alias. */
	ap[0] = 0;
	flush_tlb_page(T);
	expect_fault(T + DATA_OFF, ACC_READ, 0, "cleared through the alias");

	/* A pv_mmu update is visible through the alias. */
	as_map(as, T + 2 * PAGE_SIZE, b, LEAF);
	CHECK((ap[2] & PTE_PFN_MASK) == b, "alias reads the new PTE 2 as 0x%llx",
	      (u64)ap[2]);
	expect_value(T + 2 * PAGE_SIZE, 0, 0xbbbb, "mapped through pv_mmu");

	/* The alias makes itself read-only, then pv_mmu makes it writable. */
	ap[SELF] = pt | _PAGE_PRESENT | _PAGE_SPECIAL;
	flush_tlb_page(ALIAS);
	expect_fault(ALIAS + 3 * 8, ACC_WRITE, PF_PROT | PF_WRITE,
		     "alias made itself read-only");
	CHECK((ap[2] & PTE_PFN_MASK) == b, "read-only alias reads 0x%llx",
	      (u64)ap[2]);
	as_protect(as, ALIAS, _PAGE_RW, 0);
	ap[3] = b | LEAF;
	flush_tlb_page(T + 3 * PAGE_SIZE);
	expect_value(T + 3 * PAGE_SIZE, 0, 0xbbbb, "alias writable again");

	/* The PD through its alias: clear, restore, share a PT. */
	expect_value(T2, 0, 0xaaaa, "second PT");
	pdp[pt_index(T2, 2)] = 0;
	flush_tlb();
	expect_fault(T2 + DATA_OFF, ACC_READ, 0, "PDE cleared through the alias");
	pdp[pt_index(T2, 2)] = pt2 | _PAGE_TABLE;
	flush_tlb();
	expect_value(T2, 0, 0xaaaa, "PDE restored through the alias");
	pdp[pt_index(T2, 2)] = pt | _PAGE_TABLE;
	flush_tlb();
	expect_value(T2 + 2 * PAGE_SIZE, 0, 0xbbbb, "two PDEs, one PT");
	expect_value(T2 + 2 * PAGE_SIZE, 3, 0xbbbb, "two PDEs, one PT");
	expect_fault(T2 + DATA_OFF, ACC_READ, 0, "two PDEs, one PT");
	ap[0] = a | LEAF;
	flush_tlb_page(T2);
	flush_tlb_page(T);
	expect_value(T2, 0, 0xaaaa, "one PTE seen through two PDEs");
	expect_value(T, 0, 0xaaaa, "one PTE seen through two PDEs");
	pdp[pt_index(T2, 2)] = pt2 | _PAGE_TABLE;
	flush_tlb();
	expect_value(T2, 0, 0xaaaa, "PDE back to its own PT");

	test_as_destroy(as);
	palloc_free(a);
	palloc_free(b);
}
