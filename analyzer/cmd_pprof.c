/* gomortem pprof: the live heap of an analysis database as a heap profile
 * for go tool pprof (analyzer/pprof/heap_profile.h says what it holds). */
#include <getopt.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "analyzer/pprof/analysis_db.h"
#include "analyzer/pprof/heap_profile.h"
#include "cli.h"
#include "error.h"

static const char pprof_usage[] =
	"usage: gomortem pprof DB -o FILE.pb.gz [--sample inuse_space|inuse_objects]\n"
	"\n"
	"Write the live heap of an analysis database as a gzip-compressed pprof\n"
	"heap profile (sample types inuse_objects and inuse_space), for\n"
	"'go tool pprof FILE.pb.gz'.  Every reachable object is counted once,\n"
	"under the chain of its dominators, leaf first: its type, then each\n"
	"dominator's type with the field pointing on (main.Node.next), then the\n"
	"root that alone keeps it alive (\"bss root main.cache\"), or \"(several\n"
	"roots>\".  Chains deeper than 64 frames are cut with a \"…\" frame.\n"
	"\n"
	"  -o, --output FILE   the profile to write (required): given the name when\n"
	"                      complete; a device or FIFO is written to directly\n"
	"      --sample TYPE   default sample type: inuse_space (default) or inuse_objects\n"
	"  -q, --quiet         no summary line on stderr\n"
	"  -h, --help          show this help\n"
	"\n"
	"Exit status: 0 written; 3 DB cannot be read or FILE written; 11 DB is not\n"
	"a gomortem database; others in docs/exit-codes.md.\n";

int cmd_pprof(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "sample", required_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out_path = NULL;
	enum heap_profile_sample sample = HEAP_PROFILE_INUSE_SPACE;
	int quiet = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "ho:q", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': out_path = optarg; break;
		case 'q': quiet = 1; break;
		case 's':
			if (strcmp(optarg, "inuse_space") == 0)
				sample = HEAP_PROFILE_INUSE_SPACE;
			else if (strcmp(optarg, "inuse_objects") == 0)
				sample = HEAP_PROFILE_INUSE_OBJECTS;
			else
				return cli_usage_error("pprof", "--sample must be inuse_space or inuse_objects, not '%s'",
						       optarg);
			break;
		case 'h': fputs(pprof_usage, stdout); return 0;
		default: return cli_usage_error("pprof", "bad option");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("pprof", "expected one DB argument");
	if (!out_path)
		return cli_usage_error("pprof", "missing -o FILE");
	const char *db_path = argv[optind];
	sqlite3 *db = NULL;
	struct gm_error *err = analysis_db_open(db_path, &db);
	if (!err)
		err = analysis_db_require_graph(db, db_path, "pprof");
	if (err) {
		sqlite3_close(db);
		return gm_error_report(err);
	}
	struct heap_profile_stats stats;
	err = heap_profile_write(db, db_path, out_path, sample, &stats);
	sqlite3_close(db);
	if (err)
		return gm_error_report(err);
	if (!quiet)
		fprintf(stderr, "gomortem: %s: %" PRId64 " live objects, %" PRId64 " bytes in %zu samples, %zu frames%s\n",
			out_path, stats.objects, stats.bytes, stats.samples, stats.functions,
			stats.truncated ? " (deep chains cut at 64 frames)" : "");
	return 0;
}
