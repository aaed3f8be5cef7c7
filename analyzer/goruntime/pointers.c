#include "pointers.h"

#include <inttypes.h>
#include <string.h>

#include "../program/program.h"

static uint64_t arena_index_of(const struct gm_runtime *rt, uint64_t addr)
{
	return (addr - rt->arena.base_offset) / rt->arena.arena_bytes;
}

/* The heapArena descriptor of arena INDEX (mheap_.arenas[l1][l2]), 0 if none. */
static uint64_t arena_at(const struct gm_runtime *rt, uint64_t index)
{
	const struct gm_arena_layout *l = &rt->arena;
	uint64_t l1 = l->l1_bits ? index >> l->l2_bits : 0, l2 = index & ((1ull << l->l2_bits) - 1);
	const uint64_t *l2_array = gm_memory_at(rt->prog->mem, rt->mheap_addr + l->mheap_arenas.offset +
						l1 * rt->ptr_size, sizeof(uint64_t));
	const uint64_t *entry = l2_array && *l2_array ?
		gm_memory_at(rt->prog->mem, *l2_array + l2 * rt->ptr_size, sizeof(uint64_t)) : NULL;
	return entry ? *entry : 0;
}

void gm_span_pointers_init(struct gm_heap *heap, const struct gm_span *s, struct gm_span_pointers *ret)
{
	const struct gm_runtime *rt = heap->rt;
	memset(ret, 0, sizeof(*ret));
	if (s->noscan || s->state != GM_SPAN_IN_USE)
		return;
	uint64_t span_bytes = s->end - s->base;
	ret->slots = gm_memory_at(rt->prog->mem, s->base, span_bytes);
	if (rt->arena_bitmap) {
		ret->arena_index = arena_index_of(rt, s->base);
		ret->arena = arena_at(rt, ret->arena_index);
		return;
	}
	if (s->size_class == 0 || s->elemsize > rt->min_size_for_malloc_header)
		return;
	/* spanHeapBitsRange: one bit per word at the span's end, below the
	 * Green Tea inline mark bits when the span has them. */
	uint64_t bits_size = span_bytes / rt->ptr_size / 8;
	uint64_t bits_base = s->end - bits_size;
	if (rt->green_tea && s->elemsize >= 16)
		bits_base -= rt->inline_mark_bits_size;
	ret->heap_bits = gm_memory_at(rt->prog->mem, bits_base, bits_size);
	if (!ret->heap_bits)
		gm_heap_warn(heap, "span 0x%" PRIx64 ": heap bits at 0x%" PRIx64 " not saved", s->base, bits_base);
}

static size_t span_bit_pointers(const struct gm_heap *heap, const struct gm_span *s, const uint8_t *bits,
				const struct gm_object *obj, uint32_t *offsets)
{
	uint64_t ptr = heap->rt->ptr_size, first = (obj->addr - s->base) / ptr, words = s->elemsize / ptr;
	size_t n = 0;
	for (uint64_t k = 0; k < words; k++) {
		uint64_t w = first + k;
		if ((bits[w / 8] >> (w % 8)) & 1)
			offsets[n++] = (uint32_t)(k * ptr);
	}
	return n;
}

const uint8_t *gm_type_pointer_mask(struct gm_heap *heap, uint64_t type_addr, uint64_t *ret_size,
				    uint64_t *ret_ptr_bytes)
{
	const struct gm_runtime *rt = heap->rt;
	uint64_t index;
	if (gm_u64_map_find(&heap->type_index, type_addr, &index) && heap->types[index].built_mask) {
		const struct gm_rtype *t = &heap->types[index];
		*ret_size = t->size;
		*ret_ptr_bytes = t->ptr_bytes;
		return t->size ? t->built_mask : NULL;
	}
	const uint8_t *desc = gm_memory_at(rt->prog->mem, type_addr, rt->type.size);
	if (!desc)
		return NULL;
	*ret_size = gm_field_uint(desc, rt->type.size_);
	*ret_ptr_bytes = gm_field_uint(desc, rt->type.ptr_bytes);
	uint64_t gcdata = gm_field_uint(desc, rt->type.gcdata);
	/* A GC program is no mask: the mask is not known here. */
	if (rt->kind_gc_prog && (gm_field_uint(desc, rt->type.kind) & rt->kind_gc_prog))
		return NULL;
	if (gm_field_uint(desc, rt->type.tflag) & rt->tflag_gcmask_on_demand) {
		/* GCData points at a slot holding the mask once getGCMaskOnDemand built it. */
		const uint64_t *slot = gm_memory_at(rt->prog->mem, gcdata, sizeof(uint64_t));
		if (!slot)
			return NULL;
		memcpy(&gcdata, slot, sizeof(gcdata));
	}
	if (*ret_size == 0 || *ret_ptr_bytes > *ret_size || gcdata == 0)
		return NULL;
	uint64_t words = *ret_ptr_bytes / rt->ptr_size;
	return gm_memory_at(rt->prog->mem, gcdata, (words + 7) / 8);
}

/* Tile the mask of the type at TYPE_ADDR from DATA (offset from the slot
 * start) to the end of the slot, as typePointers.next does. */
static enum gm_pointer_source tiled_pointers(struct gm_heap *heap, const struct gm_span *s, uint64_t type_addr,
					     uint64_t data, uint32_t *offsets, size_t *ret_count)
{
	uint64_t size, ptr_bytes, ptr = heap->rt->ptr_size;
	const uint8_t *mask = gm_type_pointer_mask(heap, type_addr, &size, &ptr_bytes);
	if (!mask)
		return GM_POINTERS_UNKNOWN;
	size_t n = 0;
	for (uint64_t elem = data; elem < s->elemsize; elem += size) {
		for (uint64_t k = 0; k < ptr_bytes / ptr && elem + k * ptr < s->elemsize; k++)
			if ((mask[k / 8] >> (k % 8)) & 1)
				offsets[n++] = (uint32_t)(elem + k * ptr);
	}
	*ret_count = n;
	return GM_POINTERS_HEADER;
}

/* The heapArena descriptor covering ADDR: the span's own, looked up once in
 * gm_span_pointers_init, unless a large span runs into the next arena. */
static uint64_t arena_of(const struct gm_heap *heap, const struct gm_span_pointers *sp, uint64_t addr)
{
	uint64_t index = arena_index_of(heap->rt, addr);
	return index == sp->arena_index ? sp->arena : arena_at(heap->rt, index);
}

/* One step of heapBitsForAddr (mbitmap.go, Go 1.20/1.21): the pointer bits
 * of the SIZE bytes from ADDR that the arena bitmap word holding ADDR's bit
 * describes.  *RET_WORDS gets how many words they cover; *RET_SIZE the
 * bytes left to scan (shortened when noMorePtrs says the object has no
 * pointers past this bitmap word).  False if the bitmap is not readable. */
static bool arena_bits_step(const struct gm_heap *heap, const struct gm_span_pointers *sp, uint64_t addr,
			    uint64_t *size, uint64_t *ret_mask, uint64_t *ret_words)
{
	const struct gm_runtime *rt = heap->rt;
	const struct gm_arena_layout *l = &rt->arena;
	uint64_t arena = arena_of(heap, sp, addr);
	if (!arena)
		return false;
	uint64_t bits = rt->ptr_size * 8;
	uint64_t word = addr / rt->ptr_size % (l->arena_bytes / rt->ptr_size);
	uint64_t idx = word / bits, off = word % bits;
	const uint64_t *bitmap = gm_memory_at(rt->prog->mem, arena + l->bitmap.offset + idx * rt->ptr_size,
					      sizeof(uint64_t));
	if (!bitmap)
		return false;
	uint64_t mask = *bitmap >> off, valid = bits - off, nptr = *size / rt->ptr_size;
	if (nptr < valid) {
		mask &= (1ull << nptr) - 1;
		valid = nptr;
	} else if (nptr > valid) {
		const uint8_t *no_more = gm_memory_at(rt->prog->mem, arena + l->no_more_ptrs.offset + idx / 8, 1);
		if (!no_more)
			return false;
		if ((*no_more >> (idx % 8)) & 1)
			*size = valid * rt->ptr_size;
	}
	*ret_mask = mask;
	*ret_words = valid;
	return true;
}

/* OBJ's pointer words from the heap arenas' bitmap, as heapBits.next walks
 * it for scanobject and the heap dump (makeheapobjbv). */
static enum gm_pointer_source arena_bitmap_pointers(struct gm_heap *heap, const struct gm_span_pointers *sp,
						    const struct gm_span *s,
						    const struct gm_object *obj, uint32_t *offsets,
						    size_t *ret_count)
{
	uint64_t ptr = heap->rt->ptr_size, addr = obj->addr, size = s->elemsize;
	size_t n = 0;
	while (size > 0) {
		uint64_t mask, words;
		if (!arena_bits_step(heap, sp, addr, &size, &mask, &words)) {
			gm_heap_warn(heap, "object 0x%" PRIx64 ": arena pointer bitmap for 0x%" PRIx64
				     " not readable", obj->addr, addr);
			*ret_count = 0;
			return GM_POINTERS_UNKNOWN;
		}
		for (uint64_t k = 0; k < words; k++)
			if ((mask >> k) & 1)
				offsets[n++] = (uint32_t)(addr - obj->addr + k * ptr);
		addr += words * ptr;
		size -= words * ptr;
	}
	*ret_count = n;
	return GM_POINTERS_ARENA_BITMAP;
}

enum gm_pointer_source gm_object_pointers(struct gm_heap *heap, const struct gm_span_pointers *sp,
					  const struct gm_object *obj, uint32_t *offsets, size_t *ret_count)
{
	const struct gm_runtime *rt = heap->rt;
	const struct gm_span *s = &heap->spans[obj->span];
	*ret_count = 0;
	if (s->noscan)
		return GM_POINTERS_NONE;
	if (rt->arena_bitmap)
		return arena_bitmap_pointers(heap, sp, s, obj, offsets, ret_count);
	if (s->size_class != 0 && s->elemsize <= rt->min_size_for_malloc_header) {
		if (!sp->heap_bits)
			return GM_POINTERS_UNKNOWN;
		*ret_count = span_bit_pointers(heap, s, sp->heap_bits, obj, offsets);
		return GM_POINTERS_SPAN_BITS;
	}
	if (s->size_class == 0) {
		/* A nil largeType: allocation in progress, nothing to scan yet. */
		if (!s->large_type)
			return GM_POINTERS_NONE;
		enum gm_pointer_source src = tiled_pointers(heap, s, s->large_type, 0, offsets, ret_count);
		return src == GM_POINTERS_HEADER ? GM_POINTERS_LARGE_TYPE : src;
	}
	if (!sp->slots)
		return GM_POINTERS_UNKNOWN;
	uint64_t header;
	memcpy(&header, sp->slots + (obj->addr - s->base), sizeof(header));
	return tiled_pointers(heap, s, header, gm_span_header_size(heap, s), offsets, ret_count);
}
