// SPDX-License-Identifier: GPL-2.0
/*
 * decode.c - read and decode the guest instruction at RIP
 *
 * What it owns:
 *   the little x86 decoder umbra needs because AMD-V without DecodeAssists
 *   (QEMU's emulated AMD-V among others) says nothing about the instruction
 *   behind a CR access, an INVLPG or a #PF on MMIO: prefixes, REX, one- and
 *   two-byte opcodes, ModRM/SIB/displacement, immediates of the forms
 *   umbra emulates, and the effective address in 64-bit mode.
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
#include <umbra/mmu.h>
#include "decode.h"
#include "svm.h"

static bool is_prefix(u8 b, struct svm_insn *insn)
{
	switch (b) {
	case 0x66:
		insn->opsize16 = true;
		return true;
	case 0x67:
		insn->adsize32 = true;
		return true;
	case 0xf0:
		insn->lock = true;
		return true;
	case 0xf2: case 0xf3:
		insn->rep = b;
		return true;
	case 0x64:
		insn->seg = SVM_SEG_FS;
		return true;
	case 0x65:
		insn->seg = SVM_SEG_GS;
		return true;
	case 0x26: case 0x2e: case 0x36: case 0x3e:
		/* ES/CS/SS/DS overrides: no base in 64-bit mode. */
		return true;
	default:
		return false;
	}
}

/* Does this opcode take a ModRM byte, and how many immediate bytes? */
static int opcode_shape(struct svm_insn *insn, bool *modrm)
{
	u16 op = insn->opcode;
	int osz = insn->opsize16 ? 2 : 4;

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
		return insn->adsize32 ? 4 : 8;		/* the address itself */
	default:
		return -EOPNOTSUPP;
	}
}

static u64 seg_base(struct umbra_svm_vcpu *svm, int seg)
{
	if (seg == SVM_SEG_FS)
		return svm->vmcb->save.fs.base;
	if (seg == SVM_SEG_GS)
		return svm->vmcb->save.gs.base;
	return 0;
}

/* ModRM, SIB and displacement -> the effective address (64-bit mode). */
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

	base = modrm & 7;
	if (base == 4) {			/* SIB follows */
		if (*pos >= avail)
			return -EOPNOTSUPP;
		sib = b[(*pos)++];
		index = ((sib >> 3) & 7) | (insn->rex & 2 ? 8 : 0);
		base = (sib & 7) | (insn->rex & 1 ? 8 : 0);
		if (index != 4)
			ea += svm_gpr(svm, index) << (sib >> 6);
		if ((sib & 7) == 5 && insn->mod == 0)
			disp = 4;		/* no base, disp32 */
		else
			ea += svm_gpr(svm, base);
	} else if (base == 5 && insn->mod == 0) {
		insn->rip_relative = true;	/* disp32 from the next RIP */
		disp = 4;
	} else {
		ea += svm_gpr(svm, (modrm & 7) | (insn->rex & 1 ? 8 : 0));
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

/**
 * umbra_svm_decode - fetch and decode the instruction at the guest's RIP
 * @svm: the vCPU (64-bit mode)
 * @insn: filled in
 * @pf: the #PF to inject when the fetch faults
 *
 * Return: 0, -EFAULT (inject @pf), -EOPNOTSUPP (an instruction umbra does
 * not decode), or another -errno from reading guest memory.
 */
int umbra_svm_decode(struct umbra_svm_vcpu *svm, struct svm_insn *insn,
	       struct umbra_pf *pf)
{
	u64 rip = svm->vmcb->save.rip;
	int pos = 0, avail, imm, r;
	bool modrm;
	u8 *b = insn->bytes;

	memset(insn, 0, sizeof(*insn));
	insn->seg = SVM_SEG_NONE;

	/* Read what the page holding RIP allows, then the next page if needed. */
	avail = min_t(int, SVM_INSN_MAX, PAGE_SIZE - (rip & ~PAGE_MASK));
	r = umbra_mmu_read_guest_virt(svm->vcpu, rip, b, avail,
				      PFERR_FETCH | svm_user_access(svm), pf);
	if (r)
		return r;
	if (avail < SVM_INSN_MAX &&
	    !umbra_mmu_read_guest_virt(svm->vcpu, rip + avail, b + avail,
				       SVM_INSN_MAX - avail,
				       PFERR_FETCH | svm_user_access(svm), pf))
		avail = SVM_INSN_MAX;

	while (pos < avail && is_prefix(b[pos], insn))
		pos++;
	if (pos < avail && (b[pos] & 0xf0) == 0x40)
		insn->rex = b[pos++];
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
		insn->ea = insn->adsize32 ? (u32)insn->imm : insn->imm;
		insn->has_mem = true;
		insn->reg = UMBRA_RAX;
	}

	insn->len = pos;
	if (insn->rip_relative)
		insn->ea += rip + pos;
	if (insn->has_mem)
		insn->ea += seg_base(svm, insn->seg);
	return 0;
}

/**
 * umbra_svm_insn_opsize - operand size in bytes of a decoded MOV-like instruction
 * @insn: decoded by umbra_svm_decode()
 *
 * Byte forms (88, 8A, C6, 86, 0FB0, A0, A2) are 1; otherwise REX.W makes 8, an
 * operand-size prefix 2, and the default is 4.
 */
unsigned int umbra_svm_insn_opsize(const struct svm_insn *insn)
{
	switch (insn->opcode) {
	case 0x88: case 0x8a: case 0xc6: case 0x86: case 0x0fb0:
	case 0xa0: case 0xa2:
		return 1;
	}
	if (insn->rex & 8)
		return 8;
	return insn->opsize16 ? 2 : 4;
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
