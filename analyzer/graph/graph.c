#include "graph.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../goruntime/heap.h"
#include "../goruntime/pointers.h"
#include "../goruntime/roots.h"
#include "../program/program.h"

/* The edges one thread finds, in object order. */
struct edge_list {
	struct gm_edge *edges;
	size_t n, cap;
	uint64_t unknown_pointer_objects;
};

static struct gm_error *push_edge(struct edge_list *l, struct gm_edge e)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1 << 16;
		void *grown = realloc(l->edges, l->cap * sizeof(*l->edges));
		if (!grown)
			return &gm_error_nomem;
		l->edges = grown;
	}
	l->edges[l->n++] = e;
	return NULL;
}

/* The value of the pointer word at OFF of OBJ; false if not saved. */
static bool read_word(struct gm_heap *heap, const struct gm_span_pointers *sp, const struct gm_span *s,
		      const struct gm_object *obj, uint32_t off, uint64_t *ret)
{
	if (sp->slots) {
		memcpy(ret, sp->slots + (obj->addr - s->base) + off, sizeof(*ret));
		return true;
	}
	return gm_try_read_u64(heap->rt->prog->mem, obj->addr + off, ret);
}

static struct gm_error *object_edges(struct edge_list *l, struct gm_heap *heap, const struct gm_span_pointers *sp,
				     uint32_t index, uint32_t *offsets)
{
	const struct gm_object *obj = &heap->objects[index];
	const struct gm_span *s = &heap->spans[obj->span];
	size_t n;
	if (gm_object_pointers(heap, sp, obj, offsets, &n) == GM_POINTERS_UNKNOWN) {
		l->unknown_pointer_objects++;
		return NULL;
	}
	struct gm_error *err = NULL;
	for (size_t k = 0; k < n && !err; k++) {
		uint64_t value, dst_off;
		uint32_t dst;
		if (!read_word(heap, sp, s, obj, offsets[k], &value) || value == 0 ||
		    !gm_heap_find_slot(heap, value, &dst, &dst_off))
			continue;
		err = push_edge(l, (struct gm_edge){ dst, offsets[k], (uint32_t)dst_off });
	}
	return err;
}

/* One thread's share of the objects, [first, last): its edges, and in
 * EDGE_START (shared, disjoint ranges) offsets into them. */
struct build_part {
	struct gm_heap *heap;
	struct gm_stage_progress *progress;   /* NULL: none */
	void (*callback)(const struct gm_stage_progress *progress, void *arg);
	void *arg;
	uint32_t *edge_start;
	size_t first, last;
	uint64_t max_size;
	struct edge_list list;
	struct gm_error *err;
	pthread_t thread;
};

/* Each thread counts its progress, and the first hands the core's pages
 * back and reports, every this many bytes of objects read. */
#define TICK_BYTES (32u << 20)

static void *build_part_run(void *arg)
{
	struct build_part *p = arg;
	struct gm_heap *heap = p->heap;
	uint32_t *offsets = malloc((p->max_size / 8 + 1) * sizeof(*offsets));
	struct gm_span_pointers sp = { 0 };
	uint32_t current_span = GM_NONE;
	p->err = offsets ? NULL : &gm_error_nomem;
	uint64_t scanned = 0;     /* bytes of pointer-holding objects since the last tick */
	size_t counted = p->first;
	for (size_t i = p->first; i < p->last && !p->err; i++) {
		const struct gm_object *obj = &heap->objects[i];
		p->edge_start[i] = (uint32_t)p->list.n;
		if (scanned >= TICK_BYTES) {
			scanned = 0;
			if (p->progress)
				atomic_fetch_add_explicit(&p->progress->done, i - counted, memory_order_relaxed);
			counted = i;
			/* The objects are read once, in address order: the core pages
			 * behind them need not stay resident (both threads' pages go;
			 * the other thread refaults the few it still reads). */
			if (p->first == 0) {
				gm_core_release_pages(heap->rt->prog->core);
				if (p->callback)
					p->callback(p->progress, p->arg);
			}
		}
		if (heap->spans[obj->span].noscan)
			continue;
		scanned += gm_object_size(heap, obj);
		if (obj->span != current_span) {
			current_span = obj->span;
			gm_span_pointers_init(heap, &heap->spans[obj->span], &sp);
		}
		p->err = object_edges(&p->list, heap, &sp, (uint32_t)i, offsets);
	}
	if (p->progress)
		atomic_fetch_add_explicit(&p->progress->done, p->last - counted, memory_order_relaxed);
	free(offsets);
	return NULL;
}

/* The second part's edges after the first's, its offsets moved up. */
static struct gm_error *join_parts(struct gm_graph *g, struct build_part *a, struct build_part *b)
{
	size_t total = a->list.n + b->list.n;
	struct gm_edge *edges = a->list.edges;
	if (total >= UINT32_MAX)
		return gm_error_create(GM_ERR_INTERNAL, "%zu edges: more than the graph counts (2^32 - 1)", total);
	if (b->list.n) {
		edges = realloc(a->list.edges, total * sizeof(*edges));
		if (!edges)
			return &gm_error_nomem;
		memcpy(edges + a->list.n, b->list.edges, b->list.n * sizeof(*edges));
	}
	a->list.edges = NULL;
	for (size_t i = b->first; i < b->last; i++)
		g->edge_start[i] += (uint32_t)a->list.n;
	g->edges = edges;
	g->nedges = total;
	g->unknown_pointer_objects = a->list.unknown_pointer_objects + b->list.unknown_pointer_objects;
	return NULL;
}

/* Where the objects split into two runs of about as many bytes of
 * pointer-holding memory (the work of the edge build: a heap's big
 * pointer arrays, a map's groups, may lie together at one end). */
static size_t balanced_half(const struct gm_heap *heap)
{
	uint64_t total = 0, sum = 0;
	for (size_t i = 0; i < heap->nobjects; i++)
		if (!heap->spans[heap->objects[i].span].noscan)
			total += gm_object_size(heap, &heap->objects[i]);
	for (size_t i = 0; i < heap->nobjects; i++) {
		if (sum >= total / 2)
			return i;
		if (!heap->spans[heap->objects[i].span].noscan)
			sum += gm_object_size(heap, &heap->objects[i]);
	}
	return heap->nobjects;
}

/* Two threads split the objects in halves: the edge build reads the core
 * and the heap's indexes only (the address space's hint and fault count
 * are atomic, warnings locked). */
struct gm_error *gm_graph_build(struct gm_heap *heap, struct gm_stage_progress *progress,
				void (*callback)(const struct gm_stage_progress *progress, void *arg), void *arg,
				struct gm_graph **ret)
{
	struct gm_graph *g = calloc(1, sizeof(*g));
	if (!g)
		return &gm_error_nomem;
	g->nobjects = heap->nobjects;
	g->edge_start = malloc((heap->nobjects + 1) * sizeof(*g->edge_start));
	uint64_t max_size = 8;
	for (size_t i = 0; i < heap->nspans; i++)
		if (heap->spans[i].elemsize > max_size)
			max_size = heap->spans[i].elemsize;
	size_t half = balanced_half(heap);
	if (progress) {
		atomic_store(&progress->total, heap->nobjects);
		atomic_store(&progress->done, 0);
		atomic_store(&progress->step, "edges");
	}
	struct build_part parts[2] = {
		{ .heap = heap, .progress = progress, .callback = progress ? callback : NULL, .arg = arg,
		  .edge_start = g->edge_start, .first = 0, .last = half, .max_size = max_size },
		{ .heap = heap, .progress = progress, .edge_start = g->edge_start, .first = half,
		  .last = heap->nobjects, .max_size = max_size },
	};
	struct gm_error *err = g->edge_start ? NULL : &gm_error_nomem;
	bool threaded = !err && pthread_create(&parts[1].thread, NULL, build_part_run, &parts[1]) == 0;
	if (!err) {
		build_part_run(&parts[0]);
		if (threaded)
			pthread_join(parts[1].thread, NULL);
		else
			build_part_run(&parts[1]);
		err = parts[0].err ? parts[0].err : parts[1].err;
	}
	if (!err)
		err = join_parts(g, &parts[0], &parts[1]);
	free(parts[0].list.edges);
	free(parts[1].list.edges);
	if (err) {
		gm_graph_destroy(g);
		return err;
	}
	g->edge_start[heap->nobjects] = (uint32_t)g->nedges;
	if (g->unknown_pointer_objects)
		gm_warn(&g->warnings, "%" PRIu64 " objects with unreadable pointer words: their edges are unknown",
			g->unknown_pointer_objects);
	*ret = g;
	return NULL;
}

/* ---- Marking ---- */

struct bfs {
	struct gm_graph *g;
	const struct gm_heap *heap;
	uint32_t *queue;
	size_t head, tail;
};

static void reach(struct bfs *b, uint32_t obj, uint32_t parent, uint32_t parent_off, uint32_t root)
{
	struct gm_graph *g = b->g;
	if (g->reachable[obj])
		return;
	g->reachable[obj] = 1;
	g->parent[obj] = parent;
	g->parent_off[obj] = parent_off;
	g->via_root[obj] = root;
	g->reachable_count++;
	g->reachable_bytes += gm_object_size(b->heap, &b->heap->objects[obj]);
	b->queue[b->tail++] = obj;
}

/* What a root points at: its object, or for a finalized object (which
 * markrootSpans scans but does not mark) the objects it points to. */
static void reach_from_root(struct bfs *b, const struct gm_root *r, uint32_t root_index)
{
	if (r->dst == GM_NO_OBJECT)
		return;
	if (r->kind != GM_ROOT_FINALIZED) {
		reach(b, r->dst, GM_NONE, 0, root_index);
		return;
	}
	const struct gm_graph *g = b->g;
	for (uint64_t e = g->edge_start[r->dst]; e < g->edge_start[r->dst + 1]; e++)
		reach(b, g->edges[e].dst, r->dst, g->edges[e].src_off, root_index);
}

struct gm_error *gm_graph_mark(struct gm_graph *g, const struct gm_heap *heap, const struct gm_roots *roots,
			       struct gm_stage_progress *progress)
{
	size_t n = g->nobjects ? g->nobjects : 1;
	g->reachable = calloc(n, 1);
	g->parent = malloc(n * sizeof(*g->parent));
	g->parent_off = malloc(n * sizeof(*g->parent_off));
	g->via_root = malloc(n * sizeof(*g->via_root));
	struct bfs b = { .g = g, .heap = heap, .queue = malloc(n * sizeof(uint32_t)) };
	if (!g->reachable || !g->parent || !g->parent_off || !g->via_root || !b.queue) {
		free(b.queue);
		return &gm_error_nomem;
	}
	for (size_t r = 0; r < roots->count; r++)
		reach_from_root(&b, &roots->items[r], (uint32_t)r);
	gm_stage_start(progress, "marking: objects reached (of all objects)", g->nobjects);
	while (b.head < b.tail) {
		if (b.head % (1u << 16) == 0)
			gm_stage_set(progress, b.head);
		uint32_t obj = b.queue[b.head++];
		for (uint64_t e = g->edge_start[obj]; e < g->edge_start[obj + 1]; e++)
			reach(&b, g->edges[e].dst, obj, g->edges[e].src_off, g->via_root[obj]);
	}
	gm_stage_end(progress);
	free(b.queue);
	return NULL;
}

void gm_graph_keep_targets(struct gm_graph *g)
{
	if (!g->edges)
		return;
	/* In place: target i lands at byte 4i, below edge i's 12 bytes. */
	uint32_t *dst = (uint32_t *)(void *)g->edges;
	for (size_t i = 0; i < g->nedges; i++)
		dst[i] = g->edges[i].dst;
	void *shrunk = realloc(dst, (g->nedges ? g->nedges : 1) * sizeof(*dst));
	g->edge_dst = shrunk ? shrunk : dst;
	g->edges = NULL;
}

void gm_graph_destroy(struct gm_graph *g)
{
	if (!g)
		return;
	free(g->edge_start);
	free(g->edges);
	free(g->edge_dst);
	free(g->reachable);
	free(g->parent);
	free(g->parent_off);
	free(g->via_root);
	free(g->idom);
	free(g->idom_root);
	free(g->retained);
	free(g->root_retained);
	gm_warnings_free(&g->warnings);
	free(g);
}
