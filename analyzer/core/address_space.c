#include "address_space.h"

#include <stdatomic.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* An interval with a source, before the overlay is resolved. */
struct piece {
	uint64_t start, end;
	const uint8_t *bytes;
	enum gm_region_source source;
};

struct piece_list {
	struct piece *items;
	size_t count, cap;
};

static int piece_add(struct piece_list *list, uint64_t start, uint64_t end, const uint8_t *bytes,
		     enum gm_region_source source)
{
	if (start >= end)
		return 0;
	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 64;
		void *grown = realloc(list->items, cap * sizeof(*list->items));
		if (!grown)
			return -1;
		list->items = grown;
		list->cap = cap;
	}
	list->items[list->count++] = (struct piece){ start, end, bytes, source };
	return 0;
}

static int u64_compare(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Priority of sources where they overlap: the core's own bytes win, then
 * the executable's, then "mapped but unsaved". */
static int source_rank(enum gm_region_source source)
{
	switch (source) {
	case GM_REGION_CORE: return 3;
	case GM_REGION_EXE: return 2;
	default: return 1;
	}
}

/* Collect the raw pieces: core saved/unsaved parts and the executable's
 * file-backed parts (bss, beyond filesz, is not file-backed). */
static int collect_pieces(const struct gm_core *core, const struct gm_exe *exe, uint64_t bias,
			  struct piece_list *core_pieces, struct piece_list *exe_pieces)
{
	for (size_t i = 0; i < core->nsegments; i++) {
		const struct gm_core_segment *seg = &core->segments[i];
		uint64_t saved_end = seg->vaddr + seg->filesz;
		/* A segment cut off by truncation may have no saved bytes and an
		 * offset past the end of the file: form no pointer from it. */
		const uint8_t *saved = seg->filesz ? core->data + seg->offset : NULL;
		if (piece_add(core_pieces, seg->vaddr, saved_end, saved, GM_REGION_CORE) ||
		    piece_add(core_pieces, saved_end, seg->vaddr + seg->memsz, NULL, GM_REGION_UNSAVED))
			return -1;
	}
	for (size_t i = 0; exe && i < exe->nsegments; i++) {
		const struct gm_exe_segment *seg = &exe->segments[i];
		if (piece_add(exe_pieces, seg->vaddr + bias, seg->vaddr + bias + seg->filesz,
			      exe->data + seg->offset, GM_REGION_EXE))
			return -1;
	}
	return 0;
}

/* The piece of LIST covering [start, end), or NULL.  LIST is sorted by
 * start and disjoint (core pieces are): binary search. */
static const struct piece *sorted_cover(const struct piece_list *list, uint64_t start, uint64_t end)
{
	size_t lo = 0, hi = list->count;
	while (lo < hi) { /* first piece with start > START */
		size_t mid = lo + (hi - lo) / 2;
		if (list->items[mid].start <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct piece *p = &list->items[lo - 1];
	return end <= p->end ? p : NULL;
}

/* The best piece covering [start, end) (an elementary interval, so a piece
 * covers it whole or not at all), or NULL.  The executable has a handful of
 * segments: a linear scan of them is enough. */
static const struct piece *best_cover(const struct piece_list *core_pieces,
				      const struct piece_list *exe_pieces, uint64_t start, uint64_t end)
{
	const struct piece *best = sorted_cover(core_pieces, start, end);
	for (size_t i = 0; i < exe_pieces->count; i++) {
		const struct piece *p = &exe_pieces->items[i];
		if (p->start <= start && end <= p->end &&
		    (!best || source_rank(p->source) > source_rank(best->source)))
			best = p;
	}
	return best;
}

static int region_append(struct gm_address_space *as, size_t *cap, uint64_t start, uint64_t end,
			 const struct piece *p)
{
	const uint8_t *bytes = p->bytes ? p->bytes + (start - p->start) : NULL;
	if (as->nregions > 0) {
		struct gm_region *last = &as->regions[as->nregions - 1];
		if (last->end == start && last->source == p->source &&
		    (bytes == NULL) == (last->bytes == NULL) &&
		    (!bytes || last->bytes + (last->end - last->start) == bytes)) {
			last->end = end;
			return 0;
		}
	}
	if (as->nregions == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		void *grown = realloc(as->regions, *cap * sizeof(*as->regions));
		if (!grown)
			return -1;
		as->regions = grown;
	}
	as->regions[as->nregions++] = (struct gm_region){ start, end, bytes, p->source };
	return 0;
}

/* Resolve overlaps by splitting at every piece boundary. */
static int resolve_pieces(struct gm_address_space *as, const struct piece_list *core_pieces,
			  const struct piece_list *exe_pieces)
{
	size_t nbounds = 2 * (core_pieces->count + exe_pieces->count), n = 0;
	uint64_t *bounds = malloc((nbounds ? nbounds : 1) * sizeof(*bounds));
	if (!bounds)
		return -1;
	const struct piece_list *lists[] = { core_pieces, exe_pieces };
	for (size_t l = 0; l < 2; l++) {
		for (size_t i = 0; i < lists[l]->count; i++) {
			bounds[n++] = lists[l]->items[i].start;
			bounds[n++] = lists[l]->items[i].end;
		}
	}
	qsort(bounds, nbounds, sizeof(*bounds), u64_compare);
	size_t cap = 0;
	for (size_t i = 0; i + 1 < nbounds; i++) {
		if (bounds[i] == bounds[i + 1])
			continue;
		const struct piece *p = best_cover(core_pieces, exe_pieces, bounds[i], bounds[i + 1]);
		if (p && region_append(as, &cap, bounds[i], bounds[i + 1], p)) {
			free(bounds);
			return -1;
		}
	}
	free(bounds);
	return 0;
}

struct gm_error *gm_address_space_create(const struct gm_core *core, const struct gm_exe *exe,
					 uint64_t bias, struct gm_address_space **ret)
{
	struct gm_address_space *as = calloc(1, sizeof(*as));
	struct piece_list core_pieces = { 0 }, exe_pieces = { 0 };
	bool failed = !as || collect_pieces(core, exe, bias, &core_pieces, &exe_pieces) ||
		      resolve_pieces(as, &core_pieces, &exe_pieces);
	free(core_pieces.items);
	free(exe_pieces.items);
	if (failed) {
		gm_address_space_destroy(as);
		return &gm_error_nomem;
	}
	for (size_t i = 0; i < as->nregions; i++) {
		const struct gm_region *r = &as->regions[i];
		uint64_t len = r->end - r->start;
		if (r->source == GM_REGION_CORE)
			as->bytes_from_core += len;
		else if (r->source == GM_REGION_EXE)
			as->bytes_from_exe += len;
		else
			as->bytes_unsaved += len;
	}
	*ret = as;
	return NULL;
}

void gm_address_space_destroy(struct gm_address_space *as)
{
	if (!as)
		return;
	free(as->regions);
	free(as);
}

const struct gm_region *gm_region_at(struct gm_address_space *as, uint64_t addr)
{
	if (as->nregions == 0)
		return NULL;
	const struct gm_region *hit = &as->regions[atomic_load_explicit(&as->last_hit, memory_order_relaxed)];
	if (hit->start <= addr && addr < hit->end)
		return hit;
	size_t lo = 0, hi = as->nregions;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (as->regions[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == as->nregions || as->regions[lo].start > addr)
		return NULL;
	atomic_store_explicit(&as->last_hit, lo, memory_order_relaxed);
	return &as->regions[lo];
}

const void *gm_memory_at(struct gm_address_space *as, uint64_t addr, size_t len)
{
	const struct gm_region *r = gm_region_at(as, addr);
	if (!r || !r->bytes || len > r->end - addr) {
		atomic_fetch_add_explicit(&as->nfaults, 1, memory_order_relaxed);
		return NULL;
	}
	return r->bytes + (addr - r->start);
}

bool gm_try_read(struct gm_address_space *as, uint64_t addr, void *buf, size_t len)
{
	uint8_t *out = buf;
	uint64_t cur = addr;
	size_t left = len;
	while (left > 0) {
		const struct gm_region *r = gm_region_at(as, cur);
		if (!r || !r->bytes) {
			atomic_fetch_add_explicit(&as->nfaults, 1, memory_order_relaxed);
			return false;
		}
		uint64_t avail = r->end - cur;
		size_t n = left < avail ? left : (size_t)avail;
		memcpy(out, r->bytes + (cur - r->start), n);
		out += n;
		cur += n;
		left -= n;
	}
	return true;
}

bool gm_try_read_u64(struct gm_address_space *as, uint64_t addr, uint64_t *ret)
{
	uint64_t v;
	if (!gm_try_read(as, addr, &v, sizeof(v)))
		return false;
	*ret = v;
	return true;
}

struct gm_error *gm_read(struct gm_address_space *as, uint64_t addr, void *buf, size_t len)
{
	return gm_try_read(as, addr, buf, len) ? NULL : gm_error_fault(addr, len);
}

struct gm_error *gm_read_u64(struct gm_address_space *as, uint64_t addr, uint64_t *ret)
{
	return gm_try_read_u64(as, addr, ret) ? NULL : gm_error_fault(addr, sizeof(*ret));
}
