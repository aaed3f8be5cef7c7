/* progress: see progress.h. */
#include <stdio.h>
#include <time.h>

#include "progress.h"

/* Count lines at most this often. */
#define DUE_EVERY_MS 1000

double gm_seconds_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void gm_resident_mb(unsigned long *now, unsigned long *peak)
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

void gm_progress_vprint(double start, const char *fmt, va_list ap)
{
	unsigned long now, peak;
	gm_resident_mb(&now, &peak);
	/* Several threads may print: one line at a time. */
	flockfile(stderr);
	fprintf(stderr, "gomortem: %6.2fs %6luM (peak %luM) ", gm_seconds_now() - start, now, peak);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void gm_progress_init(struct gm_progress *p, bool on)
{
	p->on = on;
	p->start = gm_seconds_now();
	atomic_init(&p->next_ms, DUE_EVERY_MS);
}

void gm_progress_print(struct gm_progress *p, const char *fmt, ...)
{
	if (!p->on)
		return;
	va_list ap;
	va_start(ap, fmt);
	gm_progress_vprint(p->start, fmt, ap);
	va_end(ap);
}

bool gm_progress_due(struct gm_progress *p)
{
	if (!p->on)
		return false;
	uint64_t now_ms = (uint64_t)((gm_seconds_now() - p->start) * 1000.0);
	uint64_t due = atomic_load_explicit(&p->next_ms, memory_order_relaxed);
	return now_ms >= due &&
	       atomic_compare_exchange_strong(&p->next_ms, &due, now_ms + DUE_EVERY_MS);
}
