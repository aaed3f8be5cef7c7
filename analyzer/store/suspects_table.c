/* suspects, suspect_types and suspect_roots, from graph/suspects.c;
 * leaked_goroutines from graph/goleak.c. */
#include "../goruntime/goroutines.h"
#include "../graph/goleak.h"
#include "../graph/graph.h"
#include "../graph/suspects.h"
#include "store.h"
#include "suspects_table.h"

static struct gm_error *write_suspect_rows(struct gm_bulk *rows, const struct gm_suspect *s, int64_t id)
{
	struct gm_sql_value row[11] = {
		gm_sql_int(id), gm_sql_int((int64_t)s->object + 1), gm_sql_text(s->kind), gm_sql_text(s->name),
		gm_sql_int((int64_t)s->retained), gm_sql_int((int64_t)s->objects), gm_sql_int((int64_t)s->group_size),
		gm_sql_int((int64_t)s->owner_retained),
		s->root == UINT32_MAX ? gm_sql_null() : gm_sql_int((int64_t)s->root + 1),
		gm_sql_int((int64_t)s->shared_by), gm_sql_text(s->path),
	};
	return gm_bulk_row(rows, row);
}

static struct gm_error *write_details(struct gm_bulk *types, struct gm_bulk *roots, const struct gm_suspect *s,
				      int64_t id)
{
	struct gm_error *err = NULL;
	for (size_t k = 0; k < s->ntypes && !err; k++) {
		const struct gm_suspect_type *t = &s->types[k];
		struct gm_sql_value row[6] = {
			gm_sql_int(id), gm_sql_int((int64_t)k + 1),
			t->type == UINT32_MAX ? gm_sql_null() : gm_sql_int((int64_t)t->type + 1),
			gm_sql_int((int64_t)t->count), gm_sql_int((int64_t)t->bytes), gm_sql_int(t->storage),
		};
		err = gm_bulk_row(types, row);
	}
	for (size_t k = 0; k < s->nsharing && !err; k++) {
		int64_t row[2] = { id, (int64_t)s->sharing[k] + 1 };
		err = gm_bulk_row_ints(roots, row, 0);
	}
	return err;
}

struct gm_error *gm_write_suspects(struct gm_store *store, const struct gm_suspects *suspects)
{
	struct gm_bulk *rows = NULL, *types = NULL, *roots = NULL;
	struct gm_error *err = gm_bulk_create(store, "suspects",
		"id, object_id, kind, name, retained, objects, group_size, owner_retained, root_id, shared_by, path", 11,
		&rows);
	if (!err)
		err = gm_bulk_create(store, "suspect_types", "suspect_id, rank, type_id, count, bytes, storage", 6, &types);
	if (!err)
		err = gm_bulk_create(store, "suspect_roots", "suspect_id, root_id", 2, &roots);
	for (size_t i = 0; i < suspects->count && !err; i++) {
		err = write_suspect_rows(rows, &suspects->items[i], (int64_t)i + 1);
		if (!err)
			err = write_details(types, roots, &suspects->items[i], (int64_t)i + 1);
	}
	if (roots)
		err = gm_bulk_finish(roots, err);
	if (types)
		err = gm_bulk_finish(types, err);
	if (rows)
		err = gm_bulk_finish(rows, err);
	return err;
}

struct gm_error *gm_write_goroutine_leaks(struct gm_store *store, const struct gm_goleak *leak,
					  const struct gm_goroutine_set *set)
{
	struct gm_bulk *rows;
	struct gm_error *err = gm_bulk_create(store, "leaked_goroutines", "goid, blocked_on, stack_bytes", 3, &rows);
	if (err)
		return err;
	for (size_t i = 0; i < set->count && !err; i++) {
		if (!leak->leaked[i])
			continue;
		const struct gm_goroutine *g = &set->items[i];
		int64_t row[3] = { (int64_t)g->goid, (int64_t)leak->blocked_on[i] + 1, (int64_t)(g->stack_hi - g->stack_lo) };
		err = gm_bulk_row_ints(rows, row, leak->blocked_on[i] == GM_NONE ? 2u : 0);
	}
	err = gm_bulk_finish(rows, err);
	if (!err)
		err = gm_store_meta_int(store, "leaked_goroutines", (int64_t)leak->nleaked);
	if (!err)
		err = gm_store_meta_int(store, "leaked_goroutine_objects", (int64_t)leak->only_objects);
	if (!err)
		err = gm_store_meta_int(store, "leaked_goroutine_bytes", (int64_t)leak->only_bytes);
	if (!err)
		err = gm_store_meta_int(store, "goroutines_undecided", (int64_t)leak->undecided);
	return err;
}
