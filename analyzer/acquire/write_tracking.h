/* write_tracking: which pages of a live process were written since a
 * moment, without stopping it, for capture --precopy.
 *
 * The kernel's userfaultfd write protection in its asynchronous mode
 * (UFFD_FEATURE_WP_ASYNC, Linux 6.7): the pages are write-protected, a
 * first write to one is let through by the kernel itself (a minor fault,
 * nobody waits on us), and PAGEMAP_SCAN on /proc/PID/pagemap lists the
 * pages written since.  The userfaultfd must belong to the process's memory:
 * it is opened inside it (an injected system call), taken over with
 * pidfd_getfd and closed there; everything else is done from here.  Only the
 * private anonymous writable mappings are tracked (the Go heap, stacks);
 * the caller copies the others again while the process is stopped.
 * Closing the tracker ends the protection. */
#ifndef GOMORTEM_WRITE_TRACKING_H
#define GOMORTEM_WRITE_TRACKING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../util/error.h"
#include "proc_maps.h"

struct gm_write_tracker {
	int uffd;
	int pagemap;
	bool *tracked;         /* per mapping of the maps given to gm_tracker_protect */
	size_t count;
};

/* A run of pages that changed: written (copy them again) or gone
 * (released with MADV_DONTNEED: zeros now). */
struct gm_page_run {
	uint64_t start, end;
	bool gone;
	uint8_t *data;         /* filled by the caller */
};

struct gm_page_runs {
	struct gm_page_run *runs;
	size_t count, cap;
};

/* Take over the userfaultfd FD_IN_TARGET that PID opened.  Errors: GM_ERR_IO
 * (pidfd_getfd, or a kernel without asynchronous write protection). */
struct gm_error *gm_tracker_open(pid_t pid, int fd_in_target, struct gm_write_tracker *ret);

/* Write-protect the trackable mappings of MAPS (the process runs); an error
 * (GM_ERR_IO) when one of them cannot be.  The other writable mappings are
 * the caller's to copy again while the process is stopped. */
struct gm_error *gm_tracker_protect(struct gm_write_tracker *t, const struct gm_proc_maps *maps);

/* The runs of the tracked mappings written or gone since the protection. */
struct gm_error *gm_tracker_changes(struct gm_write_tracker *t, const struct gm_proc_maps *maps,
				    struct gm_page_runs *ret);

void gm_page_runs_free(struct gm_page_runs *r);
void gm_tracker_close(struct gm_write_tracker *t);

#endif
