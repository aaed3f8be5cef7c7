/* pointers: which words of a heap object can hold pointers, as the
 * runtime's own typePointersOfUnchecked/next (mbitmap.go, Go 1.22+) says:
 * heap bits at the end of small scan spans, the malloc header's type for
 * objects over minSizeForMallocHeader, mspan.largeType for large objects;
 * a type's GC mask is tiled every Size_ bytes up to the end of the slot.
 * Go 1.20/1.21 keep one bit per heap word in the heap arena's bitmap
 * instead, read as heapBitsForAddr/next do (with noMorePtrs). */
#ifndef GOMORTEM_POINTERS_H
#define GOMORTEM_POINTERS_H

#include <stddef.h>
#include <stdint.h>

#include "heap.h"

/* How the pointer words of an object are known. */
enum gm_pointer_source {
	GM_POINTERS_NONE,         /* noscan span: no pointers */
	GM_POINTERS_SPAN_BITS,    /* heap bits at the end of the span */
	GM_POINTERS_HEADER,       /* the malloc header's type */
	GM_POINTERS_LARGE_TYPE,   /* mspan.largeType */
	GM_POINTERS_ARENA_BITMAP, /* heapArena.bitmap (Go 1.20/1.21) */
	GM_POINTERS_UNKNOWN,      /* bitmap or type not readable: counted, never guessed */
};

/* Per-span facts needed to find pointer words, computed once per span. */
struct gm_span_pointers {
	const uint8_t *heap_bits; /* the span's heap bits (small scan spans) or NULL */
	const uint8_t *slots;     /* the span's memory or NULL */
	/* Go 1.20/1.21: the heap arena holding the span's start, looked up once
	 * per span and per caller (the edge threads share the heap, not this). */
	uint64_t arena_index;     /* its index in mheap_.arenas */
	uint64_t arena;           /* its heapArena descriptor, 0 if none */
};

/* Prepare SPAN for gm_object_pointers(). */
void gm_span_pointers_init(struct gm_heap *heap, const struct gm_span *span, struct gm_span_pointers *ret);

/* Write the byte offsets (from the slot start) of OBJ's pointer words to
 * OFFSETS, which has room for size/8 entries; *RET_COUNT gets the count. */
enum gm_pointer_source gm_object_pointers(struct gm_heap *heap, const struct gm_span_pointers *sp,
					  const struct gm_object *obj, uint32_t *offsets, size_t *ret_count);

/* The GC mask of the type descriptor at TYPE_ADDR (one bit per word of its
 * first PtrBytes, LSB first) and its Size_/PtrBytes; NULL if unreadable, or
 * a GC program (before 1.24) rather than a mask.
 * An on-demand mask the runtime never built was built by the heap walk. */
const uint8_t *gm_type_pointer_mask(struct gm_heap *heap, uint64_t type_addr, uint64_t *ret_size,
				    uint64_t *ret_ptr_bytes);

#endif
