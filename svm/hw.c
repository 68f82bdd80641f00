// SPDX-License-Identifier: GPL-2.0
/*
 * hw.c - AMD-V on the host CPUs: detection, enable, disable, ownership
 *
 * What it owns:
 *   EFER.SVME and MSR_VM_HSAVE_PA on every host CPU while umbra uses them,
 *   one host save area page per CPU, and the CPU hotplug state that keeps
 *   new CPUs in step.
 *
 * Detection (at module load): CPUID says SVM, VM_CR.SVMDIS is clear (the
 * firmware did not lock AMD-V off), and EFER.SVME can really be set.  Any
 * failure is one dmesg line and -ENODEV.
 *
 * Ownership: EFER.SVME is the flag that says "a hypervisor owns AMD-V on
 * this CPU".  umbra sets it only where it finds it clear, remembers where
 * it did (umbra_svm_on), and clears only what it set.  kvm_amd follows the
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

static DEFINE_PER_CPU(struct page *, umbra_hsave);
static DEFINE_PER_CPU(bool, umbra_svm_on);
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

	lockdep_assert_irqs_disabled();

	if (this_cpu_read(umbra_svm_on))
		return 0;
	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME)
		return -EBUSY;
	wrmsrl(MSR_VM_HSAVE_PA, page_to_phys(this_cpu_read(umbra_hsave)));
	wrmsrl(MSR_EFER, efer | EFER_SVME);
	this_cpu_write(umbra_svm_on, true);
	return 0;
}

/* Disable on this CPU, if umbra enabled it here. */
static void svm_cpu_disable(void)
{
	u64 efer;

	lockdep_assert_irqs_disabled();

	if (!this_cpu_read(umbra_svm_on))
		return;
	wrmsrl(MSR_VM_HSAVE_PA, 0);
	rdmsrl(MSR_EFER, efer);
	/* GIF must be 1 when SVME goes off, or interrupts stay blocked. */
	svm_stgi();
	wrmsrl(MSR_EFER, efer & ~EFER_SVME);
	this_cpu_write(umbra_svm_on, false);
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

static void svm_free_hsave(void)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		if (per_cpu(umbra_hsave, cpu))
			__free_page(per_cpu(umbra_hsave, cpu));
		per_cpu(umbra_hsave, cpu) = NULL;
	}
}

static int svm_init(void)
{
	unsigned int cpu;
	int r;

	r = svm_check();
	if (r)
		return r;

	for_each_possible_cpu(cpu) {
		struct page *p = alloc_pages_node(cpu_to_node(cpu),
						  GFP_KERNEL | __GFP_ZERO, 0);

		if (!p) {
			svm_free_hsave();
			return -ENOMEM;
		}
		per_cpu(umbra_hsave, cpu) = p;
	}

	r = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "umbra/svm:online",
			      svm_cpu_online, svm_cpu_offline);
	if (r < 0) {
		svm_free_hsave();
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
	svm_free_hsave();
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
};
