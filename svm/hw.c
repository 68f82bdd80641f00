// SPDX-License-Identifier: GPL-2.0
/*
 * hw.c - AMD-V on the host CPUs: detection, enable, disable, ownership
 *
 * What it owns:
 *   EFER.SVME and MSR_VM_HSAVE_PA on every host CPU while umbra uses them,
 *   the per-CPU pages and ASID allocator (struct svm_cpu), the I/O and MSR
 *   permission maps all vCPUs share (all ones: every port and MSR exits),
 *   and the CPU hotplug state that keeps new CPUs in step.
 *
 * Detection (at module load): CPUID says SVM, VM_CR.SVMDIS is clear (the
 * firmware did not lock AMD-V off), and EFER.SVME can really be set.  Any
 * failure is one dmesg line and -ENODEV.
 *
 * Ownership: EFER.SVME is the flag that says "a hypervisor owns AMD-V on
 * this CPU".  umbra sets it only where it finds it clear, remembers where
 * it did (svm_cpu.on), and clears only what it set.  kvm_amd follows the
 * same rule (it refuses to enable where SVME is already set), so neither
 * module can overwrite the other's host save area, and neither's unload
 * disables the other.  umbra holds AMD-V only while a VM exists
 * (umbra_svm_users > 0), so both modules can be loaded at once and take
 * turns.
 *
 * Locking:
 *   cpus_read_lock() -> umbra_svm_lock.  umbra_svm_users changes only with
 *   both held; the hotplug callbacks run with the hotplug lock held for
 *   write, so they may read it without umbra_svm_lock.
 *   The per-CPU enable/disable runs with interrupts off on the CPU itself
 *   (IPI or hotplug callback), so its read-modify-write of EFER is not
 *   interleaved with anything else umbra does on that CPU.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/smp.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>
#include <umbra/backend.h>
#include "svm.h"

/* Sizes of the permission maps (APM vol. 2, 15.10.1 and 15.11). */
#define IOPM_ORDER	2	/* 12 KiB used */
#define MSRPM_ORDER	1	/* 8 KiB */

DEFINE_PER_CPU(struct svm_cpu, umbra_svm_cpu);
u32 umbra_svm_max_asid;
u64 umbra_svm_iopm_pa, umbra_svm_msrpm_pa;
static struct page *iopm, *msrpm;
static DEFINE_MUTEX(umbra_svm_lock);
static unsigned int umbra_svm_users;
static enum cpuhp_state umbra_svm_cpuhp;

static inline void svm_stgi(void)
{
	asm volatile("stgi" ::: "memory");
}

/* Enable on this CPU.  Return: 0, or -EBUSY if someone else owns it. */
static int svm_cpu_enable(void)
{
	u64 efer;

	struct svm_cpu *sc = this_cpu_ptr(&umbra_svm_cpu);

	lockdep_assert_irqs_disabled();

	if (sc->on)
		return 0;
	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME)
		return -EBUSY;
	wrmsrl(MSR_VM_HSAVE_PA, page_to_phys(sc->hsave));
	wrmsrl(MSR_EFER, efer | EFER_SVME);
	/*
	 * Whatever another hypervisor left in the TLB under some ASID, a new
	 * generation makes every vCPU take a fresh ASID and flush all once.
	 */
	sc->next_asid = umbra_svm_max_asid + 1;
	sc->on = true;
	return 0;
}

/* Disable on this CPU, if umbra enabled it here. */
static void svm_cpu_disable(void)
{
	u64 efer;

	struct svm_cpu *sc = this_cpu_ptr(&umbra_svm_cpu);

	lockdep_assert_irqs_disabled();

	if (!sc->on)
		return;
	wrmsrl(MSR_VM_HSAVE_PA, 0);
	rdmsrl(MSR_EFER, efer);
	/* GIF must be 1 when SVME goes off, or interrupts stay blocked. */
	svm_stgi();
	wrmsrl(MSR_EFER, efer & ~EFER_SVME);
	sc->on = false;
}

static void svm_cpu_enable_ipi(void *failed)
{
	if (svm_cpu_enable())
		atomic_inc(failed);
}

static void svm_cpu_disable_ipi(void *unused)
{
	svm_cpu_disable();
}

static int svm_cpu_online(unsigned int cpu)
{
	int r = 0;

	if (READ_ONCE(umbra_svm_users)) {
		local_irq_disable();
		r = svm_cpu_enable();
		local_irq_enable();
		if (r)
			pr_err("cpu %u: AMD-V owned by another hypervisor\n", cpu);
	}
	return r;
}

static int svm_cpu_offline(unsigned int cpu)
{
	local_irq_disable();
	svm_cpu_disable();
	local_irq_enable();
	return 0;
}

/* Can EFER.SVME be set on this CPU?  Leaves EFER as it found it. */
static void svm_probe_svme(void *fault)
{
	u64 efer;

	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME)
		return;		/* set by someone else: settable, in use */
	if (wrmsrl_safe(MSR_EFER, efer | EFER_SVME))
		*(bool *)fault = true;
	else
		wrmsrl(MSR_EFER, efer);
}

static int svm_check(void)
{
	bool fault = false;
	u64 vm_cr = 0;

	if (!boot_cpu_has(X86_FEATURE_SVM)) {
		pr_err("AMD-V (SVM) not supported by this CPU\n");
		return -ENODEV;
	}
	if (!rdmsrl_safe(MSR_VM_CR, &vm_cr) && (vm_cr & SVM_VM_CR_SVM_DIS_MASK)) {
		pr_err("AMD-V disabled by the firmware (VM_CR.SVMDIS set)\n");
		return -ENODEV;
	}
	smp_call_function_single(raw_smp_processor_id(), svm_probe_svme,
				 &fault, 1);
	if (fault) {
		pr_err("AMD-V present but EFER.SVME cannot be set\n");
		return -ENODEV;
	}
	return 0;
}

static void svm_free_pages(void)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		struct svm_cpu *sc = per_cpu_ptr(&umbra_svm_cpu, cpu);

		if (sc->hsave)
			__free_page(sc->hsave);
		if (sc->host_save)
			__free_page(sc->host_save);
		sc->hsave = sc->host_save = NULL;
	}
	if (iopm)
		__free_pages(iopm, IOPM_ORDER);
	if (msrpm)
		__free_pages(msrpm, MSRPM_ORDER);
	iopm = msrpm = NULL;
}

/* Permission maps with every bit set: every port and every MSR exits. */
static struct page *alloc_all_ones(unsigned int order)
{
	struct page *p = alloc_pages(GFP_KERNEL, order);

	if (p)
		memset(page_address(p), 0xff, PAGE_SIZE << order);
	return p;
}

static int svm_alloc_pages(void)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		struct svm_cpu *sc = per_cpu_ptr(&umbra_svm_cpu, cpu);
		int node = cpu_to_node(cpu);

		sc->hsave = alloc_pages_node(node, GFP_KERNEL | __GFP_ZERO, 0);
		sc->host_save = alloc_pages_node(node, GFP_KERNEL | __GFP_ZERO, 0);
		if (!sc->hsave || !sc->host_save)
			return -ENOMEM;
	}
	iopm = alloc_all_ones(IOPM_ORDER);
	msrpm = alloc_all_ones(MSRPM_ORDER);
	if (!iopm || !msrpm)
		return -ENOMEM;
	umbra_svm_iopm_pa = page_to_phys(iopm);
	umbra_svm_msrpm_pa = page_to_phys(msrpm);
	return 0;
}

static int svm_init(void)
{
	int r;

	r = svm_check();
	if (r)
		return r;

	/* CPUID 0x8000000a: EBX = number of ASIDs; ASID 0 is the host's. */
	umbra_svm_max_asid = cpuid_ebx(0x8000000a) - 1;
	if (umbra_svm_max_asid < 1) {
		pr_err("AMD-V reports no guest ASIDs\n");
		return -ENODEV;
	}

	r = svm_alloc_pages();
	if (r) {
		svm_free_pages();
		return r;
	}

	r = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "umbra/svm:online",
			      svm_cpu_online, svm_cpu_offline);
	if (r < 0) {
		svm_free_pages();
		return r;
	}
	umbra_svm_cpuhp = r;
	return 0;
}

static void svm_exit(void)
{
	/* Every VM is gone (each held a module reference), so all are off. */
	WARN_ON_ONCE(umbra_svm_users);
	cpuhp_remove_state(umbra_svm_cpuhp);
	svm_free_pages();
}

static int svm_get(void)
{
	atomic_t failed = ATOMIC_INIT(0);
	int r = 0;

	cpus_read_lock();
	mutex_lock(&umbra_svm_lock);
	if (umbra_svm_users == 0) {
		on_each_cpu(svm_cpu_enable_ipi, &failed, 1);
		if (atomic_read(&failed)) {
			on_each_cpu(svm_cpu_disable_ipi, NULL, 1);
			pr_info_ratelimited("AMD-V is in use by another hypervisor (kvm_amd?): no VM until it lets go\n");
			r = -EBUSY;
			goto out;
		}
	}
	umbra_svm_users++;
out:
	mutex_unlock(&umbra_svm_lock);
	cpus_read_unlock();
	return r;
}

static void svm_put(void)
{
	cpus_read_lock();
	mutex_lock(&umbra_svm_lock);
	if (!WARN_ON_ONCE(!umbra_svm_users) && --umbra_svm_users == 0)
		on_each_cpu(svm_cpu_disable_ipi, NULL, 1);
	mutex_unlock(&umbra_svm_lock);
	cpus_read_unlock();
}

static unsigned int svm_users(void)
{
	return READ_ONCE(umbra_svm_users);
}

const struct umbra_backend_ops umbra_svm_ops = {
	.name	= "svm",
	.init	= svm_init,
	.exit	= svm_exit,
	.get	= svm_get,
	.put	= svm_put,
	.users	= svm_users,
	.vcpu_create = umbra_svm_vcpu_create,
	.vcpu_free = umbra_svm_vcpu_free,
	.vcpu_run = umbra_svm_vcpu_run,
	.get_msr = umbra_svm_vcpu_get_msr,
	.set_msr = umbra_svm_vcpu_set_msr,
	.get_fpu = umbra_svm_get_fpu,
	.set_fpu = umbra_svm_set_fpu,
};
