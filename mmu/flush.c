// SPDX-License-Identifier: GPL-2.0
/*
 * flush.c - the TLB flush rule
 *
 * The rule: when an spte loses a right (it is zapped, or loses W), every
 * CPU that might still hold the old translation in its TLB is made to drop
 * it before anyone relies on the change: before a write-protected frame is
 * treated as protected, before a zapped shadow page is freed, before a host
 * page the MMU notifier asked about is released.
 *
 * How: each vCPU gets UMBRA_REQ_TLB_FLUSH, which its next entry honours by
 * taking a new ASID (svm/run.c).  vCPUs that are in the guest right now are
 * sent an IPI and waited for: the IPI forces a #VMEXIT, and the handler
 * runs only once that CPU is back in the host with interrupts on, so when
 * the wait ends no CPU is executing the guest on the old translations.
 * The request-then-IPI order pairs with the publish-then-check order on
 * entry (umbra_vcpu_request() in core/vcpu.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include "mmu.h"

static void flush_ipi(void *unused)
{
	/* Nothing: arriving here means the CPU has left the guest. */
}

/**
 * umbra_mmu_flush_remote_tlbs - make every vCPU of @vm drop its TLB
 * @vm: the VM
 *
 * Context: may hold mmu_lock (a spinlock); interrupts must be enabled.
 */
void umbra_mmu_flush_remote_tlbs(struct umbra_vm *vm)
{
	cpumask_var_t cpus;
	bool have_mask;
	unsigned int i;
	int me, cpu;

	have_mask = zalloc_cpumask_var(&cpus, GFP_ATOMIC);
	me = get_cpu();
	for (i = 0; i < UMBRA_MAX_VCPUS; i++) {
		struct umbra_vcpu *v = READ_ONCE(vm->vcpus[i]);

		if (!v)
			continue;
		set_bit(UMBRA_REQ_TLB_FLUSH, &v->requests);
		/* The request before cpu is read; pairs with smp_mb() in svm/run.c. */
		smp_mb__after_atomic();
		cpu = READ_ONCE(v->cpu);
		if (cpu >= 0 && cpu != me && have_mask)
			cpumask_set_cpu(cpu, cpus);
	}
	put_cpu();
	/* Without a mask, everyone: the rule matters more than the cost. */
	if (have_mask)
		on_each_cpu_mask(cpus, flush_ipi, NULL, true);
	else
		on_each_cpu(flush_ipi, NULL, true);
	free_cpumask_var(cpus);
}

/**
 * umbra_sp_free_list - free zapped shadow pages
 * @vm: their VM
 * @zapped: pages from umbra_sp_zap(), no longer reachable by any CPU
 */
void umbra_sp_free_list(struct umbra_vm *vm, struct list_head *zapped)
{
	struct umbra_sp *sp, *tmp;

	list_for_each_entry_safe(sp, tmp, zapped, zap_link) {
		list_del(&sp->zap_link);
		set_page_private(virt_to_page(sp->spt), 0);
		umbra_mmu_sp_free(vm, sp);
	}
}

/**
 * umbra_mmu_flush_and_free - flush if needed, then free what was zapped
 * @vm: the VM
 * @flush: some spte lost a right
 * @zapped: zapped pages; freeing them needs the flush too
 *
 * Also the end of a batch of MMU changes made from outside mmu/ (the PV
 * mmu_op queue): one flush for the lot.
 *
 * Context: without mmu_lock (freeing may take a while).
 */
void umbra_mmu_flush_and_free(struct umbra_vm *vm, bool flush, struct list_head *zapped)
{
	if (flush || !list_empty(zapped))
		umbra_mmu_flush_remote_tlbs(vm);
	umbra_sp_free_list(vm, zapped);
}

