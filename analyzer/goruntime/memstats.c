#include "memstats.h"

#include <stdlib.h>
#include <string.h>

#include "../program/program.h"
#include "binding.h"

/* Sum of runtime.heapStatsDelta over consistentHeapStats.stats (unsafeRead). */
struct heap_totals {
	uint64_t committed, released, in_heap, in_stacks, in_work_bufs, in_ptr_scalar_bits, tiny_alloc_count;
	uint64_t large_alloc, large_alloc_count, large_free, large_free_count;
	uint64_t total_alloc, total_free, n_malloc, n_free;
};

static void add(struct gm_memstats *ms, const char *name, uint64_t value, bool known, const char *source)
{
	if (ms->count >= GM_MAX_MEMSTATS)
		return;
	ms->stats[ms->count++] = (struct gm_memstat){ name, value, known, source };
}

const struct gm_memstat *gm_memstats_get(const struct gm_memstats *ms, const char *name)
{
	for (size_t i = 0; i < ms->count; i++)
		if (strcmp(ms->stats[i].name, name) == 0)
			return &ms->stats[i];
	return NULL;
}

static uint64_t array_u64(const uint8_t *base, struct gm_field array, uint32_t i)
{
	uint64_t v;
	memcpy(&v, base + array.offset + 8 * (size_t)i, sizeof(v));
	return v;
}

/* Allocations from spans still held by per-P caches, not yet added to
 * smallAllocCount (mcache.releaseAll adds allocCount - allocCountBeforeCache),
 * and their tiny allocations (tinyAllocs). */
static void add_unflushed(struct gm_runtime *rt, uint64_t *small_alloc, uint64_t *tiny, uint64_t *objects)
{
	struct gm_address_space *mem = rt->prog->mem;
	uint64_t allp[2];
	if (!gm_try_read(mem, rt->allp_addr, allp, sizeof(allp)) || allp[1] > 1u << 20)
		return;
	for (uint64_t i = 0; i < allp[1]; i++) {
		uint64_t p, mcache;
		if (!gm_try_read_u64(mem, allp[0] + 8 * i, &p) || !p ||
		    !gm_try_read_u64(mem, p + rt->p_mcache.offset, &mcache) || !mcache)
			continue;
		const uint8_t *c = gm_memory_at(mem, mcache, rt->mcache_size);
		if (!c)
			continue;
		*tiny += gm_field_uint(c, rt->mcache_tiny_allocs);
		for (uint32_t spc = 0; spc < rt->mcache_nalloc; spc++) {
			uint64_t span = array_u64(c, rt->mcache_alloc, spc);
			const uint8_t *s = span ? gm_memory_at(mem, span, rt->span.size) : NULL;
			/* Uncached entries point at runtime.emptymspan, whose counts are 0. */
			if (!s)
				continue;
			uint64_t used = gm_field_uint(s, rt->span.alloc_count) -
					gm_field_uint(s, rt->span.alloc_count_before_cache);
			uint32_t size_class = spc >> 1;
			if (size_class < rt->nsize_classes) {
				small_alloc[size_class] += used;
				*objects += used;
			}
		}
	}
}

static struct gm_error *read_heap_totals(struct gm_runtime *rt, struct heap_totals *t, uint64_t *unflushed)
{
	const struct gm_heap_stats_layout *l = &rt->heap_stats;
	uint32_t n = rt->nsize_classes;
	uint64_t *small_alloc = calloc(n, sizeof(uint64_t)), *small_free = calloc(n, sizeof(uint64_t));
	struct gm_error *err = small_alloc && small_free ? NULL : &gm_error_nomem;
	memset(t, 0, sizeof(*t));
	for (uint32_t g = 0; g < l->nstats && !err; g++) {
		const uint8_t *d = gm_memory_at(rt->prog->mem, rt->memstats_addr + l->stats_offset + g * l->size,
						l->size);
		if (!d) {
			err = gm_error_create(GM_ERR_FAULT, "runtime.memstats.heapStats not saved in the core");
			break;
		}
		t->committed += gm_field_uint(d, l->committed);
		t->released += gm_field_uint(d, l->released);
		t->in_heap += gm_field_uint(d, l->in_heap);
		t->in_stacks += gm_field_uint(d, l->in_stacks);
		t->in_work_bufs += gm_field_uint(d, l->in_work_bufs);
		if (l->in_ptr_scalar_bits.present) /* unrolled GC programs, 1.20-1.23 */
			t->in_ptr_scalar_bits += gm_field_uint(d, l->in_ptr_scalar_bits);
		t->tiny_alloc_count += gm_field_uint(d, l->tiny_alloc_count);
		t->large_alloc += gm_field_uint(d, l->large_alloc);
		t->large_alloc_count += gm_field_uint(d, l->large_alloc_count);
		t->large_free += gm_field_uint(d, l->large_free);
		t->large_free_count += gm_field_uint(d, l->large_free_count);
		for (uint32_t i = 0; i < n; i++) {
			small_alloc[i] += array_u64(d, l->small_alloc_count, i);
			small_free[i] += array_u64(d, l->small_free_count, i);
		}
	}
	if (!err) {
		add_unflushed(rt, small_alloc, &t->tiny_alloc_count, unflushed);
		t->total_alloc = t->large_alloc;
		t->total_free = t->large_free;
		t->n_malloc = t->large_alloc_count + t->tiny_alloc_count;
		t->n_free = t->large_free_count + t->tiny_alloc_count;
		for (uint32_t i = 0; i < n; i++) {
			t->total_alloc += small_alloc[i] * rt->class_to_size[i];
			t->total_free += small_free[i] * rt->class_to_size[i];
			t->n_malloc += small_alloc[i];
			t->n_free += small_free[i];
		}
	}
	free(small_alloc);
	free(small_free);
	return err;
}

/* Read field F of the struct at BASE; false if not saved. */
static bool read_field(struct gm_runtime *rt, uint64_t base, struct gm_field f, uint64_t *ret)
{
	uint8_t bytes[8] = { 0 };
	if (f.size > 8 || !gm_try_read(rt->prog->mem, base + f.offset, bytes, f.size))
		return false;
	struct gm_field at_zero = { 0, f.size, true };
	*ret = gm_field_uint(bytes, at_zero);
	return true;
}

struct gm_error *gm_memstats_read(struct gm_runtime *rt, struct gm_memstats *ms)
{
	memset(ms, 0, sizeof(*ms));
	struct heap_totals t;
	struct gm_error *err = read_heap_totals(rt, &t, &ms->unflushed_objects);
	bool heap_known = err == NULL;
	if (err && err->code != GM_ERR_FAULT)
		return err;
	gm_error_destroy(err);
	uint64_t sys[6] = { 0 }, in_use = 0, free_ = 0, released = 0, numgc = 0, last_gc = 0, last_gc_mono = 0, pause = 0;
	bool sys_known = true;
	for (int i = 0; i < 6; i++)
		sys_known &= read_field(rt, rt->memstats_addr, rt->mstats_sys[i], &sys[i]);
	bool gc_known = read_field(rt, rt->gc_controller_addr, rt->gc_heap_in_use, &in_use) &&
			read_field(rt, rt->gc_controller_addr, rt->gc_heap_free, &free_) &&
			read_field(rt, rt->gc_controller_addr, rt->gc_heap_released, &released);
	uint64_t span_inuse = 0, cache_inuse = 0;
	bool fixalloc_known = read_field(rt, rt->mheap_addr, rt->mheap_spanalloc_inuse, &span_inuse) &&
			      read_field(rt, rt->mheap_addr, rt->mheap_cachealloc_inuse, &cache_inuse);
	bool misc_known = read_field(rt, rt->memstats_addr, rt->mstats_numgc, &numgc) &&
			  read_field(rt, rt->memstats_addr, rt->mstats_last_gc_unix, &last_gc) &&
			  read_field(rt, rt->memstats_addr, rt->mstats_last_gc_nanotime, &last_gc_mono) &&
			  read_field(rt, rt->memstats_addr, rt->mstats_pause_total_ns, &pause);
	const char *cons = "memstats.heapStats (summed) + unflushed mcaches";
	add(ms, "HeapAlloc", t.total_alloc - t.total_free, heap_known, cons);
	add(ms, "Alloc", t.total_alloc - t.total_free, heap_known, cons);
	add(ms, "TotalAlloc", t.total_alloc, heap_known, cons);
	add(ms, "Mallocs", t.n_malloc, heap_known, cons);
	add(ms, "Frees", t.n_free, heap_known, cons);
	add(ms, "HeapObjects", t.n_malloc - t.n_free, heap_known, cons);
	add(ms, "StackInuse", t.in_stacks, heap_known, "memstats.heapStats.inStacks");
	add(ms, "HeapInuse", in_use, gc_known, "gcController.heapInUse");
	add(ms, "HeapIdle", free_ + released, gc_known, "gcController.heapFree + heapReleased");
	add(ms, "HeapReleased", released, gc_known, "gcController.heapReleased");
	add(ms, "HeapSys", in_use + free_ + released, gc_known, "gcController.heapInUse + heapFree + heapReleased");
	add(ms, "StackSys", t.in_stacks + sys[0], heap_known && sys_known, "inStacks + memstats.stacks_sys");
	add(ms, "MSpanInuse", span_inuse, fixalloc_known, "mheap_.spanalloc.inuse");
	add(ms, "MSpanSys", sys[1], sys_known, "memstats.mspan_sys");
	add(ms, "MCacheInuse", cache_inuse, fixalloc_known, "mheap_.cachealloc.inuse");
	add(ms, "MCacheSys", sys[2], sys_known, "memstats.mcache_sys");
	add(ms, "BuckHashSys", sys[3], sys_known, "memstats.buckhash_sys");
	add(ms, "GCSys", sys[4] + t.in_work_bufs + t.in_ptr_scalar_bits, sys_known && heap_known,
	    "memstats.gcMiscSys + inWorkBufs + inPtrScalarBits");
	add(ms, "OtherSys", sys[5], sys_known, "memstats.other_sys");
	uint64_t total_mapped = in_use + free_ + released + t.in_stacks + t.in_work_bufs + t.in_ptr_scalar_bits;
	for (int i = 0; i < 6; i++)
		total_mapped += sys[i];
	add(ms, "Sys", total_mapped, sys_known && gc_known && heap_known, "sum of the runtime's mapped memory");
	add(ms, "NumGC", numgc, misc_known, "memstats.numgc");
	add(ms, "LastGC", last_gc, misc_known, "memstats.last_gc_unix");
	add(ms, "PauseTotalNs", pause, misc_known, "memstats.pause_total_ns");
	/* The same instant as LastGC on the runtime's monotonic clock (nanotime),
	 * which g.waitsince uses: the pair turns a waitsince into a wall time. */
	add(ms, "last_gc_nanotime", last_gc_mono, misc_known, "memstats.last_gc_nanotime");
	add(ms, "unflushed_objects", ms->unflushed_objects, heap_known,
	    "slots allocated from per-P mcaches, not yet in the consistent stats");
	return NULL;
}
