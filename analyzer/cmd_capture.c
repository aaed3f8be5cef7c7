/* gomortem capture: the core of a live process, with a short pause. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acquire/capture.h"
#include "cli.h"

static const char capture_usage[] =
	"usage: gomortem capture PID -o CORE [--stop-copy] [--quiet]\n"
	"\n"
	"Write an ELF core of the live process PID, which goes on running.  Every\n"
	"thread is stopped with ptrace (no signal the process can see), its registers\n"
	"read, and a copy-on-write snapshot of its memory forked inside it; then the\n"
	"process is let go and the core is written from the snapshot.  The pause lasts\n"
	"as long as the kernel takes to copy the page tables (about 1 ms per GB of\n"
	"touched memory), not the memory.  The core has what 'gomortem analyze' and gdb\n"
	"read: NT_PRSTATUS and NT_FPREGSET per thread, NT_PRPSINFO, NT_SIGINFO (SIGSTOP\n"
	"sent by this process), NT_AUXV, NT_FILE; the memory of anonymous and writable\n"
	"mappings (never-touched pages as holes), the first page of ELF files; not\n"
	"the read-only file mappings, which the executable has, nor the reservations\n"
	"with no access.  The core gets its name only when complete.\n"
	"\n"
	"  -o, --output CORE  the core to write (replaced if it exists)\n"
	"  --stop-copy        copy the memory with the process stopped, as gcore does\n"
	"                     (also what happens when the process cannot fork: seccomp,\n"
	"                     memory limits, the init process of a PID namespace)\n"
	"  --quiet            no summary line\n"
	"  -h, --help         show this help\n"
	"\n"
	"Needs the right to ptrace PID (root, or its user with kernel.yama.ptrace_scope\n"
	"= 0).  x86-64 processes only.\n"
	"\n"
	"Exit status: 0 ok; 3 no such process, no permission, or the core cannot be\n"
	"written; others in docs/exit-codes.md.\n";

void cli_print_capture(const char *output, const struct gm_capture_result *r)
{
	fprintf(stderr, "gomortem: %s: %zu threads, paused %.2f ms (stopping %.2f ms, snapshot %.2f ms)%s%s, %"
		PRIu64 " MB saved, %" PRIu64 " MB on disk, %.2f s in all\n",
		output, r->threads, r->pause_seconds * 1e3, r->stop_seconds * 1e3, r->snapshot_seconds * 1e3,
		r->snapshot ? ", copied from a snapshot" : ", copied while stopped",
		!r->snapshot && r->snapshot_errno ? " (no snapshot: the process could not fork)" : "",
		r->saved_bytes >> 20, r->disk_bytes >> 20, r->total_seconds);
	if (r->unreadable_bytes)
		fprintf(stderr, "gomortem: %s: %" PRIu64 " bytes could not be read and are zeros\n", output,
			r->unreadable_bytes);
}

int cli_parse_pid(const char *command, const char *text, int *ret)
{
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno || *end || v <= 0 || v > INT32_MAX)
		return cli_usage_error(command, "'%s' is not a process id", text);
	*ret = (pid_t)v;
	return -1;
}

int cmd_capture(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "stop-copy", no_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct gm_capture_options o = { 0 };
	bool quiet = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': o.output = optarg; break;
		case 's': o.stop_copy = true; break;
		case 'q': quiet = true; break;
		case 'h': fputs(capture_usage, stdout); return 0;
		default: return cli_usage_error("capture", "bad option");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("capture", "expected one PID argument, got %d", argc - optind);
	if (!o.output)
		return cli_usage_error("capture", "missing -o CORE");
	pid_t pid;
	int status = cli_parse_pid("capture", argv[optind], &pid);
	if (status >= 0)
		return status;
	struct gm_capture_result r;
	struct gm_error *err = gm_capture(pid, &o, &r);
	if (err)
		return gm_error_report(err);
	if (!quiet)
		cli_print_capture(o.output, &r);
	return 0;
}
