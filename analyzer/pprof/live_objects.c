/* live_objects: see live_objects.h. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "analyzer/pprof/analysis_db.h"
#include "analyzer/pprof/live_objects.h"

/* The objects' table is read by up to this many threads, when it has at least SCAN_MIN_OBJECTS rows. */
#define SCAN_PARTS 4
#define SCAN_MIN_OBJECTS 1024
/* A scanning thread adds to the count of ids read (and may print it) every this many rows. */
#define SCAN_TICK_ROWS 65536

/* What the loading reads with and into. */
struct loader {
	const char *db_path;
	const struct type_table *types;
	bool type_id_zero;               /* a type has id 0 (a NULL type_id reads as 0) */
	struct live_objects *objs;
	struct gm_progress *progress;
	_Atomic uint64_t ids_read;       /* by the scanning threads together */
};

static struct gm_error *alloc_objects(struct live_objects *o, uint32_t n)
{
	size_t words = (size_t)n / 64 + 1;
	o->n = n;
	o->live = calloc(words, sizeof(*o->live));
	o->has_header = calloc(words, sizeof(*o->has_header));
	o->busy = calloc(words, sizeof(*o->busy));
	o->done = calloc(words, sizeof(*o->done));
	o->type = calloc(n, sizeof(*o->type));
	o->size = calloc(n, sizeof(*o->size));
	o->idom = calloc(n, sizeof(*o->idom));
	o->link = calloc(n, sizeof(*o->link));
	if (!o->live || !o->has_header || !o->busy || !o->done || !o->type || !o->size || !o->idom || !o->link)
		return &gm_error_nomem;
	return NULL;
}

void live_objects_deinit(struct live_objects *o)
{
	free(o->live);
	free(o->has_header);
	free(o->busy);
	free(o->done);
	free(o->type);
	free(o->size);
	gm_u64_map_free(&o->big_sizes);
	free(o->idom);
	free(o->link);
	*o = (struct live_objects){ 0 };
}

uint64_t live_object_size(const struct live_objects *o, uint32_t id)
{
	uint64_t size = o->size[id];
	if (size == SIZE_BIG)
		gm_u64_map_find(&o->big_sizes, id, &size);
	return size;
}

/* An objects.id column value as an index, 0 when NULL or out of range
 * (sqlite3_column_int64 gives 0 for NULL). */
static uint32_t column_object(sqlite3_stmt *st, int col, uint32_t n)
{
	int64_t id = sqlite3_column_int64(st, col);
	return id > 0 && id < (int64_t)n ? (uint32_t)id : 0;
}

/* ---- from the spans ---- */

/* Objects FIRST .. FIRST + COUNT - 1 of a span of slots of ELEM_SIZE bytes,
 * with a malloc header when HEADER_SIZE > 0. */
static struct gm_error *set_span_slots(struct live_objects *o, int64_t first, int64_t count, int64_t elem_size,
				       int64_t header_size)
{
	uint32_t size = elem_size <= 0 ? 0 : elem_size < SIZE_BIG ? (uint32_t)elem_size : SIZE_BIG;
	if (header_size > 0)
		o->header_size = (int32_t)header_size;
	for (int64_t id = first; id < first + count; id++) {
		o->size[id] = size;
		if (header_size > 0)
			bit_set(o->has_header, (uint32_t)id);
		if (size == SIZE_BIG && gm_u64_map_insert(&o->big_sizes, (uint64_t)id, (uint64_t)elem_size))
			return &gm_error_nomem;
	}
	return NULL;
}

/* Every object's size and malloc header, from its span. */
static struct gm_error *load_span_slots(sqlite3 *db, const char *db_path, struct live_objects *o)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT first_object, alloc_count, elem_size, header_size FROM spans "
				   "WHERE alloc_count > 0", -1, &st, NULL) != SQLITE_OK)
		return analysis_db_error(db, db_path);
	struct gm_error *err = NULL;
	int rc;
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t first = sqlite3_column_int64(st, 0), count = sqlite3_column_int64(st, 1);
		if (first <= 0 || count > (int64_t)o->n - first)
			err = gm_error_create(GM_ERR_SQL, "%s: a span's objects %" PRId64 " .. %" PRId64
					      " are not objects.id values", db_path, first, first + count - 1);
		else
			err = set_span_slots(o, first, count, sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3));
	}
	if (!err && rc != SQLITE_DONE)
		err = analysis_db_error(db, db_path);
	sqlite3_finalize(st);
	return err;
}

/* ---- the objects' rows ---- */

/* An object id ID + the delta in column COL, 0 when NULL or out of range. */
static uint32_t column_object_at(sqlite3_stmt *st, int col, int64_t id, uint32_t n)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return 0;
	int64_t delta = sqlite3_column_int64(st, col), to;
	if (__builtin_add_overflow(id, delta, &to))
		return 0;
	return to > 0 && to < (int64_t)n ? (uint32_t)to : 0;
}

/* Object ID's immediate dominator from the idom_delta and idom_root
 * columns IDOM_COL, IDOM_COL + 1. */
static struct gm_error *load_dominator(struct loader *l, sqlite3_stmt *st, int idom_col, uint32_t id)
{
	struct live_objects *o = l->objs;
	o->idom[id] = column_object_at(st, idom_col, id, o->n);
	int64_t root = o->idom[id] ? 0 : sqlite3_column_int64(st, idom_col + 1);
	if (root >= IDOM_ROOT)
		return gm_error_create(GM_ERR_SQL, "%s: root id %" PRId64 " out of range", l->db_path, root);
	if (root > 0)
		o->idom[id] = IDOM_ROOT | (uint32_t)root;
	return NULL;
}

/* One row of SELECT id, type_id, idom_delta, idom_root, path_delta,
 * path_off FROM objects_packed (schema/gomortem.sql: the objects view's
 * columns before it adds the row's id, path_delta NULL for 0, path_off NULL
 * without a path parent; read here without the view, which costs 12% of
 * pprof's time at 20M objects). */
static struct gm_error *load_object_row(struct loader *l, sqlite3_stmt *st, uint32_t id, size_t *ret_lookups)
{
	struct live_objects *o = l->objs;
	uint64_t pos;
	bit_set(o->live, id);
	/* NULL reads as 0: the same unless a type has id 0. */
	int64_t type_id = sqlite3_column_int64(st, 1);
	if ((type_id || (l->type_id_zero && sqlite3_column_type(st, 1) != SQLITE_NULL)) &&
	    type_table_position(l->types, type_id, &pos))
		o->type[id] = (uint32_t)pos + 1;
	struct gm_error *err = load_dominator(l, st, 2, id);
	if (err)
		return err;
	uint32_t dom = dominator_of(o, id);
	/* With an immediate dominator, path_parent is it plus path_delta. */
	bool has_path = sqlite3_column_type(st, 5) != SQLITE_NULL;
	int64_t path_delta = sqlite3_column_int64(st, 4), path_off = sqlite3_column_int64(st, 5);
	if (!dom) {
		o->link[id] = EDGE_NONE;
	} else if (has_path && path_delta == 0) {
		o->link[id] = path_off >= 0 && path_off <= INT32_MAX ? (uint32_t)path_off : EDGE_NONE;
	} else {
		o->link[id] = EDGE_LOOKUP;
		(*ret_lookups)++;
	}
	return NULL;
}

/* One range of object ids [FIRST, END), read by one thread with its own
 * connection: a range of rowids is a range of the table. */
struct scan_part {
	struct loader *l;
	sqlite3 *db;                  /* the loader's for part 0, else opened here */
	int64_t first, end;           /* multiples of 64 (part 0 from INT64_MIN, the last to n): each
				       * part has its own words of the bitmaps */
	int64_t counted;              /* ids up to here are in l->ids_read */
	size_t lookups;
	struct gm_error *err;
	pthread_t thread;
};

/* Add the ids read up to ID to the count, and print it when a line is due. */
static void scan_tick(struct scan_part *p, int64_t id)
{
	struct loader *l = p->l;
	uint64_t read = atomic_fetch_add(&l->ids_read, (uint64_t)(id - p->counted)) + (uint64_t)(id - p->counted);
	p->counted = id;
	uint64_t total = l->objs->n - 1;
	if (gm_progress_due(l->progress))
		gm_progress_print(l->progress, "  objects' rows read: %" PRIu64 " of %" PRIu64 " (%.0f%%)", read,
				  total, total ? 100.0 * (double)read / (double)total : 100.0);
}

static struct gm_error *scan_objects(struct scan_part *p)
{
	struct loader *l = p->l;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(p->db, "SELECT id, type_id, idom_delta, idom_root, path_delta, path_off "
				      "FROM objects_packed WHERE id >= ? AND retained_extra >= 0", -1, &st,
			       NULL) != SQLITE_OK)
		return analysis_db_error(p->db, l->db_path);
	sqlite3_bind_int64(st, 1, p->first);
	struct gm_error *err = NULL;
	int rc = SQLITE_DONE;
	size_t rows = 0;
	p->counted = p->first > 1 ? p->first : 1;
	/* The range's end is checked here: in SQL it costs two opcodes a row, 4% of pprof. */
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (id >= p->end) {
			rc = SQLITE_DONE;
			break;
		}
		if (id <= 0 || id < p->first || bit_get(l->objs->live, (uint32_t)id))
			err = gm_error_create(GM_ERR_SQL, "%s: bad object id %" PRId64, l->db_path, id);
		else
			err = load_object_row(l, st, (uint32_t)id, &p->lookups);
		if (++rows % SCAN_TICK_ROWS == 0)
			scan_tick(p, id);
	}
	if (!err && rc != SQLITE_DONE)
		err = analysis_db_error(p->db, l->db_path);
	sqlite3_finalize(st);
	if (!err)
		scan_tick(p, p->end);
	return err;
}

static void *scan_part_run(void *arg)
{
	struct scan_part *p = arg;
	p->err = analysis_db_open(p->l->db_path, &p->db);
	if (!p->err)
		p->err = scan_objects(p);
	sqlite3_close(p->db);
	return NULL;
}

/* Threads for the objects' scan: one a CPU, at most SCAN_PARTS; one for small tables. */
static size_t scan_part_count(uint32_t n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	/* Connections on several threads need an SQLite built thread-safe. */
	if (n < SCAN_MIN_OBJECTS || cpus < 2 || !sqlite3_threadsafe())
		return 1;
	return cpus < SCAN_PARTS ? (size_t)cpus : SCAN_PARTS;
}

/* Read every reachable object's row, in parallel ranges of ids. */
static struct gm_error *load_object_rows(struct loader *l, sqlite3 *db, size_t *ret_lookups)
{
	struct scan_part parts[SCAN_PARTS] = { 0 };
	uint32_t n = l->objs->n;
	size_t count = scan_part_count(n), started = 1;
	gm_progress_print(l->progress, "reading the rows of %" PRIu32 " objects (%zu thread%s)", n - 1, count,
			  count > 1 ? "s" : "");
	for (size_t i = 0; i < count; i++) {
		int64_t end = (int64_t)((uint64_t)n * (i + 1) / count) & ~INT64_C(63);
		parts[i] = (struct scan_part){ .l = l, .first = i ? parts[i - 1].end : INT64_MIN,
					       .end = i + 1 < count ? end : n };
	}
	for (; started < count; started++)
		if (pthread_create(&parts[started].thread, NULL, scan_part_run, &parts[started]) != 0)
			break;
	for (size_t i = 0; i < count; i++) {
		if (i && i < started)
			continue;
		parts[i].db = db;  /* part 0, and those no thread could be made for */
		parts[i].err = scan_objects(&parts[i]);
	}
	struct gm_error *err = NULL;
	*ret_lookups = 0;
	for (size_t i = 0; i < count; i++) {
		if (i && i < started)
			pthread_join(parts[i].thread, NULL);
		*ret_lookups += parts[i].lookups;
		if (!err)
			err = parts[i].err;
		else
			gm_error_destroy(parts[i].err);
	}
	return err;
}

/* For the objects whose dominator is not their shortest-path parent: read the
 * dominator's pointers (one range query per dominator, edges being clustered
 * on src) and keep the first that points at the object. */
static struct gm_error *lookup_dominator_edges(sqlite3 *db, const char *db_path, struct live_objects *o)
{
	struct gm_u64_map done = { 0 };
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT src_off, dst FROM edges WHERE src = ? ORDER BY src_off", -1, &st,
			       NULL) != SQLITE_OK)
		return analysis_db_error(db, db_path);
	struct gm_error *err = NULL;
	uint64_t unused;
	for (uint32_t id = 1; id < o->n && !err; id++) {
		if (o->link[id] != EDGE_LOOKUP || !bit_get(o->live, id))
			continue;
		uint32_t dom = o->idom[id];
		if (gm_u64_map_find(&done, dom, &unused))
			continue;
		if (gm_u64_map_insert(&done, dom, 1)) {
			err = &gm_error_nomem;
			break;
		}
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, dom);
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			int64_t off = sqlite3_column_int64(st, 0);
			uint32_t dst = column_object(st, 1, o->n);
			if (dst && bit_get(o->live, dst) && o->idom[dst] == dom && o->link[dst] == EDGE_LOOKUP &&
			    off >= 0 && off <= INT32_MAX)
				o->link[dst] = (uint32_t)off;
		}
		if (rc != SQLITE_DONE)
			err = analysis_db_error(db, db_path);
	}
	sqlite3_finalize(st);
	gm_u64_map_free(&done);
	/* Dominators that do not point at their child directly. */
	for (uint32_t id = 1; id < o->n; id++)
		if (o->link[id] == EDGE_LOOKUP)
			o->link[id] = EDGE_NONE;
	return err;
}

struct gm_error *live_objects_load(sqlite3 *db, const char *db_path, const struct type_table *types,
				   struct gm_progress *progress, struct live_objects *o)
{
	sqlite3_stmt *st;
	int64_t max_id = 0;
	if (sqlite3_prepare_v2(db, "SELECT MAX(id) FROM objects", -1, &st, NULL) != SQLITE_OK)
		return analysis_db_error(db, db_path);
	if (sqlite3_step(st) == SQLITE_ROW)
		max_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (max_id < 0 || max_id >= LIVE_MAX_OBJECT_ID)
		return gm_error_create(GM_ERR_SQL, "%s: object id %" PRId64 " out of range", db_path, max_id);
	uint64_t unused;
	struct loader l = { .db_path = db_path, .types = types, .objs = o, .progress = progress,
			    .type_id_zero = type_table_position(types, 0, &unused) };
	size_t lookups = 0;
	struct gm_error *err = alloc_objects(o, (uint32_t)max_id + 1);
	if (!err)
		err = load_span_slots(db, db_path, o);
	if (!err)
		err = load_object_rows(&l, db, &lookups);
	if (!err && lookups) {
		gm_progress_print(progress, "reading the dominators' pointers to %zu objects off their shortest paths",
				  lookups);
		err = lookup_dominator_edges(db, db_path, o);
	}
	return err;
}
