#include "touched.h"

#include <stdbool.h>
#include <string.h>

/* The page size of the dead process; 4 KiB when the core's auxv does not say. */
static uint64_t page_size_of(const struct gm_core *core)
{
	uint64_t page = gm_core_page_size(core);
	return page && (page & (page - 1)) == 0 ? page : 4096;
}

static bool all_zero(const uint8_t *p, uint64_t len)
{
	uint64_t word = 0, i = 0;
	for (; i + sizeof(word) <= len; i += sizeof(word)) {
		memcpy(&word, p + i, sizeof(word));
		if (word)
			return false;
	}
	for (; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* Whether the core file holds data in [off, off + len): false only when
 * the range lies in one hole, which reads as zeros without being read. */
static bool file_has_data(const struct gm_core *core, uint64_t off, uint64_t len)
{
	if (!core->data_extents)
		return true;
	size_t lo = 0, hi = core->ndata_extents;
	while (lo < hi) { /* first extent ending past off */
		size_t mid = lo + (hi - lo) / 2;
		if (core->data_extents[mid].end <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < core->ndata_extents && core->data_extents[lo].start < off + len;
}

/* Where the pieces of a range go besides its total: its parts in address
 * order, NEXT the first that may still take a piece. */
struct parts_cursor {
	struct gm_touched_part *parts;
	size_t nparts, next;
};

/* Credit the touched piece at AT, LEN bytes, to the part holding it (pieces
 * come in address order and never straddle a part: parts are page-aligned). */
static void credit_part(struct parts_cursor *c, uint64_t at, uint64_t len)
{
	while (c->next < c->nparts && c->parts[c->next].end <= at)
		c->next++;
	if (c->next < c->nparts && c->parts[c->next].start <= at)
		c->parts[c->next].touched += len;
}

/* Bytes read between two hand-backs of the core's pages. */
#define RELEASE_STEP (32u << 20)

/* Touched bytes of one region's [start, end), page by page of the process.
 * Every page read is handed back every RELEASE_STEP bytes: a whole-heap
 * question (the mappings' and spans' touched bytes) would otherwise leave
 * the core resident (1.2 GB at 20M objects: the peak of analyze). */
static uint64_t touched_in_region(const struct gm_core *core, const struct gm_region *r, uint64_t start,
				  uint64_t end, uint64_t page, struct parts_cursor *parts)
{
	uint64_t total = 0, released = start;
	for (uint64_t at = start; at < end;) {
		uint64_t next = (at & ~(page - 1)) + page;
		if (next > end || next < at)
			next = end;
		const uint8_t *p = r->bytes + (at - r->start);
		uint64_t off = (uint64_t)(p - core->data), len = next - at;
		if (file_has_data(core, off, len) && !all_zero(p, len)) {
			total += len;
			credit_part(parts, at, len);
		}
		at = next;
		if (at - released >= RELEASE_STEP || at == end) {
			gm_core_release_range(core, r->bytes + (released - r->start), r->bytes + (at - r->start));
			released = at;
		}
	}
	return total;
}

bool gm_touched_page_aligned(const struct gm_core *core, uint64_t start, uint64_t end)
{
	uint64_t page = page_size_of(core);
	return start < end && start % page == 0 && end % page == 0;
}

uint64_t gm_touched_bytes_parts(const struct gm_core *core, const struct gm_address_space *mem, uint64_t start,
				uint64_t end, struct gm_touched_part *parts, size_t nparts)
{
	struct parts_cursor cursor = { .parts = parts, .nparts = nparts };
	for (size_t i = 0; i < nparts; i++)
		parts[i].touched = 0;
	uint64_t page = page_size_of(core), total = 0;
	for (size_t i = 0; i < mem->nregions; i++) {
		const struct gm_region *r = &mem->regions[i];
		if (r->source != GM_REGION_CORE || r->end <= start || r->start >= end)
			continue;
		total += touched_in_region(core, r, r->start > start ? r->start : start, r->end < end ? r->end : end,
					   page, &cursor);
	}
	return total;
}

uint64_t gm_touched_bytes(const struct gm_core *core, const struct gm_address_space *mem, uint64_t start,
			  uint64_t end)
{
	return gm_touched_bytes_parts(core, mem, start, end, NULL, 0);
}
