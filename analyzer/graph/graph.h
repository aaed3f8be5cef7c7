/* graph: the object graph of the heap and what the roots keep alive.
 *
 * Edges are every pointer word of every object that points into a heap
 * object (interior pointers resolved to the containing object), kept in a
 * compressed-sparse-row layout indexed by object.  Marking runs a
 * breadth-first walk from the roots, so each reachable object also gets a
 * shortest path back to a root (its BFS parent).  The dominator tree
 * (Semi-NCA over a super-root linking the roots) gives every object its
 * immediate dominator and retained size.
 */
#ifndef GOMORTEM_GRAPH_H
#define GOMORTEM_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"
#include "../util/stage_progress.h"
#include "../util/warnings.h"

struct gm_heap;
struct gm_roots;

#define GM_NONE UINT32_MAX

struct gm_edge {
	uint32_t dst;       /* object index */
	uint32_t src_off;   /* offset of the pointer word in the source object */
	uint32_t dst_off;   /* offset of the target address in the destination */
};

struct gm_graph {
	size_t nobjects;
	uint32_t *edge_start;     /* nobjects + 1 entries: object i's edges are [edge_start[i], edge_start[i+1])
				     (fewer than 2^32 edges: 48 GiB of them; the build refuses more) */
	struct gm_edge *edges;
	size_t nedges;
	/* After gm_graph_keep_targets: each edge's dst alone (EDGES is NULL). */
	uint32_t *edge_dst;
	uint64_t unknown_pointer_objects; /* objects whose pointer words could not be read */

	/* Marking. */
	uint8_t *reachable;       /* per object: 1 if reachable from a root */
	uint64_t reachable_count, reachable_bytes;
	/* Shortest path to a root: the object it was first reached from (GM_NONE
	 * when reached directly from a root) and from which root. */
	uint32_t *parent;         /* per object */
	uint32_t *parent_off;     /* offset of the pointer word in the parent */
	uint32_t *via_root;       /* per object: index of the root its path starts at */

	/* Dominators over reachable objects and roots (roots are nodes of their own). */
	uint32_t *idom;           /* per object: object index, or GM_NONE (dominated by a root or the super-root) */
	uint32_t *idom_root;      /* per object: root index when a root alone dominates it, else GM_NONE */
	uint64_t *retained;       /* per object: bytes it alone keeps alive (itself included); 0 if unreachable */
	uint64_t *root_retained;  /* per root: bytes that root alone keeps alive */
	size_t nroots;

	struct gm_warnings warnings;
};

/* Type inference hands the core's pages back (they are file pages,
 * refaulted from the page cache when read again) every this many objects,
 * so that the core's resident share stays small (the edge build does so
 * every 32 MiB of objects read). */
#define GM_GRAPH_RELEASE_STEP (1u << 19)

/* Build the edges of HEAP's objects; PROGRESS (may be NULL) counts the
 * objects whose edges are built, and CALLBACK (may be NULL) is called with
 * it on the caller's thread every 32 MiB of objects it reads. */
struct gm_error *gm_graph_build(struct gm_heap *heap, struct gm_stage_progress *progress,
				void (*callback)(const struct gm_stage_progress *progress, void *arg), void *arg,
				struct gm_graph **ret);

/* Mark from ROOTS (a finalized object's pointees are marked, not the object);
 * PROGRESS (may be NULL) counts the objects reached. */
struct gm_error *gm_graph_mark(struct gm_graph *graph, const struct gm_heap *heap, const struct gm_roots *roots,
			       struct gm_stage_progress *progress);

/* Dominator tree and retained sizes (after marking). */
struct gm_error *gm_graph_dominators(struct gm_graph *graph, const struct gm_heap *heap,
				     const struct gm_roots *roots, struct gm_stage_progress *progress);

/* Keep only each edge's target (edge_dst), in a third of the memory, once
 * nothing reads the offsets any more (the edges are stored, the leaked
 * goroutines found): the leak suspects' reverse search needs the targets. */
void gm_graph_keep_targets(struct gm_graph *graph);

/* The target of edge E, before or after gm_graph_keep_targets. */
static inline uint32_t gm_graph_edge_dst(const struct gm_graph *g, uint64_t e)
{
	return g->edges ? g->edges[e].dst : g->edge_dst[e];
}

void gm_graph_destroy(struct gm_graph *graph);

#endif
