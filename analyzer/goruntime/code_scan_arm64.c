/* code_scan_arm64: AArch64 code (fixed 4-byte instructions) into
 * code_scan's operations: ADRP with ADD or a load/store forms an address,
 * LDR/STR of 64-bit registers load and store globals and SP-relative
 * slots, ORR moves registers, BL calls, B/B.cond/CBZ/TBZ jump; any other
 * instruction writes at most its Rd (loads: their Rt, Rt2, a written-back
 * base). */
#include "code_refs.h"
#include "code_scan.h"

static uint32_t bits(uint32_t insn, unsigned lo, unsigned n)
{
	return (insn >> lo) & ((1u << n) - 1);
}

/* The registers an AArch64 load or store may write: the loaded ones
 * (not for a store, nor SIMD registers), the base on writeback. */
static uint32_t arm64_memory_writes(uint32_t insn)
{
	uint32_t rt = 1u << bits(insn, 0, 5), rt2 = 1u << bits(insn, 10, 5), rn = 1u << bits(insn, 5, 5);
	bool simd = insn & (1u << 26);
	if ((insn & 0x3b000000) == 0x39000000)            /* unsigned offset: no writeback */
		return bits(insn, 22, 2) == 0 || simd ? 0 : rt;
	if ((insn & 0x3a000000) == 0x28000000) {          /* pair */
		uint32_t writeback = bits(insn, 23, 2) & 1 ? rn : 0;
		return writeback | ((insn & (1u << 22)) && !simd ? rt | rt2 : 0);
	}
	if ((insn & 0x3b200000) == 0x38000000) {          /* unscaled, pre- and post-indexed */
		uint32_t writeback = bits(insn, 10, 2) & 1 ? rn : 0;
		return writeback | (bits(insn, 22, 2) == 0 || simd ? 0 : rt);
	}
	/* Exclusive (LDAXR, STLXR, CAS) and atomic (LDADD, SWP): no writeback,
	 * so register 31 in a register field is XZR, never SP. */
	uint32_t rs = 1u << bits(insn, 16, 5);
	if ((insn & 0x3f000000) == 0x08000000 || (insn & 0x3b200c00) == 0x38200000)
		return (rt | rt2 | rs) & ~(1u << 31);
	return rt | rt2 | rn | rs;                        /* literal, SIMD structures, ...: all it names */
}

static int64_t sign_extend(uint32_t value, unsigned nbits)
{
	return (int64_t)((uint64_t)value << (64 - nbits)) >> (64 - nbits);
}

/* Whether an AArch64 load or store may write memory: all but the loads. */
static bool arm64_stores(uint32_t insn)
{
	if ((insn & 0x3b000000) == 0x39000000 || (insn & 0x3b200000) == 0x38000000)
		return bits(insn, 22, 2) == 0;                       /* STR*, STUR*: opc 0 */
	if ((insn & 0x3a000000) == 0x28000000)
		return !(insn & (1u << 22));                         /* STP: L clear */
	if ((insn & 0x3f000000) == 0x08000000 && !(insn & (1u << 23)))
		return !(insn & (1u << 22));                         /* LDXR, LDAXR, LDAR: L set */
	return true;                                             /* atomic, CAS, ...: may */
}

/* The value of a logical immediate (N:immr:imms, 64-bit form); false for
 * a reserved encoding (the Arm ARM's DecodeBitMasks). */
static bool arm64_bitmask(uint32_t n, uint32_t immr, uint32_t imms, uint64_t *ret)
{
	uint32_t combined = n << 6 | (~imms & 0x3f);
	int len = 31 - __builtin_clz(combined | 1);
	if (!combined || len < 1)
		return false;
	uint32_t levels = (1u << len) - 1, s = imms & levels, r = immr & levels, esize = 1u << len;
	if (s == levels)
		return false;
	uint64_t welem = (s + 1 == 64) ? ~0ull : (1ull << (s + 1)) - 1, mask = esize == 64 ? ~0ull : (1ull << esize) - 1;
	uint64_t elem = r ? ((welem >> r) | (welem << (esize - r))) & mask : welem;
	for (uint32_t at = esize; at < 64; at *= 2)
		elem |= elem << at;
	*ret = elem;
	return true;
}

/* MOVZ Xd or ORR Xd, XZR, #bitmask: the constant it sets; false for
 * another instruction. */
static bool arm64_constant(uint32_t insn, uint64_t *ret)
{
	if ((insn & 0x7f800000) == 0x52800000) {                      /* MOVZ (Wd zero-extends) */
		*ret = (uint64_t)bits(insn, 5, 16) << (16 * bits(insn, 21, 2));
		return true;
	}
	if ((insn & 0xff8003e0) == 0xb20003e0)                        /* ORR Xd, XZR, #imm */
		return arm64_bitmask(bits(insn, 22, 1), bits(insn, 16, 6), bits(insn, 10, 6), ret);
	return false;
}

/* ADD/SUB Xd, SP or X29, #imm: a frame address (not SP's own moves, nor
 * the frame pointer's setup). */
static bool arm64_frame_address(uint32_t insn)
{
	uint32_t rd = bits(insn, 0, 5), rn = bits(insn, 5, 5);
	return ((insn & 0xff000000) == 0x91000000 || (insn & 0xff000000) == 0xd1000000) && (rn == 31 || rn == 29) &&
	       rd != 31 && rd != 29;
}

/* A load or store whose base is SP, at an unsigned offset: the slot's
 * offset; false for any other. */
static bool arm64_slot(uint32_t insn, int32_t *ret)
{
	if (bits(insn, 5, 5) != 31)
		return false;
	*ret = (int32_t)(bits(insn, 10, 12) * 8);
	return true;
}

/* The offset of a store without writeback (unsigned or signed offset,
 * unscaled) from its base register, and how many bytes it writes; false
 * for another form. */
static bool arm64_store_offset(uint32_t insn, int64_t *ret, unsigned *ret_size)
{
	/* STR and STUR: the size field, and for a SIMD register opc<1> (Q: 16 bytes) */
	unsigned scale = bits(insn, 30, 2) | (bits(insn, 26, 1) && bits(insn, 23, 1) ? 4 : 0);
	if ((insn & 0x3b000000) == 0x39000000) {                        /* STR (unsigned offset) */
		*ret = (int64_t)bits(insn, 10, 12) << scale;
		*ret_size = 1u << scale;
		return true;
	}
	if ((insn & 0x3b200c00) == 0x38000000) {                        /* STUR */
		*ret = sign_extend(bits(insn, 12, 9), 9);
		*ret_size = 1u << scale;
		return true;
	}
	if ((insn & 0x3b800000) == 0x29000000) {                        /* STP (signed offset) */
		unsigned opc = bits(insn, 30, 2);
		scale = bits(insn, 26, 1) ? 2 + opc : 2 + (opc >> 1);
		*ret = sign_extend(bits(insn, 15, 7), 7) * (1 << scale);
		*ret_size = 2u << scale;
		return true;
	}
	return false;
}

/* A load or store other than the 64-bit register ones step_arm64 follows.
 * A store to a known offset from SP drops only the slots it overlaps. */
static void arm64_memory(struct scan *s, uint32_t insn)
{
	uint32_t writes = arm64_memory_writes(insn), rn = bits(insn, 5, 5);
	int64_t off;
	unsigned size;
	scan_forget(s, writes);
	if (writes & (1u << 31))        /* SP written back */
		scan_forget_slots(s);
	if (!arm64_stores(insn))
		return;
	if (rn == 31 && !(writes & (1u << 31)) && arm64_store_offset(insn, &off, &size))
		scan_memory_written(s, true, true, off, size);
	else if (rn == 31 || rn == 29)
		scan_memory_written(s, true, false, 0, 0);
	else
		scan_written_through(s, (int)rn);
}

/* One AArch64 instruction (fixed 4 bytes) at PC; false where the flow
 * ends and reading from a branch stops. */
static bool step_arm64(struct scan *s, uint32_t insn, uint64_t pc)
{
	uint64_t page, constant;
	uint32_t reg, rd = bits(insn, 0, 5), rn = bits(insn, 5, 5);
	const struct val *base = &s->regs[rn];
	int32_t slot;
	if ((insn & 0xffc00000) == 0xf9400000 && arm64_slot(insn, &slot)) {          /* LDR Xt, [SP, #imm] */
		if (rd != 31)
			s->regs[rd] = scan_load_slot(s, slot);
	} else if ((insn & 0xffc00000) == 0xf9000000 && arm64_slot(insn, &slot)) {   /* STR Xt, [SP, #imm] */
		if (rd != 31)
			scan_store_slot(s, slot, rd);
	} else if (rd != 31 && arm64_constant(insn, &constant)) {
		s->regs[rd] = (struct val){ .kind = VAL_CONST, .addr = constant };
	} else if (gm_arm64_adrp(insn, pc, &page, &reg)) {
		s->regs[reg] = (struct val){ .kind = VAL_PAGE, .addr = page };
	} else if ((insn & 0xff800000) == 0x91000000) {           /* ADD Xd, Xn, #imm{, LSL 12} */
		uint64_t imm = bits(insn, 10, 12) << (insn & (1u << 22) ? 12 : 0);
		if (rd != 31 && base->kind == VAL_PAGE)
			s->regs[rd] = (struct val){ .kind = VAL_ADDR, .addr = base->addr + imm };
		else if (rd != 31 && rn != 31)
			scan_derived(s, rd, rn, (int64_t)imm, false);
		else if (rd != 31)
			s->regs[rd].kind = VAL_UNKNOWN;
	} else if ((insn & 0xffc00000) == 0xf9400000) {           /* LDR Xt, [Xn, #imm] */
		uint64_t off = bits(insn, 10, 12) * 8;
		if (rd != 31 && base->kind == VAL_PAGE)           /* ADRP first: a global's word */
			s->regs[rd] = (struct val){ .kind = VAL_LOADED, .addr = base->addr + off };
		else if (rd != 31)
			scan_derived(s, rd, rn, (int64_t)off, true);
	} else if ((insn & 0xffc00000) == 0xf9000000) {           /* STR Xt, [Xn, #imm] */
		if ((base->kind == VAL_PAGE || base->kind == VAL_ADDR) && rd != 31) {
			scan_store(s, base->addr + bits(insn, 10, 12) * 8, rd);
		} else {
			if (rd != 31 && rn != 31)
				scan_store_through(s, rn, bits(insn, 10, 12) * 8, rd);
			if (rn == 29)
				scan_memory_written(s, true, false, 0, 0);
			else
				scan_written_through(s, (int)rn);
		}
	} else if ((insn & 0xffc00000) == 0xa9000000 && (base->kind == VAL_PAGE || base->kind == VAL_ADDR)) {
		/* STP Xt, Xt2, [Xn, #imm] into a global: two words (a slice's data and len) */
		uint64_t at = base->addr + (uint64_t)(sign_extend(bits(insn, 15, 7), 7) * 8);
		uint32_t rt2 = bits(insn, 10, 5);
		if (rd != 31)
			scan_store(s, at, rd);
		if (rt2 != 31)
			scan_store(s, at + 8, rt2);
	} else if ((insn & 0xffc00000) == 0xa9000000 && rn != 31 && rn != 29) {
		/* STP Xt, Xt2, [Xn, #imm] through a register: a closure's entry and first capture */
		int64_t at = sign_extend(bits(insn, 15, 7), 7) * 8;
		uint32_t rt2 = bits(insn, 10, 5);
		if (rd != 31)
			scan_store_through(s, rn, at, rd);
		if (rt2 != 31)
			scan_store_through(s, rn, at + 8, rt2);
		arm64_memory(s, insn);
	} else if ((insn & 0xffe0ffe0) == 0xaa0003e0) {           /* MOV Xd, Xm (ORR Xd, XZR, Xm) */
		if (rd != 31)
			s->regs[rd] = s->regs[bits(insn, 16, 5)];
	} else if ((insn & 0xfc000000) == 0x94000000) {           /* BL */
		scan_call(s, pc + (uint64_t)(sign_extend(bits(insn, 0, 26), 26) * 4), pc + 4);
	} else if ((insn & 0xfc000000) == 0x14000000) {           /* B */
		scan_note_branch(s, pc + (uint64_t)(sign_extend(bits(insn, 0, 26), 26) * 4));
		return !scan_flow_ends(s);
	} else if ((insn & 0xff000010) == 0x54000000 || (insn & 0x7e000000) == 0x34000000) {
		scan_note_branch(s, pc + (uint64_t)(sign_extend(bits(insn, 5, 19), 19) * 4));   /* B.cond, CBZ, CBNZ */
	} else if ((insn & 0x7e000000) == 0x36000000) {
		scan_note_branch(s, pc + (uint64_t)(sign_extend(bits(insn, 5, 14), 14) * 4));   /* TBZ, TBNZ */
	} else if ((insn & 0xfffffc1f) == 0xd65f0000 || (insn & 0xfffffc1f) == 0xd61f0000 ||
		   (insn & 0xffe0001f) == 0xd4200000 || insn >> 16 == 0) {
		if ((insn & 0xfffffc1f) == 0xd65f0000)
			scan_returns(s);
		return !scan_flow_ends(s);                                 /* RET, BR, BRK, UDF */
	} else if ((insn & 0x0a000000) == 0x08000000) {           /* loads and stores */
		arm64_memory(s, insn);
	} else if ((insn & 0xfffffc1f) == 0xd63f0000 || (insn & 0xffe0001f) == 0xd4000001) {
		scan_forget(s, ALL_REGS);                                /* BLR, SVC */
	} else {
		scan_forget(s, 1u << rd);
		/* ADD/SUB SP, SP, #imm; with S (ADDS, SUBS: CMN, CMP) register 31 is XZR */
		if (rd == 31 && (insn & 0x1f000000) == 0x11000000 && !(insn & (1u << 29)))
			scan_forget_slots(s);
	}
	return true;
}

bool scan_run_arm64(struct scan *s, const uint8_t *code, uint64_t len, uint64_t at, size_t steps)
{
	if (len % 4 || at % 4)
		return false;
	for (size_t n = 0; at < len && n < steps; n++, at += 4) {
		scan_mark_start(s, at);
		uint32_t insn = (uint32_t)code[at] | (uint32_t)code[at + 1] << 8 | (uint32_t)code[at + 2] << 16 |
				(uint32_t)code[at + 3] << 24;
		if (!step_arm64(s, insn, s->lo + at))
			break;
	}
	return true;
}

bool scan_arm64_frame_addresses(const uint8_t *code, uint64_t len, int64_t *ret, size_t *ret_n)
{
	*ret_n = 0;
	for (uint64_t at = 0; at + 4 <= len; at += 4) {
		uint32_t insn = (uint32_t)code[at] | (uint32_t)code[at + 1] << 8 | (uint32_t)code[at + 2] << 16 |
				(uint32_t)code[at + 3] << 24;
		if (!arm64_frame_address(insn))
			continue;
		/* From the frame pointer: an offset not known from SP.  Below SP
		 * (SUB) is no variable: a big frame's stack check. */
		if (bits(insn, 5, 5) != 31)
			return false;
		if ((insn & 0xff000000) == 0xd1000000)
			continue;
		if (!scan_add_frame_address(ret, ret_n, (int64_t)bits(insn, 10, 12) << (insn & (1u << 22) ? 12 : 0)))
			return false;
	}
	return true;
}
