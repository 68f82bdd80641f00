/* SPDX-License-Identifier: GPL-2.0 */
/*
 * decode.h - a decoded guest instruction (svm/decode.c)
 */
#ifndef _UMBRA_SVM_DECODE_H
#define _UMBRA_SVM_DECODE_H

#include <linux/types.h>
#include <linux/unaligned.h>

#define SVM_INSN_MAX	15	/* the architectural maximum length */

enum {
	SVM_SEG_NONE, SVM_SEG_ES, SVM_SEG_CS, SVM_SEG_SS, SVM_SEG_DS,
	SVM_SEG_FS, SVM_SEG_GS,
};

/**
 * struct svm_insn - what umbra_svm_decode() found
 * @bytes:	the raw bytes read at RIP
 * @len:	instruction length
 * @opcode:	one-byte opcode, or 0x0fXX for two-byte ones
 * @mode:	code size of CS in bytes: 8 (64-bit mode), 4 or 2
 * @rex:	the REX prefix, or 0 (64-bit mode only)
 * @p66:	0x66 prefix (operand size)
 * @p67:	0x67 prefix (address size)
 * @opsize:	operand size of the non-byte forms: 2, 4 or 8
 * @adsize:	address size: 2, 4 or 8
 * @lock:	0xf0 prefix
 * @rep:	0xf2/0xf3 prefix, or 0
 * @seg:	segment override (SVM_SEG_*), the stack's default for a
 *		(E)BP/(E)SP base, or SVM_SEG_NONE (DS)
 * @mod, @reg, @rm: ModRM fields, @reg and @rm extended by REX.R/REX.B
 * @has_mem:	the ModRM operand is memory, at @ea
 * @rip_relative: @ea was RIP-relative
 * @ea:		linear address of the memory operand (segment base added)
 * @imm:	immediate, sign-extended
 */
struct svm_insn {
	u8 bytes[SVM_INSN_MAX];
	u8 len;
	u16 opcode;
	u8 mode;
	u8 rex;
	bool p66, p67, lock;
	u8 opsize, adsize;
	u8 rep;
	u8 seg;
	u8 mod, reg, rm;
	bool has_mem, rip_relative;
	u64 ea;
	u64 imm;
};

struct umbra_svm_vcpu;
struct umbra_pf;

int umbra_svm_decode(struct umbra_svm_vcpu *svm, struct svm_insn *insn,
	       struct umbra_pf *pf);

#define SVM_DECODE_INJECTED	1	/* the fetch faulted: a #PF is queued */
int umbra_svm_decode_or_inject(struct umbra_svm_vcpu *svm, struct svm_insn *insn);
unsigned int umbra_svm_insn_opsize(const struct svm_insn *insn);

#endif /* _UMBRA_SVM_DECODE_H */
