#include "tables.h"

#include <dwarf.h>
#include <elf.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../dwarf/dwarf_index.h"
#include "../util/version.h"
#include "../core/native_unwind.h"
#include "../core/touched.h"
#include "../goruntime/goroutines.h"
#include "../goruntime/heap.h"
#include "../goruntime/roots.h"
#include "../goruntime/stacks.h"
#include "../graph/graph.h"
#include "../graph/typeinfer.h"
#include "../goruntime/memstats.h"
#include "../program/program.h"
#include "../util/collection_name.h"
#include "btree_writer.h"
#include "store.h"

/* How the core was read (core_compression) and what systemd-coredump said
 * about it: every user.coredump.NAME attribute as meta coredump_NAME. */
static struct gm_error *write_acquire_meta(struct gm_store *store, const struct gm_acquired *acq)
{
	struct gm_error *err = gm_store_meta_text(store, "core_compression",
						  gm_compression_name(acq->compression));
	for (size_t i = 0; i < acq->nattrs && !err; i++) {
		char key[128];
		snprintf(key, sizeof(key), "coredump_%s", acq->attrs[i].name);
		err = gm_store_meta_text(store, key, acq->attrs[i].value);
	}
	return err;
}

static uint64_t bytes_from(struct gm_address_space *mem, uint64_t start, uint64_t end,
			   enum gm_region_source source);

/* The runtime's arena index (mheap_.arenas: an array of L1 pointers to
 * [1<<arenaL2Bits]*heapArena arrays): address space the runtime maps for
 * itself outside Sys (mheap.sysAlloc takes each L2 array with sysAllocOS,
 * "heap index"), mostly untouched.  *BYTES its size, *SAVED the part the
 * core holds; false when the binding or the core does not say. */
static bool arena_index_extent(const struct gm_runtime *rt, const struct gm_core *core,
			       struct gm_address_space *mem, uint64_t *bytes, uint64_t *saved, uint64_t *touched)
{
	const struct gm_arena_layout *l = &rt->arena;
	*bytes = *saved = *touched = 0;
	if (!l->mheap_arenas.present || l->l2_bits == 0 || l->l2_bits > 40 || rt->ptr_size == 0)
		return false;
	uint64_t l2_bytes = (1ull << l->l2_bits) * rt->ptr_size, n = l->mheap_arenas.size / rt->ptr_size;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t l2;
		if (!gm_try_read_u64(mem, rt->mheap_addr + l->mheap_arenas.offset + i * rt->ptr_size, &l2))
			return false;
		if (!l2 || l2 + l2_bytes < l2)
			continue;
		*bytes += l2_bytes;
		*saved += bytes_from(mem, l2, l2 + l2_bytes, GM_REGION_CORE);
		*touched += gm_touched_bytes(core, mem, l2, l2 + l2_bytes);
	}
	return *bytes > 0;
}

struct gm_error *gm_write_meta(struct gm_store *store, struct gm_program *prog, const struct gm_heap *heap)
{
	const struct gm_core *core = prog->core;
	char now[32];
	time_t t = time(NULL);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	/* Absolute, so that go_value() and friends find the files from any directory. */
	char *core_path = realpath(core->path, NULL), *exe_path = realpath(prog->exe->path, NULL);
	struct { const char *key; const char *value; } texts[] = {
		{ "analyzer_version", GOMORTEM_VERSION },
		{ "analyzed_at", now },
		{ "go_version", prog->exe->go_version },
		{ "runtime_build_version", prog->core_go_version },
		{ "arch", gm_arch_name(core->arch) },
		{ "core_path", core_path ? core_path : core->path },
		{ "exe_path", exe_path ? exe_path : prog->exe->path },
		{ "exe_build_id", prog->exe->go_build_id },
		{ "command", core->psargs },
		{ "green_tea", heap->rt->green_tea ? "yes" : "no" },
		/* Where pointer bitmaps live: "arena" (heapArena.bitmap, Go 1.20/1.21:
		 * no object's type is recorded) or "headers" (malloc headers and span
		 * heap bits, Go 1.22+). */
		{ "pointer_bitmaps", heap->rt->arena_bitmap ? "arena" : "headers" },
		{ "debug_info", gm_program_debug_info(prog) },
		{ "runtime_layouts", gm_program_layouts_source(prog) },
		{ "unknown_columns", gm_program_unknown_columns(prog) },
		{ "go_experiments", prog->exe->go_experiments ? prog->exe->go_experiments : "" },
	};
	struct gm_error *err = NULL;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]) && !err; i++)
		err = gm_store_meta_text(store, texts[i].key, texts[i].value);
	free(core_path);
	free(exe_path);
	int signal = core->have_siginfo ? core->sig_number : core->threads[0].cursig;
	struct { const char *key; int64_t value; } ints[] = {
		{ "pid", core->pid },
		{ "signal", signal },
		{ "pie", prog->exe->e_type == ET_DYN },
		{ "load_bias", (int64_t)prog->bias },
		{ "page_size", (int64_t)heap->rt->page_size },
		{ "heap_objects", (int64_t)heap->nobjects },
		{ "heap_bytes", (int64_t)heap->object_bytes },
		{ "partial", core->ntruncated > 0 || prog->version_forced },
		{ "version_forced", prog->version_forced },
		{ "memory_faults", (int64_t)atomic_load(&prog->mem->nfaults) },
		{ "gc_masks_built", heap->gc_masks_built },
	};
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]) && !err; i++)
		err = gm_store_meta_int(store, ints[i].key, ints[i].value);
	uint64_t index_bytes, index_saved, index_touched;
	if (!err && arena_index_extent(heap->rt, core, prog->mem, &index_bytes, &index_saved, &index_touched)) {
		err = gm_store_meta_int(store, "arena_index_bytes", (int64_t)index_bytes);
		if (!err)
			err = gm_store_meta_int(store, "arena_index_saved", (int64_t)index_saved);
		if (!err)
			err = gm_store_meta_int(store, "arena_index_touched", (int64_t)index_touched);
	}
	return err ? err : write_acquire_meta(store, prog->acquired);
}

static void perm_string(uint32_t flags, char out[4])
{
	out[0] = flags & PF_R ? 'r' : '-';
	out[1] = flags & PF_W ? 'w' : '-';
	out[2] = flags & PF_X ? 'x' : '-';
	out[3] = '\0';
}

/* Bytes of [start, end) that the address space takes from SOURCE. */
static uint64_t bytes_from(struct gm_address_space *mem, uint64_t start, uint64_t end,
			   enum gm_region_source source)
{
	uint64_t total = 0;
	for (size_t i = 0; i < mem->nregions; i++) {
		const struct gm_region *r = &mem->regions[i];
		if (r->source != source || r->end <= start || r->start >= end)
			continue;
		total += (r->end < end ? r->end : end) - (r->start > start ? r->start : start);
	}
	return total;
}

/* Span indices by base address (ARG: the spans). */
static int span_base_compare(const void *a, const void *b, void *arg)
{
	const struct gm_span *spans = arg;
	uint64_t x = spans[*(const size_t *)a].base, y = spans[*(const size_t *)b].base;
	return x < y ? -1 : x > y;
}

/* The spans wholly inside [start, end) that can be its parts (page-aligned,
 * not yet counted, each past the one before), from BY_BASE (span indices
 * by base): into PARTS and their indices into WHICH; how many. */
static size_t spans_inside(const struct gm_core *core, const struct gm_heap *heap, const size_t *by_base,
			   uint64_t start, uint64_t end, const uint64_t *done, struct gm_touched_part *parts,
			   size_t *which)
{
	size_t lo = 0, hi = heap->nspans, n = 0;
	while (lo < hi) { /* the first span at or past start */
		size_t mid = lo + (hi - lo) / 2;
		if (heap->spans[by_base[mid]].base < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint64_t last_end = start;
	for (size_t k = lo; k < heap->nspans && heap->spans[by_base[k]].base < end; k++) {
		const struct gm_span *s = &heap->spans[by_base[k]];
		if (s->end > end || s->base < last_end || done[by_base[k]] != UINT64_MAX ||
		    !gm_touched_page_aligned(core, s->base, s->end))
			continue;
		parts[n] = (struct gm_touched_part){ .start = s->base, .end = s->end };
		which[n++] = by_base[k];
		last_end = s->end;
	}
	return n;
}

/* Each mapping's touched bytes, and its spans' from the same pass: the heap
 * is read once, not once for the mappings and again for the spans. */
static struct gm_error *count_mappings_and_spans(const struct gm_program *prog, const struct gm_heap *heap,
						 struct gm_touched_counts *t)
{
	const struct gm_core *core = prog->core;
	size_t n = heap->nspans ? heap->nspans : 1;
	size_t *by_base = malloc(n * sizeof(*by_base)), *which = malloc(n * sizeof(*which));
	struct gm_touched_part *parts = malloc(n * sizeof(*parts));
	if (!by_base || !which || !parts) {
		free(by_base);
		free(which);
		free(parts);
		return &gm_error_nomem;
	}
	for (size_t i = 0; i < heap->nspans; i++) {
		by_base[i] = i;
		t->spans[i] = UINT64_MAX; /* not counted yet */
	}
	qsort_r(by_base, heap->nspans, sizeof(*by_base), span_base_compare, heap->spans);
	for (size_t i = 0; i < core->nsegments; i++) {
		uint64_t start = core->segments[i].vaddr, end = start + core->segments[i].memsz;
		size_t nparts = spans_inside(core, heap, by_base, start, end, t->spans, parts, which);
		t->mappings[i] = gm_touched_bytes_parts(core, prog->mem, start, end, parts, nparts);
		for (size_t k = 0; k < nparts; k++)
			t->spans[which[k]] = parts[k].touched;
	}
	for (size_t i = 0; i < heap->nspans; i++) /* spans outside the mappings or not page-aligned */
		if (t->spans[i] == UINT64_MAX)
			t->spans[i] = gm_touched_bytes(core, prog->mem, heap->spans[i].base, heap->spans[i].end);
	free(by_base);
	free(which);
	free(parts);
	return NULL;
}

struct gm_error *gm_count_touched(const struct gm_program *prog, const struct gm_heap *heap,
				  struct gm_touched_counts *ret)
{
	ret->mappings = calloc(prog->core->nsegments ? prog->core->nsegments : 1, sizeof(*ret->mappings));
	ret->spans = calloc(heap->nspans ? heap->nspans : 1, sizeof(*ret->spans));
	struct gm_error *err = ret->mappings && ret->spans ? count_mappings_and_spans(prog, heap, ret)
							   : &gm_error_nomem;
	if (err)
		gm_touched_counts_free(ret);
	return err;
}

void gm_touched_counts_free(struct gm_touched_counts *t)
{
	free(t->mappings);
	free(t->spans);
	t->mappings = t->spans = NULL;
}

struct gm_error *gm_write_mappings(struct gm_store *store, struct gm_program *prog, const uint64_t *touched)
{
	struct gm_bulk *bulk;
	struct gm_error *err = gm_bulk_create(store, "mappings",
					      "start, end, perm, path, file_offset, in_core, from_exe, touched", 8,
					      &bulk);
	if (err)
		return err;
	const struct gm_core *core = prog->core;
	for (size_t i = 0; i < core->nsegments && !err; i++) {
		const struct gm_core_segment *seg = &core->segments[i];
		const struct gm_core_file *file = NULL;
		for (size_t f = 0; f < core->nfiles && !file; f++)
			if (core->files[f].start == seg->vaddr)
				file = &core->files[f];
		char perm[4];
		perm_string(seg->flags, perm);
		uint64_t end = seg->vaddr + seg->memsz;
		struct gm_sql_value row[8] = {
			gm_sql_int((int64_t)seg->vaddr), gm_sql_int((int64_t)end), gm_sql_text(perm),
			gm_sql_text(file ? file->path : NULL),
			file ? gm_sql_int((int64_t)file->file_offset) : gm_sql_null(),
			gm_sql_int((int64_t)bytes_from(prog->mem, seg->vaddr, end, GM_REGION_CORE)),
			gm_sql_int((int64_t)bytes_from(prog->mem, seg->vaddr, end, GM_REGION_EXE)),
			gm_sql_int((int64_t)touched[i]),
		};
		err = gm_bulk_row(bulk, row);
	}
	return gm_bulk_finish(bulk, err);
}

struct gm_error *gm_write_threads(struct gm_store *store, struct gm_program *prog)
{
	struct gm_bulk *bulk;
	struct gm_error *err = gm_bulk_create(store, "threads", "tid, pc, sp, func", 4, &bulk);
	if (err)
		return err;
	const struct gm_core *core = prog->core;
	for (size_t i = 0; i < core->nthreads && !err; i++) {
		const struct gm_core_thread *t = &core->threads[i];
		uint64_t pc = gm_core_thread_pc(core, t);
		const struct gm_symbol *sym = gm_exe_symbol_at(prog->exe, pc - prog->bias);
		struct gm_sql_value row[4] = {
			gm_sql_int(t->tid), gm_sql_int((int64_t)pc),
			gm_sql_int((int64_t)gm_core_thread_sp(core, t)),
			gm_sql_text(sym && sym->is_func ? sym->name : NULL),
		};
		err = gm_bulk_row(bulk, row);
	}
	return gm_bulk_finish(bulk, err);
}

/* Reachable objects of span S. */
static uint32_t live_count(const struct gm_span *s, const struct gm_graph *graph)
{
	uint32_t n = 0;
	for (uint32_t i = 0; s->state == GM_SPAN_IN_USE && i < s->alloc_count; i++)
		n += graph->reachable[s->first_object + i];
	return n;
}

struct gm_error *gm_write_spans(struct gm_store *store, const struct gm_heap *heap, const struct gm_graph *graph,
			       const uint64_t *touched)
{
	struct gm_bulk *bulk;
	struct gm_error *err = gm_bulk_create(store, "spans",
		"base, \"limit\", end, npages, size_class, elem_size, nelems, alloc_count, state, noscan, "
		"freeindex, runtime_alloc_count, mspan_addr, first_object, live_count, header_size, touched", 17, &bulk);
	if (err)
		return err;
	for (size_t i = 0; i < heap->nspans && !err; i++) {
		const struct gm_span *s = &heap->spans[i];
		bool in_use = s->state == GM_SPAN_IN_USE;
		struct gm_sql_value row[17] = {
			gm_sql_int((int64_t)s->base), gm_sql_int((int64_t)(in_use ? s->limit : s->end)),
			gm_sql_int((int64_t)s->end), gm_sql_int((int64_t)s->npages),
			gm_sql_int(s->size_class), gm_sql_int((int64_t)(in_use ? s->elemsize : 0)),
			gm_sql_int(in_use ? s->nelems : 0), gm_sql_int(s->alloc_count),
			gm_sql_text(in_use ? "in_use" : "manual"), gm_sql_int(s->noscan),
			gm_sql_int(s->freeindex), gm_sql_int(s->runtime_alloc_count),
			gm_sql_int((int64_t)s->mspan_addr),
			s->alloc_count ? gm_sql_int((int64_t)s->first_object + 1) : gm_sql_null(),
			graph ? gm_sql_int(live_count(s, graph)) : gm_sql_null(),
			gm_sql_int((int64_t)gm_span_header_size(heap, s)),
			gm_sql_int((int64_t)touched[i]),
		};
		err = gm_bulk_row(bulk, row);
	}
	return gm_bulk_finish(bulk, err);
}

/* An object index or root index as a 1-based id, or NULL (bit BIT of
 * NULL_MASK). */
static inline int64_t id_or_null(uint32_t index, uint64_t *null_mask, uint32_t bit)
{
	if (index == GM_NONE) {
		*null_mask |= 1ull << bit;
		return 0;
	}
	return (int64_t)index + 1;
}

/* objects_packed's columns, as in schema/gomortem.sql. */
enum {
	PACKED_ADDR_UNITS, PACKED_SIZE, PACKED_TYPE_ID, PACKED_SPAN_ID,
	PACKED_RETAINED_EXTRA, PACKED_IDOM_DELTA, PACKED_PATH_OFF, PACKED_PATH_DELTA, PACKED_PATH_ROOT_DELTA,
	PACKED_IDOM_ROOT, PACKED_ID,
	OBJECT_COLUMNS, FIRST_GRAPH_COLUMN = PACKED_RETAINED_EXTRA,
};

/* The most common root at the start of the objects' shortest paths, as a
 * roots.id (0 when no object has one). */
static int64_t most_common_path_root(const struct gm_graph *graph)
{
	uint32_t *count = graph && graph->nroots ? calloc(graph->nroots, sizeof(*count)) : NULL;
	if (!count)
		return 0;  /* no graph, or no memory: only the deltas grow */
	for (size_t i = 0; i < graph->nobjects; i++)
		if (graph->reachable[i] && graph->via_root[i] < graph->nroots)
			count[graph->via_root[i]]++;
	size_t best = 0;
	for (size_t r = 1; r < graph->nroots; r++)
		if (count[r] > count[best])
			best = r;
	int64_t id = count[best] ? (int64_t)best + 1 : 0;
	free(count);
	return id;
}

void gm_objects_packing_of(const struct gm_heap *heap, const struct gm_graph *graph, struct gm_objects_packing *ret)
{
	uint64_t base = heap->nobjects ? heap->objects[0].addr : 0, bits = 0;
	/* The largest power of two dividing every address's distance from the
	 * first: the allocator's smallest alignment (a greatest common divisor
	 * would cost a division an object). */
	for (size_t i = 1; i < heap->nobjects; i++)
		bits |= heap->objects[i].addr - base;
	ret->addr_base = (int64_t)base;
	ret->addr_unit = bits ? (int64_t)(bits & -bits) : 1;
	ret->path_root_base = most_common_path_root(graph);
}

struct gm_error *gm_write_objects_packing(struct gm_store *store, const struct gm_objects_packing *p)
{
	struct gm_error *err = gm_store_meta_int(store, "objects_addr_base", p->addr_base);
	if (!err)
		err = gm_store_meta_int(store, "objects_addr_unit", p->addr_unit);
	if (!err)
		err = gm_store_meta_int(store, "objects_path_root_base", p->path_root_base);
	return err;
}

static uint64_t object_row(const struct gm_heap *heap, const struct gm_types *types,
			   const struct gm_objects_packing *p, size_t i, int64_t row[OBJECT_COLUMNS])
{
	const struct gm_object *o = &heap->objects[i];
	uint32_t type = types->object_type[i];
	row[PACKED_ADDR_UNITS] = (int64_t)((o->addr - (uint64_t)p->addr_base) / (uint64_t)p->addr_unit);
	row[PACKED_SIZE] = (int64_t)gm_object_size(heap, o);
	row[PACKED_TYPE_ID] = (int64_t)type + 1;
	row[PACKED_SPAN_ID] = (int64_t)o->span + 1;
	return 1ull << PACKED_ID | (type == UINT32_MAX ? 1ull << PACKED_TYPE_ID : 0);
}

/* The graph's columns of object I into ROW (its size in ROW already); the
 * NULLs in the returned mask.  A reachable object retains at least itself. */
static struct gm_error *object_graph_columns(const struct gm_graph *graph, const struct gm_objects_packing *p,
					     size_t i, int64_t row[OBJECT_COLUMNS], uint64_t *nulls)
{
	int64_t id = (int64_t)i + 1;
	if (!graph->reachable[i]) {
		row[PACKED_RETAINED_EXTRA] = -1;
		*nulls |= ((1ull << OBJECT_COLUMNS) - 1) & ~((1ull << (PACKED_RETAINED_EXTRA + 1)) - 1);
		return NULL;
	}
	if (graph->retained[i] < (uint64_t)row[PACKED_SIZE] || graph->retained[i] > INT64_MAX)
		return gm_error_create(GM_ERR_INTERNAL, "object %" PRId64 " retains %" PRIu64 " bytes: not from its own %"
				       PRId64 " to 2^63", id, graph->retained[i], row[PACKED_SIZE]);
	row[PACKED_RETAINED_EXTRA] = (int64_t)graph->retained[i] - row[PACKED_SIZE];
	int64_t near = id;
	if (graph->idom[i] != GM_NONE) {
		near = (int64_t)graph->idom[i] + 1;
		row[PACKED_IDOM_DELTA] = near - id;
	} else {
		*nulls |= 1ull << PACKED_IDOM_DELTA;
	}
	/* The last columns cost nothing when NULL: 0 is stored as NULL in
	 * path_delta and path_root_delta (path_off says whether there is a
	 * parent; a reachable object always has a path root). */
	if (graph->parent[i] != GM_NONE) {
		row[PACKED_PATH_OFF] = graph->parent_off[i];
		row[PACKED_PATH_DELTA] = (int64_t)graph->parent[i] + 1 - near;
	} else {
		*nulls |= 1ull << PACKED_PATH_OFF;
	}
	if (graph->via_root[i] == GM_NONE)
		return gm_error_create(GM_ERR_INTERNAL, "reachable object %" PRId64 " has no path root", id);
	row[PACKED_PATH_ROOT_DELTA] = (int64_t)graph->via_root[i] + 1 - p->path_root_base;
	row[PACKED_IDOM_ROOT] = id_or_null(graph->idom_root[i], nulls, PACKED_IDOM_ROOT);
	for (int c = PACKED_PATH_DELTA; c <= PACKED_PATH_ROOT_DELTA; c++)
		if (row[c] == 0)
			*nulls |= 1ull << c;
	return NULL;
}

struct gm_error *gm_write_objects(struct gm_btree_file *file, uint32_t root, const struct gm_heap *heap,
				  const struct gm_graph *graph, const struct gm_types *types,
				  const struct gm_objects_packing *packing, struct gm_stage_progress *progress)
{
	struct gm_btree *tree;
	struct gm_error *err = gm_btree_create(file, root, GM_BTREE_TABLE, OBJECT_COLUMNS, &tree);
	if (err)
		return err;
	/* Without a graph (analyze --heap-only) its columns stay NULL. */
	uint64_t no_graph = ((1ull << OBJECT_COLUMNS) - 1) & ~((1ull << FIRST_GRAPH_COLUMN) - 1);
	gm_stage_start(progress, "objects stored", heap->nobjects);
	for (size_t i = 0; i < heap->nobjects && !err; i++) {
		if (i % (1u << 16) == 0)
			gm_stage_set(progress, i);
		int64_t row[OBJECT_COLUMNS] = { 0 };
		uint64_t nulls = object_row(heap, types, packing, i, row);
		if (graph)
			err = object_graph_columns(graph, packing, i, row, &nulls);
		else
			nulls |= no_graph;
		if (!err)
			err = gm_btree_append(tree, (int64_t)i + 1, row, nulls);
	}
	return gm_btree_finish(tree, err);
}

struct gm_error *gm_write_edges(struct gm_btree_file *file, uint32_t root, const struct gm_graph *graph)
{
	struct gm_btree *tree;
	struct gm_error *err = gm_btree_create(file, root, GM_BTREE_INDEX, 4, &tree);
	if (err)
		return err;
	/* The primary key (src, src_off) orders the tree: objects in id
	 * order, each one's pointer words by offset.  edges_packed's columns:
	 * src, src_off, dst - src, dst_off (NULL for 0). */
	for (size_t i = 0; i < graph->nobjects && !err; i++) {
		int64_t last_off = -1;
		for (uint64_t e = graph->edge_start[i]; e < graph->edge_start[i + 1] && !err; e++) {
			const struct gm_edge *edge = &graph->edges[e];
			if ((int64_t)edge->src_off <= last_off) {
				err = gm_error_create(GM_ERR_INTERNAL, "edges of object %zu out of offset order", i + 1);
				break;
			}
			last_off = edge->src_off;
			int64_t row[4] = { (int64_t)i + 1, edge->src_off, (int64_t)edge->dst - (int64_t)i, edge->dst_off };
			err = gm_btree_append(tree, 0, row, edge->dst_off ? 0 : 1u << 3);
		}
	}
	return gm_btree_finish(tree, err);
}

struct gm_error *gm_write_roots(struct gm_store *store, const struct gm_roots *roots, const struct gm_graph *graph)
{
	struct gm_bulk *bulk;
	struct gm_error *err = gm_bulk_create(store, "roots",
		"kind, name, addr, value, type_name, goid, frame_idx, dst, dst_off, retained", 10, &bulk);
	if (err)
		return err;
	for (size_t i = 0; i < roots->count && !err; i++) {
		const struct gm_root *r = &roots->items[i];
		bool to_object = r->dst != GM_NO_OBJECT;
		uint64_t retained = i < graph->nroots ? graph->root_retained[i] : 0;
		struct gm_sql_value row[10] = {
			gm_sql_text(gm_root_kind_name(r->kind)), gm_sql_text(r->name), gm_sql_int((int64_t)r->addr),
			gm_sql_int((int64_t)r->value), gm_sql_text(r->type_name),
			r->goid >= 0 ? gm_sql_int(r->goid) : gm_sql_null(),
			r->frame_idx >= 0 ? gm_sql_int(r->frame_idx) : gm_sql_null(),
			to_object ? gm_sql_int((int64_t)r->dst + 1) : gm_sql_null(),
			to_object ? gm_sql_int((int64_t)r->dst_off) : gm_sql_null(),
			retained ? gm_sql_int((int64_t)retained) : gm_sql_null(),
		};
		err = gm_bulk_row(bulk, row);
	}
	return gm_bulk_finish(bulk, err);
}

struct gm_error *gm_write_thread_frames(struct gm_store *store, const struct gm_native_stack *stacks, size_t count)
{
	struct gm_bulk *bulk;
	struct gm_error *err = gm_bulk_create(store, "thread_frames", "tid, idx, pc, symbol, go", 5, &bulk);
	if (err)
		return err;
	for (size_t i = 0; i < count && !err; i++) {
		for (size_t j = 0; j < stacks[i].count && !err; j++) {
			const struct gm_native_frame *f = &stacks[i].frames[j];
			struct gm_sql_value row[5] = {
				gm_sql_int(stacks[i].tid), gm_sql_int((int64_t)j), gm_sql_int((int64_t)f->pc),
				gm_sql_text(f->symbol), gm_sql_int(!f->native),
			};
			err = gm_bulk_row(bulk, row);
		}
	}
	return gm_bulk_finish(bulk, err);
}

struct gm_error *gm_write_goroutines(struct gm_store *store, const struct gm_goroutine_set *set,
				     const struct gm_stacks *stacks)
{
	struct gm_bulk *bulk;
	struct gm_error *err = gm_bulk_create(store, "goroutines",
		"goid, addr, status, wait_reason, raw_status, parent_goid, stack_lo, stack_hi, stack_bytes, "
		"sp, pc, tid, locked, start_func, created_by, created_at, wait_since", 17, &bulk);
	if (err)
		return err;
	for (size_t i = 0; i < set->count && !err; i++) {
		const struct gm_goroutine_origin *o = stacks ? &stacks->origins[i] : NULL;
		char created_at[4096] = "";
		if (o && o->created_file)
			snprintf(created_at, sizeof(created_at), "%s:%d", o->created_file, o->created_line);
		const struct gm_goroutine *g = &set->items[i];
		bool in_stack = g->start_sp >= g->stack_lo && g->start_sp <= g->stack_hi;
		bool waiting = g->wait_reason != 0 && g->wait_reason < set->nwait_strings &&
			       g->status_text == set->wait_strings[g->wait_reason];
		struct gm_sql_value row[17] = {
			gm_sql_int((int64_t)g->goid), gm_sql_int((int64_t)g->addr), gm_sql_text(g->status_text),
			waiting ? gm_sql_text(g->status_text) : gm_sql_null(), gm_sql_int(g->status),
			g->parent_goid ? gm_sql_int((int64_t)g->parent_goid) : gm_sql_null(),
			gm_sql_int((int64_t)g->stack_lo), gm_sql_int((int64_t)g->stack_hi),
			gm_sql_int(in_stack ? (int64_t)(g->stack_hi - g->start_sp) : 0),
			gm_sql_int((int64_t)g->start_sp), gm_sql_int((int64_t)g->start_pc),
			g->tid >= 0 ? gm_sql_int(g->tid) : gm_sql_null(), gm_sql_int(g->locked),
			gm_sql_text(o ? o->start_func : NULL), gm_sql_text(o ? o->created_by : NULL),
			gm_sql_text(created_at[0] ? created_at : NULL),
			g->wait_since > 0 ? gm_sql_int(g->wait_since) : gm_sql_null(),
		};
		err = gm_bulk_row(bulk, row);
	}
	return gm_bulk_finish(bulk, err);
}

struct gm_error *gm_write_frames(struct gm_store *store, const struct gm_stacks *stacks)
{
	struct gm_bulk *bulk;
	struct gm_error *err = gm_bulk_create(store, "frames", "goid, idx, pc, func, file, line, inlined, sp, fp",
					      9, &bulk);
	if (err)
		return err;
	for (size_t i = 0; i < stacks->count && !err; i++) {
		const struct gm_frame *f = &stacks->frames[i];
		struct gm_sql_value row[9] = {
			gm_sql_int((int64_t)f->goid), gm_sql_int(f->idx), gm_sql_int((int64_t)f->pc),
			gm_sql_text(f->func), gm_sql_text(f->file), gm_sql_int(f->line), gm_sql_int(f->inlined),
			gm_sql_int((int64_t)f->sp), gm_sql_int((int64_t)f->fp),
		};
		err = gm_bulk_row(bulk, row);
	}
	return gm_bulk_finish(bulk, err);
}

struct gm_error *gm_write_slices(struct gm_store *store, const struct gm_types *types)
{
	struct gm_bulk *bulk;
	struct gm_error *err = gm_bulk_create(store, "slices", "object_id, len, cap", 3, &bulk);
	if (err)
		return err;
	for (size_t i = 0; i < types->nslices && !err; i++) {
		const struct gm_slice_info *sl = &types->slices[i];
		int64_t row[3] = { (int64_t)sl->object + 1, (int64_t)sl->len, (int64_t)sl->cap };
		err = gm_bulk_row_ints(bulk, row, 0);
	}
	return gm_bulk_finish(bulk, err);
}

struct gm_error *gm_write_string_contents(struct gm_store *store, const struct gm_heap *heap,
					  const struct gm_graph *graph, const struct gm_types *types)
{
	struct gm_bulk *bulk;
	struct gm_error *err = gm_bulk_create(store, "strings", "object_id, value", 2, &bulk);
	if (err)
		return err;
	for (size_t i = 0; i < heap->nobjects && !err; i++) {
		uint32_t t = types->object_type[i];
		if (!graph->reachable[i] || t == UINT32_MAX)
			continue;
		const struct gm_type_entry *e = &types->entries[t];
		if (e->elem == UINT32_MAX || strcmp(types->entries[e->elem].name, "uint8") != 0 ||
		    e->count > gm_object_size(heap, &heap->objects[i]))
			continue;
		const char *bytes = gm_memory_at(heap->rt->prog->mem, heap->objects[i].addr, e->count);
		if (!bytes)
			continue;
		struct gm_sql_value row[2] = { gm_sql_int((int64_t)i + 1), gm_sql_blob(bytes, e->count) };
		err = gm_bulk_row(bulk, row);
	}
	return gm_bulk_finish(bulk, err);
}

struct gm_error *gm_write_memstats(struct gm_store *store, const struct gm_memstats *ms)
{
	struct gm_bulk *bulk;
	struct gm_error *err = gm_bulk_create(store, "memstats", "name, value, source", 3, &bulk);
	if (err)
		return err;
	for (size_t i = 0; i < ms->count && !err; i++) {
		const struct gm_memstat *m = &ms->stats[i];
		struct gm_sql_value row[3] = {
			gm_sql_text(m->name), m->known ? gm_sql_int((int64_t)m->value) : gm_sql_null(),
			gm_sql_text(m->source),
		};
		err = gm_bulk_row(bulk, row);
	}
	return gm_bulk_finish(bulk, err);
}

struct gm_error *gm_write_warnings(struct gm_store *store, const char *stage, const struct gm_warnings *w)
{
	char *const *texts = w->texts;
	size_t ntexts = w->ntexts;
	uint64_t total = w->count;
	struct gm_bulk *bulk;
	struct gm_error *err = gm_bulk_create(store, "warnings", "stage, message", 2, &bulk);
	if (err)
		return err;
	for (size_t i = 0; i < ntexts && !err; i++) {
		struct gm_sql_value row[2] = { gm_sql_text(stage), gm_sql_text(texts[i]) };
		err = gm_bulk_row(bulk, row);
	}
	if (!err && total > ntexts) {
		char more[96];
		snprintf(more, sizeof(more), "... and %" PRIu64 " more warnings not listed", total - ntexts);
		struct gm_sql_value row[2] = { gm_sql_text(stage), gm_sql_text(more) };
		err = gm_bulk_row(bulk, row);
	}
	return gm_bulk_finish(bulk, err);
}

static struct gm_error *write_fields_of(struct gm_bulk *bulk, struct gm_program *prog, const struct gm_types *types,
					size_t index)
{
	Dwarf_Die type, child;
	const struct gm_type_entry *e = &types->entries[index];
	if (!e->die || !gm_dwarf_die_at(prog->dwarf, e->die, &type) || dwarf_tag(&type) != DW_TAG_structure_type ||
	    dwarf_child(&type, &child) != 0)
		return NULL;
	struct gm_error *err = NULL;
	int idx = 0;
	do {
		Dwarf_Attribute attr;
		Dwarf_Word offset = 0;
		Dwarf_Die member_type;
		if (dwarf_tag(&child) != DW_TAG_member)
			continue;
		if (dwarf_attr(&child, DW_AT_data_member_location, &attr))
			dwarf_formudata(&attr, &offset);
		uint32_t member = UINT32_MAX;
		if (dwarf_attr(&child, DW_AT_type, &attr) && dwarf_formref_die(&attr, &member_type))
			member = gm_types_by_die(types, dwarf_dieoffset(&member_type));
		const char *name = dwarf_diename(&child);
		struct gm_sql_value row[5] = {
			gm_sql_int((int64_t)index + 1), gm_sql_int(idx++), gm_sql_text(name ? name : "?"),
			gm_sql_int((int64_t)offset), member == UINT32_MAX ? gm_sql_null() : gm_sql_int((int64_t)member + 1),
		};
		err = gm_bulk_row(bulk, row);
	} while (!err && dwarf_siblingof(&child, &child) == 0);
	return err;
}

/* One type's sums for table type_stats. */
struct type_sums {
	uint64_t count, bytes, reachable_count, reachable_bytes, retained_objects, retained_bytes, garbage_count,
		garbage_bytes;
};

static void sum_object(struct type_sums *sums, const struct gm_heap *heap, const struct gm_graph *graph,
		       const struct gm_types *types, const uint8_t *topmost, size_t i)
{
	uint32_t type = types->object_type[i];
	struct type_sums *s = &sums[type == UINT32_MAX ? types->count : type];
	uint64_t size = gm_object_size(heap, &heap->objects[i]);
	s->count++;
	s->bytes += size;
	if (!graph)
		return;
	if (!graph->reachable[i]) {
		s->garbage_count++;
		s->garbage_bytes += size;
		return;
	}
	s->reachable_count++;
	s->reachable_bytes += size;
	/* Counted at the topmost object of its type on its dominator chain, so
	 * that each object's bytes count once per type, even along chains
	 * whose types alternate (node -> [64]*node -> node). */
	if (topmost[i]) {
		s->retained_objects++;
		s->retained_bytes += graph->retained[i];
	}
}

struct gm_error *gm_write_type_stats(struct gm_store *store, const struct gm_heap *heap, const struct gm_graph *graph,
				     const struct gm_types *types, const uint8_t *topmost)
{
	struct type_sums *sums = calloc(types->count + 1, sizeof(*sums));
	if (!sums)
		return &gm_error_nomem;
	for (size_t i = 0; i < heap->nobjects; i++)
		sum_object(sums, heap, graph, types, topmost, i);
	struct gm_bulk *bulk;
	struct gm_error *err = gm_bulk_create(store, "type_stats",
		"type_id, count, bytes, reachable_count, reachable_bytes, retained_objects, retained_bytes, "
		"garbage_count, garbage_bytes", 9, &bulk);
	if (err) {
		free(sums);
		return err;
	}
	for (size_t t = 0; t <= types->count && !err; t++) {
		const struct type_sums *s = &sums[t];
		if (!s->count)
			continue;
		int64_t row[9] = { (int64_t)t + 1, (int64_t)s->count, (int64_t)s->bytes, (int64_t)s->reachable_count,
				   (int64_t)s->reachable_bytes, (int64_t)s->retained_objects, (int64_t)s->retained_bytes,
				   (int64_t)s->garbage_count, (int64_t)s->garbage_bytes };
		/* NULL: the unknown type's id; without a graph, columns 3-8. */
		uint32_t nulls = (t == types->count ? 1u : 0) | (graph ? 0 : ((1u << 9) - 1) & ~((1u << 3) - 1));
		err = gm_bulk_row_ints(bulk, row, nulls);
	}
	free(sums);
	return gm_bulk_finish(bulk, err);
}

struct gm_error *gm_write_types(struct gm_store *store, struct gm_program *prog, const struct gm_types *types)
{
	struct gm_bulk *rows, *fields;
	struct gm_error *err = gm_bulk_create(store, "types", "id, name, kind, size, ptr_bytes, runtime_addr, collection",
					      7, &rows);
	if (err)
		return err;
	err = gm_bulk_create(store, "fields", "type_id, idx, name, offset, field_type_id", 5, &fields);
	if (err)
		return gm_bulk_finish(rows, err);
	for (size_t i = 0; i < types->count && !err; i++) {
		const struct gm_type_entry *e = &types->entries[i];
		char collection[512];
		struct gm_sql_value row[8] = {
			gm_sql_int((int64_t)i + 1), gm_sql_text(e->name), gm_sql_text(e->kind),
			e->size ? gm_sql_int((int64_t)e->size) : gm_sql_null(),
			e->runtime_addr ? gm_sql_int((int64_t)e->ptr_bytes) : gm_sql_null(),
			e->runtime_addr ? gm_sql_int((int64_t)e->runtime_addr) : gm_sql_null(),
			gm_sql_text(gm_collection_name(e->name, collection, sizeof(collection))),
		};
		err = gm_bulk_row(rows, row);
		if (!err && prog->dwarf)
			err = write_fields_of(fields, prog, types, i);
	}
	err = gm_bulk_finish(fields, err);
	return gm_bulk_finish(rows, err);
}
