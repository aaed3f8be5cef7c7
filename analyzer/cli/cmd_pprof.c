/* gomortem pprof: the live heap of an analysis database as a heap profile
 * for go tool pprof (analyzer/pprof/heap_profile.h says what it holds), or
 * with --alloc the runtime's own heap profile (analyzer/pprof/alloc_profile.h). */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "analyzer/pprof/alloc_profile.h"
#include "analyzer/pprof/analysis_db.h"
#include "analyzer/pprof/heap_profile.h"
#include "cli.h"
#include "analyzer/util/error.h"
#include "analyzer/util/progress.h"

static const char pprof_usage[] =
	"usage: gomortem pprof DB -o FILE.pb.gz [--sample inuse_space|inuse_objects]\n"
	"       gomortem pprof DB -o FILE.pb.gz --alloc [--now]\n"
	"\n"
	"Write the live heap of an analysis database as a gzip-compressed pprof\n"
	"heap profile (sample types inuse_objects and inuse_space), for\n"
	"'go tool pprof FILE.pb.gz'.  Every reachable object is counted once,\n"
	"under the chain of its dominators, leaf first: its type, then each\n"
	"dominator's type with the field pointing on (main.Node.next), then the\n"
	"root that alone keeps it alive (\"bss root main.cache\"), or \"(several\n"
	"roots>\".  Chains deeper than 64 frames are cut with a \"…\" frame.\n"
	"\n"
	"With --alloc: the heap profile the process would have served at\n"
	"/debug/pprof/heap when it died (runtime/pprof's own format: alloc_objects,\n"
	"alloc_space, inuse_objects, inuse_space by allocation stack, sampled one\n"
	"allocation per runtime.MemProfileRate bytes and scaled as the runtime\n"
	"scales), rebuilt from the runtime's memory profile in the core.  That\n"
	"profile is as of the last completed GC; --now folds in the cycles the\n"
	"runtime had not published yet (allocations since the last GC, frees of\n"
	"the sweep after it): the same profile without its lag.\n"
	"\n"
	"  -o, --output FILE   the profile to write (required): given the name when\n"
	"                      complete; a device or FIFO is written to directly\n"
	"      --sample TYPE   default sample type: inuse_space (default) or inuse_objects\n"
	"      --alloc         the runtime's heap profile by allocation site (see above)\n"
	"      --now           with --alloc: include the cycles not yet published\n"
	"      --progress      report progress on stderr (default: when stderr is a\n"
	"                      terminal); not with --alloc, which is quick\n"
	"  -q, --quiet         no progress and no summary line on stderr\n"
	"  -h, --help          show this help\n"
	"\n"
	"Exit status: 0 written; 2 bad usage, or --alloc on a database without a\n"
	"memory profile; 3 DB cannot be read or FILE written; 11 DB is not a\n"
	"gomortem database; others in docs/exit-codes.md.\n";

/* pprof --alloc: needs no graph, only the memory profile analyze stored. */
static int write_alloc_profile(const char *db_path, const char *out_path, bool now, int quiet)
{
	sqlite3 *db = NULL;
	struct alloc_profile_stats stats;
	struct gm_error *err = analysis_db_open(db_path, &db);
	if (!err)
		err = alloc_profile_write(db, db_path, out_path, now, &stats);
	sqlite3_close(db);
	if (err)
		return gm_error_report(err);
	if (!quiet)
		fprintf(stderr, "gomortem: %s: %zu allocation sites (%s), %zu locations, in use %" PRId64
			" objects, %" PRId64 " bytes (scaled at MemProfileRate %" PRId64 ")\n",
			out_path, stats.samples, now ? "every cycle" : "published", stats.locations,
			stats.inuse_objects, stats.inuse_bytes, stats.rate);
	return 0;
}

int cmd_pprof(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "sample", required_argument, NULL, 's' },
		{ "alloc", no_argument, NULL, 'a' },
		{ "now", no_argument, NULL, 'n' },
		{ "progress", no_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out_path = NULL;
	enum heap_profile_sample sample = HEAP_PROFILE_INUSE_SPACE;
	int quiet = 0, alloc = 0, now = 0, sample_given = 0, force_progress = 0, c;
	struct gm_progress progress;
	gm_progress_init(&progress, false);  /* the start of the command */
	optind = 1;
	while ((c = getopt_long(argc, argv, "ho:q", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': out_path = optarg; break;
		case 'q': quiet = 1; break;
		case 'p': force_progress = 1; break;
		case 'a': alloc = 1; break;
		case 'n': now = 1; break;
		case 's':
			sample_given = 1;
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
	if (now && !alloc)
		return cli_usage_error("pprof", "--now goes with --alloc");
	if (sample_given && alloc)
		return cli_usage_error("pprof", "--sample does not go with --alloc (its profile has four sample types)");
	const char *db_path = argv[optind];
	if (alloc)
		return write_alloc_profile(db_path, out_path, now, quiet);
	sqlite3 *db = NULL;
	struct gm_error *err = analysis_db_open(db_path, &db);
	if (!err)
		err = analysis_db_require_graph(db, db_path, "pprof");
	if (err) {
		sqlite3_close(db);
		return gm_error_report(err);
	}
	struct heap_profile_stats stats;
	progress.on = !quiet && (force_progress || isatty(STDERR_FILENO));
	err = heap_profile_write(db, db_path, out_path, sample, &progress, &stats);
	sqlite3_close(db);
	if (err)
		return gm_error_report(err);
	unsigned long rss, peak;
	gm_resident_mb(&rss, &peak);
	if (!quiet)
		fprintf(stderr, "gomortem: %s: %" PRId64 " live objects, %" PRId64 " bytes in %zu samples, %zu frames%s, "
			"%.2f s, peak RSS %lu MiB\n", out_path, stats.objects, stats.bytes, stats.samples, stats.functions,
			stats.truncated ? " (deep chains cut at 64 frames)" : "", gm_seconds_now() - progress.start, peak);
	return 0;
}
