/* proc_maps: a live process's mappings, from /proc/PID/smaps, and what a
 * core of it must save of each (the kernel's default coredump_filter). */
#ifndef GOMORTEM_PROC_MAPS_H
#define GOMORTEM_PROC_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../util/error.h"

struct gm_proc_mapping {
	uint64_t start, end;
	uint64_t file_offset;
	bool read, write, exec, shared;
	char *path;              /* NULL when anonymous; "[heap]", "[vdso]" ... as the kernel names them */
	bool file_backed;        /* a real file (path starts with '/') */
	uint64_t anonymous;      /* smaps "Anonymous:": bytes of private copies */
	uint64_t save_bytes;     /* what the core saves from start on: 0, a page, or all */
	bool sparse;             /* private anonymous: pages never touched are zeros */
};

struct gm_proc_maps {
	struct gm_proc_mapping *maps;
	size_t count;
};

/* Read /proc/PID/smaps and decide what to save of each mapping: nothing of
 * mappings with no access and of the kernel's [vvar]/[vsyscall]; of
 * read-only file mappings, their first page when it starts an ELF file
 * (build IDs) or everything when the process wrote private copies into them
 * (relocated data); of the rest, everything.  Errors: GM_ERR_IO naming the
 * file (no such process, no permission). */
struct gm_error *gm_proc_maps_read(pid_t pid, int mem_fd, struct gm_proc_maps *ret);

/* Are the mappings of PID (/proc/PID/maps: addresses, permissions, files;
 * a cheap read, unlike smaps) still those of MAPS? */
bool gm_proc_maps_unchanged(pid_t pid, const struct gm_proc_maps *maps);

void gm_proc_maps_free(struct gm_proc_maps *maps);

#endif
