/* untyped: why the reachable objects typing left unknown are unknown,
 * from who points at them (meta.untyped_causes, the report's type coverage
 * section).  Causes, the first that applies:
 *   contradicted      its inferred type disagreed with the runtime's pointer
 *                     bitmap (typecheck.h) and was dropped
 *   untyped_word      a typed object points at it through a word its type
 *                     does not type: unsafe.Pointer, uintptr, an interface
 *                     whose dynamic type DWARF lacks, a closure's captures
 *                     without DWARF layout, a pointer into its middle
 *   untyped_parents   only objects of unknown type point at it
 *   untyped_roots     only roots point at it, through words of unknown type
 *                     (stack slots DWARF does not name, runtime globals)
 */
#ifndef GOMORTEM_UNTYPED_H
#define GOMORTEM_UNTYPED_H

#include <stdint.h>

#include "../util/error.h"

struct gm_heap;
struct gm_graph;
struct gm_types;

enum gm_untyped_cause {
	GM_UNTYPED_CONTRADICTED,
	GM_UNTYPED_WORD,
	GM_UNTYPED_PARENTS,
	GM_UNTYPED_ROOTS,
	GM_UNTYPED_NCAUSES
};

struct gm_untyped {
	uint64_t objects[GM_UNTYPED_NCAUSES], bytes[GM_UNTYPED_NCAUSES];
};

/* The cause's name in meta (untyped_causes) and the report. */
const char *gm_untyped_cause_name(enum gm_untyped_cause cause);

/* Classify every reachable untyped object; CONTRADICTED: per object, 1 if
 * the bitmap check dropped its type (may be NULL). */
struct gm_error *gm_untyped_causes(const struct gm_heap *heap, const struct gm_graph *graph,
				   const struct gm_types *types, const uint8_t *contradicted, struct gm_untyped *ret);

/* "cause: N objects, B bytes; ..." for meta, the largest first, causes with
 * no object left out ("none" when nothing reachable is untyped); malloc'd. */
char *gm_untyped_summary(const struct gm_untyped *u);

#endif
