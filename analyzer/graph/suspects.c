/* suspects: owners ranked by retained bytes, the descent to the
 * accumulation point, and the facts stored about it (suspects.h). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../dwarf/dwarf_index.h"
#include "../goruntime/heap.h"
#include "../goruntime/roots.h"
#include "../util/strbuf.h"
#include "domtree.h"
#include "graph.h"
#include "suspects.h"
#include "typeinfer.h"

/* What every step reads. */
struct search {
	const struct gm_graph *g;
	const struct gm_heap *heap;
	const struct gm_roots *roots;
	const struct gm_types *types;
	const struct gm_domtree *tree;
	struct gm_dwarf *dwarf;
	uint32_t *stack;              /* DFS stack: one slot per object suffices */
	uint32_t *rev_start;          /* reverse edges, built for the first jointly held suspect */
	uint32_t *rev;
	uint8_t *seen;                /* per object, for the reverse search */
	struct gm_stage_progress *progress; /* NULL: none */
};

/* A top-level node of the dominator tree: a root or a jointly held object;
 * or the group of every jointly held object of one type (COUNT > 1: many
 * small owners, say the records four globals all reach, hold together what
 * none holds alone), OBJECT then its largest member. */
struct owner {
	uint64_t retained;
	uint32_t root, object;        /* one of them is GM_NONE */
	uint32_t type;                /* a group's type (UINT32_MAX: unknown) */
	uint64_t count;               /* 1, or a group's members */
};

static int by_retained_desc(const void *a, const void *b)
{
	const struct owner *x = a, *y = b;
	return x->retained < y->retained ? 1 : x->retained > y->retained ? -1 : 0;
}

static const char *type_name(const struct search *s, uint32_t object)
{
	uint32_t t = s->types->object_type[object];
	return t == UINT32_MAX ? "?" : s->types->entries[t].name;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool is_slice_array(const struct search *s, uint32_t object)
{
	for (size_t i = 0; i < s->types->nslices; i++)
		if (s->types->slices[i].object == object)
			return true;
	return false;
}

/* A type that is the storage of a collection (an array: backing arrays,
 * string bytes, map directories and bucket arrays; a map's tables, buckets
 * and groups) rather than what a collection accumulates. */
static bool is_storage_type(const char *name)
{
	return name[0] == '[' || starts_with(name, "table<") || starts_with(name, "bucket<") ||
	       starts_with(name, "map.group[") || starts_with(name, "map.bucket[") || starts_with(name, "groupReference<");
}

/* A part of a collection rather than a thing of its own: an array its
 * owner points at (a map directory, a node's child array; a slice's
 * backing array is the slice, a collection itself), or a map's tables,
 * buckets and groups, as the compiler's DWARF names them. */
static bool is_part(const struct search *s, uint32_t object)
{
	const char *name = type_name(s, object);
	if (name[0] == '[')
		return !is_slice_array(s, object);
	return is_storage_type(name);
}

/* The child of the dominator-tree node keeping the most bytes. */
static uint32_t largest_child(const struct search *s, const uint32_t *child, uint64_t from, uint64_t to)
{
	uint32_t best = GM_NONE;
	for (uint64_t k = from; k < to; k++)
		if (best == GM_NONE || s->g->retained[child[k]] > s->g->retained[best])
			best = child[k];
	return best;
}

/* From an owner down to its accumulation point, then back up out of the
 * parts of a collection to the collection. */
static uint32_t accumulation_point(const struct search *s, const struct owner *o)
{
	const struct gm_domtree *t = s->tree;
	uint32_t node = o->object;
	if (o->count > 1)
		return node;  /* a group is its own point */
	if (node == GM_NONE)
		node = largest_child(s, t->root_child, t->root_first[o->root], t->root_first[o->root + 1]);
	if (node == GM_NONE)
		return GM_NONE;
	for (;;) {
		uint32_t c = largest_child(s, t->child, t->first[node], t->first[node + 1]);
		if (c == GM_NONE || s->g->retained[c] * 100 < s->g->retained[node] * GM_SUSPECT_DESCEND_PERCENT)
			break;
		node = c;
	}
	uint32_t top = o->object;
	while (node != top && is_part(s, node) && s->g->idom[node] != GM_NONE)
		node = s->g->idom[node];
	return node;
}

/* The index of the comma between a map's key and value in "K,V>". */
static size_t top_level_comma(const char *s)
{
	int depth = 0;
	for (size_t i = 0; s[i]; i++) {
		if (strchr("<[({", s[i]))
			depth++;
		else if (strchr(">])}", s[i]))
			depth--;
		else if (s[i] == ',' && depth == 0)
			return i;
	}
	return SIZE_MAX;
}

/* Go's names: map<K,V> / hash<K,V> -> map[K]V, hchan<T> -> chan T, a
 * slice's backing array [N]T -> []T. */
static void describe(const struct search *s, struct gm_suspect *sus)
{
	const char *name = type_name(s, sus->object);
	uint32_t t = s->types->object_type[sus->object];
	size_t len = strlen(name);
	if (sus->group_size > 1) {
		sus->kind = "objects";
		sus->name = strdup(name);
		return;
	}
	const char *args = NULL;
	if ((starts_with(name, "map<") || starts_with(name, "hash<")) && name[len - 1] == '>')
		args = strchr(name, '<') + 1;
	size_t comma = args ? top_level_comma(args) : SIZE_MAX;
	if (args && comma != SIZE_MAX) {
		sus->kind = "map";
		if (asprintf(&sus->name, "map[%.*s]%.*s", (int)comma, args, (int)(strlen(args) - comma - 2),
			     args + comma + 1) < 0)
			sus->name = NULL;
		return;
	}
	if (starts_with(name, "hchan<") && name[len - 1] == '>') {
		sus->kind = "channel";
		if (asprintf(&sus->name, "chan %.*s", (int)(len - 7), name + 6) < 0)
			sus->name = NULL;
		return;
	}
	if (strcmp(name, "sync.Pool") == 0) {
		sus->kind = "sync.Pool";
	} else if (name[0] == '[' && strchr(name, ']')) {
		sus->kind = "array";
		if (is_slice_array(s, sus->object)) {
			sus->kind = "slice";
			if (asprintf(&sus->name, "[]%s", strchr(name, ']') + 1) < 0)
				sus->name = NULL;
			return;
		}
	} else {
		sus->kind = t == UINT32_MAX ? "object" : s->types->entries[t].kind;
	}
	sus->name = strdup(name);
}

size_t gm_suspect_members(const struct gm_suspect *sus, const struct gm_domtree *tree, const uint32_t *object_type,
			  uint32_t *out, uint8_t *seen)
{
	size_t n = 0;
	if (sus->group_size <= 1) {
		out[n++] = sus->object;
		if (seen)
			seen[sus->object] = 1;
		return n;
	}
	uint32_t type = object_type[sus->object];
	for (size_t k = 0; k < tree->njoint; k++) {
		uint32_t o = tree->joint[k];
		if (object_type[o] != type)
			continue;
		out[n++] = o;
		if (seen)
			seen[o] = 1;
	}
	return n;
}

/* Push the suspect's members on the stack (marking them in SEEN when not NULL). */
static size_t push_members(struct search *s, const struct gm_suspect *sus, uint8_t *seen)
{
	return gm_suspect_members(sus, s->tree, s->types->object_type, s->stack, seen);
}

/* What the point's dominator subtree holds, by type (COUNT and BYTES have
 * a slot per type and one for the unknown type; they come back zeroed). */
static void tally(struct search *s, struct gm_suspect *sus, uint64_t *count, uint64_t *bytes)
{
	size_t ntypes = s->types->count;
	size_t depth = push_members(s, sus, NULL);
	while (depth > 0) {
		uint32_t o = s->stack[--depth];
		uint32_t t = s->types->object_type[o];
		size_t slot = t == UINT32_MAX ? ntypes : t;
		count[slot]++;
		bytes[slot] += gm_object_size(s->heap, &s->heap->objects[o]);
		sus->objects++;
		for (uint64_t k = s->tree->first[o]; k < s->tree->first[o + 1]; k++)
			s->stack[depth++] = s->tree->child[k];
	}
	/* What it accumulates first (the largest first), then the storage
	 * that holds it: a map's buckets may outweigh its records. */
	for (sus->ntypes = 0; sus->ntypes < GM_SUSPECT_TYPES_MAX; sus->ntypes++) {
		size_t best = SIZE_MAX;
		bool best_storage = true;
		for (size_t i = 0; i <= ntypes; i++) {
			if (!count[i])
				continue;
			bool storage = i < ntypes && is_storage_type(s->types->entries[i].name);
			if (best == SIZE_MAX || (best_storage && !storage) ||
			    (storage == best_storage && bytes[i] > bytes[best])) {
				best = i;
				best_storage = storage;
			}
		}
		if (best == SIZE_MAX)
			break;
		sus->types[sus->ntypes] = (struct gm_suspect_type){ best == ntypes ? UINT32_MAX : (uint32_t)best,
								   count[best], bytes[best], best_storage };
		count[best] = 0;
	}
	for (size_t i = 0; i <= ntypes; i++)
		count[i] = bytes[i] = 0;
}

/* The member of OBJECT holding the pointer at byte OFF: ".field", "[i]",
 * or "+off" when nothing names it. */
static void append_field(const struct search *s, struct strbuf *b, uint32_t object, uint64_t off)
{
	const struct gm_object *obj = &s->heap->objects[object];
	uint64_t header = gm_span_header_size(s->heap, &s->heap->spans[obj->span]);
	uint32_t t = s->types->object_type[object];
	if (t != UINT32_MAX && off >= header) {
		const struct gm_type_entry *e = &s->types->entries[t];
		Dwarf_Die die;
		char buf[256];
		if (e->elem != UINT32_MAX && s->types->entries[e->elem].size) {
			sb_printf(b, "[%" PRIu64 "]", (off - header) / s->types->entries[e->elem].size);
			return;
		}
		if (e->die && s->dwarf && gm_dwarf_die_at(s->dwarf, e->die, &die) &&
		    gm_dwarf_describe_offset(s->dwarf, &die, off - header, buf, sizeof(buf), NULL) > 0) {
			sb_printf(b, "%s", buf);
			return;
		}
	}
	sb_printf(b, "+%" PRIu64, off);
}

#define PATH_SHOWN_ENDS 4

/* A shortest path from a root to the point: "root -> T.field -> ... -> name". */
static struct gm_error *describe_path(struct search *s, struct gm_suspect *sus)
{
	size_t n = 0;
	for (uint32_t o = sus->object; o != GM_NONE; o = s->g->parent[o])
		s->stack[n++] = o;
	uint32_t top = s->stack[n - 1];
	uint32_t root = s->g->via_root[top];
	struct strbuf b = { 0 };
	sb_printf(&b, "%s", root < s->roots->count ? s->roots->items[root].name : "?");
	for (size_t i = n; i-- > 1;) {
		size_t from_top = n - 1 - i;
		if (from_top == PATH_SHOWN_ENDS && i > PATH_SHOWN_ENDS) {
			sb_printf(&b, " -> ... %zu more ...", i - PATH_SHOWN_ENDS);
			i = PATH_SHOWN_ENDS;
		}
		sb_printf(&b, " -> %s", type_name(s, s->stack[i]));
		append_field(s, &b, s->stack[i], s->g->parent_off[s->stack[i - 1]]);
	}
	sb_printf(&b, " -> %s", sus->name);
	if (b.failed) {
		free(b.data);
		return &gm_error_nomem;
	}
	sus->path = b.data;
	return NULL;
}

/* Reverse edges of the reachable objects (for the roots that share one);
 * 32-bit offsets: the edges are fewer than 2^32 (the dominator search
 * has checked). */
static struct gm_error *build_reverse(struct search *s)
{
	const struct gm_graph *g = s->g;
	s->rev_start = calloc(g->nobjects + 1, sizeof(*s->rev_start));
	s->rev = malloc((g->nedges ? g->nedges : 1) * sizeof(*s->rev));
	s->seen = calloc(g->nobjects ? g->nobjects : 1, 1);
	if (!s->rev_start || !s->rev || !s->seen)
		return &gm_error_nomem;
	if (g->nedges >= UINT32_MAX)
		return gm_error_create(GM_ERR_INTERNAL, "%zu edges: more than the suspect search counts", g->nedges);
	for (size_t e = 0; e < g->nedges; e++)
		s->rev_start[gm_graph_edge_dst(g, e) + 1]++;
	for (size_t i = 0; i < g->nobjects; i++)
		s->rev_start[i + 1] += s->rev_start[i];
	uint32_t *fill = malloc((g->nobjects ? g->nobjects : 1) * sizeof(*fill));
	if (!fill)
		return &gm_error_nomem;
	memcpy(fill, s->rev_start, g->nobjects * sizeof(*fill));
	gm_stage_start(s->progress, "leak suspects: reverse edges of objects", g->nobjects);
	for (size_t i = 0; i < g->nobjects; i++) {
		if (i % (1u << 16) == 0)
			gm_stage_set(s->progress, i);
		for (uint64_t e = g->edge_start[i]; e < g->edge_start[i + 1]; e++)
			s->rev[fill[gm_graph_edge_dst(g, e)]++] = (uint32_t)i;
	}
	free(fill);
	return NULL;
}

/* The roots from which the point is reachable: a search back along the
 * edges from it, then every root pointing into what it found. */
static struct gm_error *sharing_roots(struct search *s, struct gm_suspect *sus)
{
	if (!s->rev_start) {
		struct gm_error *err = build_reverse(s);
		if (err)
			return err;
	}
	memset(s->seen, 0, s->g->nobjects);
	size_t depth = push_members(s, sus, s->seen);
	while (depth > 0) {
		uint32_t o = s->stack[--depth];
		for (uint32_t k = s->rev_start[o]; k < s->rev_start[o + 1]; k++) {
			uint32_t p = s->rev[k];
			if (!s->seen[p] && s->g->reachable[p]) {
				s->seen[p] = 1;
				s->stack[depth++] = p;
			}
		}
	}
	for (size_t r = 0; r < s->roots->count; r++) {
		uint32_t dst = s->roots->items[r].dst;
		if (dst == GM_NO_OBJECT || !s->seen[dst])
			continue;
		if (sus->nsharing < GM_SUSPECT_ROOTS_MAX)
			sus->sharing[sus->nsharing++] = (uint32_t)r;
		sus->shared_by++;
	}
	return NULL;
}

/* The root alone dominating OBJECT, or GM_NONE when several roots hold it. */
static uint32_t dominating_root(const struct gm_graph *g, uint32_t object)
{
	while (g->idom[object] != GM_NONE)
		object = g->idom[object];
	return g->idom_root[object];
}

static struct gm_error *examine(struct search *s, const struct owner *o, struct gm_suspect *sus, uint64_t *count,
				uint64_t *bytes)
{
	sus->object = accumulation_point(s, o);
	sus->owner_retained = o->retained;
	sus->group_size = o->count;
	sus->retained = o->count > 1 ? o->retained : s->g->retained[sus->object];
	describe(s, sus);
	if (!sus->name)
		return &gm_error_nomem;
	tally(s, sus, count, bytes);
	sus->root = dominating_root(s->g, sus->object);
	struct gm_error *err = describe_path(s, sus);
	if (!err && sus->root == GM_NONE)
		err = sharing_roots(s, sus);
	else if (!err) {
		sus->sharing[sus->nsharing++] = sus->root;
		sus->shared_by = 1;
	}
	return err;
}

/* Every root that dominates something and every jointly held object. */
static struct gm_error *list_owners(const struct search *s, struct owner **ret, size_t *ret_n)
{
	size_t n = 0, cap = s->g->nroots + s->tree->njoint;
	struct owner *owners = malloc((cap ? cap : 1) * sizeof(*owners));
	if (!owners)
		return &gm_error_nomem;
	for (size_t r = 0; r < s->g->nroots; r++)
		if (s->g->root_retained[r])
			owners[n++] = (struct owner){ s->g->root_retained[r], (uint32_t)r, GM_NONE, UINT32_MAX, 1 };
	/* Jointly held objects, summed by type; a type with one is that object. */
	size_t ntypes = s->types->count;
	struct owner *groups = calloc(ntypes + 1, sizeof(*groups));
	if (!groups) {
		free(owners);
		return &gm_error_nomem;
	}
	for (size_t k = 0; k < s->tree->njoint; k++) {
		uint32_t o = s->tree->joint[k], t = s->types->object_type[o];
		struct owner *gr = &groups[t == UINT32_MAX ? ntypes : t];
		gr->retained += s->g->retained[o];
		if (gr->count++ == 0 || s->g->retained[o] > s->g->retained[gr->object])
			gr->object = o;
	}
	for (size_t t = 0; t <= ntypes; t++)
		if (groups[t].count)
			owners[n++] = (struct owner){ groups[t].retained, GM_NONE, groups[t].object,
						      t == ntypes ? UINT32_MAX : (uint32_t)t, groups[t].count };
	free(groups);
	qsort(owners, n, sizeof(*owners), by_retained_desc);
	*ret = owners;
	*ret_n = n;
	return NULL;
}

static struct gm_error *find(struct search *s, struct gm_suspects *out)
{
	struct owner *owners;
	size_t n;
	struct gm_error *err = list_owners(s, &owners, &n);
	if (err)
		return err;
	uint64_t *count = calloc(s->types->count + 1, sizeof(*count));
	uint64_t *bytes = calloc(s->types->count + 1, sizeof(*bytes));
	s->stack = malloc((s->g->nobjects ? s->g->nobjects : 1) * sizeof(*s->stack));
	if (!count || !bytes || !s->stack)
		err = &gm_error_nomem;
	uint64_t live = s->g->reachable_bytes;
	for (size_t i = 0; i < n && out->count < GM_SUSPECTS_MAX && !err; i++) {
		if (owners[i].retained * 100 < live * GM_SUSPECT_MIN_SHARE_PERCENT)
			break;
		/* Again each time: building the reverse edges has its own count. */
		gm_stage_start(s->progress, "leak suspects: owners examined", n);
		gm_stage_set(s->progress, i);
		struct gm_suspect *sus = &out->items[out->count];
		memset(sus, 0, sizeof(*sus));
		if (accumulation_point(s, &owners[i]) == GM_NONE)
			continue;
		out->count++;
		err = examine(s, &owners[i], sus, count, bytes);
	}
	free(count);
	free(bytes);
	free(owners);
	return err;
}

struct gm_error *gm_suspects_find(const struct gm_graph *graph, const struct gm_heap *heap,
				  const struct gm_roots *roots, const struct gm_types *types,
				  const struct gm_domtree *tree, struct gm_dwarf *dwarf, struct gm_stage_progress *progress,
				  struct gm_suspects **ret)
{
	*ret = NULL;
	struct gm_suspects *out = calloc(1, sizeof(*out));
	if (!out)
		return &gm_error_nomem;
	out->reachable_bytes = graph->reachable_bytes;
	struct search s = { graph, heap, roots, types, tree, dwarf, NULL, NULL, NULL, NULL, progress };
	struct gm_error *err = find(&s, out);
	gm_stage_end(progress);
	free(s.stack);
	free(s.rev_start);
	free(s.rev);
	free(s.seen);
	if (err) {
		gm_suspects_destroy(out);
		return err;
	}
	*ret = out;
	return NULL;
}

void gm_suspects_destroy(struct gm_suspects *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->count; i++) {
		free(s->items[i].name);
		free(s->items[i].path);
	}
	free(s);
}
