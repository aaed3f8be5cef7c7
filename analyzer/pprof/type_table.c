#include "type_table.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analysis_db.h"

/* FNV-1a of the first LEN bytes of NAME. */
static uint64_t name_hash(const char *name, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)name[i]) * 0x100000001b3ull;
	return h;
}

/* The position of a type named NAME (its first LEN bytes) that has fields; -1 if none. */
static int64_t find_fields_type(const struct type_table *t, const struct gm_u64_map *by_name, const char *name,
				size_t len)
{
	uint64_t at;
	for (uint64_t h = name_hash(name, len); gm_u64_map_find(by_name, h, &at); h++)
		if (strncmp(t->names[at], name, len) == 0 && t->names[at][len] == '\0')
			return (int64_t)at;
	return -1;
}

/* Give the types without fields of their own those of a namesake, or of their element ("[N]T"). */
static struct gm_error *link_fields(struct type_table *t)
{
	struct gm_u64_map by_name = { 0 };  /* FNV-1a of the name (probed linearly) -> position */
	for (size_t i = 0; i < t->count; i++) {
		if (t->fields_id[i] < 0 || find_fields_type(t, &by_name, t->names[i], strlen(t->names[i])) >= 0)
			continue;
		uint64_t h = name_hash(t->names[i], strlen(t->names[i])), unused;
		while (gm_u64_map_find(&by_name, h, &unused))
			h++;
		if (gm_u64_map_insert(&by_name, h, i)) {
			gm_u64_map_free(&by_name);
			return &gm_error_nomem;
		}
	}
	for (size_t i = 0; i < t->count && by_name.count; i++) {
		if (t->fields_id[i] >= 0)
			continue;
		const char *name = t->names[i];
		int64_t at = find_fields_type(t, &by_name, name, strlen(name));
		if (at < 0 && name[0] == '[') {
			char *end;
			unsigned long long n = strtoull(name + 1, &end, 10);
			if (*end == ']' && n > 0)
				at = find_fields_type(t, &by_name, end + 1, strlen(end + 1));
		}
		if (at >= 0) {
			t->fields_id[i] = t->ids[at];
			t->elem_size[i] = t->sizes[at];
		}
	}
	gm_u64_map_free(&by_name);
	return NULL;
}

static struct gm_error *index_type_ids(struct type_table *t);

struct gm_error *type_table_load(sqlite3 *db, const char *db_path, int64_t max_count, struct type_table *t)
{
	sqlite3_stmt *st;
	int64_t count = 0;
	if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM types", -1, &st, NULL) != SQLITE_OK)
		return analysis_db_error(db, db_path);
	if (sqlite3_step(st) == SQLITE_ROW)
		count = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (count < 0 || count > max_count)
		return gm_error_create(GM_ERR_SQL, "%s: %" PRId64 " types", db_path, count);
	size_t cap = (size_t)count + 1;
	t->ids = calloc(cap, sizeof(*t->ids));
	t->names = calloc(cap, sizeof(*t->names));
	t->sizes = calloc(cap, sizeof(*t->sizes));
	t->fields_id = calloc(cap, sizeof(*t->fields_id));
	t->elem_size = calloc(cap, sizeof(*t->elem_size));
	t->frame = calloc(cap, sizeof(*t->frame));
	t->collections = calloc(cap, sizeof(*t->collections));
	t->collection_frame = calloc(cap, sizeof(*t->collection_frame));
	if (!t->ids || !t->names || !t->sizes || !t->fields_id || !t->elem_size || !t->frame || !t->collections ||
	    !t->collection_frame)
		return &gm_error_nomem;
	if (sqlite3_prepare_v2(db, "SELECT id, name, size, id IN (SELECT type_id FROM fields), collection FROM types",
			       -1, &st, NULL) != SQLITE_OK)
		return analysis_db_error(db, db_path);
	struct gm_error *err = NULL;
	int rc;
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW && t->count < cap) {
		const char *name = (const char *)sqlite3_column_text(st, 1);
		size_t i = t->count;
		t->ids[i] = sqlite3_column_int64(st, 0);
		t->names[i] = strdup(name ? name : "?");
		t->sizes[i] = sqlite3_column_int64(st, 2);
		t->fields_id[i] = sqlite3_column_int64(st, 3) ? t->ids[i] : -1;
		t->elem_size[i] = t->sizes[i];
		const char *collection = (const char *)sqlite3_column_text(st, 4);
		if (collection && name && strcmp(collection, name) != 0 && !(t->collections[i] = strdup(collection)))
			err = &gm_error_nomem;
		if (!t->names[i] || gm_u64_map_insert(&t->index, (uint64_t)t->ids[i], i))
			err = &gm_error_nomem;
		t->count++;
	}
	if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = analysis_db_error(db, db_path);
	sqlite3_finalize(st);
	if (!err)
		err = index_type_ids(t);
	return err ? err : link_fields(t);
}

/* types.id -> position as an array when the ids are dense (the analyzer
 * numbers them from 1): a lookup per object without hashing. */
static struct gm_error *index_type_ids(struct type_table *t)
{
	int64_t max_id = 0;
	for (size_t i = 0; i < t->count; i++)
		max_id = t->ids[i] > max_id ? t->ids[i] : max_id;
	if ((uint64_t)max_id > 4 * (uint64_t)t->count + 1024)
		return NULL;
	t->nby_id = (size_t)max_id + 1;
	t->by_id = calloc(t->nby_id, sizeof(*t->by_id));
	if (!t->by_id)
		return &gm_error_nomem;
	for (size_t i = 0; i < t->count; i++)
		if (t->ids[i] >= 0)
			t->by_id[t->ids[i]] = (uint32_t)i + 1;
	return NULL;
}

bool type_table_position(const struct type_table *t, int64_t id, uint64_t *pos)
{
	if (!t->by_id)
		return gm_u64_map_find(&t->index, (uint64_t)id, pos);
	if (id < 0 || (uint64_t)id >= t->nby_id || !t->by_id[id])
		return false;
	*pos = t->by_id[id] - 1;
	return true;
}

void type_table_deinit(struct type_table *t)
{
	for (size_t i = 0; i < t->count; i++) {
		free(t->names[i]);
		if (t->collections)
			free(t->collections[i]);
	}
	free(t->ids);
	free(t->names);
	free(t->collections);
	free(t->collection_frame);
	free(t->sizes);
	free(t->fields_id);
	free(t->elem_size);
	free(t->frame);
	gm_u64_map_free(&t->index);
	free(t->by_id);
}

