/* The report's "Top retainers" section: the objects that retain the most,
 * each with a path from its GC root (objects.path_parent), its first and last
 * steps, fields named through the fields table. */
#include "report_internal.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/util/strbuf.h"

/* Steps of a retainer's path shown: the first ones from the root, then the last. */
#define PATH_HEAD_STEPS 3
#define PATH_TAIL_STEPS 5
/* Steps followed back towards the root before giving up (paths can be long lists). */
#define PATH_MAX_WALK 100000

/* Steps followed up the dominator tree from a retainer: each dominator
 * retains more than the object it dominates, so from one of the top N
 * retainers the walk meets only others of them. */
#define DOM_MAX_WALK 4096
/* Roots named for memory several roots hold (suspect_roots keeps 20). */
#define HOLDERS_SHOWN 3

/* One step of a path: an object and the offset of the pointer leading on. */
struct path_step {
	int64_t id, addr, size, type_id, off;
	char *type;
};

/* The member of TYPE_ID at OFF as ".name" or ".name+N"; "+OFF" when unknown. */
static void field_at(struct report *r, sqlite3_stmt *fields, int64_t type_id, int64_t off, struct strbuf *out)
{
	sqlite3_reset(fields);
	sqlite3_bind_int64(fields, 1, type_id);
	sqlite3_bind_int64(fields, 2, off);
	(void)r;
	if (type_id >= 0 && sqlite3_step(fields) == SQLITE_ROW && report_col_text(fields, 0)) {
		int64_t at = sqlite3_column_int64(fields, 1);
		if (at == off)
			sb_printf(out, " .%s", report_col_text(fields, 0));
		else
			sb_printf(out, " .%s+%" PRId64, report_col_text(fields, 0), off - at);
	} else {
		sb_printf(out, " +%" PRId64, off);
	}
}

static void path_step_line(struct report *r, sqlite3_stmt *fields, const struct path_step *s, bool last,
			   struct strbuf *out)
{
	sb_printf(out, "  0x%" PRIx64 " %s (%" PRId64 " bytes)", (uint64_t)s->addr, type_name(s->type), s->size);
	if (!last) {
		field_at(r, fields, s->type_id, s->off, out);
		sb_puts(out, " ->");
	}
	sb_addc(out, '\n');
}

/* The path from a root to object ID, as `gomortem path` prints it, the middle
 * of a long path left out. */
static struct gm_error *retainer_path(struct report *r, struct doc *d, int64_t id, int64_t root,
				      sqlite3_stmt *objects, sqlite3_stmt *roots, sqlite3_stmt *fields)
{
	struct path_step *steps = NULL;
	size_t n = 0;
	int64_t off = 0;
	struct gm_error *err = NULL;
	bool reached_root = false;
	while (id > 0 && n < PATH_MAX_WALK) {
		sqlite3_reset(objects);
		sqlite3_bind_int64(objects, 1, id);
		bool row = false;
		if ((err = report_step(r, objects, &row)) || !row)
			break;
		struct path_step *grown = realloc(steps, (n + 1) * sizeof(*steps));
		if (!grown) {
			err = &gm_error_nomem;
			break;
		}
		steps = grown;
		const char *type = report_col_text(objects, 5);
		steps[n] = (struct path_step){ id, sqlite3_column_int64(objects, 0), sqlite3_column_int64(objects, 1),
					       sqlite3_column_type(objects, 4) == SQLITE_NULL ? -1 :
					       sqlite3_column_int64(objects, 4),
					       off, type ? strdup(type) : NULL };
		n++;
		off = sqlite3_column_int64(objects, 3);
		if (sqlite3_column_type(objects, 2) == SQLITE_NULL) {
			reached_root = true;
			break;
		}
		id = sqlite3_column_int64(objects, 2);
	}
	struct strbuf out = { 0 };
	if (!err) {
		sqlite3_reset(roots);
		sqlite3_bind_int64(roots, 1, root);
		if (sqlite3_step(roots) == SQLITE_ROW) {
			sb_printf(&out, "root (%s) %s", report_col_text(roots, 0) ? report_col_text(roots, 0) : "?",
				  report_col_text(roots, 1) ? report_col_text(roots, 1) : "?");
			if (report_col_text(roots, 2))
				sb_printf(&out, " %s", report_col_text(roots, 2));
			if (sqlite3_column_type(roots, 3) != SQLITE_NULL)
				sb_printf(&out, " in goroutine %" PRId64, (int64_t)sqlite3_column_int64(roots, 3));
			sb_puts(&out, " ->\n");
		} else {
			sb_puts(&out, "root (unknown) ->\n");
		}
		/* steps[n-1] is nearest the root, steps[0] the retainer itself. */
		size_t head = reached_root ? PATH_HEAD_STEPS : 0;
		for (size_t k = 0; k < n; k++) {
			size_t i = n - 1 - k;
			bool shown = k < head || i < PATH_TAIL_STEPS || n <= head + PATH_TAIL_STEPS + 1;
			if (shown)
				path_step_line(r, fields, &steps[i], i == 0, &out);
			else if (k == head)
				sb_printf(&out, "  ... %zu%s more steps ...\n", n - head - PATH_TAIL_STEPS,
					  reached_root ? "" : "+");
		}
		if (out.len && out.data[out.len - 1] == '\n')
			out.data[--out.len] = '\0';
		if (out.failed)
			err = &gm_error_nomem;
		else
			doc_pre(d, out.data ? out.data : "");
	}
	free(out.data);
	for (size_t i = 0; i < n; i++)
		free(steps[i].type);
	free(steps);
	return err;
}

/* What the "held by" column asks of the database. */
struct holder_queries {
	sqlite3_stmt *dom;      /* an object's idom, idom_root */
	sqlite3_stmt *root;     /* a root's kind and name */
	sqlite3_stmt *joint;    /* the jointly held suspects: id, object_id, shared_by */
	sqlite3_stmt *sharers;  /* a suspect's roots */
};

/* The top of ID's branch of the dominator tree (the object no object
 * dominates) in *TOP, and the root that alone dominates it in *ROOT_ID (0
 * when several roots hold it); false when the walk is too long. */
static bool dominator_top(sqlite3_stmt *dom, int64_t id, int64_t *top, int64_t *root_id)
{
	for (int i = 0; i < DOM_MAX_WALK; i++) {
		sqlite3_reset(dom);
		sqlite3_bind_int64(dom, 1, id);
		if (sqlite3_step(dom) != SQLITE_ROW)
			return false;
		if (sqlite3_column_type(dom, 0) == SQLITE_NULL) {
			*top = id;
			*root_id = sqlite3_column_type(dom, 1) == SQLITE_NULL ? 0 : sqlite3_column_int64(dom, 1);
			return true;
		}
		id = sqlite3_column_int64(dom, 0);
	}
	return false;
}

/* "kind name" of root ID into OUT; false if there is no such root. */
static bool root_name(sqlite3_stmt *root, int64_t id, struct strbuf *out)
{
	sqlite3_reset(root);
	sqlite3_bind_int64(root, 1, id);
	if (sqlite3_step(root) != SQLITE_ROW)
		return false;
	sb_printf(out, "%s %s", report_col_text(root, 0) ? report_col_text(root, 0) : "?",
		  report_col_text(root, 1) ? report_col_text(root, 1) : "?");
	return true;
}

/* The roots of a jointly held leak suspect whose accumulation point lies
 * under TOP (every path to it passes through TOP, so the roots reaching it
 * are TOP's): "several roots (N): a, b, c, ..."; false when none does. */
static bool suspect_sharers(const struct holder_queries *q, int64_t top, struct strbuf *out)
{
	sqlite3_reset(q->joint);
	while (sqlite3_step(q->joint) == SQLITE_ROW) {
		int64_t point_top, unused;
		if (!dominator_top(q->dom, sqlite3_column_int64(q->joint, 1), &point_top, &unused) || point_top != top)
			continue;
		int64_t shared_by = sqlite3_column_int64(q->joint, 2);
		sb_printf(out, "several roots (%" PRId64 "):", shared_by);
		sqlite3_reset(q->sharers);
		sqlite3_bind_int64(q->sharers, 1, sqlite3_column_int64(q->joint, 0));
		int shown = 0;
		while (shown < HOLDERS_SHOWN && sqlite3_step(q->sharers) == SQLITE_ROW) {
			sb_puts(out, shown++ ? ", " : " ");
			root_name(q->root, sqlite3_column_int64(q->sharers, 0), out);
		}
		if (shared_by > shown)
			sb_puts(out, ", ...");
		return true;
	}
	return false;
}

/* Who holds retainer ID: the root that alone dominates it, else "several
 * roots", named from the leak suspects where one lies under it, else with
 * the root of the shortest path (PATH_ROOT) as one of them.  Into CELL. */
static void holder_cell(const struct holder_queries *q, int64_t id, int64_t path_root, char cell[CELL_MAX + 32])
{
	struct strbuf out = { 0 };
	int64_t top, root_id;
	if (!dominator_top(q->dom, id, &top, &root_id)) {
		sb_puts(&out, "? (a shortest path from ");
		if (!root_name(q->root, path_root, &out))
			sb_puts(&out, "?");
		sb_puts(&out, ")");
	} else if (root_id) {
		if (!root_name(q->root, root_id, &out))
			sb_puts(&out, "?");
	} else if (!suspect_sharers(q, top, &out)) {
		sb_puts(&out, "several roots, one is ");
		if (!root_name(q->root, path_root, &out))
			sb_puts(&out, "?");
	}
	snprintf(cell, CELL_MAX + 32, "%s", out.data && !out.failed ? out.data : "?");
	free(out.data);
}

static struct gm_error *prepare_holders(struct report *r, struct holder_queries *q)
{
	struct gm_error *err = report_prepare(r, "SELECT idom, idom_root FROM objects WHERE id = ?", &q->dom);
	if (!err)
		err = report_prepare(r, "SELECT kind, name FROM roots WHERE id = ?", &q->root);
	if (!err)
		err = report_prepare(r, "SELECT id, object_id, shared_by FROM suspects WHERE root_id IS NULL ORDER BY id",
				     &q->joint);
	if (!err)
		err = report_prepare(r, "SELECT root_id FROM suspect_roots WHERE suspect_id = ? ORDER BY root_id",
				     &q->sharers);
	return err;
}

static void finalize_holders(struct holder_queries *q)
{
	sqlite3_finalize(q->dom);
	sqlite3_finalize(q->root);
	sqlite3_finalize(q->joint);
	sqlite3_finalize(q->sharers);
}

struct gm_error *section_retainers(struct report *r, struct doc *d)
{
	doc_heading(d, 2, "Top retainers");
	if (heap_only(r)) {
		not_computed(d, "roots and builds no object graph: no retained sizes or paths");
		return NULL;
	}
	doc_para(d, "Objects that alone keep the most memory alive (top_retainers view), each with who holds it "
		 "(the root that alone dominates it, or several roots, named from the leak suspects' roots where "
		 "one lies under it) and a shortest path from a GC root, as gomortem path prints it.");
	sqlite3_stmt *stmt, *objects = NULL, *roots = NULL, *fields = NULL;
	struct holder_queries holders = { 0 };
	/* top_retainers' first rows.  The view joins every reachable object's
	 * type and root before it sorts; the objects' packed table gives the
	 * top ids first (objects.retained is size + retained_extra there). */
	struct gm_error *err = report_prepare(r, "SELECT o.id, o.addr, t.name, o.size, o.retained, r.kind, r.name, "
				       "o.path_root FROM (SELECT id FROM objects_packed WHERE retained_extra >= 0 "
				       "ORDER BY size + retained_extra DESC, id LIMIT ?) top "
				       "JOIN objects o ON o.id = top.id LEFT JOIN types t ON t.id = o.type_id "
				       "LEFT JOIN roots r ON r.id = o.path_root ORDER BY o.retained DESC, o.id",
				       &stmt);
	if (err)
		return err;
	sqlite3_bind_int64(stmt, 1, r->top);
	if (!(err = report_prepare(r, "SELECT o.addr, o.size, o.path_parent, o.path_off, o.type_id, t.name "
			    "FROM objects o LEFT JOIN types t ON t.id = o.type_id WHERE o.id = ?", &objects)) &&
	    !(err = report_prepare(r, "SELECT kind, name, type_name, goid FROM roots WHERE id = ?", &roots)) &&
	    !(err = report_prepare(r, "SELECT name, offset FROM fields WHERE type_id = ? AND offset <= ? "
				   "ORDER BY offset DESC LIMIT 1", &fields)))
		err = prepare_holders(r, &holders);
	static const char *const cols[] = { "#:r", "address:r", "type:c", "size:r", "retained:r", "held by:c", NULL };
	struct block *t = err ? NULL : doc_table(d, cols);
	int64_t *ids = NULL, *root_ids = NULL, shown = 0;
	bool row = false;
	while (!err && !(err = report_step(r, stmt, &row)) && row) {
		int64_t *grown_ids = realloc(ids, (size_t)(shown + 1) * sizeof(*ids));
		if (grown_ids)
			ids = grown_ids;
		int64_t *grown_roots = grown_ids ? realloc(root_ids, (size_t)(shown + 1) * sizeof(*root_ids)) : NULL;
		if (!grown_roots) {
			err = &gm_error_nomem;
			break;
		}
		root_ids = grown_roots;
		ids[shown] = sqlite3_column_int64(stmt, 0);
		root_ids[shown] = sqlite3_column_int64(stmt, 7);
		char n[NUM_BUF], a[NUM_BUF], s[NUM_BUF], ret[NUM_BUF], root[CELL_MAX + 32];
		holder_cell(&holders, ids[shown], root_ids[shown], root);
		table_row(d, t, fmt_int(n, shown + 1), fmt_hex(a, sqlite3_column_int64(stmt, 1)),
			  type_name(report_col_text(stmt, 2)), fmt_bytes(s, sqlite3_column_int64(stmt, 3)),
			  fmt_bytes(ret, sqlite3_column_int64(stmt, 4)), root);
		shown++;
	}
	sqlite3_finalize(stmt);
	int64_t total = 0;
	if (!err)  /* the view's row count, from type_stats: no scan of the objects */
		err = report_query_int(r, "SELECT COALESCE(SUM(reachable_count), 0) FROM type_stats", &total);
	if (!err && total == 0)
		doc_para(d, "No reachable objects.");
	if (!err)
		note_cut(r, d, shown, total, "SELECT * FROM top_retainers");
	if (!err && shown > 0)
		doc_heading(d, 3, "Paths from a root");
	for (int64_t i = 0; !err && i < shown; i++) {
		doc_para(d, "#%" PRId64 ":", i + 1);
		err = retainer_path(r, d, ids[i], root_ids[i], objects, roots, fields);
	}
	free(ids);
	free(root_ids);
	sqlite3_finalize(objects);
	sqlite3_finalize(roots);
	sqlite3_finalize(fields);
	finalize_holders(&holders);
	return err;
}
