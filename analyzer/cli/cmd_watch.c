/* gomortem watch: capture a core before the OOM killer acts. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "analyzer/acquire/capture.h"
#include "analyzer/acquire/cgroup.h"
#include "cli.h"

static const char watch_usage[] =
	"usage: gomortem watch (--pid PID | --cgroup PATH) --at 90%|BYTES [options]\n"
	"\n"
	"Watch the memory of a process or a control group and, when it crosses a\n"
	"threshold, capture a core as 'gomortem capture' does (the process pauses for\n"
	"about a millisecond and goes on), before the kernel's OOM killer ends it with\n"
	"SIGKILL and no core at all.\n"
	"\n"
	"  --pid PID          watch this process: with --at BYTES its resident set, with\n"
	"                     --at N% the memory cgroup it is in\n"
	"  --cgroup PATH      watch this memory cgroup (v2: memory.current against the\n"
	"                     lower of memory.max and memory.high; v1:\n"
	"                     memory.usage_in_bytes against memory.limit_in_bytes) and\n"
	"                     capture its process with the largest resident set\n"
	"  --at N%|BYTES      the threshold: a share of the limit, or bytes (K, M, G)\n"
	"  -o, --dir DIR      where the cores go, as core.PID.TIME (default: .)\n"
	"  --count N          captures to take before exiting (default 1)\n"
	"  --interval S       at least S seconds between two captures (default 60)\n"
	"  --poll S           how often to read the usage (default 0.05); on cgroup v1\n"
	"                     the kernel also wakes the watch when the threshold is\n"
	"                     crossed (cgroup.event_control)\n"
	"  --analyze          analyze each core into CORE.db ('gomortem analyze')\n"
	"  --stop-copy        capture with the process stopped during the copy\n"
	"  --show             print the reading once and exit\n"
	"  --quiet            print only errors\n"
	"  -h, --help         show this help\n"
	"\n"
	"Exit status: 0 after COUNT captures; 13 the process or every process of the\n"
	"cgroup ended first; others in docs/exit-codes.md.\n";

struct watch_options {
	pid_t pid;
	const char *cgroup;
	const char *at;
	const char *dir;
	long count;
	double interval, poll;
	bool analyze, stop_copy, show, quiet;
};

/* What is watched, and the threshold in bytes. */
struct watch {
	struct watch_options o;
	struct gm_cgroup cg;     /* path NULL: the resident set of o.pid */
	uint64_t threshold;
};

static double seconds_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "90%" -> *PERCENT; "512M" -> *BYTES. */
static bool parse_threshold(const char *text, double *percent, uint64_t *bytes)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (errno || end == text || v <= 0)
		return false;
	*percent = 0;
	*bytes = 0;
	if (strcmp(end, "%") == 0) {
		*percent = v;
		return v <= 100;
	}
	static const char units[] = "KMGT";
	const char *u = *end ? strchr(units, *end) : NULL;
	if (*end && (!u || (end[1] && strcmp(end + 1, "B") != 0 && strcmp(end + 1, "iB") != 0)))
		return false;
	*bytes = (uint64_t)(v * (double)(1ull << (u ? 10 * (u - units + 1) : 0)));
	return true;
}

static struct gm_error *read_usage(const struct watch *w, struct gm_memory_reading *r)
{
	if (w->cg.path)
		return gm_cgroup_read(&w->cg, r);
	memset(r, 0, sizeof(*r));
	r->limit = GM_NO_LIMIT;
	r->limit_file = "none";
	if (!gm_process_rss(w->o.pid, &r->usage))
		return gm_error_create(GM_ERR_TARGET_GONE, "process %d ended", (int)w->o.pid);
	return NULL;
}

static struct gm_error *setup(struct watch *w)
{
	double percent;
	uint64_t bytes;
	if (!parse_threshold(w->o.at, &percent, &bytes))
		return gm_error_create(GM_ERR_USAGE, "--at '%s': want a percentage (90%%) or bytes (512M)", w->o.at);
	struct gm_error *err = NULL;
	if (w->o.cgroup)
		err = gm_cgroup_open(w->o.cgroup, &w->cg);
	else if (percent > 0)
		err = gm_cgroup_of_pid(w->o.pid, &w->cg);
	struct gm_memory_reading r;
	if (!err)
		err = read_usage(w, &r);
	if (err)
		return err;
	if (percent > 0 && r.limit == GM_NO_LIMIT)
		return gm_error_create(GM_ERR_USAGE, "%s: no memory limit to take %g%% of; give --at in bytes",
				       w->cg.path, percent);
	w->threshold = percent > 0 ? (uint64_t)((double)r.limit * percent / 100) : bytes;
	if (!w->o.quiet || w->o.show) {
		char limit[64] = "no limit", what[4200];
		if (r.limit != GM_NO_LIMIT)
			snprintf(limit, sizeof(limit), "%" PRIu64 " MB (%s)", r.limit >> 20, r.limit_file);
		if (w->cg.path)
			snprintf(what, sizeof(what), "cgroup %s (v%d)", w->cg.path, w->cg.version);
		else
			snprintf(what, sizeof(what), "process %d (resident set)", (int)w->o.pid);
		fprintf(w->o.show ? stdout : stderr,
			"gomortem watch: %s: %" PRIu64 " MB used, limit %s, %" PRIu64
			" OOM kills so far; capture at %" PRIu64 " MB\n",
			what, r.usage >> 20, limit, r.oom_kills, w->threshold >> 20);
	}
	return NULL;
}

/* gomortem analyze CORE -o CORE.db, as a child process (its memory is not ours). */
static int run_analyze(const char *core, bool quiet)
{
	char db[4200];
	snprintf(db, sizeof(db), "%s.db", core);
	pid_t child = fork();
	if (child == 0) {
		execl("/proc/self/exe", "gomortem", "analyze", core, "-o", db, "--quiet", (char *)NULL);
		_exit(127);
	}
	int status = 1;
	if (child < 0 || waitpid(child, &status, 0) < 0)
		return GM_ERR_INTERNAL;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (!quiet || code)
		fprintf(stderr, "gomortem watch: %s: analysis %s (status %d)\n", db, code ? "failed" : "written", code);
	return code;
}

static struct gm_error *capture_now(const struct watch *w, const struct gm_memory_reading *r)
{
	pid_t target = w->o.cgroup ? gm_cgroup_largest_process(&w->cg) : w->o.pid;
	if (target <= 0)
		return gm_error_create(GM_ERR_TARGET_GONE, "%s: no process left in the cgroup", w->cg.path);
	char core[4096], stamp[32];
	time_t now = time(NULL);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", gmtime(&now));
	snprintf(core, sizeof(core), "%s/core.%d.%s", w->o.dir, (int)target, stamp);
	if (!w->o.quiet)
		fprintf(stderr, "gomortem watch: %" PRIu64 " MB used >= %" PRIu64 " MB: capturing process %d\n",
			r->usage >> 20, w->threshold >> 20, (int)target);
	struct gm_capture_options co = { .output = core, .stop_copy = w->o.stop_copy };
	struct gm_capture_result result;
	struct gm_error *err = gm_capture(target, &co, &result);
	if (err)
		return err;
	if (!w->o.quiet) {
		cli_print_capture(core, &result);
		/* Did the kernel's OOM killer act before the capture was complete? */
		struct gm_memory_reading after;
		struct gm_error *unread = w->cg.path ? gm_cgroup_read(&w->cg, &after) : NULL;
		if (w->cg.path && !unread)
			fprintf(stderr, "gomortem watch: OOM kills in the cgroup: %" PRIu64 " before the capture, %"
				PRIu64 " when it was complete\n", r->oom_kills, after.oom_kills);
		gm_error_destroy(unread);
	}
	if (w->o.analyze)
		run_analyze(core, w->o.quiet);
	return NULL;
}

/* Sleep until the next reading: the poll interval, or the kernel's threshold event. */
static void wait_next(int efd, double seconds)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	poll(&p, efd >= 0 ? 1 : 0, (int)(seconds * 1000));
	uint64_t drained;
	if (efd >= 0 && (p.revents & POLLIN))
		(void)!read(efd, &drained, sizeof(drained));
}

static struct gm_error *watch_loop(struct watch *w)
{
	int efd = w->cg.path ? gm_cgroup_threshold_eventfd(&w->cg, w->threshold) : -1;
	double last = -1e18;
	long taken = 0;
	struct gm_error *err = NULL;
	while (!err && taken < w->o.count) {
		struct gm_memory_reading r;
		err = read_usage(w, &r);
		if (!err && w->o.cgroup && gm_cgroup_largest_process(&w->cg) == 0)
			err = gm_error_create(GM_ERR_TARGET_GONE, "%s: no process left in the cgroup", w->cg.path);
		if (!err && !w->o.cgroup && kill(w->o.pid, 0) != 0 && errno == ESRCH)
			err = gm_error_create(GM_ERR_TARGET_GONE, "process %d ended", (int)w->o.pid);
		if (!err && r.usage >= w->threshold && seconds_now() - last >= w->o.interval) {
			err = capture_now(w, &r);
			last = seconds_now();
			taken++;
			continue;
		}
		if (!err)
			wait_next(efd, w->o.poll);
	}
	if (err && err->code == GM_ERR_TARGET_GONE)
		err = gm_error_prefix(err, "after %ld of %ld captures", taken, w->o.count);
	if (efd >= 0)
		close(efd);
	return err;
}

static int parse_options(int argc, char **argv, struct watch_options *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' }, { "cgroup", required_argument, NULL, 'g' },
		{ "at", required_argument, NULL, 'a' }, { "dir", required_argument, NULL, 'o' },
		{ "count", required_argument, NULL, 'n' }, { "interval", required_argument, NULL, 'i' },
		{ "poll", required_argument, NULL, 'P' }, { "analyze", no_argument, NULL, 'A' },
		{ "stop-copy", no_argument, NULL, 's' }, { "show", no_argument, NULL, 'S' },
		{ "quiet", no_argument, NULL, 'q' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	*o = (struct watch_options){ .dir = ".", .count = 1, .interval = 60, .poll = 0.05 };
	int c, status;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if ((status = cli_parse_pid("watch", optarg, &o->pid)) >= 0)
				return status;
			break;
		case 'g': o->cgroup = optarg; break;
		case 'a': o->at = optarg; break;
		case 'o': o->dir = optarg; break;
		case 'n': o->count = strtol(optarg, NULL, 10); break;
		case 'i': o->interval = strtod(optarg, NULL); break;
		case 'P': o->poll = strtod(optarg, NULL); break;
		case 'A': o->analyze = true; break;
		case 's': o->stop_copy = true; break;
		case 'S': o->show = true; break;
		case 'q': o->quiet = true; break;
		case 'h': fputs(watch_usage, stdout); return 0;
		default: return cli_usage_error("watch", "bad option");
		}
	}
	if (optind != argc)
		return cli_usage_error("watch", "unexpected argument '%s'", argv[optind]);
	if (!o->pid == !o->cgroup)
		return cli_usage_error("watch", "give one of --pid and --cgroup");
	if (!o->at)
		return cli_usage_error("watch", "missing --at 90%%|BYTES");
	if (o->count < 1 || o->interval < 0 || o->poll <= 0)
		return cli_usage_error("watch", "--count must be >= 1, --interval >= 0, --poll > 0");
	return -1;
}

int cmd_watch(int argc, char **argv)
{
	struct watch w = { 0 };
	int status = parse_options(argc, argv, &w.o);
	if (status >= 0)
		return status;
	struct stat st;
	if (!w.o.show && (stat(w.o.dir, &st) != 0 || !S_ISDIR(st.st_mode)))
		return gm_error_report(gm_error_create(GM_ERR_IO, "%s: not a directory", w.o.dir));
	struct gm_error *err = setup(&w);
	if (!err && !w.o.show)
		err = watch_loop(&w);
	gm_cgroup_free(&w.cg);
	return err ? gm_error_report(err) : 0;
}
