/* Dominators by Semi-NCA (Georgiadis' SNCA: Lengauer-Tarjan semidominators
 * with path compression, then a nearest-common-ancestor pass), over a graph
 * whose nodes are a super-root (0), the roots (1..R) and the objects
 * (R+1..): the super-root points at every root that points into the heap,
 * a root at its object (a finalized object's root at what the object points
 * to), an object at its edges' targets.  Arrays are indexed by DFS preorder
 * number; every loop is iterative (heaps are deep).
 *
 * Leaves (objects without edges: strings' bytes, pointer-free values, about
 * half of a typical heap) stay out of the search: nothing passes through a
 * leaf, so no other node's dominator depends on it, and a leaf's immediate
 * dominator is the nearest common dominator of its predecessors, found
 * once the others' are known by climbing the dominator tree. */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../goruntime/heap.h"
#include "../goruntime/roots.h"
#include "graph.h"

struct dom {
	struct gm_graph *g;
	const struct gm_heap *heap;
	const struct gm_roots *roots;
	uint32_t nroots;
	size_t nnodes;
	uint32_t *pre;            /* node -> preorder number (1-based), 0 if unvisited */
	uint32_t *vertex;         /* preorder number -> node */
	uint32_t *parent;         /* preorder -> DFS parent's preorder */
	uint32_t *semi, *label, *ancestor, *idom;
	uint32_t *pred_start;     /* preorder -> start of its predecessors (preorder numbers) */
	uint32_t *preds;
	uint32_t n;               /* visited nodes */
	uint64_t nedges;          /* edges out of visited nodes into nodes that are not leaves */
	uint64_t *leaf;           /* one bit per object: it has no edges */
	struct gm_stage_progress *progress; /* NULL: none */
};

/* Tell the progress reader the step and how far it is. */
static void report(const struct dom *d, const char *step, uint64_t done, uint64_t total)
{
	if (d->progress && atomic_load_explicit(&d->progress->step, memory_order_relaxed) != step)
		gm_stage_start(d->progress, step, total);
	gm_stage_set(d->progress, done);
}

#define REPORT_EVERY ((1u << 20) - 1)

/* Successors of NODE: calls the body for each target node.  A small
 * iterator so that DFS and predecessor building share it. */
struct succ_iter {
	const struct dom *d;
	uint32_t node;
	uint64_t pos, end;        /* super-root: root index; others: edge range */
	uint32_t single;          /* a root's single target, GM_NONE if used */
};

static void succ_begin(const struct dom *d, uint32_t node, struct succ_iter *it)
{
	memset(it, 0, sizeof(*it));
	it->d = d;
	it->node = node;
	it->single = GM_NONE;
	const struct gm_graph *g = d->g;
	if (node == 0) {
		it->end = d->nroots;
	} else if (node <= d->nroots) {
		const struct gm_root *r = &d->roots->items[node - 1];
		if (r->dst == GM_NO_OBJECT)
			return;
		if (r->kind == GM_ROOT_FINALIZED) {
			it->pos = g->edge_start[r->dst];
			it->end = g->edge_start[r->dst + 1];
		} else {
			it->single = 1 + d->nroots + r->dst;
		}
	} else {
		uint32_t obj = node - 1 - d->nroots;
		it->pos = g->edge_start[obj];
		it->end = g->edge_start[obj + 1];
	}
}

static bool succ_next(struct succ_iter *it, uint32_t *ret)
{
	const struct dom *d = it->d;
	if (it->single != GM_NONE) {
		*ret = it->single;
		it->single = GM_NONE;
		return true;
	}
	while (it->pos < it->end) {
		uint64_t i = it->pos++;
		if (it->node == 0) {
			if (d->roots->items[i].dst != GM_NO_OBJECT) {
				*ret = 1 + (uint32_t)i;
				return true;
			}
			continue;
		}
		*ret = 1 + d->nroots + d->g->edges[i].dst;
		return true;
	}
	return false;
}

static bool is_leaf(const struct dom *d, uint32_t node)
{
	uint32_t obj = node - 1 - d->nroots;
	return node > d->nroots && d->leaf[obj / 64] & 1ull << (obj % 64);
}

static struct gm_error *find_leaves(struct dom *d)
{
	const struct gm_graph *g = d->g;
	d->leaf = calloc(g->nobjects / 64 + 1, sizeof(*d->leaf));
	if (!d->leaf)
		return &gm_error_nomem;
	for (size_t o = 0; o < g->nobjects; o++)
		if (g->edge_start[o] == g->edge_start[o + 1])
			d->leaf[o / 64] |= 1ull << (o % 64);
	return NULL;
}

/* A node just reached: its successors' preorder numbers and leaf bits
 * are read as the search comes back to it, each a cache miss at random
 * in arrays of 4 bytes a node (the first few fetched now). */
static void prefetch_successors(const struct dom *d, const struct succ_iter *it)
{
	for (uint64_t e = it->pos; e < it->end && e < it->pos + 8 && it->node > d->nroots; e++) {
		uint32_t obj = d->g->edges[e].dst;
		__builtin_prefetch(&d->pre[1 + d->nroots + obj]);
		__builtin_prefetch(&d->leaf[obj / 64]);
	}
}

static struct gm_error *dfs(struct dom *d)
{
	/* The stack grows with the depth reached (a long linked list is deep,
	 * most heaps are not): sized for the worst case it would cost 40 bytes
	 * per object up front. */
	size_t cap = 1024, top = 0;
	struct succ_iter *stack = malloc(cap * sizeof(*stack));
	if (!stack)
		return &gm_error_nomem;
	d->pre[0] = ++d->n;
	d->vertex[d->n] = 0;
	d->parent[d->n] = 0;
	succ_begin(d, 0, &stack[top++]);
	while (top > 0) {
		uint32_t next;
		if (!succ_next(&stack[top - 1], &next)) {
			top--;
			continue;
		}
		if (is_leaf(d, next))
			continue;
		d->nedges++;
		if (d->pre[next]) {
			d->pred_start[d->pre[next]]++;
			continue;
		}
		if (top == cap) {
			void *grown = realloc(stack, 2 * cap * sizeof(*stack));
			if (!grown) {
				free(stack);
				return &gm_error_nomem;
			}
			stack = grown;
			cap *= 2;
		}
		d->pre[next] = ++d->n;
		d->pred_start[d->n]++;
		if ((d->n & REPORT_EVERY) == 0)
			report(d, "dominators: search", d->n, d->nnodes);
		d->vertex[d->n] = next;
		d->parent[d->n] = d->pre[stack[top - 1].node];
		succ_begin(d, next, &stack[top]);
		prefetch_successors(d, &stack[top++]);
	}
	free(stack);
	return NULL;
}

/* Along the edges array, the dominator search's reads of an edge's
 * target are random and depend on each other (its preorder number, then
 * that number's list): fetch the first DISTANCE edges ahead, the second
 * half as far. */
#define PREFETCH_DISTANCE 16

static void prefetch_targets(const struct dom *d, uint64_t e)
{
	const struct gm_graph *g = d->g;
	if (e + PREFETCH_DISTANCE < g->nedges)
		__builtin_prefetch(&d->pre[1 + d->nroots + g->edges[e + PREFETCH_DISTANCE].dst]);
	if (e + PREFETCH_DISTANCE / 2 < g->nedges)
		__builtin_prefetch(&d->pred_start[d->pre[1 + d->nroots + g->edges[e + PREFETCH_DISTANCE / 2].dst]], 1);
}

/* Predecessor lists in preorder numbers, of visited nodes only: node w's
 * are preds[pred_start[w] .. pred_start[w + 1]).  dfs has counted them in
 * pred_start[w] (it meets every edge of a visited node once); summed, that
 * is where w's list ends, and filling each list from its end leaves it
 * where w's list starts.  The nodes are taken in their own order (the
 * objects' edges then come in memory order, which prefetch_targets reads
 * ahead) rather than in preorder; the order of a list does not matter to
 * the search. */
static struct gm_error *build_preds(struct dom *d)
{
	struct succ_iter it;
	uint32_t next;
	uint64_t total = d->nedges;
	if (total >= UINT32_MAX)
		return gm_error_create(GM_ERR_INTERNAL, "%" PRIu64 " edges: more than the dominator search counts", total);
	for (uint32_t i = 1; i <= d->n + 1; i++)
		d->pred_start[i] += d->pred_start[i - 1];
	d->preds = malloc((total + 1) * sizeof(*d->preds));
	if (!d->preds)
		return &gm_error_nomem;
	for (size_t node = 0; node < d->nnodes; node++) {
		uint32_t i = d->pre[node];
		if ((node & REPORT_EVERY) == 0)
			report(d, "dominators: predecessors", node, d->nnodes);
		if (!i)
			continue;
		if (node <= d->nroots) {
			for (succ_begin(d, (uint32_t)node, &it); succ_next(&it, &next);)
				if (!is_leaf(d, next))
					d->preds[--d->pred_start[d->pre[next]]] = i;
			continue;
		}
		uint32_t obj = (uint32_t)node - 1 - d->nroots;
		for (uint64_t e = d->g->edge_start[obj]; e < d->g->edge_start[obj + 1]; e++) {
			prefetch_targets(d, e);
			next = 1 + d->nroots + d->g->edges[e].dst;
			if (!is_leaf(d, next))
				d->preds[--d->pred_start[d->pre[next]]] = i;
		}
	}
	return NULL;
}

/* eval() with path compression, iterative: STACK has room for n entries. */
static uint32_t eval(struct dom *d, uint32_t v, uint32_t *stack)
{
	if (!d->ancestor[v])
		return v;
	size_t top = 0;
	uint32_t x = v;
	while (d->ancestor[d->ancestor[x]])
		stack[top++] = x, x = d->ancestor[x];
	while (top > 0) {
		x = stack[--top];
		uint32_t a = d->ancestor[x];
		if (d->semi[d->label[a]] < d->semi[d->label[x]])
			d->label[x] = d->label[a];
		d->ancestor[x] = d->ancestor[a];
	}
	return d->label[v];
}

static void semi_nca(struct dom *d, uint32_t *stack)
{
	for (uint32_t i = 1; i <= d->n; i++)
		d->semi[i] = d->label[i] = i;
	for (uint32_t w = d->n; w >= 2; w--) {
		if ((w & REPORT_EVERY) == 0)
			report(d, "dominators: semidominators", d->n - w, d->n);
		if (w >= 4) /* eval's first reads of the predecessors two nodes on */
			for (uint32_t p = d->pred_start[w - 2]; p < d->pred_start[w - 1] && p < d->pred_start[w - 2] + 8; p++) {
				__builtin_prefetch(&d->ancestor[d->preds[p]]);
				__builtin_prefetch(&d->label[d->preds[p]]);
			}
		for (uint32_t p = d->pred_start[w]; p < d->pred_start[w + 1]; p++) {
			uint32_t u = eval(d, d->preds[p], stack);
			if (d->semi[u] < d->semi[w])
				d->semi[w] = d->semi[u];
		}
		d->ancestor[w] = d->parent[w];
	}
	d->idom[1] = 1;
	for (uint32_t w = 2; w <= d->n; w++) {
		uint32_t x = d->parent[w];
		while (x > d->semi[w])
			x = d->idom[x];
		d->idom[w] = x;
	}
}

/* The nearest common dominator of the nodes of preorder numbers A and B
 * (a dominator's number is below those it dominates). */
static uint32_t common_dominator(const struct dom *d, uint32_t a, uint32_t b)
{
	while (a != b) {
		while (a > b)
			a = d->idom[a];
		while (b > a)
			b = d->idom[b];
	}
	return a;
}

/* Each reached leaf's immediate dominator, as a preorder number, into
 * g->idom (GM_NONE for a leaf nothing reaches): the common dominator of
 * the visited nodes pointing at it. */
static void leaf_dominators(struct dom *d)
{
	struct gm_graph *g = d->g;
	struct succ_iter it;
	uint32_t next;
	for (size_t node = 0; node < d->nnodes; node++) {
		uint32_t i = d->pre[node];
		if ((node & REPORT_EVERY) == 0)
			report(d, "dominators: leaves", node, d->nnodes);
		if (!i || is_leaf(d, (uint32_t)node))
			continue;
		for (succ_begin(d, (uint32_t)node, &it); succ_next(&it, &next);) {
			if (!is_leaf(d, next))
				continue;
			uint32_t *dom = &g->idom[next - 1 - d->nroots];
			*dom = *dom == GM_NONE ? i : common_dominator(d, *dom, i);
		}
	}
}

/* Retained sizes in reverse preorder (a leaf's counted at its dominator
 * first), then the answers per object and root.  g->idom holds the
 * leaves' dominators as preorder numbers (leaf_dominators). */
static struct gm_error *retained_sizes(struct dom *d)
{
	struct gm_graph *g = d->g;
	size_t nobj = g->nobjects ? g->nobjects : 1;
	uint64_t *ret = calloc((size_t)d->n + 1, sizeof(*ret));
	g->idom_root = malloc(nobj * sizeof(*g->idom_root));
	g->retained = calloc(nobj, sizeof(*g->retained));
	g->root_retained = calloc(d->nroots ? d->nroots : 1, sizeof(*g->root_retained));
	if (!ret || !g->idom_root || !g->retained || !g->root_retained) {
		free(ret);
		return &gm_error_nomem;
	}
	g->nroots = d->nroots;
	for (uint32_t i = 2; i <= d->n; i++) {
		uint32_t node = d->vertex[i];
		if (node > d->nroots)
			ret[i] = gm_object_size(d->heap, &d->heap->objects[node - 1 - d->nroots]);
	}
	for (size_t o = 0; o < g->nobjects; o++) {
		g->idom_root[o] = GM_NONE;
		if (g->idom[o] == GM_NONE)
			continue;
		/* A reached leaf: it retains itself, under its dominator. */
		uint64_t size = gm_object_size(d->heap, &d->heap->objects[o]);
		uint32_t dom_node = d->vertex[g->idom[o]];
		ret[g->idom[o]] += size;
		g->retained[o] = size;
		g->idom[o] = dom_node > d->nroots ? dom_node - 1 - d->nroots : GM_NONE;
		if (dom_node >= 1 && dom_node <= d->nroots)
			g->idom_root[o] = dom_node - 1;
	}
	for (uint32_t i = d->n; i >= 2; i--)
		ret[d->idom[i]] += ret[i];
	for (uint32_t i = 2; i <= d->n; i++) {
		uint32_t node = d->vertex[i], dom_node = d->vertex[d->idom[i]];
		if (node <= d->nroots) {
			g->root_retained[node - 1] = ret[i];
			continue;
		}
		uint32_t obj = node - 1 - d->nroots;
		g->retained[obj] = ret[i];
		if (dom_node > d->nroots)
			g->idom[obj] = dom_node - 1 - d->nroots;
		else if (dom_node >= 1)
			g->idom_root[obj] = dom_node - 1;
	}
	free(ret);
	return NULL;
}

/* What only the search needed, freed before the answers are allocated:
 * the peak of a 10M-object analysis is here (about 400 MB less). */
static void release_search_state(struct dom *d)
{
	free(d->parent);
	free(d->semi);
	free(d->label);
	free(d->ancestor);
	free(d->pred_start);
	free(d->preds);
	d->parent = d->semi = d->label = d->ancestor = d->preds = NULL;
	d->pred_start = NULL;
}

static void dom_free(struct dom *d)
{
	free(d->pre);
	free(d->vertex);
	free(d->parent);
	free(d->semi);
	free(d->label);
	free(d->ancestor);
	free(d->idom);
	free(d->pred_start);
	free(d->preds);
	free(d->leaf);
}

/* The search's arrays by preorder number, for the N nodes visited. */
static struct gm_error *alloc_search(struct dom *d, uint32_t **stack)
{
	size_t m = (size_t)d->n + 2;
	/* Sized for every node before the search: cut to the nodes it visited. */
	uint32_t *shrunk = realloc(d->vertex, m * sizeof(uint32_t));
	d->vertex = shrunk ? shrunk : d->vertex;
	shrunk = realloc(d->parent, m * sizeof(uint32_t));
	d->parent = shrunk ? shrunk : d->parent;
	shrunk = realloc(d->pred_start, m * sizeof(uint32_t));
	d->pred_start = shrunk ? shrunk : d->pred_start;
	d->semi = malloc(m * sizeof(uint32_t));
	d->label = malloc(m * sizeof(uint32_t));
	d->ancestor = calloc(m, sizeof(uint32_t));
	d->idom = malloc(m * sizeof(uint32_t));
	*stack = malloc(m * sizeof(uint32_t));
	return d->semi && d->label && d->ancestor && d->idom && *stack ? NULL : &gm_error_nomem;
}

struct gm_error *gm_graph_dominators(struct gm_graph *g, const struct gm_heap *heap, const struct gm_roots *roots,
				     struct gm_stage_progress *progress)
{
	struct dom d = { .g = g, .heap = heap, .roots = roots, .nroots = (uint32_t)roots->count, .progress = progress };
	d.nnodes = 1 + roots->count + g->nobjects;
	size_t m = d.nnodes + 1;
	d.pre = calloc(m, sizeof(uint32_t));
	d.vertex = malloc(m * sizeof(uint32_t));
	d.parent = malloc(m * sizeof(uint32_t));
	d.pred_start = calloc(m + 1, sizeof(uint32_t));
	struct gm_error *err = d.pre && d.vertex && d.parent && d.pred_start ? NULL : &gm_error_nomem;
	if (!err)
		err = find_leaves(&d);
	if (!err)
		err = dfs(&d);
	if (!err)
		err = build_preds(&d);
	uint32_t *stack = NULL;
	if (!err)
		err = alloc_search(&d, &stack);
	if (!err) {
		semi_nca(&d, stack);
		release_search_state(&d);
		g->idom = malloc((g->nobjects ? g->nobjects : 1) * sizeof(*g->idom));
		if (!g->idom)
			err = &gm_error_nomem;
	}
	if (!err) {
		for (size_t o = 0; o < g->nobjects; o++)
			g->idom[o] = GM_NONE;
		leaf_dominators(&d);
		free(d.pre);
		d.pre = NULL;
		report(&d, "dominators: retained sizes", 0, 0);
		err = retained_sizes(&d);
	}
	gm_stage_end(progress);
	free(stack);
	dom_free(&d);
	return err;
}
