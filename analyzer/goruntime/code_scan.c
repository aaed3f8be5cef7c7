#include "code_scan.h"

#include <stdlib.h>
#include <string.h>

#include "../core/exe.h"

void scan_forget(struct scan *s, uint32_t regs)
{
	for (; regs; regs &= regs - 1)
		s->regs[__builtin_ctz(regs)].kind = VAL_UNKNOWN;
}

void scan_forget_slots(struct scan *s)
{
	for (unsigned i = 0; i < NSLOTS; i++)
		s->slots[i].v.kind = VAL_UNKNOWN;
}

/* Register REG spilled to the slot at OFF. */
void scan_store_slot(struct scan *s, int32_t off, unsigned reg)
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

struct val scan_load_slot(const struct scan *s, int32_t off)
{
	for (unsigned i = 0; i < NSLOTS; i++)
		if (s->slots[i].v.kind != VAL_UNKNOWN && s->slots[i].off == off)
			return s->slots[i].v;
	return (struct val){ .kind = VAL_UNKNOWN };
}

/* Forget the slots that overlap [FROM, TO). */
static void forget_slots_in(struct scan *s, int64_t from, int64_t to)
{
	for (unsigned i = 0; i < NSLOTS; i++)
		if (s->slots[i].off + 8 > from && s->slots[i].off < to)
			s->slots[i].v.kind = VAL_UNKNOWN;
}

/* What a call, or a write through an unknown pointer, may change of the
 * frame: the variables whose address the function takes. */
static void forget_slots_at_risk(struct scan *s, int64_t above)
{
	if (above != FRAME_NOT_TAKEN)
		forget_slots_in(s, above, INT64_MAX);
	for (unsigned i = 0; i < s->frame.nranges; i++)
		forget_slots_in(s, s->frame.ranges[i].off, s->frame.ranges[i].off + s->frame.ranges[i].size);
}

static void forget_slots_pointed_to(struct scan *s)
{
	forget_slots_at_risk(s, s->frame.above);
}

/* Whether V is an address outside the frame: what new or make returned, a
 * global's address, what a global held (escape analysis leaves nothing a
 * global reaches on a stack), the write barrier's buffer. */
static bool off_frame(const struct val *v)
{
	return v->kind == VAL_MADE || v->kind == VAL_ADDR || v->kind == VAL_PAGE || v->kind == VAL_LOADED ||
	       v->kind == VAL_OFF_FRAME;
}

/* A write to memory through register BASE (BASE_GLOBAL: pc-relative, a
 * global; -1: an address not known), not the frame's. */
void scan_written_through(struct scan *s, int base)
{
	if (base == BASE_GLOBAL || (base >= 0 && base < NREGS && off_frame(&s->regs[base])))
		return;
	forget_slots_pointed_to(s);
}

/* REG gets what a load through register BASE at DISP (LOADED), or the
 * address formed from it, gives: from a global's address, that global's
 * word or address; from outside the frame, an address outside it too.  A
 * pointer loaded from the heap points into no stack (escape analysis), but
 * in the runtime (a sudog's elem, a g's param). */
void scan_derived(struct scan *s, unsigned reg, unsigned base, int64_t disp, bool loaded)
{
	const struct val *b = &s->regs[base];
	struct val v = { .kind = VAL_UNKNOWN };
	if (b->kind == VAL_ADDR)
		v = (struct val){ .kind = loaded ? VAL_LOADED : VAL_ADDR, .addr = b->addr + (uint64_t)disp };
	else if (off_frame(b) && (!loaded || !s->in_runtime))
		v.kind = VAL_OFF_FRAME;
	s->regs[reg] = v;
}

bool scan_add_frame_address(int64_t *ret, size_t *n, int64_t off)
{
	for (size_t i = 0; i < *n; i++)
		if (ret[i] == off)
			return true;
	if (*n == MAX_FRAME_ADDRESSES)
		return false;
	ret[(*n)++] = off;
	return true;
}

/* A write to memory: the frame's own (FRAME), of SIZE bytes at OFF from SP
 * if KNOWN, or anywhere. */
void scan_memory_written(struct scan *s, bool frame, bool known, int64_t off, unsigned size)
{
	if (frame && known)
		forget_slots_in(s, off, off + size);
	else if (frame)
		scan_forget_slots(s);
	else
		forget_slots_pointed_to(s);
}

/* The function being read returns NOW (a made value's summary, or
 * SUMMARY_MIXED), on one of its paths. */
static void note_summary(struct scan *s, uint64_t now)
{
	uint64_t have;
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

static uint64_t summary_of(const struct val *v)
{
	return (uint64_t)v->made_by << 56 | (v->addr & ((1ull << 56) - 1));
}

/* A RET: what the first result register holds becomes what the function
 * returns.  A runtime function's new or make may be of the runtime's
 * representation (maps.NewMap's *maps.Map for a map[K]V), not of a Go
 * type: only a slice it makes, one the runtime keeps itself
 * (timeHistBuckets), sums it up. */
void scan_returns(struct scan *s)
{
	const struct val *v = &s->regs[s->result];
	uint64_t role = ROLE_NONE;
	gm_u64_map_find(&s->roles, s->lo, &role);
	if (v->kind != VAL_MADE || (role != ROLE_NONE && role != ROLE_RUNTIME) || (v->addr & UNTYPED_MAP))
		return;
	note_summary(s, role == ROLE_RUNTIME && v->made_by != ROLE_MAKESLICE ? SUMMARY_MIXED : summary_of(v));
}

/* Room for one more of the N items of SIZE bytes at *ITEMS (doubling
 * *CAP); false, and s->nomem set, if there is none. */
static bool room(struct scan *s, void **items, size_t n, size_t *cap, size_t size)
{
	if (s->nomem)
		return false;
	if (n < *cap)
		return true;
	size_t grown_cap = *cap ? 2 * *cap : 16;
	void *grown = realloc(*items, grown_cap * size);
	if (!grown) {
		s->nomem = true;
		return false;
	}
	*items = grown;
	*cap = grown_cap;
	return true;
}

void scan_add_fact(struct scan *s, uint64_t word, uint64_t desc, enum gm_code_type_kind kind, uint64_t count)
{
	if (room(s, (void **)&s->facts, s->nfacts, &s->cap, sizeof(*s->facts)))
		s->facts[s->nfacts++] = (struct gm_code_type){ .word = word, .desc = desc, .kind = kind, .count = count };
}

static void add_frame_fact(struct scan *s, uint64_t pc, const struct slot *sl, enum gm_code_type_kind kind)
{
	if (room(s, (void **)&s->frame_facts, s->nframe_facts, &s->frame_cap, sizeof(*s->frame_facts)))
		s->frame_facts[s->nframe_facts++] =
			(struct gm_code_frame_slot){ .pc = pc, .off = sl->off, .desc = sl->v.addr, .kind = kind };
}

/* The slots a frame waiting in the call returning to RETURN_PC holds:
 * what new, makemap or makechan made (a make's slice data word has its len
 * and cap elsewhere once spilled: not kept). */
static void note_frame_slots(struct scan *s, uint64_t return_pc)
{
	for (unsigned i = 0; i < NSLOTS; i++) {
		const struct slot *sl = &s->slots[i];
		if (sl->v.kind != VAL_MADE || (sl->v.addr & UNTYPED_MAP) || sl->off < 0)
			continue;
		if (sl->v.made_by == ROLE_NEWOBJECT)
			add_frame_fact(s, return_pc, sl, GM_CODE_POINTS_TO);
		else if (sl->v.made_by == ROLE_MAKEMAP || sl->v.made_by == ROLE_MAKECHAN)
			add_frame_fact(s, return_pc, sl, GM_CODE_HOLDS);
	}
}

/* sync.(*Pool).Get or Put's receiver: a global pool's address, or a
 * global *sync.Pool (var p = &sync.Pool{...}: the pool a static of the
 * file's data, the pointer initialized to it, as the file says). */
static void pool_receiver(struct scan *s, const struct val *receiver)
{
	const uint8_t *p;
	uint64_t pool;
	if (receiver->kind == VAL_ADDR) {
		scan_add_fact(s, receiver->addr, 0, GM_CODE_POOL, 0);
	} else if (receiver->kind == VAL_LOADED && (p = gm_exe_file_bytes(s->exe, receiver->addr, 8))) {
		memcpy(&pool, p, 8);
		if (pool)
			scan_add_fact(s, pool, 0, GM_CODE_POOL, 0);
	}
}

/* A map operation on MAP, a map makemap_small made: every register and
 * slot holding that map holds a map of TYPE. */
static void type_untyped_map(struct scan *s, struct val map, uint64_t type)
{
	for (unsigned r = 0; r < NREGS; r++)
		if (s->regs[r].kind == VAL_MADE && s->regs[r].addr == map.addr)
			s->regs[r].addr = type;
	for (unsigned i = 0; i < NSLOTS; i++)
		if (s->slots[i].v.kind == VAL_MADE && s->slots[i].v.addr == map.addr)
			s->slots[i].v.addr = type;
}

void scan_call(struct scan *s, uint64_t target, uint64_t return_pc)
{
	uint64_t role = ROLE_NONE;
	gm_u64_map_find(&s->roles, target, &role);
	if (role == ROLE_WRITE_BARRIER) {
		scan_forget(s, s->barrier_writes);
		s->regs[s->barrier_buffer] = (struct val){ .kind = VAL_OFF_FRAME };
		return;
	}
	for (int i = 0; i < 2; i++)
		if (target >= s->duff_lo[i] && target < s->duff_hi[i]) {
			scan_forget(s, s->duff_writes);
			forget_slots_pointed_to(s);
			return;
		}
	unsigned type_arg = role == ROLE_SIZED_MALLOC ? s->arg1 : role == ROLE_GROWSLICE ? s->arg4 : s->arg0;
	struct val type = s->regs[type_arg], map = s->regs[s->arg1];
	uint64_t summary;
	if (role == ROLE_POOL_METHOD)
		pool_receiver(s, &s->regs[s->arg0]);
	if (role == ROLE_MAP_OP && type.kind == VAL_ADDR && map.kind == VAL_MADE && (map.addr & UNTYPED_MAP))
		type_untyped_map(s, map, type.addr);
	/* A generic type's method takes its receiver, then the dictionary. */
	if (role == ROLE_HASH_TRIE_METHOD && s->regs[s->arg0].kind == VAL_ADDR && s->regs[s->arg1].kind == VAL_ADDR)
		scan_add_fact(s, s->regs[s->arg0].addr, s->regs[s->arg1].addr, GM_CODE_HASH_TRIE, 0);
	if (role == ROLE_SYNC_MAP_METHOD && s->regs[s->arg0].kind == VAL_ADDR)
		scan_add_fact(s, s->regs[s->arg0].addr, 0, GM_CODE_SYNC_MAP, 0);
	if ((role == ROLE_NONE || role == ROLE_RUNTIME) && s->regs[s->arg0].kind == VAL_ADDR)
		scan_add_fact(s, target, s->regs[s->arg0].addr, GM_CODE_RECEIVER_CALL, 0);
	scan_forget(s, ALL_REGS);
	forget_slots_at_risk(s, s->frame.call_above);
	note_frame_slots(s, return_pc);
	if (role == ROLE_MAKEMAP_SMALL) {
		s->regs[s->result] = (struct val){ .kind = VAL_MADE, .made_by = ROLE_MAKEMAP,
						   .addr = UNTYPED_MAP | return_pc };
		return;
	}
	/* mapassign's element slot is in the map's storage: on the heap when
	 * the map is (a map on the stack was made from a frame address). */
	if (role == ROLE_MAP_OP && off_frame(&map))
		s->regs[s->result] = (struct val){ .kind = VAL_OFF_FRAME };
	if ((role == ROLE_NONE || role == ROLE_RUNTIME || role == ROLE_CACHED_NEW) &&
	    gm_u64_map_find(&s->summaries, target, &summary) && summary != SUMMARY_MIXED) {
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
		scan_add_fact(s, map.addr, type.addr, GM_CODE_HOLDS, 0);
	else if (role == ROLE_NEWOBJECT || role == ROLE_SIZED_MALLOC) {
		s->regs[s->result] = (struct val){ .kind = VAL_MADE, .made_by = ROLE_NEWOBJECT, .addr = type.addr };
		scan_add_fact(s, type.addr, type.addr, GM_CODE_ALLOCATED, 0);
		/* what a cache holds is what fills it: that is what the function returns */
		if (caller == ROLE_CACHED_NEW)
			note_summary(s, summary_of(&s->regs[s->result]));
	}
	else if (role == ROLE_GROWSLICE || role == ROLE_MAKESLICE)
		s->regs[s->result] = (struct val){ .kind = VAL_MADE, .made_by = ROLE_MAKESLICE, .addr = type.addr };
	else if (role == ROLE_MAKEMAP || role == ROLE_MAKECHAN)
		s->regs[s->result] = (struct val){ .kind = VAL_MADE, .made_by = (enum role)role, .addr = type.addr };
	if (role == ROLE_MAKEMAP || role == ROLE_MAKECHAN || role == ROLE_MAKESLICE)
		scan_add_fact(s, type.addr, type.addr, GM_CODE_ALLOCATED, 0);
}

/* A digest of what the registers and slots hold, to follow a jump with
 * the same values once only (field by field: the structs have padding). */
static uint64_t state_digest(const struct scan *s)
{
	uint64_t h = 14695981039346656037ull;
	for (unsigned r = 0; r < NREGS; r++) {
		const struct val *v = &s->regs[r];
		h = (h ^ ((uint64_t)v->kind << 8 | v->made_by)) * 1099511628211ull;
		h = (h ^ (v->kind == VAL_UNKNOWN ? 0 : v->addr)) * 1099511628211ull;
	}
	for (unsigned i = 0; i < NSLOTS; i++) {
		const struct slot *sl = &s->slots[i];
		if (sl->v.kind == VAL_UNKNOWN)
			continue;
		h = (h ^ ((uint64_t)(uint32_t)sl->off << 16 | (uint64_t)sl->v.kind << 8 | sl->v.made_by)) * 1099511628211ull;
		h = (h ^ sl->v.addr) * 1099511628211ull;
	}
	return h;
}

/* Remember the registers at a jump to TARGET, to follow them from there
 * once the function's straight-line reading is done (a block the compiler
 * placed elsewhere: a store after a call, a write barrier's slow path, a
 * loop's exit).  Jumps met while following are noted too, each (target,
 * values) once, up to MAX_BRANCHES per function. */
void scan_note_branch(struct scan *s, uint64_t target)
{
	if (target < s->lo || target >= s->hi || s->nbranches >= MAX_BRANCHES || s->nomem)
		return;
	bool useful = false;
	for (unsigned r = 0; r < NREGS && !useful; r++)
		useful = s->regs[r].kind != VAL_UNKNOWN && s->regs[r].kind != VAL_PAGE;
	for (unsigned i = 0; i < NSLOTS && !useful; i++)
		useful = s->slots[i].v.kind != VAL_UNKNOWN;
	if (!useful)
		return;
	uint64_t digest = state_digest(s), key = (digest ^ target * 0x9e3779b97f4a7c15ull) | 1;
	size_t at = (size_t)(key >> 17) % SEEN_SLOTS;
	while (s->seen[at].generation == s->generation) {   /* at most MAX_BRANCHES of SEEN_SLOTS taken */
		if (s->seen[at].key == key)
			return;
		at = (at + 1) % SEEN_SLOTS;
	}
	s->seen[at] = (struct seen_branch){ .key = key, .generation = s->generation };
	if (!room(s, (void **)&s->branches, s->nbranches, &s->branches_cap, sizeof(*s->branches)))
		return;
	struct branch *b = &s->branches[s->nbranches++];
	b->target = target;
	memcpy(b->regs, s->regs, sizeof(s->regs));
	memcpy(b->slots, s->slots, sizeof(s->slots));
}

/* Where the flow ends (RET, JMP, ...): reading from a branch stops there. */
bool scan_flow_ends(struct scan *s)
{
	scan_forget(s, ALL_REGS);
	scan_forget_slots(s);
	return s->following;
}

void scan_mark_start(struct scan *s, uint64_t at)
{
	if (!s->following)
		s->starts[at / 8] |= (uint8_t)(1u << (at % 8));
}

bool scan_static_func_value(const struct scan *s, uint64_t addr)
{
	const uint8_t *p = gm_exe_file_bytes(s->exe, addr, 8);
	uint64_t pc;
	if (!p)
		return false;
	memcpy(&pc, p, 8);
	return gm_code_func_is_entry(s->funcs, pc);
}

/* The fact a made value V stored into a word makes. */
static enum gm_code_type_kind made_fact(const struct val *v)
{
	return v->made_by == ROLE_NEWOBJECT   ? GM_CODE_POINTS_TO
	       : v->made_by == ROLE_MAKESLICE ? GM_CODE_SLICE_OF
					      : GM_CODE_HOLDS;
}

/* The word at WORD gets register REG's value.  A type's or itab's address
 * stored there makes the next word an interface's data word, which holds
 * whatever the interface does: a desc 0 fact keeps it untyped (a func
 * value's static closure, or any other address, says nothing of it). */
void scan_store(struct scan *s, uint64_t word, unsigned reg)
{
	const struct val *v = &s->regs[reg];
	if (v->kind == VAL_MADE && !(v->addr & UNTYPED_MAP))
		scan_add_fact(s, word, v->addr, made_fact(v), 0);
	else if (v->kind == VAL_ADDR && v->addr >= s->types && v->addr < s->etypes && !scan_static_func_value(s, v->addr))
		scan_add_fact(s, word + 8, 0, GM_CODE_INTERFACE_DATA, 0);
	else if (v->kind == VAL_CONST)
		scan_store_const(s, word, v->addr);
	if (v->kind == VAL_MADE && v->made_by == ROLE_NEWOBJECT && s->nnews < MAX_GLOBAL_STORES)
		s->news[s->nnews++] = (struct global_store){ .word = word, .value = v->addr };
}

/* A function's entry stored into the first word of what new(T) made: a
 * closure, T the struct the compiler lays its captures out in. */
void scan_store_through(struct scan *s, unsigned base, int64_t disp, unsigned reg)
{
	const struct val *b = &s->regs[base], *v = &s->regs[reg];
	/* A method setting a field of its receiver (s.timer = new(timer)):
	 * what a global it is called on holds (receiver_facts). */
	if (b->kind == VAL_ARG0 && disp >= 0 && v->kind == VAL_MADE && !(v->addr & UNTYPED_MAP) &&
	    room(s, (void **)&s->facts, s->nfacts, &s->cap, sizeof(*s->facts)))
		s->facts[s->nfacts++] = (struct gm_code_type){ .word = s->lo, .desc = v->addr, .count = (uint64_t)disp,
								.kind = GM_CODE_RECEIVER_STORE, .stored = made_fact(v) };
	if (disp == 0 && b->kind == VAL_MADE && b->made_by == ROLE_NEWOBJECT && v->kind == VAL_ADDR &&
	    gm_code_func_is_entry(s->funcs, v->addr))
		scan_add_fact(s, v->addr, b->addr, GM_CODE_CLOSURE, 0);
}

void scan_store_const(struct scan *s, uint64_t word, uint64_t value)
{
	if (s->nconsts < MAX_GLOBAL_STORES)
		s->consts[s->nconsts++] = (struct global_store){ .word = word, .value = value };
}

static bool stored_const(const struct scan *s, uint64_t word, uint64_t value)
{
	for (size_t i = 0; i < s->nconsts; i++)
		if (s->consts[i].word == word && s->consts[i].value == value)
			return true;
	return false;
}

/* new([n]E) stored into a word whose next two words get the constant n
 * from the same function: the compiler's slice literal (s = []E{...} sets
 * the array, len and cap).  Whether new was given an [n]E is checked when
 * the fact is used (typewords.c), where descriptors are read. */
void scan_slice_literals(struct scan *s)
{
	for (size_t i = 0; i < s->nnews; i++)
		for (size_t k = 0; k < s->nconsts; k++)
			if (s->consts[k].word == s->news[i].word + 8 && s->consts[k].value &&
			    stored_const(s, s->news[i].word + 16, s->consts[k].value)) {
				scan_add_fact(s, s->news[i].word, s->news[i].value, GM_CODE_SLICE_LITERAL, s->consts[k].value);
				break;
			}
	s->nnews = s->nconsts = 0;
}
