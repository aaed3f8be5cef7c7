/* gomortem report: the command line of analyzer/report (report.h): its
 * options, and the report written to a file whole or not at all, or to
 * stdout. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/report/report.h"
#include "analyzer/util/error.h"
#include "analyzer/util/output.h"
#include "analyzer/util/strbuf.h"
#include "cli.h"

static const char report_usage[] =
	"usage: gomortem report DB [--format md|html|text] [-o FILE] [--top N]\n"
	"                          [--include-contents]\n"
	"\n"
	"Write a report of the analysis database DB (made by gomortem analyze), read\n"
	"only from the database: first the leak suspects (what keeps a large share of\n"
	"the live heap, what it accumulates, who holds it, a path from its root),\n"
	"then a summary (program, pid, Go version, signal, core),\n"
	"where every mapped byte went (the memory_breakdown view) beside the runtime's\n"
	"own counters, the top types by bytes, count, retained and garbage bytes, the\n"
	"top retainers with a path from a GC root, goroutines grouped by identical\n"
	"stack, span fragmentation per size class, unsaved memory and warnings.\n"
	"\n"
	"  -f, --format FMT      md (Markdown, default; under 65,536 characters: lists\n"
	"                        are shortened until it fits, with a note), html (one\n"
	"                        self-contained file: inline CSS and SVG charts, no\n"
	"                        scripts, no external resources) or text (aligned tables)\n"
	"  -o, --output FILE     write to FILE instead of stdout: an anonymous file given\n"
	"                        the name when complete; a device or FIFO is written to\n"
	"                        directly (-o /dev/null)\n"
	"  -n, --top N           entries per list (default 20)\n"
	"      --include-contents\n"
	"                        reserved: memory contents are not stored by analyze\n"
	"                        yet, so no report includes them\n"
	"  -h, --help            show this help\n"
	"\n"
	"Exit status: 0 ok; 2 usage error; 3 DB or FILE cannot be opened, read or\n"
	"written; 11 DB is not a gomortem database, or an SQL error; others in\n"
	"docs/exit-codes.md.\n";

#define DEFAULT_TOP 20
#define MAX_TOP 100000

static struct gm_error *write_all(FILE *f, const char *path, const struct strbuf *sb)
{
	if ((sb->len && fwrite(sb->data, 1, sb->len, f) != sb->len) || fflush(f) != 0)
		return gm_error_create(GM_ERR_IO, "%s: write error: %s", path, strerror(errno));
	return NULL;
}

/* Write to PATH whole or not at all (a device or FIFO: streamed; util/output.h). */
static struct gm_error *write_file(const char *path, const struct strbuf *sb)
{
	struct gm_output out;
	struct gm_error *err = gm_output_open(path, &out);
	if (!err && (err = write_all(out.file, path, sb)))
		gm_output_abort(&out);
	else if (!err)
		err = gm_output_commit(&out);
	return err;
}

/* ---- the command ---- */

static int parse_options(int argc, char **argv, struct report_options *ret)
{
	enum { OPT_INCLUDE_CONTENTS = 256 };
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "top", required_argument, NULL, 'n' },
		{ "include-contents", no_argument, NULL, OPT_INCLUDE_CONTENTS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct report_options o = { .format = FORMAT_MD, .top = DEFAULT_TOP };
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:o:n:h", longopts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'f':
			if (strcmp(optarg, "md") == 0 || strcmp(optarg, "markdown") == 0)
				o.format = FORMAT_MD;
			else if (strcmp(optarg, "html") == 0)
				o.format = FORMAT_HTML;
			else if (strcmp(optarg, "text") == 0 || strcmp(optarg, "txt") == 0)
				o.format = FORMAT_TEXT;
			else
				return cli_usage_error("report", "unknown format '%s' (md, html or text)", optarg);
			break;
		case 'o':
			o.out_path = optarg;
			break;
		case 'n':
			errno = 0;
			o.top = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || o.top < 1 || o.top > MAX_TOP)
				return cli_usage_error("report", "--top wants a number from 1 to %d, not '%s'", MAX_TOP,
						       optarg);
			break;
		case OPT_INCLUDE_CONTENTS:
			o.include_contents = true;
			break;
		case 'h':
			fputs(report_usage, stdout);
			return -1;
		default:
			return cli_usage_error("report", "bad option");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("report", argc - optind == 0 ? "expected DB" : "expected one DB, got more");
	o.db_path = argv[optind];
	*ret = o;
	return 0;
}

int cmd_report(int argc, char **argv)
{
	struct report_options options;
	int status = parse_options(argc, argv, &options);
	if (status)
		return status < 0 ? 0 : status;
	struct strbuf out = { 0 };
	struct gm_error *err = report_make(&options, &out);
	if (!err)
		err = options.out_path ? write_file(options.out_path, &out) : write_all(stdout, "stdout", &out);
	free(out.data);
	return err ? gm_error_report(err) : 0;
}
