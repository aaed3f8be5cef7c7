/* cgroup: the memory use and limit of a control group, v1 or v2, and of a
 * process, for gomortem watch.
 *
 * v2: memory.current against the lower of memory.max and memory.high
 * ("max" is no limit), oom_kill from memory.events.  v1:
 * memory.usage_in_bytes against memory.limit_in_bytes (a huge value is no
 * limit), oom_kill from memory.oom_control.  Which one a directory is, is
 * told by the files it has.
 */
#ifndef GOMORTEM_CGROUP_H
#define GOMORTEM_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../util/error.h"

#define GM_NO_LIMIT UINT64_MAX

struct gm_cgroup {
	char *path;
	int version;           /* 1 or 2 */
};

struct gm_memory_reading {
	uint64_t usage;
	uint64_t limit;        /* GM_NO_LIMIT when none */
	const char *limit_file;/* the file the limit came from (static) */
	uint64_t oom_kills;    /* so far, when the kernel counts them */
};

/* The memory cgroup at PATH.  Errors: GM_ERR_IO naming PATH when it has no
 * memory controller files. */
struct gm_error *gm_cgroup_open(const char *path, struct gm_cgroup *ret);

/* The memory cgroup process PID is in (/proc/PID/cgroup and the mounts). */
struct gm_error *gm_cgroup_of_pid(pid_t pid, struct gm_cgroup *ret);

void gm_cgroup_free(struct gm_cgroup *cg);

/* Read usage, limit and OOM kills.  GM_ERR_IO names the file. */
struct gm_error *gm_cgroup_read(const struct gm_cgroup *cg, struct gm_memory_reading *ret);

/* The process of the cgroup with the largest resident set (cgroup.procs);
 * 0 when it has none left. */
pid_t gm_cgroup_largest_process(const struct gm_cgroup *cg);

/* Resident set of PID in bytes (VmRSS); false when it is gone. */
bool gm_process_rss(pid_t pid, uint64_t *ret);

/* v1 only: an eventfd the kernel signals when usage crosses BYTES
 * (cgroup.event_control); -1 when not available. */
int gm_cgroup_threshold_eventfd(const struct gm_cgroup *cg, uint64_t bytes);

#endif
