/* progress: the lines long commands print on stderr with --progress,
 *
 *   gomortem:   3.21s    412M (peak 640M) what is being done
 *
 * seconds since the command began, resident memory now and its peak so far
 * (VmHWM: the maximum resident set size /usr/bin/time and getrusage report,
 * here in MiB), then the stage.  Shared by analyze (cli/analyze_progress.c,
 * whose ticker prints its stages' counters) and pprof, so that both read the
 * same way. */
#ifndef GOMORTEM_UTIL_PROGRESS_H
#define GOMORTEM_UTIL_PROGRESS_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Monotonic seconds. */
double gm_seconds_now(void);

/* Resident memory in MiB now and at its peak so far (a core's mapped pages
 * included); 0 when unknown. */
void gm_resident_mb(unsigned long *now, unsigned long *peak);

/* One line, START being gm_seconds_now() when the command began. */
void gm_progress_vprint(double start, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* A command's progress lines, for stages that may run on several threads. */
struct gm_progress {
	bool on;                   /* print anything at all */
	double start;              /* gm_seconds_now() when the command began */
	_Atomic uint64_t next_ms;  /* when a count line is due, in ms after start */
};

void gm_progress_init(struct gm_progress *p, bool on);

/* A line, if P is on. */
void gm_progress_print(struct gm_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Whether a count line ("N of TOTAL") is due: true at most once a second,
 * to one caller of any thread. */
bool gm_progress_due(struct gm_progress *p);

#endif
