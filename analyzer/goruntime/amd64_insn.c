#include "amd64_insn.h"

#include <string.h>

/* Immediate sizes: IMM_Z is 4 bytes (2 after 0x66), IMM_V 8 with REX.W
 * (MOV r64, imm64) and else IMM_Z, IMM_MOFFS 8 bytes (4 after 0x67). */
enum imm { IMM_0, IMM_1, IMM_2, IMM_3, IMM_Z, IMM_V, IMM_MOFFS };

/* Registers an opcode writes besides its ModRM and opcode-embedded ones:
 * the string, multiply/divide, cpuid-like and system instructions name
 * AX, CX, DX, SI, DI or more implicitly; take them all. */
#define IMPLICIT GM_AMD64_ALL_REGS

struct opcode {
	bool valid, modrm, ends, call_rel32, jump, conditional;
	enum imm imm;
	bool embedded_reg;     /* the low 3 bits (+ REX.B) name a register it writes */
	uint32_t implicit;     /* registers written implicitly */
};

/* An ALU opcode 00-3F: op r/m,r / r,r/m (x0-x3), then AL/eAX with an immediate (x4, x5). */
static void alu_opcode(uint8_t op, struct opcode *o)
{
	switch (op & 7) {
	case 0: case 1: case 2: case 3:
		o->modrm = true;
		break;
	case 4:
		o->imm = IMM_1;
		break;
	case 5:
		o->imm = IMM_Z;
		break;
	default:   /* push/pop of segment registers, DAA & co.: invalid in 64-bit mode */
		o->valid = false;
	}
}

/* The one-byte opcode map (after prefixes; VEX, EVEX and 0F handled before). */
static struct opcode one_byte(uint8_t op)
{
	struct opcode o = { .valid = true };
	if (op < 0x40) {
		alu_opcode(op, &o);
		return o;
	}
	if (op >= 0x50 && op <= 0x5f) {          /* PUSH r (writes SP only), POP r */
		o.embedded_reg = op >= 0x58;
		return o;
	}
	if (op >= 0x70 && op <= 0x7f) {          /* Jcc rel8 */
		o.imm = IMM_1;
		o.jump = o.conditional = true;
		return o;
	}
	if (op >= 0x80 && op <= 0x8f) {          /* group 1, TEST, XCHG, MOV, LEA, POP r/m */
		o.modrm = true;
		o.valid = op != 0x82;
		o.imm = op == 0x81 ? IMM_Z : (op == 0x80 || op == 0x83) ? IMM_1 : IMM_0;
		return o;
	}
	if (op >= 0x91 && op <= 0x97) {          /* XCHG r, AX */
		o.embedded_reg = true;
		o.implicit = 1u << 0;
		return o;
	}
	if (op >= 0xb0 && op <= 0xbf) {          /* MOV r, imm */
		o.embedded_reg = true;
		o.imm = op < 0xb8 ? IMM_1 : IMM_V;
		return o;
	}
	if (op >= 0xd8 && op <= 0xdf) {          /* x87 */
		o.modrm = true;
		return o;
	}
	switch (op) {
	case 0x63: case 0x84: case 0x85: case 0x86: case 0x87: case 0xd0: case 0xd1: case 0xd2: case 0xd3:
	case 0xfe:
		o.modrm = true;
		break;
	case 0x68: case 0xa9:
		o.imm = IMM_Z;
		break;
	case 0x69:
		o.modrm = true;
		o.imm = IMM_Z;
		break;
	case 0x6a: case 0xa8: case 0xe4: case 0xe5: case 0xe6: case 0xe7:
		o.imm = IMM_1;
		o.implicit = op == 0xe4 || op == 0xe5 ? IMPLICIT : 0;
		break;
	case 0x6b: case 0xc0: case 0xc1: case 0xc6:
		o.modrm = true;
		o.imm = IMM_1;
		break;
	case 0xc7:
		o.modrm = true;
		o.imm = IMM_Z;
		break;
	case 0x90: case 0x9b: case 0x9c: case 0x9d: case 0x9e: case 0xf5: case 0xf8: case 0xf9: case 0xfa:
	case 0xfb: case 0xfc: case 0xfd:
		break;
	case 0x98:              /* CBW/CWDE/CDQE: AX */
		o.implicit = 1u << 0;
		break;
	case 0x99:              /* CWD/CDQ/CQO: DX */
		o.implicit = 1u << 2;
		break;
	case 0x6c: case 0x6d: case 0x6e: case 0x6f: case 0x9f: case 0xa4: case 0xa5:
	case 0xa6: case 0xa7: case 0xaa: case 0xab: case 0xac: case 0xad: case 0xae: case 0xaf: case 0xc9:
	case 0xd7: case 0xec: case 0xed: case 0xee: case 0xef:
		o.implicit = IMPLICIT;
		break;
	case 0xa0: case 0xa1: case 0xa2: case 0xa3:
		o.imm = IMM_MOFFS;
		o.implicit = IMPLICIT;
		break;
	case 0xc2: case 0xca:
		o.imm = IMM_2;
		o.ends = true;
		break;
	case 0xc3: case 0xcb: case 0xcc: case 0xcf: case 0xf1: case 0xf4:
		o.ends = true;
		break;
	case 0xc8:
		o.imm = IMM_3;
		o.implicit = IMPLICIT;
		break;
	case 0xcd:
		o.imm = IMM_1;
		o.implicit = IMPLICIT;
		break;
	case 0xe0: case 0xe1: case 0xe2: case 0xe3:   /* LOOP, JRCXZ rel8 */
		o.imm = IMM_1;
		o.implicit = IMPLICIT;
		break;
	case 0xe8:
		o.imm = IMM_Z;
		o.call_rel32 = true;
		break;
	case 0xe9:
		o.imm = IMM_Z;
		o.jump = true;
		break;
	case 0xeb:
		o.imm = IMM_1;
		o.jump = true;
		break;
	case 0xf6: case 0xf7:   /* group 3: the immediate of TEST depends on ModRM.reg (decode adds it) */
		o.modrm = true;
		o.implicit = IMPLICIT;
		break;
	case 0xff:              /* group 5: indirect CALL and JMP depend on ModRM.reg */
		o.modrm = true;
		break;
	default:                /* 0x60-0x62, 0x82, 0x9a, 0xc4, 0xc5, 0xce, 0xd4-0xd6, 0xea: invalid */
		o.valid = false;
	}
	return o;
}

/* The two-byte (0F xx) opcode map. */
static struct opcode two_byte(uint8_t op)
{
	struct opcode o = { .valid = true, .modrm = true };
	if (op >= 0x80 && op <= 0x8f) {          /* Jcc rel32 */
		o.modrm = false;
		o.imm = IMM_Z;
		o.jump = o.conditional = true;
		return o;
	}
	if (op >= 0xc8 && op <= 0xcf) {          /* BSWAP r */
		o.modrm = false;
		o.embedded_reg = true;
		return o;
	}
	switch (op) {
	case 0x01: case 0xb0: case 0xb1: case 0xc7:   /* XGETBV/RDTSCP, CMPXCHG, CMPXCHG16B */
		o.implicit = IMPLICIT;
		break;
	case 0x05: case 0x06: case 0x07: case 0x08: case 0x09: case 0x0e: case 0x30: case 0x31: case 0x32:
	case 0x33: case 0x34: case 0x35: case 0x37: case 0x77: case 0xa0: case 0xa1: case 0xa2: case 0xa8:
	case 0xa9: case 0xaa:
		o.modrm = false;
		o.implicit = IMPLICIT;
		break;
	case 0x0b:                                    /* UD2 */
		o.modrm = false;
		o.ends = true;
		break;
	case 0x70: case 0x71: case 0x72: case 0x73: case 0xa4: case 0xac: case 0xba: case 0xc2: case 0xc4:
	case 0xc5: case 0xc6:
		o.imm = IMM_1;
		break;
	case 0x04: case 0x0a: case 0x0c: case 0x24: case 0x25: case 0x26: case 0x27: case 0x36: case 0x39:
	case 0x3b: case 0x3c: case 0x3d: case 0x3e: case 0x3f: case 0x7a: case 0x7b: case 0xa6: case 0xa7:
		o.valid = false;
		break;
	default:
		break;
	}
	return o;
}

struct cursor {
	const uint8_t *p;
	size_t avail, at;
};

static bool take(struct cursor *c, size_t n)
{
	if (n > c->avail - c->at)
		return false;
	c->at += n;
	return true;
}

static int64_t signed_at(const uint8_t *p, unsigned n)
{
	if (n == 1)
		return (int8_t)p[0];
	int32_t v = (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
	return v;
}

/* A ModRM memory operand. */
struct memop {
	bool present;        /* mod != 3 */
	size_t rip_disp;     /* RIP-relative: where its displacement starts; else 0 */
	bool sp, frame;      /* based on SP (a stack slot at disp), or on SP or BP, without index */
	int base;            /* the base register without an index; -1 if none or indexed */
	int32_t disp;
};

/* The ModRM byte at the cursor and what follows it (REX for the base and
 * index registers). */
static bool skip_modrm(struct cursor *c, uint8_t rex, uint8_t *ret_modrm, struct memop *m)
{
	if (!take(c, 1))
		return false;
	uint8_t modrm = c->p[c->at - 1], mod = modrm >> 6, rm = modrm & 7;
	*ret_modrm = modrm;
	*m = (struct memop){ .present = mod != 3 };
	if (mod == 3)
		return true;
	uint8_t base = rm;
	bool indexed = false;
	if (rm == 4) {
		if (!take(c, 1))
			return false;
		uint8_t sib = c->p[c->at - 1];
		base = sib & 7;
		indexed = ((sib >> 3) & 7) != 4 || (rex & 2);
	}
	unsigned base_reg = base | (rex & 1 ? 8 : 0);
	bool no_base = mod == 0 && base == 5;
	/* An indexed operand based on SP or BP is in the frame too, at an
	 * offset not known here. */
	m->base = no_base || indexed ? -1 : (int)base_reg;
	m->sp = !no_base && !indexed && base_reg == 4;
	m->frame = !no_base && (base_reg == 4 || base_reg == 5);
	size_t disp_at = c->at;
	if (mod == 1) {
		if (!take(c, 1))
			return false;
		m->disp = (int8_t)c->p[disp_at];
		return true;
	}
	if (mod == 2 || no_base) {
		if (mod == 0 && rm == 5)
			m->rip_disp = disp_at;
		if (!take(c, 4))
			return false;
		m->disp = (int32_t)signed_at(c->p + disp_at, 4);
	}
	return true;
}

/* Whether a 0F-map instruction's ModRM.reg names an MMX or XMM register,
 * not a general one: the SSE moves and arithmetic (MOVUPS, MOVSD, PXOR,
 * ...), whose register operand is never a general register's. Not
 * MOVMSKPS (50), PEXTRW (C5), PMOVMSKB (D7), CVT*2SI (2C, 2D): those write
 * a general register. */
static bool xmm_reg_operand(uint8_t op)
{
	return (op >= 0x10 && op <= 0x17) || (op >= 0x28 && op <= 0x2b) || op == 0x2e || op == 0x2f ||
	       (op >= 0x51 && op <= 0x7f) || op == 0xc2 || op == 0xc4 || op == 0xc6 ||
	       (op >= 0xd0 && op <= 0xfe && op != 0xd7);
}

/* Whether an instruction with a memory operand only reads it (loads,
 * compares, tests, LEA, prefetches, indirect jumps and calls); every other
 * one may write it. */
static bool reads_memory_only(uint8_t op, bool escape, unsigned group_reg)
{
	static const uint8_t one[] = { 0x02, 0x03, 0x0a, 0x0b, 0x12, 0x13, 0x1a, 0x1b, 0x22, 0x23, 0x2a, 0x2b,
				       0x32, 0x33, 0x38, 0x39, 0x3a, 0x3b, 0x63, 0x69, 0x6b, 0x84, 0x85, 0x8a,
				       0x8b, 0x8d };
	static const uint8_t two[] = { 0x10, 0x12, 0x16, 0x28, 0x2e, 0x2f, 0x6f, 0xa3, 0xaf, 0xb6, 0xb7, 0xb8,
				       0xbc, 0xbd, 0xbe, 0xbf };
	if (escape && xmm_reg_operand(op))   /* only the stores to r/m write memory */
		return !(op == 0x11 || op == 0x13 || op == 0x17 || op == 0x29 || op == 0x2b || op == 0x7e ||
			 op == 0x7f || op == 0xd6 || op == 0xe7);
	if (escape)
		return memchr(two, op, sizeof(two)) || (op >= 0x18 && op <= 0x1f) || (op >= 0x40 && op <= 0x4f) ||
		       (op >= 0x51 && op <= 0x5f);
	if (op >= 0x80 && op <= 0x83)
		return group_reg == 7;                 /* CMP */
	if (op == 0xf6 || op == 0xf7)
		return group_reg != 2 && group_reg != 3;   /* TEST, MUL, DIV: not NOT, NEG */
	if (op == 0xff)
		return group_reg == 2 || group_reg == 4;   /* indirect CALL, JMP */
	return memchr(one, op, sizeof(one)) != NULL;
}

/* VEX (C4, C5) and EVEX (62) instructions: their length; they are taken to write every register. */
static bool decode_vex(struct cursor *c, uint8_t lead, struct gm_amd64_insn *ret)
{
	unsigned payload = lead == 0xc5 ? 1 : lead == 0xc4 ? 2 : 3, map;
	if (!take(c, payload + 1))
		return false;
	const uint8_t *p = c->p + c->at - payload - 1;
	map = lead == 0xc5 ? 1 : lead == 0xc4 ? (p[0] & 0x1f) : (p[0] & 3);
	uint8_t op = c->p[c->at - 1], modrm;
	struct memop m = { .present = false };
	if (map < 1 || map > 3)
		return false;
	if (!(map == 1 && op == 0x77) && !skip_modrm(c, 0, &modrm, &m))   /* VZEROUPPER/ALL: no ModRM */
		return false;
	bool imm8 = map == 3 || (map == 1 && ((op >= 0x70 && op <= 0x73) || op == 0xc2 || op == 0xc4 || op == 0xc5 ||
					      op == 0xc6));
	if (imm8 && !take(c, 1))
		return false;
	ret->kind = GM_AMD64_OTHER;
	ret->writes = GM_AMD64_ALL_REGS;
	ret->memory_write = m.present;
	ret->frame_write = m.present && m.frame;
	return true;
}

static unsigned imm_bytes(enum imm imm, bool opsize16, bool addr32, bool rex_w)
{
	switch (imm) {
	case IMM_1: return 1;
	case IMM_2: return 2;
	case IMM_3: return 3;
	case IMM_Z: return opsize16 ? 2 : 4;
	case IMM_V: return rex_w ? 8 : opsize16 ? 2 : 4;
	case IMM_MOFFS: return addr32 ? 4 : 8;
	default: return 0;
	}
}

/* Whether ModRM.reg is an opcode extension, not a register (groups). */
static bool group_opcode(uint8_t op, bool escape)
{
	if (escape)
		return op == 0x00 || op == 0x01 || (op >= 0x18 && op <= 0x1f) || (op >= 0x71 && op <= 0x73) ||
		       op == 0xae || op == 0xba || op == 0xc7;
	return (op >= 0x80 && op <= 0x83) || op == 0x8f || op == 0xc0 || op == 0xc1 || op == 0xc6 || op == 0xc7 ||
	       (op >= 0xd0 && op <= 0xd3) || op == 0xf6 || op == 0xf7 || op == 0xfe || op == 0xff;
}

/* The general registers a 0F-map ModRM instruction may write. */
static uint32_t escape_writes(uint8_t op, uint32_t to_reg, uint32_t to_rm)
{
	if (xmm_reg_operand(op))          /* MOVD/MOVQ r/m, xmm (7E) alone writes its r/m */
		return op == 0x7e ? to_rm : 0;
	if (op >= 0x90 && op <= 0x9f)     /* SETcc r/m8: ModRM.reg is unused */
		return to_rm;
	if ((op >= 0x40 && op <= 0x4f) || op == 0xaf || op == 0xb6 || op == 0xb7 || op == 0xb8 || op == 0xbc ||
	    op == 0xbd || op == 0xbe || op == 0xbf)
		return to_reg;            /* CMOVcc, IMUL, MOVZX, POPCNT, BSF/TZCNT, BSR/LZCNT, MOVSX */
	if (op == 0xa3)                   /* BT */
		return 0;
	if (op == 0xa4 || op == 0xa5 || op == 0xab || op == 0xac || op == 0xad || op == 0xb3 || op == 0xbb)
		return to_rm;             /* SHLD, BTS, SHRD, BTR, BTC */
	if (op == 0xb0 || op == 0xb1)     /* CMPXCHG: AX too */
		return to_rm | 1u;
	return to_reg | to_rm;
}

/* The registers a ModRM instruction may write: its r/m operand when that
 * is a register and the destination, its reg operand when that is. */
static uint32_t modrm_writes(uint8_t op, bool escape, unsigned reg, unsigned rm, bool direct)
{
	uint32_t to_rm = direct ? 1u << rm : 0, to_reg = 1u << reg;
	if (group_opcode(op, escape))
		return to_rm;
	if (escape)
		return escape_writes(op, to_reg, to_rm);
	if (op < 0x40) {                           /* ALU: CMP writes nothing, x0/x1 r/m, x2/x3 reg */
		if (op >= 0x38)
			return 0;
		return (op & 7) < 2 ? to_rm : to_reg;
	}
	switch (op) {
	case 0x84: case 0x85:                      /* TEST */
		return 0;
	case 0x88: case 0x89:                      /* MOV r/m, r */
		return to_rm;
	case 0x63: case 0x69: case 0x6b: case 0x8a: case 0x8b: case 0x8d:
		return to_reg;
	default:                                   /* XCHG, x87 (FSTSW AX among them) */
		return op >= 0xd8 && op <= 0xdf ? GM_AMD64_ALL_REGS : to_reg | to_rm;
	}
}

/* How many bytes from its memory operand a ModRM instruction may write, V
 * its operand size (2, 4 or 8); 0 where that is not bounded so (FXSAVE,
 * x87 state, BTS with a register's bit index, AVX forms). */
static unsigned write_width(uint8_t op, bool escape, unsigned group_reg, unsigned v)
{
	if (escape) {
		if (op >= 0x90 && op <= 0x9f)                   /* SETcc */
			return 1;
		switch (op) {
		case 0x13: case 0x17: case 0x7e: case 0xd6:     /* MOVLPS, MOVHPS, MOVD/MOVQ, MOVQ */
			return 8;
		case 0x11: case 0x29: case 0x2b: case 0x7f: case 0xe7: case 0xc7:   /* SSE stores, CMPXCHG16B */
			return 16;
		case 0xb0: case 0xc0:                           /* CMPXCHG, XADD (bytes) */
			return 1;
		case 0xa4: case 0xa5: case 0xac: case 0xad: case 0xb1: case 0xc1: case 0xc3:
			return v;                               /* SHLD, SHRD, CMPXCHG, XADD, MOVNTI */
		case 0xba:                                      /* BTS/BTR/BTC m, imm8: within the operand */
			return group_reg >= 4 ? v : 0;
		default:
			return 0;
		}
	}
	if (op < 0x40 || (op >= 0x80 && op <= 0x8f) || op == 0xc0 || op == 0xc1 || op == 0xc6 || op == 0xc7 ||
	    (op >= 0xd0 && op <= 0xd3) || op == 0xf6 || op == 0xf7 || op == 0xfe || op == 0xff)
		return op == 0x8c ? 2 : op == 0x8f ? 8 : (op & 1) || op == 0x83 ? v : 1;
	return 0;
}

/* What a decoded ModRM instruction does: the moves the callers follow, else
 * the registers and memory it may write. */
static void classify(struct gm_amd64_insn *ret, uint8_t op, bool escape, uint8_t rex, uint8_t modrm,
		     const struct memop *m, const struct cursor *c, uint64_t pc, unsigned v)
{
	unsigned reg = ((modrm >> 3) & 7) | (rex & 4 ? 8 : 0), rm = (modrm & 7) | (rex & 1 ? 8 : 0);
	bool w = rex & 8, direct = modrm >> 6 == 3;
	uint64_t target = m->rip_disp ? pc + c->at + (uint64_t)signed_at(c->p + m->rip_disp, 4) : 0;
	ret->kind = GM_AMD64_OTHER;
	ret->writes = modrm_writes(op, escape, reg, rm, direct);
	ret->memory_write = m->present && !reads_memory_only(op, escape, (modrm >> 3) & 7);
	ret->base = !m->present ? -1 : m->rip_disp ? GM_AMD64_RIP : m->base;
	if (escape && op == 0xf7) {   /* MASKMOVQ: to (DI), wherever that is */
		ret->memory_write = ret->frame_write = true;
		ret->base = -1;
	} else {
		ret->frame_write = ret->memory_write && m->frame;
	}
	ret->frame_address = !escape && op == 0x8d && m->frame;
	ret->frame_size = ret->frame_write ? write_width(op, escape, (modrm >> 3) & 7, v) : 0;
	ret->frame_known = ((ret->frame_write && ret->frame_size) || ret->frame_address) && m->sp;
	ret->frame_off = m->disp;
	if (!escape && op == 0xc7 && ((modrm >> 3) & 7) == 0 && w && m->rip_disp) {   /* MOVQ $imm32, target(RIP) */
		ret->kind = GM_AMD64_STORE_IMM_RIP;
		ret->target = target;
		ret->imm = signed_at(c->p + c->at - 4, 4);
		ret->memory_write = ret->frame_write = false;
		return;
	}
	if (escape || !w || (op != 0x89 && op != 0x8b && op != 0x8d))
		return;
	if (m->rip_disp) {
		ret->kind = op == 0x8d ? GM_AMD64_LEA_RIP : op == 0x8b ? GM_AMD64_LOAD_RIP : GM_AMD64_STORE_RIP;
		ret->reg = reg;
		ret->target = target;
		ret->memory_write = ret->frame_write = false;
	} else if (m->sp && op != 0x8d) {
		ret->kind = op == 0x8b ? GM_AMD64_LOAD_SP : GM_AMD64_STORE_SP;
		ret->reg = reg;
		ret->slot = m->disp;
		ret->memory_write = ret->frame_write = false;
	} else if (op == 0x89 && m->present && !m->frame && m->base >= 0) {
		ret->kind = GM_AMD64_STORE_BASE;   /* still a memory write */
		ret->reg = reg;
		ret->src = (unsigned)m->base;
		ret->frame_off = m->disp;
	} else if ((op == 0x8b || op == 0x8d) && m->present && !m->frame && m->base >= 0) {
		ret->kind = op == 0x8b ? GM_AMD64_LOAD_BASE : GM_AMD64_LEA_BASE;
		ret->reg = reg;
		ret->src = (unsigned)m->base;
		ret->frame_off = m->disp;
	} else if (direct && op != 0x8d) {
		ret->kind = GM_AMD64_MOVE;
		ret->reg = op == 0x89 ? rm : reg;
		ret->src = op == 0x89 ? reg : rm;
	}
}

bool gm_amd64_decode(const uint8_t *p, size_t avail, uint64_t pc, struct gm_amd64_insn *ret)
{
	struct cursor c = { .p = p, .avail = avail > 15 ? 15 : avail };
	bool opsize16 = false, addr32 = false;
	uint8_t rex = 0, op;
	*ret = (struct gm_amd64_insn){ .kind = GM_AMD64_OTHER, .base = -1 };
	for (;;) {   /* legacy prefixes */
		if (!take(&c, 1))
			return false;
		op = p[c.at - 1];
		if (op == 0x66)
			opsize16 = true;
		else if (op == 0x67)
			addr32 = true;
		else if (op != 0xf0 && op != 0xf2 && op != 0xf3 && op != 0x2e && op != 0x36 && op != 0x3e &&
			 op != 0x26 && op != 0x64 && op != 0x65)
			break;
	}
	if ((op & 0xf0) == 0x40) {
		rex = op;
		if (!take(&c, 1))
			return false;
		op = p[c.at - 1];
	}
	if (op == 0xc4 || op == 0xc5 || op == 0x62) {
		bool ok = decode_vex(&c, op, ret);
		ret->len = (unsigned)c.at;
		return ok;
	}
	bool escape = op == 0x0f;
	struct opcode o;
	if (escape) {
		if (!take(&c, 1))
			return false;
		op = p[c.at - 1];
		if (op == 0x38 || op == 0x3a) {   /* three-byte maps: all ModRM, 0F3A with an imm8 */
			bool imm8 = op == 0x3a;
			if (!take(&c, 1))
				return false;
			o = (struct opcode){ .valid = true, .modrm = true, .imm = imm8 ? IMM_1 : IMM_0, .implicit = IMPLICIT };
		} else {
			o = two_byte(op);
		}
	} else {
		o = one_byte(op);
	}
	if (!o.valid)
		return false;
	uint8_t modrm = 0;
	struct memop m = { .present = false };
	if (o.modrm && !skip_modrm(&c, rex, &modrm, &m))
		return false;
	unsigned group_reg = (modrm >> 3) & 7;
	if (!escape && (op == 0xf6 || op == 0xf7) && group_reg < 2)   /* TEST r/m, imm */
		o.imm = op == 0xf6 ? IMM_1 : IMM_Z;
	/* Group 3 writes no memory it does not name: TEST, NOT and NEG only
	 * their operand, MUL, IMUL, DIV and IDIV AX and DX besides. */
	if (!escape && (op == 0xf6 || op == 0xf7))
		o.implicit = group_reg >= 4 ? 1u << 0 | 1u << 2 : 0;
	size_t imm_at = c.at;
	if (!take(&c, imm_bytes(o.imm, opsize16, addr32, rex & 8)))
		return false;
	ret->len = (unsigned)c.at;
	if (o.call_rel32 || o.jump) {
		unsigned n = imm_bytes(o.imm, opsize16, addr32, rex & 8);
		if (n != 1 && n != 4)   /* a 16-bit displacement (0x66) truncates the pc */
			return false;
		ret->kind = o.jump ? GM_AMD64_JUMP : GM_AMD64_CALL;
		ret->conditional = o.conditional;
		ret->target = pc + c.at + (uint64_t)signed_at(p + imm_at, n);
		return true;
	}
	if (o.ends || (!escape && op == 0xff && (group_reg == 4 || group_reg == 5))) {
		ret->kind = GM_AMD64_END;
		ret->ret = !escape && (op == 0xc3 || op == 0xc2);
		return true;
	}
	if (!escape && op == 0xff && (group_reg == 2 || group_reg == 3)) {   /* indirect CALL: a call's effects */
		ret->writes = GM_AMD64_ALL_REGS;
		ret->memory_write = true;
		return true;
	}
	if (o.modrm)
		classify(ret, op, escape, rex, modrm, &m, &c, pc, rex & 8 ? 8 : opsize16 ? 2 : 4);
	if (o.embedded_reg)
		ret->writes |= 1u << ((op & 7) | (rex & 1 ? 8 : 0));
	ret->writes |= o.implicit;
	/* PUSH and POP move SP (a new frame base); string and other implicit
	 * memory ops write where DI says. */
	if (!escape && ((op >= 0x50 && op <= 0x5f) || op == 0x8f || op == 0x68 || op == 0x6a || op == 0x9c ||
			op == 0x9d || op == 0xc8 || op == 0xc9 || (op == 0xff && group_reg == 6)))
		ret->writes |= 1u << 4;
	if (o.implicit == IMPLICIT)
		ret->memory_write = true;
	return true;
}
