// SPDX-License-Identifier: GPL-2.0
/*
 * regs.c - guest register state for error reports: the dump printed after
 * every fatal guest error, and the RIP that messages name.
 *
 * Called from the vCPU's own thread, or after it has been joined: a vCPU's
 * registers are only stable while nobody runs it.  The dump says when the
 * registers are a reset state rather than the state at the error.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm.h"

int regs_rip(struct vcpu *vcpu, __u64 *rip)
{
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs))
		return -1;
	*rip = regs.rip;
	return 0;
}

static void dump_seg(const char *name, const struct kvm_segment *s)
{
	fprintf(stderr, "  %-3s %04x base %016llx limit %08x type %x%s%s%s dpl %u\n",
		name, s->selector, (unsigned long long)s->base, s->limit, s->type,
		s->present ? " P" : " !P", s->l ? " L" : "", s->db ? " D" : "", s->dpl);
}

/*
 * The x86 INIT state (RIP 0xfff0, CS base 0xffff0000, paging off): every
 * vCPU starts in 64-bit mode here, so a vCPU found like this was reset by
 * the hypervisor.  KVM on AMD does that on SHUTDOWN (a triple fault),
 * because the VMCB is undefined after it (svm.c shutdown_interception()).
 */
static bool is_reset_state(const struct kvm_regs *r, const struct kvm_sregs *s)
{
	return r->rip == 0xfff0 && s->cs.base == 0xffff0000 && !(s->cr0 & (1ULL << 31));
}

/**
 * regs_dump() - print a vCPU's registers to stderr
 * @vcpu:	stopped (its own thread, or joined)
 */
void regs_dump(struct vcpu *vcpu)
{
	struct kvm_sregs sregs;
	struct kvm_regs r;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r)) {
		err("vcpu %u: KVM_GET_REGS: %s (no register dump)", vcpu->id, strerror(errno));
		return;
	}
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs)) {
		err("vcpu %u: KVM_GET_SREGS: %s (no register dump)", vcpu->id, strerror(errno));
		return;
	}
	if (is_reset_state(&r, &sregs))
		fprintf(stderr, PROG ": vcpu %u registers, as the hypervisor reset them: these are not the state at the fault (KVM on AMD INITs a vCPU that shuts down):\n",
			vcpu->id);
	else
		fprintf(stderr, PROG ": vcpu %u registers:\n", vcpu->id);
	fprintf(stderr, "  rip %016llx rsp %016llx rflags %016llx\n",
		(unsigned long long)r.rip, (unsigned long long)r.rsp,
		(unsigned long long)r.rflags);
	fprintf(stderr, "  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n",
		(unsigned long long)r.rax, (unsigned long long)r.rbx,
		(unsigned long long)r.rcx, (unsigned long long)r.rdx);
	fprintf(stderr, "  rsi %016llx rdi %016llx rbp %016llx r8  %016llx\n",
		(unsigned long long)r.rsi, (unsigned long long)r.rdi,
		(unsigned long long)r.rbp, (unsigned long long)r.r8);
	fprintf(stderr, "  r9  %016llx r10 %016llx r11 %016llx r12 %016llx\n",
		(unsigned long long)r.r9, (unsigned long long)r.r10,
		(unsigned long long)r.r11, (unsigned long long)r.r12);
	fprintf(stderr, "  r13 %016llx r14 %016llx r15 %016llx\n",
		(unsigned long long)r.r13, (unsigned long long)r.r14,
		(unsigned long long)r.r15);
	fprintf(stderr, "  cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx\n",
		(unsigned long long)sregs.cr0, (unsigned long long)sregs.cr2,
		(unsigned long long)sregs.cr3, (unsigned long long)sregs.cr4);
	fprintf(stderr, "  efer %016llx cr8 %016llx apic_base %016llx\n",
		(unsigned long long)sregs.efer, (unsigned long long)sregs.cr8,
		(unsigned long long)sregs.apic_base);
	dump_seg("cs", &sregs.cs);
	dump_seg("ss", &sregs.ss);
	dump_seg("ds", &sregs.ds);
	dump_seg("tr", &sregs.tr);
	fprintf(stderr, "  gdt base %016llx limit %04x  idt base %016llx limit %04x\n",
		(unsigned long long)sregs.gdt.base, sregs.gdt.limit,
		(unsigned long long)sregs.idt.base, sregs.idt.limit);
}
