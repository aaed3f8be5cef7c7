#include "code_types.h"

#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../core/exe.h"
#include "../util/u64_map.h"
#include "amd64_insn.h"
#include "code_refs.h"
#include "locate.h"

#define NREGS 32
#define ALL_REGS 0xffffffffu

/* What a function does, for the scan: CALL targets are looked up by entry. */
enum role {
	ROLE_NONE, ROLE_MAP_OP, ROLE_NEWOBJECT, ROLE_MAKEMAP, ROLE_MAKECHAN, ROLE_WRITE_BARRIER,
	ROLE_SIZED_MALLOC,   /* new(T) in Go 1.26+'s size-specialized mallocgc*(size, typ, needzero) */
	ROLE_MAKESLICE,      /* makeslice(et, len, cap): a []et's data */
	ROLE_GROWSLICE,      /* growslice(oldPtr, newLen, oldCap, num, et): a []et's data */
	ROLE_POOL_METHOD,    /* sync.(*Pool).Get, Put: the receiver is a pool */
	ROLE_POOL_PINSLOW,   /* sync.(*Pool).pinSlow: makes the []poolLocal */
	ROLE_RUNTIME,        /* any other runtime function: what it returns is the runtime's
			      * representation (makemap_small's *maps.Map), not a Go type */
};

/* What a register holds, as far as the scan knows. */
enum val_kind {
	VAL_UNKNOWN,
	VAL_PAGE,     /* arm64: an ADRP page */
	VAL_ADDR,     /* an address formed pc-relative (a descriptor, a global) */
	VAL_LOADED,   /* the word loaded from a global */
	VAL_MADE,     /* what newobject / makemap / makechan returned; addr: the type it was given */
};

struct val {
	enum val_kind kind;
	enum role made_by;
	uint64_t addr;
};

/* A spilled value: a stack slot at an offset from SP.  Slots are dropped
 * when SP moves, when the frame is written otherwise, and, once the frame's
 * address was taken (a slot may be written through a pointer), at every
 * call and every memory write. */
#define NSLOTS 32
struct slot {
	int32_t off;
	struct val v;   /* VAL_UNKNOWN: a free slot */
};

/* A jump's target inside the function and the registers on the way there. */
struct branch {
	uint64_t target;
	struct val regs[NREGS];
	struct slot slots[NSLOTS];
};

/* What a function returns in its first result register, found at its
 * RETs: MADE_BY << 56 | the type's link-time address, or MIXED when two
 * RETs disagree. */
#define SUMMARY_MIXED UINT64_MAX
#define MAX_PASSES 4

/* Jumps followed a function, and instructions followed from each. */
#define MAX_BRANCHES 4096
#define BRANCH_STEPS 64

struct scan {
	const struct gm_exe *exe;
	uint64_t lo, hi;                /* the function being read */
	bool following;                 /* from a branch: stop where the flow ends, note no jumps */
	struct branch *branches;
	size_t nbranches, branches_cap;
	uint8_t *starts;                /* a bit per byte of the function: an instruction starts there */
	size_t starts_cap;
	struct gm_u64_map roles;        /* function entry -> role */
	struct gm_u64_map summaries;    /* function entry -> what it returns (see SUMMARY_MIXED) */
	bool summaries_changed;
	bool frame_address;             /* the function takes a frame address somewhere */
	struct val regs[NREGS];
	struct slot slots[NSLOTS];
	unsigned arg0, arg1, arg4, result;   /* the register ABI's first, second and fifth arguments, first result */
	uint32_t barrier_writes;        /* registers a write barrier call may write */
	uint64_t types, etypes;         /* the moduledata's type descriptors (itabs among them) */
	uint64_t pool_local;            /* sync.poolLocal's descriptor, once pinSlow is read; 0 before */
	struct gm_code_type *facts;
	size_t nfacts, cap;
	bool nomem;
};

/* A function's role by its name (pclntab names, which -s keeps). */
static enum role role_of(const char *name)
{
	static const char *const map_ops[] = { "runtime.mapaccess", "runtime.mapassign", "runtime.mapdelete" };
	static const char *const map_walks[] = { "runtime.mapiterinit", "runtime.mapIterStart", "runtime.mapclear" };
	for (size_t i = 0; i < 3; i++)
		if (strncmp(name, map_ops[i], strlen(map_ops[i])) == 0 || strcmp(name, map_walks[i]) == 0)
			return ROLE_MAP_OP;
	if (strcmp(name, "runtime.newobject") == 0)
		return ROLE_NEWOBJECT;
	if (strncmp(name, "runtime.mallocgcSmall", 21) == 0 || strncmp(name, "runtime.mallocgcTiny", 20) == 0)
		return ROLE_SIZED_MALLOC;
	if (strcmp(name, "runtime.makemap") == 0)
		return ROLE_MAKEMAP;
	if (strcmp(name, "runtime.makechan") == 0)
		return ROLE_MAKECHAN;
	if (strcmp(name, "runtime.makeslice") == 0)
		return ROLE_MAKESLICE;
	if (strcmp(name, "runtime.growslice") == 0)
		return ROLE_GROWSLICE;
	if (strcmp(name, "sync.(*Pool).Get") == 0 || strcmp(name, "sync.(*Pool).Put") == 0)
		return ROLE_POOL_METHOD;
	if (strcmp(name, "sync.(*Pool).pinSlow") == 0)
		return ROLE_POOL_PINSLOW;
	if (strncmp(name, "runtime.gcWriteBarrier", 22) == 0)
		return ROLE_WRITE_BARRIER;
	if (strncmp(name, "runtime.", 8) == 0 || strncmp(name, "internal/runtime/", 17) == 0)
		return ROLE_RUNTIME;
	return ROLE_NONE;
}

static void forget(struct scan *s, uint32_t regs)
{
	for (unsigned r = 0; r < NREGS; r++)
		if (regs & (1u << r))
			s->regs[r].kind = VAL_UNKNOWN;
}

static void forget_slots(struct scan *s)
{
	for (unsigned i = 0; i < NSLOTS; i++)
		s->slots[i].v.kind = VAL_UNKNOWN;
}

/* Register REG spilled to the slot at OFF. */
static void store_slot(struct scan *s, int32_t off, unsigned reg)
{
	const struct val *v = &s->regs[reg];
	struct slot *free_slot = NULL;
	for (unsigned i = 0; i < NSLOTS; i++) {
		struct slot *sl = &s->slots[i];
		if (sl->v.kind != VAL_UNKNOWN && sl->off > off - 8 && sl->off < off + 8)
			sl->v.kind = VAL_UNKNOWN;   /* overlapped */
		if (sl->v.kind == VAL_UNKNOWN && !free_slot)
			free_slot = sl;
	}
	if (free_slot && v->kind != VAL_UNKNOWN && v->kind != VAL_PAGE)
		*free_slot = (struct slot){ .off = off, .v = *v };
}

static struct val load_slot(const struct scan *s, int32_t off)
{
	for (unsigned i = 0; i < NSLOTS; i++)
		if (s->slots[i].v.kind != VAL_UNKNOWN && s->slots[i].off == off)
			return s->slots[i].v;
	return (struct val){ .kind = VAL_UNKNOWN };
}

/* A write to memory: the frame's own (FRAME), or anywhere. */
static void memory_written(struct scan *s, bool frame)
{
	if (frame || s->frame_address)
		forget_slots(s);
}

/* A RET: what the first result register holds becomes what the function returns. */
static void returns(struct scan *s)
{
	const struct val *v = &s->regs[s->result];
	uint64_t have, now, role = ROLE_NONE;
	gm_u64_map_find(&s->roles, s->lo, &role);
	if (v->kind != VAL_MADE || role != ROLE_NONE)
		return;
	now = (uint64_t)v->made_by << 56 | (v->addr & ((1ull << 56) - 1));
	if (!gm_u64_map_find(&s->summaries, s->lo, &have)) {
		if (gm_u64_map_insert(&s->summaries, s->lo, now))
			s->nomem = true;
		s->summaries_changed = true;
	} else if (have != now && have != SUMMARY_MIXED) {
		if (gm_u64_map_insert(&s->summaries, s->lo, SUMMARY_MIXED))
			s->nomem = true;
		s->summaries_changed = true;
	}
}

static void add_fact(struct scan *s, uint64_t word, uint64_t desc, enum gm_code_type_kind kind)
{
	if (s->nomem)
		return;
	if (s->nfacts == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		struct gm_code_type *grown = realloc(s->facts, cap * sizeof(*grown));
		if (!grown) {
			s->nomem = true;
			return;
		}
		s->facts = grown;
		s->cap = cap;
	}
	s->facts[s->nfacts++] = (struct gm_code_type){ .word = word, .desc = desc, .kind = kind };
}

/* sync.(*Pool).Get or Put's receiver: a global pool's address, or a
 * global *sync.Pool (var p = &sync.Pool{...}: the pool a static of the
 * file's data, the pointer initialized to it, as the file says). */
static void pool_receiver(struct scan *s, const struct val *receiver)
{
	const uint8_t *p;
	uint64_t pool;
	if (receiver->kind == VAL_ADDR) {
		add_fact(s, receiver->addr, 0, GM_CODE_POOL);
	} else if (receiver->kind == VAL_LOADED && (p = gm_exe_file_bytes(s->exe, receiver->addr, 8))) {
		memcpy(&pool, p, 8);
		if (pool)
			add_fact(s, pool, 0, GM_CODE_POOL);
	}
}

static void call(struct scan *s, uint64_t target)
{
	uint64_t role = ROLE_NONE;
	gm_u64_map_find(&s->roles, target, &role);
	if (role == ROLE_WRITE_BARRIER) {
		forget(s, s->barrier_writes);
		return;
	}
	unsigned type_arg = role == ROLE_SIZED_MALLOC ? s->arg1 : role == ROLE_GROWSLICE ? s->arg4 : s->arg0;
	struct val type = s->regs[type_arg], map = s->regs[s->arg1];
	uint64_t summary;
	if (role == ROLE_POOL_METHOD)
		pool_receiver(s, &s->regs[s->arg0]);
	forget(s, ALL_REGS);
	if (s->frame_address)
		forget_slots(s);
	if (role == ROLE_NONE && gm_u64_map_find(&s->summaries, target, &summary) && summary != SUMMARY_MIXED) {
		s->regs[s->result] = (struct val){ .kind = VAL_MADE, .made_by = (enum role)(summary >> 56),
						   .addr = summary & ((1ull << 56) - 1) };
		return;
	}
	if (type.kind != VAL_ADDR)
		return;
	uint64_t caller = ROLE_NONE;
	gm_u64_map_find(&s->roles, s->lo, &caller);
	if (role == ROLE_MAKESLICE && caller == ROLE_POOL_PINSLOW)
		s->pool_local = type.addr;
	if (role == ROLE_MAP_OP && map.kind == VAL_LOADED)
		add_fact(s, map.addr, type.addr, GM_CODE_HOLDS);
	else if (role == ROLE_NEWOBJECT || role == ROLE_SIZED_MALLOC)
		s->regs[s->result] = (struct val){ .kind = VAL_MADE, .made_by = ROLE_NEWOBJECT, .addr = type.addr };
	else if (role == ROLE_GROWSLICE || role == ROLE_MAKESLICE)
		s->regs[s->result] = (struct val){ .kind = VAL_MADE, .made_by = ROLE_MAKESLICE, .addr = type.addr };
	else if (role == ROLE_MAKEMAP || role == ROLE_MAKECHAN)
		s->regs[s->result] = (struct val){ .kind = VAL_MADE, .made_by = (enum role)role, .addr = type.addr };
}

/* Remember the registers at a jump to TARGET, to follow them from there
 * once the function's straight-line reading is done (a block the compiler
 * placed elsewhere: a store after a call, a write barrier's slow path). */
static void note_branch(struct scan *s, uint64_t target)
{
	if (s->following || target < s->lo || target >= s->hi || s->nbranches >= MAX_BRANCHES || s->nomem)
		return;
	bool useful = false;
	for (unsigned r = 0; r < NREGS && !useful; r++)
		useful = s->regs[r].kind != VAL_UNKNOWN && s->regs[r].kind != VAL_PAGE;
	if (!useful)
		return;
	if (s->nbranches == s->branches_cap) {
		size_t cap = s->branches_cap ? 2 * s->branches_cap : 16;
		struct branch *grown = realloc(s->branches, cap * sizeof(*grown));
		if (!grown) {
			s->nomem = true;
			return;
		}
		s->branches = grown;
		s->branches_cap = cap;
	}
	s->branches[s->nbranches].target = target;
	memcpy(s->branches[s->nbranches].regs, s->regs, sizeof(s->regs));
	memcpy(s->branches[s->nbranches++].slots, s->slots, sizeof(s->slots));
}

/* Where the flow ends (RET, JMP, ...): reading from a branch stops there. */
static bool flow_ends(struct scan *s)
{
	forget(s, ALL_REGS);
	forget_slots(s);
	return s->following;
}

static void mark_start(struct scan *s, uint64_t at)
{
	if (!s->following)
		s->starts[at / 8] |= (uint8_t)(1u << (at % 8));
}

/* The word at WORD gets register REG's value.  An address stored there (a
 * type or itab word) makes the next word an interface's data word, which
 * holds whatever the interface does: a desc 0 fact keeps it untyped. */
static void store(struct scan *s, uint64_t word, unsigned reg)
{
	const struct val *v = &s->regs[reg];
	if (v->kind == VAL_MADE)
		add_fact(s, word, v->addr, v->made_by == ROLE_NEWOBJECT ? GM_CODE_POINTS_TO
					   : v->made_by == ROLE_MAKESLICE ? GM_CODE_SLICE_OF : GM_CODE_HOLDS);
	else if (v->kind == VAL_ADDR)
		add_fact(s, word + 8, 0, GM_CODE_INTERFACE_DATA);
}

/* Read x86-64 code from byte AT of the function's LEN bytes, at most STEPS
 * instructions; false if it does not decode. */
static bool run_amd64(struct scan *s, const uint8_t *code, uint64_t len, uint64_t at, size_t steps)
{
	for (size_t n = 0; at < len && n < steps; n++) {
		struct gm_amd64_insn insn;
		if (!gm_amd64_decode(code + at, len - at, s->lo + at, &insn))
			return false;
		mark_start(s, at);
		at += insn.len;
		switch (insn.kind) {
		case GM_AMD64_LEA_RIP:
			s->regs[insn.reg] = (struct val){ .kind = VAL_ADDR, .addr = insn.target };
			break;
		case GM_AMD64_LOAD_RIP:
			s->regs[insn.reg] = (struct val){ .kind = VAL_LOADED, .addr = insn.target };
			break;
		case GM_AMD64_STORE_RIP:
			store(s, insn.target, insn.reg);
			break;
		case GM_AMD64_MOVE:
			s->regs[insn.reg] = s->regs[insn.src];
			break;
		case GM_AMD64_LOAD_SP:
			s->regs[insn.reg] = load_slot(s, insn.slot);
			break;
		case GM_AMD64_STORE_SP:
			store_slot(s, insn.slot, insn.reg);
			break;
		case GM_AMD64_CALL:
			call(s, insn.target);
			break;
		case GM_AMD64_JUMP:
			note_branch(s, insn.target);
			if (!insn.conditional && flow_ends(s))
				return true;
			break;
		case GM_AMD64_END:
			if (insn.ret)
				returns(s);
			if (flow_ends(s))
				return true;
			break;
		default:
			forget(s, insn.writes);
			if (insn.writes & (1u << 4))   /* SP moved */
				forget_slots(s);
			if (insn.memory_write)
				memory_written(s, insn.frame_write);
		}
	}
	return true;
}

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
	return rt | rt2 | rn | 1u << bits(insn, 16, 5);  /* exclusive, atomic, literal, ...: all it names */
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
	return true;                                             /* exclusive, atomic, ...: may */
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

/* A load or store other than the 64-bit register ones step_arm64 follows. */
static void arm64_memory(struct scan *s, uint32_t insn)
{
	uint32_t writes = arm64_memory_writes(insn), rn = bits(insn, 5, 5);
	forget(s, writes);
	if (writes & (1u << 31))        /* SP written back */
		forget_slots(s);
	if (arm64_stores(insn))
		memory_written(s, rn == 31 || rn == 29);
}

/* One AArch64 instruction (fixed 4 bytes) at PC; false where the flow
 * ends and reading from a branch stops. */
static bool step_arm64(struct scan *s, uint32_t insn, uint64_t pc)
{
	uint64_t page;
	uint32_t reg, rd = bits(insn, 0, 5), rn = bits(insn, 5, 5);
	const struct val *base = &s->regs[rn];
	int32_t slot;
	if ((insn & 0xffc00000) == 0xf9400000 && arm64_slot(insn, &slot)) {          /* LDR Xt, [SP, #imm] */
		if (rd != 31)
			s->regs[rd] = load_slot(s, slot);
	} else if ((insn & 0xffc00000) == 0xf9000000 && arm64_slot(insn, &slot)) {   /* STR Xt, [SP, #imm] */
		if (rd != 31)
			store_slot(s, slot, rd);
	} else if (gm_arm64_adrp(insn, pc, &page, &reg)) {
		s->regs[reg] = (struct val){ .kind = VAL_PAGE, .addr = page };
	} else if ((insn & 0xff800000) == 0x91000000) {           /* ADD Xd, Xn, #imm{, LSL 12} */
		uint64_t imm = bits(insn, 10, 12) << (insn & (1u << 22) ? 12 : 0);
		struct val v = { .kind = base->kind == VAL_PAGE ? VAL_ADDR : VAL_UNKNOWN, .addr = base->addr + imm };
		if (rd != 31)
			s->regs[rd] = v;
	} else if ((insn & 0xffc00000) == 0xf9400000) {           /* LDR Xt, [Xn, #imm] */
		bool global = base->kind == VAL_PAGE || base->kind == VAL_ADDR;   /* ADRP (+ ADD) first */
		struct val v = { .kind = global ? VAL_LOADED : VAL_UNKNOWN, .addr = base->addr + bits(insn, 10, 12) * 8 };
		if (rd != 31)
			s->regs[rd] = v;
	} else if ((insn & 0xffc00000) == 0xf9000000) {           /* STR Xt, [Xn, #imm] */
		if ((base->kind == VAL_PAGE || base->kind == VAL_ADDR) && rd != 31)
			store(s, base->addr + bits(insn, 10, 12) * 8, rd);
		else
			memory_written(s, rn == 29);
	} else if ((insn & 0xffe0ffe0) == 0xaa0003e0) {           /* MOV Xd, Xm (ORR Xd, XZR, Xm) */
		if (rd != 31)
			s->regs[rd] = s->regs[bits(insn, 16, 5)];
	} else if ((insn & 0xfc000000) == 0x94000000) {           /* BL */
		call(s, pc + (uint64_t)(sign_extend(bits(insn, 0, 26), 26) * 4));
	} else if ((insn & 0xfc000000) == 0x14000000) {           /* B */
		note_branch(s, pc + (uint64_t)(sign_extend(bits(insn, 0, 26), 26) * 4));
		return !flow_ends(s);
	} else if ((insn & 0xff000010) == 0x54000000 || (insn & 0x7e000000) == 0x34000000) {
		note_branch(s, pc + (uint64_t)(sign_extend(bits(insn, 5, 19), 19) * 4));   /* B.cond, CBZ, CBNZ */
	} else if ((insn & 0x7e000000) == 0x36000000) {
		note_branch(s, pc + (uint64_t)(sign_extend(bits(insn, 5, 14), 14) * 4));   /* TBZ, TBNZ */
	} else if ((insn & 0xfffffc1f) == 0xd65f0000 || (insn & 0xfffffc1f) == 0xd61f0000 ||
		   (insn & 0xffe0001f) == 0xd4200000 || insn >> 16 == 0) {
		if ((insn & 0xfffffc1f) == 0xd65f0000)
			returns(s);
		return !flow_ends(s);                                 /* RET, BR, BRK, UDF */
	} else if ((insn & 0x0a000000) == 0x08000000) {           /* loads and stores */
		arm64_memory(s, insn);
	} else if ((insn & 0xfffffc1f) == 0xd63f0000 || (insn & 0xffe0001f) == 0xd4000001) {
		forget(s, ALL_REGS);                                /* BLR, SVC */
	} else {
		forget(s, 1u << rd);
		if (rd == 31 && (insn & 0x1f000000) == 0x11000000)   /* ADD/SUB SP, SP, #imm */
			forget_slots(s);
	}
	return true;
}

static bool run_arm64(struct scan *s, const uint8_t *code, uint64_t len, uint64_t at, size_t steps)
{
	if (len % 4 || at % 4)
		return false;
	for (size_t n = 0; at < len && n < steps; n++, at += 4) {
		mark_start(s, at);
		uint32_t insn = (uint32_t)code[at] | (uint32_t)code[at + 1] << 8 | (uint32_t)code[at + 2] << 16 |
				(uint32_t)code[at + 3] << 24;
		if (!step_arm64(s, insn, s->lo + at))
			break;
	}
	return true;
}

/* Whether the function at CODE takes a frame address anywhere (its slots
 * may then be written through pointers); true if it does not decode. */
static bool takes_frame_address(const struct scan *s, const uint8_t *code, uint64_t len)
{
	if (s->exe->e_machine == EM_AARCH64) {
		for (uint64_t at = 0; at + 4 <= len; at += 4)
			if (arm64_frame_address((uint32_t)code[at] | (uint32_t)code[at + 1] << 8 |
						(uint32_t)code[at + 2] << 16 | (uint32_t)code[at + 3] << 24))
				return true;
		return false;
	}
	for (uint64_t at = 0; at < len;) {
		struct gm_amd64_insn insn;
		if (!gm_amd64_decode(code + at, len - at, s->lo + at, &insn))
			return true;
		if (insn.frame_address)
			return true;
		at += insn.len;
	}
	return false;
}

static bool run(struct scan *s, const uint8_t *code, uint64_t at, size_t steps)
{
	uint64_t len = s->hi - s->lo;
	return s->exe->e_machine == EM_AARCH64 ? run_arm64(s, code, len, at, steps) : run_amd64(s, code, len, at, steps);
}

/* Read the function [LO, HI): straight through, then from each jump it
 * noted with the registers it had there (into an instruction start only). */
static void scan_function(struct scan *s, struct gm_code_types *t, uint64_t lo, uint64_t hi)
{
	const uint8_t *code = gm_exe_file_bytes(s->exe, lo, hi - lo);
	size_t start = s->nfacts, bitmap = (hi - lo) / 8 + 1;
	t->functions++;
	if (bitmap > s->starts_cap) {
		uint8_t *grown = realloc(s->starts, bitmap);
		if (!grown) {
			s->nomem = true;
			return;
		}
		s->starts = grown;
		s->starts_cap = bitmap;
	}
	memset(s->starts, 0, bitmap);
	s->lo = lo;
	s->hi = hi;
	s->following = false;
	s->nbranches = 0;
	forget(s, ALL_REGS);
	forget_slots(s);
	if (code)
		s->frame_address = takes_frame_address(s, code, hi - lo);
	if (!code || !run(s, code, 0, SIZE_MAX)) {
		s->nfacts = start;
		t->skipped++;
		return;
	}
	s->following = true;
	for (size_t i = 0; i < s->nbranches; i++) {
		uint64_t at = s->branches[i].target - lo;
		if (!(s->starts[at / 8] & (1u << (at % 8))))
			continue;
		memcpy(s->regs, s->branches[i].regs, sizeof(s->regs));
		memcpy(s->slots, s->branches[i].slots, sizeof(s->slots));
		size_t before = s->nfacts;
		if (!run(s, code, at, BRANCH_STEPS))
			s->nfacts = before;
	}
}

static int fact_compare(const void *a, const void *b)
{
	const struct gm_code_type *x = a, *y = b;
	if (x->word != y->word)
		return x->word < y->word ? -1 : 1;
	if (x->desc != y->desc)
		return x->desc < y->desc ? -1 : 1;
	return (int)x->kind - (int)y->kind;
}

/* Whether the file initializes the word before WORD with a type or itab
 * address (both lie in [types, etypes)): WORD is then an interface's data
 * word, whatever the code stores there. */
static bool after_static_type_word(const struct scan *s, uint64_t word)
{
	const uint8_t *p = word >= 8 ? gm_exe_file_bytes(s->exe, word - 8, 8) : NULL;
	uint64_t value;
	if (!p)
		return false;
	memcpy(&value, p, 8);
	return value >= s->types && value < s->etypes;
}

/* One fact per word where all agree; the words they disagree on counted. */
static void merge_facts(struct scan *s, struct gm_code_types *t)
{
	if (s->nfacts)
		qsort(s->facts, s->nfacts, sizeof(*s->facts), fact_compare);
	for (size_t i = 0, j; i < s->nfacts; i = j) {
		/* A pool is found by its address, not by a value stored there:
		 * what the data before it holds says nothing of it. */
		bool agree = true,
		     interface_data = s->facts[i].kind != GM_CODE_POOL && after_static_type_word(s, s->facts[i].word);
		for (j = i; j < s->nfacts && s->facts[j].word == s->facts[i].word; j++) {
			interface_data |= s->facts[j].kind == GM_CODE_INTERFACE_DATA;
			agree &= s->facts[j].desc == s->facts[i].desc && s->facts[j].kind == s->facts[i].kind;
		}
		struct gm_code_type fact = s->facts[i];
		if (fact.kind == GM_CODE_POOL)
			fact.desc = s->pool_local;   /* known once the whole code is read */
		if (!agree && !interface_data)
			t->conflicts++;
		else if (agree && !interface_data && fact.desc)
			s->facts[t->n++] = fact;
	}
	t->items = s->facts;
	s->facts = NULL;
}

static bool find_roles(struct scan *s, const struct gm_code_funcs *funcs)
{
	for (size_t i = 0; i < gm_code_func_count(funcs); i++) {
		uint64_t lo, hi;
		const char *name = gm_code_func_at(funcs, i, &lo, &hi);
		enum role role = name ? role_of(name) : ROLE_NONE;
		if (role != ROLE_NONE && gm_u64_map_insert(&s->roles, lo, role))
			return false;
	}
	return true;
}

struct gm_error *gm_code_types_find(const struct gm_exe *exe, struct gm_layouts *lay, uint64_t types, uint64_t etypes,
				    struct gm_code_types **ret)
{
	struct gm_code_types *t = calloc(1, sizeof(*t));
	struct scan s = { .exe = exe, .arg0 = 0, .result = 0, .types = types, .etypes = etypes };
	uint64_t moduledata;
	if (!t)
		return &gm_error_nomem;
	*ret = t;   /* empty unless the code is read below */
	if (exe->e_machine == EM_AARCH64) {
		s.arg1 = 1;
		s.arg4 = 4;
		s.barrier_writes = 1u << 16 | 1u << 17 | 1u << 25 | 1u << 27 | 1u << 30;   /* IP0, IP1, the buffer, REGTMP, LR */
	} else if (exe->e_machine == EM_X86_64) {
		s.arg1 = 3;                                                             /* BX */
		s.arg4 = 6;                                                             /* SI (AX BX CX DI SI) */
		s.barrier_writes = 1u << 11;                                            /* R11: the buffer */
	} else {
		return NULL;
	}
	struct gm_code_funcs *funcs = gm_locate_global(exe, lay, "runtime.firstmoduledata", &moduledata)
					      ? gm_code_funcs_open(exe, lay, moduledata)
					      : NULL;
	if (!funcs)
		return NULL;
	if (!find_roles(&s, funcs))
		s.nomem = true;
	/* Each pass reads every function with what the last found functions
	 * return, until that stops changing; the facts are the last pass's. */
	for (int pass = 0; pass < MAX_PASSES && !s.nomem; pass++) {
		s.summaries_changed = false;
		s.nfacts = 0;
		t->functions = t->skipped = 0;
		for (size_t i = 0; i < gm_code_func_count(funcs) && !s.nomem; i++) {
			uint64_t lo, hi;
			if (gm_code_func_at(funcs, i, &lo, &hi))
				scan_function(&s, t, lo, hi);
		}
		t->passes = pass + 1;
		if (!s.summaries_changed)
			break;
	}
	gm_code_funcs_destroy(funcs);
	gm_u64_map_free(&s.roles);
	gm_u64_map_free(&s.summaries);
	free(s.branches);
	free(s.starts);
	if (s.nomem) {
		free(s.facts);
		free(t);
		*ret = NULL;
		return &gm_error_nomem;
	}
	merge_facts(&s, t);
	return NULL;
}

const struct gm_code_type *gm_code_type_of(const struct gm_code_types *t, uint64_t word)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->items[mid].word < word)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->n && t->items[lo].word == word ? &t->items[lo] : NULL;
}

void gm_code_types_destroy(struct gm_code_types *t)
{
	if (!t)
		return;
	free(t->items);
	free(t);
}
