// SPDX-License-Identifier: GPL-2.0
/*
 * pv_mmu_native.c - the native pv_mmu backend: what a guest does on bare
 * metal.  Entries are written with one 64-bit store (so the CPU, or a
 * hypervisor's page walker, never sees a torn entry), INVLPG and MOV to
 * CR3 do the TLB work, and lazy MMU mode is a no-op because nothing is
 * batched.  Also owns backend selection (with the fallback to native
 * when a backend's probe fails) and the op counters of pv_mmu_stats.
 */
#include "guest.h"

static void native_set_pte(pte_t *ptep, u64 val)
{
	WRITE_ONCE(*ptep, val);
}

/* What the caller read does not matter: the store is the whole change. */
static void native_modify_prot(pte_t *ptep, u64 old, u64 val)
{
	(void)old;
	WRITE_ONCE(*ptep, val);
}

static void native_clear_pte(pte_t *ptep)
{
	WRITE_ONCE(*ptep, 0);
}

static void native_invlpg(u64 va)
{
	__invlpg(va);
}

static void native_flush_tlb(void)
{
	write_cr3(read_cr3());
}

static void native_load_cr3(u64 pa)
{
	write_cr3(pa);
}

static void native_release_pt(u64 pa)
{
	(void)pa;
}

/* The CPU writes A and D into the entries themselves: always current. */
static void native_sync_ad(pte_t *ptep)
{
	(void)ptep;
}

static void native_nop(void)
{
}

const struct pv_mmu_ops pv_mmu_native_ops = {
	.name		= "native",
	.set_pte	= native_set_pte,
	.modify_prot	= native_modify_prot,
	.clear_pte	= native_clear_pte,
	.invlpg		= native_invlpg,
	.flush_tlb	= native_flush_tlb,
	.load_cr3	= native_load_cr3,
	.release_pt	= native_release_pt,
	.sync_ad	= native_sync_ad,
	.enter_lazy_mmu	= native_nop,
	.leave_lazy_mmu	= native_nop,
};

const struct pv_mmu_ops *pv_mmu = &pv_mmu_native_ops;
struct pv_mmu_stats pv_mmu_stats;

static const struct pv_mmu_ops *const backends[] = {
	&pv_mmu_native_ops,
	&pv_mmu_pv_ops,
};

int pv_mmu_select(const char *name)
{
	const struct pv_mmu_ops *ops = NULL;
	const char *why;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(backends); i++)
		if (!strcmp(backends[i]->name, name))
			ops = backends[i];
	if (!ops)
		return -EINVAL;
	why = ops->probe ? ops->probe() : NULL;
	if (why) {
		kprintf("guest: pv_mmu %s unavailable (%s), using native\n",
			ops->name, why);
		ops = &pv_mmu_native_ops;
	}
	pv_mmu = ops;
	return 0;
}
