/* domtree: the dominator tree as children lists, and what is computed by
 * walking it top-down (the graph keeps only each object's immediate
 * dominator).
 *
 * Its top level, under the super-root, is the roots and the objects that no
 * single root dominates (held jointly by several roots); a root's children
 * are the objects it alone dominates.
 */
#ifndef GOMORTEM_DOMTREE_H
#define GOMORTEM_DOMTREE_H

#include <stdint.h>

#include "../util/error.h"
#include "graph.h"

struct gm_domtree {
	size_t nobjects, nroots;
	/* Children of object i: child[first[i] .. first[i + 1]). */
	uint32_t *first;
	uint32_t *child;
	/* Children of root r: root_child[root_first[r] .. root_first[r + 1]). */
	uint32_t *root_first;
	uint32_t *root_child;
	/* Reachable objects dominated by no single root. */
	uint32_t *joint;
	size_t njoint;
	/* The one allocation behind the views above (objects sorted by parent). */
	uint32_t *slot_start;  /* offsets fit: at most one entry per object */
	uint32_t *items;
};

/* The tree of GRAPH (after gm_graph_dominators). */
struct gm_error *gm_domtree_build(const struct gm_graph *graph, struct gm_domtree **ret);

/* TOPMOST[i] = 1 when reachable object i has no proper dominator of its own
 * type (TYPE_OF[i], NTYPES values, UINT32_MAX = unknown counts as one more
 * type): summing the retained sizes of those counts each object's bytes
 * once per type, even along chains whose types alternate (node -> [64]*node
 * -> node).  TOPMOST has one byte per object. */
struct gm_error *gm_domtree_topmost_of_type(const struct gm_domtree *tree, const struct gm_graph *graph,
					    const uint32_t *type_of, size_t ntypes, uint8_t *topmost);

void gm_domtree_destroy(struct gm_domtree *tree);

#endif
