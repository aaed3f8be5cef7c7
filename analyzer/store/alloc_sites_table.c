/* alloc_sites and its companions, from goruntime/mprof.c. */
#include "alloc_sites_table.h"

#include <stdbool.h>
#include <string.h>

#include "../goruntime/mprof.h"
#include "../graph/suspect_sites.h"
#include "../goruntime/pclntab.h"
#include "store.h"
#include "tables.h"

/* The frame a profile stack's return address PC stands for: the innermost
 * logical function at PC - 1 (runtime.CallersFrames: the stack already has a
 * pc per inlined call).  False when TAB has no function there. */
static bool site_frame(struct gm_pclntab *tab, uint64_t pc, struct gm_inline_frame *ret)
{
	struct gm_func f;
	return tab && pc && gm_pclntab_find_func(tab, pc - 1, &f) && gm_pclntab_frames(tab, &f, pc - 1, ret, 1) == 1;
}

/* Frames runtime/pprof hides at the top of a heap profile's stacks. */
static bool runtime_frame(const char *name)
{
	return strncmp(name, "runtime.", 8) == 0 || strncmp(name, "internal/runtime/", 17) == 0;
}

/* The allocating frame: the first outside the runtime (NULL name if none). */
struct site_top {
	const char *func, *file;
	int32_t line;
};

static struct gm_error *write_frames(struct gm_bulk *frames, const struct gm_mprof *mp,
				     const struct gm_mprof_bucket *b, int64_t id, struct gm_pclntab *tab,
				     struct site_top *top)
{
	struct gm_error *err = NULL;
	*top = (struct site_top){ 0 };
	for (uint32_t k = 0; k < b->npcs && !err; k++) {
		uint64_t pc = mp->pcs[b->first_pc + k];
		struct gm_inline_frame fr;
		bool known = site_frame(tab, pc, &fr);
		if (known && !top->func && !runtime_frame(fr.name))
			*top = (struct site_top){ fr.name, fr.file, fr.line };
		struct gm_sql_value row[6] = {
			gm_sql_int(id), gm_sql_int(k), gm_sql_int((int64_t)pc), gm_sql_text(known ? fr.name : NULL),
			gm_sql_text(known ? fr.file : NULL), known && fr.line ? gm_sql_int(fr.line) : gm_sql_null(),
		};
		err = gm_bulk_row(frames, row);
	}
	return err;
}

static struct gm_error *write_cycles(struct gm_bulk *cycles, const struct gm_mprof *mp,
				     const struct gm_mprof_bucket *b, int64_t id)
{
	static const char *const names[] = { "C", "C+1", "C+2", "C+3", "C+4", "C+5", "C+6", "C+7" };
	struct gm_error *err = NULL;
	for (uint32_t k = 0; k <= mp->nfuture && !err; k++) {
		/* k = 0: active; then cycle C+k-1, stored at future[(C + k - 1) % n]. */
		const struct gm_mprof_counts *c = k ? &b->future[(mp->cycle + k - 1) % mp->nfuture] : &b->active;
		struct gm_sql_value row[6] = {
			gm_sql_int(id), gm_sql_text(k ? names[k - 1] : "active"), gm_sql_int((int64_t)c->allocs),
			gm_sql_int((int64_t)c->frees), gm_sql_int((int64_t)c->alloc_bytes),
			gm_sql_int((int64_t)c->free_bytes),
		};
		err = gm_bulk_row(cycles, row);
	}
	return err;
}

static struct gm_error *write_site(struct gm_bulk *sites, const struct gm_mprof_bucket *b, int64_t id,
				   const struct site_top *top)
{
	const struct gm_mprof_counts *p = &b->published, *n = &b->now;
	struct gm_sql_value row[17] = {
		gm_sql_int(id), gm_sql_int((int64_t)b->addr), gm_sql_int((int64_t)b->size), gm_sql_text(top->func),
		gm_sql_text(top->func ? top->file : NULL), top->func && top->line ? gm_sql_int(top->line) : gm_sql_null(),
		gm_sql_int(b->npcs),
		gm_sql_int((int64_t)p->allocs), gm_sql_int((int64_t)p->frees), gm_sql_int((int64_t)p->alloc_bytes),
		gm_sql_int((int64_t)p->free_bytes),
		gm_sql_int((int64_t)n->allocs), gm_sql_int((int64_t)n->frees), gm_sql_int((int64_t)n->alloc_bytes),
		gm_sql_int((int64_t)n->free_bytes),
		gm_sql_int((int64_t)b->sampled_objects), gm_sql_int((int64_t)b->sampled_bytes),
	};
	return gm_bulk_row(sites, row);
}

static struct gm_error *write_objects(struct gm_store *store, const struct gm_mprof *mp, size_t nobjects)
{
	struct gm_bulk *bulk;
	struct gm_error *err = gm_bulk_create(store, "object_alloc_sites", "object_id, site_id", 2, &bulk);
	for (size_t i = 0; !err && mp->object_bucket && i < nobjects; i++) {
		if (!mp->object_bucket[i])
			continue;
		int64_t row[2] = { (int64_t)i + 1, mp->object_bucket[i] };
		err = gm_bulk_row_ints(bulk, row, 0);
	}
	return bulk ? gm_bulk_finish(bulk, err) : err;
}

static struct gm_error *write_meta(struct gm_store *store, const struct gm_mprof *mp)
{
	struct gm_error *err = gm_store_meta_text(store, "mem_profile", mp->present ? "read" : "absent");
	if (!err && mp->present)
		err = gm_store_meta_int(store, "mem_profile_rate", mp->rate);
	if (!err && mp->present)
		err = gm_store_meta_int(store, "mem_profile_cycle", mp->cycle);
	if (!err && mp->present)
		err = gm_store_meta_int(store, "mem_profile_folded", mp->folded);
	return err;
}

struct gm_error *gm_write_alloc_sites(struct gm_store *store, const struct gm_mprof *mp, struct gm_pclntab *tab,
				      size_t nobjects)
{
	struct gm_bulk *sites = NULL, *frames = NULL, *cycles = NULL;
	struct gm_error *err = write_meta(store, mp);
	if (!err)
		err = gm_bulk_create(store, "alloc_sites",
				     "id, bucket_addr, size, func, file, line, depth, published_allocs, published_frees, "
				     "published_alloc_bytes, published_free_bytes, now_allocs, now_frees, "
				     "now_alloc_bytes, now_free_bytes, sampled_objects, sampled_bytes", 17, &sites);
	if (!err)
		err = gm_bulk_create(store, "alloc_site_frames", "site_id, idx, pc, func, file, line", 6, &frames);
	if (!err)
		err = gm_bulk_create(store, "alloc_site_cycles", "site_id, cycle, allocs, frees, alloc_bytes, free_bytes",
				     6, &cycles);
	for (size_t i = 0; i < mp->nbuckets && !err; i++) {
		struct site_top top;
		err = write_frames(frames, mp, &mp->buckets[i], (int64_t)i + 1, tab, &top);
		if (!err)
			err = write_site(sites, &mp->buckets[i], (int64_t)i + 1, &top);
		if (!err)
			err = write_cycles(cycles, mp, &mp->buckets[i], (int64_t)i + 1);
	}
	if (cycles)
		err = gm_bulk_finish(cycles, err);
	if (frames)
		err = gm_bulk_finish(frames, err);
	if (sites)
		err = gm_bulk_finish(sites, err);
	if (!err)
		err = write_objects(store, mp, nobjects);
	if (!err)
		err = gm_write_warnings(store, "mprof", &mp->warnings);
	return err;
}

struct gm_error *gm_write_suspect_alloc_sites(struct gm_store *store, const struct gm_suspect_sites *sites)
{
	struct gm_bulk *bulk;
	struct gm_error *err = gm_bulk_create(store, "suspect_alloc_sites", "suspect_id, site_id, objects, bytes", 4,
					      &bulk);
	for (size_t i = 0; !err && i < sites->count; i++) {
		const struct gm_suspect_site *s = &sites->items[i];
		int64_t row[4] = { (int64_t)s->suspect + 1, (int64_t)s->bucket + 1, (int64_t)s->objects,
				   (int64_t)s->bytes };
		err = gm_bulk_row_ints(bulk, row, 0);
	}
	return bulk ? gm_bulk_finish(bulk, err) : err;
}
