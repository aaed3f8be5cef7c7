/* amd64_insn: one x86-64 instruction's length and what it does to the
 * general registers, as far as following a few values through compiled Go
 * code needs (code_types.c): an address formed or loaded RIP-relative, a
 * register stored RIP-relative, a register copied, a direct call or jump,
 * the end of straight-line flow; for anything else, every general register it may
 * write (more than it does, never fewer).
 *
 * The decoder knows the legacy, 0F, 0F38 and 0F3A opcode maps, the legacy
 * and REX prefixes, and VEX/EVEX encodings by their length only (they are
 * taken to write every register).  An opcode that is invalid in 64-bit
 * mode ends decoding: the caller drops the function.
 */
#ifndef GOMORTEM_AMD64_INSN_H
#define GOMORTEM_AMD64_INSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* General registers by their encoding: AX 0, CX 1, DX 2, BX 3, SP 4, BP 5,
 * SI 6, DI 7, R8..R15 8..15. */
#define GM_AMD64_ALL_REGS 0xffffu

enum gm_amd64_insn_kind {
	GM_AMD64_OTHER,      /* writes at most the registers in `writes` */
	GM_AMD64_LEA_RIP,    /* LEAQ target(RIP), reg */
	GM_AMD64_LOAD_RIP,   /* MOVQ target(RIP), reg */
	GM_AMD64_STORE_RIP,  /* MOVQ reg, target(RIP) */
	GM_AMD64_MOVE,       /* MOVQ src, reg (64-bit register copy) */
	GM_AMD64_CALL,       /* CALL target (rel32) */
	GM_AMD64_JUMP,       /* JMP or Jcc target (rel8, rel32); conditional: falls through too */
	GM_AMD64_END,        /* RET, UD2, INT3, HLT, an indirect JMP: no fall-through */
};

struct gm_amd64_insn {
	unsigned len;
	enum gm_amd64_insn_kind kind;
	unsigned reg, src;
	uint64_t target;
	bool conditional;    /* GM_AMD64_JUMP */
	uint32_t writes;     /* GM_AMD64_OTHER: a bit per register it may write */
};

/* Decode the instruction at P (AVAIL bytes readable), at address PC;
 * false if it is invalid in 64-bit mode or runs past AVAIL. */
bool gm_amd64_decode(const uint8_t *p, size_t avail, uint64_t pc, struct gm_amd64_insn *ret);

#endif
