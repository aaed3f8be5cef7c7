/* runtime_objects: without DWARF, the runtime's own objects whose type the
 * runtime itself fixes, where no global's declared type can say it:
 * - every runtime.allgs[i] is a runtime.g (malg's new(g)), and allgs'
 *   backing array holds *runtime.g;
 * - every m of the runtime.allm list is a runtime.m (allocm's new(m));
 * - every runtime.allp[i] is a runtime.p (procresize's new(p));
 * - runtime.m0 and runtime.g0 are a runtime.m and a runtime.g (declared
 *   so in proc.go): the pointer words the GC masks mark in them are typed
 *   by their place in those types, as a heap object's words are.
 * The descriptors of runtime.m, *runtime.g, runtime.g and runtime.p are the
 * program's own: an m on the heap names runtime.m in its malloc header
 * (new(m), or new(mPadded) whose first field is the m; before Go 1.22,
 * which has no headers, the descriptor allocm passes to new, found by its
 * name among those the code passes to new), and its curg field, at the
 * offset the layout table gives, is a *runtime.g; runtime.p is the one
 * procresize passes to new.  m0 is the m of the runtime.allm list that is
 * no heap object; g0 is m0.g0. */
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
	uint64_t p;                    /* runtime.p's; 0 if the code names none */
};

/* Whether the descriptor at DESC has the size the layout table gives. */
static bool has_size(const struct gm_runtime *rt, uint64_t desc, uint64_t size)
{
	struct gm_desc d;
	return gm_desc_read(rt, desc, &d) && d.size == size;
}

/* The runtime.m descriptor, from the heap's runtime types, else the
 * code's; 0 if neither names it. */
static uint64_t m_descriptor(struct infer *in)
{
	const struct gm_heap *heap = in->heap;
	const struct gm_runtime *rt = heap->rt;
	uint64_t named = descriptor_named(in, "runtime.m");
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
	return named && has_size(rt, named, rt->m.size) ? named : 0;
}

static bool find_runtime_types(struct infer *in, struct runtime_types *ret)
{
	const struct gm_runtime *rt = in->heap->rt;
	struct gm_desc d;
	ret->p = descriptor_named(in, "runtime.p");
	ret->m = m_descriptor(in);
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

/* allp: every p in it (its backing array's type, []*p, the code's makeslice shows). */
static void seed_allp(struct infer *in, const struct runtime_types *types)
{
	struct gm_address_space *mem = in->heap->rt->prog->mem;
	uint64_t array, len, cap, p, at = in->heap->rt->allp_addr;
	uint32_t p_entry = types->p ? entry_for_runtime(in, types->p) : NO_ENTRY;
	if (p_entry == NO_ENTRY || !at || !gm_try_read_u64(mem, at, &array) || !gm_try_read_u64(mem, at + 8, &len) ||
	    !gm_try_read_u64(mem, at + 16, &cap) || len > cap)
		return;
	for (uint64_t i = 0; i < len; i++)
		if (gm_try_read_u64(mem, array + 8 * i, &p))
			type_pointee(in, p, p_entry, false);
}

/* Walk runtime.allm: type each m on the heap as M_ENTRY (NO_ENTRY: none);
 * the m that is no heap object (m0), 0 if none. */
static uint64_t walk_allm(struct infer *in, uint32_t m_entry)
{
	const struct gm_runtime *rt = in->heap->rt;
	uint64_t m, m0 = 0;
	uint32_t obj;
	if (!rt->allm_addr || !rt->m.alllink.present || !gm_try_read_u64(rt->prog->mem, rt->allm_addr, &m))
		return 0;
	for (size_t n = 0; m && n < MAX_MS; n++) {
		if (!gm_heap_find_object(in->heap, m, &obj))
			m0 = m0 ? m0 : m;
		else if (m_entry != NO_ENTRY)
			type_pointee(in, m, m_entry, false);
		if (!gm_try_read_u64(rt->prog->mem, m + rt->m.alllink.offset, &m))
			break;
	}
	return m0;
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
	if (!find_runtime_types(in, &types))
		return;
	seed_allgs(in, &types);
	seed_allp(in, &types);
	uint32_t m_entry = entry_for_runtime(in, types.m);
	uint64_t m0 = walk_allm(in, m_entry);
	if (!m0)
		return;
	seed_global_value(in, roots, m0, rt->m.size, m_entry);
	if (rt->m.g0.present && gm_try_read_u64(rt->prog->mem, m0 + rt->m.g0.offset, &g0))
		seed_global_value(in, roots, g0, rt->g.size, entry_for_runtime(in, types.g));
}
