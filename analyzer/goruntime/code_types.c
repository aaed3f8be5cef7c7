#include "code_types.h"

#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../core/exe.h"
#include "code_refs.h"
#include "code_scan.h"
#include "locate.h"

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
	if (strcmp(name, "runtime.acquireSudog") == 0)
		return ROLE_CACHED_NEW;
	if (strncmp(name, "runtime.mallocgcSmall", 21) == 0 || strncmp(name, "runtime.mallocgcTiny", 20) == 0)
		return ROLE_SIZED_MALLOC;
	if (strcmp(name, "runtime.makemap") == 0)
		return ROLE_MAKEMAP;
	if (strcmp(name, "runtime.makemap_small") == 0)
		return ROLE_MAKEMAP_SMALL;
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
	if (strncmp(name, "internal/sync.(*HashTrieMap[", 28) == 0)
		return ROLE_HASH_TRIE_METHOD;
	if (strncmp(name, "sync.(*Map).", 12) == 0)
		return ROLE_SYNC_MAP_METHOD;
	if (strncmp(name, "runtime.gcWriteBarrier", 22) == 0)
		return ROLE_WRITE_BARRIER;
	if (strncmp(name, "runtime.", 8) == 0 || strncmp(name, "internal/runtime/", 17) == 0)
		return ROLE_RUNTIME;
	return ROLE_NONE;
}

static bool run(struct scan *s, const uint8_t *code, uint64_t at, size_t steps)
{
	uint64_t len = s->hi - s->lo;
	return s->exe->e_machine == EM_AARCH64 ? scan_run_arm64(s, code, len, at, steps)
					       : scan_run_amd64(s, code, len, at, steps);
}

/* Which slots of function INDEX (CODE, from s->lo to s->hi) a call or a
 * write through a pointer may change (struct frame_risk). */
static struct frame_risk frame_risk(const struct scan *s, size_t index, const uint8_t *code)
{
	struct frame_risk risk = { .read = true, .above = FRAME_NOT_TAKEN, .call_above = FRAME_NOT_TAKEN };
	struct gm_frame_range objects[MAX_STACK_OBJECTS];
	int64_t addrs[MAX_FRAME_ADDRESSES];
	size_t naddrs;
	bool known = s->exe->e_machine == EM_AARCH64 ? scan_arm64_frame_addresses(code, s->hi - s->lo, addrs, &naddrs)
						     : scan_amd64_frame_addresses(s, code, s->hi - s->lo, addrs, &naddrs);
	if (!known) {
		risk.above = risk.call_above = FRAME_ANYWHERE;
		return risk;
	}
	int nobjects = naddrs ? gm_code_func_stack_objects(s->funcs, index, objects, MAX_STACK_OBJECTS) : 0;
	for (size_t a = 0; a < naddrs; a++) {
		int k = 0;   /* the stack object holding the address */
		while (k < nobjects && !(addrs[a] >= objects[k].off && addrs[a] < objects[k].off + objects[k].size))
			k++;
		bool inside = k < nobjects, listed = false;
		for (unsigned r = 0; inside && r < risk.nranges; r++)
			listed |= risk.ranges[r].off == objects[k].off;
		bool no_room = inside && !listed && risk.nranges == MAX_RISKY_RANGES;
		if (inside && !listed && !no_room)
			risk.ranges[risk.nranges++] = objects[k];
		if (no_room && addrs[a] < risk.call_above)
			risk.call_above = addrs[a];   /* all above it */
		if ((no_room || !inside) && addrs[a] < risk.above)
			risk.above = addrs[a];   /* in no stack object: all above it, but for calls */
	}
	return risk;
}

/* Read the function [LO, HI): straight through, then from each jump it
 * noted with the registers it had there (into an instruction start only). */
static void scan_function(struct scan *s, struct gm_code_types *t, size_t index, uint64_t lo, uint64_t hi)
{
	const uint8_t *code = gm_exe_file_bytes(s->exe, lo, hi - lo);
	size_t start = s->nfacts, frame_start = s->nframe_facts, bitmap = (hi - lo) / 8 + 1;
	t->functions++;
	if (!code) {   /* not in the file: a damaged table; its bitmap is not made either */
		t->skipped++;
		return;
	}
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
	s->generation++;   /* a new function: the branches noted before are not its */
	s->nnews = s->nconsts = 0;
	uint64_t role = ROLE_NONE;
	gm_u64_map_find(&s->roles, lo, &role);
	s->in_runtime = role != ROLE_NONE;
	scan_forget(s, ALL_REGS);
	scan_forget_slots(s);
	s->regs[s->arg0] = (struct val){ .kind = VAL_ARG0 };
	if (!s->frames[index].read)
		s->frames[index] = frame_risk(s, index, code);
	s->frame = s->frames[index];
	if (!run(s, code, 0, SIZE_MAX)) {
		s->nfacts = start;
		s->nframe_facts = frame_start;
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
		size_t before = s->nfacts, frame_before = s->nframe_facts, news = s->nnews, consts = s->nconsts;
		if (!run(s, code, at, BRANCH_STEPS)) {
			s->nfacts = before;
			s->nframe_facts = frame_before;
			s->nnews = news;
			s->nconsts = consts;
		}
	}
	scan_slice_literals(s);
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
 * address (both lie in [types, etypes), but so do func values' static
 * closures): WORD is then an interface's data word, whatever the code
 * stores there. */
static bool after_static_type_word(const struct scan *s, uint64_t word)
{
	const uint8_t *p = word >= 8 ? gm_exe_file_bytes(s->exe, word - 8, 8) : NULL;
	uint64_t value;
	if (!p)
		return false;
	memcpy(&value, p, 8);
	return value >= s->types && value < s->etypes && !scan_static_func_value(s, value);
}

/* Whether every slice literal fact on the word of FACTS[FROM, TO) says
 * so of the array FACT points to, with one count: that count; 0 if not. */
static uint64_t slice_literal_count(const struct gm_code_type *facts, size_t from, size_t to,
				    const struct gm_code_type *fact)
{
	uint64_t count = 0;
	for (size_t k = from; k < to; k++) {
		if (facts[k].kind != GM_CODE_SLICE_LITERAL)
			continue;
		if (facts[k].desc != fact->desc || (count && facts[k].count != count))
			return 0;
		count = facts[k].count;
	}
	return count;
}

/* A word that a slice literal sets (new([n]E), n after it) and append
 * grows (a []E): the facts of FACTS[FROM, TO) are all of these two forms,
 * the make or append's E the same, and so is the literal's array; the
 * SLICE_OF fact, with the literal's array to check, else 0. */
static struct gm_code_type literal_then_grown(const struct gm_code_type *facts, size_t from, size_t to)
{
	struct gm_code_type grown = { .kind = GM_CODE_SLICE_OF };
	for (size_t k = from; k < to; k++) {
		const struct gm_code_type *f = &facts[k];
		if (f->kind == GM_CODE_INTERFACE_DATA)
			return (struct gm_code_type){ .desc = 0 };
		if (f->kind == GM_CODE_SLICE_LITERAL)
			continue;
		if (f->kind == GM_CODE_SLICE_OF && (!grown.desc || grown.desc == f->desc))
			grown.desc = f->desc;
		else if (f->kind == GM_CODE_POINTS_TO && (!grown.literal || grown.literal == f->desc) &&
			 slice_literal_count(facts, from, to, f))
			grown.literal = f->desc;
		else
			return (struct gm_code_type){ .desc = 0 };
	}
	if (!grown.literal)
		grown.desc = 0;
	grown.word = facts[from].word;
	return grown;
}

/* What a method stores into its receiver, a global it is called on holds
 * at that offset: a fact of the global word for each such call and store. */
static void receiver_facts(struct scan *s)
{
	size_t n = s->nfacts, nstores = 0;
	struct gm_code_type *stores = malloc((n ? n : 1) * sizeof(*stores));
	if (!stores) {
		s->nomem = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (s->facts[i].kind == GM_CODE_RECEIVER_STORE)
			stores[nstores++] = s->facts[i];
	if (nstores)
		qsort(stores, nstores, sizeof(*stores), fact_compare);
	for (size_t i = 0; i < n && nstores; i++) {
		if (s->facts[i].kind != GM_CODE_RECEIVER_CALL)
			continue;
		uint64_t function = s->facts[i].word, global = s->facts[i].desc;
		size_t lo = 0, hi = nstores;
		while (lo < hi) {   /* the first store of the function */
			size_t mid = lo + (hi - lo) / 2;
			if (stores[mid].word < function)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t k = lo; k < nstores && stores[k].word == function; k++)
			scan_add_fact(s, global + stores[k].count, stores[k].desc, stores[k].stored, 0);
	}
	free(stores);
}

/* One fact per word where all agree; the words they disagree on counted.
 * The markers (interface data, slice literals) qualify the others. */
static void merge_facts(struct scan *s, struct gm_code_types *t)
{
	receiver_facts(s);
	if (s->nfacts)
		qsort(s->facts, s->nfacts, sizeof(*s->facts), fact_compare);
	for (size_t i = 0, j; i < s->nfacts; i = j) {
		bool agree = true, interface_data = false;
		size_t first = SIZE_MAX;
		for (j = i; j < s->nfacts && s->facts[j].word == s->facts[i].word; j++) {
			enum gm_code_type_kind kind = s->facts[j].kind;
			interface_data |= kind == GM_CODE_INTERFACE_DATA;
			if (kind == GM_CODE_INTERFACE_DATA || kind == GM_CODE_SLICE_LITERAL ||
			    kind == GM_CODE_RECEIVER_STORE || kind == GM_CODE_RECEIVER_CALL)
				continue;
			if (first == SIZE_MAX)
				first = j;
			agree &= s->facts[j].desc == s->facts[first].desc && kind == s->facts[first].kind;
		}
		if (first == SIZE_MAX)
			continue;
		struct gm_code_type fact = s->facts[first];
		/* Only a value's word can be an interface's data word: a pool or
		 * a sync.Map is found by its address, not by a value stored
		 * there, and what the data before it holds says nothing of it. */
		interface_data |= gm_code_type_is_value(fact.kind) && after_static_type_word(s, fact.word);
		uint64_t count = fact.kind == GM_CODE_POINTS_TO ? slice_literal_count(s->facts, i, j, &fact) : 0;
		if (count)
			fact = (struct gm_code_type){ .word = fact.word, .desc = fact.desc, .kind = GM_CODE_ARRAY_SLICE,
						      .count = count };
		if (fact.kind == GM_CODE_POOL)
			fact.desc = s->pool_local;   /* known once the whole code is read */
		struct gm_code_type grown = agree ? fact : literal_then_grown(s->facts, i, j);
		if (!agree && grown.desc) {
			fact = grown;
			agree = true;
		}
		if (!agree && !interface_data)
			t->conflicts++;
		else if (agree && !interface_data && (fact.desc || fact.kind == GM_CODE_SYNC_MAP))
			s->facts[t->n++] = fact;   /* a sync.Map's types are found by name later */
	}
	t->items = s->facts;
	s->facts = NULL;
}

static int frame_fact_compare(const void *a, const void *b)
{
	const struct gm_code_frame_slot *x = a, *y = b;
	if (x->pc != y->pc)
		return x->pc < y->pc ? -1 : 1;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	if (x->desc != y->desc)
		return x->desc < y->desc ? -1 : 1;
	return (int)x->kind - (int)y->kind;
}

/* One fact per slot where every path to the call agrees. */
static void merge_frame_facts(struct scan *s, struct gm_code_types *t)
{
	struct gm_code_frame_slot *f = s->frame_facts;
	if (s->nframe_facts)
		qsort(f, s->nframe_facts, sizeof(*f), frame_fact_compare);
	for (size_t i = 0, j; i < s->nframe_facts; i = j) {
		bool agree = true;
		for (j = i; j < s->nframe_facts && f[j].pc == f[i].pc && f[j].off == f[i].off; j++)
			agree &= f[j].desc == f[i].desc && f[j].kind == f[i].kind;
		if (agree)
			f[t->nframe_slots++] = f[i];
		else
			t->conflicts++;
	}
	t->frame_slots = f;
	s->frame_facts = NULL;
}

/* Every function's role, and where duffcopy and duffzero lie, in one
 * reading of the names. */
static bool find_roles(struct scan *s, const struct gm_code_funcs *funcs)
{
	static const char *const duff[2] = { "runtime.duffcopy", "runtime.duffzero" };
	for (size_t i = 0; i < gm_code_func_count(funcs); i++) {
		uint64_t lo, hi;
		const char *name = gm_code_func_at(funcs, i, &lo, &hi);
		for (int d = 0; d < 2 && name; d++)
			if (strcmp(name, duff[d]) == 0 && !s->duff_hi[d]) {
				s->duff_lo[d] = lo;
				s->duff_hi[d] = hi;
			}
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
		s.barrier_buffer = 25;
		/* duffcopy: R20, R21 (from, to), R26, R27 (scratch); IP0, IP1, LR */
		s.duff_writes = 1u << 16 | 1u << 17 | 1u << 20 | 1u << 21 | 1u << 26 | 1u << 27 | 1u << 30;
	} else if (exe->e_machine == EM_X86_64) {
		s.arg1 = 3;                                                             /* BX */
		s.arg4 = 6;                                                             /* SI (AX BX CX DI SI) */
		s.barrier_writes = 1u << 11;                                            /* R11: the buffer */
		s.barrier_buffer = 11;
		s.duff_writes = 1u << 6 | 1u << 7;                                      /* SI, DI (from, to) */
	} else {
		return NULL;
	}
	struct gm_code_funcs *funcs = gm_locate_global(exe, lay, "runtime.firstmoduledata", &moduledata)
					      ? gm_code_funcs_open(exe, lay, moduledata)
					      : NULL;
	if (!funcs)
		return NULL;
	s.funcs = funcs;
	s.frames = calloc(gm_code_func_count(funcs) + 1, sizeof(*s.frames));
	s.seen = calloc(SEEN_SLOTS, sizeof(*s.seen));
	if (!s.frames || !s.seen || !find_roles(&s, funcs))
		s.nomem = true;
	/* Each pass reads every function with what the last found functions
	 * return, until that stops changing; the facts are the last pass's. */
	for (int pass = 0; pass < MAX_PASSES && !s.nomem; pass++) {
		s.summaries_changed = false;
		s.nfacts = s.nframe_facts = 0;
		t->functions = t->skipped = 0;
		for (size_t i = 0; i < gm_code_func_count(funcs) && !s.nomem; i++) {
			uint64_t lo, hi;
			if (gm_code_func_at(funcs, i, &lo, &hi))
				scan_function(&s, t, i, lo, hi);
		}
		t->passes = pass + 1;
		if (!s.summaries_changed)
			break;
	}
	if (!s.nomem) {   /* merging asks the functions whether an address is one's entry */
		merge_facts(&s, t);
		merge_frame_facts(&s, t);
	}
	gm_code_funcs_destroy(funcs);
	gm_u64_map_free(&s.roles);
	gm_u64_map_free(&s.summaries);
	free(s.branches);
	free(s.starts);
	free(s.decoded);
	free(s.frames);
	free(s.seen);
	if (s.nomem) {
		free(s.facts);
		free(s.frame_facts);
		free(t);
		*ret = NULL;
		return &gm_error_nomem;
	}
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

const struct gm_code_frame_slot *gm_code_frame_slot_at(const struct gm_code_types *t, uint64_t pc, int64_t off)
{
	size_t lo = 0, hi = t->nframe_slots;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct gm_code_frame_slot *m = &t->frame_slots[mid];
		if (m->pc < pc || (m->pc == pc && m->off < off))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->nframe_slots && t->frame_slots[lo].pc == pc && t->frame_slots[lo].off == off
		       ? &t->frame_slots[lo]
		       : NULL;
}

void gm_code_types_destroy(struct gm_code_types *t)
{
	if (!t)
		return;
	free(t->items);
	free(t->frame_slots);
	free(t);
}
