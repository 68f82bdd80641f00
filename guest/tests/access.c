// SPDX-License-Identifier: GPL-2.0
/*
 * access.c - the suite's hands: one read, write or fetch at an address,
 * from ring 0 (probe.S accessors) or ring 3 (user.S stubs mapped at
 * USER_CODE_VA), reported as a struct outcome the cases compare with the
 * model's; the CPU-mode switches the cases flip (CR0.WP, EFER.NXE); and
 * test address spaces that carry the ring 3 stubs and stack.
 */
#include "tests.h"

/* An outcome error code that no #PF has: the trap was not a #PF. */
#define NOT_A_PF	0xffff0000U

const char *acc_name(enum acc_kind kind)
{
	return kind == ACC_READ ? "read" : kind == ACC_WRITE ? "write" : "fetch";
}

static u64 user_stub(enum acc_kind kind)
{
	char *stub = kind == ACC_READ ? user_read :
		     kind == ACC_WRITE ? user_write : user_exec;

	return USER_CODE_VA + (stub - __user_text_start);
}

/**
 * do_access() - access @va once and report what happened
 * @va:		the address (for ACC_EXEC it must hold RET)
 * @kind:	read a u64, write @wval as a u64, or call @va
 * @cpl:	0 or 3; ring 3 needs a test address space (test_as_create)
 * @wval:	the value written
 * @got:	filled with the outcome
 *
 * A #PF hook installed by the case may resolve the fault first, in which
 * case the access is retried and @got shows no fault.
 */
void do_access(u64 va, enum acc_kind kind, int cpl, u64 wval,
	       struct outcome *got)
{
	u64 pfs = pf_count;
	int faulted = 0;

	memset(got, 0, sizeof(*got));
	if (cpl == 3) {
		enter_user(user_stub(kind), USER_STACK_TOP, va, wval);
		if (user_result.returned) {
			got->value = kind == ACC_READ ? user_result.rax : 0;
			return;
		}
		got->fault = true;
		got->err = user_result.vector == 14 ? (u32)user_result.err :
			   NOT_A_PF | (u32)user_result.vector;
		got->cr2 = user_result.cr2;
		return;
	}
	switch (kind) {
	case ACC_READ:
		faulted = probe_read(va, &got->value);
		break;
	case ACC_WRITE:
		faulted = probe_write(va, wval);
		break;
	case ACC_EXEC:
		faulted = probe_exec(va);
		break;
	}
	if (faulted) {
		got->fault = true;
		got->value = 0;
		got->err = pf_count != pfs ? last_pf.err : NOT_A_PF;
		got->cr2 = pf_count != pfs ? last_pf.cr2 : 0;
	}
}

bool outcome_equal(const struct outcome *want, const struct outcome *got,
		   enum acc_kind kind)
{
	if (want->fault != got->fault)
		return false;
	if (!want->fault)
		return kind != ACC_READ || want->value == got->value;
	if (want->cr2 != got->cr2)
		return false;
	if (want->err == got->err)
		return true;
	/* See suite.c: a known emulator bug, accepted only when asked. */
	if (quirk_rsvd_no_p && (want->err & PF_RSVD) &&
	    got->err == (want->err & ~PF_PROT)) {
		quirk_rsvd_no_p_hits++;
		return true;
	}
	return false;
}

static void format_outcome(char *buf, size_t size, const struct outcome *o,
			   enum acc_kind kind)
{
	if (o->fault)
		snprintf(buf, size, "#PF err 0x%x cr2 0x%llx", o->err, o->cr2);
	else if (kind == ACC_READ)
		snprintf(buf, size, "no fault, value 0x%llx", o->value);
	else
		snprintf(buf, size, "no fault");
}

/* Does the access and records a failure if it differs from @want. */
bool check_access(u64 va, enum acc_kind kind, int cpl, u64 wval,
		  const struct outcome *want, const char *what)
{
	char w[64], g[64];
	struct outcome got;

	do_access(va, kind, cpl, wval, &got);
	if (outcome_equal(want, &got, kind))
		return true;
	format_outcome(w, sizeof(w), want, kind);
	format_outcome(g, sizeof(g), &got, kind);
	return CHECK(false, "%s: %s 0x%llx cpl%d: want %s, got %s", what,
		     acc_name(kind), va, cpl, w, g);
}

void want_ok(struct outcome *want, u64 value)
{
	memset(want, 0, sizeof(*want));
	want->value = value;
}

void want_pf(struct outcome *want, u64 va, u32 err)
{
	memset(want, 0, sizeof(*want));
	want->fault = true;
	want->err = err;
	want->cr2 = va;
}

void set_cr0_wp(bool on)
{
	unsigned long cr0 = read_cr0();

	write_cr0(on ? cr0 | X86_CR0_WP : cr0 & ~X86_CR0_WP);
}

void set_efer_nx(bool on)
{
	u64 efer = rdmsr(MSR_EFER);

	if (!!(efer & EFER_NX) != on)
		wrmsr(MSR_EFER, on ? efer | EFER_NX : efer & ~EFER_NX);
}

/* MAXPHYADDR from CPUID 0x80000008, or 36 when the leaf is missing. */
int cpu_maxphyaddr(void)
{
	u32 a, b, c, d;

	cpuid(0x80000000, &a, &b, &c, &d);
	if (a < 0x80000008)
		return 36;
	cpuid(0x80000008, &a, &b, &c, &d);
	return a & 0xff;
}

/* A fresh zeroed frame with RET at offset 0 (any page may be fetched). */
u64 test_frame(void)
{
	u64 pa = palloc_alloc();

	if (!pa)
		panic("out of memory for test frames");
	*(u8 *)phys_to_virt(pa) = RET_INSN;
	return pa;
}

/*
 * An address space with the ring 3 stubs (read-only, executable) and stack
 * (writable; not NX, so that it stays valid while a case clears EFER.NXE).
 */
struct as *test_as_create(void)
{
	struct as *as = as_create();
	unsigned int i;

	if (!as)
		panic("out of address spaces");
	if (as_map(as, USER_CODE_VA, (u64)__user_text_start,
		   _PAGE_USER | _PAGE_SPECIAL))
		panic("out of memory for a test address space");
	for (i = 0; i < USER_STACK_PAGES; i++)
		if (as_map(as, USER_STACK_VA + i * PAGE_SIZE, test_frame(),
			   _PAGE_RW | _PAGE_USER))
			panic("out of memory for a test address space");
	return as;
}

void test_as_destroy(struct as *as)
{
	as_destroy(as);
}
