/* typeregistry: the type entries inference works with, one per DWARF type,
 * runtime type descriptor or array of either, made on first use and found
 * again by DIE offset, descriptor address or (element, count). */
#include <dwarf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../dwarf/dwarf_index.h"
#include "../goruntime/heap.h"
#include "descriptors.h"
#include "typeinfer.h"
#include "typeinfer_internal.h"

struct gm_error *add_entry(struct gm_types *t, const struct gm_type_entry *e, uint32_t *ret)
{
	if (t->count == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		void *grown = realloc(t->entries, cap * sizeof(*t->entries));
		if (!grown)
			return &gm_error_nomem;
		t->entries = grown;
		t->cap = cap;
	}
	t->entries[t->count] = *e;
	*ret = (uint32_t)t->count++;
	return NULL;
}

/* Go emits a named struct as a DW_TAG_typedef of the same name over the
 * DW_TAG_structure_type that has the members and DW_AT_go_kind: use the
 * struct.  (Map, chan and interface typedefs name something else: kept.) */
static void canonical_die(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	Dwarf_Die target;
	const char *name = dwarf_diename(die), *target_name;
	if (dwarf_tag(die) == DW_TAG_typedef && name && dwarf_attr(die, DW_AT_type, &attr) &&
	    dwarf_formref_die(&attr, &target) && (target_name = dwarf_diename(&target)) != NULL &&
	    strcmp(name, target_name) == 0)
		*die = target;
}

/* Entry E is the type of the runtime descriptor at ADDR: its address and
 * PtrBytes (DWARF has no PtrBytes). */
static void describe_by_runtime(struct infer *in, struct gm_type_entry *e, uint64_t addr)
{
	struct gm_desc d;
	e->runtime_addr = addr;
	if (gm_desc_read(in->heap->rt, addr, &d) && d.size == e->size)
		e->ptr_bytes = d.ptr_bytes;
}

/* The runtime descriptor DWARF names for DIE (DW_AT_go_runtime_type, an
 * offset from moduledata.types), 0 if none. */
static uint64_t die_descriptor(struct infer *in, Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	Dwarf_Addr off;
	if (!in->heap->moduledata_types || !dwarf_attr(die, GM_DW_AT_go_runtime_type, &attr) ||
	    dwarf_formaddr(&attr, &off) != 0)
		return 0;
	return in->heap->moduledata_types + off;
}

/* The entry of the DWARF type DIE, made on first use. */
uint32_t entry_for_die(struct infer *in, Dwarf_Die *die_in)
{
	struct gm_types *t = in->t;
	uint64_t index;
	Dwarf_Die canonical = *die_in, *die = &canonical;
	canonical_die(die);
	Dwarf_Off off = dwarf_dieoffset(die);
	if (gm_u64_map_find(&t->by_die, off, &index))
		return (uint32_t)index;
	int kind = gm_dwarf_go_kind(die);
	struct gm_type_entry e = { .name = strdup(gm_dwarf_type_name(die)),
				   .kind = kind >= 0 ? gm_kind_name((unsigned)kind & 0x1f) : "unknown",
				   .die = off, .elem = NO_ENTRY };
	gm_dwarf_type_size(die, &e.size);
	uint64_t desc = die_descriptor(in, die);
	if (!desc)
		desc = die_descriptor(in, die_in);
	if (desc)
		describe_by_runtime(in, &e, desc);
	uint32_t ret;
	if (!e.name || add_entry(t, &e, &ret) || gm_u64_map_insert(&t->by_die, off, ret)) {
		free(e.name);
		return NO_ENTRY;
	}
	return ret;
}

/* A DWARF type for a runtime type descriptor DW_AT_go_runtime_type does
 * not name (the linker leaves it off some unnamed types, string among
 * them): the type of the same Go spelling, if DWARF has one. */
static bool die_by_runtime_name(struct infer *in, uint64_t addr, Dwarf_Die *ret)
{
	char *name = gm_heap_type_name(in->heap, addr);
	bool found = name && gm_dwarf_type(in->dw, name, ret);
	free(name);
	return found;
}

/* Add an entry made here (no DWARF type, no descriptor); NO_ENTRY if out of memory. */
uint32_t add_made_entry(struct infer *in, struct gm_type_entry *e)
{
	uint32_t ret;
	if (!e->name || add_entry(in->t, e, &ret)) {
		free(e->name);
		return NO_ENTRY;
	}
	return ret;
}

/* Without DWARF: the entry of the descriptor at ADDR, named as Go prints it. */
static uint32_t entry_from_descriptor(struct infer *in, uint64_t addr)
{
	struct gm_desc d;
	if (!gm_desc_read(in->heap->rt, addr, &d))
		return NO_ENTRY;
	struct gm_type_entry e = { .name = gm_heap_type_name(in->heap, addr), .kind = gm_kind_name(d.kind),
				   .size = d.size, .ptr_bytes = d.ptr_bytes, .runtime_addr = addr, .elem = NO_ENTRY };
	uint32_t ret = add_made_entry(in, &e);
	if (ret != NO_ENTRY && gm_u64_map_insert(&in->t->by_runtime, addr, ret))
		return NO_ENTRY;
	return ret;
}

/* The entry of the runtime type descriptor at ADDR: the heap's own entry if
 * it named it, else one made from DWARF (DW_AT_go_runtime_type, or the
 * type of the same name), or without DWARF from the descriptor itself. */
uint32_t entry_for_runtime(struct infer *in, uint64_t addr)
{
	uint64_t index;
	Dwarf_Die die;
	if (gm_u64_map_find(&in->t->by_runtime, addr, &index))
		return (uint32_t)index;
	if (!in->dw)
		return addr >= in->heap->moduledata_types ? entry_from_descriptor(in, addr) : NO_ENTRY;
	if (addr < in->heap->moduledata_types ||
	    (!gm_dwarf_type_by_runtime_offset(in->dw, addr - in->heap->moduledata_types, &die) &&
	     !die_by_runtime_name(in, addr, &die)))
		return NO_ENTRY;
	uint32_t e = entry_for_die(in, &die);
	if (e != NO_ENTRY) {
		describe_by_runtime(in, &in->t->entries[e], addr);
		gm_u64_map_insert(&in->t->by_runtime, addr, e);
	}
	return e;
}

uint32_t gm_types_array_of(struct gm_types *t, uint32_t elem, uint64_t count)
{
	uint64_t key = (uint64_t)elem << 40 | (count & ((1ull << 40) - 1)), index;
	if (gm_u64_map_find(&t->by_array, key, &index))
		return (uint32_t)index;
	const struct gm_type_entry *el = &t->entries[elem];
	struct gm_type_entry e = { .kind = "array", .size = el->size * count, .elem = elem, .count = count };
	if (asprintf(&e.name, "[%" PRIu64 "]%s", count, el->name) < 0)
		return NO_ENTRY;
	uint32_t ret;
	if (add_entry(t, &e, &ret) || gm_u64_map_insert(&t->by_array, key, ret)) {
		free(e.name);
		return NO_ENTRY;
	}
	return ret;
}

uint32_t array_of(struct infer *in, uint32_t elem, uint64_t count)
{
	return gm_types_array_of(in->t, elem, count);
}
