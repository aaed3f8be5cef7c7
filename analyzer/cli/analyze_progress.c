#include "analyze_progress.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

/* How long without a line before the ticker prints the counters. */
#define QUIET_SECONDS 2.0

double analyze_seconds_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void analyze_resident_mb(unsigned long *now, unsigned long *peak)
{
	char line[128];
	*now = *peak = 0;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long kb;
		if (sscanf(line, "VmRSS: %lu kB", &kb) == 1)
			*now = kb / 1024;
		else if (sscanf(line, "VmHWM: %lu kB", &kb) == 1)
			*peak = kb / 1024;
	}
	fclose(f);
}

void analyze_progress_vprint(struct analyze_progress *p, const char *fmt, va_list ap)
{
	if (!p->enabled)
		return;
	unsigned long now, peak;
	analyze_resident_mb(&now, &peak);
	double t = analyze_seconds_now() - p->start;
	/* Two threads print: one line at a time. */
	flockfile(stderr);
	fprintf(stderr, "gomortem: %6.2fs %6luM (peak %luM) ", t, now, peak);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
	atomic_store(&p->last_line, t);
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
		if (analyze_seconds_now() - p->start - atomic_load(&p->last_line) < QUIET_SECONDS)
			continue;
		print_counter(p, &p->main);
		print_counter(p, &p->side);
		/* Nothing counted: quiet until the next stage prints. */
		atomic_store(&p->last_line, analyze_seconds_now() - p->start);
	}
	return NULL;
}

void analyze_progress_start(struct analyze_progress *p, bool enabled)
{
	p->enabled = enabled;
	p->start = analyze_seconds_now();
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
