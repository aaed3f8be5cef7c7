/* capture: the core of a live process, taken with a short pause.
 *
 * The process is stopped (ptrace_stop.h), its registers read, a
 * copy-on-write snapshot forked inside it, and it is let go: the pause is
 * the time to stop the threads and copy the page tables.  The core is then
 * written from the snapshot's memory while the process runs, and the
 * snapshot is killed.  When the process cannot fork (seccomp, memory
 * limits, an init process), or with --stop-copy, the memory is copied with
 * the process stopped, as gcore does.
 *
 * The core is written into a nameless file beside the output and given its
 * name only when complete: a failed or interrupted capture leaves nothing.
 */
#ifndef GOMORTEM_CAPTURE_H
#define GOMORTEM_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../util/error.h"

struct gm_capture_options {
	const char *output;
	bool stop_copy;        /* copy with the process stopped, no snapshot */
	bool precopy;          /* copy while running, then again what was written */
};

struct gm_capture_result {
	size_t threads;
	double stop_seconds;   /* stopping every thread */
	double snapshot_seconds; /* forking the snapshot (copying the page tables) */
	double pause_seconds;  /* from the first thread stopped to the last resumed */
	double total_seconds;
	bool snapshot;         /* copied from a forked snapshot */
	int snapshot_errno;    /* why not, when it was tried */
	bool precopy;          /* copied while running, written pages again while stopped */
	bool precopy_moved;    /* the mappings changed between the two stops: snapshot instead */
	struct gm_error *precopy_error; /* why there was no precopy (the caller destroys it) */
	double first_pause_seconds;     /* precopy: the stop that opened the userfaultfd */
	uint64_t recopied_bytes;        /* precopy: copied again in the second stop */
	double recopy_seconds;          /* precopy: checking the mappings, scanning, copying again */
	uint64_t saved_bytes, unreadable_bytes, file_bytes, disk_bytes;
};

/* Capture PID into OPTIONS->output.  Errors: GM_ERR_IO (no such process,
 * no permission to trace it, the output cannot be written), GM_ERR_USAGE
 * (not an x86-64 process), GM_ERR_NO_MEMORY. */
struct gm_error *gm_capture(pid_t pid, const struct gm_capture_options *options,
			    struct gm_capture_result *result);

#endif
