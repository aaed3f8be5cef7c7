#include "typeinfer.h"

#include <dwarf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../dwarf/dwarf_index.h"
#include "../goruntime/code_types.h"
#include "../goruntime/heap.h"
#include "../goruntime/pclntab.h"
#include "descriptors.h"
#include "../goruntime/roots.h"
#include "../program/program.h"
#include "graph.h"
#include "shape_names.h"

#include "typeinfer_internal.h"

/* Objects between two progress counts. */
#define PROGRESS_STEP (1u << 16)

/* Whether spreading can read a layout for entry E: its DWARF type, or
 * without DWARF its runtime descriptor. */
static bool has_layout(const struct infer *in, uint32_t entry)
{
	const struct gm_type_entry *e = &in->t->entries[entry];
	return e->die || (!in->dw && (e->runtime_addr || made_layout(in, entry)));
}

/* Where the data of OBJ starts: after the malloc header when it has one
 * (the per-span flag says so: gm_span_header_size is that size or 0). */
static uint64_t data_offset(const struct infer *in, uint32_t obj)
{
	return in->span_flags[in->heap->objects[obj].span] & SPAN_HEADER ? in->heap->rt->malloc_header_size : 0;
}

/* Bytes of OBJ that hold data, from the per-span table (read on most
 * edges: the spans themselves are 96 bytes each). */
static uint64_t data_size(const struct infer *in, uint32_t obj)
{
	return in->span_room[in->heap->objects[obj].span];
}

/* Whether OBJ is a tiny-allocator block: from the per-span flags while
 * inferring (fit runs on most edges, and the spans are 96 bytes each,
 * 10 MB at 20M objects), from its span before they exist. */
static bool is_tiny(const struct infer *in, uint32_t obj)
{
	uint32_t span = in->heap->objects[obj].span;
	if (in->span_flags)
		return in->span_flags[span] & SPAN_TINY;
	const struct gm_span *s = &in->heap->spans[span];
	return s->noscan && s->size_class == in->heap->rt->tiny_size_class;
}

/* A Swiss map's group array (internal/runtime/maps newarray(typ.Group, n)):
 * n is a power of two, so of the n' that fill the slot, n is the largest
 * power of two <= n' (the size class adds less than n).  With DWARF the
 * table's lengthMask gives it (apply_group_count); without, this rule. */
static uint64_t group_count(const struct infer *in, uint32_t elem, uint64_t fitted)
{
	const char *name = in->t->entries[elem].name;
	if (in->dw || (strncmp(name, "map.group[", 10) != 0 && strncmp(name, "noalg.map.group[", 16) != 0))
		return fitted;
	while (fitted & (fitted - 1))
		fitted &= fitted - 1;
	return fitted;
}

/* ELEM, or [n]ELEM when OBJ holds n >= 2 of them.  Not a runtime.itabTableType:
 * itabGrow allocates one with more entries than its declared [512]. */
uint32_t fit(struct infer *in, uint32_t elem, uint32_t obj)
{
	uint64_t size = in->t->entries[elem].size, room = data_size(in, obj);
	/* A tiny-allocator block packs unrelated small values: not an array. */
	bool tiny = is_tiny(in, obj);
	if (size == 0 || room < 2 * size || tiny || strcmp(in->t->entries[elem].name, "runtime.itabTableType") == 0)
		return elem;
	return array_of(in, elem, group_count(in, elem, room / size));
}

/* [count]ELEM for a slice's backing array or a string's bytes, the count
 * read from the header at COUNT_ADDR; ELEM fitted to OBJ if unreadable. */
static uint32_t counted(struct infer *in, uint32_t elem, uint64_t count_addr, uint32_t obj)
{
	uint64_t count, size = in->t->entries[elem].size;
	if (!gm_try_read_u64(in->heap->rt->prog->mem, count_addr, &count) || count == 0 || size == 0 ||
	    count > data_size(in, obj) / size)
		return fit(in, elem, obj);
	return array_of(in, elem, count);
}

/* OBJ is the backing array of the slice header whose data pointer is at
 * WORD: remember its len and cap, once (view oversized_slices). */
static void note_slice(struct infer *in, uint32_t obj, uint64_t word, uint64_t len_delta, uint64_t cap_delta)
{
	struct gm_types *t = in->t;
	uint64_t len, cap;
	if (in->noted_slices[obj / 64] & 1ull << (obj % 64))
		return;
	if (len_delta == cap_delta || !gm_try_read_u64(in->heap->rt->prog->mem, word + len_delta, &len) ||
	    !gm_try_read_u64(in->heap->rt->prog->mem, word + cap_delta, &cap) || len > cap)
		return;
	if (t->nslices == t->slices_cap) {
		size_t ncap = t->slices_cap ? t->slices_cap * 2 : 256;
		void *grown = realloc(t->slices, ncap * sizeof(*t->slices));
		if (!grown)
			return;
		t->slices = grown;
		t->slices_cap = ncap;
	}
	t->slices[t->nslices++] = (struct gm_slice_info){ obj, len, cap };
	in->noted_slices[obj / 64] |= 1ull << (obj % 64);
}

/* Whether a value of OUTER starts with a value of INNER (or [n]INNER's
 * element): INNER is the type of its member at offset 0, or of that
 * member's own first member, and so on. */
static bool starts_with(struct infer *in, uint32_t outer, uint32_t inner)
{
	const struct gm_type_entry *o = &in->t->entries[outer], *i = &in->t->entries[inner];
	uint32_t want = i->elem != NO_ENTRY ? i->elem : inner;
	Dwarf_Die type, child, member;
	Dwarf_Attribute attr;
	Dwarf_Word off;
	if (!in->dw || !o->die || o->elem != NO_ENTRY || o->size <= i->size || !gm_dwarf_die_at(in->dw, o->die, &type))
		return false;
	for (int depth = 0; depth < 8; depth++) {
		Dwarf_Die real;
		if (!gm_dwarf_strip_typedefs(&type, &real) || dwarf_tag(&real) != DW_TAG_structure_type ||
		    dwarf_child(&real, &child) != 0)
			return false;
		while (dwarf_tag(&child) != DW_TAG_member)
			if (dwarf_siblingof(&child, &child) != 0)
				return false;
		if (!dwarf_attr(&child, DW_AT_data_member_location, &attr) || dwarf_formudata(&attr, &off) != 0 ||
		    off != 0 || !dwarf_attr(&child, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &member))
			return false;
		if (entry_for_die(in, &member) == want)
			return true;
		type = member;
	}
	return false;
}

static void assign(struct infer *in, uint32_t obj, uint32_t entry)
{
	uint32_t *have = &in->t->object_type[obj];
	if (entry == NO_ENTRY)
		return;
	if (*have == NO_ENTRY) {
		*have = entry;
		in->queue[in->tail++] = obj;
	} else if (*have != entry) {
		/* A *T may point at the first member of a larger U (&u.mu, &f.pfd):
		 * a *U at the same place says the object is the U, once; its
		 * first member's targets, typed already, agree. */
		if (!(in->retyped[obj / 64] & 1ull << (obj % 64)) && in->heap->objects[obj].type == GM_NO_TYPE &&
		    in->t->entries[entry].size <= data_size(in, obj) && starts_with(in, entry, *have)) {
			*have = entry;
			in->retyped[obj / 64] |= 1ull << (obj % 64);
			in->queue[in->tail++] = obj;
		}
		in->t->conflicts++;
	}
}

/* Whether a pointer to DST at DST_OFF can type DST: it must point at the
 * data start, except into a tiny-allocator block, which packs small values
 * at any offset (the block then takes the type of one of them). */
bool types_target(const struct infer *in, uint32_t dst, uint32_t dst_off)
{
	uint8_t flags = in->span_flags[in->heap->objects[dst].span];
	if (flags & SPAN_TINY)
		return true;
	return dst_off == (flags & SPAN_HEADER ? in->heap->rt->malloc_header_size : 0);
}

static struct gm_error *compute_span_flags(struct infer *in)
{
	const struct gm_heap *heap = in->heap;
	in->span_flags = calloc(heap->nspans ? heap->nspans : 1, 1);
	if (!in->span_flags)
		return &gm_error_nomem;
	for (size_t i = 0; i < heap->nspans; i++) {
		const struct gm_span *s = &heap->spans[i];
		if (s->noscan && s->size_class == heap->rt->tiny_size_class)
			in->span_flags[i] |= SPAN_TINY;
		if (gm_span_header_size(heap, s))
			in->span_flags[i] |= SPAN_HEADER;
	}
	return NULL;
}

/* A pointer to element ELEM inside a pointer-free object (a sub-slice of
 * a byte buffer, say): the object is an array of ELEM when the pointer
 * falls on an element boundary (a noscan span holds no pointers, so ELEM
 * has none either if the typing is right). */
static bool interior_array(const struct infer *in, uint32_t dst, uint32_t dst_off, uint32_t elem)
{
	const struct gm_span *s = &in->heap->spans[in->heap->objects[dst].span];
	uint64_t size = in->t->entries[elem].size, data = data_offset(in, dst);
	return s->noscan && size > 0 && dst_off > data && (dst_off - data) % size == 0 &&
	       data_size(in, dst) >= 2 * size;
}

/* Type DST as ENTRY unless ENTRY cannot fit in it: the runtime's own slot
 * size outranks a pointer's static type (a stale or reused pointer, or a
 * union-like reuse); that disagreement counts as a conflict. */
void assign_fitting(struct infer *in, uint32_t dst, uint32_t entry)
{
	if (entry != NO_ENTRY && in->t->entries[entry].size > data_size(in, dst)) {
		in->t->conflicts++;
		return;
	}
	assign(in, dst, entry);
}

/* The data start of OBJ as a pointer to it; 0 if unreadable. */
static uint64_t first_word(struct infer *in, uint32_t obj)
{
	uint64_t word;
	if (!gm_try_read_u64(in->heap->rt->prog->mem, in->heap->objects[obj].addr + data_offset(in, obj), &word))
		return 0;
	return word;
}

/* The name of the function whose entry is PC: the symbol table's, else
 * (no .symtab) the pclntab's, which spells Go functions the same way;
 * NULL when PC is no function's entry. */
static const char *function_at_entry(struct infer *in, uint64_t pc)
{
	struct gm_program *prog = in->heap->rt->prog;
	const struct gm_symbol *sym = gm_exe_symbol_at(prog->exe, pc - prog->bias);
	struct gm_func f;
	if (sym)
		return sym->is_func && sym->addr == pc - prog->bias ? sym->name : NULL;
	if (in->pclntab && gm_pclntab_find_func(in->pclntab, pc, &f) && f.entry == pc)
		return f.name;
	return NULL;
}

/* OBJ is a closure (funcval): its first word is the entry pc of the
 * function it calls.  Its type is named after that function ("closure
 * main.main.func1", "closure main.(*T).M-fm" for a method value).  Its
 * captured variables are laid out by the function's DWARF (1.23+), or
 * without DWARF by the struct the code allocates the closure as. */
static uint32_t closure_entry(struct infer *in, uint32_t obj)
{
	struct gm_program *prog = in->heap->rt->prog;
	uint64_t pc = first_word(in, obj), index;
	if (!pc)
		return NO_ENTRY;
	if (gm_u64_map_find(&in->closures, pc, &index))
		return (uint32_t)index;
	const char *function = function_at_entry(in, pc);
	if (!function)
		return NO_ENTRY;    /* not a function's entry: not a funcval */
	struct gm_type_entry e = { .kind = "func", .elem = NO_ENTRY };
	uint32_t ret;
	if (asprintf(&e.name, "closure %s", function) < 0)
		return NO_ENTRY;
	if (add_entry(in->t, &e, &ret) || gm_u64_map_insert(&in->closures, pc, ret)) {
		free(e.name);
		return NO_ENTRY;
	}
	Dwarf_Die fn;
	const struct gm_code_type *fact = in->code_types ? gm_code_type_of(in->code_types, pc - prog->bias) : NULL;
	if (gm_dwarf_subprogram_at(in->dw, pc - prog->bias, &fn))
		gm_u64_map_insert(&in->closure_funcs, ret, dwarf_dieoffset(&fn));
	else if (fact && fact->kind == GM_CODE_CLOSURE)
		gm_u64_map_insert(&in->closure_descs, ret, fact->desc + prog->bias);
	return ret;
}

static uint32_t map_group_entry(struct infer *in, uint32_t table_ptr)
{
	Dwarf_Die ptr, table, groups, data, group;
	uint64_t off;
	if (!in->dw)
		return made_map_group(in, table_ptr);
	if (!gm_dwarf_die_at(in->dw, in->t->entries[table_ptr].die, &ptr) || !gm_dwarf_pointee(&ptr, &table) ||
	    !gm_dwarf_member(&table, "groups", &off, &groups) || !gm_dwarf_member(&groups, "data", &off, &data) ||
	    !gm_dwarf_pointee(&data, &group))
		return NO_ENTRY;
	return entry_for_die(in, &group);
}

/* A Swiss map's directory (TARGET_MAPDIR). */
static void apply_map_directory(struct infer *in, uint64_t code, uint64_t word_addr, uint32_t dst)
{
	uint32_t table_ptr = (uint32_t)(code & 0xffffffffu) - 1;
	uint64_t dir_len;
	if (!gm_try_read_u64(in->heap->rt->prog->mem, word_addr + ((code >> 32) & DELTA_MASK), &dir_len))
		return;
	if (dir_len == 0)
		assign_fitting(in, dst, map_group_entry(in, table_ptr));
	else if (dir_len <= data_size(in, dst) / 8)
		assign(in, dst, array_of(in, table_ptr, dir_len));
}

/* DST holds COUNT groups of GROUP.  When its malloc header already typed
 * it (the runtime's name for the group type, which DWARF spells with a
 * noalg. prefix), only the count is corrected: the size class rounds
 * the allocation up, so the header's [n] counted the slack too. */
static void apply_group_count(struct infer *in, uint32_t dst, uint32_t group, uint64_t count)
{
	uint32_t have = in->t->object_type[dst];
	const struct gm_type_entry *e = have == NO_ENTRY ? NULL : &in->t->entries[have];
	if (e && e->elem != NO_ENTRY && in->t->entries[e->elem].size == in->t->entries[group].size &&
	    e->count > count) {
		uint32_t exact = array_of(in, e->elem, count);
		if (exact != NO_ENTRY)
			in->t->object_type[dst] = exact;
		return;
	}
	assign(in, dst, count > 1 ? array_of(in, group, count) : group);
}

/* Whether a refine_* rule may change ELEM (the answer cached per entry);
 * true when the cache cannot grow, the rules then asked as before. */
static bool may_refine(struct infer *in, uint32_t elem)
{
	if (elem >= in->t->count)
		return true;
	if (elem >= in->refinable_cap) {
		size_t cap = in->t->count * 2;
		uint8_t *grown = realloc(in->refinable, cap);
		if (!grown)
			return true;
		memset(grown + in->refinable_cap, 0, cap - in->refinable_cap);
		in->refinable = grown;
		in->refinable_cap = cap;
	}
	if (!in->refinable[elem])
		in->refinable[elem] = refine_may_apply(in->t->entries[elem].name) ? 2 : 1;
	return in->refinable[elem] == 2;
}

/* Type DST, which the pointer word at WORD_ADDR points into at DST_OFF,
 * from the word's target code (word_code). */
void apply_code(struct infer *in, uint64_t code, uint64_t word_addr, uint32_t dst, uint32_t dst_off)
{
	if (!code)
		return;
	uint32_t elem = (uint32_t)(code & 0xffffffffu) - 1;
	bool plain = !(code & (TARGET_EFACE | TARGET_IFACE | TARGET_CLOSURE));
	if (!types_target(in, dst, dst_off)) {
		if (plain && interior_array(in, dst, dst_off, elem))
			assign(in, dst, fit(in, elem, dst));
		return;
	}
	if (code & (TARGET_EFACE | TARGET_IFACE)) {
		uint32_t dyn = interface_target(in, word_addr - 8, code & TARGET_IFACE);
		if (dyn == CLOSURE_TARGET)
			assign(in, dst, closure_entry(in, dst));
		else if (dyn != NO_ENTRY)
			assign_fitting(in, dst, fit(in, dyn, dst));
		return;
	}
	if (code & TARGET_CLOSURE) {
		assign(in, dst, closure_entry(in, dst));
		return;
	}
	if (code & TARGET_MAPDIR) {
		apply_map_directory(in, code, word_addr, dst);
		return;
	}
	uint64_t mask;
	if ((code & TARGET_MASKED) &&
	    gm_try_read_u64(in->heap->rt->prog->mem, word_addr + ((code >> 32) & DELTA_MASK), &mask) &&
	    mask < data_size(in, dst) && (mask + 1) * in->t->entries[elem].size <= data_size(in, dst)) {
		apply_group_count(in, dst, elem, mask + 1);
		return;
	}
	if (may_refine(in, elem))
		elem = refine_chan(in, refine_node(in, refine_timer(in, elem), dst), dst);
	if (elem == NO_ENTRY)
		return;
	if (!(code & TARGET_COUNTED)) {
		assign_fitting(in, dst, fit(in, elem, dst));
		return;
	}
	uint64_t cap_delta = (code >> 32) & DELTA_MASK, len_delta = (code >> 44) & DELTA_MASK;
	assign(in, dst, counted(in, elem, word_addr + cap_delta, dst));
	note_slice(in, dst, word_addr, len_delta, cap_delta);
}

/* The worklist visits objects in no useful memory order, so each edge
 * costs cache misses (its target's object record, span and type slot).
 * Fetch ahead in three steps: the edge range of the object 16 places on,
 * its edges 8 places on, its targets' records 4 places on (8, 4 and 2
 * places were too close at 20M objects: 5% more CPU in the spread). */
static void prefetch_spread(const struct infer *in)
{
	const struct gm_graph *g = in->graph;
	size_t head = in->head;
	if (!g->edges)
		return;
	if (head + 16 < in->tail)
		__builtin_prefetch(&g->edge_start[in->queue[head + 16]]);
	if (head + 8 < in->tail)
		__builtin_prefetch(&g->edges[g->edge_start[in->queue[head + 8]]]);
	if (head + 4 < in->tail) {
		uint32_t q = in->queue[head + 4];
		uint64_t end = g->edge_start[q + 1];
		for (uint64_t e = g->edge_start[q]; e < end && e < g->edge_start[q] + 8; e++) {
			__builtin_prefetch(&in->heap->objects[g->edges[e].dst]);
			__builtin_prefetch(&in->t->object_type[g->edges[e].dst]);
		}
	}
}

/* Type the targets of OBJ's edges from OBJ's type. */
static void spread(struct infer *in, uint32_t obj)
{
	const struct gm_graph *g = in->graph;
	uint32_t entry = in->t->object_type[obj];
	const struct gm_type_entry *e = &in->t->entries[entry];
	uint32_t elem = e->elem != NO_ENTRY ? e->elem : entry;
	uint64_t elem_size = in->t->entries[elem].size, data = data_offset(in, obj), subprogram;
	/* A closure has no DWARF type, but its function may lay out its captures. */
	bool closure = !in->t->entries[elem].die && (gm_u64_map_find(&in->closure_funcs, elem, &subprogram) ||
						    gm_u64_map_find(&in->closure_descs, elem, &subprogram));
	if (closure)
		elem_size = data_size(in, obj);
	if (elem_size == 0 || (!has_layout(in, elem) && !closure))
		return;
	uint64_t end = g->edge_start[obj + 1];
	for (uint64_t i = g->edge_start[obj]; i < end; i++) {
		const struct gm_edge *edge = &g->edges[i];
		if (i + 4 < end) {   /* a big array's own edges: fetch ahead too */
			__builtin_prefetch(&in->heap->objects[g->edges[i + 4].dst]);
			__builtin_prefetch(&in->t->object_type[g->edges[i + 4].dst]);
		}
		if (edge->src_off < data)
			continue;
		uint64_t code = slot_target(in, elem, (edge->src_off - data) % elem_size);
		if (!code && elem == entry)
			assign(in, edge->dst, chan_buffer(in, obj, entry, edge->src_off));
		else
			apply_code(in, code, in->heap->objects[obj].addr + edge->src_off, edge->dst, edge->dst_off);
	}
}

static int compare_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static int compare_slice_objects(const void *a, const void *b)
{
	return compare_u32(&((const struct gm_slice_info *)a)->object, &((const struct gm_slice_info *)b)->object);
}

/* Put QUEUE[FROM, TO) (distinct objects) in address order. */
static void sort_level(struct infer *in, size_t from, size_t to)
{
	uint32_t *q = in->queue, lo = UINT32_MAX, hi = 0;
	if (to - from < 2)
		return;
	for (size_t i = from; i < to; i++) {
		lo = q[i] < lo ? q[i] : lo;
		hi = q[i] > hi ? q[i] : hi;
	}
	if ((hi - lo) / 64 > 4 * (to - from)) { /* few and far apart: a bitmap sweep costs more */
		qsort(q + from, to - from, sizeof(*q), compare_u32);
		return;
	}
	for (size_t i = from; i < to; i++)
		in->level_bits[q[i] / 64] |= 1ull << (q[i] % 64);
	size_t out = from;
	for (uint32_t w = lo / 64; w <= hi / 64; w++)
		for (uint64_t bits = in->level_bits[w]; bits; bits &= bits - 1)
			q[out++] = w * 64 + (uint32_t)__builtin_ctzll(bits);
	memset(&in->level_bits[lo / 64], 0, (hi / 64 - lo / 64 + 1) * sizeof(uint64_t));
}

/* Spread types from the queue until it runs dry. The queue is first in,
 * first out, so it holds the objects level by level (the seeds, then what
 * they type, and so on); each level after the seeds is visited in address
 * order, which changes no level and so no object's distance from its
 * evidence, but turns the walk over the edges, objects and their types
 * from random into mostly forward memory access. */
static void spread_all(struct infer *in, struct gm_stage_progress *progress)
{
	size_t level_end = in->tail, released = 0;
	gm_stage_start(progress, "types: objects spread", in->graph->reachable_count);
	while (in->head < in->tail) {
		if (in->head == level_end) {
			level_end = in->tail;
			sort_level(in, in->head, level_end);
		}
		/* Each level reads the core in address order (slice counts,
		 * interface type words): the pages it has read can go. */
		if (in->head - released >= GM_GRAPH_RELEASE_STEP) {
			gm_core_release_pages(in->heap->rt->prog->core);
			released = in->head;
		}
		if (in->head % PROGRESS_STEP == 0)
			gm_stage_set(progress, in->head);
		prefetch_spread(in);
		spread(in, in->queue[in->head++]);
	}
}

/* Stack slots the runtime keeps a pointer in that DWARF does not name
 * (the variable is optimized out of the debug info), from the runtime's
 * source: runtime.gcBgMarkWorker's only pointer slot is its node, a
 * gcBgMarkWorkerNodePadded since Go 1.25 (gcBgMarkWorkerNode before). */
static void seed_unnamed_stack_slot(struct infer *in, const struct gm_root *root)
{
	static const struct {
		const char *frame;              /* "func sp+0x..." */
		const char *types[2];           /* first found in DWARF wins */
	} slots[] = {
		{ "runtime.gcBgMarkWorker sp+", { "runtime.gcBgMarkWorkerNodePadded", "runtime.gcBgMarkWorkerNode" } },
	};
	Dwarf_Die type;
	if (!root->name || !types_target(in, root->dst, (uint32_t)root->dst_off))
		return;
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		if (strncmp(root->name, slots[i].frame, strlen(slots[i].frame)) != 0)
			continue;
		for (size_t k = 0; k < 2; k++)
			if (gm_dwarf_type(in->dw, slots[i].types[k], &type)) {
				assign_fitting(in, root->dst, entry_for_die(in, &type));
				return;
			}
	}
}

/* Seeds: the heap's runtime types (header, largeType), as arrays when the
 * object holds several; then typed roots. */
static void seed(struct infer *in, struct gm_roots *roots, struct gm_stage_progress *progress)
{
	struct gm_heap *heap = in->heap;
	gm_stage_start(progress, "types: objects seeded from their headers", heap->nobjects);
	for (size_t i = 0; i < heap->nobjects; i++) {
		if (i % PROGRESS_STEP == 0)
			gm_stage_set(progress, i);
		if (heap->objects[i].type == GM_NO_TYPE || !in->graph->reachable[i])
			continue;
		/* A runtime type DWARF does not describe (the linker's map bucket
		 * types, say) has no layout to spread from: leave the object to
		 * DWARF evidence first (see name_leftovers). */
		uint32_t elem = entry_for_runtime(in, heap->types[heap->objects[i].type].addr);
		if (elem != NO_ENTRY && has_layout(in, elem))
			assign(in, (uint32_t)i, fit(in, elem, (uint32_t)i));
	}
	/* A root's word is typed by its place in the variable holding it,
	 * as a heap word is by its place in its object. */
	gm_stage_start(progress, "types: roots seeded", roots->count);
	for (size_t r = 0; r < roots->count; r++) {
		gm_stage_set(progress, r);
		struct gm_root *root = &roots->items[r];
		Dwarf_Die var_type;
		if (root->dst == GM_NO_OBJECT)
			continue;
		if (root->var_type_die && gm_dwarf_die_at(in->dw, root->var_type_die, &var_type))
			apply_code(in, word_code(in, &var_type, root->var_off), root->addr, root->dst, (uint32_t)root->dst_off);
		else if (root->kind == GM_ROOT_STACK && in->code_types && !root->frame_trap)
			apply_code(in, frame_word_code(in, root->frame_pc, (int64_t)(root->addr - root->frame_sp),
						       &root->type_name),
				   root->addr, root->dst, (uint32_t)root->dst_off);
		else if (root->kind == GM_ROOT_STACK)
			seed_unnamed_stack_slot(in, root);
		else if (root->kind == GM_ROOT_DATA || root->kind == GM_ROOT_BSS)
			apply_code(in, global_word_code(in, root->addr, &root->type_name), root->addr, root->dst,
				   (uint32_t)root->dst_off);
	}
	if (!in->dw)
		seed_runtime_objects(in, roots);
}

/* Objects still untyped whose header or span named a runtime type get
 * that type (its name is known even where DWARF gives no layout), garbage
 * included: the header is the runtime's own word (view garbage_by_type). */
static void name_leftovers(struct infer *in)
{
	struct gm_heap *heap = in->heap;
	for (size_t i = 0; i < heap->nobjects; i++)
		if (heap->objects[i].type != GM_NO_TYPE && in->t->object_type[i] == NO_ENTRY)
			in->t->object_type[i] = fit(in, heap->objects[i].type, (uint32_t)i);
}

/* The layout of a struct type DWARF does not describe whose pointer words
 * all lie in its first member (1.27's runtime.mPadded, an m and padding,
 * allocated only as new(mPadded).m): that member's DWARF type, 0 if none. */
static Dwarf_Off first_member_layout(struct infer *in, const struct gm_rtype *rt)
{
	const struct gm_runtime *r = in->heap->rt;
	const struct gm_gcmask_layout *l = &r->gcmask;
	if (!l->present || strcmp(gm_kind_name(rt->kind), "struct") != 0)
		return 0;
	const uint8_t *desc = gm_memory_at(r->prog->mem, rt->addr, l->struct_type_size);
	if (!desc || gm_field_uint(desc, l->struct_nfields) == 0)
		return 0;
	const uint8_t *field = gm_memory_at(r->prog->mem, gm_field_uint(desc, l->struct_fields), l->field_size);
	if (!field || gm_field_uint(field, l->field_offset) != 0)
		return 0;
	uint64_t member = gm_field_uint(field, l->field_typ);
	const uint8_t *member_desc = gm_memory_at(r->prog->mem, member, r->type.size);
	Dwarf_Die die;
	if (!member_desc || rt->ptr_bytes > gm_field_uint(member_desc, r->type.size_) ||
	    member < in->heap->moduledata_types ||
	    !gm_dwarf_type_by_runtime_offset(in->dw, member - in->heap->moduledata_types, &die))
		return 0;
	return dwarf_dieoffset(&die);
}

/* The heap's runtime types become the registry's first entries. */
static struct gm_error *import_heap_types(struct infer *in)
{
	const struct gm_heap *heap = in->heap;
	for (size_t i = 0; i < heap->ntypes; i++) {
		const struct gm_rtype *rt = &heap->types[i];
		struct gm_type_entry e = { .name = strdup(rt->name ? rt->name : "?"), .kind = gm_kind_name(rt->kind),
					   .size = rt->size, .ptr_bytes = rt->ptr_bytes, .runtime_addr = rt->addr,
					   .elem = NO_ENTRY };
		Dwarf_Die die;
		uint32_t ret;
		bool own_die = gm_dwarf_type_by_runtime_offset(in->dw, rt->addr - heap->moduledata_types, &die);
		e.die = own_die ? dwarf_dieoffset(&die) : first_member_layout(in, rt);
		if (!e.name || add_entry(in->t, &e, &ret) || gm_u64_map_insert(&in->t->by_runtime, rt->addr, ret) ||
		    (own_die && gm_u64_map_insert(&in->t->by_die, e.die, ret))) {
			free(e.name);
			return &gm_error_nomem;
		}
	}
	return NULL;
}

static void find_itab(struct infer *in)
{
	const struct gm_runtime *rt = in->heap->rt;
	in->have_itab = rt->itab_type.present;
	in->itab_type_offset = rt->itab_type.offset;
	in->have_ptr_elem = rt->ptrtype_elem.present;
	in->ptr_elem_offset = rt->ptrtype_elem.offset;
}

/* The registry with the heap's runtime types and no object typed yet. */
static struct gm_error *types_start(struct infer *in, struct gm_heap *heap)
{
	struct gm_types *t = calloc(1, sizeof(*t));
	if (!t)
		return &gm_error_nomem;
	in->t = t;
	in->heap = heap;
	in->dw = heap->rt->prog->dwarf;
	size_t n = heap->nobjects ? heap->nobjects : 1;
	t->object_type = malloc(n * sizeof(uint32_t));
	if (!t->object_type)
		return &gm_error_nomem;
	memset(t->object_type, 0xff, n * sizeof(uint32_t));
	in->span_room = malloc((heap->nspans ? heap->nspans : 1) * sizeof(*in->span_room));
	if (!in->span_room)
		return &gm_error_nomem;
	for (size_t i = 0; i < heap->nspans; i++) {
		const struct gm_span *s = &heap->spans[i];
		in->span_room[i] = s->size_class == 0 && s->limit > s->base && s->limit <= s->end
					   ? s->limit - s->base
					   : s->elemsize - gm_span_header_size(heap, s);
	}
	return import_heap_types(in);
}

struct gm_error *gm_types_from_headers(struct gm_heap *heap, struct gm_types **ret)
{
	struct infer in = { 0 };
	struct gm_error *err = types_start(&in, heap);
	if (!err)
		for (size_t i = 0; i < heap->nobjects; i++)
			if (heap->objects[i].type != GM_NO_TYPE)
				in.t->object_type[i] = fit(&in, heap->objects[i].type, (uint32_t)i);
	free(in.span_room);
	if (err) {
		gm_types_destroy(in.t);
		return err;
	}
	*ret = in.t;
	return NULL;
}

struct gm_error *gm_types_infer(struct gm_heap *heap, const struct gm_graph *graph, struct gm_roots *roots,
				struct gm_pclntab *pclntab, struct gm_stage_progress *progress, struct gm_types **ret)
{
	struct infer in = { .graph = graph, .pclntab = pclntab, .byte_entry = NO_ENTRY };
	struct gm_error *err = types_start(&in, heap);
	struct gm_types *t = in.t;
	if (!err) {
		/* Each object is queued once, and once more if retyped. */
		in.queue = malloc((heap->nobjects ? 2 * heap->nobjects : 1) * sizeof(uint32_t));
		in.retyped = calloc(heap->nobjects / 64 + 1, sizeof(uint64_t));
		in.level_bits = calloc(heap->nobjects / 64 + 1, sizeof(uint64_t));
		in.noted_slices = calloc(heap->nobjects / 64 + 1, sizeof(uint64_t));
		if (!in.queue || !in.level_bits || !in.noted_slices || !in.retyped)
			err = &gm_error_nomem;
	}
	if (!err)
		err = compute_span_flags(&in);
	if (!err && !in.dw && heap->rt->prog->exe) {
		gm_stage_start(progress, "types: globals' types read from the code", 0);
		uint64_t bias = heap->rt->prog->bias;
		err = gm_code_types_find(heap->rt->prog->exe, heap->rt->prog->layouts, heap->moduledata_types - bias,
					 heap->moduledata_etypes - bias, &in.code_types);
		if (!err)
			learn_code_descriptors(&in);
	}
	if (!err) {
		find_itab(&in);
		seed(&in, roots, progress);
		spread_all(&in, progress);
		gm_stage_end(progress);
		name_leftovers(&in);
		/* In object order: the slices table, keyed by object id, is then
		 * appended to rather than inserted into at random (20M objects,
		 * 1.1M slices: 0.8 -> 0.1 s). */
		qsort(t->slices, t->nslices, sizeof(*t->slices), compare_slice_objects);
		for (size_t i = 0; i < heap->nobjects; i++) {
			if (!graph->reachable[i])
				continue;
			uint64_t size = gm_object_size(heap, &heap->objects[i]);
			t->reachable_bytes += size;
			if (t->object_type[i] != NO_ENTRY)
				t->typed_reachable_bytes += size;
		}
	}
	if (in.code_types) {
		t->globals_typed_by_code = in.code_types->n;
		t->global_type_conflicts = in.code_types->conflicts;
		gm_code_types_destroy(in.code_types);
	}
	free(in.queue);
	free(in.level_bits);
	gm_u64_map_free(&in.slot_cache);
	free(in.noted_slices);
	free(in.retyped);
	gm_u64_map_free(&in.closures);
	gm_u64_map_free(&in.made_by_desc);
	gm_u64_map_free(&in.made_layouts);
	gm_u64_map_free(&in.by_shape);
	gm_u64_map_free(&in.closure_funcs);
	gm_u64_map_free(&in.closure_descs);
	gm_u64_map_free(&in.desc_by_name);
	gm_u64_map_free(&in.trie_indirect);
	free(in.span_flags);
	free(in.span_room);
	free(in.refinable);
	if (err) {
		gm_types_destroy(t);
		return err;
	}
	*ret = t;
	return NULL;
}

void gm_types_destroy(struct gm_types *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->count; i++)
		free(t->entries[i].name);
	free(t->entries);
	free(t->object_type);
	free(t->slices);
	gm_u64_map_free(&t->by_die);
	gm_u64_map_free(&t->by_runtime);
	gm_u64_map_free(&t->by_array);
	gm_warnings_free(&t->warnings);
	free(t);
}

uint32_t gm_types_by_die(const struct gm_types *t, Dwarf_Off off)
{
	uint64_t index;
	return gm_u64_map_find(&t->by_die, off, &index) ? (uint32_t)index : NO_ENTRY;
}

struct gm_error *gm_types_add_member_types(struct gm_types *t, struct gm_heap *heap)
{
	struct infer in = { .t = t, .heap = heap, .dw = heap->rt->prog->dwarf };
	size_t n = t->count;
	for (size_t i = 0; i < n; i++) {
		Dwarf_Die type, child, member_type;
		Dwarf_Attribute attr;
		if (!t->entries[i].die || !gm_dwarf_die_at(in.dw, t->entries[i].die, &type) ||
		    dwarf_tag(&type) != DW_TAG_structure_type || dwarf_child(&type, &child) != 0)
			continue;
		do {
			if (dwarf_tag(&child) == DW_TAG_member && dwarf_attr(&child, DW_AT_type, &attr) &&
			    dwarf_formref_die(&attr, &member_type) && entry_for_die(&in, &member_type) == NO_ENTRY)
				return &gm_error_nomem;
		} while (dwarf_siblingof(&child, &child) == 0);
	}
	return NULL;
}
