/* goleak: leaked goroutines, post mortem.
 *
 * A goroutine blocked on a channel, a select, or a sync object (Mutex,
 * RWMutex, WaitGroup, Cond) can only wake up when another goroutine reaches
 * that channel or object.  As the runtime's goroutine leak detector does
 * (Go 1.26's goroutineleak profile, GOEXPERIMENT=goroutineleakprofile),
 * this marks the heap from every root except the stacks of those blocked
 * goroutines, not through their wait records (sudog.c and sudog.elem, which
 * the runtime's own structures reach); a blocked goroutine whose channel or
 * object got marked (or lies outside the heap) may wake up, so its stack
 * joins the marking; repeated until nothing changes.  Those left can never
 * wake up: leaked.  What only they keep alive is what this marking missed.
 *
 * Sync waits need the object the goroutine waits on: Go 1.26+ records it in
 * g.waiting (a sudog whose elem is the semaphore's address); before, a
 * semaphore wait (Mutex, RWMutex, WaitGroup) is found in the runtime's
 * semaphore table (runtime.semtable's treaps of sudogs).  A wait found in
 * neither (sync.Cond before 1.26 queues in its own notifyList) is counted
 * as undecided, never called leaked.
 */
#ifndef GOMORTEM_GOLEAK_H
#define GOMORTEM_GOLEAK_H

#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"

struct gm_runtime;
struct gm_heap;
struct gm_graph;
struct gm_roots;
struct gm_goroutine_set;

struct gm_goleak {
	uint8_t *leaked;             /* per goroutine of the set: 1 if it can never wake up */
	uint32_t *blocked_on;        /* per goroutine: object index of what it waits on, or GM_NONE */
	size_t nleaked;
	size_t undecided;            /* sync waits with no object found (sync.Cond before 1.26) */
	uint64_t only_objects, only_bytes; /* heap objects only leaked goroutines keep alive */
};

struct gm_error *gm_goleak_find(struct gm_runtime *rt, const struct gm_heap *heap, const struct gm_graph *graph,
				const struct gm_roots *roots, const struct gm_goroutine_set *set,
				struct gm_goleak **ret);

void gm_goleak_destroy(struct gm_goleak *leak);

#endif
