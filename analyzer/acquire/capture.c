#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core_writer.h"
#include "linux_uapi.h"
#include "proc_maps.h"
#include "ptrace_stop.h"
#include "write_tracking.h"

static double seconds_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* No handler may run while a thread has borrowed registers or is stopped, nor
 * while the core gets its name. */
static void block_signals(sigset_t *old)
{
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, old);
}

/* The snapshot is a full copy-on-write twin of the process: a signal that
 * ends the capture must not leave it behind, stopped. */
static volatile sig_atomic_t snapshot_to_kill;

static void kill_snapshot_on_signal(int sig)
{
	if (snapshot_to_kill > 0)
		kill((pid_t)snapshot_to_kill, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_signal_handlers(void)
{
	static const int signals[] = { SIGINT, SIGTERM, SIGHUP };
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		struct sigaction sa = { .sa_handler = kill_snapshot_on_signal };
		sigemptyset(&sa.sa_mask);
		sigaction(signals[i], &sa, NULL);
	}
}

/* A file with no name in the output's directory. */
static struct gm_error *open_output(const char *output, int *ret)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", output);
	int fd = open(dirname(dir), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return gm_error_create(GM_ERR_IO, "%s: cannot create the core in %s: %s", output, dir,
				       strerror(errno));
	*ret = fd;
	return NULL;
}

/* Give the complete core its name (replacing a file of that name). */
static struct gm_error *name_output(int fd, const char *output)
{
	char proc[64], tmp[4096];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	snprintf(tmp, sizeof(tmp), "%s.tmp-%d", output, (int)getpid());
	sigset_t old;
	block_signals(&old);
	struct gm_error *err = NULL;
	if (fchmod(fd, 0600) != 0 || linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) != 0)
		err = gm_error_create(GM_ERR_IO, "%s: cannot name the core: %s", output, strerror(errno));
	else if (rename(tmp, output) != 0) {
		err = gm_error_create(GM_ERR_IO, "%s: cannot name the core: %s", output, strerror(errno));
		unlink(tmp);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return err;
}

static int open_proc(pid_t pid, const char *what)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* Write the core from SOURCE's memory (the snapshot, or the stopped process). */
static struct gm_error *write_from(int fd, const char *output, const struct gm_stopped_process *p,
				   const struct gm_process_facts *facts, pid_t source,
				   struct gm_capture_result *result)
{
	int mem = open_proc(source, "mem"), pagemap = open_proc(source, "pagemap");
	struct gm_proc_maps maps = { 0 };
	struct gm_error *err = mem < 0 ? gm_error_create(GM_ERR_IO, "/proc/%d/mem: cannot open: %s", (int)source,
							 strerror(errno))
				       : gm_proc_maps_read(source, mem, &maps);
	struct gm_core_write_stats stats = { 0 };
	if (!err)
		err = gm_core_write(fd, output, p, facts, &maps, mem, pagemap, &stats);
	result->saved_bytes = stats.saved_bytes;
	result->unreadable_bytes = stats.unreadable_bytes;
	result->file_bytes = stats.file_bytes;
	gm_proc_maps_free(&maps);
	if (mem >= 0)
		close(mem);
	if (pagemap >= 0)
		close(pagemap);
	return err;
}

static struct gm_error *capture_stopped(pid_t pid, const struct gm_capture_options *o, int fd,
					const struct gm_process_facts *facts, struct gm_capture_result *result)
{
	sigset_t old;
	block_signals(&old);
	double start = seconds_now();
	struct gm_stopped_process *p = NULL;
	struct gm_error *err = gm_process_stop(pid, &p);
	if (!err) {
		result->threads = p->count;
		result->stop_seconds = p->stop_seconds;
		result->snapshot = !o->stop_copy && gm_process_snapshot(p);
		result->snapshot_errno = p->snapshot_errno;
		result->snapshot_seconds = p->snapshot_seconds;
		snapshot_to_kill = p->snapshot;
		if (result->snapshot) {
			gm_process_resume(p);
			result->pause_seconds = seconds_now() - start;
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (!err && result->snapshot)
		gm_process_snapshot_settle(p);
	if (!err)
		err = write_from(fd, o->output, p, facts, result->snapshot ? p->snapshot : pid, result);
	if (p && !result->snapshot) {
		gm_process_resume(p);
		result->pause_seconds = seconds_now() - start;
	}
	gm_process_release(p);
	snapshot_to_kill = 0;
	return err;
}

/* Precopy, first stop: open a userfaultfd inside the process, take it over,
 * close it there.  *THREADS: how many threads the stop found. */
static struct gm_error *start_tracking(pid_t pid, struct gm_write_tracker *t, size_t *threads,
				       struct gm_capture_result *result)
{
	sigset_t old;
	block_signals(&old);
	double start = seconds_now();
	struct gm_stopped_process *p = NULL;
	struct gm_error *err = gm_process_stop(pid, &p);
	if (!err) {
		/* User-mode faults are all asynchronous write protection needs,
		 * and all that a process without CAP_SYS_PTRACE may ask for. */
		uint64_t args[6] = { O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY };
		long fd = gm_process_syscall(p, SYS_userfaultfd, args);
		if (fd == -EINVAL) {
			args[0] &= ~(uint64_t)UFFD_USER_MODE_ONLY;
			fd = gm_process_syscall(p, SYS_userfaultfd, args);
		}
		if (fd < 0)
			err = gm_error_create(GM_ERR_IO, "/proc/%d: userfaultfd() in the process failed: %s", (int)pid,
					      strerror((int)-fd));
		else {
			err = gm_tracker_open(pid, (int)fd, t);
			uint64_t close_args[6] = { (uint64_t)fd };
			gm_process_syscall(p, SYS_close, close_args);
		}
		*threads = p->count;
		gm_process_resume(p);
		result->first_pause_seconds = seconds_now() - start;
	}
	gm_process_release(p);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return err;
}

/* Copy the written runs while the process is stopped; unreadable bytes stay zeros. */
static struct gm_error *read_runs(int mem, struct gm_page_runs *runs, uint64_t *bytes)
{
	for (size_t i = 0; i < runs->count; i++) {
		struct gm_page_run *r = &runs->runs[i];
		if (r->gone)
			continue;
		size_t len = (size_t)(r->end - r->start);
		r->data = calloc(1, len);
		if (!r->data)
			return &gm_error_nomem;
		for (size_t done = 0; done < len;) {
			ssize_t n = pread(mem, r->data + done, len - done, (off_t)(r->start + done));
			if (n < 0 && errno == EINTR)
				continue;
			done += n > 0 ? (size_t)n : 4096 - (r->start + done) % 4096;
		}
		*bytes += len;
	}
	return NULL;
}

/* Precopy, second stop: registers, and the pages written since the
 * protection.  *MOVED when the mappings changed meanwhile. */
static struct gm_error *stop_and_recopy(pid_t pid, int mem, const struct gm_proc_maps *maps,
					struct gm_write_tracker *t, struct gm_stopped_process **p,
					struct gm_page_runs *runs, bool *moved, struct gm_capture_result *result)
{
	sigset_t old;
	block_signals(&old);
	double start = seconds_now();
	struct gm_error *err = gm_process_stop(pid, p);
	double stopped = seconds_now();
	*moved = !err && !gm_proc_maps_unchanged(pid, maps);
	if (!err && !*moved)
		err = gm_tracker_changes(t, maps, runs);
	if (!err && !*moved)
		err = read_runs(mem, runs, &result->recopied_bytes);
	if (*p) {
		result->threads = (*p)->count;
		result->stop_seconds = (*p)->stop_seconds;
		result->recopy_seconds = seconds_now() - stopped;
		gm_process_resume(*p);
		result->pause_seconds = seconds_now() - start;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return err;
}

static struct gm_error *apply_runs(int fd, const char *output, const struct gm_page_runs *runs)
{
	struct gm_error *err = NULL;
	for (size_t i = 0; i < runs->count && !err; i++) {
		const struct gm_page_run *r = &runs->runs[i];
		err = gm_core_patch(fd, output, r->start, r->data, r->end - r->start, r->gone);
	}
	return err;
}

/* --precopy: protect against writes, copy while running, stop, copy again
 * what was written.  *DONE false (and nothing written) when the process or
 * the kernel cannot be tracked, or its mappings changed: take a snapshot. */
static struct gm_error *capture_precopy(pid_t pid, const struct gm_capture_options *o, int fd,
					const struct gm_process_facts *facts, struct gm_capture_result *result,
					bool *done)
{
	struct gm_write_tracker t;
	size_t threads = 0;
	*done = false;
	struct gm_error *err = start_tracking(pid, &t, &threads, result);
	if (err) {
		result->precopy_error = err;
		return NULL;
	}
	int mem = open_proc(pid, "mem"), pagemap = open_proc(pid, "pagemap");
	struct gm_proc_maps maps = { 0 };
	err = mem < 0 ? gm_error_create(GM_ERR_IO, "/proc/%d/mem: cannot open: %s", (int)pid, strerror(errno))
		      : gm_proc_maps_read(pid, mem, &maps);
	struct gm_error *untracked = err ? NULL : gm_tracker_protect(&t, &maps);
	if (untracked) {
		result->precopy_error = untracked;
		gm_tracker_close(&t);
		gm_proc_maps_free(&maps);
		close(mem);
		if (pagemap >= 0)
			close(pagemap);
		return NULL;
	}
	struct gm_core_write_stats stats = { 0 };
	/* Room for the notes of twice the threads there were, a few KB. */
	uint64_t room = (threads * 2 + 16) * 1024 + 8 * 1024 * (uint64_t)maps.count;
	if (!err)
		err = gm_core_write_memory(fd, o->output, &maps, room, mem, pagemap, &stats);
	struct gm_stopped_process *p = NULL;
	struct gm_page_runs runs = { 0 };
	bool moved = false;
	if (!err)
		err = stop_and_recopy(pid, mem, &maps, &t, &p, &runs, &moved, result);
	gm_tracker_close(&t);
	if (!err && !moved)
		err = apply_runs(fd, o->output, &runs);
	if (!err && !moved)
		err = gm_core_write_notes(fd, o->output, p, facts, &maps, &stats);
	if (!err && !moved) {
		*done = true;
		result->precopy = true;
		result->saved_bytes = stats.saved_bytes;
		result->unreadable_bytes = stats.unreadable_bytes;
		result->file_bytes = stats.file_bytes;
	}
	if (!err && moved && ftruncate(fd, 0) != 0)
		err = gm_error_create(GM_ERR_IO, "%s: cannot start again: %s", o->output, strerror(errno));
	result->precopy_moved = moved;
	gm_page_runs_free(&runs);
	gm_process_release(p);
	gm_proc_maps_free(&maps);
	if (mem >= 0)
		close(mem);
	if (pagemap >= 0)
		close(pagemap);
	return err;
}

struct gm_error *gm_capture(pid_t pid, const struct gm_capture_options *o, struct gm_capture_result *result)
{
	memset(result, 0, sizeof(*result));
	double start = seconds_now();
	struct gm_process_facts facts;
	struct gm_error *err = gm_process_facts_read(pid, &facts);
	if (err)
		return err;
	int fd = -1;
	err = open_output(o->output, &fd);
	if (!err) {
		install_signal_handlers();
		bool done = false;
		if (o->precopy)
			err = capture_precopy(pid, o, fd, &facts, result, &done);
		if (!err && !done)
			err = capture_stopped(pid, o, fd, &facts, result);
	}
	if (!err)
		err = name_output(fd, o->output);
	struct stat st;
	if (!err && fstat(fd, &st) == 0)
		result->disk_bytes = (uint64_t)st.st_blocks * 512;
	if (fd >= 0)
		close(fd);
	gm_process_facts_free(&facts);
	result->total_seconds = seconds_now() - start;
	return err;
}
