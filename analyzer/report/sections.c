/* The report's sections that read the views: the summary, where the mapped
 * memory went, unsaved memory, types, goroutine groups, size classes and
 * warnings; and the helpers every section shares.  Each appends blocks to the
 * document and shows at most r->top entries per list, noting the cut. */
#include "report_internal.h"

#include <inttypes.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/util/strbuf.h"
#include "untyped.h"

/* Frames shown per goroutine group. */
#define GROUP_MAX_FRAMES 24

const char *type_name(const char *name)
{
	return name ? name : "(unknown type)";
}

/* "Showing the top SHOWN of TOTAL ..." when a list was cut. */
void note_cut(struct report *r, struct doc *d, int64_t shown, int64_t total, const char *query)
{
	if (shown >= total)
		return;
	r->lists_cut = true;
	char a[NUM_BUF], b[NUM_BUF];
	doc_para(d, "Showing %s of %s; all of them: gomortem sql DB \"%s\"", fmt_int(a, shown), fmt_int(b, total),
		 query);
}

static const char *signal_name(char *buf, const char *value)
{
	if (!value || !*value)
		return "unknown";
	int sig = atoi(value);
	const char *abbrev = sig > 0 ? sigabbrev_np(sig) : NULL;
	if (abbrev)
		snprintf(buf, NUM_BUF, "SIG%s (%d)", abbrev, sig);
	else
		snprintf(buf, NUM_BUF, "%d", sig);
	return buf;
}

/* A database made by analyze --heap-only: no graph, roots or goroutines. */
bool heap_only(const struct report *r)
{
	const char *analysis = report_meta(r, "analysis");
	return analysis && strcmp(analysis, "heap") == 0;
}

void not_computed(struct doc *d, const char *what)
{
	doc_para(d, "Not computed: this database was made by analyze --heap-only, which reads no %s. Run "
		 "analyze without --heap-only for them.", what);
}

struct gm_error *section_summary(struct report *r, struct doc *d)
{
	int64_t goroutines = 0, warnings = 0, mapped = 0;
	struct gm_error *err = report_query_int(r, "SELECT COUNT(*) FROM goroutines", &goroutines);
	if (!err)
		err = report_query_int(r, "SELECT COUNT(*) FROM warnings", &warnings);
	if (!err)
		err = report_query_int(r, "SELECT SUM(end - start) FROM mappings", &mapped);
	if (err)
		return err;
	const char *command = report_meta(r, "command");
	doc_heading(d, 2, "Summary");
	static const char *const cols[] = { "fact:l", "value:l", NULL };
	struct block *t = doc_table(d, cols);
	char a[NUM_BUF], b[NUM_BUF], line[3 * NUM_BUF];
	table_row(d, t, "program", command);
	table_row(d, t, "executable", report_meta(r, "exe_path"));
	table_row(d, t, "pid", report_meta(r, "pid"));
	table_row(d, t, "Go version", report_meta(r, "go_version"));
	/* Databases older than meta.debug_info were all analyzed with DWARF. */
	const char *debug_info = report_meta(r, "debug_info") ? report_meta(r, "debug_info") : "dwarf";
	table_row(d, t, "debug info", debug_info);
	if (strcmp(debug_info, "dwarf") != 0) {
		table_row(d, t, "runtime layouts", report_meta(r, "runtime_layouts"));
		table_row(d, t, "unknown without DWARF", report_meta(r, "unknown_columns"));
	}
	table_row(d, t, "architecture", report_meta(r, "arch"));
	table_row(d, t, "signal", signal_name(a, report_meta(r, "signal")));
	table_row(d, t, "core", report_meta(r, "core_path"));
	table_row(d, t, "analyzed at", report_meta(r, "analyzed_at"));
	table_row(d, t, "analyzer version", report_meta(r, "analyzer_version"));
	const char *partial = report_meta(r, "partial"), *forced = report_meta(r, "version_forced");
	table_row(d, t, "partial", !partial || strcmp(partial, "0") == 0 ? "no"
				   : forced && strcmp(forced, "0") != 0 ? "yes: a Go version gomortem does not know, forced"
				   : "yes: the core was truncated");
	table_row(d, t, "warnings", fmt_int(a, warnings));
	table_row(d, t, "goroutines", heap_only(r) ? "not read (analyze --heap-only)" : fmt_int(a, goroutines));
	const char *objects = report_meta(r, "heap_objects"), *bytes = report_meta(r, "heap_bytes");
	snprintf(line, sizeof(line), "%s objects, %s", objects ? fmt_int(a, atoll(objects)) : "?",
		 bytes ? fmt_bytes(b, atoll(bytes)) : "?");
	table_row(d, t, "heap", line);
	objects = report_meta(r, "reachable_objects");
	bytes = report_meta(r, "reachable_bytes");
	snprintf(line, sizeof(line), "%s objects, %s", objects ? fmt_int(a, atoll(objects)) : "?",
		 bytes ? fmt_bytes(b, atoll(bytes)) : "?");
	table_row(d, t, "reachable", heap_only(r) ? "not computed (analyze --heap-only)" : line);
	const char *share = report_meta(r, "typed_reachable_bytes_share");
	if (share) {
		snprintf(line, sizeof(line), "%.1f%% of reachable bytes have a known type", 100 * atof(share));
		table_row(d, t, "type coverage", line);
		char causes[512];
		table_row(d, t, "untyped, by cause", gm_report_untyped_line(report_meta(r, "untyped_causes"), causes, sizeof(causes)));
	}
	table_row(d, t, "mapped", fmt_bytes(a, mapped));
	return NULL;
}

struct gm_error *section_memory(struct report *r, struct doc *d)
{
	int64_t mapped = 0, touched = 0;
	struct gm_error *err = report_query_int(r, "SELECT SUM(end - start) FROM mappings", &mapped);
	if (!err)
		err = report_query_int(r, "SELECT SUM(touched) FROM mappings", &touched);
	if (err)
		return err;
	char a[NUM_BUF], b[NUM_BUF], c[NUM_BUF], e[NUM_BUF];
	doc_heading(d, 2, "Memory breakdown");
	doc_para(d, "Every mapped byte of the process (%s, %s bytes, reservations with no access included), "
		 "from the memory_breakdown view. Rows starting with \"Go\" split the runtime's own Sys; the rest "
		 "is memory outside the Go runtime or not saved in the core. The rows add up to the total.",
		 fmt_bytes(a, mapped), fmt_int(b, mapped));
	doc_para(d, "Address space is not memory: \"touched\" counts the saved pages that are not all zeros "
		 "(%s in all), a lower bound of the resident memory. A kernel core leaves untouched pages as holes "
		 "and gdb's gcore writes them as zeros; neither counts. The runtime's rows share the anonymous "
		 "touched bytes in row order, each at most its own bytes; the chart shows the touched bytes.",
		 fmt_bytes(a, touched));
	sqlite3_stmt *stmt;
	if ((err = report_prepare(r, "SELECT category, bytes, touched, source FROM memory_breakdown", &stmt)))
		return err;
	struct block *all = doc_chart(d, "Touched memory by category");
	struct block *go = doc_chart(d, "Go runtime memory (Sys) by category");
	static const char *const cols[] = { "category:l", "bytes:r", "size:r", "touched:r", "share of touched:r",
					    "source:l", NULL };
	struct block *t = doc_table(d, cols);
	int64_t sum = 0, touched_sum = 0;
	bool row = false;
	while (!(err = report_step(r, stmt, &row)) && row) {
		const char *category = report_col_text(stmt, 0);
		int64_t bytes = sqlite3_column_int64(stmt, 1), row_touched = sqlite3_column_int64(stmt, 2);
		if (__builtin_add_overflow(sum, bytes, &sum) ||
		    __builtin_add_overflow(touched_sum, row_touched, &touched_sum)) {
			err = gm_error_create(GM_ERR_SQL, "%s: memory_breakdown rows add up past 64 bits: "
					      "not a database gomortem wrote", r->options->db_path);
			break;
		}
		table_row(d, t, category, fmt_int(a, bytes), fmt_bytes(b, bytes), fmt_bytes(e, row_touched),
			  fmt_pct(c, row_touched, touched), report_col_text(stmt, 3));
		if (row_touched > 0)
			chart_bar(d, all, category, row_touched);
		if (bytes > 0 && category && strncmp(category, "Go ", 3) == 0)
			chart_bar(d, go, category, bytes);
	}
	sqlite3_finalize(stmt);
	if (err)
		return err;
	table_row(d, t, "total", fmt_int(a, sum), fmt_bytes(b, sum), fmt_bytes(e, touched_sum),
		  fmt_pct(c, touched_sum, touched), "SUM(mappings.end - start), SUM(mappings.touched)");

	doc_heading(d, 3, "The runtime's own counters");
	doc_para(d, "runtime.MemStats as the runtime would have reported it at the crash (memstats table).");
	if ((err = report_prepare(r, "SELECT name, value, source FROM memstats", &stmt)))
		return err;
	static const char *const mcols[] = { "name:c", "value:r", "read as:r", "source:l", NULL };
	t = doc_table(d, mcols);
	while (!(err = report_step(r, stmt, &row)) && row) {
		const char *name = report_col_text(stmt, 0);
		bool null = sqlite3_column_type(stmt, 1) == SQLITE_NULL;
		int64_t v = sqlite3_column_int64(stmt, 1);
		bool is_bytes = name && (strstr(name, "Sys") || strstr(name, "Inuse") || strstr(name, "Alloc") ||
					 strstr(name, "Idle") || strstr(name, "Released"));
		bool is_time = name && strcmp(name, "LastGC") == 0;
		const char *shown = null ? "" : is_bytes ? fmt_bytes(b, v) : is_time ? fmt_unix_ns(b, v) : "";
		table_row(d, t, name, null ? "unread" : fmt_int(a, v), shown, report_col_text(stmt, 2));
	}
	sqlite3_finalize(stmt);
	return err;
}

struct gm_error *section_unsaved(struct report *r, struct doc *d)
{
	int64_t mapped = 0, unsaved = 0, reserved = 0, faults = 0, count = 0;
	struct gm_error *err = report_query_int(r, "SELECT SUM(end - start) FROM mappings", &mapped);
	if (!err)
		err = report_query_int(r, "SELECT SUM(end - start - in_core - from_exe) FROM mappings", &unsaved);
	if (!err)
		err = report_query_int(r, "SELECT SUM(end - start - in_core - from_exe) FROM mappings WHERE perm = '---'",
				&reserved);
	if (!err)
		err = report_query_int(r, "SELECT COUNT(*) FROM mappings WHERE end - start - in_core - from_exe > 0", &count);
	if (err)
		return err;
	const char *f = report_meta(r, "memory_faults");
	faults = f ? atoll(f) : 0;
	char a[NUM_BUF], b[NUM_BUF], c[NUM_BUF], e[NUM_BUF], n[NUM_BUF];
	doc_heading(d, 2, "Unsaved memory");
	doc_para(d, "%s of %s mapped (%s) were not saved in the core, %s of them reservations with no access "
		 "(perm ---) that hold no data. The analysis met unsaved memory %s times (meta.memory_faults).",
		 fmt_bytes(a, unsaved), fmt_bytes(b, mapped), fmt_pct(c, unsaved, mapped), fmt_bytes(e, reserved),
		 fmt_int(n, faults));
	if (count == 0)
		return NULL;
	sqlite3_stmt *stmt;
	if ((err = report_prepare(r, "SELECT start, end, perm, path, end - start - in_core - from_exe AS unsaved "
			   "FROM mappings WHERE unsaved > 0 AND perm <> '---' ORDER BY unsaved DESC LIMIT ?", &stmt)))
		return err;
	sqlite3_bind_int64(stmt, 1, r->top);
	static const char *const cols[] = { "start:r", "end:r", "perm:l", "path:c", "unsaved:r", NULL };
	struct block *t = NULL;
	bool row = false;
	int64_t shown = 0;
	while (!(err = report_step(r, stmt, &row)) && row) {
		if (!t) {
			doc_para(d, "Accessible mappings the core did not save in full, largest first:");
			t = doc_table(d, cols);
		}
		const char *path = report_col_text(stmt, 3);
		table_row(d, t, fmt_hex(a, sqlite3_column_int64(stmt, 0)), fmt_hex(b, sqlite3_column_int64(stmt, 1)),
			  report_col_text(stmt, 2), path ? path : "(anonymous)", fmt_bytes(c, sqlite3_column_int64(stmt, 4)));
		shown++;
	}
	sqlite3_finalize(stmt);
	if (!err && t) {
		int64_t total = 0;
		err = report_query_int(r, "SELECT COUNT(*) FROM mappings WHERE end - start - in_core - from_exe > 0 "
			       "AND perm <> '---'", &total);
		note_cut(r, d, shown, total, "SELECT * FROM mappings WHERE end - start - in_core - from_exe > 0");
	}
	return err;
}

/* A table of the first r->top rows of SQL (type, count, bytes, ...), with a chart when CHART. */
static struct gm_error *type_table(struct report *r, struct doc *d, const char *title, const char *sql,
				   const char *count_sql, const char *full_sql, const char *const *cols,
				   const char *chart)
{
	doc_heading(d, 3, "%s", title);
	sqlite3_stmt *stmt;
	struct gm_error *err = report_prepare(r, sql, &stmt);
	if (err)
		return err;
	sqlite3_bind_int64(stmt, 1, r->top);
	struct block *c = chart ? doc_chart(d, chart) : NULL;
	struct block *t = doc_table(d, cols);
	bool row = false;
	int64_t shown = 0;
	while (!(err = report_step(r, stmt, &row)) && row) {
		char v[5][NUM_BUF];
		const char *cells[6] = { type_name(report_col_text(stmt, 0)) };
		int ncols = sqlite3_column_count(stmt);
		for (int i = 1; i < ncols && i < 6; i++) {
			int64_t x = sqlite3_column_int64(stmt, i);
			const char *name = sqlite3_column_name(stmt, i);
			bool text = name && strcmp(name, "exact_types") == 0;
			cells[i] = text ? (report_col_text(stmt, i) ? report_col_text(stmt, i) : "")
				 : name && strstr(name, "bytes") ? fmt_bytes(v[i - 1], x) : fmt_int(v[i - 1], x);
		}
		table_row(d, t, cells[0], cells[1], cells[2], cells[3], cells[4], cells[5]);
		if (c)
			chart_bar(d, c, cells[0], sqlite3_column_int64(stmt, 2));
		shown++;
	}
	sqlite3_finalize(stmt);
	int64_t total = 0;
	if (!err)
		err = report_query_int(r, count_sql, &total);
	if (!err && total == 0)
		doc_para(d, "None.");
	note_cut(r, d, shown, total, full_sql);
	return err;
}

/* collection_histogram's columns NUMBERS (SQL), the exact types each row sums
 * last: the exact type when it is one that differs from the collection
 * ([30000]*main.Event under []*main.Event), "N types, largest T" when several,
 * empty when the collection is the type itself. */
#define COLLECTION_SELECT(numbers)                                                                       \
	"SELECT c.collection, " numbers ", "                                                             \
	"CASE WHEN c.exact_types > 1 THEN c.exact_types || ' types, largest ' || x.name "                \
	"WHEN x.name IS NOT c.collection THEN x.name END AS exact_types "                                \
	"FROM collection_histogram c LEFT JOIN (SELECT COALESCE(t.collection, t.name) AS collection, "   \
	"t.name AS name, ROW_NUMBER() OVER (PARTITION BY COALESCE(t.collection, t.name) "                \
	"ORDER BY s.bytes DESC, t.name) AS rank FROM type_stats s JOIN types t ON t.id = s.type_id) x "  \
	"ON x.collection IS c.collection AND x.rank = 1 "

struct gm_error *section_types(struct report *r, struct doc *d)
{
	doc_heading(d, 2, "Top types");
	doc_para(d, "One row per collection (collection_histogram): a map's header, directory, tables and "
		 "groups count as the map, a slice's backing arrays of any length as the slice; \"exact types\" "
		 "names the types a row sums (each on its own in type_histogram).");
	static const char *const hist[] = { "type:c", "objects:r", "bytes:r", "reachable objects:r",
					    "reachable bytes:r", "exact types:c", NULL };
	/* Without the graph (analyze --heap-only) nothing is known reachable. */
	static const char *const hist_heap[] = { "type:c", "objects:r", "bytes:r", "exact types:c", NULL };
	bool graph = !heap_only(r);
	struct gm_error *err = type_table(
		r, d, "By bytes",
		graph ? COLLECTION_SELECT("c.count, c.bytes, c.reachable_count, c.reachable_bytes")
			"ORDER BY c.bytes DESC, c.count DESC LIMIT ?"
		      : COLLECTION_SELECT("c.count, c.bytes") "ORDER BY c.bytes DESC, c.count DESC LIMIT ?",
		"SELECT COUNT(*) FROM collection_histogram", "SELECT * FROM collection_histogram ORDER BY bytes DESC",
		graph ? hist : hist_heap, "Top types by bytes");
	if (!err)
		err = type_table(r, d, "By count",
				 graph ? COLLECTION_SELECT("c.count, c.bytes, c.reachable_count, c.reachable_bytes")
					 "ORDER BY c.count DESC, c.bytes DESC LIMIT ?"
				       : COLLECTION_SELECT("c.count, c.bytes") "ORDER BY c.count DESC, c.bytes DESC LIMIT ?",
				 "SELECT COUNT(*) FROM collection_histogram",
				 "SELECT * FROM collection_histogram ORDER BY count DESC", graph ? hist : hist_heap, NULL);
	if (heap_only(r)) {
		if (!err)
			doc_para(d, "Types here are those the malloc headers and large spans name; the rest need "
				 "the object graph (analyze without --heap-only), as do retained sizes and garbage.");
		return err;
	}
	static const char *const ret[] = { "type:c", "objects:r", "retained bytes:r", NULL };
	if (!err)
		err = type_table(r, d, "By retained bytes (what they alone keep alive)",
				 "SELECT type, objects, retained_bytes FROM retained_by_type "
				 "ORDER BY retained_bytes DESC LIMIT ?",
				 "SELECT COUNT(*) FROM retained_by_type", "SELECT * FROM retained_by_type", ret, NULL);
	static const char *const garbage[] = { "type:c", "objects:r", "bytes:r", NULL };
	if (!err)
		err = type_table(r, d, "Garbage (allocated, unreachable: the next GC frees it)",
				 "SELECT type, count, bytes FROM garbage_by_type ORDER BY bytes DESC LIMIT ?",
				 "SELECT COUNT(*) FROM garbage_by_type", "SELECT * FROM garbage_by_type", garbage, NULL);
	return err;
}

static struct gm_error *group_stack(struct report *r, sqlite3_stmt *frames, int64_t goid, int64_t nframes,
				    struct strbuf *out)
{
	sqlite3_reset(frames);
	sqlite3_bind_int64(frames, 1, goid);
	sqlite3_bind_int64(frames, 2, GROUP_MAX_FRAMES);
	bool row = false;
	struct gm_error *err;
	while (!(err = report_step(r, frames, &row)) && row) {
		const char *file = report_col_text(frames, 1);
		sb_printf(out, "  %s%s\n", report_col_text(frames, 0) ? report_col_text(frames, 0) : "?",
			  sqlite3_column_int(frames, 3) ? " (inlined)" : "");
		if (file)
			sb_printf(out, "      %s:%" PRId64 "\n", file, (int64_t)sqlite3_column_int64(frames, 2));
	}
	if (!err && nframes > GROUP_MAX_FRAMES)
		sb_printf(out, "  ... %" PRId64 " more frames\n", nframes - GROUP_MAX_FRAMES);
	return err;
}

struct gm_error *section_goroutines(struct report *r, struct doc *d)
{
	if (heap_only(r)) {
		doc_heading(d, 2, "Goroutines");
		not_computed(d, "goroutines");
		return NULL;
	}
	int64_t goroutines = 0, groups = 0;
	struct gm_error *err = report_query_int(r, "SELECT COUNT(*) FROM goroutines", &goroutines);
	if (!err)
		err = report_query_int(r, "SELECT COUNT(*) FROM goroutine_groups", &groups);
	if (err)
		return err;
	char a[NUM_BUF], b[NUM_BUF];
	doc_heading(d, 2, "Goroutines");
	doc_para(d, "%s goroutines in %s groups of identical stacks, most numerous first (goroutine_groups "
		 "view): a large group is where a goroutine leak shows. Function is the innermost frame outside "
		 "the runtime; waiting since is when the first GC that saw the group blocked started (g.waitsince: "
		 "it has waited at least since then; how long before the crash is unknown, a core records no clock).",
		 fmt_int(a, goroutines), fmt_int(b, groups));
	sqlite3_stmt *stmt, *frames = NULL;
	if ((err = report_prepare(r, "SELECT count, status, wait_reason, sample_goid, frames, signature, function, "
			   "function_at, created_by, created_at, waiting_since FROM goroutine_groups LIMIT ?", &stmt)))
		return err;
	sqlite3_bind_int64(stmt, 1, r->top);
	err = report_prepare(r, "SELECT func, file, line, inlined FROM frames WHERE goid = ? ORDER BY idx LIMIT ?", &frames);
	static const char *const cols[] = { "goroutines:r", "status:l", "waiting since:l", "sample goid:r",
					    "function:c", "created by:c", NULL };
	struct block *t = err ? NULL : doc_table(d, cols);
	struct strbuf stacks = { 0 };
	int64_t shown = 0;
	bool row = false;
	while (!err && !(err = report_step(r, stmt, &row)) && row) {
		int64_t count = sqlite3_column_int64(stmt, 0), goid = sqlite3_column_int64(stmt, 3);
		int64_t nframes = sqlite3_column_int64(stmt, 4);
		const char *status = report_col_text(stmt, 1), *function = report_col_text(stmt, 6), *created = report_col_text(stmt, 8);
		const char *created_at = report_col_text(stmt, 9), *since = report_col_text(stmt, 10);
		char g[NUM_BUF], creator[2 * CELL_MAX];
		const char *base = created_at ? strrchr(created_at, '/') : NULL;
		snprintf(creator, sizeof(creator), "%s%s%s%s", created ? created : "-", created_at ? " (" : "",
			 created_at ? (base ? base + 1 : created_at) : "", created_at ? ")" : "");
		table_row(d, t, fmt_int(a, count), status, since ? since : "unknown", fmt_int(g, goid),
			  function ? function : "?", creator);
		sb_printf(&stacks, "%" PRId64 " goroutine%s, %s: goroutine %" PRId64 "%s%s%s%s\n", count,
			  count == 1 ? "" : "s", status ? status : "?", goid, created ? ", created by " : "",
			  created ? created : "", created_at ? " at " : "", created_at ? created_at : "");
		err = group_stack(r, frames, goid, nframes, &stacks);
		sb_addc(&stacks, '\n');
		shown++;
	}
	sqlite3_finalize(stmt);
	sqlite3_finalize(frames);
	if (!err && stacks.failed)
		err = &gm_error_nomem;
	if (!err) {
		note_cut(r, d, shown, groups, "SELECT * FROM goroutine_groups");
		if (shown > 0) {
			doc_heading(d, 3, "Stacks");
			while (stacks.len && stacks.data[stacks.len - 1] == '\n')
				stacks.data[--stacks.len] = '\0';
			doc_pre(d, stacks.data);
		}
	}
	free(stacks.data);
	return err;
}

struct gm_error *section_size_classes(struct report *r, struct doc *d)
{
	doc_heading(d, 2, "Span fragmentation per size class");
	doc_para(d, "In-use spans per size class (size_class_usage view), most wasted bytes first: wasted is span "
		 "bytes holding no allocated object (free slots, tails); class 0 holds large objects.");
	sqlite3_stmt *stmt;
	struct gm_error *err = report_prepare(
		r, "SELECT size_class, elem_size, spans, slots, allocated, live, bytes_in_use, bytes_wasted "
		   "FROM size_class_usage ORDER BY bytes_wasted DESC, size_class LIMIT ?", &stmt);
	if (err)
		return err;
	sqlite3_bind_int64(stmt, 1, r->top);
	static const char *const cols[] = { "class:r", "slot size:r", "spans:r", "slots:r", "allocated:r",
					    "live:r", "in use:r", "wasted:r", "wasted share:r", NULL };
	struct block *t = doc_table(d, cols);
	int64_t shown = 0;
	bool row = false;
	while (!(err = report_step(r, stmt, &row)) && row) {
		char v[9][NUM_BUF];
		int64_t in_use = sqlite3_column_int64(stmt, 6), wasted = sqlite3_column_int64(stmt, 7);
		int64_t class = sqlite3_column_int64(stmt, 0);
		table_row(d, t, fmt_int(v[0], class),
			  sqlite3_column_type(stmt, 1) == SQLITE_NULL ? "large" : fmt_int(v[1], sqlite3_column_int64(stmt, 1)),
			  fmt_int(v[2], sqlite3_column_int64(stmt, 2)), fmt_int(v[3], sqlite3_column_int64(stmt, 3)),
			  fmt_int(v[4], sqlite3_column_int64(stmt, 4)), fmt_int(v[5], sqlite3_column_int64(stmt, 5)),
			  fmt_bytes(v[6], in_use), fmt_bytes(v[7], wasted),
			  fmt_pct(v[8], wasted, class == 0 ? in_use : in_use + wasted));
		shown++;
	}
	sqlite3_finalize(stmt);
	int64_t total = 0;
	if (!err)
		err = report_query_int(r, "SELECT COUNT(*) FROM size_class_usage", &total);
	note_cut(r, d, shown, total, "SELECT * FROM size_class_usage");
	return err;
}

struct gm_error *section_warnings(struct report *r, struct doc *d)
{
	int64_t total = 0;
	struct gm_error *err = report_query_int(r, "SELECT COUNT(*) FROM warnings", &total);
	if (err)
		return err;
	doc_heading(d, 2, "Warnings");
	if (total == 0) {
		doc_para(d, "None: the analysis met no problem it had to walk past.");
		return NULL;
	}
	sqlite3_stmt *stmt;
	if ((err = report_prepare(r, "SELECT stage, message FROM warnings ORDER BY id LIMIT ?", &stmt)))
		return err;
	sqlite3_bind_int64(stmt, 1, r->top);
	static const char *const cols[] = { "stage:l", "message:l", NULL };
	struct block *t = doc_table(d, cols);
	int64_t shown = 0;
	bool row = false;
	while (!(err = report_step(r, stmt, &row)) && row) {
		table_row(d, t, report_col_text(stmt, 0), report_col_text(stmt, 1));
		shown++;
	}
	sqlite3_finalize(stmt);
	note_cut(r, d, shown, total, "SELECT * FROM warnings");
	return err;
}
