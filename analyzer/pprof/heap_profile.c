/* heap_profile: see heap_profile.h.
 *
 * Cost: one SELECT over the live objects into C arrays; a dominator's chain
 * is shared by everything it dominates, so each object's chain is a node of
 * a trie keyed by (the dominator's node, one frame), found with one hash
 * probe from its dominator's node: O(objects) in all.  The field a
 * dominator points at its child through is usually free: when the shortest
 * path to the child runs through the dominator (objects.path_parent), the
 * pointer is objects.path_off; only the other children have their
 * dominator's edges read, one range query per such dominator.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/pprof/analysis_db.h"
#include "analyzer/pprof/chain_trie.h"
#include "analyzer/pprof/heap_profile.h"
#include "analyzer/pprof/live_objects.h"
#include "analyzer/pprof/profile_file.h"
#include "analyzer/pprof/profile_strings.h"
#include "analyzer/pprof/protobuf.h"
#include "analyzer/pprof/type_table.h"
#include "analyzer/util/output.h"
#include "analyzer/util/u64_map.h"

/* The encoded profile is compressed and written in pieces of about this size. */
#define OUT_FLUSH_BYTES (1 << 20)
/* Nested struct members followed when naming a field ("T.a.b.c"). */
#define MAX_FIELD_NESTING 8
/* The chains and counting loops may print a progress line every this many objects. */
#define TICK_OBJECTS (1u << 20)

static const char ELLIPSIS[] = "…";
static const char SEVERAL_ROOTS[] = "(several roots)";
static const char UNKNOWN_TYPE[] = "unknown type";

struct profile_builder {
	sqlite3 *db;
	const char *db_path;
	struct type_table types;
	struct live_objects objs;
	struct gm_progress *progress;
	struct strings strings;
	struct chain_trie trie;
	struct gm_u64_map field_frames;  /* type position << 32 | offset -> function id */
	struct gm_u64_map root_frames;   /* roots.id -> function id */
	sqlite3_stmt *field_stmt, *root_stmt;
	uint32_t ellipsis, several_roots, unknown_type;  /* function ids */
};

/* ---- frames ---- */

/* The frame of a type's bare name. */
static struct gm_error *type_frame(struct profile_builder *b, uint32_t type, uint32_t *ret)
{
	if (!type) {
		*ret = b->unknown_type;
		return NULL;
	}
	uint32_t *frame = &b->types.frame[type - 1];
	if (!*frame) {
		struct gm_error *err = function_of(&b->strings, b->types.names[type - 1], frame);
		if (err)
			return err;
	}
	*ret = *frame;
	return NULL;
}

/* The leaf of an object of type TYPE under chain node LINK: its collection's
 * frame, one row per map or slice in pprof's top, below a frame of its exact
 * type when that differs ([17749]*main.Record -> []*main.Record). */
static struct gm_error *leaf_node(struct profile_builder *b, uint32_t link, uint32_t type, uint32_t *leaf)
{
	uint32_t frame;
	struct gm_error *err = type_frame(b, type, &frame);
	if (err || !type || !b->types.collections[type - 1])
		return err ? err : chain_trie_child(&b->trie, link, frame, leaf);
	uint32_t *collection = &b->types.collection_frame[type - 1];
	if (!*collection && (err = function_of(&b->strings, b->types.collections[type - 1], collection)))
		return err;
	uint32_t exact;
	err = chain_trie_child(&b->trie, link, frame, &exact);
	return err ? err : chain_trie_child(&b->trie, exact, *collection, leaf);
}

/* Append ".member" for the member of TYPE_ID at *OFF to NAME (of capacity CAP);
 * false when there is none.  *OFF becomes the offset inside the member and
 * *TYPE_ID its type (-1 unless a struct, whose members can be named further). */
static bool append_member(struct profile_builder *b, int64_t *type_id, int64_t *off, char *name, size_t cap)
{
	sqlite3_stmt *st = b->field_stmt;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, *type_id);
	sqlite3_bind_int64(st, 2, *off);
	if (sqlite3_step(st) != SQLITE_ROW)
		return false;
	const char *member = (const char *)sqlite3_column_text(st, 0);
	size_t len = strlen(name);
	if (!member || strcmp(member, "_") == 0 || len + 1 + strlen(member) >= cap)
		return false;
	snprintf(name + len, cap - len, ".%s", member);
	*off -= sqlite3_column_int64(st, 1);
	*type_id = -1;
	uint64_t pos;
	if (sqlite3_column_type(st, 2) != SQLITE_NULL &&
	    gm_u64_map_find(&b->types.index, (uint64_t)sqlite3_column_int64(st, 2), &pos) &&
	    b->types.fields_id[pos] >= 0 && b->types.elem_size[pos] == b->types.sizes[pos])
		*type_id = b->types.fields_id[pos];
	return true;
}

/* The frame of a dominator of type TYPE holding the pointer to the next
 * object down the chain at OFF: "T.field.member", or "T". */
static struct gm_error *field_frame(struct profile_builder *b, uint32_t type, int32_t off, uint32_t *ret)
{
	if (!type || off < 0 || b->types.fields_id[type - 1] < 0)
		return type_frame(b, type, ret);
	int64_t elem = b->types.elem_size[type - 1];
	int64_t rel = elem > 0 ? off % elem : off;  /* an array of the type: the element's field */
	uint64_t key = (uint64_t)(type - 1) << 32 | (uint64_t)rel, value;
	if (gm_u64_map_find(&b->field_frames, key, &value)) {
		*ret = (uint32_t)value;
		return NULL;
	}
	char name[1024];
	snprintf(name, sizeof(name), "%s", b->types.names[type - 1]);
	int64_t type_id = b->types.fields_id[type - 1];
	for (int depth = 0; depth < MAX_FIELD_NESTING && type_id >= 0; depth++)
		if (!append_member(b, &type_id, &rel, name, sizeof(name)))
			break;
	struct gm_error *err = function_of(&b->strings, name, ret);
	if (!err && gm_u64_map_insert(&b->field_frames, key, *ret))
		err = &gm_error_nomem;
	return err;
}

/* The frame of root ROOT_ID: "KIND root NAME". */
static struct gm_error *root_frame(struct profile_builder *b, int64_t root_id, uint32_t *ret)
{
	uint64_t value;
	if (gm_u64_map_find(&b->root_frames, (uint64_t)root_id, &value)) {
		*ret = (uint32_t)value;
		return NULL;
	}
	sqlite3_stmt *st = b->root_stmt;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, root_id);
	char name[1024];
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(name, sizeof(name), "%s root %s", sqlite3_column_text(st, 0), sqlite3_column_text(st, 1));
	else if (rc == SQLITE_DONE)
		snprintf(name, sizeof(name), "root %" PRId64, root_id);
	else
		return analysis_db_error(b->db, b->db_path);
	struct gm_error *err = function_of(&b->strings, name, ret);
	if (!err && gm_u64_map_insert(&b->root_frames, (uint64_t)root_id, *ret))
		err = &gm_error_nomem;
	return err;
}

/* ---- chains ---- */

/* A progress line "WHAT: DONE of TOTAL" when one is due, checked every TICK_OBJECTS. */
static void tick(struct profile_builder *b, const char *what, uint32_t done, uint32_t total)
{
	if (done % TICK_OBJECTS == 0 && gm_progress_due(b->progress))
		gm_progress_print(b->progress, "  %s: %" PRIu32 " of %" PRIu32 " (%.0f%%)", what, done, total,
				  total ? 100.0 * done / total : 100.0);
}

/* PARENT's chain extended by FUNC, or by one ELLIPSIS once at the depth cap
 * (room is kept for the leaf's two frames: its exact type and its collection). */
static struct gm_error *trie_extend(struct profile_builder *b, uint32_t parent, uint32_t func, uint32_t *ret)
{
	struct chain_trie *t = &b->trie;
	if (t->depth[parent] + 3 < HEAP_PROFILE_MAX_DEPTH)
		return chain_trie_child(t, parent, func, ret);
	if (t->key[parent].func == b->ellipsis) {
		*ret = parent;
		return NULL;
	}
	struct gm_error *err = chain_trie_child(t, parent, b->ellipsis, ret);
	if (!err)
		t->truncated[*ret] = true;
	return err;
}

/* The chain node of object ID, whose dominator's node (if any) is known. */
static struct gm_error *object_context(struct profile_builder *b, uint32_t id, uint32_t *ret)
{
	struct live_objects *o = &b->objs;
	uint32_t dom = dominator_of(o, id);
	if (dom && bit_get(o->live, dom) && bit_get(o->done, dom)) {
		uint32_t frame, edge = o->link[id];
		int32_t off = edge < EDGE_LOOKUP ? (int32_t)edge : -1;
		if (off >= 0 && bit_get(o->has_header, dom))
			off = off >= o->header_size ? off - o->header_size : -1;
		struct gm_error *err = field_frame(b, o->type[dom], off, &frame);
		return err ? err : trie_extend(b, o->link[dom], frame, ret);
	}
	/* No dominating object (or a broken chain in a corrupt database). */
	uint32_t frame = b->several_roots;
	if (!dom && o->idom[id] & IDOM_ROOT) {
		struct gm_error *err = root_frame(b, o->idom[id] & ~IDOM_ROOT, &frame);
		if (err)
			return err;
	}
	return chain_trie_child(&b->trie, 0, frame, ret);
}

/* A stack of object ids, grown as deep as the deepest dominator chain. */
struct id_stack {
	uint32_t *ids;
	size_t len, cap;
};

static struct gm_error *id_stack_push(struct id_stack *s, uint32_t id)
{
	if (s->len == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		uint32_t *ids = realloc(s->ids, cap * sizeof(*ids));
		if (!ids)
			return &gm_error_nomem;
		s->ids = ids;
		s->cap = cap;
	}
	s->ids[s->len++] = id;
	return NULL;
}

/* Give every live object its chain node: walk up the dominators not yet
 * done (iteratively: chains can be millions long), then down again. */
static struct gm_error *build_contexts(struct profile_builder *b)
{
	struct live_objects *o = &b->objs;
	struct id_stack pending = { 0 };
	struct gm_error *err = NULL;
	gm_progress_print(b->progress, "building the dominator chains");
	for (uint32_t start = 1; start < o->n && !err; start++) {
		tick(b, "chains of objects", start, o->n - 1);
		if (!bit_get(o->live, start) || bit_get(o->done, start))
			continue;
		uint32_t id = start;
		while (!(err = id_stack_push(&pending, id))) {
			bit_set(o->busy, id);
			uint32_t dom = dominator_of(o, id);
			if (!dom || !bit_get(o->live, dom) || bit_get(o->busy, dom) || bit_get(o->done, dom))
				break;
			id = dom;
		}
		while (pending.len > 0 && !err) {
			id = pending.ids[--pending.len];
			uint32_t node = 0;
			err = object_context(b, id, &node);
			o->link[id] = node;
			bit_clear(o->busy, id);
			bit_set(o->done, id);
		}
	}
	free(pending.ids);
	return err;
}

/* Count each live object at the node of its chain plus its own type. */
static struct gm_error *count_objects(struct profile_builder *b, struct heap_profile_stats *stats)
{
	struct live_objects *o = &b->objs;
	gm_progress_print(b->progress, "counting the objects under %" PRIu32 " dominator chains", b->trie.count - 1);
	for (uint32_t id = 1; id < o->n; id++) {
		tick(b, "objects counted", id, o->n - 1);
		if (!bit_get(o->live, id))
			continue;
		uint32_t leaf;
		struct gm_error *err = leaf_node(b, o->link[id], o->type[id], &leaf);
		if (err)
			return err;
		uint64_t size = live_object_size(o, id);
		b->trie.objects[leaf]++;
		b->trie.bytes[leaf] += (int64_t)size;
		stats->objects++;
		stats->bytes += (int64_t)size;
	}
	return NULL;
}

/* ---- the profile message ---- */

/* profile.proto field numbers. */
enum {
	PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_LOCATION = 4, PROFILE_FUNCTION = 5,
	PROFILE_STRING_TABLE = 6, PROFILE_PERIOD_TYPE = 11, PROFILE_PERIOD = 12, PROFILE_COMMENT = 13,
	PROFILE_DEFAULT_SAMPLE_TYPE = 14,
	VALUE_TYPE_TYPE = 1, VALUE_TYPE_UNIT = 2,
	SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2,
	LOCATION_ID = 1, LOCATION_LINE = 4,
	LINE_FUNCTION_ID = 1,
	FUNCTION_ID = 1, FUNCTION_NAME = 2,
};

static struct gm_error *put_value_type(struct profile_builder *b, struct pb_buf *out, struct pb_buf *msg,
				       uint32_t field, const char *type, const char *unit)
{
	uint32_t type_s, unit_s;
	struct gm_error *err = string_intern(&b->strings, type, &type_s);
	if (!err)
		err = string_intern(&b->strings, unit, &unit_s);
	if (err)
		return err;
	pb_buf_clear(msg);
	pb_put_int64(msg, VALUE_TYPE_TYPE, type_s);
	pb_put_int64(msg, VALUE_TYPE_UNIT, unit_s);
	pb_put_message(out, field, msg);
	return NULL;
}

/* The samples, written to FILE as OUT fills (millions of them at 20M objects). */
static struct gm_error *put_samples(struct profile_builder *b, struct gzip_file *file, struct pb_buf *out,
				    struct pb_buf *msg, struct heap_profile_stats *stats)
{
	struct chain_trie *t = &b->trie;
	uint64_t locations[HEAP_PROFILE_MAX_DEPTH + 2];
	for (uint32_t node = 1; node < t->count; node++) {
		tick(b, "chains written", node, t->count - 1);
		if (!t->objects[node])
			continue;
		size_t n = 0;
		for (uint32_t at = node; at && n < sizeof(locations) / sizeof(locations[0]); at = t->key[at].parent)
			locations[n++] = t->key[at].func;  /* a location per function: the same ids */
		uint64_t values[2] = { (uint64_t)t->objects[node], (uint64_t)t->bytes[node] };
		pb_buf_clear(msg);
		pb_put_packed(msg, SAMPLE_LOCATION_ID, locations, n);
		pb_put_packed(msg, SAMPLE_VALUE, values, 2);
		pb_put_message(out, PROFILE_SAMPLE, msg);
		stats->samples++;
		stats->truncated += t->truncated[node];
		if (out->len >= OUT_FLUSH_BYTES) {
			struct gm_error *err = gzip_file_write_buf(file, out);
			if (err)
				return err;
		}
	}
	return NULL;
}

static void put_functions(struct profile_builder *b, struct pb_buf *out, struct pb_buf *msg, struct pb_buf *line)
{
	for (uint32_t f = 1; f <= b->strings.func_count; f++) {
		pb_buf_clear(line);
		pb_put_uint64(line, LINE_FUNCTION_ID, f);
		pb_buf_clear(msg);
		pb_put_uint64(msg, LOCATION_ID, f);
		pb_put_message(msg, LOCATION_LINE, line);
		pb_put_message(out, PROFILE_LOCATION, msg);
	}
	for (uint32_t f = 1; f <= b->strings.func_count; f++) {
		pb_buf_clear(msg);
		pb_put_uint64(msg, FUNCTION_ID, f);
		pb_put_int64(msg, FUNCTION_NAME, b->strings.func_string[f - 1]);
		/* No system_name: pprof leaves the name alone (frame_names.h). */
		pb_put_message(out, PROFILE_FUNCTION, msg);
	}
}

/* Encode the profile into FILE through the buffer OUT (left with the last bytes). */
static struct gm_error *encode_profile(struct profile_builder *b, enum heap_profile_sample default_sample,
				       struct gzip_file *file, struct pb_buf *out, struct heap_profile_stats *stats)
{
	struct pb_buf msg = { 0 }, line = { 0 };
	uint32_t space, comment;
	struct gm_error *err = put_value_type(b, out, &msg, PROFILE_SAMPLE_TYPE, "inuse_objects", "count");
	if (!err)
		err = put_value_type(b, out, &msg, PROFILE_SAMPLE_TYPE, "inuse_space", "bytes");
	if (!err)
		err = put_samples(b, file, out, &msg, stats);
	if (!err) {
		put_functions(b, out, &msg, &line);
		err = put_value_type(b, out, &msg, PROFILE_PERIOD_TYPE, "space", "bytes");
	}
	if (!err)
		err = string_intern(&b->strings, default_sample == HEAP_PROFILE_INUSE_OBJECTS ? "inuse_objects"
											   : "inuse_space", &space);
	if (!err)
		err = string_intern(&b->strings, "gomortem: live heap objects under their dominator chains",
				    &comment);
	if (!err) {
		pb_put_int64(out, PROFILE_PERIOD, 1);
		pb_put_int64(out, PROFILE_COMMENT, comment);
		pb_put_int64(out, PROFILE_DEFAULT_SAMPLE_TYPE, space);
		for (size_t s = 0; s < b->strings.count; s++)
			pb_put_bytes(out, PROFILE_STRING_TABLE, b->strings.items[s], strlen(b->strings.items[s]));
		stats->functions = b->strings.func_count;
	}
	if (!err && (out->failed || msg.failed || line.failed))
		err = &gm_error_nomem;
	pb_buf_deinit(&msg);
	pb_buf_deinit(&line);
	return err;
}

/* ---- the whole ---- */

static struct gm_error *builder_init(struct profile_builder *b)
{
	if (sqlite3_prepare_v2(b->db, "SELECT name, offset, field_type_id FROM fields WHERE type_id = ? AND offset <= ? "
				      "ORDER BY offset DESC LIMIT 1", -1, &b->field_stmt, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(b->db, "SELECT kind, name FROM roots WHERE id = ?", -1, &b->root_stmt, NULL) !=
		    SQLITE_OK)
		return analysis_db_error(b->db, b->db_path);
	uint32_t empty;
	struct gm_error *err = string_intern(&b->strings, "", &empty);
	if (!err)
		err = chain_trie_init(&b->trie);
	if (!err)
		err = function_of(&b->strings, ELLIPSIS, &b->ellipsis);
	if (!err)
		err = function_of(&b->strings, SEVERAL_ROOTS, &b->several_roots);
	if (!err)
		err = function_of(&b->strings, UNKNOWN_TYPE, &b->unknown_type);
	return err;
}

static void builder_deinit(struct profile_builder *b)
{
	sqlite3_finalize(b->field_stmt);
	sqlite3_finalize(b->root_stmt);
	type_table_deinit(&b->types);
	live_objects_deinit(&b->objs);
	strings_deinit(&b->strings);
	chain_trie_deinit(&b->trie);
	gm_u64_map_free(&b->field_frames);
	gm_u64_map_free(&b->root_frames);
}

static struct gm_error *write_profile(struct profile_builder *b, const char *out_path,
				     enum heap_profile_sample default_sample, struct heap_profile_stats *stats)
{
	struct gzip_file file;
	struct pb_buf out = { 0 };
	struct gm_error *err = gzip_file_open(out_path, &file);
	if (err)
		return err;
	err = encode_profile(b, default_sample, &file, &out, stats);
	if (!err)
		err = gzip_file_write_buf(&file, &out);
	pb_buf_deinit(&out);
	if (err) {
		gzip_file_abort(&file);
		return err;
	}
	return gzip_file_commit(&file);
}

struct gm_error *heap_profile_write(sqlite3 *db, const char *db_path, const char *out_path,
				    enum heap_profile_sample default_sample, struct gm_progress *progress,
				    struct heap_profile_stats *ret)
{
	struct profile_builder b = { .db = db, .db_path = db_path, .progress = progress };
	struct heap_profile_stats stats = { 0 };
	struct gm_error *err = builder_init(&b);
	if (!err)
		err = type_table_load(b.db, b.db_path, LIVE_MAX_OBJECT_ID, &b.types);
	if (!err)
		err = live_objects_load(b.db, b.db_path, &b.types, progress, &b.objs);
	if (!err)
		err = build_contexts(&b);
	if (!err)
		err = count_objects(&b, &stats);
	live_objects_deinit(&b.objs);  /* the trie has all the profile needs */
	if (!err) {
		gm_progress_print(progress, "writing %s", out_path);
		err = write_profile(&b, out_path, default_sample, &stats);
	}
	builder_deinit(&b);
	if (!err && ret)
		*ret = stats;
	return err;
}
