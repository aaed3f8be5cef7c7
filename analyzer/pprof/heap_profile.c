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
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyzer/pprof/analysis_db.h"
#include "analyzer/pprof/frame_names.h"
#include "analyzer/pprof/heap_profile.h"
#include "analyzer/pprof/profile_file.h"
#include "analyzer/pprof/protobuf.h"
#include "analyzer/pprof/type_table.h"
#include "analyzer/util/output.h"
#include "analyzer/util/u64_map.h"

/* Object ids are dense and 1-based (schema/gomortem.sql); this caps them so
 * that they and trie nodes fit 32 bits. */
#define MAX_OBJECT_ID (UINT32_MAX / 2)
/* Nested struct members followed when naming a field ("T.a.b.c"). */
#define MAX_FIELD_NESTING 8
/* objects.edge_off values that are not offsets. */
#define EDGE_NONE (-1)    /* no idom, or no direct edge from it */
#define EDGE_LOOKUP (-2)  /* the idom is not path_parent: read its edges */
/* ctx[] value of an object whose dominator chain is being walked. */
#define CTX_BUSY UINT32_MAX

static const char ELLIPSIS[] = "…";
static const char SEVERAL_ROOTS[] = "(several roots)";
static const char UNKNOWN_TYPE[] = "unknown type";

/* The live objects, indexed by objects.id (slot 0 unused). */
struct live_objects {
	uint32_t n;           /* max id + 1 */
	bool *live;
	bool *has_header;     /* its data starts after a malloc header */
	uint32_t *type;       /* type_table position + 1; 0 unknown */
	uint64_t *size;
	uint32_t *idom;       /* 0 none */
	int64_t *idom_root;   /* 0 none */
	int32_t *edge_off;    /* offset in idom of a pointer to this object, or EDGE_* */
	uint32_t *ctx;        /* trie node of the chain above the object; 0 not yet */
};

/* Interned strings: the profile's string table; index 0 is "". */
struct strings {
	char **items;
	size_t count, cap;
	struct gm_u64_map by_hash;  /* FNV-1a hash (probed linearly on collision) -> index */
	uint32_t *func;             /* function id of a string used as a frame; 0 none */
	size_t func_count;
	uint32_t *func_string;      /* function id - 1 -> string index */
};

/* The trie of chains: node 0 is the empty chain; a node is its parent plus one frame. */
struct trie {
	uint32_t *parent, *func, *depth;
	int64_t *objects, *bytes;   /* live objects whose chain ends at the node */
	bool *truncated;            /* an ELLIPSIS is on the chain */
	size_t count, cap;
	struct gm_u64_map children; /* parent << 32 | func -> node */
};

struct profile_builder {
	sqlite3 *db;
	const char *db_path;
	struct type_table types;
	struct live_objects objs;
	bool *span_has_headers;          /* by spans.id: its objects have a malloc header */
	int32_t header_size;             /* the size of that header (spans.header_size) */
	size_t span_count;               /* max spans.id + 1; 0 when none has headers */
	struct strings strings;
	struct trie trie;
	struct gm_u64_map field_frames;  /* type position << 32 | offset -> function id */
	struct gm_u64_map root_frames;   /* roots.id -> function id */
	sqlite3_stmt *field_stmt, *root_stmt;
	uint32_t ellipsis, several_roots, unknown_type;  /* function ids */
};

/* ---- strings and functions ---- */

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

/* The index of S in the string table, added if new; *RET. */
static struct gm_error *string_intern(struct strings *t, const char *s, uint32_t *ret)
{
	uint64_t h = fnv1a(s), at;
	for (;; h++) {
		if (!gm_u64_map_find(&t->by_hash, h, &at))
			break;
		if (strcmp(t->items[at], s) == 0) {
			*ret = (uint32_t)at;
			return NULL;
		}
	}
	if (t->count == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		char **items = realloc(t->items, cap * sizeof(*items));
		if (!items)
			return &gm_error_nomem;
		t->items = items;
		uint32_t *func = realloc(t->func, cap * sizeof(*func));
		if (!func)
			return &gm_error_nomem;
		t->func = func;
		t->cap = cap;
	}
	char *copy = strdup(s);
	if (!copy || gm_u64_map_insert(&t->by_hash, h, t->count)) {
		free(copy);
		return &gm_error_nomem;
	}
	t->items[t->count] = copy;
	t->func[t->count] = 0;
	*ret = (uint32_t)t->count++;
	return NULL;
}

/* The function id (1-based) of a frame named NAME, as frame_names.h spells it. */
static struct gm_error *function_of(struct strings *t, const char *name, uint32_t *ret)
{
	char *spelled = strdup(name);
	if (!spelled)
		return &gm_error_nomem;
	pprof_frame_spelling(spelled);
	uint32_t s;
	struct gm_error *err = string_intern(t, spelled, &s);
	free(spelled);
	if (err)
		return err;
	if (!t->func[s]) {
		uint32_t *grown = realloc(t->func_string, (t->func_count + 1) * sizeof(*grown));
		if (!grown)
			return &gm_error_nomem;
		t->func_string = grown;
		t->func_string[t->func_count++] = s;
		t->func[s] = (uint32_t)t->func_count;
	}
	*ret = t->func[s];
	return NULL;
}

static void strings_deinit(struct strings *t)
{
	for (size_t i = 0; i < t->count; i++)
		free(t->items[i]);
	free(t->items);
	free(t->func);
	free(t->func_string);
	gm_u64_map_free(&t->by_hash);
}

/* ---- loading ---- */

static struct gm_error *alloc_objects(struct live_objects *o, uint32_t n)
{
	o->n = n;
	o->live = calloc(n, sizeof(*o->live));
	o->has_header = calloc(n, sizeof(*o->has_header));
	o->type = calloc(n, sizeof(*o->type));
	o->size = calloc(n, sizeof(*o->size));
	o->idom = calloc(n, sizeof(*o->idom));
	o->idom_root = calloc(n, sizeof(*o->idom_root));
	o->edge_off = calloc(n, sizeof(*o->edge_off));
	o->ctx = calloc(n, sizeof(*o->ctx));
	if (!o->live || !o->has_header || !o->type || !o->size || !o->idom || !o->idom_root || !o->edge_off || !o->ctx)
		return &gm_error_nomem;
	return NULL;
}

static void objects_deinit(struct live_objects *o)
{
	free(o->live);
	free(o->has_header);
	free(o->type);
	free(o->size);
	free(o->idom);
	free(o->idom_root);
	free(o->edge_off);
	free(o->ctx);
}

/* An objects.id column value as an index, 0 when NULL or out of range. */
static uint32_t column_object(sqlite3_stmt *st, int col, uint32_t n)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return 0;
	int64_t id = sqlite3_column_int64(st, col);
	return id > 0 && id < (int64_t)n ? (uint32_t)id : 0;
}

/* One row of SELECT id, type_id, size, idom, idom_root, path_parent, path_off, span_id. */
static void load_object_row(struct profile_builder *b, sqlite3_stmt *st, uint32_t id, size_t *ret_lookups)
{
	struct live_objects *o = &b->objs;
	uint64_t pos;
	o->live[id] = true;
	int64_t span = sqlite3_column_int64(st, 7);
	o->has_header[id] = span > 0 && (size_t)span < b->span_count && b->span_has_headers[span];
	if (sqlite3_column_type(st, 1) != SQLITE_NULL && type_table_position(&b->types, sqlite3_column_int64(st, 1), &pos))
		o->type[id] = (uint32_t)pos + 1;
	int64_t size = sqlite3_column_int64(st, 2);
	o->size[id] = size > 0 ? (uint64_t)size : 0;
	o->idom[id] = column_object(st, 3, o->n);
	o->idom_root[id] = sqlite3_column_int64(st, 4);
	uint32_t path_parent = column_object(st, 5, o->n);
	int64_t path_off = sqlite3_column_int64(st, 6);
	if (!o->idom[id]) {
		o->edge_off[id] = EDGE_NONE;
	} else if (path_parent == o->idom[id]) {
		o->edge_off[id] = path_off >= 0 && path_off <= INT32_MAX ? (int32_t)path_off : EDGE_NONE;
	} else {
		o->edge_off[id] = EDGE_LOOKUP;
		(*ret_lookups)++;
	}
}

/* Which spans' objects start with a malloc header. */
static struct gm_error *load_spans(struct profile_builder *b)
{
	sqlite3_stmt *st;
	int64_t max_id = 0;
	if (sqlite3_prepare_v2(b->db, "SELECT MAX(id) FROM spans", -1, &st, NULL) != SQLITE_OK)
		return analysis_db_error(b->db, b->db_path);
	if (sqlite3_step(st) == SQLITE_ROW)
		max_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (max_id < 0 || max_id >= MAX_OBJECT_ID)
		return gm_error_create(GM_ERR_SQL, "%s: span id %" PRId64 " out of range", b->db_path, max_id);
	b->span_count = (size_t)max_id + 1;
	b->span_has_headers = calloc(b->span_count, sizeof(*b->span_has_headers));
	if (!b->span_has_headers)
		return &gm_error_nomem;
	/* spans.header_size: the analyzer's answer, from the runtime's own constants. */
	if (sqlite3_prepare_v2(b->db, "SELECT id, header_size FROM spans WHERE header_size > 0", -1, &st, NULL) !=
	    SQLITE_OK)
		return analysis_db_error(b->db, b->db_path);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		b->header_size = (int32_t)sqlite3_column_int64(st, 1);
		if (id > 0 && id <= max_id)
			b->span_has_headers[id] = true;
	}
	struct gm_error *err = rc == SQLITE_DONE ? NULL : analysis_db_error(b->db, b->db_path);
	sqlite3_finalize(st);
	return err;
}

static struct gm_error *load_objects(struct profile_builder *b, size_t *ret_lookups)
{
	sqlite3_stmt *st;
	int64_t max_id = 0;
	if (sqlite3_prepare_v2(b->db, "SELECT MAX(id) FROM objects", -1, &st, NULL) != SQLITE_OK)
		return analysis_db_error(b->db, b->db_path);
	if (sqlite3_step(st) == SQLITE_ROW)
		max_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (max_id < 0 || max_id >= MAX_OBJECT_ID)
		return gm_error_create(GM_ERR_SQL, "%s: object id %" PRId64 " out of range", b->db_path, max_id);
	struct gm_error *err = alloc_objects(&b->objs, (uint32_t)max_id + 1);
	if (err)
		return err;
	if (sqlite3_prepare_v2(b->db, "SELECT id, type_id, size, idom, idom_root, path_parent, path_off, span_id "
				      "FROM objects WHERE reachable = 1", -1, &st, NULL) != SQLITE_OK)
		return analysis_db_error(b->db, b->db_path);
	int rc;
	*ret_lookups = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (id <= 0 || id > max_id || b->objs.live[id]) {
			sqlite3_finalize(st);
			return gm_error_create(GM_ERR_SQL, "%s: bad object id %" PRId64, b->db_path, id);
		}
		load_object_row(b, st, (uint32_t)id, ret_lookups);
	}
	err = rc == SQLITE_DONE ? NULL : analysis_db_error(b->db, b->db_path);
	sqlite3_finalize(st);
	return err;
}

/* For the objects whose dominator is not their shortest-path parent: read the
 * dominator's pointers (one range query per dominator, edges being clustered
 * on src) and keep the first that points at the object. */
static struct gm_error *lookup_dominator_edges(struct profile_builder *b)
{
	struct live_objects *o = &b->objs;
	struct gm_u64_map done = { 0 };
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(b->db, "SELECT src_off, dst FROM edges WHERE src = ? ORDER BY src_off", -1, &st,
			       NULL) != SQLITE_OK)
		return analysis_db_error(b->db, b->db_path);
	struct gm_error *err = NULL;
	uint64_t unused;
	for (uint32_t id = 1; id < o->n && !err; id++) {
		if (!o->live[id] || o->edge_off[id] != EDGE_LOOKUP)
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
			if (dst && o->live[dst] && o->idom[dst] == dom && o->edge_off[dst] == EDGE_LOOKUP &&
			    off >= 0 && off <= INT32_MAX)
				o->edge_off[dst] = (int32_t)off;
		}
		if (rc != SQLITE_DONE)
			err = analysis_db_error(b->db, b->db_path);
	}
	sqlite3_finalize(st);
	gm_u64_map_free(&done);
	/* Dominators that do not point at their child directly. */
	for (uint32_t id = 1; id < o->n; id++)
		if (o->edge_off[id] == EDGE_LOOKUP)
			o->edge_off[id] = EDGE_NONE;
	return err;
}

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

/* ---- the trie of chains ---- */

static struct gm_error *trie_grow(struct trie *t)
{
	size_t cap = t->cap ? t->cap * 2 : 4096;
	uint32_t *parent = realloc(t->parent, cap * sizeof(*parent));
	if (parent)
		t->parent = parent;
	uint32_t *func = realloc(t->func, cap * sizeof(*func));
	if (func)
		t->func = func;
	uint32_t *depth = realloc(t->depth, cap * sizeof(*depth));
	if (depth)
		t->depth = depth;
	int64_t *objects = realloc(t->objects, cap * sizeof(*objects));
	if (objects)
		t->objects = objects;
	int64_t *bytes = realloc(t->bytes, cap * sizeof(*bytes));
	if (bytes)
		t->bytes = bytes;
	bool *truncated = realloc(t->truncated, cap * sizeof(*truncated));
	if (truncated)
		t->truncated = truncated;
	if (!parent || !func || !depth || !objects || !bytes || !truncated)
		return &gm_error_nomem;
	t->cap = cap;
	return NULL;
}

/* The node of PARENT's chain with FUNC below it. */
static struct gm_error *trie_child(struct trie *t, uint32_t parent, uint32_t func, uint32_t *ret)
{
	uint64_t key = (uint64_t)parent << 32 | func, value;
	if (gm_u64_map_find(&t->children, key, &value)) {
		*ret = (uint32_t)value;
		return NULL;
	}
	if (t->count == t->cap) {
		struct gm_error *err = trie_grow(t);
		if (err)
			return err;
	}
	if (t->count >= CTX_BUSY)
		return gm_error_create(GM_ERR_INTERNAL, "too many distinct dominator chains");
	uint32_t node = (uint32_t)t->count++;
	t->parent[node] = parent;
	t->func[node] = func;
	t->depth[node] = t->depth[parent] + 1;
	t->objects[node] = 0;
	t->bytes[node] = 0;
	t->truncated[node] = t->truncated[parent];
	if (gm_u64_map_insert(&t->children, key, node))
		return &gm_error_nomem;
	*ret = node;
	return NULL;
}

/* PARENT's chain extended by FUNC, or by one ELLIPSIS once at the depth cap
 * (room is kept for the leaf's own frame). */
static struct gm_error *trie_extend(struct profile_builder *b, uint32_t parent, uint32_t func, uint32_t *ret)
{
	struct trie *t = &b->trie;
	if (t->depth[parent] + 2 < HEAP_PROFILE_MAX_DEPTH)
		return trie_child(t, parent, func, ret);
	if (t->func[parent] == b->ellipsis) {
		*ret = parent;
		return NULL;
	}
	struct gm_error *err = trie_child(t, parent, b->ellipsis, ret);
	if (!err)
		t->truncated[*ret] = true;
	return err;
}

static void trie_deinit(struct trie *t)
{
	free(t->parent);
	free(t->func);
	free(t->depth);
	free(t->objects);
	free(t->bytes);
	free(t->truncated);
	gm_u64_map_free(&t->children);
}

/* ---- chains ---- */

/* The chain node of object ID, whose dominator's node (if any) is known. */
static struct gm_error *object_context(struct profile_builder *b, uint32_t id, uint32_t *ret)
{
	struct live_objects *o = &b->objs;
	uint32_t dom = o->idom[id];
	if (dom && o->live[dom] && o->ctx[dom] && o->ctx[dom] != CTX_BUSY) {
		uint32_t frame;
		int32_t off = o->edge_off[id];
		if (off >= 0 && o->has_header[dom])
			off = off >= b->header_size ? off - b->header_size : EDGE_NONE;
		struct gm_error *err = field_frame(b, o->type[dom], off, &frame);
		return err ? err : trie_extend(b, o->ctx[dom], frame, ret);
	}
	/* No dominating object (or a broken chain in a corrupt database). */
	uint32_t frame = b->several_roots;
	if (!dom && o->idom_root[id] > 0) {
		struct gm_error *err = root_frame(b, o->idom_root[id], &frame);
		if (err)
			return err;
	}
	return trie_child(&b->trie, 0, frame, ret);
}

/* Give every live object its chain node: walk up the dominators not yet
 * done (iteratively: chains can be millions long), then down again. */
static struct gm_error *build_contexts(struct profile_builder *b)
{
	struct live_objects *o = &b->objs;
	uint32_t *pending = malloc(o->n * sizeof(*pending));
	if (!pending)
		return &gm_error_nomem;
	struct gm_error *err = NULL;
	for (uint32_t start = 1; start < o->n && !err; start++) {
		if (!o->live[start] || o->ctx[start])
			continue;
		size_t depth = 0;
		uint32_t id = start;
		for (;;) {
			pending[depth++] = id;
			o->ctx[id] = CTX_BUSY;
			uint32_t dom = o->idom[id];
			if (!dom || !o->live[dom] || o->ctx[dom] || depth == o->n)
				break;
			id = dom;
		}
		while (depth > 0 && !err) {
			id = pending[--depth];
			uint32_t node = 0;
			err = object_context(b, id, &node);
			o->ctx[id] = node;
		}
	}
	free(pending);
	return err;
}

/* Count each live object at the node of its chain plus its own type. */
static struct gm_error *count_objects(struct profile_builder *b, struct heap_profile_stats *stats)
{
	struct live_objects *o = &b->objs;
	for (uint32_t id = 1; id < o->n; id++) {
		if (!o->live[id])
			continue;
		uint32_t frame, leaf;
		struct gm_error *err = type_frame(b, o->type[id], &frame);
		if (!err)
			err = trie_child(&b->trie, o->ctx[id], frame, &leaf);
		if (err)
			return err;
		b->trie.objects[leaf]++;
		b->trie.bytes[leaf] += (int64_t)o->size[id];
		stats->objects++;
		stats->bytes += (int64_t)o->size[id];
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

static void put_samples(struct profile_builder *b, struct pb_buf *out, struct pb_buf *msg,
			struct heap_profile_stats *stats)
{
	struct trie *t = &b->trie;
	uint64_t locations[HEAP_PROFILE_MAX_DEPTH + 2];
	for (uint32_t node = 1; node < t->count; node++) {
		if (!t->objects[node])
			continue;
		size_t n = 0;
		for (uint32_t at = node; at && n < sizeof(locations) / sizeof(locations[0]); at = t->parent[at])
			locations[n++] = t->func[at];  /* a location per function: the same ids */
		uint64_t values[2] = { (uint64_t)t->objects[node], (uint64_t)t->bytes[node] };
		pb_buf_clear(msg);
		pb_put_packed(msg, SAMPLE_LOCATION_ID, locations, n);
		pb_put_packed(msg, SAMPLE_VALUE, values, 2);
		pb_put_message(out, PROFILE_SAMPLE, msg);
		stats->samples++;
		stats->truncated += t->truncated[node];
	}
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

static struct gm_error *encode_profile(struct profile_builder *b, enum heap_profile_sample default_sample,
				       struct pb_buf *out, struct heap_profile_stats *stats)
{
	struct pb_buf msg = { 0 }, line = { 0 };
	uint32_t space, comment;
	struct gm_error *err = put_value_type(b, out, &msg, PROFILE_SAMPLE_TYPE, "inuse_objects", "count");
	if (!err)
		err = put_value_type(b, out, &msg, PROFILE_SAMPLE_TYPE, "inuse_space", "bytes");
	if (!err) {
		put_samples(b, out, &msg, stats);
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
		err = trie_grow(&b->trie);
	if (err)
		return err;
	b->trie.count = 1;  /* node 0: the empty chain */
	b->trie.parent[0] = b->trie.func[0] = b->trie.depth[0] = 0;
	b->trie.objects[0] = b->trie.bytes[0] = 0;
	b->trie.truncated[0] = false;
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
	free(b->span_has_headers);
	objects_deinit(&b->objs);
	strings_deinit(&b->strings);
	trie_deinit(&b->trie);
	gm_u64_map_free(&b->field_frames);
	gm_u64_map_free(&b->root_frames);
}

struct gm_error *heap_profile_write(sqlite3 *db, const char *db_path, const char *out_path,
				    enum heap_profile_sample default_sample, struct heap_profile_stats *ret)
{
	struct profile_builder b = { .db = db, .db_path = db_path };
	struct heap_profile_stats stats = { 0 };
	struct pb_buf out = { 0 };
	size_t lookups = 0;
	struct gm_error *err = builder_init(&b);
	if (!err)
		err = type_table_load(b.db, b.db_path, MAX_OBJECT_ID, &b.types);
	if (!err)
		err = load_spans(&b);
	if (!err)
		err = load_objects(&b, &lookups);
	if (!err && lookups)
		err = lookup_dominator_edges(&b);
	if (!err)
		err = build_contexts(&b);
	if (!err)
		err = count_objects(&b, &stats);
	if (!err)
		err = encode_profile(&b, default_sample, &out, &stats);
	builder_deinit(&b);
	if (!err)
		err = pb_write_gzip_file(out_path, &out);
	pb_buf_deinit(&out);
	if (!err && ret)
		*ret = stats;
	return err;
}
