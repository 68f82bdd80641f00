// SPDX-License-Identifier: GPL-2.0
/*
 * idt.c - the IDT and trap dispatch.  The guest never enables interrupts,
 * so every trap is an exception.
 *
 * A #PF is recorded (last_pf, pf_count) and offered, in order, to:
 *   1. pf_hook, installed by a test or workload (demand paging, COW);
 *   2. the exec probe: a fetch fault at exec_probe_target returns to
 *      probe_exec()'s caller as if the target had executed RET;
 * then any kernel-mode trap goes to the exception table (probe.S) and any
 * ring 3 trap to user_return() with user_result filled.  Everything else
 * is a guest bug: dump the frame and exit with status 3.
 */
#include "guest.h"

struct idt_gate {
	u16 offset_lo;
	u16 selector;
	u8 ist;
	u8 type;	/* P | DPL | type (0xe: 64-bit interrupt gate) */
	u16 offset_mid;
	u32 offset_hi;
	u32 reserved;
} __packed;

static struct idt_gate idt[256] __aligned(16);

pf_hook_t pf_hook;
struct pf_info last_pf;
u64 pf_count;
struct user_result user_result;

static void set_gate(unsigned int vec, u64 handler)
{
	struct idt_gate *g = &idt[vec];

	g->offset_lo = handler & 0xffff;
	g->selector = KERNEL_CS;
	g->ist = 0;
	g->type = 0x8e;		/* present, DPL 0, interrupt gate */
	g->offset_mid = (handler >> 16) & 0xffff;
	g->offset_hi = handler >> 32;
	g->reserved = 0;
}

/* Load the IDT on this vCPU (vCPU 1 shares vCPU 0's, see smp.c). */
void idt_load(void)
{
	struct {
		u16 limit;
		u64 base;
	} __packed idtr = { sizeof(idt) - 1, (u64)idt };

	asm volatile("lidt %0" : : "m"(idtr));
}

void idt_init(void)
{
	unsigned int v;

	for (v = 0; v < 32; v++)
		set_gate(v, isr_stub_table[v]);
	idt_load();
}

static bool fixup_exception(struct trap_frame *tf)
{
	const struct extable_entry *e;

	for (e = __ex_table_start; e < __ex_table_end; e++) {
		if (e->insn == tf->rip) {
			tf->rip = e->fixup;
			return true;
		}
	}
	return false;
}

static void __noreturn die(const struct trap_frame *tf)
{
	kprintf("guest: unexpected exception %llu error %llx at rip %llx cs %llx\n"
	       "  cr2 %lx cr3 %lx rsp %llx rflags %llx\n"
	       "  rax %llx rbx %llx rcx %llx rdx %llx\n"
	       "  rsi %llx rdi %llx rbp %llx r8 %llx\n",
	       tf->vector, tf->error, tf->rip, tf->cs, read_cr2(), read_cr3(),
	       tf->rsp, tf->rflags, tf->rax, tf->rbx, tf->rcx, tf->rdx,
	       tf->rsi, tf->rdi, tf->rbp, tf->r8);
	die_fatal();
}

void trap_dispatch(struct trap_frame *tf)
{
	bool user = (tf->cs & 3) == 3;

	if (tf->vector == 14) {
		struct pf_info pf = {
			.cr2 = read_cr2(),
			.rip = tf->rip,
			.err = (u32)tf->error,
			.user = user,
		};

		pf_count++;
		last_pf = pf;
		if (pf_hook && pf_hook(&pf))
			return;
		if (!user && exec_probe_target && tf->rip == exec_probe_target) {
			/* Unwind probe_exec()'s CALL; it returns 1. */
			tf->rip = *(u64 *)tf->rsp;
			tf->rsp += 8;
			tf->rax = 1;
			return;
		}
	}
	if (user) {
		/* The stubs end in UD2 at user_ret: that #UD is a normal return. */
		user_result.returned = tf->vector == 6 &&
			(tf->rip & (PAGE_SIZE - 1)) == ((u64)user_ret & (PAGE_SIZE - 1));
		user_result.vector = tf->vector;
		user_result.err = tf->error;
		user_result.cr2 = tf->vector == 14 ? last_pf.cr2 : 0;
		user_result.rax = tf->rax;
		user_return();
	}
	if (fixup_exception(tf))
		return;
	die(tf);
}
