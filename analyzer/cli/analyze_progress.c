#include "analyze_progress.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

/* How long without a line before the ticker prints the counters. */
#define QUIET_SECONDS 2.0

void analyze_progress_vprint(struct analyze_progress *p, const char *fmt, va_list ap)
{
	if (!p->enabled)
		return;
	gm_progress_vprint(p->start, fmt, ap);
	atomic_store(&p->last_line, gm_seconds_now() - p->start);
}

static void print(struct analyze_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void print(struct analyze_progress *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	analyze_progress_vprint(p, fmt, ap);
	va_end(ap);
}

/* A counter's line, if it is in a step. */
static void print_counter(struct analyze_progress *p, const struct gm_stage_progress *c)
{
	const char *step = atomic_load_explicit(&c->step, memory_order_acquire);
	if (!step)
		return;
	uint64_t done = atomic_load_explicit(&c->done, memory_order_relaxed);
	uint64_t total = atomic_load_explicit(&c->total, memory_order_relaxed);
	if (!total) {
		print(p, "  %s", step);
		return;
	}
	/* A count may pass its total (an object queued again when retyped). */
	if (done > total)
		done = total;
	print(p, "  %s: %" PRIu64 " of %" PRIu64 " (%.0f%%)", step, done, total,
	      100.0 * (double)done / (double)total);
}

static void *tick(void *arg)
{
	struct analyze_progress *p = arg;
	const struct timespec step = { 0, 100 * 1000 * 1000 };
	while (!atomic_load(&p->stop)) {
		nanosleep(&step, NULL);
		if (gm_seconds_now() - p->start - atomic_load(&p->last_line) < QUIET_SECONDS)
			continue;
		print_counter(p, &p->main);
		print_counter(p, &p->side);
		/* Nothing counted: quiet until the next stage prints. */
		atomic_store(&p->last_line, gm_seconds_now() - p->start);
	}
	return NULL;
}

void analyze_progress_start(struct analyze_progress *p, bool enabled)
{
	p->enabled = enabled;
	p->start = gm_seconds_now();
	atomic_store(&p->last_line, 0.0);
	atomic_store(&p->stop, false);
	/* Without a ticker the lines still come at each stage's start. */
	p->ticking = enabled && pthread_create(&p->ticker, NULL, tick, p) == 0;
}

void analyze_progress_stop(struct analyze_progress *p)
{
	if (!p->ticking)
		return;
	atomic_store(&p->stop, true);
	pthread_join(p->ticker, NULL);
	p->ticking = false;
}
