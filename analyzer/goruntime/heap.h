/* heap: every span and every allocated object of the Go heap.
 *
 * Walks mheap_.allspans; keeps in-use spans (the GC'd heap) and manual
 * spans (goroutine stacks and other runtime-managed memory).  An in-use
 * span's slot i is allocated when i < freeindex or its allocBits bit is set
 * (mspan.isFree); each allocated slot is one object: a tiny-allocator block
 * is one 16-byte object, a large span one object.  Objects are sorted by
 * address and numbered densely from 0; per-object state is 16 bytes.
 */
#ifndef GOMORTEM_HEAP_H
#define GOMORTEM_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"
#include "../util/u64_map.h"
#include "../util/warnings.h"
#include "binding.h"

#define GM_NO_TYPE UINT32_MAX

enum gm_span_state {
	GM_SPAN_IN_USE,      /* mSpanInUse: heap objects */
	GM_SPAN_MANUAL,      /* mSpanManual: stacks and other manually managed memory */
};

struct gm_span {
	uint64_t mspan_addr;         /* the runtime.mspan descriptor */
	uint64_t base, end;          /* [base, base + npages*pageSize) */
	uint64_t limit;              /* mspan.limit: end of the object area */
	uint64_t npages;
	uint64_t elemsize;
	uint64_t large_type;         /* mspan.largeType (size class 0), 0 if none */
	uint32_t nelems, freeindex;
	uint32_t runtime_alloc_count; /* mspan.allocCount */
	uint32_t alloc_count;        /* allocated slots found by the walk */
	uint32_t first_object;       /* index of its first object */
	uint64_t first_slot;         /* index of its first slot in gm_heap.slot_object */
	uint8_t size_class, noscan, state;
};

struct gm_object {
	uint64_t addr;               /* start of the heap slot */
	uint32_t span;               /* index into spans */
	uint32_t type;               /* index into types, GM_NO_TYPE if unknown */
};

/* A runtime type descriptor (abi.Type) that some object's header or span names. */
struct gm_rtype {
	uint64_t addr;               /* address of the abi.Type */
	char *name;                  /* Go spelling, from the descriptor's name */
	uint64_t size, ptr_bytes, gcdata;
	uint8_t *built_mask;         /* an on-demand GC mask the runtime never built, built here */
	uint8_t kind, tflag;
};

struct gm_heap {
	struct gm_runtime *rt;
	struct gm_span *spans;       /* sorted by base */
	size_t nspans, nspans_in_use;
	struct gm_object *objects;   /* sorted by addr */
	size_t nobjects;
	uint64_t object_bytes;
	struct gm_rtype *types;
	size_t ntypes, types_cap;
	struct gm_u64_map type_index; /* descriptor address -> index into types */
	uint64_t moduledata_types;   /* base for abi.Name offsets */
	uint64_t moduledata_etypes;  /* end of the type descriptors (and itabs) */
	uint32_t gc_masks_built;     /* on-demand GC masks found unbuilt in the core and built here */
	/* Address -> object in O(1): the span of each heap page, and for each
	 * slot of an in-use span its object (or GM_NO_OBJECT_SLOT if free). */
	struct gm_u64_map page_span;  /* page number -> span index */
	/* The same as a flat array over [page_first, page_first + npage_flat)
	 * (UINT32_MAX: no span) when the heap's pages lie close enough
	 * together; NULL otherwise (page_span alone answers). */
	uint32_t *page_flat;
	uint64_t page_first, npage_flat;
	uint32_t *slot_object;
	uint64_t nslots;
	/* Problems met and walked past (corrupt spans, unreadable bitmaps...). */
	struct gm_warnings warnings;
};

/* Walk the heap of RT's program. */
struct gm_error *gm_heap_walk(struct gm_runtime *rt, struct gm_heap **ret);

void gm_heap_destroy(struct gm_heap *heap);

/* Size of an object: its span's element size (the span's size for large objects). */
static inline uint64_t gm_object_size(const struct gm_heap *heap, const struct gm_object *obj)
{
	return heap->spans[obj->span].elemsize;
}

/* Bytes of malloc header at the start of each slot of S (Go 1.22+: scan
 * spans of objects over minSizeForMallocHeader hold the type pointer
 * there); 0 when its objects have none.  A value starts this far in. */
static inline uint64_t gm_span_header_size(const struct gm_heap *heap, const struct gm_span *s)
{
	const struct gm_runtime *rt = heap->rt;
	return rt->alloc_headers && s->state == GM_SPAN_IN_USE && !s->noscan && s->size_class != 0 &&
	       s->elemsize > rt->min_size_for_malloc_header ? rt->malloc_header_size : 0;
}

/* Bytes of OBJ that hold data: the slot minus its header; for a large
 * object, up to mspan.limit (the size asked for). */
static inline uint64_t gm_object_data_size(const struct gm_heap *heap, const struct gm_object *obj)
{
	const struct gm_span *s = &heap->spans[obj->span];
	if (s->size_class == 0 && s->limit > s->base && s->limit <= s->end)
		return s->limit - s->base;
	return s->elemsize - gm_span_header_size(heap, s);
}

/* The object whose slot contains ADDR: its index in RET; false if ADDR is
 * not inside an allocated object. */
bool gm_heap_find_object(const struct gm_heap *heap, uint64_t addr, uint32_t *ret);

/* The same, and ADDR's offset from the start of the object's slot in
 * OFFSET (computed from the span: the object's record is not read). */
bool gm_heap_find_slot(const struct gm_heap *heap, uint64_t addr, uint32_t *ret, uint64_t *offset);

/* Call FN for every special (mspan.specials: finalizers, profile records,
 * weak handles, cleanups...) of every in-use span of HEAP: S its span,
 * SPECIAL its address, P its first GM_SPECIAL_BYTES bytes, ARG as given.
 * A list that runs into unsaved memory or longer than its span could hold
 * (a cycle) is cut with a warning in W.  Stops at FN's first error. */
#define GM_SPECIAL_BYTES 64
typedef struct gm_error *(*gm_special_fn)(const struct gm_span *s, uint64_t special, const uint8_t *p, void *arg);
struct gm_error *gm_heap_each_special(const struct gm_heap *heap, struct gm_warnings *w, gm_special_fn fn,
				      void *arg);

/* Name of an abi.Type kind (Kind_ & 0x1f), "invalid" if out of range. */
const char *gm_kind_name(unsigned kind);
/* Whether NAME (a gm_kind_name) is a kind that holds no pointer: bool,
 * the integers, uintptr, floats and complexes. */
bool gm_kind_name_is_scalar(const char *name);

/* The Go spelling of the runtime type descriptor at ADDR (malloc'd), NULL
 * if unreadable. */
char *gm_heap_type_name(struct gm_heap *heap, uint64_t addr);

/* Record a warning of the heap stage (counted; the first messages kept). */
#define gm_heap_warn(heap, ...) gm_warn(&(heap)->warnings, __VA_ARGS__)

#endif
