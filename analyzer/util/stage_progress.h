/* stage_progress: how far a long stage is, for a progress line printed by
 * another thread.
 *
 * A stage names its step and total when it starts (gm_stage_start) and
 * moves DONE as it goes; a watcher (analyze's ticker, which prints a line
 * when nothing was printed for two seconds) reads the three at any time.
 * Every function accepts NULL (no progress wanted) and costs one relaxed
 * atomic store otherwise, so a stage may count object by object.
 */
#ifndef GOMORTEM_UTIL_STAGE_PROGRESS_H
#define GOMORTEM_UTIL_STAGE_PROGRESS_H

#include <stdatomic.h>
#include <stdint.h>

struct gm_stage_progress {
	_Atomic uint64_t done;
	_Atomic uint64_t total;   /* 0: not known */
	const char *_Atomic step; /* NULL: between steps, nothing to say */
};

static inline void gm_stage_start(struct gm_stage_progress *p, const char *step, uint64_t total)
{
	if (!p)
		return;
	atomic_store_explicit(&p->step, NULL, memory_order_relaxed);
	atomic_store_explicit(&p->total, total, memory_order_relaxed);
	atomic_store_explicit(&p->done, 0, memory_order_relaxed);
	atomic_store_explicit(&p->step, step, memory_order_release);
}

static inline void gm_stage_set(struct gm_stage_progress *p, uint64_t done)
{
	if (p)
		atomic_store_explicit(&p->done, done, memory_order_relaxed);
}

static inline void gm_stage_add(struct gm_stage_progress *p, uint64_t n)
{
	if (p)
		atomic_fetch_add_explicit(&p->done, n, memory_order_relaxed);
}

/* The step is over: nothing to report until the next one starts. */
static inline void gm_stage_end(struct gm_stage_progress *p)
{
	if (p)
		atomic_store_explicit(&p->step, NULL, memory_order_release);
}

#endif
