/* analyze_progress: analyze's progress lines on stderr.
 *
 * Each stage prints a line when it starts (analyze_progress_print); long
 * stages also count how far they are in a struct gm_stage_progress: MAIN for the
 * main thread's stages, SIDE for the second thread's (the edges and the
 * dominators, then the objects table).  A ticker thread prints each counter
 * that has a step whenever no line was printed for two seconds, so no
 * stage stays silent longer than that, and every line says how much
 * memory is resident now and at its peak (VmHWM, the figure /usr/bin/time
 * reports as the maximum resident set size).
 */
#ifndef GOMORTEM_CLI_ANALYZE_PROGRESS_H
#define GOMORTEM_CLI_ANALYZE_PROGRESS_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "analyzer/util/progress.h"
#include "analyzer/util/stage_progress.h"

struct analyze_progress {
	bool enabled;             /* print at all (--progress) */
	double start;             /* gm_seconds_now() when the analysis began */
	struct gm_stage_progress main, side;
	_Atomic double last_line; /* seconds since start of the last line */
	atomic_bool stop;
	bool ticking;
	pthread_t ticker;
};

/* Start P's clock and, when enabled, its ticker. */
void analyze_progress_start(struct analyze_progress *p, bool enabled);

/* Stop the ticker (before P goes away). */
void analyze_progress_stop(struct analyze_progress *p);

/* One progress line (when enabled): time, memory, then FMT. */
void analyze_progress_vprint(struct analyze_progress *p, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#endif
