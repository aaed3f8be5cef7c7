/* amd64_insn: one x86-64 instruction's length and what it does to the
 * general registers, as far as following a few values through compiled Go
 * code needs (code_types.c): an address formed or loaded RIP-relative, a
 * register stored RIP-relative, a stack slot (SP-relative) loaded or
 * stored, a register copied, a direct call or jump, the end of straight-line
 * flow; for anything else, every general register it may write and whether
 * it may write memory, the frame's or elsewhere (more than it does, never
 * less).
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
#define GM_AMD64_RIP 16

enum gm_amd64_insn_kind {
	GM_AMD64_OTHER,      /* writes at most the registers in `writes` */
	GM_AMD64_LEA_RIP,    /* LEAQ target(RIP), reg */
	GM_AMD64_LOAD_RIP,   /* MOVQ target(RIP), reg */
	GM_AMD64_STORE_RIP,  /* MOVQ reg, target(RIP) */
	GM_AMD64_STORE_IMM_RIP,   /* MOVQ $imm, target(RIP) */
	GM_AMD64_STORE_BASE, /* MOVQ reg, frame_off(src): through a register (a memory write, not the frame's) */
	GM_AMD64_MOVE,       /* MOVQ src, reg (64-bit register copy) */
	GM_AMD64_LOAD_BASE,  /* MOVQ frame_off(src), reg: a load through a register (not SP or BP) */
	GM_AMD64_LEA_BASE,   /* LEAQ frame_off(src), reg: an address from a register (not SP or BP) */
	GM_AMD64_LOAD_SP,    /* MOVQ slot(SP), reg */
	GM_AMD64_STORE_SP,   /* MOVQ reg, slot(SP) */
	GM_AMD64_CALL,       /* CALL target (rel32) */
	GM_AMD64_JUMP,       /* JMP or Jcc target (rel8, rel32); conditional: falls through too */
	GM_AMD64_END,        /* RET, UD2, INT3, HLT, an indirect JMP: no fall-through */
};

struct gm_amd64_insn {
	unsigned len;
	enum gm_amd64_insn_kind kind;
	unsigned reg, src;
	uint64_t target;
	int32_t slot;        /* LOAD_SP, STORE_SP: the offset from SP */
	bool conditional;    /* GM_AMD64_JUMP */
	bool ret;            /* GM_AMD64_END: a RET */
	uint32_t writes;     /* GM_AMD64_OTHER: a bit per register it may write (SP is 4) */
	bool memory_write;   /* it may write memory (other than the moves above) */
	int base;            /* ... through this base register (no index), GM_AMD64_RIP if
			      * RIP-relative (a global), -1 otherwise */
	bool frame_write;    /* ... addressed from SP or BP: the frame's own slots */
	bool frame_known;    /* ... at frame_off from SP (not indexed, not from BP), of frame_size bytes */
	int32_t frame_off;
	unsigned frame_size;
	int64_t imm;         /* GM_AMD64_STORE_IMM_RIP: the value stored */
	bool frame_address;  /* LEA of a frame address (SP or BP based): a slot may be written through it;
			      * at frame_off from SP when frame_known */
};

/* Decode the instruction at P (AVAIL bytes readable), at address PC;
 * false if it is invalid in 64-bit mode or runs past AVAIL. */
bool gm_amd64_decode(const uint8_t *p, size_t avail, uint64_t pc, struct gm_amd64_insn *ret);

#endif
