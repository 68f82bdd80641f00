// SPDX-License-Identifier: GPL-2.0
/*
 * run.c - the KVM_RUN loop
 *
 * What it owns:
 *   the loop that enters the guest until something needs userspace, the
 *   order of things around VMRUN, and ASIDs.
 *
 * Around VMRUN, in this order (each step names why):
 *   1. finish the I/O or MMIO userspace just completed (umbra_svm_complete_user_exit);
 *   2. a pending signal ends KVM_RUN with -EINTR (KVM_EXIT_INTR);
 *   3. the MMU makes sure a shadow root is loaded (may sleep: before 4);
 *   4. preemption and interrupts off: from here the vCPU is bound to this
 *      CPU, so its ASID, the host save area and EFER.SVME are this CPU's;
 *   5. requests raised since step 3 (a remote TLB flush, a zapped root)
 *      send us back to step 2 rather than into the guest with stale state;
 *   6. CLGI, VMRUN, STGI;
 *   7. interrupts on again: the host interrupt that caused an INTR exit is
 *      taken here;
 *   8. the exit is handled with interrupts on (it may fault guest memory in).
 *
 * ASIDs: AMD-V tags TLB entries with the ASID.  A vCPU keeps its ASID while
 * it stays on one CPU; a fresh ASID is the flush (umbra does not rely on
 * FlushByAsid, which not every implementation has).  When a CPU runs out of
 * ASIDs it starts a new generation and flushes all of them once
 * (TLB_CONTROL_FLUSH_ALL_ASID), so every vCPU that runs there next takes a
 * new ASID.  A vCPU that moves to another CPU takes a new ASID there, which
 * is what makes the migration safe without a preempt notifier: nothing of
 * the previous CPU's is used after step 4.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hw_breakpoint.h>
#include <linux/io.h>
#include <linux/preempt.h>
#include <linux/sched/signal.h>
#include <asm/debugreg.h>
#include <asm/msr.h>
#include <umbra/mmu.h>
#include "svm.h"

static void svm_new_asid(struct umbra_svm_vcpu *svm, struct svm_cpu *sc, int cpu)
{
	if (sc->next_asid > umbra_svm_max_asid) {
		sc->asid_gen++;
		sc->next_asid = 1;
		svm->vmcb->control.tlb_ctl = TLB_CONTROL_FLUSH_ALL_ASID;
	}
	svm->asid = sc->next_asid++;
	svm->asid_cpu = cpu;
	svm->asid_gen = sc->asid_gen;
	svm->vmcb->control.asid = svm->asid;
}

static void svm_inject_event(struct umbra_svm_vcpu *svm)
{
	struct svm_event *ev = &svm->event;
	struct vmcb_control_area *c = &svm->vmcb->control;

	if (!ev->pending)
		return;
	if (ev->vector == PF_VECTOR)
		svm->vmcb->save.cr2 = ev->cr2;
	c->event_inj = ev->vector | SVM_EVTINJ_TYPE_EXEPT | SVM_EVTINJ_VALID |
		       (ev->has_error ? SVM_EVTINJ_VALID_ERR : 0);
	c->event_inj_err = ev->error;
	ev->pending = false;
}

/*
 * One trip into the guest.  Return: 0 after a #VMEXIT, 1 to go round the
 * loop again without entering (a request arrived, see step 5), or -EIO if
 * umbra does not own AMD-V on this CPU (VMRUN would #UD in the host).
 */
static int svm_enter_guest(struct umbra_svm_vcpu *svm, u64 root)
{
	struct umbra_vcpu *vcpu = svm->vcpu;
	struct svm_cpu *sc;
	bool swap_aux = false;
	u64 host_aux = 0;
	int cpu;

	preempt_disable();
	local_irq_disable();
	cpu = smp_processor_id();
	sc = this_cpu_ptr(&umbra_svm_cpu);
	/* hw.c keeps every online CPU enabled while a VM exists; trust, but check. */
	if (unlikely(!sc->on)) {
		local_irq_enable();
		preempt_enable();
		pr_err_ratelimited("cpu %d: AMD-V not enabled by umbra, cannot run vcpu %u\n",
				   cpu, vcpu->id);
		return -EIO;
	}

	WRITE_ONCE(vcpu->cpu, cpu);
	/*
	 * Publish cpu before reading the requests; pairs with the barrier
	 * between setting a request and reading cpu in umbra_vcpu_request()
	 * and umbra_mmu_flush_remote_tlbs(): one side sees the other.
	 */
	smp_mb();
	if (READ_ONCE(vcpu->requests) & BIT(UMBRA_REQ_MMU_RELOAD)) {
		WRITE_ONCE(vcpu->cpu, -1);
		local_irq_enable();
		preempt_enable();
		return 1;
	}
	if (umbra_vcpu_take_request(vcpu, UMBRA_REQ_TLB_FLUSH) ||
	    svm->asid_cpu != cpu || svm->asid_gen != sc->asid_gen)
		svm_new_asid(svm, sc, cpu);

	svm->vmcb->save.cr3 = root;
	svm_inject_event(svm);

	/*
	 * RDTSCP and RDPID read TSC_AUX in the guest and VMRUN does not swap
	 * it: the host's (its CPU number) must not leak, nor the guest's stay.
	 */
	if (boot_cpu_has(X86_FEATURE_RDTSCP) || boot_cpu_has(X86_FEATURE_RDPID)) {
		rdmsrl(MSR_TSC_AUX, host_aux);
		swap_aux = host_aux != svm->tsc_aux;
		if (swap_aux)
			wrmsrl(MSR_TSC_AUX, svm->tsc_aux);
	}

	asm volatile("clgi" ::: "memory");
	__umbra_svm_vcpu_run(svm->vmcb_pa, vcpu->gpr,
			     page_to_phys(sc->host_save));
	asm volatile("stgi" ::: "memory");

	if (swap_aux)
		wrmsrl(MSR_TSC_AUX, host_aux);
	/* #VMEXIT resets DR7; put the host's breakpoints back if it had any. */
	if (hw_breakpoint_active())
		hw_breakpoint_restore();

	svm->vmcb->control.tlb_ctl = TLB_CONTROL_DO_NOTHING;
	WRITE_ONCE(vcpu->cpu, -1);
	vcpu->stats.exits++;

	local_irq_enable();
	preempt_enable();
	return 0;
}

/**
 * umbra_svm_vcpu_run - KVM_RUN
 * @vcpu: the vCPU, its mutex held, in the VM's mm
 *
 * Return: 0 with kvm_run->exit_reason set for userspace, -EINTR for a
 * signal (exit_reason KVM_EXIT_INTR), or -errno.
 */
int umbra_svm_vcpu_run(struct umbra_vcpu *vcpu)
{
	struct umbra_svm_vcpu *svm = to_svm(vcpu);
	struct kvm_run *run = vcpu->run;
	u64 root;
	int r;

	if (vcpu->sregs_dirty)
		umbra_svm_sync_from_vcpu(svm);
	else
		svm->vmcb->save.rip = vcpu->rip;

	r = umbra_svm_complete_user_exit(svm);
	if (r != SVM_RESUME)
		goto out_sync;

	if (READ_ONCE(run->immediate_exit__unsafe)) {
		run->exit_reason = KVM_EXIT_INTR;
		r = -EINTR;
		goto out_sync;
	}

	fpu_swap_kvm_fpstate(&svm->fpu, true);
	for (;;) {
		if (signal_pending(current)) {
			run->exit_reason = KVM_EXIT_INTR;
			vcpu->stats.signal_exits++;
			r = -EINTR;
			break;
		}
		cond_resched();

		r = umbra_mmu_load(vcpu, &root);
		if (r == -EOPNOTSUPP) {
			r = umbra_svm_internal_error(svm,
				"guest paging mode not shadowed: 32-bit or PAE paging outside long mode");
			break;
		}
		if (r == -EFAULT) {
			r = umbra_svm_internal_error(svm, "guest CR3 points outside guest RAM");
			break;
		}
		if (r < 0)
			break;
		/* Deferred A/D: what is owed to guest PTEs, before it runs. */
		if (umbra_mmu_ad_owed(vcpu->vm))
			umbra_mmu_ad_sync(vcpu);
		r = svm_enter_guest(svm, root);
		if (r < 0)
			break;
		if (r)
			continue;

		r = umbra_svm_handle_exit(svm);
		if (r != SVM_RESUME)
			break;
	}
	fpu_swap_kvm_fpstate(&svm->fpu, false);

out_sync:
	umbra_svm_sync_to_vcpu(svm);
	return r == SVM_USER ? 0 : r;
}
