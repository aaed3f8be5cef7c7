/* gomortem analyze: the full analysis of a core into a SQLite database. */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "analyze_progress.h"
#include "analyzer/core/native_unwind.h"
#include "analyzer/goruntime/binding.h"
#include "analyzer/goruntime/goroutines.h"
#include "analyzer/goruntime/heap.h"
#include "analyzer/goruntime/memstats.h"
#include "analyzer/goruntime/mprof.h"
#include "analyzer/goruntime/pclntab.h"
#include "analyzer/goruntime/roots.h"
#include "analyzer/goruntime/stacks.h"
#include "analyzer/graph/domtree.h"
#include "analyzer/graph/goleak.h"
#include "analyzer/graph/graph.h"
#include "analyzer/graph/suspect_sites.h"
#include "analyzer/graph/suspects.h"
#include "analyzer/graph/typecheck.h"
#include "analyzer/graph/typeinfer.h"
#include "analyzer/graph/untyped.h"
#include "analyzer/program/program.h"
#include "analyzer/sqlfuncs/heapfuncs.h"
#include "analyzer/store/btree_writer.h"
#include "analyzer/store/store.h"
#include "analyzer/store/suspects_table.h"
#include "analyzer/store/alloc_sites_table.h"
#include "analyzer/store/tables.h"
#include "analyzer/util/output.h"

static const char analyze_usage[] =
	"usage: gomortem analyze CORE [--exe EXE] -o OUT.db [options]\n"
	"\n"
	"Analyze a Go core dump into a SQLite database: every span and heap object,\n"
	"the types that malloc headers and large spans name, the runtime's own memory\n"
	"accounting, the threads and mappings.  Query it with 'gomortem sql OUT.db'.\n"
	"The database is written under a temporary name and renamed when complete: a\n"
	"failed or killed run leaves nothing behind (nor do the temporaries of older\n"
	"runs whose process is gone).\n"
	CLI_CORE_INPUT_HELP
	"\n"
	"  -o, --output OUT.db   the database to write (a regular file replaced if it\n"
	"                        exists; a device, FIFO or directory is refused)\n"
	"  --exe EXE             the executable (default: found through the core's NT_FILE note)\n"
	"  --runtime-from EXE    for an executable without DWARF whose Go version has no\n"
	"                        built-in layout table: take the runtime's layouts from the\n"
	"                        DWARF of EXE, any executable built by the same Go version\n"
	"  --ignore-dwarf        analyze as if the executable had no DWARF (runtime layouts\n"
	"                        from the built-in table, names from the symbol table,\n"
	"                        types from the runtime's descriptors): to see what a build\n"
	"                        with -ldflags=-w would give\n"
	"  --sysroot DIR         where the shared libraries of a core from another machine\n"
	"                        are (its root, e.g. /usr/aarch64-linux-gnu for an arm64\n"
	"                        core on Debian): their CFI unwinds the threads in C\n"
	"                        (default: /, the libraries at the paths the core names)\n"
	"  --allow-truncated     analyze a core cut short; what is missing is unsaved memory\n"
	"                        and the database is marked partial (meta.partial = 1)\n"
	"  --force-version       analyze a Go version gomortem does not know (outside\n"
	"                        " GM_GO_KNOWN_RANGE ") anyway; the database is marked partial\n"
	"                        (meta.partial = 1, meta.version_forced = 1)\n"
	"  --contents            also store memory contents: the bytes of every reachable\n"
	"                        string body (table strings), for when the core cannot travel\n"
	"                        with the database; without it the database holds none\n"
	"  --contents-type T     also store every reachable object of type T (e.g. main.Session)\n"
	"                        as JSON in table field_values; may be repeated\n"
	"  --heap-only           stop after the heap walk: meta, mappings, threads, types,\n"
	"                        fields, spans, objects (typed by malloc headers and large\n"
	"                        spans only) and memstats; no goroutines, roots, edges,\n"
	"                        reachability or retained sizes (meta.analysis = 'heap')\n"
	"  --tmpdir DIR          where a compressed or piped core is decompressed\n"
	"                        (default: the directory of OUT.db)\n"
	"  --progress            report progress on stderr (default: when stderr is a terminal)\n"
	"  --quiet               no progress and no summary\n"
	"  -h, --help            show this help\n"
	"\n"
	"With glibc, analyze runs itself once more with glibc.malloc.hugetlb=1 in\n"
	"GLIBC_TUNABLES (its big arrays on transparent huge pages: fewer page faults);\n"
	"set GOMORTEM_NO_HUGE_PAGES to keep 4 KiB pages.\n"
	"\n"
	"Exit status: 0 ok; others in docs/exit-codes.md.\n";

struct analyze_options {
	struct gm_program_options program;
	const char *output;
	const char *sysroot;     /* --sysroot: the libraries of a core of another machine */
	bool progress, quiet;
	bool heap_only;          /* --heap-only: stages 1-4 and 7 only */
	bool contents;           /* --contents: store string bodies */
	const char *contents_types[32]; /* --contents-type: store these types' values */
	int ncontents_types;
	struct analyze_progress *pr; /* progress lines and counters */
};

static void progress(const struct analyze_options *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void progress(const struct analyze_options *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	analyze_progress_vprint(o->pr, fmt, ap);
	va_end(ap);
}

/* What the stages found, for the store. */
struct analysis {
	struct gm_program *prog;
	struct gm_runtime *rt;
	struct gm_heap *heap;
	struct gm_goroutine_set *goroutines;
	struct gm_roots *roots;
	struct gm_pclntab *pclntab;
	struct gm_stacks *stacks;
	struct gm_graph *graph;
	struct gm_types *types;
	struct gm_type_check type_check;  /* the types against the runtime's bitmaps */
	struct gm_domtree *domtree;
	uint8_t *type_topmost;            /* per object: no dominator of its own type */
	struct gm_suspects *suspects;
	struct gm_goleak *goleak;
	struct gm_native_stack *native;   /* native stacks of threads in C code */
	size_t nnative;
	struct gm_warnings native_warnings;
	struct gm_memstats memstats;
	struct gm_mprof *mprof;           /* the runtime's memory profile */
	struct gm_suspect_sites suspect_sites;
	struct gm_untyped untyped;        /* why the reachable untyped objects are untyped */
	struct gm_touched_counts touched; /* per mapping and span */
};

/* Every stage's warnings; the stages analyze --heap-only skips are NULL. */
static uint64_t total_warnings(const struct analysis *a)
{
	return (a->heap ? a->heap->warnings.count : 0) + (a->goroutines ? a->goroutines->warnings.count : 0) +
	       (a->roots ? a->roots->warnings.count : 0) + (a->stacks ? a->stacks->warnings.count : 0) +
	       (a->graph ? a->graph->warnings.count : 0) + (a->types ? a->types->warnings.count : 0) +
	       a->native_warnings.count + (a->mprof ? a->mprof->warnings.count : 0);
}

static void analysis_free(struct analysis *a)
{
	gm_native_stacks_free(a->native, a->nnative);
	gm_touched_counts_free(&a->touched);
	gm_warnings_free(&a->native_warnings);
	gm_suspects_destroy(a->suspects);
	gm_goleak_destroy(a->goleak);
	free(a->type_topmost);
	gm_domtree_destroy(a->domtree);
	gm_types_destroy(a->types);
	gm_type_check_free(&a->type_check);
	gm_graph_destroy(a->graph);
	gm_stacks_destroy(a->stacks);
	gm_pclntab_destroy(a->pclntab);
	gm_roots_destroy(a->roots);
	gm_goroutines_destroy(a->goroutines);
	gm_suspect_sites_free(&a->suspect_sites);
	gm_mprof_destroy(a->mprof);
	gm_heap_destroy(a->heap);
	gm_runtime_destroy(a->rt);
	gm_program_destroy(a->prog);
}

/* The typing's bitmap oracle (graph/typecheck.h): how many typed objects it
 * compared, how many disagree and with which types. */
static struct gm_error *write_type_check_meta(struct gm_store *store, const struct gm_type_check *c)
{
	struct gm_error *err = gm_store_meta_int(store, "typing_bitmap_checked", (int64_t)c->checked);
	if (!err)
		err = gm_store_meta_int(store, "typing_bitmap_disagree", (int64_t)c->disagree);
	if (!err)
		err = gm_store_meta_int(store, "typing_bitmap_unchecked", (int64_t)c->unchecked);
	if (!err)
		err = gm_store_meta_int(store, "typing_bitmap_fitted", (int64_t)c->fitted);
	if (!err)
		err = gm_store_meta_int(store, "typing_bitmap_untyped", (int64_t)c->untyped);
	if (!err && c->worst)
		err = gm_store_meta_text(store, "typing_bitmap_disagreeing_types", c->worst);
	return err;
}

/* Why the untyped reachable objects are untyped (graph/untyped.h, counted
 * on the second thread): a summary, and each cause's bytes as
 * untyped_bytes_CAUSE. */
static struct gm_error *write_untyped_meta(struct gm_store *store, const struct analysis *a)
{
	char *summary = gm_untyped_summary(&a->untyped);
	struct gm_error *err = summary ? gm_store_meta_text(store, "untyped_causes", summary) : &gm_error_nomem;
	free(summary);
	for (int c = 0; c < GM_UNTYPED_NCAUSES && !err; c++) {
		char key[64];
		snprintf(key, sizeof(key), "untyped_bytes_%s", gm_untyped_cause_name((enum gm_untyped_cause)c));
		err = gm_store_meta_int(store, key, (int64_t)a->untyped.bytes[c]);
	}
	return err;
}

static struct gm_error *write_graph_meta(struct gm_store *store, const struct analysis *a)
{
	const struct gm_types *t = a->types;
	char share[32];
	snprintf(share, sizeof(share), "%.4f",
		 t->reachable_bytes ? (double)t->typed_reachable_bytes / (double)t->reachable_bytes : 1.0);
	struct gm_error *err = gm_store_meta_text(store, "typed_reachable_bytes_share", share);
	if (!err)
		err = gm_store_meta_int(store, "type_conflicts", (int64_t)t->conflicts);
	if (!err)
		err = write_type_check_meta(store, &a->type_check);
	if (!err)
		err = write_untyped_meta(store, a);
	if (!err)
		err = gm_store_meta_int(store, "reachable_objects", (int64_t)a->graph->reachable_count);
	if (!err)
		err = gm_store_meta_int(store, "reachable_bytes", (int64_t)a->graph->reachable_bytes);
	if (!err)
		err = gm_store_meta_int(store, "edges", (int64_t)a->graph->nedges);
	return err;
}

/* --contents-type: the chosen types' objects as go_value() renders them,
 * run inside the store's own transaction (the objects and types are in). */
static struct gm_error *store_type_values(struct gm_store *store, struct analysis *a, const struct analyze_options *o)
{
	progress(o, "storing the values of %d chosen types", o->ncontents_types);
	sqlite3 *db = gm_store_db(store);
	if (gm_heapfuncs_register(db, a->prog->core->file_path, a->prog->exe->path) != SQLITE_OK)
		return gm_error_create(GM_ERR_INTERNAL, "cannot register the heap functions: %s", sqlite3_errmsg(db));
	struct gm_error *err = NULL;
	for (int i = 0; i < o->ncontents_types && !err; i++) {
		char *sql = sqlite3_mprintf("INSERT INTO field_values (object_id, value) SELECT o.id, go_value(o.id) "
					    "FROM objects o JOIN types t ON t.id = o.type_id "
					    "WHERE o.reachable = 1 AND t.name = %Q", o->contents_types[i]);
		err = sql ? gm_store_exec(store, sql) : &gm_error_nomem;
		sqlite3_free(sql);
	}
	return err;
}

/* The heap walk's tables, which both analyses write (GRAPH NULL after
 * --heap-only leaves the graph's columns NULL). */
static struct gm_error *write_walk_tables(struct gm_store *store, struct analysis *a, const struct analyze_options *o)
{
	struct gm_error *err = gm_write_meta(store, a->prog, a->heap);
	if (!err)
		err = gm_store_meta_text(store, "analysis", o->heap_only ? "heap" : "full");
	if (!err && !a->touched.spans) /* the full analysis counted them on its second thread */
		err = gm_count_touched(a->prog, a->heap, &a->touched);
	if (!err)
		err = gm_write_mappings(store, a->prog, a->touched.mappings);
	if (!err)
		err = gm_write_threads(store, a->prog);
	if (!err)
		err = gm_write_types(store, a->prog, a->types);
	if (!err)
		err = gm_write_type_stats(store, a->heap, a->graph, a->types, a->type_topmost);
	if (!err)
		err = gm_write_spans(store, a->heap, a->graph, a->touched.spans);
	if (!err)
		err = gm_write_memstats(store, &a->memstats);
	if (!err)
		err = gm_write_alloc_sites(store, a->mprof, a->pclntab, a->heap->nobjects);
	if (!err)
		err = gm_write_warnings(store, "heap", &a->heap->warnings);
	if (!err)
		err = gm_write_warnings(store, "types", &a->types->warnings);
	return err;
}

/* What the full analysis adds: the graph's meta and slices, contents,
 * goroutines, frames and roots. */
static struct gm_error *write_graph_tables(struct gm_store *store, struct analysis *a, const struct analyze_options *o)
{
	struct gm_error *err = gm_write_warnings(store, "graph", &a->graph->warnings);
	if (!err)
		err = write_graph_meta(store, a);
	if (!err)
		err = gm_write_slices(store, a->types);
	if (!err && o->contents) {
		progress(o, "storing string contents (--contents)");
		err = gm_write_string_contents(store, a->heap, a->graph, a->types);
	}
	if (!err)
		err = gm_store_meta_int(store, "contents", o->contents || o->ncontents_types > 0);
	if (!err && o->ncontents_types > 0)
		err = store_type_values(store, a, o);
	progress(o, "storing goroutines, frames and roots");
	if (!err)
		err = gm_write_goroutines(store, a->goroutines, a->stacks);
	if (!err)
		err = gm_write_frames(store, a->stacks);
	if (!err)
		err = gm_write_thread_frames(store, a->native, a->nnative);
	if (!err)
		err = gm_write_warnings(store, "native", &a->native_warnings);
	if (!err)
		err = gm_write_warnings(store, "stacks", &a->stacks->warnings);
	if (!err)
		err = gm_write_roots(store, a->roots, a->graph);
	if (!err)
		err = gm_write_suspects(store, a->suspects);
	if (!err)
		err = gm_write_suspect_alloc_sites(store, &a->suspect_sites);
	if (!err)
		err = gm_write_goroutine_leaks(store, a->goleak, a->goroutines);
	if (!err)
		err = gm_write_warnings(store, "roots", &a->roots->warnings);
	if (!err)
		err = gm_write_warnings(store, "goroutines", &a->goroutines->warnings);
	return err;
}

/* Every table but objects and edges (stored while the store was detached). */
static struct gm_error *write_tables(struct gm_store *store, struct analysis *a, const struct analyze_options *o)
{
	progress(o, o->heap_only ? "storing types and spans" : "storing types, spans and slices");
	struct gm_error *err = write_walk_tables(store, a, o);
	if (!err && !o->heap_only)
		err = write_graph_tables(store, a, o);
	if (!err)
		err = gm_store_meta_int(store, "warnings", (int64_t)total_warnings(a));
	return err;
}

/* Cross-check the walk against the runtime's own count. */
static void check_counts(struct gm_heap *heap, const struct gm_memstats *ms)
{
	const struct gm_memstat *objects = gm_memstats_get(ms, "HeapObjects");
	const struct gm_memstat *bytes = gm_memstats_get(ms, "HeapAlloc");
	if (objects && objects->known && objects->value != heap->nobjects)
		gm_heap_warn(heap, "the walk found %zu objects, the runtime's HeapObjects is %" PRIu64,
			     heap->nobjects, objects->value);
	if (bytes && bytes->known && bytes->value != heap->object_bytes)
		gm_heap_warn(heap, "the walk found %" PRIu64 " bytes, the runtime's HeapAlloc is %" PRIu64,
			     heap->object_bytes, bytes->value);
}

static bool not_go_pc(uint64_t pc, void *arg)
{
	struct gm_func f;
	return !gm_pclntab_find_func(arg, pc, &f);
}

/* Native frames of threads in C code: a failure is a warning, not fatal. */
static void unwind_native(struct analysis *a, const char *sysroot)
{
	struct gm_native_where where = { .exe_path = a->prog->exe->path, .sysroot = sysroot };
	struct gm_error *err =
		gm_native_unwind_core(a->prog->core, &where, not_go_pc, a->pclntab, 64, &a->native, &a->nnative);
	if (!err && where.libraries_missing)
		gm_warn(&a->native_warnings, "native stacks: %zu libraries of the dynamic linker's link_map not found "
			"under the sysroot %s (or not the files that were loaded): their frames have no symbols and "
			"end the stack (--sysroot)", where.libraries_missing, sysroot && *sysroot ? sysroot : "/");
	if (err) {
		size_t in_c = 0;
		for (size_t i = 0; i < a->prog->core->nthreads; i++)
			in_c += not_go_pc(gm_core_thread_pc(a->prog->core, &a->prog->core->threads[i]), a->pclntab);
		gm_warn(&a->native_warnings, "native stacks of %zu threads in C code not unwound: %s", in_c,
			err->message);
		gm_error_destroy(err);
		a->native = NULL;
		a->nnative = 0;
	}
}

/* The program, its runtime, the heap walk and the runtime's accounting. */
static struct gm_error *walk_heap(const struct analyze_options *o, struct analysis *a)
{
	progress(o, "reading %s", o->program.core_path);
	struct gm_error *err = gm_program_open(&o->program, &a->prog);
	if (!err)
		err = gm_runtime_bind(a->prog, &a->rt);
	if (!err) {
		progress(o, "walking the heap (%s)", a->prog->exe->go_version);
		err = gm_heap_walk(a->rt, &a->heap);
	}
	if (!err)
		err = gm_memstats_read(a->rt, &a->memstats);
	if (!err)
		check_counts(a->heap, &a->memstats);
	if (!err)
		err = gm_mprof_read(a->rt, a->heap, &a->mprof);
	return err;
}

static void edges_progress(const struct gm_stage_progress *p, void *arg)
{
	uint64_t done = atomic_load(&p->done), total = atomic_load(&p->total);
	progress(arg, "  edges of %" PRIu64 " of %" PRIu64 " objects (%.0f%%)", done, total,
		 total ? 100.0 * (double)done / (double)total : 0.0);
}

/* Stages 1-5 and the edges: the program, its runtime, the heap, the
 * goroutines and roots, the object graph. */
static struct gm_error *run_stages(const struct analyze_options *o, struct analysis *a)
{
	struct gm_error *err = walk_heap(o, a);
	if (!err) {
		progress(o, "reading goroutines");
		err = gm_goroutines_read(a->rt, &a->goroutines);
	}
	if (!err) {
		progress(o, "reading roots");
		err = gm_roots_read_globals(a->rt, a->heap, &a->roots);
	}
	if (!err)
		err = gm_roots_read_specials(a->rt, a->heap, a->roots);
	if (!err) {
		progress(o, "unwinding %zu goroutines", a->goroutines->count);
		err = gm_pclntab_open(a->rt, &a->pclntab);
	}
	if (!err)
		err = gm_stacks_unwind(a->rt, a->pclntab, a->goroutines, &a->stacks);
	if (!err)
		unwind_native(a, o->sysroot);
	if (!err)
		err = gm_roots_read_stacks(a->rt, a->pclntab, a->heap, a->goroutines, a->stacks, a->roots);
	if (!err) {
		progress(o, "building the object graph");
		struct gm_stage_progress counter = { 0 };
		err = gm_graph_build(a->heap, &counter, edges_progress, (void *)o, &a->graph);
		/* The edges hold what was read of the core at large: its pages need
		 * not stay resident beside the graph (a later read refaults them). */
		gm_core_release_pages(a->prog->core);
	}
	return err;
}

/* Stage 6 on this thread after the edges exist: marking, then types (the
 * second thread computes the dominators meanwhile: it reads nothing
 * marking or type inference write). */
static struct gm_error *run_graph_stages(const struct analyze_options *o, struct analysis *a)
{
	progress(o, "marking from %zu roots (%zu edges)", a->roots->count, a->graph->nedges);
	struct gm_error *err = gm_graph_mark(a->graph, a->heap, a->roots, &o->pr->main);
	if (!err) {
		progress(o, "inferring types (dominators in the background)");
		err = gm_types_infer(a->heap, a->graph, a->roots, a->pclntab, &o->pr->main, &a->types);
		if (!err) {
			progress(o, "checking the types against the runtime's pointer bitmaps");
			err = gm_types_check_bitmap(a->heap, a->types, a->graph->reachable, &a->type_check);
		}
		gm_core_release_pages(a->prog->core);
	}
	if (!err)
		err = gm_types_add_member_types(a->types, a->heap);
	return err;
}

/* objects and edges, written as whole B-trees while SQLite has let go of
 * the file (btree_writer.h). */
struct big_tables {
	struct gm_btree_file *file;
	uint32_t objects_root, edges_root;
	struct gm_objects_packing packing;  /* set by whoever writes the objects */
};

static struct gm_error *detach_store(struct gm_store *store, struct big_tables *big)
{
	struct gm_error *err = gm_store_root_page(store, "objects_packed", &big->objects_root);
	if (!err)
		err = gm_store_root_page(store, "edges_packed", &big->edges_root);
	if (!err)
		err = gm_store_detach(store, &big->file);
	return err;
}

/* Give the file back to SQLite, and the objects view what it adds. */
static struct gm_error *reattach_store(struct gm_store *store, struct big_tables *big)
{
	struct gm_error *err = gm_store_reattach(store, big->file);
	return err ? err : gm_write_objects_packing(store, &big->packing);
}

static struct gm_error *write_objects(struct big_tables *big, struct analysis *a, struct gm_stage_progress *pr)
{
	gm_objects_packing_of(a->heap, a->graph, &big->packing);
	struct gm_error *err = gm_write_objects(big->file, big->objects_root, a->heap, a->graph, a->types,
						&big->packing, pr);
	gm_stage_end(pr);
	return err;
}

/* Store the objects (GRAPH may be NULL) and give the file back to SQLite;
 * on error the file is released and the caller aborts the store. */
static struct gm_error *store_objects(const struct analyze_options *o, struct analysis *a, struct gm_store *store,
				      struct big_tables *big)
{
	progress(o, "storing %zu objects", a->heap->nobjects);
	struct gm_error *err = write_objects(big, a, &o->pr->main);
	if (err) {
		gm_btree_file_abort(big->file);
		return err;
	}
	return reattach_store(store, big);
}

/* After the edges exist the work runs on two threads.  The second one
 * computes the dominators while this one marks, types and finds the leaked
 * goroutines (the address space and libdw, which are not thread-safe, stay
 * here).  The edges table and the touched bytes need none of that:
 * whichever thread is free first takes them (the dominator search ends
 * first at 5M objects, about with the typing at 20M).  Then this thread
 * walks the dominator tree and finds the suspects while the second one
 * counts the untyped objects' causes and writes the objects table (beside
 * the edges if they are still being written: builders on two threads may
 * share the file, btree_writer.h).  Each thread reads only what the other
 * has announced done, through PLAN. */
struct plan {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	bool dominators_done, types_done, edges_done, untyped_done;
	bool edges_claimed, touched_claimed;
	bool stop;                /* a thread failed: the other stops at its next wait */
};

/* Set *FLAG (or PLAN's stop when ERR) and wake the other thread. */
static void announce(struct plan *plan, bool *flag, const struct gm_error *err)
{
	pthread_mutex_lock(&plan->lock);
	if (err)
		plan->stop = true;
	else
		*flag = true;
	pthread_cond_broadcast(&plan->changed);
	pthread_mutex_unlock(&plan->lock);
}

/* Wait for *FLAG; false when the other thread failed instead. */
static bool wait_for(struct plan *plan, const bool *flag)
{
	pthread_mutex_lock(&plan->lock);
	while (!*flag && !plan->stop)
		pthread_cond_wait(&plan->changed, &plan->lock);
	bool ok = !plan->stop;
	pthread_mutex_unlock(&plan->lock);
	return ok;
}

/* True for the first thread to ask for the job *CLAIMED says taken. */
static bool claim(struct plan *plan, bool *claimed)
{
	pthread_mutex_lock(&plan->lock);
	bool mine = !*claimed && !plan->stop;
	*claimed = true;
	pthread_mutex_unlock(&plan->lock);
	return mine;
}

struct side_thread {
	pthread_t thread;
	struct plan *plan;
	struct analysis *a;
	struct big_tables *big;
	const struct analyze_options *o;
	struct gm_error *err;
};

/* The edges table, if no thread has taken it. */
static struct gm_error *take_edges(const struct analyze_options *o, struct analysis *a, struct big_tables *big,
				   struct plan *plan)
{
	if (!claim(plan, &plan->edges_claimed))
		return NULL;
	progress(o, "storing edges");
	struct gm_error *err = gm_write_edges(big->file, big->edges_root, a->graph);
	announce(plan, &plan->edges_done, err);
	return err;
}

/* The touched bytes of the mappings and spans, if no thread has taken them. */
static struct gm_error *take_touched(const struct analyze_options *o, struct analysis *a, struct plan *plan)
{
	if (!claim(plan, &plan->touched_claimed))
		return NULL;
	progress(o, "counting the touched bytes of mappings and spans");
	return gm_count_touched(a->prog, a->heap, &a->touched);
}

/* The untyped objects' causes read the edges' targets: counted before
 * gm_graph_keep_targets replaces them (it waits for UNTYPED_DONE). */
static struct gm_error *count_untyped(struct analysis *a, struct plan *plan)
{
	struct gm_error *err = gm_untyped_causes(a->heap, a->graph, a->types, a->type_check.contradicted,
						 &a->untyped);
	announce(plan, &plan->untyped_done, err);
	return err;
}

static struct gm_error *side_work(struct side_thread *w)
{
	struct analysis *a = w->a;
	struct plan *plan = w->plan;
	struct gm_error *err = gm_graph_dominators(a->graph, a->heap, a->roots, &w->o->pr->side);
	announce(plan, &plan->dominators_done, err);
	if (!err)
		err = take_edges(w->o, a, w->big, plan);
	if (err || !wait_for(plan, &plan->types_done))
		return err;
	err = count_untyped(a, plan);
	if (!err) {
		progress(w->o, "storing %zu objects (in the background)", a->heap->nobjects);
		err = write_objects(w->big, a, &w->o->pr->side);
	}
	return err ? err : take_touched(w->o, a, plan);
}

static void *side_thread(void *arg)
{
	struct side_thread *w = arg;
	w->err = side_work(w);
	if (w->err)
		announce(w->plan, &w->plan->stop, w->err);
	return NULL;
}

/* The verdict: walks of the dominator tree (which objects count in
 * retained-by-type, the leak suspects). */
static struct gm_error *walk_dominator_tree(const struct analyze_options *o, struct analysis *a)
{
	progress(o, "walking the dominator tree");
	struct gm_error *err = gm_domtree_build(a->graph, &a->domtree);
	if (!err) {
		a->type_topmost = malloc(a->graph->nobjects ? a->graph->nobjects : 1);
		if (!a->type_topmost)
			err = &gm_error_nomem;
	}
	if (!err)
		err = gm_domtree_topmost_of_type(a->domtree, a->graph, a->types->object_type, a->types->count,
						 a->type_topmost);
	return err;
}

/* The edges are stored, the leaked goroutines found and the untyped
 * counted: nothing reads the edges' offsets now, and the suspects' reverse
 * search is the peak of memory here. */
static struct gm_error *find_suspects(const struct analyze_options *o, struct analysis *a)
{
	gm_graph_keep_targets(a->graph);
	progress(o, "finding leak suspects");
	struct gm_error *err = gm_suspects_find(a->graph, a->heap, a->roots, a->types, a->domtree, a->prog->dwarf,
						&o->pr->main, &a->suspects);
	if (!err)
		err = gm_suspect_sites_count(a->suspects, a->domtree, a->heap, a->types->object_type, a->mprof,
					     &a->suspect_sites);
	return err;
}

/* This thread's share (the comment of struct plan); false from a wait
 * means the second thread failed, and its error is the one to report. */
static struct gm_error *main_work(const struct analyze_options *o, struct analysis *a, struct big_tables *big,
				  struct plan *plan)
{
	struct gm_error *err = run_graph_stages(o, a);
	announce(plan, &plan->types_done, err);
	if (!err) {
		progress(o, "finding leaked goroutines");
		err = gm_goleak_find(a->rt, a->heap, a->graph, a->roots, a->goroutines, &a->goleak);
	}
	if (!err)
		err = take_edges(o, a, big, plan);
	if (!err)
		err = take_touched(o, a, plan);
	if (err || !wait_for(plan, &plan->dominators_done))
		return err;
	err = walk_dominator_tree(o, a);
	if (err || !wait_for(plan, &plan->untyped_done) || !wait_for(plan, &plan->edges_done))
		return err;
	return find_suspects(o, a);
}

/* Stage 6 and the objects and edges tables, on two threads; the file is
 * given back to SQLite (or released on error). */
static struct gm_error *graph_stages_and_big_tables(const struct analyze_options *o, struct analysis *a,
						    struct gm_store *store)
{
	struct big_tables big = { 0 };
	struct gm_error *err = detach_store(store, &big);
	if (err)
		return err;
	struct plan plan = { .lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER };
	struct side_thread w = { .plan = &plan, .a = a, .big = &big, .o = o };
	if (pthread_create(&w.thread, NULL, side_thread, &w) != 0) {
		gm_btree_file_abort(big.file);
		return gm_error_create(GM_ERR_INTERNAL, "cannot start a thread");
	}
	err = main_work(o, a, &big, &plan);
	if (err)
		announce(&plan, &plan.stop, err);
	progress(o, "waiting for the objects to be stored");
	pthread_join(w.thread, NULL);
	if (!err)
		err = w.err;
	else
		gm_error_destroy(w.err);
	if (err) {
		gm_btree_file_abort(big.file);
		return err;
	}
	return reattach_store(store, &big);
}

/* analyze --heap-only: stages 1-4 and the types malloc headers name. */
static struct gm_error *run_heap_stages(const struct analyze_options *o, struct analysis *a)
{
	struct gm_error *err = walk_heap(o, a);
	if (!err) /* for the allocation sites' stacks */
		err = gm_pclntab_open(a->rt, &a->pclntab);
	if (!err)
		err = gm_types_from_headers(a->heap, &a->types);
	if (!err)
		err = gm_types_add_member_types(a->types, a->heap);
	return err;
}

/* analyze --heap-only stores the objects without a graph. */
static struct gm_error *store_heap_objects(const struct analyze_options *o, struct analysis *a, struct gm_store *store)
{
	struct big_tables big = { 0 };
	struct gm_error *err = detach_store(store, &big);
	return err ? err : store_objects(o, a, store, &big);
}

static void print_summary(const struct analyze_options *o, const struct analysis *a)
{
	char goroutines[64];
	if (o->heap_only)
		snprintf(goroutines, sizeof(goroutines), "heap only");
	else
		snprintf(goroutines, sizeof(goroutines), "%zu goroutines", a->goroutines->count);
	unsigned long now, peak;
	gm_resident_mb(&now, &peak);
	fprintf(stderr, "gomortem: %s: %zu objects, %" PRIu64 " bytes in %zu spans, %s, %" PRIu64 " warnings, %.2f s, "
		"peak RSS %lu MiB\n", o->output, a->heap->nobjects, a->heap->object_bytes, a->heap->nspans_in_use,
		goroutines, total_warnings(a), gm_seconds_now() - o->pr->start, peak);
}

static struct gm_error *analyze(const struct analyze_options *o)
{
	struct analysis a = { 0 };
	struct gm_store *store = NULL;
	/* Refused before the work, not after: an output that is a device or FIFO. */
	struct gm_error *err = gm_output_check_replaceable(o->output, "the database");
	if (!err)
		err = o->heap_only ? run_heap_stages(o, &a) : run_stages(o, &a);
	if (!err)
		err = gm_store_create(o->output, &store);
	if (!err && o->heap_only)
		err = store_heap_objects(o, &a, store);
	else if (!err)
		err = graph_stages_and_big_tables(o, &a, store);
	if (!err)
		err = write_tables(store, &a, o);
	if (!err) {
		progress(o, "building indexes");
		err = gm_store_finish(store);
		store = NULL;
	}
	if (!err && !o->quiet)
		print_summary(o, &a);
	gm_store_abort(store);
	analysis_free(&a);
	return gm_program_name_core(&o->program, err);
}

int cmd_analyze(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_CORE_LONGOPTS,
		{ "ignore-dwarf", no_argument, NULL, 'W' },
		{ "output", required_argument, NULL, 'o' },
		{ "progress", no_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "contents", no_argument, NULL, 'c' },
		{ "heap-only", no_argument, NULL, 'H' },
		{ "contents-type", required_argument, NULL, 'T' },
		{ "sysroot", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	struct analyze_options o = { .progress = isatty(STDERR_FILENO) };
	bool force_progress = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, CLI_CORE_SHORTOPTS "o:", longopts, NULL)) != -1) {
		if (cli_core_option(c, optarg, &o.program))
			continue;
		switch (c) {
		case 'W': o.program.ignore_dwarf = true; break;
		case 'o': o.output = optarg; break;
		case 'p': force_progress = true; break;
		case 'q': o.quiet = true; break;
		case 'c': o.contents = true; break;
		case 'H': o.heap_only = true; break;
		case 'S': o.sysroot = optarg; break;
		case 'T':
			if (o.ncontents_types == 32)
				return cli_usage_error("analyze", "at most 32 --contents-type options");
			o.contents_types[o.ncontents_types++] = optarg;
			break;
		case 'h': fputs(analyze_usage, stdout); return 0;
		default: return cli_usage_error("analyze", "bad option");
		}
	}
	int status = cli_core_argument(argc, argv, "analyze", &o.program);
	if (status >= 0)
		return status;
	if (!o.output)
		return cli_usage_error("analyze", "missing -o OUT.db");
	if (o.heap_only && (o.contents || o.ncontents_types))
		return cli_usage_error("analyze", "--contents and --contents-type need the full analysis, not --heap-only");
	o.progress = !o.quiet && (o.progress || force_progress);
	o.program.acquire.output = o.output;
	o.program.acquire.progress = o.progress;
	struct analyze_progress pr = { 0 };
	o.pr = &pr;
	analyze_progress_start(&pr, o.progress);
	struct gm_error *err = analyze(&o);
	analyze_progress_stop(&pr);
	return err ? gm_error_report(err) : 0;
}
