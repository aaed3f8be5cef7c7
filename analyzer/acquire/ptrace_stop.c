#include "ptrace_stop.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The kernel's internal "restart this system call" results (include/linux/errno.h). */
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516
#define SYSCALL_INSN_LEN 2   /* 0f 05 */

static double seconds_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct gm_stopped_thread *find_thread(struct gm_stopped_process *p, pid_t tid)
{
	for (size_t i = 0; i < p->count; i++)
		if (p->threads[i].tid == tid)
			return &p->threads[i];
	return NULL;
}

/* Seize and interrupt the threads of /proc/PID/task not seized yet; *ADDED
 * counts them. */
static struct gm_error *seize_new_threads(struct gm_stopped_process *p, size_t *cap, size_t *added)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)p->pid);
	DIR *dir = opendir(path);
	if (!dir)
		return gm_error_create(GM_ERR_IO, "%s: cannot list the threads: %s", path, strerror(errno));
	struct gm_error *err = NULL;
	struct dirent *e;
	*added = 0;
	while (!err && (e = readdir(dir))) {
		pid_t tid = (pid_t)atoi(e->d_name);
		if (tid <= 0 || find_thread(p, tid))
			continue;
		if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0) {
			if (errno != ESRCH)   /* ESRCH: the thread ended meanwhile */
				err = gm_error_create(GM_ERR_IO, "/proc/%d/task/%d: cannot attach with ptrace: %s%s",
						      (int)p->pid, (int)tid, strerror(errno),
						      errno == EPERM ? " (run as the process's user with ptrace "
						      "allowed, or as root; see /proc/sys/kernel/yama/ptrace_scope)" : "");
			continue;
		}
		if (p->count == *cap) {
			size_t n = *cap ? 2 * *cap : 32;
			struct gm_stopped_thread *grown = realloc(p->threads, n * sizeof(*grown));
			if (!grown) {
				ptrace(PTRACE_DETACH, tid, 0, 0);
				err = &gm_error_nomem;
				break;
			}
			p->threads = grown;
			*cap = n;
		}
		struct gm_stopped_thread *t = &p->threads[p->count++];
		memset(t, 0, sizeof(*t));
		t->tid = tid;
		ptrace(PTRACE_INTERRUPT, tid, 0, 0);
		(*added)++;
	}
	closedir(dir);
	return err;
}

/* Wait until thread T is in a ptrace stop. A stop for a signal keeps the
 * signal to give it back at resume. */
static void wait_stopped(struct gm_stopped_thread *t)
{
	int status;
	while (waitpid(t->tid, &status, __WALL) < 0)
		if (errno != EINTR)
			return;                  /* gone */
	if (!WIFSTOPPED(status))
		return;                          /* exited meanwhile */
	t->stopped = true;
	if ((status >> 16) != PTRACE_EVENT_STOP)
		t->pending_signal = WSTOPSIG(status);
}

static void read_registers(struct gm_stopped_thread *t)
{
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &t->regs) != 0)
		t->stopped = false;
	t->have_fpregs = ptrace(PTRACE_GETFPREGS, t->tid, 0, &t->fpregs) == 0;
}

/* Put the thread PID first (the kernel writes the dumping thread first; for
 * a capture the main thread plays that part), drop threads that ended. */
static void order_threads(struct gm_stopped_process *p)
{
	size_t k = 0;
	for (size_t i = 0; i < p->count; i++)
		if (p->threads[i].stopped)
			p->threads[k++] = p->threads[i];
	p->count = k;
	for (size_t i = 1; i < p->count; i++) {
		if (p->threads[i].tid == p->pid) {
			struct gm_stopped_thread main_thread = p->threads[i];
			p->threads[i] = p->threads[0];
			p->threads[0] = main_thread;
		}
	}
}

/* The address of bytes 0f 05 (syscall) in executable memory of PID: in
 * the vDSO, which every process has, else in any executable mapping. */
static uint64_t find_syscall_insn(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *maps = fopen(path, "re");
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	int mem = open(path, O_RDONLY | O_CLOEXEC);
	uint64_t found = 0;
	char line[512];
	for (int pass = 0; maps && mem >= 0 && pass < 2 && !found; pass++) {
		rewind(maps);
		while (!found && fgets(line, sizeof(line), maps)) {
			uint64_t start, end;
			char perms[5];
			if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s", &start, &end, perms) != 3 || perms[2] != 'x')
				continue;
			if (pass == 0 && !strstr(line, "[vdso]"))
				continue;
			static uint8_t buf[1 << 16];
			uint64_t len = end - start < sizeof(buf) ? end - start : sizeof(buf);
			ssize_t n = pread(mem, buf, len, (off_t)start);
			for (ssize_t i = 0; i + 1 < n; i++)
				if (buf[i] == 0x0f && buf[i + 1] == 0x05) {
					found = start + (uint64_t)i;
					break;
				}
		}
	}
	if (maps)
		fclose(maps);
	if (mem >= 0)
		close(mem);
	return found;
}

struct gm_error *gm_process_stop(pid_t pid, struct gm_stopped_process **ret)
{
	struct gm_stopped_process *p = calloc(1, sizeof(*p));
	if (!p)
		return &gm_error_nomem;
	p->pid = pid;
	p->syscall_at = find_syscall_insn(pid);   /* not while the process waits */
	size_t cap = 0, added, waited = 0;
	double start = seconds_now();
	struct gm_error *err;
	/* Until a listing finds no thread that was not stopped already: only
	 * a running thread can start another. */
	while (!(err = seize_new_threads(p, &cap, &added)) && added > 0)
		for (; waited < p->count; waited++)
			wait_stopped(&p->threads[waited]);
	for (; waited < p->count; waited++)
		wait_stopped(&p->threads[waited]);
	p->stop_seconds = seconds_now() - start;
	for (size_t i = 0; i < p->count; i++)
		if (p->threads[i].stopped)
			read_registers(&p->threads[i]);
	order_threads(p);
	if (!err && p->count == 0)
		err = gm_error_create(GM_ERR_IO, "/proc/%d: no thread could be stopped (the process ended?)", (int)pid);
	if (err) {
		gm_process_release(p);
		return err;
	}
	*ret = p;
	return NULL;
}

/* Resume T until its next system-call stop; signals that arrive meanwhile
 * are kept for the resume.  Returns the ptrace event of the stop (0 for a
 * system-call stop), or -1 when the thread is gone. */
static int next_syscall_stop(struct gm_stopped_thread *t)
{
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, t->tid, 0, 0) != 0)
			return -1;
		int status;
		if (waitpid(t->tid, &status, __WALL) < 0 || !WIFSTOPPED(status))
			return -1;
		int event = status >> 16;
		if (event != 0 || WSTOPSIG(status) == (SIGTRAP | 0x80))
			return event;
		t->pending_signal = WSTOPSIG(status);
	}
}

/* Make T run system call NR with ARGS from SYSCALL_AT and stop at its entry. */
static int enter_injected_syscall(struct gm_stopped_thread *t, uint64_t syscall_at, long nr, const uint64_t args[6],
				  long options)
{
	struct user_regs_struct r = t->regs;
	r.rax = (unsigned long long)nr;
	r.orig_rax = (unsigned long long)-1;  /* no restart of the interrupted call */
	r.rip = syscall_at;
	r.rdi = args[0];
	r.rsi = args[1];
	r.rdx = args[2];
	r.r10 = args[3];
	r.r8 = args[4];
	r.r9 = args[5];
	if (ptrace(PTRACE_SETOPTIONS, t->tid, 0, PTRACE_O_TRACESYSGOOD | options) != 0 ||
	    ptrace(PTRACE_SETREGS, t->tid, 0, &r) != 0)
		return -errno;
	return next_syscall_stop(t) == 0 ? 0 : -ESRCH;
}

/* At the exit stop of an injected call: its result. */
static long injected_result(struct gm_stopped_thread *t)
{
	struct user_regs_struct after;
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &after) != 0)
		return -errno;
	ptrace(PTRACE_SETOPTIONS, t->tid, 0, 0);
	return (long)after.rax;
}

/* Run clone(CLONE_PARENT | SIGCHLD) in thread T; the child's pid or -errno. */
static long inject_clone(struct gm_stopped_thread *t, uint64_t syscall_at, pid_t *child)
{
	const uint64_t args[6] = { CLONE_PARENT | SIGCHLD };
	int event = enter_injected_syscall(t, syscall_at, SYS_clone, args, PTRACE_O_TRACEFORK);
	if (event == 0)
		event = next_syscall_stop(t);             /* the fork event, or the exit on failure */
	if (event == PTRACE_EVENT_FORK) {
		unsigned long msg = 0;
		ptrace(PTRACE_GETEVENTMSG, t->tid, 0, &msg);
		*child = (pid_t)msg;
		event = next_syscall_stop(t);             /* exit */
	}
	if (event != 0)
		return event < 0 ? event : -ESRCH;
	return injected_result(t);
}

/* The registers to give T back.  It was stopped in the middle of a system
 * call that the kernel would have restarted on the way out of the stop; the
 * injected call took that way out instead, so do what the kernel would
 * have done (arch/x86/kernel/signal.c, no handler run): back to the
 * syscall instruction with the call number again. */
static struct user_regs_struct registers_to_restore(const struct gm_stopped_thread *t)
{
	struct user_regs_struct r = t->regs;
	if ((long long)r.orig_rax < 0)
		return r;
	switch (-(long long)r.rax) {
	case ERESTARTSYS:
	case ERESTARTNOINTR:
	case ERESTARTNOHAND:
		r.rax = r.orig_rax;
		r.rip -= SYSCALL_INSN_LEN;
		break;
	case ERESTART_RESTARTBLOCK:
		r.rax = SYS_restart_syscall;
		r.rip -= SYSCALL_INSN_LEN;
		break;
	}
	return r;
}

/* The snapshot shares every page with the process, so it looks as big to
 * the OOM killer; near a memory limit (gomortem watch) it must not be the
 * one picked: then the process is, and the snapshot still holds its state. */
static void protect_from_oom_killer(pid_t child)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)child);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)!write(fd, "-1000", 5);
		close(fd);
	}
}

/* A thread that can run an injected call: one with no signal pending. */
static struct gm_stopped_thread *injection_thread(struct gm_stopped_process *p)
{
	for (size_t i = 0; i < p->count; i++)
		if (p->threads[i].pending_signal == 0)
			return &p->threads[i];
	return NULL;
}

bool gm_process_snapshot(struct gm_stopped_process *p)
{
	struct gm_stopped_thread *t = injection_thread(p);
	if (!t || !p->syscall_at) {
		p->snapshot_errno = ENOSYS;
		return false;
	}
	pid_t child = 0;
	double start = seconds_now();
	long ret = inject_clone(t, p->syscall_at, &child);
	p->snapshot_seconds = seconds_now() - start;
	struct user_regs_struct back = registers_to_restore(t);
	ptrace(PTRACE_SETREGS, t->tid, 0, &back);
	if (ret <= 0 || child <= 0) {
		p->snapshot_errno = ret < 0 ? (int)-ret : ECHILD;
		return false;
	}
	p->snapshot = child;
	return true;
}

long gm_process_syscall(struct gm_stopped_process *p, long nr, const uint64_t args[6])
{
	struct gm_stopped_thread *t = injection_thread(p);
	if (!t || !p->syscall_at)
		return -ENOSYS;
	long ret = enter_injected_syscall(t, p->syscall_at, nr, args, 0);
	if (ret == 0)
		ret = next_syscall_stop(t) == 0 ? injected_result(t) : -ESRCH;
	struct user_regs_struct back = registers_to_restore(t);
	ptrace(PTRACE_SETREGS, t->tid, 0, &back);
	return ret;
}

void gm_process_snapshot_settle(struct gm_stopped_process *p)
{
	/* Attached at birth, it stops before its first instruction; waiting
	 * for that is no business of the pause. */
	int status;
	while (waitpid(p->snapshot, &status, __WALL) < 0 && errno == EINTR)
		;
	protect_from_oom_killer(p->snapshot);
}

size_t gm_process_resume(struct gm_stopped_process *p)
{
	size_t failed = 0;
	for (size_t i = 0; i < p->count; i++) {
		struct gm_stopped_thread *t = &p->threads[i];
		if (!t->stopped)
			continue;
		if (ptrace(PTRACE_DETACH, t->tid, 0, (void *)(long)t->pending_signal) != 0)
			failed++;
		t->stopped = false;
	}
	return failed;
}

void gm_process_release(struct gm_stopped_process *p)
{
	if (!p)
		return;
	gm_process_resume(p);
	if (p->snapshot > 0) {
		kill(p->snapshot, SIGKILL);
		int status;
		while (waitpid(p->snapshot, &status, __WALL) < 0 && errno == EINTR)
			;
	}
	free(p->threads);
	free(p);
}
