// SPDX-License-Identifier: GPL-2.0
/*
 * decode.c - read and decode the guest instruction at RIP
 *
 * What it owns:
 *   the little x86 decoder umbra needs because AMD-V without DecodeAssists
 *   (QEMU's emulated AMD-V among others) says nothing about the instruction
 *   behind a CR access, an INVLPG or a #PF on MMIO: prefixes, REX, one- and
 *   two-byte opcodes, ModRM/SIB/displacement, immediates of the forms
 *   umbra emulates, and the effective (linear) address, in 64-bit,
 *   32-bit and 16-bit code alike: a guest that starts with paging off
 *   runs 16- or 32-bit code until it enters long mode.
 *
 * The code size comes from CS (L, then D; real mode is 16-bit): it sets
 * the default operand and address sizes, which 0x66 and 0x67 switch
 * (32 <-> 16, and 64 -> 32 for the address), and only 64-bit code has
 * REX (elsewhere 0x40-0x4f are INC/DEC, not prefixes).  Segment bases
 * count outside 64-bit mode, where only FS and GS have one.
 *
 * It decodes, it does not execute: umbra_svm_decode() fills struct svm_insn and
 * the exit handlers act on it.  Anything it does not know is -EOPNOTSUPP,
 * which the caller reports as an internal error naming the bytes.
 *
 * The bytes come from guest memory through the guest's own page tables
 * (an instruction fetch), so a fault here is the guest's: -EFAULT with the
 * #PF to inject in @pf.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/string.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <umbra/mmu.h>
#include "decode.h"
#include "svm.h"

static bool is_prefix(u8 b, struct svm_insn *insn)
{
	switch (b) {
	case 0x66:
		insn->p66 = true;
		return true;
	case 0x67:
		insn->p67 = true;
		return true;
	case 0xf0:
		insn->lock = true;
		return true;
	case 0xf2: case 0xf3:
		insn->rep = b;
		return true;
	case 0x26:
		insn->seg = SVM_SEG_ES;
		return true;
	case 0x2e:
		insn->seg = SVM_SEG_CS;
		return true;
	case 0x36:
		insn->seg = SVM_SEG_SS;
		return true;
	case 0x3e:
		insn->seg = SVM_SEG_DS;
		return true;
	case 0x64:
		insn->seg = SVM_SEG_FS;
		return true;
	case 0x65:
		insn->seg = SVM_SEG_GS;
		return true;
	default:
		return false;
	}
}

/* Does this opcode take a ModRM byte, and how many immediate bytes? */
static int opcode_shape(struct svm_insn *insn, bool *modrm)
{
	u16 op = insn->opcode;
	int osz = insn->opsize == 2 ? 2 : 4;

	*modrm = true;
	switch (op) {
	case 0x88: case 0x89: case 0x8a: case 0x8b:	/* MOV r/m <-> r */
	case 0x86: case 0x87:				/* XCHG */
	case 0x0f20: case 0x0f22:			/* MOV CR */
	case 0x0f01:					/* group 7 */
	case 0x0fb6: case 0x0fb7:			/* MOVZX */
	case 0x0fb0: case 0x0fb1:			/* CMPXCHG */
		return 0;
	case 0xc6:
		return 1;
	case 0xc7:
		return osz;				/* imm32 sign-extended */
	case 0x0f06:					/* CLTS */
		*modrm = false;
		return 0;
	case 0xa0: case 0xa1: case 0xa2: case 0xa3:	/* MOV AL/rAX <-> moffs */
		*modrm = false;
		return insn->adsize;			/* the address itself */
	default:
		return -EOPNOTSUPP;
	}
}

static u64 seg_base(struct umbra_svm_vcpu *svm, const struct svm_insn *insn)
{
	const struct vmcb_save_area *save = &svm->vmcb->save;

	switch (insn->seg) {
	case SVM_SEG_FS:
		return save->fs.base;
	case SVM_SEG_GS:
		return save->gs.base;
	}
	if (insn->mode == 8)
		return 0;		/* 64-bit mode: flat but for FS and GS */
	switch (insn->seg) {
	case SVM_SEG_ES:
		return save->es.base;
	case SVM_SEG_CS:
		return save->cs.base;
	case SVM_SEG_SS:
		return save->ss.base;
	default:
		return save->ds.base;
	}
}

/* The default segment is SS for a (E)BP or (E)SP base, else DS. */
static void stack_base(struct svm_insn *insn, int reg)
{
	if (insn->seg == SVM_SEG_NONE && (reg == UMBRA_RSP || reg == UMBRA_RBP))
		insn->seg = SVM_SEG_SS;
}

/* 16-bit addressing: BX/BP plus SI/DI, by ModRM.rm (SDM vol. 2, 2-1). */
static int decode_modrm16(struct umbra_svm_vcpu *svm, struct svm_insn *insn,
			  u8 modrm, const u8 *b, int *pos, int avail)
{
	static const s8 base[8] = { UMBRA_RBX, UMBRA_RBX, UMBRA_RBP, UMBRA_RBP,
				    -1, -1, UMBRA_RBP, UMBRA_RBX };
	static const s8 index[8] = { UMBRA_RSI, UMBRA_RDI, UMBRA_RSI, UMBRA_RDI,
				     UMBRA_RSI, UMBRA_RDI, -1, -1 };
	unsigned int rm = modrm & 7;
	int disp = insn->mod == 1 ? 1 : insn->mod == 2 ? 2 : 0;
	u64 ea = 0;

	if (insn->mod == 0 && rm == 6) {
		disp = 2;		/* disp16 alone, no BP */
	} else {
		if (base[rm] >= 0) {
			ea += (u16)svm_gpr(svm, base[rm]);
			stack_base(insn, base[rm]);
		}
		if (index[rm] >= 0)
			ea += (u16)svm_gpr(svm, index[rm]);
	}
	if (*pos + disp > avail)
		return -EOPNOTSUPP;
	if (disp == 1)
		ea += (s64)(s8)b[*pos];
	else if (disp == 2)
		ea += get_unaligned_le16(&b[*pos]);
	*pos += disp;
	insn->has_mem = true;
	insn->ea = ea;
	return 0;
}

/* ModRM, SIB and displacement -> the effective address (before the segment). */
static int decode_modrm(struct umbra_svm_vcpu *svm, struct svm_insn *insn,
			const u8 *b, int *pos, int avail)
{
	u8 modrm, sib;
	u64 ea = 0;
	int disp = 0, base, index;

	if (*pos >= avail)
		return -EOPNOTSUPP;
	modrm = b[(*pos)++];
	insn->mod = modrm >> 6;
	insn->reg = ((modrm >> 3) & 7) | (insn->rex & 4 ? 8 : 0);
	insn->rm = (modrm & 7) | (insn->rex & 1 ? 8 : 0);
	if (insn->mod == 3)
		return 0;
	if (insn->adsize == 2)
		return decode_modrm16(svm, insn, modrm, b, pos, avail);

	base = modrm & 7;
	if (base == 4) {			/* SIB follows */
		if (*pos >= avail)
			return -EOPNOTSUPP;
		sib = b[(*pos)++];
		index = ((sib >> 3) & 7) | (insn->rex & 2 ? 8 : 0);
		base = (sib & 7) | (insn->rex & 1 ? 8 : 0);
		if (index != 4)
			ea += svm_gpr(svm, index) << (sib >> 6);
		if ((sib & 7) == 5 && insn->mod == 0) {
			disp = 4;		/* no base, disp32 */
		} else {
			ea += svm_gpr(svm, base);
			stack_base(insn, base);
		}
	} else if (base == 5 && insn->mod == 0) {
		/* disp32: from the next RIP in 64-bit mode, absolute elsewhere */
		insn->rip_relative = insn->mode == 8;
		disp = 4;
	} else {
		base = (modrm & 7) | (insn->rex & 1 ? 8 : 0);
		ea += svm_gpr(svm, base);
		stack_base(insn, base);
	}

	if (insn->mod == 1)
		disp = 1;
	else if (insn->mod == 2)
		disp = 4;
	if (*pos + disp > avail)
		return -EOPNOTSUPP;
	if (disp == 1)
		ea += (s64)(s8)b[*pos];
	else if (disp == 4)
		ea += (s64)(s32)get_unaligned_le32(&b[*pos]);
	*pos += disp;

	insn->has_mem = true;
	insn->ea = ea;
	return 0;
}

/* The code size of the guest's CS: 8 (64-bit mode), 4 or 2 bytes. */
static u8 code_size(struct umbra_svm_vcpu *svm)
{
	const struct vmcb_save_area *save = &svm->vmcb->save;

	if (!(save->cr0 & X86_CR0_PE) || (save->rflags & X86_EFLAGS_VM))
		return 2;			/* real mode, virtual-8086 */
	if ((svm->efer & EFER_LMA) && (save->cs.attrib & SVM_SELECTOR_L_MASK))
		return 8;
	return save->cs.attrib & SVM_SELECTOR_DB_MASK ? 4 : 2;
}

/**
 * umbra_svm_decode - fetch and decode the instruction at the guest's RIP
 * @svm: the vCPU (any code size)
 * @insn: filled in
 * @pf: the #PF to inject when the fetch faults
 *
 * Return: 0, -EFAULT (inject @pf), -EOPNOTSUPP (an instruction umbra does
 * not decode), or another -errno from reading guest memory.
 */
int umbra_svm_decode(struct umbra_svm_vcpu *svm, struct svm_insn *insn,
	       struct umbra_pf *pf)
{
	u64 rip = svm->vmcb->save.rip, pc;
	int pos = 0, avail, imm, r;
	bool modrm;
	u8 *b = insn->bytes;

	memset(insn, 0, sizeof(*insn));
	insn->seg = SVM_SEG_NONE;

	insn->mode = code_size(svm);
	/* The bytes are at CS.base + EIP outside 64-bit mode. */
	pc = insn->mode == 8 ? rip : (u32)(rip + svm->vmcb->save.cs.base);

	/* Read what the page holding RIP allows, then the next page if needed. */
	avail = min_t(int, SVM_INSN_MAX, PAGE_SIZE - (pc & ~PAGE_MASK));
	r = umbra_mmu_read_guest_virt(svm->vcpu, pc, b, avail,
				      PFERR_FETCH | svm_user_access(svm), pf);
	if (r)
		return r;
	if (avail < SVM_INSN_MAX &&
	    !umbra_mmu_read_guest_virt(svm->vcpu, pc + avail, b + avail,
				       SVM_INSN_MAX - avail,
				       PFERR_FETCH | svm_user_access(svm), pf))
		avail = SVM_INSN_MAX;

	while (pos < avail && is_prefix(b[pos], insn))
		pos++;
	if (insn->mode == 8 && pos < avail && (b[pos] & 0xf0) == 0x40)
		insn->rex = b[pos++];
	if (insn->mode == 8) {
		insn->opsize = insn->rex & 8 ? 8 : insn->p66 ? 2 : 4;
		insn->adsize = insn->p67 ? 4 : 8;
	} else {
		insn->opsize = insn->mode ^ (insn->p66 ? 6 : 0);	/* 2 <-> 4 */
		insn->adsize = insn->mode ^ (insn->p67 ? 6 : 0);
	}
	if (pos >= avail)
		return -EOPNOTSUPP;
	insn->opcode = b[pos++];
	if (insn->opcode == 0x0f) {
		if (pos >= avail)
			return -EOPNOTSUPP;
		insn->opcode = 0x0f00 | b[pos++];
	}

	imm = opcode_shape(insn, &modrm);
	if (imm < 0)
		return imm;
	if (modrm) {
		r = decode_modrm(svm, insn, b, &pos, avail);
		if (r)
			return r;
	}
	if (pos + imm > avail)
		return -EOPNOTSUPP;
	if (imm == 1)
		insn->imm = b[pos];
	else if (imm == 2)
		insn->imm = get_unaligned_le16(&b[pos]);
	else if (imm == 4)
		insn->imm = (s64)(s32)get_unaligned_le32(&b[pos]);
	else if (imm == 8)
		insn->imm = get_unaligned_le64(&b[pos]);
	pos += imm;

	if (insn->opcode >= 0xa0 && insn->opcode <= 0xa3) {
		/* The "immediate" is the memory operand's address. */
		insn->ea = insn->imm;
		insn->has_mem = true;
		insn->reg = UMBRA_RAX;
	}

	insn->len = pos;
	if (insn->rip_relative)
		insn->ea += rip + pos;
	if (insn->has_mem) {
		/* The address wraps at its size, the linear one outside 64-bit. */
		if (insn->adsize < 8)
			insn->ea &= GENMASK_ULL(insn->adsize * 8 - 1, 0);
		insn->ea += seg_base(svm, insn);
		if (insn->mode != 8)
			insn->ea = (u32)insn->ea;
	}
	return 0;
}

/**
 * umbra_svm_insn_opsize - operand size in bytes of a decoded MOV-like instruction
 * @insn: decoded by umbra_svm_decode()
 *
 * Byte forms (88, 8A, C6, 86, 0FB0, A0, A2) are 1; otherwise the operand
 * size of the code (REX.W and 0x66 applied).
 */
unsigned int umbra_svm_insn_opsize(const struct svm_insn *insn)
{
	switch (insn->opcode) {
	case 0x88: case 0x8a: case 0xc6: case 0x86: case 0x0fb0:
	case 0xa0: case 0xa2:
		return 1;
	}
	return insn->opsize;
}

/**
 * umbra_svm_decode_or_inject - decode at RIP; a faulting fetch is the guest's
 * @svm: the vCPU
 * @insn: filled in
 *
 * When fetching the instruction faults in the guest's own tables, the #PF
 * is queued for the guest (it would have faulted the same way).
 *
 * Return: 0 (decoded), SVM_DECODE_INJECTED (a #PF is queued: resume the
 * guest), or -errno as umbra_svm_decode().
 */
int umbra_svm_decode_or_inject(struct umbra_svm_vcpu *svm, struct svm_insn *insn)
{
	struct umbra_pf pf;
	int r = umbra_svm_decode(svm, insn, &pf);

	if (r == -EFAULT) {
		umbra_svm_queue_pf(svm, pf.fault_addr, pf.fault_error);
		return SVM_DECODE_INJECTED;
	}
	return r;
}
