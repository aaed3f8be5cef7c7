/* The verdict, first in every report: the leak suspects (tables suspects,
 * suspect_types, suspect_roots): what holds the memory, its share, what it
 * accumulates, who holds it and a path from the root; then the leaked
 * goroutines (goroutine_leaks), grouped by creator and where they block. */
#include "report_internal.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/util/strbuf.h"

/* How a report names a root: "global main.records", "goroutine 7 stack
 * main.worker.jobs", or its kind and name. */
static void root_label(char *buf, size_t len, const char *kind, const char *name, sqlite3_int64 goid, bool has_goid)
{
	kind = kind ? kind : "?";
	name = name ? name : "?";
	if (strcmp(kind, "data") == 0 || strcmp(kind, "bss") == 0)
		snprintf(buf, len, "global %s", name);
	else if (strcmp(kind, "stack") == 0 && has_goid)
		snprintf(buf, len, "goroutine %lld stack %s", (long long)goid, name);
	else
		snprintf(buf, len, "%s %s", kind, name);
}

/* What suspect ID accumulates: a sentence on the first type, a table of all. */
static struct gm_error *suspect_types(struct report *r, struct doc *d, sqlite3_stmt *types, int64_t id)
{
	sqlite3_reset(types);
	sqlite3_bind_int64(types, 1, id);
	static const char *const cols[] = { "type:c", "objects:r", "bytes:r", "size:r", NULL };
	struct block *t = NULL;
	bool row = false;
	struct gm_error *err;
	while (!(err = report_step(r, types, &row)) && row) {
		char n[NUM_BUF], b[NUM_BUF], h[NUM_BUF];
		const char *name = type_name(report_col_text(types, 0));
		int64_t count = sqlite3_column_int64(types, 1), bytes = sqlite3_column_int64(types, 2);
		if (!t) {
			doc_para(d, "It accumulates %s %s, %s bytes (%s). Everything it alone keeps alive, by type:",
				 fmt_int(n, count), name, fmt_int(b, bytes), fmt_bytes(h, bytes));
			t = doc_table(d, cols);
		}
		table_row(d, t, name, fmt_int(n, count), fmt_int(b, bytes), fmt_bytes(h, bytes));
	}
	return err;
}

/* The roots that share a suspect no single root dominates. */
static struct gm_error *suspect_sharing(struct report *r, struct doc *d, sqlite3_stmt *roots, int64_t id,
					int64_t shared_by)
{
	sqlite3_reset(roots);
	sqlite3_bind_int64(roots, 1, id);
	char n[NUM_BUF];
	doc_para(d, "No single root holds it: %s roots reach it, and it stays alive until none of them does. "
		 "Each root alone would free only what it alone holds:", fmt_int(n, shared_by));
	static const char *const cols[] = { "root:c", "alone frees:r", NULL };
	struct block *t = doc_table(d, cols);
	bool row = false;
	struct gm_error *err;
	while (!(err = report_step(r, roots, &row)) && row) {
		char label[CELL_MAX + 64], b[NUM_BUF];
		root_label(label, sizeof(label), report_col_text(roots, 0), report_col_text(roots, 1), sqlite3_column_int64(roots, 2),
			   sqlite3_column_type(roots, 2) != SQLITE_NULL);
		table_row(d, t, label, fmt_bytes(b, sqlite3_column_int64(roots, 3)));
	}
	return err;
}

/* One suspect: the headline, who holds it, what it accumulates, the path. */
static struct gm_error *suspect(struct report *r, struct doc *d, sqlite3_stmt *s, sqlite3_stmt *types,
				sqlite3_stmt *roots, int64_t live)
{
	int64_t id = sqlite3_column_int64(s, 0), retained = sqlite3_column_int64(s, 4);
	const char *kind = report_col_text(s, 1), *name = report_col_text(s, 2);
	char a[NUM_BUF], b[NUM_BUF], c[NUM_BUF], p[NUM_BUF], l[NUM_BUF], h[NUM_BUF];
	int64_t group = sqlite3_column_int64(s, 13);
	if (group > 1)
		doc_heading(d, 3, "%" PRId64 ". %s %s objects, held jointly, hold %s of the live heap (%s)", id,
			    fmt_int(c, group), name ? name : "?", fmt_pct(p, retained, live), fmt_bytes(a, retained));
	else
		doc_heading(d, 3, "%" PRId64 ". %s %s holds %s of the live heap (%s)", id, kind ? kind : "?",
			    name ? name : "?", fmt_pct(p, retained, live), fmt_bytes(a, retained));
	bool jointly = sqlite3_column_type(s, 7) == SQLITE_NULL;
	if (group > 1) {
		doc_para(d, "%s objects of type %s, each held by several roots and none by one alone, keep %s alive "
			 "(%s objects): %s of the %s reachable. The largest is at %s.", fmt_int(c, group),
			 name ? name : "?", fmt_bytes(a, retained), fmt_int(b, sqlite3_column_int64(s, 5)),
			 fmt_pct(p, retained, live), fmt_bytes(l, live), fmt_hex(h, sqlite3_column_int64(s, 3)));
	} else if (!jointly) {
		char label[CELL_MAX + 64];
		root_label(label, sizeof(label), report_col_text(s, 10), report_col_text(s, 11), sqlite3_column_int64(s, 12),
			   sqlite3_column_type(s, 12) != SQLITE_NULL);
		doc_para(d, "The %s %s at %s, held by %s, alone keeps %s alive (%s objects): %s of the %s reachable.",
			 kind ? kind : "?", name ? name : "?", fmt_hex(b, sqlite3_column_int64(s, 3)), label,
			 fmt_bytes(a, retained), fmt_int(c, sqlite3_column_int64(s, 5)), fmt_pct(p, retained, live),
			 fmt_bytes(l, live));
	} else {
		doc_para(d, "The %s %s at %s keeps %s alive (%s objects): %s of the %s reachable, held jointly by "
			 "several roots.", kind ? kind : "?", name ? name : "?", fmt_hex(b, sqlite3_column_int64(s, 3)),
			 fmt_bytes(a, retained), fmt_int(c, sqlite3_column_int64(s, 5)), fmt_pct(p, retained, live),
			 fmt_bytes(l, live));
	}
	struct gm_error *err = suspect_types(r, d, types, id);
	if (!err && jointly)
		err = suspect_sharing(r, d, roots, id, sqlite3_column_int64(s, 8));
	if (!err) {
		doc_para(d, "A shortest path from a root:");
		doc_pre(d, report_col_text(s, 9) ? report_col_text(s, 9) : "?");
	}
	return err;
}

struct gm_error *section_suspects(struct report *r, struct doc *d)
{
	doc_heading(d, 2, "Leak suspects");
	if (heap_only(r)) {
		not_computed(d, "roots and builds no object graph: no dominators, so no suspects");
		return NULL;
	}
	const char *reachable = report_meta(r, "reachable_bytes");
	int64_t live = reachable ? atoll(reachable) : 0;
	sqlite3_stmt *s = NULL, *types = NULL, *roots = NULL;
	struct gm_error *err = report_prepare(r, "SELECT s.id, s.kind, s.name, o.addr, s.retained, s.objects, "
				       "s.owner_retained, s.root_id, s.shared_by, s.path, r.kind, r.name, r.goid, "
				       "s.group_size "
				       "FROM suspects s JOIN objects o ON o.id = s.object_id "
				       "LEFT JOIN roots r ON r.id = s.root_id ORDER BY s.id", &s);
	if (!err)
		err = report_prepare(r, "SELECT t.name, st.count, st.bytes FROM suspect_types st "
			      "LEFT JOIN types t ON t.id = st.type_id WHERE st.suspect_id = ? ORDER BY st.rank", &types);
	if (!err)
		err = report_prepare(r, "SELECT r.kind, r.name, r.goid, COALESCE(r.retained, 0) FROM suspect_roots sr "
			      "JOIN roots r ON r.id = sr.root_id WHERE sr.suspect_id = ? ORDER BY sr.rowid", &roots);
	bool row = false;
	int64_t shown = 0;
	while (!err && !(err = report_step(r, s, &row)) && row) {
		err = suspect(r, d, s, types, roots, live);
		shown++;
	}
	if (!err && shown == 0)
		doc_para(d, "None: no root, and no object held jointly by several roots, keeps 10%% or more of the "
			 "reachable heap alone.");
	else if (!err)
		doc_para(d, "Suspects are owners (a root, or an object several roots hold) keeping 10%% or more of the "
			 "reachable heap, followed down the dominator tree while one child keeps 80%% of its parent "
			 "(leak_suspects view).");
	sqlite3_finalize(s);
	sqlite3_finalize(types);
	sqlite3_finalize(roots);
	return err;
}

/* Goroutines that can never wake up (leaked_goroutines, goroutine_leaks). */
struct gm_error *section_goroutine_leaks(struct report *r, struct doc *d)
{
	doc_heading(d, 2, "Leaked goroutines");
	if (heap_only(r)) {
		not_computed(d, "goroutines");
		return NULL;
	}
	const char *leaked = report_meta(r, "leaked_goroutines"), *undecided = report_meta(r, "goroutines_undecided");
	const char *objects = report_meta(r, "leaked_goroutine_objects"), *bytes = report_meta(r, "leaked_goroutine_bytes");
	int64_t stacks = 0;
	struct gm_error *err = report_query_int(r, "SELECT COALESCE(SUM(stack_bytes), 0) FROM leaked_goroutines", &stacks);
	if (err)
		return err;
	char a[NUM_BUF], b[NUM_BUF], c[NUM_BUF], h[NUM_BUF];
	if (!leaked || atoll(leaked) == 0)
		doc_para(d, "None: every goroutine blocked on a channel, a select or a sync object waits on something "
			 "that a root or a goroutine able to run still reaches.");
	else
		doc_para(d, "%s goroutines can never wake up: each waits on a channel, a select or a sync object that "
			 "only other blocked goroutines reach (the rule of the runtime's goroutine leak detector, "
			 "applied to the core). Their stacks hold %s; heap objects only they keep alive: %s objects, "
			 "%s (goroutine_leaks view).", fmt_int(a, atoll(leaked)), fmt_bytes(b, stacks),
			 fmt_int(c, objects ? atoll(objects) : 0), fmt_bytes(h, bytes ? atoll(bytes) : 0));
	if (undecided && atoll(undecided) > 0)
		doc_para(d, "%s goroutines blocked on a sync object are not decided: the runtime recorded the object "
			 "they wait on neither in the goroutine (Go 1.26+) nor in its semaphore table (sync.Cond "
			 "before Go 1.26).", fmt_int(a, atoll(undecided)));
	sqlite3_stmt *stmt;
	if ((err = report_prepare(r, "SELECT count, status, function, created_by, created_at, stack_bytes "
			   "FROM goroutine_leaks LIMIT ?", &stmt)))
		return err;
	sqlite3_bind_int64(stmt, 1, r->top);
	static const char *const cols[] = { "goroutines:r", "status:l", "function:c", "created by:c", "stacks:r",
					    NULL };
	struct block *t = NULL;
	bool row = false;
	while (!(err = report_step(r, stmt, &row)) && row) {
		char n[NUM_BUF], st[NUM_BUF], creator[2 * CELL_MAX];
		const char *created = report_col_text(stmt, 3), *at = report_col_text(stmt, 4);
		snprintf(creator, sizeof(creator), "%s%s%s", created ? created : "-", at ? " at " : "", at ? at : "");
		if (!t)
			t = doc_table(d, cols);
		table_row(d, t, fmt_int(n, sqlite3_column_int64(stmt, 0)), report_col_text(stmt, 1),
			  report_col_text(stmt, 2) ? report_col_text(stmt, 2) : "?", creator, fmt_bytes(st, sqlite3_column_int64(stmt, 5)));
	}
	sqlite3_finalize(stmt);
	return err;
}
