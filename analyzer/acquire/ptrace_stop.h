/* ptrace_stop: stop every thread of a live process, read their registers,
 * take a copy-on-write snapshot of its memory, and let it go on.
 *
 * Threads are stopped with PTRACE_SEIZE + PTRACE_INTERRUPT (no signal is
 * sent that the process could see), listing /proc/PID/task again until no
 * new thread appeared.  The snapshot is a child forked inside the stopped
 * process: one of its threads is made to run clone(CLONE_PARENT | SIGCHLD)
 * with its registers set by ptrace, then given its registers back.  The
 * child is attached to us at birth and never runs a single instruction; its
 * memory is the process's memory at the moment of the stop, which we read
 * after the process has resumed.  The stop therefore lasts as long as the
 * kernel takes to copy the page tables, not the memory.
 *
 * x86-64 only (registers and the system call convention).
 */
#ifndef GOMORTEM_PTRACE_STOP_H
#define GOMORTEM_PTRACE_STOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "../util/error.h"

struct gm_stopped_thread {
	pid_t tid;
	struct user_regs_struct regs;
	struct user_fpregs_struct fpregs;
	bool have_fpregs;
	int pending_signal;   /* a signal the stop caught on its way in; given back on resume */
	bool stopped;
};

struct gm_stopped_process {
	pid_t pid;
	struct gm_stopped_thread *threads; /* the thread PID first */
	size_t count;
	pid_t snapshot;       /* the forked copy, or 0 */
	int snapshot_errno;   /* why there is none (0 when not tried) */
	double stop_seconds;  /* from the first interrupt to the last thread stopped */
	double snapshot_seconds; /* the injected clone: the kernel copying the page tables */
	uint64_t syscall_at;  /* a syscall instruction in the process (found before the stop) */
};

/* Stop every thread of PID and read its registers.  Errors: GM_ERR_IO
 * (no such process, permission: names /proc/PID). */
struct gm_error *gm_process_stop(pid_t pid, struct gm_stopped_process **ret);

/* Fork the snapshot child inside the stopped process; false (errno in
 * snapshot_errno) when the process cannot fork (seccomp, memory limits,
 * an init process that has no parent to give the child to). */
bool gm_process_snapshot(struct gm_stopped_process *p);

/* Run system call NR with ARGS in a stopped thread of P, which then goes on
 * as if stopped only; the call's result, or -errno when it could not be run. */
long gm_process_syscall(struct gm_stopped_process *p, long nr, const uint64_t args[6]);

/* After the resume: wait for the snapshot's first stop, before reading it. */
void gm_process_snapshot_settle(struct gm_stopped_process *p);

/* Let every thread go (with the signals the stop caught); returns how many
 * could not be resumed (threads that died meanwhile).  Idempotent. */
size_t gm_process_resume(struct gm_stopped_process *p);

/* Resume if needed, kill and reap the snapshot, free everything; NULL is a no-op. */
void gm_process_release(struct gm_stopped_process *p);

#endif
