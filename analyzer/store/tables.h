/* tables: what each pipeline stage found, written into the store's tables. */
#ifndef GOMORTEM_TABLES_H
#define GOMORTEM_TABLES_H

#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"

struct gm_store;
struct gm_program;
struct gm_heap;
struct gm_memstats;
struct gm_warnings;
struct gm_stage_progress;

/* meta: the analysis's facts (versions, paths, ids, counts). */
struct gm_error *gm_write_meta(struct gm_store *store, struct gm_program *prog, const struct gm_heap *heap);

/* The touched bytes (core/touched.h) of every mapping (core segment) and
 * span: counting them reads the whole heap once per table, so analyze does
 * it on its second thread before the tables are written. */
struct gm_touched_counts {
	uint64_t *mappings; /* per core segment */
	uint64_t *spans;    /* per heap span */
};
struct gm_error *gm_count_touched(const struct gm_program *prog, const struct gm_heap *heap,
				  struct gm_touched_counts *ret);
void gm_touched_counts_free(struct gm_touched_counts *t);

/* mappings and threads, from the core; TOUCHED per core segment. */
struct gm_error *gm_write_mappings(struct gm_store *store, struct gm_program *prog, const uint64_t *touched);
struct gm_error *gm_write_threads(struct gm_store *store, struct gm_program *prog);

/* types (runtime descriptors, DWARF types, arrays) and the fields of struct types. */
struct gm_types;
struct gm_error *gm_write_types(struct gm_store *store, struct gm_program *prog, const struct gm_types *types);

/* spans, objects and edges, from the heap walk and the graph (NULL after
 * analyze --heap-only: the graph's columns stay NULL).  objects and edges
 * are millions of rows: they are written as whole B-trees into the tables
 * whose root pages are ROOT, while the store is detached (btree_writer.h).
 * TOUCHED: per span. */
struct gm_graph;
struct gm_btree_file;
struct gm_error *gm_write_spans(struct gm_store *store, const struct gm_heap *heap, const struct gm_graph *graph,
			       const uint64_t *touched);
/* type_stats: per type, all, reachable, retained and garbage sums (GRAPH
 * NULL after --heap-only: those columns NULL).  TOPMOST (per object, see
 * gm_domtree_topmost_of_type) says which objects' retained sizes count. */
struct gm_error *gm_write_type_stats(struct gm_store *store, const struct gm_heap *heap, const struct gm_graph *graph,
				     const struct gm_types *types, const uint8_t *topmost);
/* What objects_packed's columns are relative to (the meta rows the objects
 * view reads): the first object's address, the largest power of two that
 * divides every address's distance from it, and the most common root of the
 * shortest paths (a roots.id). */
struct gm_objects_packing {
	int64_t addr_base, addr_unit, path_root_base;
};
void gm_objects_packing_of(const struct gm_heap *heap, const struct gm_graph *graph, struct gm_objects_packing *ret);
struct gm_error *gm_write_objects_packing(struct gm_store *store, const struct gm_objects_packing *p);
struct gm_error *gm_write_objects(struct gm_btree_file *file, uint32_t root, const struct gm_heap *heap,
				  const struct gm_graph *graph, const struct gm_types *types,
				  const struct gm_objects_packing *packing, struct gm_stage_progress *progress);
struct gm_error *gm_write_edges(struct gm_btree_file *file, uint32_t root, const struct gm_graph *graph);

/* roots. */
struct gm_roots;
struct gm_error *gm_write_roots(struct gm_store *store, const struct gm_roots *roots, const struct gm_graph *graph);

/* thread_frames: native stacks. */
struct gm_native_stack;
struct gm_error *gm_write_thread_frames(struct gm_store *store, const struct gm_native_stack *stacks, size_t count);

/* goroutines. */
struct gm_goroutine_set;
struct gm_stacks;
/* STACKS may be NULL (origins then unknown). */
struct gm_error *gm_write_goroutines(struct gm_store *store, const struct gm_goroutine_set *set,
				     const struct gm_stacks *stacks);
struct gm_error *gm_write_frames(struct gm_store *store, const struct gm_stacks *stacks);

/* slices: len and cap of slice backing arrays. */
struct gm_error *gm_write_slices(struct gm_store *store, const struct gm_types *types);

/* strings: the bytes of every reachable string body (analyze --contents). */
struct gm_error *gm_write_string_contents(struct gm_store *store, const struct gm_heap *heap,
					  const struct gm_graph *graph, const struct gm_types *types);

/* memstats, and the warnings every stage collected. */
struct gm_error *gm_write_memstats(struct gm_store *store, const struct gm_memstats *ms);
struct gm_error *gm_write_warnings(struct gm_store *store, const char *stage, const struct gm_warnings *w);

#endif
