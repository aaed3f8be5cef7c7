/* cli: the subcommands of the gomortem command line. Each returns the
 * process exit status (docs/exit-codes.md) and handles its own --help. */
#ifndef GOMORTEM_CLI_H
#define GOMORTEM_CLI_H

#include <stdbool.h>

#include "analyzer/util/version.h"

int cmd_info(int argc, char **argv);
int cmd_dwarf(int argc, char **argv);
int cmd_sql(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_objects(int argc, char **argv);
int cmd_path(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_pprof(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int cmd_watch(int argc, char **argv);

struct gm_capture_result;
/* The summary line of a capture, on stderr. */
void cli_print_capture(const char *output, const struct gm_capture_result *r);

/* Parse a process id; -1 when it is one (in *RET), else the usage status. */
int cli_parse_pid(const char *command, const char *text, int *ret);

/* The help text every command that reads a core shares. */
#define CLI_CORE_INPUT_HELP \
	"CORE may be compressed with zstd, lz4 or xz (told by its magic number, not its\n" \
	"name), as systemd-coredump keeps cores, or be '-' for standard input.  Such a\n" \
	"core is decompressed once into a temporary file that has no name, so nothing is\n" \
	"left behind however the command ends.  systemd-coredump's user.coredump.*\n" \
	"attributes of the core file are read when present.\n"
#define CLI_TMPDIR_OPTION_HELP(dflt) \
	"  --tmpdir DIR       where a compressed or piped core is decompressed\n" \
	"                     (default: " dflt ")\n"
#define CLI_TMPDIR_DEFAULT "$TMPDIR, else /var/tmp"

/* For commands whose only option is --help: parse it (leaving optind at
 * the first argument).  Returns -1 to go on, else the exit status: 0 after
 * printing USAGE for --help, the usage status for any other option. */
int cli_help_only(int argc, char **argv, const char *command, const char *usage);

/* The options of every command that opens a core (info, objects, analyze):
 * put CLI_CORE_LONGOPTS in the command's getopt_long table, its short
 * options after CLI_CORE_SHORTOPTS, and hand each option to cli_core_option
 * before the command's own.  The codes stay clear of short options and of
 * the commands' own letters. */
enum {
	CLI_OPT_RUNTIME_FROM = 0x100,
	CLI_OPT_ALLOW_TRUNCATED,
	CLI_OPT_TMPDIR,
	CLI_OPT_FORCE_VERSION,
};
#define CLI_CORE_SHORTOPTS "e:h"
#define CLI_CORE_LONGOPTS                                                      \
	{ "exe", required_argument, NULL, 'e' },                               \
	{ "runtime-from", required_argument, NULL, CLI_OPT_RUNTIME_FROM },     \
	{ "allow-truncated", no_argument, NULL, CLI_OPT_ALLOW_TRUNCATED },     \
	{ "tmpdir", required_argument, NULL, CLI_OPT_TMPDIR },                 \
	{ "force-version", no_argument, NULL, CLI_OPT_FORCE_VERSION },         \
	{ "help", no_argument, NULL, 'h' }

struct gm_program_options;
/* Apply core option C (with ARG) to OPTIONS; false when C is not one. */
bool cli_core_option(int c, const char *arg, struct gm_program_options *options);

/* After the options: the one CORE argument into OPTIONS (progress when
 * stderr is a terminal).  -1 to go on, else the usage status. */
int cli_core_argument(int argc, char **argv, const char *command, struct gm_program_options *options);

/* Print "gomortem: MESSAGE" and a hint to run --help; returns the usage exit status. */
int cli_usage_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
