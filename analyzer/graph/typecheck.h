/* typecheck: typing's own oracle.  For every typed object whose pointer
 * words the runtime keeps (heap bits of small objects, malloc headers,
 * mspan.largeType, Go 1.20/1.21's heap arena bitmap; none at all in a noscan
 * span), the words its assigned type says can hold pointers (from DWARF, or
 * without DWARF from the type's descriptor; a [n]T repeats T's) must be the
 * runtime's, over the whole typed extent.  An object whose type disagrees
 * is typed as something it is not. */
#ifndef GOMORTEM_TYPECHECK_H
#define GOMORTEM_TYPECHECK_H

#include <stdint.h>

#include "../util/error.h"

struct gm_heap;
struct gm_types;

struct gm_type_check {
	uint64_t checked;     /* typed objects compared with the runtime's bitmap */
	uint64_t disagree;    /* of them, with other pointer words than the bitmap */
	uint64_t fitted;      /* of them, arrays whose count the bitmap corrected */
	uint64_t untyped;     /* of the disagreeing ones, inferred types dropped (a malloc
				 header's or largeType's own type is kept: disagree - untyped) */
	uint64_t unchecked;   /* typed objects not compared: the type's pointer words or
				 the object's bitmap unknown (a closure, an unreadable span) */
	uint8_t *contradicted; /* per object: 1 if its inferred type was dropped (NULL if none) */
	char *worst;          /* "TYPE xCOUNT (0xADDR); ..." the most disagreeing types
				 first, ten at most; NULL if none disagree */
};

/* Compare every typed object of HEAP with the runtime's bitmap.  An array
 * typing made whose count the bitmap contradicts (the runtime wrote bits
 * for fewer elements) takes the bitmap's count (fitted); any other inferred
 * type the bitmap contradicts becomes unknown (untyped), its bytes taken off
 * the typed reachable bytes (REACHABLE: per object, 1 if reachable). */
struct gm_error *gm_types_check_bitmap(struct gm_heap *heap, struct gm_types *types, const uint8_t *reachable,
				       struct gm_type_check *ret);

void gm_type_check_free(struct gm_type_check *c);

#endif
