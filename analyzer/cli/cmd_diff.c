/* gomortem diff: per-type growth between two analysis databases, typically
 * two cores of the same program taken some time apart.  Each database is
 * read with one scan of its objects (counted in C by type id, then named:
 * types of the same name are one line). */
#include <getopt.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/pprof/analysis_db.h"
#include "json_writer.h"
#include "analyzer/util/collection_name.h"
#include "analyzer/util/u64_map.h"
#include "analyzer/util/units.h"
#include "cli.h"
#include "analyzer/util/error.h"

static const char diff_usage[] =
	"usage: gomortem diff A.db B.db [--top N] [--csv | --json] [--all] [--exact]\n"
	"\n"
	"Compare two analysis databases type by type: the live (reachable) objects\n"
	"and bytes of each type in A and in B and the change from A to B, largest\n"
	"byte growth first.  A type missing on one side counts 0 there.  Types are\n"
	"counted by collection: a slice's backing arrays of every length as []T,\n"
	"a map's header, directory, tables and groups (or buckets) as map[K]V, a\n"
	"channel's header as chan T (--exact: one line per exact type).  The table\n"
	"ends with the totals and the garbage (allocated, unreachable) of each;\n"
	"its last column is the byte change in units (KiB, MiB, ...).\n"
	"A warning is printed when the two come from different executables\n"
	"(meta.exe_build_id); they are compared all the same.\n"
	"\n"
	"      --top N   print the first N types only (default 30 for the table,\n"
	"                all for --csv and --json; 0 for all)\n"
	"      --csv     comma-separated values: type,count_a,count_b,count_change,\n"
	"                bytes_a,bytes_b,bytes_change (types only, no totals)\n"
	"      --json    one JSON object: a, b (the paths), live_only, types (each\n"
	"                with the seven fields of --csv), more_types (left out by\n"
	"                --top), total and garbage (the six counts of each)\n"
	"      --all     count all allocated objects, garbage included\n"
	"      --exact   one line per exact type ([128]map.group[string]*main.Record,\n"
	"                table<string,*main.Record>, ...), as the types table names it\n"
	"  -h, --help    show this help\n"
	"\n"
	"Exit status: 0 compared; 3 a file cannot be read; 11 a file is not a\n"
	"gomortem database; others in docs/exit-codes.md.\n";

#define DEFAULT_TOP 30
#define UNKNOWN_TYPE "(unknown type)"

/* Objects and bytes of one type (or a total) in one database. */
struct tally {
	int64_t count, bytes;
};

/* One line of the comparison. */
struct type_row {
	char *name;
	struct tally side[2];  /* A, B */
};

struct diff {
	struct type_row *rows;
	size_t count, cap;
	struct gm_u64_map by_name;  /* FNV-1a of the name (probed linearly on collision) -> row */
	struct tally live[2], garbage[2];
	bool exact;                 /* rows by exact type, not by collection */
};

static uint64_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

/* The row of type NAME, added if new. */
static struct gm_error *diff_row(struct diff *d, const char *name, struct type_row **ret)
{
	uint64_t h = name_hash(name), at;
	for (; gm_u64_map_find(&d->by_name, h, &at); h++) {
		if (strcmp(d->rows[at].name, name) == 0) {
			*ret = &d->rows[at];
			return NULL;
		}
	}
	if (d->count == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 256;
		struct type_row *rows = realloc(d->rows, cap * sizeof(*rows));
		if (!rows)
			return &gm_error_nomem;
		d->rows = rows;
		d->cap = cap;
	}
	char *copy = strdup(name);
	if (!copy || gm_u64_map_insert(&d->by_name, h, d->count)) {
		free(copy);
		return &gm_error_nomem;
	}
	d->rows[d->count] = (struct type_row){ .name = copy };
	*ret = &d->rows[d->count++];
	return NULL;
}

static void diff_deinit(struct diff *d)
{
	for (size_t i = 0; i < d->count; i++)
		free(d->rows[i].name);
	free(d->rows);
	gm_u64_map_free(&d->by_name);
}

/* Tallies per types.id of one database. */
struct by_type {
	struct gm_u64_map index;  /* types.id + 1 (0: type unknown) -> slot */
	struct tally *tallies;
	int64_t *type_ids;        /* -1 for unknown */
	size_t count, cap;
};

static struct gm_error *by_type_add(struct by_type *t, int64_t type_id, int64_t count, int64_t bytes)
{
	uint64_t key = type_id >= 0 ? (uint64_t)type_id + 1 : 0, slot;
	if (!gm_u64_map_find(&t->index, key, &slot)) {
		if (t->count == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 256;
			struct tally *tallies = realloc(t->tallies, cap * sizeof(*tallies));
			if (tallies)
				t->tallies = tallies;
			int64_t *ids = realloc(t->type_ids, cap * sizeof(*ids));
			if (ids)
				t->type_ids = ids;
			if (!tallies || !ids)
				return &gm_error_nomem;
			t->cap = cap;
		}
		slot = t->count++;
		t->tallies[slot] = (struct tally){ 0 };
		t->type_ids[slot] = type_id >= 0 ? type_id : -1;
		if (gm_u64_map_insert(&t->index, key, slot))
			return &gm_error_nomem;
	}
	t->tallies[slot].count += count;
	t->tallies[slot].bytes += bytes;
	return NULL;
}

static void by_type_deinit(struct by_type *t)
{
	gm_u64_map_free(&t->index);
	free(t->tallies);
	free(t->type_ids);
}

/* Counts and byte totals of a database are bounded by the address space:
 * a crafted database's extreme values are refused, so that no sum or
 * difference of them (all within 2^60) can overflow. */
#define MAX_TOTAL ((int64_t)1 << 60)

/* *TOTAL += V when V and the new total are within [0, MAX_TOTAL]. */
static bool add_bounded(int64_t *total, int64_t v)
{
	if (v < 0 || v > MAX_TOTAL || *total > MAX_TOTAL - v)
		return false;
	*total += v;
	return true;
}

/* The objects of database SIDE (0 A, 1 B) by type id, from the analyzer's
 * per-type sums (type_stats): live ones, or all with ALL. */
static struct gm_error *scan_objects(struct diff *d, sqlite3 *db, const char *path, int side, bool all,
				     struct by_type *ret)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT type_id, reachable_count, reachable_bytes, garbage_count, garbage_bytes "
			       "FROM type_stats", -1, &st, NULL) != SQLITE_OK)
		return analysis_db_error(db, path);
	struct gm_error *err = NULL;
	int rc;
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t type_id = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 0);
		int64_t live_count = sqlite3_column_int64(st, 1), live_bytes = sqlite3_column_int64(st, 2);
		int64_t garbage_count = sqlite3_column_int64(st, 3), garbage_bytes = sqlite3_column_int64(st, 4);
		if (!add_bounded(&d->live[side].count, live_count) || !add_bounded(&d->live[side].bytes, live_bytes) ||
		    !add_bounded(&d->garbage[side].count, garbage_count) ||
		    !add_bounded(&d->garbage[side].bytes, garbage_bytes)) {
			err = gm_error_create(GM_ERR_SQL, "%s: type_stats of type %" PRId64 " holds a negative count or "
					      "one no address space could hold: not a database gomortem wrote",
					      path, type_id);
			break;
		}
		int64_t count = live_count + (all ? garbage_count : 0);
		if (count > 0)  /* a type with no object counted gets no line */
			err = by_type_add(ret, type_id, count, live_bytes + (all ? garbage_bytes : 0));
	}
	if (!err && rc != SQLITE_DONE)
		err = analysis_db_error(db, path);
	sqlite3_finalize(st);
	return err;
}

/* Name the per-type tallies of database SIDE and add them to the rows. */
static struct gm_error *name_types(struct diff *d, sqlite3 *db, const char *path, int side,
				   const struct by_type *types)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT name FROM types WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
		return analysis_db_error(db, path);
	struct gm_error *err = NULL;
	for (size_t i = 0; i < types->count && !err; i++) {
		char *name = NULL;
		if (types->type_ids[i] >= 0) {
			sqlite3_reset(st);
			sqlite3_bind_int64(st, 1, types->type_ids[i]);
			int rc = sqlite3_step(st);
			if (rc == SQLITE_ROW && sqlite3_column_text(st, 0))
				name = strdup((const char *)sqlite3_column_text(st, 0));
			else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
				err = analysis_db_error(db, path);
			if (!err && rc == SQLITE_ROW && !name)
				err = &gm_error_nomem;
		}
		struct type_row *row;
		char collection[512];
		const char *shown = !name ? UNKNOWN_TYPE : d->exact ? name :
				    gm_collection_name(name, collection, sizeof(collection));
		if (!err)
			err = diff_row(d, shown, &row);
		if (!err) {
			row->side[side].count += types->tallies[i].count;
			row->side[side].bytes += types->tallies[i].bytes;
		}
		free(name);
	}
	sqlite3_finalize(st);
	return err;
}

static struct gm_error *load_side(struct diff *d, sqlite3 *db, const char *path, int side, bool all)
{
	struct by_type types = { 0 };
	struct gm_error *err = scan_objects(d, db, path, side, all, &types);
	if (!err)
		err = name_types(d, db, path, side, &types);
	by_type_deinit(&types);
	return err;
}

/* Largest byte growth first, then count growth, then by name. */
static int compare_rows(const void *pa, const void *pb)
{
	const struct type_row *a = pa, *b = pb;
	int64_t da = a->side[1].bytes - a->side[0].bytes, db = b->side[1].bytes - b->side[0].bytes;
	if (da != db)
		return da > db ? -1 : 1;
	da = a->side[1].count - a->side[0].count;
	db = b->side[1].count - b->side[0].count;
	if (da != db)
		return da > db ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* ---- output ---- */

static void print_csv_field(const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static void print_csv(const struct diff *d, size_t n)
{
	printf("type,count_a,count_b,count_change,bytes_a,bytes_b,bytes_change\n");
	for (size_t i = 0; i < n; i++) {
		const struct type_row *r = &d->rows[i];
		print_csv_field(r->name);
		printf(",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "\n", r->side[0].count,
		       r->side[1].count, r->side[1].count - r->side[0].count, r->side[0].bytes, r->side[1].bytes,
		       r->side[1].bytes - r->side[0].bytes);
	}
}

static void print_line(int width, const char *name, struct tally a, struct tally b)
{
	char size[32];
	printf("%-*s %12" PRId64 " %12" PRId64 " %+12" PRId64 " %14" PRId64 " %14" PRId64 " %+14" PRId64 " %12s\n",
	       width, name, a.count, b.count, b.count - a.count, a.bytes, b.bytes, b.bytes - a.bytes,
	       gm_format_bytes(size, sizeof(size), b.bytes - a.bytes, 1));
}

/* The six counts of A and B, and their changes, as members of the open object. */
static void json_tallies(struct gm_json *j, struct tally a, struct tally b)
{
	static const char *const keys[] = { "count_a", "count_b", "count_change", "bytes_a", "bytes_b", "bytes_change" };
	const int64_t values[] = { a.count, b.count, b.count - a.count, a.bytes, b.bytes, b.bytes - a.bytes };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		gm_json_key(j, keys[i]);
		gm_json_int(j, values[i]);
	}
}

static void print_json(const struct diff *d, size_t n, char *paths[2], bool all)
{
	struct gm_json j;
	gm_json_init(&j, stdout);
	gm_json_begin_object(&j);
	gm_json_key(&j, "a");
	gm_json_string(&j, paths[0]);
	gm_json_key(&j, "b");
	gm_json_string(&j, paths[1]);
	gm_json_key(&j, "live_only");
	gm_json_bool(&j, !all);
	gm_json_key(&j, "types");
	gm_json_begin_array(&j);
	for (size_t i = 0; i < n; i++) {
		gm_json_begin_object(&j);
		gm_json_key(&j, "type");
		gm_json_string(&j, d->rows[i].name);
		json_tallies(&j, d->rows[i].side[0], d->rows[i].side[1]);
		gm_json_end_object(&j);
	}
	gm_json_end_array(&j);
	gm_json_key(&j, "more_types");
	gm_json_uint(&j, d->count - n);
	gm_json_key(&j, "total");
	gm_json_begin_object(&j);
	json_tallies(&j, d->live[0], d->live[1]);
	gm_json_end_object(&j);
	gm_json_key(&j, "garbage");
	gm_json_begin_object(&j);
	json_tallies(&j, d->garbage[0], d->garbage[1]);
	gm_json_end_object(&j);
	gm_json_end_object(&j);
	putchar('\n');
}

static void print_table(const struct diff *d, size_t n, bool all)
{
	int width = 24;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(d->rows[i].name);
		if ((int)len > width)
			width = len > 80 ? 80 : (int)len;
	}
	printf("%-*s %12s %12s %12s %14s %14s %14s %12s\n", width, all ? "type (all allocated)" : "type (live)",
	       "count A", "count B", "change", "bytes A", "bytes B", "change", "size change");
	for (size_t i = 0; i < n; i++)
		print_line(width, d->rows[i].name, d->rows[i].side[0], d->rows[i].side[1]);
	if (n < d->count)
		printf("(%zu more types; --top 0 shows all)\n", d->count - n);
	print_line(width, "total live", d->live[0], d->live[1]);
	print_line(width, "garbage", d->garbage[0], d->garbage[1]);
}

/* ---- the command ---- */

/* Warn when the two databases come from different executables. */
static struct gm_error *check_same_program(sqlite3 *dbs[2], char *paths[2])
{
	char *ids[2] = { NULL, NULL };
	struct gm_error *err = analysis_db_meta(dbs[0], paths[0], "exe_build_id", &ids[0]);
	if (!err)
		err = analysis_db_meta(dbs[1], paths[1], "exe_build_id", &ids[1]);
	if (!err && ids[0] && ids[1] && strcmp(ids[0], ids[1]) != 0)
		fprintf(stderr, "gomortem diff: warning: %s and %s come from different executables "
				"(build IDs %s and %s); comparing anyway\n", paths[0], paths[1], ids[0], ids[1]);
	free(ids[0]);
	free(ids[1]);
	return err;
}

enum diff_format { DIFF_TABLE, DIFF_CSV, DIFF_JSON };

static struct gm_error *run_diff(char *paths[2], enum diff_format format, bool all, bool exact, long top)
{
	sqlite3 *dbs[2] = { NULL, NULL };
	struct diff d = { .exact = exact };
	struct gm_error *err = analysis_db_open(paths[0], &dbs[0]);
	if (!err)
		err = analysis_db_open(paths[1], &dbs[1]);
	for (int side = 0; side < 2 && !err; side++)
		err = analysis_db_require_graph(dbs[side], paths[side], "diff");
	if (!err)
		err = check_same_program(dbs, paths);
	for (int side = 0; side < 2 && !err; side++)
		err = load_side(&d, dbs[side], paths[side], side, all);
	if (!err) {
		if (d.count)
			qsort(d.rows, d.count, sizeof(*d.rows), compare_rows);
		size_t n = top < 0 ? (format != DIFF_TABLE ? d.count : DEFAULT_TOP) : top == 0 ? d.count : (size_t)top;
		if (n > d.count)
			n = d.count;
		if (format == DIFF_CSV)
			print_csv(&d, n);
		else if (format == DIFF_JSON)
			print_json(&d, n, paths, all);
		else
			print_table(&d, n, all);
		if (fflush(stdout) != 0)
			err = gm_error_create(GM_ERR_IO, "standard output: write failed");
	}
	diff_deinit(&d);
	sqlite3_close(dbs[0]);
	sqlite3_close(dbs[1]);
	return err;
}

int cmd_diff(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "top", required_argument, NULL, 't' },
		{ "csv", no_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "exact", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum diff_format format = DIFF_TABLE;
	bool all = false, exact = false;
	long top = -1;
	int c;
	char *end;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			top = strtol(optarg, &end, 10);
			if (*end || end == optarg || top < 0)
				return cli_usage_error("diff", "--top wants a count, not '%s'", optarg);
			break;
		case 'c':
		case 'j':
			if (format != DIFF_TABLE)
				return cli_usage_error("diff", "--csv and --json exclude each other");
			format = c == 'c' ? DIFF_CSV : DIFF_JSON;
			break;
		case 'a': all = true; break;
		case 'e': exact = true; break;
		case 'h': fputs(diff_usage, stdout); return 0;
		default: return cli_usage_error("diff", "bad option");
		}
	}
	if (argc - optind != 2)
		return cli_usage_error("diff", "expected two databases A.db and B.db");
	char *paths[2] = { argv[optind], argv[optind + 1] };
	struct gm_error *err = run_diff(paths, format, all, exact, top);
	return err ? gm_error_report(err) : 0;
}
