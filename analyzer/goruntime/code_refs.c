#include "code_refs.h"

#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "../../dwarf/layouts.h"
#include "../core/exe.h"
#include "binding.h"
#include "pclntab.h"
#include "pcvalue.h"

#define MAX_FUNCS (1u << 22)

struct gm_code_funcs {
	const struct gm_exe *exe;
	const uint8_t *ftab, *pclntable, *funcnametab;
	uint64_t nftab, pclntable_len, funcnametab_len;  /* ftab entries (nfunc + 1), bytes */
	uint64_t text;                                   /* moduledata.text */
	uint64_t entryoff, funcoff, functab_size, name_off;
	/* For the stack objects (all present, else none are read). */
	bool frames;
	const uint8_t *pctab;
	uint64_t pctab_len, gofunc;
	uint32_t pc_quantum, stack_objects;               /* pcHeader.minLC; FUNCDATA_StackObjects */
	struct gm_field pcsp, npcdata, nfuncdata;         /* runtime._func */
	struct gm_field record_off, record_size;          /* runtime.stackObjectRecord */
	uint64_t record_bytes;
};

static uint64_t u64_at(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static uint32_t u32_at(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static bool member(struct gm_layouts *lay, const char *type, const char *path, uint64_t *ret)
{
	struct gm_layout_type t;
	return gm_layout_type(lay, type, &t) && gm_layout_member(&t, path, ret, NULL);
}

/* The word at member PATH of the moduledata at MD, from the file. */
static bool moduledata_word(const struct gm_exe *exe, struct gm_layouts *lay, uint64_t md, const char *path,
			    uint64_t *ret)
{
	uint64_t off;
	const uint8_t *p;
	if (!member(lay, "runtime.moduledata", path, &off) || !(p = gm_exe_file_bytes(exe, md + off, 8)))
		return false;
	*ret = u64_at(p);
	return true;
}

/* Slice member NAME of the moduledata at MD: its bytes in the file, ELEM bytes an element. */
static bool moduledata_slice(struct gm_code_funcs *f, struct gm_layouts *lay, uint64_t md, const char *name,
			     uint64_t elem, const uint8_t **ret, uint64_t *ret_len)
{
	char path[64];
	uint64_t array, len;
	snprintf(path, sizeof(path), "%s.array", name);
	if (!moduledata_word(f->exe, lay, md, path, &array))
		return false;
	snprintf(path, sizeof(path), "%s.len", name);
	if (!moduledata_word(f->exe, lay, md, path, &len) || len > (1ull << 32) / elem)
		return false;
	*ret = gm_exe_file_bytes(f->exe, array, len * elem);
	*ret_len = len;
	return *ret != NULL;
}

/* Member PATH of TYPE, with its size. */
static bool sized_member(struct gm_layouts *lay, const char *type, const char *path, struct gm_field *ret)
{
	struct gm_layout_type t, m;
	uint64_t off, size;
	if (!gm_layout_type(lay, type, &t) || !gm_layout_member(&t, path, &off, &m) || !gm_layout_size(&m, &size) ||
	    size > 8)
		return false;
	*ret = (struct gm_field){ .offset = (uint32_t)off, .size = (uint32_t)size, .present = true };
	return true;
}

/* The layouts reading stack objects takes, into F; false if one is missing. */
static bool frame_layouts(struct gm_code_funcs *f, struct gm_layouts *lay, struct gm_field *min_lc)
{
	struct gm_layout_type record;
	return sized_member(lay, "runtime.pcHeader", "minLC", min_lc) &&
	       sized_member(lay, "runtime._func", "pcsp", &f->pcsp) &&
	       sized_member(lay, "runtime._func", "npcdata", &f->npcdata) &&
	       sized_member(lay, "runtime._func", "nfuncdata", &f->nfuncdata) &&
	       sized_member(lay, "runtime.stackObjectRecord", "off", &f->record_off) &&
	       sized_member(lay, "runtime.stackObjectRecord", "size", &f->record_size) &&
	       gm_layout_type(lay, "runtime.stackObjectRecord", &record) && gm_layout_size(&record, &f->record_bytes);
}

void gm_code_funcs_bind_layouts(struct gm_layouts *lay)
{
	struct gm_code_funcs f;
	struct gm_field min_lc;
	frame_layouts(&f, lay, &min_lc);
}

/* What reading stack objects takes (see frames); false if any is missing. */
static bool open_frames(struct gm_code_funcs *f, struct gm_layouts *lay, uint64_t md)
{
	struct gm_field min_lc;
	uint64_t header;
	const uint8_t *p;
	if (!moduledata_word(f->exe, lay, md, "gofunc", &f->gofunc) ||
	    !moduledata_slice(f, lay, md, "pctab", 1, &f->pctab, &f->pctab_len) ||
	    !moduledata_word(f->exe, lay, md, "pcHeader", &header) || !frame_layouts(f, lay, &min_lc) ||
	    !(p = gm_exe_file_bytes(f->exe, header + min_lc.offset, min_lc.size)))
		return false;
	f->pc_quantum = (uint32_t)gm_field_uint(p - min_lc.offset, min_lc);
	f->stack_objects = gm_pclntab_stack_objects_index(lay);
	return f->pc_quantum > 0 && f->record_bytes >= 8;
}

struct gm_code_funcs *gm_code_funcs_open(const struct gm_exe *exe, struct gm_layouts *lay, uint64_t moduledata)
{
	struct gm_code_funcs *f = calloc(1, sizeof(*f));
	struct gm_layout_type functab;
	uint64_t ntext;
	if (!f)
		return NULL;
	f->exe = exe;
	bool ok = lay && gm_layout_type(lay, "runtime.functab", &functab) &&
		  gm_layout_size(&functab, &f->functab_size) && f->functab_size >= 8 &&
		  gm_layout_member(&functab, "entryoff", &f->entryoff, NULL) &&
		  gm_layout_member(&functab, "funcoff", &f->funcoff, NULL) &&
		  member(lay, "runtime._func", "nameOff", &f->name_off) &&
		  moduledata_word(exe, lay, moduledata, "text", &f->text) &&
		  moduledata_word(exe, lay, moduledata, "textsectmap.len", &ntext) && ntext <= 1 &&
		  moduledata_slice(f, lay, moduledata, "ftab", f->functab_size, &f->ftab, &f->nftab) &&
		  moduledata_slice(f, lay, moduledata, "pclntable", 1, &f->pclntable, &f->pclntable_len) &&
		  moduledata_slice(f, lay, moduledata, "funcnametab", 1, &f->funcnametab, &f->funcnametab_len) &&
		  f->nftab >= 2 && f->nftab <= MAX_FUNCS && f->entryoff + 4 <= f->functab_size &&
		  f->funcoff + 4 <= f->functab_size;
	if (!ok) {
		free(f);
		return NULL;
	}
	f->frames = open_frames(f, lay, moduledata);
	return f;
}

void gm_code_funcs_destroy(struct gm_code_funcs *funcs)
{
	free(funcs);
}

/* The name of function I (< nftab - 1), NULL if its offsets leave the tables. */
static const char *func_name(const struct gm_code_funcs *f, uint64_t i)
{
	uint64_t func = u32_at(f->ftab + i * f->functab_size + f->funcoff);
	if (func > f->pclntable_len || f->name_off + 4 > f->pclntable_len - func)
		return NULL;
	uint64_t name = (uint64_t)(int64_t)(int32_t)u32_at(f->pclntable + func + f->name_off);
	if (name >= f->funcnametab_len || !memchr(f->funcnametab + name, 0, f->funcnametab_len - name))
		return NULL;
	return (const char *)f->funcnametab + name;
}

size_t gm_code_func_count(const struct gm_code_funcs *f)
{
	return f->nftab - 1;   /* the last entry only marks the end of the text */
}

const char *gm_code_func_at(const struct gm_code_funcs *f, size_t i, uint64_t *ret_lo, uint64_t *ret_hi)
{
	if (i + 1 >= f->nftab)
		return NULL;
	uint32_t lo = u32_at(f->ftab + i * f->functab_size + f->entryoff);
	uint32_t hi = u32_at(f->ftab + (i + 1) * f->functab_size + f->entryoff);
	if (hi <= lo)
		return NULL;
	*ret_lo = f->text + lo;
	*ret_hi = f->text + hi;
	return func_name(f, i);
}

/* A signed record field, widened. */
static int64_t record_int(const uint8_t *record, struct gm_field f)
{
	uint64_t v = gm_field_uint(record, f);
	return f.size < 8 && (v >> (8 * f.size - 1)) ? (int64_t)(v | ~0ull << (8 * f.size)) : (int64_t)v;
}

int gm_code_func_stack_objects(const struct gm_code_funcs *f, size_t i, struct gm_frame_range *ret, int max)
{
	uint64_t lo, hi, func = i + 1 < f->nftab ? u32_at(f->ftab + i * f->functab_size + f->funcoff) : UINT64_MAX;
	uint64_t trailer = f->nfuncdata.offset + f->nfuncdata.size;
	if (!f->frames || !gm_code_func_at(f, i, &lo, &hi) || func > f->pclntable_len || trailer > f->pclntable_len - func)
		return -1;
	const uint8_t *fn = f->pclntable + func;
	uint64_t npcdata = gm_field_uint(fn, f->npcdata), nfuncdata = gm_field_uint(fn, f->nfuncdata), off, n;
	int32_t frame;
	const uint8_t *p;
	if (f->stack_objects >= nfuncdata || trailer + 4 * (npcdata + nfuncdata) > f->pclntable_len - func)
		return -1;
	off = u32_at(fn + trailer + 4 * (npcdata + f->stack_objects));
	if (off == UINT32_MAX)
		return 0;   /* no table: no pointerful variable has its address taken */
	if (!gm_pcvalue_max(f->pctab, f->pctab_len, (uint32_t)gm_field_uint(fn, f->pcsp), hi - lo, f->pc_quantum,
			    &frame) || frame < 0 || !(p = gm_exe_file_bytes(f->exe, f->gofunc + off, 8)))
		return -1;
	n = u64_at(p);
	if (n > (uint64_t)max || !(p = gm_exe_file_bytes(f->exe, f->gofunc + off + 8, n * f->record_bytes)))
		return -1;
	/* stkframe: varp is 8 below the caller's SP less the return address
	 * (x86) and the saved frame pointer, argp 8 above it (the return
	 * address, or arm64's MinFrameSize). */
	int64_t varp = frame > 0 ? frame - 8 : 0, argp = (int64_t)frame + 8;
	for (uint64_t k = 0; k < n; k++) {
		int64_t o = record_int(p + k * f->record_bytes, f->record_off);
		ret[k] = (struct gm_frame_range){ .off = o < 0 ? varp + o : argp + o,
						  .size = record_int(p + k * f->record_bytes, f->record_size) };
	}
	return (int)n;
}

bool gm_code_func_is_entry(const struct gm_code_funcs *f, uint64_t pc)
{
	if (pc < f->text || pc - f->text > UINT32_MAX)
		return false;
	uint32_t off = (uint32_t)(pc - f->text);
	size_t lo = 0, hi = f->nftab - 1;   /* ftab is sorted by entry */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (u32_at(f->ftab + mid * f->functab_size + f->entryoff) < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < f->nftab - 1 && u32_at(f->ftab + lo * f->functab_size + f->entryoff) == off;
}

bool gm_code_func_range(const struct gm_code_funcs *f, const char *name, uint64_t *ret_lo, uint64_t *ret_hi)
{
	for (uint64_t i = 0; i + 1 < f->nftab; i++) {
		const char *n = func_name(f, i);
		if (n && strcmp(n, name) == 0)
			return gm_code_func_at(f, i, ret_lo, ret_hi) != NULL;
	}
	return false;
}

/* A growing list of addresses. */
struct targets {
	uint64_t *v;
	size_t n, cap;
	bool nomem;
};

static void add_target(struct targets *t, uint64_t addr)
{
	if (t->nomem)
		return;
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		uint64_t *grown = realloc(t->v, cap * sizeof(*grown));
		if (!grown) {
			t->nomem = true;
			return;
		}
		t->v = grown;
		t->cap = cap;
	}
	t->v[t->n++] = addr;
}

/* Bytes of immediate after the displacement for one-byte opcode OP with ModRM reg field REG; -1 if OP takes no ModRM memory operand we follow. */
static int amd64_imm_after(uint8_t op, uint8_t reg)
{
	switch (op) {
	case 0x01: case 0x03: case 0x09: case 0x0b: case 0x21: case 0x23: case 0x29: case 0x2b:
	case 0x31: case 0x33: case 0x38: case 0x39: case 0x3a: case 0x3b: case 0x85: case 0x87:
	case 0x88: case 0x89: case 0x8a: case 0x8b: case 0x8d: case 0xff:
		return 0;
	case 0x80: case 0x83: case 0xc6:
		return 1;
	case 0x81: case 0xc7:
		return 4;
	case 0xf7:
		return reg == 0 ? 4 : 0;
	default:
		return -1;
	}
}

static bool amd64_two_byte(uint8_t op)
{
	static const uint8_t ops[] = { 0xb6, 0xb7, 0xbe, 0xbf, 0x10, 0x11, 0x28, 0x29, 0x6f, 0x7f, 0xb1, 0xc1 };
	return memchr(ops, op, sizeof(ops)) != NULL;
}

static void amd64_targets(const uint8_t *code, uint64_t lo, uint64_t len, struct targets *t)
{
	for (uint64_t i = 0; i + 6 <= len; i++) {
		uint64_t modrm;
		int imm;
		if (code[i] == 0x0f && amd64_two_byte(code[i + 1])) {
			modrm = i + 2;
			imm = 0;
		} else {
			modrm = i + 1;
			imm = amd64_imm_after(code[i], (code[i + 1] >> 3) & 7);
		}
		if (imm < 0 || modrm + 5 + (uint64_t)imm > len || (code[modrm] & 0xc7) != 0x05)
			continue;
		int32_t disp = (int32_t)u32_at(code + modrm + 1);
		add_target(t, lo + modrm + 5 + (uint64_t)imm + (uint64_t)(int64_t)disp);
	}
}

bool gm_arm64_adrp(uint32_t insn, uint64_t pc, uint64_t *ret_page, uint32_t *ret_reg)
{
	if ((insn & 0x9f000000) != 0x90000000)
		return false;
	uint64_t imm = ((uint64_t)((insn >> 5) & 0x7ffff) << 2) | ((insn >> 29) & 3);
	int64_t off = (int64_t)(imm << 43) >> 31;  /* sign-extend 21 bits, times 4096 */
	*ret_page = (pc & ~0xfffull) + (uint64_t)off;
	*ret_reg = insn & 31;
	return true;
}

/* The low 12 bits INSN adds to register REG: ADD (immediate, 64-bit) or a
 * load/store with unsigned offset; *RET_PAIR for a 64-bit LDP/STP, which
 * names the next word as well. */
static bool arm64_low(uint32_t insn, uint32_t reg, uint64_t *ret, bool *ret_pair)
{
	*ret_pair = false;
	if (((insn >> 5) & 31) != reg)
		return false;
	if ((insn & 0xffc00000) == 0xa9400000 || (insn & 0xffc00000) == 0xa9000000) {
		int64_t imm7 = (int64_t)((uint64_t)((insn >> 15) & 0x7f) << 57) >> 57;
		*ret = (uint64_t)(imm7 * 8);
		*ret_pair = true;
		return true;
	}
	uint64_t imm12 = (insn >> 10) & 0xfff;
	if ((insn & 0xff800000) == 0x91000000) {
		*ret = (insn & 0x00400000) ? imm12 << 12 : imm12;
		return true;
	}
	if ((insn & 0x3b000000) == 0x39000000) {
		unsigned scale = insn >> 30;
		if ((insn & 0x04000000) && (insn & 0x00800000))
			scale = 4;  /* 128-bit SIMD register */
		*ret = imm12 << scale;
		return true;
	}
	return false;
}

static void arm64_targets(const uint8_t *code, uint64_t lo, uint64_t len, struct targets *t)
{
	for (uint64_t i = 0; i + 8 <= len; i += 4) {
		uint64_t page, low;
		uint32_t reg;
		bool pair;
		if (!gm_arm64_adrp(u32_at(code + i), lo + i, &page, &reg) || !arm64_low(u32_at(code + i + 4), reg, &low, &pair))
			continue;
		uint64_t addr = page + low, pair_off;
		add_target(t, addr);
		if (pair)
			add_target(t, addr + 8);
		/* ADRP R, ADD R', R, $low, then a pair through R' (a slice header's two words). */
		uint32_t add = u32_at(code + i + 4);
		if ((add & 0xff800000) == 0x91000000 && i + 12 <= len &&
		    arm64_low(u32_at(code + i + 8), add & 31, &pair_off, &pair) && pair) {
			add_target(t, addr + pair_off);
			add_target(t, addr + pair_off + 8);
		}
	}
}

static int addr_compare(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

bool gm_code_refs(const struct gm_code_funcs *f, const char *name, uint64_t **ret, size_t *ret_n)
{
	uint64_t lo, hi;
	const uint8_t *code;
	if (!gm_code_func_range(f, name, &lo, &hi) || !(code = gm_exe_file_bytes(f->exe, lo, hi - lo)))
		return false;
	struct targets t = { 0 };
	if (f->exe->e_machine == EM_AARCH64)
		arm64_targets(code, lo, hi - lo, &t);
	else if (f->exe->e_machine == EM_X86_64)
		amd64_targets(code, lo, hi - lo, &t);
	if (t.nomem) {
		free(t.v);
		return false;
	}
	if (t.n)
		qsort(t.v, t.n, sizeof(*t.v), addr_compare);
	size_t n = 0;
	for (size_t i = 0; i < t.n; i++)
		if (n == 0 || t.v[n - 1] != t.v[i])
			t.v[n++] = t.v[i];
	*ret = t.v;
	*ret_n = n;
	return true;
}
