#include "mprof.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../program/program.h"
#include "../util/u64_map.h"
#include "binding.h"
#include "heap.h"

/* Caps on what the core claims: more means corruption.  maxProfStackDepth
 * is 1024 (32 before 1.23); a process has at most buckHashSize (179999)
 * chains, a few buckets each. */
#define MAX_STACK 4096
#define MAX_BUCKETS (1u << 24)

static void counts_add(struct gm_mprof_counts *a, const struct gm_mprof_counts *b)
{
	a->allocs += b->allocs;
	a->frees += b->frees;
	a->alloc_bytes += b->alloc_bytes;
	a->free_bytes += b->free_bytes;
}

/* One memRecordCycle at P: without bytes fields (1.27+), counts x SIZE. */
static struct gm_mprof_counts read_cycle(const struct gm_mprof_layout *l, const uint8_t *p, uint64_t size)
{
	struct gm_mprof_counts c = { .allocs = gm_field_uint(p, l->allocs), .frees = gm_field_uint(p, l->frees) };
	bool bytes = l->alloc_bytes.present && l->free_bytes.present;
	c.alloc_bytes = bytes ? gm_field_uint(p, l->alloc_bytes) : c.allocs * size;
	c.free_bytes = bytes ? gm_field_uint(p, l->free_bytes) : c.frees * size;
	return c;
}

static struct gm_error *grow(void **items, size_t *cap, size_t need, size_t item_size)
{
	if (need <= *cap)
		return NULL;
	size_t n = *cap ? *cap : 64;
	while (n < need)
		n *= 2;
	void *grown = realloc(*items, n * item_size);
	if (!grown)
		return &gm_error_nomem;
	*items = grown;
	*cap = n;
	return NULL;
}

/* Read the bucket at ADDR (header, stack, memRecord) into a new entry. */
static struct gm_error *read_bucket(struct gm_runtime *rt, struct gm_mprof *mp, uint64_t addr, size_t *pcs_cap,
				    size_t *buckets_cap, uint64_t *ret_next, bool *ret_ok)
{
	const struct gm_mprof_layout *l = &rt->mprof;
	*ret_ok = false;
	const uint8_t *h = gm_memory_at(rt->prog->mem, addr, l->bucket_size);
	if (!h) {
		gm_warn(&mp->warnings, "memory profile bucket 0x%" PRIx64 " not saved in the core", addr);
		return NULL;
	}
	*ret_next = gm_field_uint(h, l->allnext);
	uint64_t nstk = gm_field_uint(h, l->nstk), size = gm_field_uint(h, l->size);
	if (gm_field_uint(h, l->typ) != l->mem_profile || nstk > MAX_STACK) {
		gm_warn(&mp->warnings, "memory profile bucket 0x%" PRIx64 ": type %" PRIu64 ", %" PRIu64 " pcs",
			addr, gm_field_uint(h, l->typ), nstk);
		return NULL;
	}
	uint64_t record = addr + l->bucket_size + nstk * 8;
	const uint8_t *r = gm_memory_at(rt->prog->mem, record, l->future.offset + l->nfuture * l->cycle_size);
	struct gm_error *err = grow((void **)&mp->pcs, pcs_cap, mp->npcs + nstk, sizeof(*mp->pcs));
	if (!err)
		err = grow((void **)&mp->buckets, buckets_cap, mp->nbuckets + 1, sizeof(*mp->buckets));
	if (err)
		return err;
	if (!r || (nstk && !gm_try_read(rt->prog->mem, addr + l->bucket_size, mp->pcs + mp->npcs, nstk * 8))) {
		gm_warn(&mp->warnings, "memory profile bucket 0x%" PRIx64 ": stack or record not saved", addr);
		return NULL;
	}
	struct gm_mprof_bucket *b = &mp->buckets[mp->nbuckets++];
	memset(b, 0, sizeof(*b));
	b->addr = addr;
	b->size = size;
	b->first_pc = (uint32_t)mp->npcs;
	b->npcs = (uint32_t)nstk;
	mp->npcs += nstk;
	b->active = read_cycle(l, r + l->active.offset, size);
	for (uint32_t i = 0; i < mp->nfuture; i++)
		b->future[i] = read_cycle(l, r + l->future.offset + i * l->cycle_size, size);
	*ret_ok = true;
	return NULL;
}

/* Every bucket of runtime.mbuckets, through allnext. */
static struct gm_error *read_buckets(struct gm_runtime *rt, struct gm_mprof *mp, struct gm_u64_map *by_addr)
{
	uint64_t addr = 0;
	size_t pcs_cap = 0, buckets_cap = 0;
	if (!gm_try_read_u64(rt->prog->mem, rt->mprof.mbuckets_addr, &addr)) {
		gm_warn(&mp->warnings, "runtime.mbuckets not saved in the core");
		return NULL;
	}
	while (addr) {
		uint64_t next = 0, seen;
		bool ok;
		if (mp->nbuckets >= MAX_BUCKETS || gm_u64_map_find(by_addr, addr, &seen)) {
			gm_warn(&mp->warnings, "memory profile bucket list loops at 0x%" PRIx64, addr);
			break;
		}
		struct gm_error *err = read_bucket(rt, mp, addr, &pcs_cap, &buckets_cap, &next, &ok);
		if (err)
			return err;
		if (!ok)
			break;
		if (gm_u64_map_insert(by_addr, addr, mp->nbuckets - 1))
			return &gm_error_nomem;
		addr = next;
	}
	return NULL;
}

/* published and now, as memProfileInternal and a lag-free reader see them. */
static void sum_cycles(struct gm_mprof *mp)
{
	uint32_t current = mp->cycle % mp->nfuture;
	bool any = false;
	for (size_t i = 0; i < mp->nbuckets; i++) {
		struct gm_mprof_bucket *b = &mp->buckets[i];
		b->published = b->active;
		counts_add(&b->published, &b->future[current]);
		b->now = b->active;
		for (uint32_t c = 0; c < mp->nfuture; c++)
			counts_add(&b->now, &b->future[c]);
		any |= b->published.allocs || b->published.frees;
	}
	mp->folded = !any;
	for (size_t i = 0; mp->folded && i < mp->nbuckets; i++)
		mp->buckets[i].published = mp->buckets[i].now;
}

struct specials_arg {
	struct gm_runtime *rt;
	const struct gm_heap *heap;
	struct gm_mprof *mp;
	const struct gm_u64_map *by_addr;
};

/* A profile special: its object's bucket. */
static struct gm_error *profile_special(const struct gm_span *s, uint64_t special, const uint8_t *p, void *arg)
{
	struct specials_arg *a = arg;
	const struct gm_runtime *rt = a->rt;
	struct gm_mprof *mp = a->mp;
	if (gm_field_uint(p, rt->specials.kind) != rt->mprof.kind_profile)
		return NULL;
	uint64_t object = s->base + gm_field_uint(p, rt->specials.offset) / s->elemsize * s->elemsize;
	uint64_t bucket = gm_field_uint(p, rt->mprof.special_bucket), at;
	uint32_t id;
	if (!gm_heap_find_object(a->heap, object, &id) || !gm_u64_map_find(a->by_addr, bucket, &at)) {
		gm_warn(&mp->warnings, "profile special 0x%" PRIx64 ": object 0x%" PRIx64 " or bucket 0x%" PRIx64
			" unknown", special, object, bucket);
		return NULL;
	}
	if (!mp->object_bucket && !(mp->object_bucket = calloc(a->heap->nobjects, sizeof(*mp->object_bucket))))
		return &gm_error_nomem;
	if (mp->object_bucket[id])
		return NULL;
	mp->object_bucket[id] = (uint32_t)at + 1;
	mp->buckets[at].sampled_objects++;
	mp->buckets[at].sampled_bytes += gm_object_size(a->heap, &a->heap->objects[id]);
	mp->sampled_objects++;
	return NULL;
}

static struct gm_error *read_profile(struct gm_runtime *rt, const struct gm_heap *heap, struct gm_mprof *mp)
{
	const struct gm_mprof_layout *l = &rt->mprof;
	uint64_t rate = 0;
	uint32_t cycle = 0;
	if (!gm_try_read_u64(rt->prog->mem, l->mem_profile_rate_addr, &rate) ||
	    !gm_try_read(rt->prog->mem, l->cycle_addr + l->cycle_value.offset, &cycle, sizeof(cycle))) {
		gm_warn(&mp->warnings, "runtime.MemProfileRate or runtime.mProfCycle not saved in the core");
		return NULL;
	}
	mp->present = true;
	mp->rate = (int64_t)rate;
	mp->cycle = cycle >> 1;
	mp->flushed = cycle & 1;
	mp->nfuture = l->nfuture < GM_MPROF_MAX_FUTURE ? l->nfuture : GM_MPROF_MAX_FUTURE;
	struct gm_u64_map by_addr = { 0 };
	struct gm_error *err = read_buckets(rt, mp, &by_addr);
	if (!err) {
		sum_cycles(mp);
		struct specials_arg arg = { rt, heap, mp, &by_addr };
		err = gm_heap_each_special(heap, &mp->warnings, profile_special, &arg);
	}
	gm_u64_map_free(&by_addr);
	return err;
}

struct gm_error *gm_mprof_read(struct gm_runtime *rt, const struct gm_heap *heap, struct gm_mprof **ret)
{
	struct gm_mprof *mp = calloc(1, sizeof(*mp));
	if (!mp)
		return &gm_error_nomem;
	struct gm_error *err = rt->mprof.present ? read_profile(rt, heap, mp) : NULL;
	if (err) {
		gm_mprof_destroy(mp);
		return err;
	}
	*ret = mp;
	return NULL;
}

void gm_mprof_destroy(struct gm_mprof *mp)
{
	if (!mp)
		return;
	free(mp->buckets);
	free(mp->pcs);
	free(mp->object_bucket);
	gm_warnings_free(&mp->warnings);
	free(mp);
}
