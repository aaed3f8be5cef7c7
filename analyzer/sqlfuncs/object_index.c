#include "object_index.h"

#include <stdlib.h>
#include <string.h>

/* An object of a loaded span. */
struct slot {
	uint64_t addr, size;
	int64_t type_id; /* 0: unknown */
};

struct span {
	uint64_t base, end, header_size;
	int64_t first_object, count;
	struct slot *slots; /* NULL until a lookup lands here */
};

struct type_name {
	int64_t id;
	char *name;
};

struct gm_object_index {
	sqlite3 *db;
	bool loaded, load_failed;
	struct span *spans; /* by base, and so by first_object */
	size_t nspans;
	struct type_name *types; /* by id */
	size_t ntypes;
};

struct gm_object_index *gm_object_index_new(sqlite3 *db)
{
	struct gm_object_index *idx = calloc(1, sizeof(*idx));
	if (idx)
		idx->db = db;
	return idx;
}

void gm_object_index_destroy(struct gm_object_index *idx)
{
	if (!idx)
		return;
	for (size_t i = 0; i < idx->nspans; i++)
		free(idx->spans[i].slots);
	for (size_t i = 0; i < idx->ntypes; i++)
		free(idx->types[i].name);
	free(idx->spans);
	free(idx->types);
	free(idx);
}

/* Grows *ARR (of *CAP elements of SIZE bytes) to hold one more than N. */
static bool reserve(void **arr, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return true;
	size_t want = *cap ? *cap * 2 : 1024;
	void *grown = realloc(*arr, want * size);
	if (!grown)
		return false;
	*arr = grown;
	*cap = want;
	return true;
}

static bool load_spans(struct gm_object_index *idx)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	if (sqlite3_prepare_v2(idx->db, "SELECT base, end, header_size, first_object, alloc_count FROM spans "
				"WHERE alloc_count > 0 AND first_object IS NOT NULL ORDER BY base", -1, &st, NULL) != SQLITE_OK)
		return false;
	bool ok = true;
	while (ok && sqlite3_step(st) == SQLITE_ROW) {
		ok = reserve((void **)&idx->spans, &cap, idx->nspans, sizeof(*idx->spans));
		if (ok)
			idx->spans[idx->nspans++] = (struct span){
				.base = (uint64_t)sqlite3_column_int64(st, 0),
				.end = (uint64_t)sqlite3_column_int64(st, 1),
				.header_size = (uint64_t)sqlite3_column_int64(st, 2),
				.first_object = sqlite3_column_int64(st, 3),
				.count = sqlite3_column_int64(st, 4),
			};
	}
	return sqlite3_finalize(st) == SQLITE_OK && ok;
}

static bool load_types(struct gm_object_index *idx)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	if (sqlite3_prepare_v2(idx->db, "SELECT id, name FROM types WHERE name IS NOT NULL ORDER BY id", -1, &st,
			       NULL) != SQLITE_OK)
		return false;
	bool ok = true;
	while (ok && sqlite3_step(st) == SQLITE_ROW) {
		ok = reserve((void **)&idx->types, &cap, idx->ntypes, sizeof(*idx->types));
		char *name = ok ? strdup((const char *)sqlite3_column_text(st, 1)) : NULL;
		ok = name != NULL;
		if (ok)
			idx->types[idx->ntypes++] = (struct type_name){ .id = sqlite3_column_int64(st, 0), .name = name };
	}
	return sqlite3_finalize(st) == SQLITE_OK && ok;
}

/* The spans and type names, read once. A failure (an unreadable database,
 * memory) leaves every lookup unanswered, as the SQL it replaces would. */
static bool loaded(struct gm_object_index *idx)
{
	if (!idx->loaded && !idx->load_failed) {
		idx->load_failed = !load_spans(idx) || !load_types(idx);
		idx->loaded = !idx->load_failed;
	}
	return idx->loaded;
}

static bool load_slots(struct gm_object_index *idx, struct span *s)
{
	sqlite3_stmt *st;
	if (s->slots)
		return true;
	s->slots = calloc((size_t)s->count, sizeof(*s->slots));
	if (!s->slots || sqlite3_prepare_v2(idx->db, "SELECT id, addr, size, type_id FROM objects "
					     "WHERE id BETWEEN ?1 AND ?2 ORDER BY id", -1, &st, NULL) != SQLITE_OK) {
		free(s->slots);
		s->slots = NULL;
		return false;
	}
	sqlite3_bind_int64(st, 1, s->first_object);
	sqlite3_bind_int64(st, 2, s->first_object + s->count - 1);
	int64_t n = 0;
	while (sqlite3_step(st) == SQLITE_ROW && n < s->count && sqlite3_column_int64(st, 0) == s->first_object + n)
		s->slots[n++] = (struct slot){ .addr = (uint64_t)sqlite3_column_int64(st, 1),
					       .size = (uint64_t)sqlite3_column_int64(st, 2),
					       .type_id = sqlite3_column_int64(st, 3) };
	if (sqlite3_finalize(st) != SQLITE_OK || n != s->count) { /* the spans table promised other ids */
		free(s->slots);
		s->slots = NULL;
		return false;
	}
	return true;
}

static const char *type_name(const struct gm_object_index *idx, int64_t id)
{
	size_t lo = 0, hi = idx->ntypes;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (idx->types[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < idx->ntypes && idx->types[lo].id == id ? idx->types[lo].name : NULL;
}

static void fill(const struct gm_object_index *idx, const struct span *s, int64_t i, struct gm_object_ref *ret)
{
	const struct slot *o = &s->slots[i];
	*ret = (struct gm_object_ref){ .id = s->first_object + i, .addr = o->addr, .size = o->size,
				       .data = o->addr + s->header_size,
				       .type = o->type_id ? type_name(idx, o->type_id) : NULL };
}

/* The last span whose first object is <= ID (BY_ID) or whose base is <= ADDR;
 * nspans when none is. */
static size_t last_span_at_most(const struct gm_object_index *idx, bool by_id, int64_t id, uint64_t addr)
{
	size_t lo = 0, hi = idx->nspans;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (by_id ? idx->spans[mid].first_object <= id : idx->spans[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : idx->nspans;
}

bool gm_object_index_at(struct gm_object_index *idx, uint64_t addr, struct gm_object_ref *ret)
{
	if (!addr || !loaded(idx))
		return false;
	size_t si = last_span_at_most(idx, false, 0, addr);
	if (si == idx->nspans || addr >= idx->spans[si].end || !load_slots(idx, &idx->spans[si]))
		return false;
	struct span *s = &idx->spans[si];
	int64_t lo = 0, hi = s->count; /* the last object starting at or below addr */
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;
		if (s->slots[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr - s->slots[lo - 1].addr >= s->slots[lo - 1].size)
		return false;
	fill(idx, s, lo - 1, ret);
	return true;
}

bool gm_object_index_by_id(struct gm_object_index *idx, int64_t id, struct gm_object_ref *ret)
{
	if (!loaded(idx))
		return false;
	size_t si = last_span_at_most(idx, true, id, 0);
	if (si == idx->nspans || id - idx->spans[si].first_object >= idx->spans[si].count ||
	    !load_slots(idx, &idx->spans[si]))
		return false;
	fill(idx, &idx->spans[si], id - idx->spans[si].first_object, ret);
	return true;
}
