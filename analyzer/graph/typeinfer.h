/* typeinfer: a type for every reachable object, spread from what is known.
 *
 * Seeds: objects whose malloc header or large span names a runtime type
 * (the runtime's own evidence, never overridden), and objects that a typed
 * root points at (a DWARF global or stack variable of pointer type).  From a
 * typed object, each pointer word's static type (a struct member, an array
 * element) types its target: *T gives T, or [n]T when the target holds n of
 * them (slice and map backing arrays, string bytes); an interface's data
 * word gets the dynamic type its type word (or itab) names.  A target
 * already typed differently is a conflict: counted, first typing kept.
 *
 * The registry unifies runtime type descriptors, DWARF types and the array
 * types made here; its first entries are the heap's own runtime types, in
 * the same order, so heap type indexes stay valid.
 */
#ifndef GOMORTEM_TYPEINFER_H
#define GOMORTEM_TYPEINFER_H

#include <elfutils/libdw.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"
#include "../util/u64_map.h"
#include "../util/warnings.h"

struct gm_heap;
struct gm_pclntab;
struct gm_graph;
struct gm_stage_progress;
struct gm_roots;

struct gm_type_entry {
	char *name;            /* Go spelling */
	const char *kind;      /* "struct", "ptr", "array", ... */
	uint64_t size;         /* bytes of one value; 0 if unknown */
	uint64_t ptr_bytes;    /* from the runtime descriptor; 0 if unknown */
	uint64_t runtime_addr; /* abi.Type address; 0 if none */
	Dwarf_Off die;         /* DWARF type; 0 if none */
	uint32_t elem;         /* arrays made here: element entry, else UINT32_MAX */
	uint64_t count;        /* arrays made here: element count */
};

struct gm_types {
	struct gm_type_entry *entries;
	size_t count, cap;
	struct gm_u64_map by_die, by_runtime, by_array;
	uint32_t *object_type;     /* per object: entry, UINT32_MAX if unknown */
	/* Slice backing arrays typed through a slice header: its len and cap,
	 * in object order. */
	struct gm_slice_info { uint32_t object; uint64_t len, cap; } *slices;
	size_t nslices, slices_cap;
	uint64_t conflicts;        /* targets typed differently by two pieces of evidence
				      (meta.type_conflicts; an ordinary statistic, not a warning:
				      a tiny block or a union-like reuse gets several) */
	uint64_t typed_reachable_bytes, reachable_bytes;
	/* Without DWARF: global words the code types (code_types.h), and those
	 * its facts disagree on (left untyped). */
	uint64_t globals_typed_by_code, global_type_conflicts;
	struct gm_warnings warnings;
};

/* Type the objects of HEAP (after marking).  PCLNTAB names the functions
 * closures call where the executable has no symbol table (-s); it and
 * PROGRESS (objects seeded, then spread) may be NULL.  Without DWARF, the
 * global ROOTS whose type the code says (code_types.h) get its name. */
struct gm_error *gm_types_infer(struct gm_heap *heap, const struct gm_graph *graph, struct gm_roots *roots,
				struct gm_pclntab *pclntab, struct gm_stage_progress *progress, struct gm_types **ret);

/* Only the runtime's own evidence: objects whose malloc header or large
 * span names a type get it (fitted as [n]T when n of them fill the slot);
 * for an analysis that stops after the heap walk (no graph). */
struct gm_error *gm_types_from_headers(struct gm_heap *heap, struct gm_types **ret);

/* Add entries for the member types of every struct entry (one level), so
 * the fields table can name them. */
struct gm_error *gm_types_add_member_types(struct gm_types *types, struct gm_heap *heap);

/* The entry of [COUNT]ELEM, made on first use; UINT32_MAX if out of memory. */
uint32_t gm_types_array_of(struct gm_types *t, uint32_t elem, uint64_t count);

/* The entry of the DWARF type at DIE offset OFF, or UINT32_MAX. */
uint32_t gm_types_by_die(const struct gm_types *types, Dwarf_Off off);

void gm_types_destroy(struct gm_types *types);

#endif
