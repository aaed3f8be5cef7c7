/* output: files gomortem writes, whole or not at all, and never over
 * something that is not a regular file.
 *
 * Writing through a temporary file renamed into place is what keeps a
 * failed run from leaving half a file, but rename() replaces whatever the
 * name points to: run as root, `-o /dev/null` once replaced the machine's
 * /dev/null with a regular file.  So an output name that exists and is a
 * character device or a FIFO is written directly (streamed), and anything
 * else that is not a regular file (a directory, a block device, a socket)
 * is refused.  The temporary file is anonymous (O_TMPFILE) until it is
 * complete, so even SIGKILL leaves nothing behind.
 */
#ifndef GOMORTEM_OUTPUT_H
#define GOMORTEM_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include "error.h"

struct gm_output {
	const char *path;  /* the name given */
	FILE *file;        /* write here */
	bool stream;       /* PATH is a device or FIFO, written directly */
	char *tmp_path;    /* a named temporary (no O_TMPFILE here), else NULL */
};

/* Open PATH for writing: a device or FIFO directly, else an anonymous
 * file in PATH's directory.  A FIFO with no reader is an error, not a wait. */
struct gm_error *gm_output_open(const char *path, struct gm_output *out);

/* Flush, close and (for a file) put it in place under PATH, replacing a
 * regular file of that name.  On error nothing is left at PATH's side. */
struct gm_error *gm_output_commit(struct gm_output *out);

/* Close and discard what was written (a stream keeps what it got). */
void gm_output_abort(struct gm_output *out);

/* NULL if PATH may be replaced by a new regular file: it does not exist or
 * is a regular file (or a symlink to one).  WHY says what is written there. */
struct gm_error *gm_output_check_replaceable(const char *path, const char *why);

/* Remove PATH.tmp-PID files whose process PID is gone: the temporaries of
 * runs killed before they could clean up. */
void gm_output_remove_stale(const char *path);

/* A named temporary (SQLite and the B-tree writer open files by name) that
 * survives no death of this process: a child process removes TMP_PATH as
 * soon as this one ends, however it ends, unless gm_reaper_release came
 * first.  One at a time. */
struct gm_error *gm_reaper_guard(const char *tmp_path);
void gm_reaper_release(void);

#endif
