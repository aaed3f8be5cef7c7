/* domtree: children lists from the immediate dominators (counting sort by
 * parent), and a depth-first walk that keeps, per type, how many objects of
 * that type are on the path from the top (every loop iterative: heaps are
 * deep). */
#include <stdlib.h>
#include <string.h>

#include "domtree.h"

/* Where object I hangs: 0 = a joint top-level object, 1 + r = root r,
 * 1 + nroots + o = object o; UINT64_MAX when unreachable. */
static uint64_t parent_slot(const struct gm_graph *g, size_t i)
{
	if (!g->reachable[i])
		return UINT64_MAX;
	if (g->idom[i] != GM_NONE)
		return 1 + g->nroots + g->idom[i];
	if (g->idom_root[i] != GM_NONE)
		return 1 + (uint64_t)g->idom_root[i];
	return 0;
}

/* Counting sort of the reachable objects by parent slot into one array
 * whose slot ranges are START[s] .. START[s + 1]. */
static struct gm_error *sort_by_parent(const struct gm_graph *g, uint32_t **ret_start, uint32_t **ret_items)
{
	size_t nslots = 1 + g->nroots + g->nobjects;
	uint32_t *start = calloc(nslots + 1, sizeof(*start));
	uint32_t *items = malloc((g->reachable_count ? g->reachable_count : 1) * sizeof(*items));
	if (!start || !items) {
		free(start);
		free(items);
		return &gm_error_nomem;
	}
	for (size_t i = 0; i < g->nobjects; i++) {
		uint64_t s = parent_slot(g, i);
		if (s != UINT64_MAX)
			start[s + 1]++;
	}
	for (size_t s = 0; s < nslots; s++)
		start[s + 1] += start[s];
	uint32_t *fill = malloc((nslots ? nslots : 1) * sizeof(*fill));
	if (!fill) {
		free(start);
		free(items);
		return &gm_error_nomem;
	}
	for (size_t s = 0; s < nslots; s++)
		fill[s] = start[s];
	for (size_t i = 0; i < g->nobjects; i++) {
		uint64_t s = parent_slot(g, i);
		if (s != UINT64_MAX)
			items[fill[s]++] = (uint32_t)i;
	}
	free(fill);
	*ret_start = start;
	*ret_items = items;
	return NULL;
}

struct gm_error *gm_domtree_build(const struct gm_graph *graph, struct gm_domtree **ret)
{
	*ret = NULL;
	struct gm_domtree *t = calloc(1, sizeof(*t));
	if (!t)
		return &gm_error_nomem;
	uint32_t *start;
	uint32_t *items;
	struct gm_error *err = sort_by_parent(graph, &start, &items);
	if (err) {
		free(t);
		return err;
	}
	t->items = items;
	t->slot_start = start;
	t->nobjects = graph->nobjects;
	t->nroots = graph->nroots;
	/* One sorted array serves all three views: the joint objects, then each
	 * root's children, then each object's. */
	t->joint = items;
	t->njoint = start[1];
	t->root_child = items;
	t->child = items;
	t->root_first = start + 1;
	t->first = start + 1 + graph->nroots;
	*ret = t;
	return NULL;
}

void gm_domtree_destroy(struct gm_domtree *tree)
{
	if (!tree)
		return;
	free(tree->items);
	free(tree->slot_start);
	free(tree);
}

/* An explicit DFS stack entry: the object and the next child to visit. */
struct frame {
	uint32_t object;
	uint32_t next;
};

/* Walk the subtree of TOP, marking topmost objects of their type. */
static struct gm_error *walk_subtree(const struct gm_domtree *t, uint32_t top, const uint32_t *type_of, size_t ntypes,
				     uint32_t *on_path, uint8_t *topmost, struct frame **stack, size_t *cap)
{
	size_t depth = 0;
	uint32_t type = type_of[top] == UINT32_MAX ? (uint32_t)ntypes : type_of[top];
	topmost[top] = on_path[type]++ == 0;
	(*stack)[depth++] = (struct frame){ top, t->first[top] };
	while (depth > 0) {
		struct frame *f = &(*stack)[depth - 1];
		if (f->next == t->first[f->object + 1]) {
			uint32_t ft = type_of[f->object];
			on_path[ft == UINT32_MAX ? ntypes : ft]--;
			depth--;
			continue;
		}
		uint32_t c = t->child[f->next++];
		uint32_t ct = type_of[c] == UINT32_MAX ? (uint32_t)ntypes : type_of[c];
		topmost[c] = on_path[ct]++ == 0;
		if (depth == *cap) {
			struct frame *grown = realloc(*stack, 2 * *cap * sizeof(**stack));
			if (!grown)
				return &gm_error_nomem;
			*stack = grown;
			*cap *= 2;
		}
		(*stack)[depth++] = (struct frame){ c, t->first[c] };
	}
	return NULL;
}

struct gm_error *gm_domtree_topmost_of_type(const struct gm_domtree *tree, const struct gm_graph *graph,
					    const uint32_t *type_of, size_t ntypes, uint8_t *topmost)
{
	uint32_t *on_path = calloc(ntypes + 1, sizeof(*on_path));
	size_t cap = 1024;
	struct frame *stack = malloc(cap * sizeof(*stack));
	struct gm_error *err = on_path && stack ? NULL : &gm_error_nomem;
	memset(topmost, 0, tree->nobjects);
	for (size_t i = 0; i < tree->nobjects && !err; i++) {
		/* The tops of the object forest: objects a root or several roots dominate. */
		if (graph->reachable[i] && graph->idom[i] == GM_NONE)
			err = walk_subtree(tree, (uint32_t)i, type_of, ntypes, on_path, topmost, &stack, &cap);
	}
	free(on_path);
	free(stack);
	return err;
}
