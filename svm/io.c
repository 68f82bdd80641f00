// SPDX-License-Identifier: GPL-2.0
/*
 * io.c - port I/O and MMIO exits to userspace, as KVM reports them
 *
 * What it owns:
 *   KVM_EXIT_IO (IN/OUT and the string forms INS/OUTS, with or without
 *   REP) and KVM_EXIT_MMIO (the MOV forms of svm/decode.c), and finishing
 *   either on the next KVM_RUN: the value of an IN or an MMIO read goes to
 *   its register, string pointers and counts advance, RIP moves past the
 *   instruction.
 *
 * Data travels in the PIO page (page 1 of the vCPU mmap, where
 * kvm_run.io.data_offset points) or in kvm_run.mmio.data.
 *
 * A REP string instruction is done in rounds: each round moves as many
 * elements as fit in the PIO page without crossing a guest page (so one
 * translation serves the round) and returns to userspace; RIP stays on the
 * instruction until RCX reaches zero, so a signal between rounds loses
 * nothing.  With RFLAGS.DF set the rounds are one element each.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/minmax.h>
#include <linux/string.h>
#include <asm/processor-flags.h>
#include <umbra/mmu.h>
#include "decode.h"
#include "svm.h"

/* INS writes ES:RDI, OUTS reads DS:RSI; neither has a base in 64-bit mode. */
static u64 str_addr(struct umbra_svm_vcpu *svm, bool in)
{
	return svm_gpr(svm, in ? UMBRA_RDI : UMBRA_RSI);
}

static void str_advance(struct umbra_svm_vcpu *svm, struct svm_pio *pio)
{
	unsigned int reg = pio->in ? UMBRA_RDI : UMBRA_RSI;
	s64 step = (s64)pio->size * pio->count;

	if (svm->vmcb->save.rflags & X86_EFLAGS_DF)
		step = -step;
	svm_set_gpr(svm, reg, svm_gpr(svm, reg) + step);
	if (pio->rep)
		svm_set_gpr(svm, UMBRA_RCX, svm_gpr(svm, UMBRA_RCX) - pio->count);
}

static bool str_done(struct umbra_svm_vcpu *svm, struct svm_pio *pio)
{
	return !pio->rep || svm_gpr(svm, UMBRA_RCX) == 0;
}

/*
 * A string operand could not be read or written: a guest #PF is the
 * guest's (inject it); memory that is not RAM is not something INS/OUTS
 * to MMIO umbra emulates (an internal error).
 */
static int string_fault(struct umbra_svm_vcpu *svm, int r,
			const struct umbra_pf *pf)
{
	if (r == -EFAULT) {
		umbra_svm_queue_pf(svm, pf->fault_addr, pf->fault_error);
		return SVM_RESUME;
	}
	return umbra_svm_internal_error(svm, "string I/O operand is not RAM");
}

static int pio_exit(struct umbra_svm_vcpu *svm)
{
	struct kvm_run *run = svm->vcpu->run;
	struct svm_pio *pio = &svm->pio;

	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = pio->in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
	run->io.size = pio->size;
	run->io.port = pio->port;
	run->io.count = pio->count;
	run->io.data_offset = UMBRA_VCPU_PIO_PAGE * PAGE_SIZE;
	pio->pending = true;
	svm->vcpu->stats.io_exits++;
	return SVM_USER;
}

/**
 * umbra_svm_handle_ioio - an intercepted IN, OUT, INS or OUTS
 * @svm: the vCPU
 *
 * EXITINFO1 describes the access (APM vol. 2, 15.10.2) and EXITINFO2 is
 * the RIP of the next instruction, which is all umbra needs: no decoding.
 */
int umbra_svm_handle_ioio(struct umbra_svm_vcpu *svm)
{
	u64 info = svm->vmcb->control.exit_info_1;
	struct svm_pio *pio = &svm->pio;
	struct umbra_pf pf;
	u64 addr, rcx;
	u32 room;

	*pio = (struct svm_pio) {
		.in = info & SVM_IOIO_TYPE_MASK,
		.string = info & SVM_IOIO_STR_MASK,
		.rep = info & SVM_IOIO_REP_MASK,
		.size = (info & SVM_IOIO_SIZE_MASK) >> SVM_IOIO_SIZE_SHIFT,
		.port = info >> 16,
		.count = 1,
		.next_rip = svm->vmcb->control.exit_info_2,
	};
	/* The size field is one-hot: 1, 2 or 4 bytes. */
	if (pio->size != 1 && pio->size != 2 && pio->size != 4)
		return umbra_svm_internal_error(svm, "bad I/O size in EXITINFO1");

	if (!pio->string) {
		if (!pio->in) {
			u64 val = svm->vmcb->save.rax;

			memcpy(svm->vcpu->pio_data, &val, pio->size);
		}
		return pio_exit(svm);
	}

	rcx = pio->rep ? svm_gpr(svm, UMBRA_RCX) : 1;
	if (!rcx) {				/* REP with RCX = 0: nothing */
		svm->vmcb->save.rip = pio->next_rip;
		return SVM_RESUME;
	}
	addr = str_addr(svm, pio->in);
	room = PAGE_SIZE / pio->size;
	if (!(svm->vmcb->save.rflags & X86_EFLAGS_DF))
		room = min_t(u64, room, (PAGE_SIZE - (addr & ~PAGE_MASK)) / pio->size);
	pio->count = max_t(u32, 1, min_t(u64, rcx, room));
	if (svm->vmcb->save.rflags & X86_EFLAGS_DF)
		pio->count = 1;

	if (!pio->in) {
		int r = umbra_mmu_read_guest_virt(svm->vcpu, addr,
						  svm->vcpu->pio_data,
						  pio->size * pio->count,
						  svm_user_access(svm), &pf);

		if (r)
			return string_fault(svm, r, &pf);
	}
	return pio_exit(svm);
}

static int complete_pio(struct umbra_svm_vcpu *svm)
{
	struct svm_pio *pio = &svm->pio;
	struct umbra_pf pf;
	u64 val = 0;

	pio->pending = false;
	if (!pio->string) {
		if (pio->in) {
			u64 rax = svm->vmcb->save.rax;

			memcpy(&val, svm->vcpu->pio_data, pio->size);
			/* A 32-bit IN zero-extends; 8 and 16 bits merge. */
			if (pio->size == 4)
				rax = val;
			else
				rax = (rax & ~GENMASK_ULL(pio->size * 8 - 1, 0)) | val;
			svm->vmcb->save.rax = rax;
		}
		svm->vmcb->save.rip = pio->next_rip;
		return SVM_RESUME;
	}

	if (pio->in) {
		int r = umbra_mmu_write_guest_virt(svm->vcpu, str_addr(svm, true),
						   svm->vcpu->pio_data,
						   pio->size * pio->count,
						   svm_user_access(svm), &pf);

		if (r)
			return string_fault(svm, r, &pf);
	}
	str_advance(svm, pio);
	if (str_done(svm, pio))
		svm->vmcb->save.rip = pio->next_rip;
	return SVM_RESUME;
}

/**
 * umbra_svm_handle_mmio - a guest access to a guest-physical address outside
 * every memslot
 * @svm: the vCPU
 * @gpa: the address
 *
 * The instruction is decoded to learn the size, the direction and the
 * register; forms other than MOV, MOVZX and MOV-immediate end in
 * KVM_EXIT_INTERNAL_ERROR naming the bytes.
 */
int umbra_svm_handle_mmio(struct umbra_svm_vcpu *svm, u64 gpa)
{
	struct kvm_run *run = svm->vcpu->run;
	struct svm_mmio *m = &svm->mmio;
	struct svm_insn insn;
	u64 val;
	int r;

	r = umbra_svm_decode_or_inject(svm, &insn);
	if (r == SVM_DECODE_INJECTED)
		return SVM_RESUME;
	if (r || !insn.has_mem)
		return umbra_svm_internal_error(svm, "MMIO by an instruction umbra does not emulate");

	/* Without REX, byte registers 4-7 are AH, CH, DH, BH: not emulated. */
	if ((insn.opcode == 0x88 || insn.opcode == 0x8a) && !insn.rex &&
	    (insn.reg & 4))
		return umbra_svm_internal_error(svm, "MMIO through AH, CH, DH or BH is not emulated");

	*m = (struct svm_mmio) {
		.size = umbra_svm_insn_opsize(&insn),
		.reg = insn.reg,
		.next_rip = svm->vmcb->save.rip + insn.len,
	};
	switch (insn.opcode) {
	case 0x88: case 0x89: case 0xa2: case 0xa3:
		val = svm_gpr(svm, insn.reg);
		break;
	case 0xc6: case 0xc7:
		val = insn.imm;
		break;
	case 0x8a: case 0x8b: case 0xa0: case 0xa1:
		m->read = true;
		break;
	case 0x0fb6: case 0x0fb7:
		m->read = true;
		m->zero_extend = true;
		m->size = insn.opcode == 0x0fb6 ? 1 : 2;
		break;
	default:
		return umbra_svm_internal_error(svm, "MMIO by an instruction umbra does not emulate");
	}

	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = gpa;
	run->mmio.len = m->size;
	run->mmio.is_write = !m->read;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	if (!m->read)
		memcpy(run->mmio.data, &val, m->size);
	m->pending = true;
	svm->vcpu->stats.mmio_exits++;
	return SVM_USER;
}

static int complete_mmio(struct umbra_svm_vcpu *svm)
{
	struct svm_mmio *m = &svm->mmio;
	struct kvm_run *run = svm->vcpu->run;
	u64 val = 0, old;

	m->pending = false;
	if (m->read) {
		memcpy(&val, run->mmio.data, m->size);
		old = svm_gpr(svm, m->reg);
		/* 32-bit destinations and MOVZX clear the upper half. */
		if (m->size == 8 || m->size == 4 || m->zero_extend)
			svm_set_gpr(svm, m->reg, val);
		else
			svm_set_gpr(svm, m->reg,
				    (old & ~GENMASK_ULL(m->size * 8 - 1, 0)) | val);
	}
	svm->vmcb->save.rip = m->next_rip;
	return SVM_RESUME;
}

/**
 * umbra_svm_complete_user_exit - finish what the last exit to userspace began
 * @svm: the vCPU, at the start of KVM_RUN
 *
 * Return: SVM_RESUME.
 */
int umbra_svm_complete_user_exit(struct umbra_svm_vcpu *svm)
{
	if (svm->pio.pending)
		return complete_pio(svm);
	if (svm->mmio.pending)
		return complete_mmio(svm);
	return SVM_RESUME;
}
