/* runtime_objects: without DWARF, the runtime's own objects whose type the
 * runtime itself fixes, where no global's declared type can say it:
 * - every runtime.allgs[i] is a runtime.g (malg's new(g)), and allgs'
 *   backing array holds *runtime.g;
 * - runtime.m0 and runtime.g0 are a runtime.m and a runtime.g (declared
 *   so in proc.go): the pointer words the GC masks mark in them are typed
 *   by their place in those types, as a heap object's words are.
 * The descriptors of runtime.m, *runtime.g and runtime.g are the program's
 * own: an m on the heap names runtime.m in its malloc header (new(m), or
 * new(mPadded) whose first field is the m), and its curg field, at the
 * offset the layout table gives, is a *runtime.g.  m0 is the m of the
 * runtime.allm list that is no heap object; g0 is m0.g0. */
#include <string.h>

#include "../goruntime/heap.h"
#include "../goruntime/roots.h"
#include "../program/program.h"
#include "descriptors.h"
#include "graph.h"
#include "typeinfer_internal.h"

/* runtime.allm has a handful of entries; more is a loop in a corrupt list. */
#define MAX_MS 100000

struct runtime_types {
	uint64_t m, g_ptr, g;          /* descriptors of runtime.m, *runtime.g, runtime.g */
};

/* Whether the descriptor at DESC has the size the layout table gives. */
static bool has_size(const struct gm_runtime *rt, uint64_t desc, uint64_t size)
{
	struct gm_desc d;
	return gm_desc_read(rt, desc, &d) && d.size == size;
}

/* The runtime.m descriptor, from the heap's runtime types; 0 if no m is on the heap. */
static uint64_t m_descriptor(const struct gm_heap *heap)
{
	const struct gm_runtime *rt = heap->rt;
	for (size_t i = 0; i < heap->ntypes; i++) {
		const struct gm_rtype *t = &heap->types[i];
		uint64_t first;
		if (!t->name)
			continue;
		if (strcmp(t->name, "runtime.m") == 0 && has_size(rt, t->addr, rt->m.size))
			return t->addr;
		if (strcmp(t->name, "runtime.mPadded") == 0 && gm_desc_field_type(rt, t->addr, 0, &first) &&
		    has_size(rt, first, rt->m.size))
			return first;
	}
	return 0;
}

static bool find_runtime_types(const struct gm_heap *heap, struct runtime_types *ret)
{
	const struct gm_runtime *rt = heap->rt;
	struct gm_desc d;
	ret->m = m_descriptor(heap);
	return ret->m && rt->m.curg.present && rt->ptrtype_elem.present &&
	       gm_desc_field_type(rt, ret->m, rt->m.curg.offset, &ret->g_ptr) && gm_desc_read(rt, ret->g_ptr, &d) &&
	       d.kind == KIND_POINTER && gm_try_read_u64(rt->prog->mem, ret->g_ptr + rt->ptrtype_elem.offset, &ret->g) &&
	       has_size(rt, ret->g, rt->g.size);
}

/* Type the object ADDR points at as ENTRY (fitted), if ADDR is its data start. */
static void type_pointee(struct infer *in, uint64_t addr, uint32_t entry, bool fitted)
{
	uint32_t obj;
	uint64_t off;
	if (entry == NO_ENTRY || !addr || !gm_heap_find_slot(in->heap, addr, &obj, &off) ||
	    !in->graph->reachable[obj] || !types_target(in, obj, (uint32_t)off))
		return;
	assign_fitting(in, obj, fitted ? fit(in, entry, obj) : entry);
}

/* allgs: its backing array and every goroutine in it. */
static void seed_allgs(struct infer *in, const struct runtime_types *types)
{
	struct gm_address_space *mem = in->heap->rt->prog->mem;
	uint64_t array, len, cap, g;
	uint64_t at = in->heap->rt->allgs_addr;
	if (!at || !gm_try_read_u64(mem, at, &array) || !gm_try_read_u64(mem, at + 8, &len) ||
	    !gm_try_read_u64(mem, at + 16, &cap) || len > cap)
		return;
	type_pointee(in, array, entry_for_runtime(in, types->g_ptr), true);
	uint32_t g_entry = entry_for_runtime(in, types->g);
	for (uint64_t i = 0; i < len; i++)
		if (gm_try_read_u64(mem, array + 8 * i, &g))
			type_pointee(in, g, g_entry, false);
}

/* m0: the m of runtime.allm that is no heap object; 0 if none. */
static uint64_t find_m0(const struct gm_heap *heap)
{
	const struct gm_runtime *rt = heap->rt;
	uint64_t m;
	uint32_t obj;
	if (!rt->allm_addr || !rt->m.alllink.present || !gm_try_read_u64(rt->prog->mem, rt->allm_addr, &m))
		return 0;
	for (size_t n = 0; m && n < MAX_MS; n++) {
		if (!gm_heap_find_object(heap, m, &obj))
			return m;
		if (!gm_try_read_u64(rt->prog->mem, m + rt->m.alllink.offset, &m))
			return 0;
	}
	return 0;
}

/* The roots whose words lie in [BASE, BASE + SIZE), a value of ENTRY's type. */
static void seed_global_value(struct infer *in, const struct gm_roots *roots, uint64_t base, uint64_t size,
			      uint32_t entry)
{
	if (!base || entry == NO_ENTRY)
		return;
	for (size_t r = 0; r < roots->count; r++) {
		const struct gm_root *root = &roots->items[r];
		if ((root->kind != GM_ROOT_DATA && root->kind != GM_ROOT_BSS) || root->dst == GM_NO_OBJECT ||
		    root->addr < base || root->addr - base >= size)
			continue;
		apply_code(in, slot_target(in, entry, root->addr - base), root->addr, root->dst, (uint32_t)root->dst_off);
	}
}

void seed_runtime_objects(struct infer *in, const struct gm_roots *roots)
{
	const struct gm_runtime *rt = in->heap->rt;
	struct runtime_types types;
	uint64_t g0 = 0;
	if (!find_runtime_types(in->heap, &types))
		return;
	seed_allgs(in, &types);
	uint64_t m0 = find_m0(in->heap);
	if (!m0)
		return;
	seed_global_value(in, roots, m0, rt->m.size, entry_for_runtime(in, types.m));
	if (rt->m.g0.present && gm_try_read_u64(rt->prog->mem, m0 + rt->m.g0.offset, &g0))
		seed_global_value(in, roots, g0, rt->g.size, entry_for_runtime(in, types.g));
}
