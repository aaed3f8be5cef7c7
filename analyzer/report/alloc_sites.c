/* The report's "Allocation sites" section: where what the leak suspects keep
 * alive, and the live objects of the top types, were allocated, from the
 * runtime's memory profile (tables alloc_sites, suspect_alloc_sites; view
 * type_alloc_sites). */
#include "report_internal.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/pprof/alloc_profile.h"

/* Sites listed per suspect or type. */
#define ALLOC_SITES_EACH 3

/* "main.load (server.go:42)": the function and the file's last element. */
static const char *site_label(char *buf, size_t len, const char *func, const char *file, int64_t line)
{
	const char *base = file ? strrchr(file, '/') : NULL;
	base = base ? base + 1 : file;
	if (!func)
		snprintf(buf, len, "(runtime only)");
	else if (base && line > 0)
		snprintf(buf, len, "%s (%s:%" PRId64 ")", func, base, line);
	else
		snprintf(buf, len, "%s", func);
	return buf;
}

/* One table of (owner, func, file, line, objects, bytes) rows from SQL. */
static struct gm_error *alloc_site_table(struct report *r, struct doc *d, const char *sql, const char *owner,
					 int64_t *ret_rows)
{
	sqlite3_stmt *stmt;
	struct gm_error *err = report_prepare(r, sql, &stmt);
	if (err)
		return err;
	sqlite3_bind_int64(stmt, 1, r->top);
	sqlite3_bind_int64(stmt, 2, ALLOC_SITES_EACH);
	const char *cols[] = { owner, "allocated at:c", "sampled objects:r", "sampled bytes:r", NULL };
	struct block *t = NULL;
	bool row = false;
	*ret_rows = 0;
	while (!(err = report_step(r, stmt, &row)) && row) {
		char site[CELL_MAX], n[NUM_BUF], b[NUM_BUF];
		if (!t)
			t = doc_table(d, cols);
		table_row(d, t, type_name(report_col_text(stmt, 0)),
			  site_label(site, sizeof(site), report_col_text(stmt, 1), report_col_text(stmt, 2), sqlite3_column_int64(stmt, 3)),
			  fmt_int(n, sqlite3_column_int64(stmt, 4)), fmt_bytes(b, sqlite3_column_int64(stmt, 5)));
		(*ret_rows)++;
	}
	sqlite3_finalize(stmt);
	return err;
}

static const char SUSPECT_SITES_SQL[] =
	"SELECT '#' || s.id || ' ' || s.name, f.func, f.file, f.line, f.sampled_objects, f.sampled_bytes FROM "
	"(SELECT *, ROW_NUMBER() OVER (PARTITION BY suspect_id ORDER BY sampled_bytes DESC, sampled_objects DESC) "
	"AS rank FROM suspect_alloc_sites_by_frame) f JOIN suspects s ON s.id = f.suspect_id "
	"WHERE s.id <= ? AND f.rank <= ? ORDER BY s.id, f.rank";

static const char TYPE_SITES_SQL[] =
	"WITH top AS (SELECT type_id, reachable_bytes AS rb FROM type_stats WHERE type_id IS NOT NULL "
	"  ORDER BY COALESCE(reachable_bytes, bytes) DESC LIMIT ?1), "
	"ranked AS (SELECT a.*, top.rb, ROW_NUMBER() OVER (PARTITION BY a.type_id "
	"  ORDER BY a.sampled_bytes DESC, a.sampled_objects DESC) AS rank FROM type_alloc_sites a "
	"  JOIN top ON top.type_id = a.type_id) "
	"SELECT type, func, file, line, sampled_objects, sampled_bytes FROM ranked WHERE rank <= ?2 "
	"ORDER BY rb DESC, type_id, rank";

/* What the runtime had not published yet: allocations since the last GC,
 * scaled as pprof scales them, and the site with the most bytes. */
static struct gm_error *alloc_sites_lag(struct report *r, struct doc *d, int64_t rate)
{
	sqlite3_stmt *stmt;
	struct gm_error *err = report_prepare(r, "SELECT func, file, line, now_allocs - published_allocs, "
				       "now_alloc_bytes - published_alloc_bytes FROM alloc_sites "
				       "WHERE now_allocs > published_allocs", &stmt);
	if (err)
		return err;
	uint64_t objects = 0, bytes = 0, best = 0;
	char site[CELL_MAX] = "", n[NUM_BUF], b[NUM_BUF];
	bool row = false;
	while (!(err = report_step(r, stmt, &row)) && row) {
		uint64_t o, sb;
		alloc_profile_scale(sqlite3_column_int64(stmt, 3), sqlite3_column_int64(stmt, 4), rate, &o, &sb);
		objects += o;
		bytes += sb;
		if (sb > best) {
			best = sb;
			site_label(site, sizeof(site), report_col_text(stmt, 0), report_col_text(stmt, 1), sqlite3_column_int64(stmt, 2));
		}
	}
	if (!err && objects)
		doc_para(d, "Not yet in the process's own heap profile: about %s allocations (%s) since the last "
			 "completed GC, the most at %s. /debug/pprof/heap would not have shown them; gomortem pprof DB "
			 "--alloc --now does.", fmt_int(n, (int64_t)objects), fmt_bytes(b, (int64_t)bytes), site);
	sqlite3_finalize(stmt);
	return err;
}

struct gm_error *section_alloc_sites(struct report *r, struct doc *d)
{
	doc_heading(d, 2, "Allocation sites");
	const char *state = report_meta(r, "mem_profile"), *rate = report_meta(r, "mem_profile_rate");
	if (!state || strcmp(state, "read") != 0) {
		doc_para(d, "Not known: the runtime's memory profile was not found in this process.");
		return NULL;
	}
	char n[NUM_BUF];
	if (!rate || atoll(rate) <= 0) {
		doc_para(d, "Not known: memory profiling was off in this process (runtime.MemProfileRate 0; the "
			 "linker turns it off in programs that never read the profile).");
		return NULL;
	}
	if (atoll(rate) == 1)
		doc_para(d, "From the runtime's memory profile: runtime.MemProfileRate was 1, so every allocation was "
			 "sampled and every object below carries its allocation stack.");
	else
		doc_para(d, "From the runtime's memory profile: runtime.MemProfileRate was %s, so about one allocation "
			 "per %s bytes allocated was sampled. Only sampled objects carry their allocation stack: the "
			 "counts below are the sampled objects, not all of them. gomortem pprof DB --alloc writes "
			 "the whole profile, scaled as /debug/pprof/heap scales it.", fmt_int(n, atoll(rate)),
			 fmt_int(n, atoll(rate)));
	int64_t rows = 0;
	struct gm_error *err = NULL;
	if (!heap_only(r)) {
		doc_heading(d, 3, "What the leak suspects keep alive");
		err = alloc_site_table(r, d, SUSPECT_SITES_SQL, "suspect:c", &rows);
		if (!err && rows == 0)
			doc_para(d, "No sampled object among what the suspects keep alive.");
	}
	if (!err) {
		doc_heading(d, 3, "Objects of the top types");
		err = alloc_site_table(r, d, TYPE_SITES_SQL, "type:c", &rows);
	}
	if (!err && rows == 0)
		doc_para(d, "No sampled object among them.");
	if (!err)
		err = alloc_sites_lag(r, d, atoll(rate));
	return err;
}
