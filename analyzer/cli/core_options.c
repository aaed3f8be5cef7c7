/* The options every command that opens a core shares (cli.h). */
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "analyzer/core/elf_core.h"
#include "analyzer/program/program.h"

bool cli_core_option(int c, const char *arg, struct gm_program_options *options)
{
	switch (c) {
	case 'e': options->exe_path = arg; return true;
	case CLI_OPT_RUNTIME_FROM: options->runtime_from = arg; return true;
	case CLI_OPT_ALLOW_TRUNCATED: options->core_flags |= GM_CORE_ALLOW_TRUNCATED; return true;
	case CLI_OPT_TMPDIR: options->acquire.tmpdir = arg; return true;
	case CLI_OPT_FORCE_VERSION: options->force_version = true; return true;
	default: return false;
	}
}

int cli_core_argument(int argc, char **argv, const char *command, struct gm_program_options *options)
{
	if (optind + 1 != argc)
		return cli_usage_error(command, "expected one CORE argument, got %d", argc - optind);
	options->core_path = argv[optind];
	options->acquire.progress = isatty(STDERR_FILENO);
	return -1;
}
