/* goleak: the blocked goroutines nobody can wake (goleak.h). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../dwarf/dwarf_index.h"
#include "../core/address_space.h"
#include "../goruntime/binding.h"
#include "../goruntime/goroutines.h"
#include "../goruntime/heap.h"
#include "../goruntime/roots.h"
#include "../program/program.h"
#include "../util/u64_map.h"
#include "goleak.h"
#include "graph.h"

/* A select has at most 65536 cases; a longer sudog chain is corrupt. */
#define MAX_SUDOGS 65536

/* Where the wait records are (runtime.g.waiting, runtime.sudog, and the
 * semaphore table runtime.semtable: 251 roots of treaps of sudogs, one node
 * per address, the other waiters on it chained by waitlink). */
/* The runtime's wait layout (bound with the runtime) and where semtable is. */
struct wait_layout {
	struct gm_wait_layout f;
	uint64_t semtable;            /* run-time address; 0: no table */
};

enum wait_kind { NOT_BLOCKED, ON_CHANNELS, ON_SYNC, NEVER_WAKES };

/* How a wait reason blocks, by the runtime's own strings. */
static enum wait_kind wait_kind(const char *reason)
{
	static const char *const never[] = { "chan receive (nil chan)", "chan send (nil chan)", "select (no cases)" };
	static const char *const chans[] = { "chan receive", "chan send", "select" };
	static const char *const sync[] = { "sync.Cond.Wait", "sync.WaitGroup.Wait", "sync.Mutex.Lock",
					    "sync.RWMutex.Lock", "sync.RWMutex.RLock" };
	for (size_t i = 0; i < 3; i++)
		if (strcmp(reason, never[i]) == 0)
			return NEVER_WAKES;
	for (size_t i = 0; i < 3; i++)
		if (strcmp(reason, chans[i]) == 0)
			return ON_CHANNELS;
	for (size_t i = 0; i < 5; i++)
		if (strcmp(reason, sync[i]) == 0)
			return ON_SYNC;
	return NOT_BLOCKED;
}

static struct gm_error *bind_layout(struct gm_runtime *rt, struct wait_layout *l)
{
	if (!rt->wait.present)
		return gm_error_create(GM_ERR_BAD_RUNTIME, "runtime.g.waiting or runtime.sudog's c, elem, waitlink "
				       "not in the runtime's layouts (%s)", gm_program_layouts_source(rt->prog) ? gm_program_layouts_source(rt->prog) : "none");
	l->f = rt->wait;
	if (l->f.has_semtable && gm_program_global_addr(rt->prog, "runtime.semtable", &l->semtable))
		l->semtable += rt->prog->bias;
	else
		l->semtable = 0;
	return NULL;
}

/* One blocked goroutine's wait: the objects it waits on. */
struct waiter {
	enum wait_kind kind;
	uint32_t *objects;            /* blocking objects in the heap */
	size_t nobjects;
	bool outside_heap;            /* it waits on something outside the heap: may wake */
	bool runnable;
};

struct search {
	struct gm_runtime *rt;
	const struct gm_heap *heap;
	const struct gm_graph *g;
	const struct gm_roots *roots;
	const struct gm_goroutine_set *set;
	struct wait_layout l;
	struct waiter *w;             /* per goroutine */
	struct gm_u64_map hidden;     /* (sudog object << 32 | offset) of the wait records' edges */
	struct gm_u64_map by_goid;    /* goid -> goroutine index */
	struct gm_u64_map sema_wait;  /* g address -> its sudog in the semaphore table */
	uint8_t *marked;
	uint32_t *queue;
	size_t head, tail;
};

static bool waiting(const struct gm_goroutine_set *set, const struct gm_goroutine *g)
{
	return g->wait_reason != 0 && g->wait_reason < set->nwait_strings &&
	       g->status_text == set->wait_strings[g->wait_reason];
}

/* Every sudog of the semaphore table, by goroutine: the tree of unique
 * addresses (prev, next) and each node's chain of other waiters (waitlink);
 * visits are bounded, so a corrupt table cannot loop. */
static struct gm_error *read_semtable(struct search *s)
{
	struct gm_address_space *mem = s->rt->prog->mem;
	uint64_t stack[256];
	size_t budget = 1u << 20;
	for (uint64_t r = 0; s->l.semtable && r < s->l.f.sem_roots; r++) {
		size_t depth = 0;
		if (!gm_try_read_u64(mem, s->l.semtable + r * s->l.f.sem_stride + s->l.f.sem_treap, &stack[0]) || !stack[0])
			continue;
		depth = 1;
		while (depth > 0 && budget > 0) {
			uint64_t node = stack[--depth], kids[2] = { 0, 0 };
			(void)gm_try_read_u64(mem, node + s->l.f.prev, &kids[0]); /* a kid not saved stays 0 */
			(void)gm_try_read_u64(mem, node + s->l.f.next, &kids[1]);
			for (int k = 0; k < 2; k++)
				if (kids[k] && depth < sizeof(stack) / sizeof(stack[0]))
					stack[depth++] = kids[k];
			for (uint64_t w = node; w && budget > 0; budget--) {
				uint64_t g = 0;
				if (gm_try_read_u64(mem, w + s->l.f.sudog_g, &g) && g &&
				    gm_u64_map_insert(&s->sema_wait, g, w) < 0)
					return &gm_error_nomem;
				if (!gm_try_read_u64(mem, w + s->l.f.waitlink, &w))
					break;
			}
		}
	}
	return NULL;
}

/* Follow g.waiting's sudog chain (for a sync wait without one, before Go
 * 1.26: its sudog in the semaphore table): each record's channel (or sync
 * object) is a blocking object, and its edge to it is hidden from the
 * marking. */
static struct gm_error *read_wait(struct search *s, const struct gm_goroutine *g, struct waiter *w)
{
	uint64_t sudog = 0;
	bool chans = w->kind == ON_CHANNELS;
	if (!gm_try_read_u64(s->rt->prog->mem, g->addr + s->l.f.g_waiting, &sudog))
		sudog = 0;
	if (!sudog && !chans && !gm_u64_map_find(&s->sema_wait, g->addr, &sudog))
		sudog = 0;
	for (size_t n = 0; sudog && n < MAX_SUDOGS; n++) {
		uint64_t addr = 0, next = 0;
		uint32_t rec, obj;
		if (!gm_try_read_u64(s->rt->prog->mem, sudog + (chans ? s->l.f.c_addr : s->l.f.elem_addr), &addr) ||
		    !gm_try_read_u64(s->rt->prog->mem, sudog + s->l.f.waitlink, &next))
			break;
		if (gm_heap_find_object(s->heap, sudog, &rec) &&
		    gm_u64_map_insert(&s->hidden, (uint64_t)rec << 32 | (sudog - s->heap->objects[rec].addr +
								    (chans ? s->l.f.c : s->l.f.elem)), 1) < 0)
			return &gm_error_nomem;
		if (!gm_heap_find_object(s->heap, addr, &obj)) {
			w->outside_heap = true;
		} else {
			uint32_t *grown = realloc(w->objects, (w->nobjects + 1) * sizeof(*grown));
			if (!grown)
				return &gm_error_nomem;
			w->objects = grown;
			w->objects[w->nobjects++] = obj;
		}
		if (!chans)
			break;  /* a sync wait has one record */
		sudog = next;
	}
	return NULL;
}

/* Which goroutines are blocked and on what; the undecided ones count. */
static struct gm_error *classify(struct search *s, struct gm_goleak *out)
{
	struct gm_error *err = read_semtable(s);
	if (err)
		return err;
	for (size_t i = 0; i < s->set->count; i++) {
		const struct gm_goroutine *g = &s->set->items[i];
		struct waiter *w = &s->w[i];
		if (gm_u64_map_insert(&s->by_goid, g->goid, i) < 0)
			return &gm_error_nomem;
		w->kind = waiting(s->set, g) ? wait_kind(g->status_text) : NOT_BLOCKED;
		if (w->kind == ON_CHANNELS || w->kind == ON_SYNC) {
			err = read_wait(s, g, w);
			if (err)
				return err;
		}
		if (w->kind == ON_SYNC && w->nobjects == 0 && !w->outside_heap) {
			out->undecided++;  /* no object found: may wake, as far as we know */
			w->kind = NOT_BLOCKED;
		}
		w->runnable = w->kind == NOT_BLOCKED || w->outside_heap;
	}
	return NULL;
}

static void mark(struct search *s, uint32_t obj)
{
	if (s->marked[obj])
		return;
	s->marked[obj] = 1;
	s->queue[s->tail++] = obj;
}

static void mark_root(struct search *s, const struct gm_root *r)
{
	if (r->dst == GM_NO_OBJECT)
		return;
	if (r->kind != GM_ROOT_FINALIZED) {
		mark(s, r->dst);
		return;
	}
	for (uint64_t e = s->g->edge_start[r->dst]; e < s->g->edge_start[r->dst + 1]; e++)
		mark(s, s->g->edges[e].dst);
}

static void drain(struct search *s)
{
	while (s->head < s->tail) {
		uint32_t obj = s->queue[s->head++];
		for (uint64_t e = s->g->edge_start[obj]; e < s->g->edge_start[obj + 1]; e++) {
			uint64_t dummy;
			if (s->hidden.count && gm_u64_map_find(&s->hidden, (uint64_t)obj << 32 | s->g->edges[e].src_off,
							       &dummy))
				continue;
			mark(s, s->g->edges[e].dst);
		}
	}
}

/* A stack root of a goroutine still blocked is held back. */
static bool held_back(const struct search *s, const struct gm_root *r)
{
	uint64_t i;
	return r->kind == GM_ROOT_STACK && r->goid >= 0 && gm_u64_map_find(&s->by_goid, (uint64_t)r->goid, &i) &&
	       !s->w[i].runnable;
}

/* Blocked goroutines whose channel or object got marked may wake. */
static bool wake_some(struct search *s)
{
	bool woke = false;
	for (size_t i = 0; i < s->set->count; i++) {
		struct waiter *w = &s->w[i];
		for (size_t k = 0; !w->runnable && k < w->nobjects; k++)
			if (s->marked[w->objects[k]])
				w->runnable = woke = true;
	}
	return woke;
}

static struct gm_error *find(struct search *s, struct gm_goleak *out)
{
	struct gm_error *err = classify(s, out);
	if (err)
		return err;
	uint8_t *rooted = calloc(s->roots->count ? s->roots->count : 1, 1);
	if (!rooted)
		return &gm_error_nomem;
	do {
		for (size_t r = 0; r < s->roots->count; r++)
			if (!rooted[r] && !held_back(s, &s->roots->items[r])) {
				rooted[r] = 1;
				mark_root(s, &s->roots->items[r]);
			}
		drain(s);
	} while (wake_some(s));
	free(rooted);
	for (size_t i = 0; i < s->set->count; i++) {
		const struct waiter *w = &s->w[i];
		out->blocked_on[i] = w->nobjects ? w->objects[0] : GM_NONE;
		out->leaked[i] = !w->runnable;
		out->nleaked += !w->runnable;
	}
	for (size_t o = 0; o < s->g->nobjects; o++)
		if (s->g->reachable[o] && !s->marked[o]) {
			out->only_objects++;
			out->only_bytes += gm_object_size(s->heap, &s->heap->objects[o]);
		}
	return NULL;
}

struct gm_error *gm_goleak_find(struct gm_runtime *rt, const struct gm_heap *heap, const struct gm_graph *graph,
				const struct gm_roots *roots, const struct gm_goroutine_set *set,
				struct gm_goleak **ret)
{
	*ret = NULL;
	size_t ng = set->count ? set->count : 1, no = graph->nobjects ? graph->nobjects : 1;
	struct gm_goleak *out = calloc(1, sizeof(*out));
	struct search s = { .rt = rt, .heap = heap, .g = graph, .roots = roots, .set = set };
	s.w = calloc(ng, sizeof(*s.w));
	s.marked = calloc(no, 1);
	s.queue = malloc(no * sizeof(*s.queue));
	struct gm_error *err = NULL;
	if (out) {
		out->leaked = calloc(ng, 1);
		out->blocked_on = malloc(ng * sizeof(*out->blocked_on));
	}
	if (!out || !out->leaked || !out->blocked_on || !s.w || !s.marked || !s.queue)
		err = &gm_error_nomem;
	if (!err)
		err = bind_layout(rt, &s.l);
	if (!err)
		err = find(&s, out);
	for (size_t i = 0; s.w && i < set->count; i++)
		free(s.w[i].objects);
	free(s.w);
	free(s.marked);
	free(s.queue);
	gm_u64_map_free(&s.hidden);
	gm_u64_map_free(&s.by_goid);
	gm_u64_map_free(&s.sema_wait);
	if (err) {
		gm_goleak_destroy(out);
		return err;
	}
	*ret = out;
	return NULL;
}

void gm_goleak_destroy(struct gm_goleak *leak)
{
	if (!leak)
		return;
	free(leak->leaked);
	free(leak->blocked_on);
	free(leak);
}
