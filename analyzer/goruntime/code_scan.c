#include "code_scan.h"

#include <stdlib.h>
#include <string.h>

#include "../core/exe.h"

void scan_forget(struct scan *s, uint32_t regs)
{
	for (unsigned r = 0; r < NREGS; r++)
		if (regs & (1u << r))
			s->regs[r].kind = VAL_UNKNOWN;
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

/* A write to memory: the frame's own (FRAME), or anywhere. */
void scan_memory_written(struct scan *s, bool frame)
{
	if (frame || s->frame_address)
		scan_forget_slots(s);
}

/* A RET: what the first result register holds becomes what the function returns. */
void scan_returns(struct scan *s)
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

void scan_call(struct scan *s, uint64_t target)
{
	uint64_t role = ROLE_NONE;
	gm_u64_map_find(&s->roles, target, &role);
	if (role == ROLE_WRITE_BARRIER) {
		scan_forget(s, s->barrier_writes);
		return;
	}
	unsigned type_arg = role == ROLE_SIZED_MALLOC ? s->arg1 : role == ROLE_GROWSLICE ? s->arg4 : s->arg0;
	struct val type = s->regs[type_arg], map = s->regs[s->arg1];
	uint64_t summary;
	if (role == ROLE_POOL_METHOD)
		pool_receiver(s, &s->regs[s->arg0]);
	scan_forget(s, ALL_REGS);
	if (s->frame_address)
		scan_forget_slots(s);
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
void scan_note_branch(struct scan *s, uint64_t target)
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

/* The word at WORD gets register REG's value.  An address stored there (a
 * type or itab word) makes the next word an interface's data word, which
 * holds whatever the interface does: a desc 0 fact keeps it untyped. */
void scan_store(struct scan *s, uint64_t word, unsigned reg)
{
	const struct val *v = &s->regs[reg];
	if (v->kind == VAL_MADE)
		add_fact(s, word, v->addr, v->made_by == ROLE_NEWOBJECT ? GM_CODE_POINTS_TO
					   : v->made_by == ROLE_MAKESLICE ? GM_CODE_SLICE_OF : GM_CODE_HOLDS);
	else if (v->kind == VAL_ADDR)
		add_fact(s, word + 8, 0, GM_CODE_INTERFACE_DATA);
}
