#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core_writer.h"
#include "proc_maps.h"
#include "ptrace_stop.h"

static double seconds_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
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
	/* No handler may run while a thread has borrowed registers. */
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
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
