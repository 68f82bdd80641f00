// SPDX-License-Identifier: GPL-2.0
/*
 * smp.c - vCPU 1, for the cases that need a second CPU on the same
 * address space (tests/smp.c).
 *
 * vCPU 1 comes here from entry.S, on umbra-run's page tables and boot
 * stack, and waits for vCPU 0's word: park (HLT for good: this boot has no
 * use for it) or run a function.  The guest has no interrupts, so no IPIs
 * either: the two talk through the mailbox below with plain loads and
 * stores, which x86 keeps in program order as the other CPU sees them
 * (a store made before the one that publishes it is visible first), so
 * a compiler barrier is all each side needs.
 *
 * Before its first function vCPU 1 loads vCPU 0's GDT (not the TSS: it
 * stays in ring 0) and IDT, so that its faults go through trap_dispatch()
 * and the probe.S fixups as vCPU 0's do; pf_hook must stay NULL while it
 * runs (a hook would run on the wrong CPU).  It never uses pv_mmu, whose
 * queue is vCPU 0's: a function that needs an address space loads CR3
 * itself, and leaves on kernel_as before it returns.
 *
 * vCPUs 2 and up stay parked in entry.S.
 */
#include "guest.h"

/* How long vCPU 0 waits for vCPU 1: long even for an emulated CPU. */
#define AP_TIMEOUT_CYCLES	(20ULL << 30)

static struct {
	u64 alive;		/* 1 -> 0: vCPU 1 is in smp_ap_main() */
	u32 park;		/* 0 -> 1: stop for good */
	void (*fn)(void);	/* 0 -> 1: what to run, before @call */
	u64 call;		/* 0 -> 1: bumped once per function */
	u64 done;		/* 1 -> 0: @call of the last one finished */
} mbox;

void smp_ap_main(void)
{
	bool loaded = false;
	u64 seen = 0;

	WRITE_ONCE(mbox.alive, 1);
	for (;;) {
		u64 call;

		while ((call = READ_ONCE(mbox.call)) == seen) {
			if (READ_ONCE(mbox.park))
				halt_forever();
			cpu_relax();
		}
		if (!loaded) {
			gdt_init_ap();
			idt_load();
			loaded = true;
		}
		READ_ONCE(mbox.fn)();
		seen = call;
		WRITE_ONCE(mbox.done, call);
	}
}

/* Tells vCPU 1 it will not be needed: it halts, and the VMM lets it go. */
void smp_ap_park(void)
{
	WRITE_ONCE(mbox.park, 1);
}

/*
 * smp_wait_until() - spin until *@word == @want, or time out
 * Return: true if it got there.  Runs on either vCPU.
 */
bool smp_wait_until(const u64 *word, u64 want)
{
	u64 t0 = rdtsc();

	while (READ_ONCE(*word) != want) {
		if (rdtsc() - t0 > AP_TIMEOUT_CYCLES)
			return false;
		cpu_relax();
	}
	return true;
}

/**
 * smp_ap_call() - start @fn on vCPU 1, without waiting for it to finish
 * @fn:	runs on vCPU 1 (on its boot stack, in ring 0, interrupts off)
 *
 * Return: false if this boot has no vCPU 1 listening (one vCPU, an
 * unpaged boot, or it was parked) or the previous call has not finished.
 */
bool smp_ap_call(void (*fn)(void))
{
	if (boot_info->nr_cpus < 2 || READ_ONCE(mbox.park) ||
	    !smp_wait_until(&mbox.alive, 1) || READ_ONCE(mbox.done) != mbox.call)
		return false;
	WRITE_ONCE(mbox.fn, fn);
	barrier();
	WRITE_ONCE(mbox.call, mbox.call + 1);
	return true;
}

/* Waits for the function smp_ap_call() started.  Return: false on timeout. */
bool smp_ap_wait(void)
{
	return smp_wait_until(&mbox.done, mbox.call);
}
