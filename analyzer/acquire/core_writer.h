/* core_writer: an ELF core file of a stopped (or snapshotted) process, laid
 * out as the kernel lays one out: the ELF header, the program headers (a
 * PT_NOTE, then a PT_LOAD per mapping), the notes, then the saved memory,
 * page-aligned.  Notes: per thread NT_PRSTATUS and NT_FPREGSET, and once
 * NT_PRPSINFO, NT_SIGINFO, NT_AUXV and NT_FILE, in the kernel's order.
 * x86-64 only. */
#ifndef GOMORTEM_CORE_WRITER_H
#define GOMORTEM_CORE_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../util/error.h"
#include "proc_maps.h"
#include "ptrace_stop.h"

/* What the notes say about the process, read from /proc/PID while it is stopped. */
struct gm_process_facts {
	pid_t pid, ppid, pgrp, sid;
	uid_t uid;
	gid_t gid;
	char state;
	int nice;
	char comm[16];
	char psargs[80];
	uint8_t *auxv;
	size_t auxv_len;
	pid_t stopped_by;   /* who stopped it (NT_SIGINFO: SIGSTOP sent by this pid) */
};

struct gm_core_write_stats {
	uint64_t saved_bytes;       /* memory bytes in PT_LOAD data */
	uint64_t unreadable_bytes;  /* pages that could not be read: zeros in the core */
	uint64_t file_bytes;        /* the core's size */
};

/* A note of our own (owner "GOMORTEM", type GM_NOTE_CAPTURE): a line of
 * text on how the core was taken, in a fixed-size descriptor that
 * gm_core_set_capture_note() can rewrite in place. */
#define GM_NOTE_CAPTURE 1
#define GM_CAPTURE_NOTE_SIZE 256

/* Rewrite the capture note of the core FD (named NAME) to TEXT. */
struct gm_error *gm_core_set_capture_note(int fd, const char *name, const char *text);

/* Read the facts of PID from /proc; GM_ERR_IO names the file. */
struct gm_error *gm_process_facts_read(pid_t pid, struct gm_process_facts *ret);
void gm_process_facts_free(struct gm_process_facts *f);

/* Write the core of P into FD (at offset 0): registers from P, mappings from
 * MAPS, memory read from MEM_FD (/proc/X/mem of the process or of its
 * snapshot) with PAGEMAP_FD (/proc/X/pagemap, -1 if none) telling which
 * private anonymous pages were never touched, to leave them as holes.
 * OUT_NAME names FD in messages. */
struct gm_error *gm_core_write(int fd, const char *out_name, const struct gm_stopped_process *p,
			       const struct gm_process_facts *facts, const struct gm_proc_maps *maps,
			       int mem_fd, int pagemap_fd, struct gm_core_write_stats *stats);

/* The same in steps, for a core whose memory is copied before its
 * registers are known (capture --precopy): the memory, with NOTES_ROOM bytes
 * kept for the notes; then changes to the memory (ABSENT: pages that are no
 * more, holes; else LEN bytes of DATA at ADDR), each searching the program
 * headers; then the notes (in the room, else at the end of the file).  STATS
 * carries the file size from step to step. */
uint64_t gm_core_notes_size(const struct gm_stopped_process *p, const struct gm_process_facts *facts,
			    const struct gm_proc_maps *maps);
struct gm_error *gm_core_write_memory(int fd, const char *out_name, const struct gm_proc_maps *maps,
				      uint64_t notes_room, int mem_fd, int pagemap_fd, struct gm_core_write_stats *stats);
struct gm_error *gm_core_patch(int fd, const char *out_name, uint64_t addr, const void *data, uint64_t len,
			       bool absent);
struct gm_error *gm_core_write_notes(int fd, const char *out_name, const struct gm_stopped_process *p,
				     const struct gm_process_facts *facts, const struct gm_proc_maps *maps,
				     struct gm_core_write_stats *stats);

#endif
