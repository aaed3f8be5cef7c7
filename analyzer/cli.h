/* cli: the subcommands of the gomortem command line. Each returns the
 * process exit status (docs/exit-codes.md) and handles its own --help. */
#ifndef GOMORTEM_CLI_H
#define GOMORTEM_CLI_H

#define GOMORTEM_VERSION "0.1.0"

int cmd_info(int argc, char **argv);
int cmd_dwarf(int argc, char **argv);
int cmd_sql(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_objects(int argc, char **argv);
int cmd_path(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_pprof(int argc, char **argv);
int cmd_diff(int argc, char **argv);

/* For commands whose only option is --help: parse it (leaving optind at
 * the first argument).  Returns -1 to go on, else the exit status: 0 after
 * printing USAGE for --help, the usage status for any other option. */
int cli_help_only(int argc, char **argv, const char *command, const char *usage);

/* Print "gomortem: MESSAGE" and a hint to run --help; returns the usage exit status. */
int cli_usage_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
