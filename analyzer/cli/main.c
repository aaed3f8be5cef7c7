/* gomortem: post-mortem memory analysis of Go programs from core dumps. */
#include <stdarg.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../util/huge_pages.h"
#include "cli.h"

static const char main_usage[] =
	"usage: gomortem COMMAND [ARGS]\n"
	"\n"
	"Post-mortem memory analysis of Go programs from Linux core dumps.\n"
	"\n"
	"Commands:\n"
	"  info CORE [--exe EXE] [--json]   quick facts: Go version, threads, signal, mappings\n"
	"  analyze CORE [--exe EXE] -o OUT.db\n"
	"                                   the heap, spans, types and runtime accounting\n"
	"                                   into a SQLite database\n"
	"  objects CORE [--pointers]        every heap object as a line of text\n"
	"  path DB ADDR                     a shortest path from a GC root to the object at ADDR\n"
	"  report DB [--format md|html|text] [-o FILE]\n"
	"                                   a report for a bug ticket\n"
	"  pprof DB -o FILE.pb.gz           a heap profile for go tool pprof\n"
	"  diff A.db B.db                   per-type growth between two analyses\n"
	"  capture PID -o CORE              the core of a live process, with a pause of\n"
	"                                   milliseconds; it goes on running\n"
	"  watch (--pid PID | --cgroup PATH) --at 90%|BYTES\n"
	"                                   capture a core before the OOM killer acts\n"
	"  dwarf EXE NAME...                what the executable's DWARF says about a type,\n"
	"                                   global or constant\n"
	"  sql DB \"SELECT ...\"              run SQL over an analysis database, print a table\n"
	"  help [COMMAND]                   this help, or a command's\n"
	"  --version                        the version of gomortem\n"
	"\n"
	"Run 'gomortem COMMAND --help' for a command's options.\n"
	"Exit statuses are listed in docs/exit-codes.md.\n";

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
	{ "info", cmd_info },
	{ "analyze", cmd_analyze },
	{ "objects", cmd_objects },
	{ "path", cmd_path },
	{ "report", cmd_report },
	{ "pprof", cmd_pprof },
	{ "diff", cmd_diff },
	{ "capture", cmd_capture },
	{ "watch", cmd_watch },
	{ "dwarf", cmd_dwarf },
	{ "sql", cmd_sql },
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int cli_usage_error(const char *command, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "gomortem %s: ", command);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nRun 'gomortem %s --help' for usage.\n", command);
	return 2;
}

int cli_help_only(int argc, char **argv, const char *command, const char *usage)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return 0;
		}
		return cli_usage_error(command, "bad option");
	}
	return -1;
}

int main(int argc, char **argv)
{
	/* A write past the file-size limit fails with EFBIG, reported and
	 * cleaned up like a full disk, instead of killing the process. */
	signal(SIGXFSZ, SIG_IGN);
	if (argc < 2) {
		fputs(main_usage, stderr);
		return 2;
	}
	const char *name = argv[1];
	if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
		fputs(main_usage, stdout);
		return 0;
	}
	if (strcmp(name, "--version") == 0) {
		printf("gomortem %s\n", GOMORTEM_VERSION);
		return 0;
	}
	if (strcmp(name, "help") == 0) {
		/* help about help is this help (its error hint once pointed back at itself) */
		if (argc < 3 || strcmp(argv[2], "help") == 0 || strcmp(argv[2], "--help") == 0 ||
		    strcmp(argv[2], "-h") == 0) {
			fputs(main_usage, stdout);
			return 0;
		}
		const struct command *cmd = find_command(argv[2]);
		if (!cmd) {
			fprintf(stderr, "gomortem help: unknown command '%s'\n", argv[2]);
			fputs(main_usage, stderr);
			return 2;
		}
		char *help_argv[] = { argv[2], "--help", NULL };
		return cmd->run(2, help_argv);
	}
	const struct command *cmd = find_command(name);
	if (!cmd) {
		fprintf(stderr, "gomortem: unknown command '%s'\n", name);
		fputs(main_usage, stderr);
		return 2;
	}
	/* An analysis touches gigabytes of arrays: huge pages spare it most
	 * page faults (huge_pages.h). */
	if (strcmp(name, "analyze") == 0)
		gm_reexec_with_huge_pages(argv);
	return cmd->run(argc - 1, argv + 1);
}
