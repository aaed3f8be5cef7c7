#include "heap.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../program/program.h"
#include "gcmask.h"

/* Caps on counts read from the core: larger values mean corruption. */
#define MAX_SPANS (1ull << 30)
#define MAX_NAME_LEN 4096

static const char *const kind_names[] = {
	"invalid", "bool", "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16",
	"uint32", "uint64", "uintptr", "float32", "float64", "complex64", "complex128", "array",
	"chan", "func", "interface", "map", "ptr", "slice", "string", "struct", "unsafe.Pointer",
};

struct gm_error *gm_heap_each_special(const struct gm_heap *heap, struct gm_warnings *w, gm_special_fn fn,
				      void *arg)
{
	const struct gm_runtime *rt = heap->rt;
	struct gm_error *err = NULL;
	for (size_t i = 0; i < heap->nspans && !err; i++) {
		const struct gm_span *s = &heap->spans[i];
		uint64_t special;
		if (s->state != GM_SPAN_IN_USE ||
		    !gm_try_read_u64(rt->prog->mem, s->mspan_addr + rt->span.specials.offset, &special))
			continue;
		for (uint32_t n = 0; special && !err; n++) {
			const uint8_t *p = gm_memory_at(rt->prog->mem, special, GM_SPECIAL_BYTES);
			if (!p || n >= s->nelems * 16u + 64u) {
				gm_warn(w, "span 0x%" PRIx64 ": specials list broken at 0x%" PRIx64, s->base, special);
				break;
			}
			err = fn(s, special, p, arg);
			special = gm_field_uint(p, rt->specials.next);
		}
	}
	return err;
}

const char *gm_kind_name(unsigned kind)
{
	return kind < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[kind] : "invalid";
}

/* abi.Bool (1) to abi.Complex128 (16): the kinds that hold no pointer. */
bool gm_kind_name_is_scalar(const char *name)
{
	for (unsigned kind = 1; name && kind <= 16; kind++)
		if (strcmp(name, kind_names[kind]) == 0)
			return true;
	return false;
}

/* Read the abi.Name at types+STR: a flags byte, a uvarint length, the bytes. */
static char *read_type_name(struct gm_heap *heap, uint32_t str, uint8_t tflag)
{
	struct gm_address_space *mem = heap->rt->prog->mem;
	uint64_t at = heap->moduledata_types + str;
	uint8_t head[11];
	/* A name lies among the module's types: an offset past them is no
	 * descriptor's (a word probed as one), not memory the core lacks. */
	if ((heap->moduledata_etypes && at >= heap->moduledata_etypes) || !gm_try_read(mem, at, head, 1))
		return NULL;
	uint64_t len = 0;
	size_t used = 0;
	for (size_t i = 0; i < 10; i++) {
		if (!gm_try_read(mem, at + 1 + i, &head[1 + i], 1))
			return NULL;
		len |= (uint64_t)(head[1 + i] & 0x7f) << (7 * i);
		if (!(head[1 + i] & 0x80)) {
			used = i + 1;
			break;
		}
	}
	if (used == 0 || len > MAX_NAME_LEN)
		return NULL;
	char *name = malloc(len + 1);
	if (!name)
		return NULL;
	if (!gm_try_read(mem, at + 1 + used, name, len)) {
		free(name);
		return NULL;
	}
	name[len] = '\0';
	if ((tflag & heap->rt->tflag_extra_star) && name[0] == '*')
		memmove(name, name + 1, len);
	return name;
}

char *gm_heap_type_name(struct gm_heap *heap, uint64_t addr)
{
	const struct gm_type_layout *l = &heap->rt->type;
	const uint8_t *desc = gm_memory_at(heap->rt->prog->mem, addr, l->size);
	if (!desc)
		return NULL;
	return read_type_name(heap, (uint32_t)gm_field_uint(desc, l->str), (uint8_t)gm_field_uint(desc, l->tflag));
}

/* A type whose GC mask the runtime builds on demand: GCData points at a
 * slot that holds the mask once a GC scanned the type; while it is 0 the
 * mask is built here from the descriptors. */
static struct gm_error *on_demand_mask(struct gm_heap *heap, struct gm_rtype *t)
{
	uint64_t slot;
	if (!gm_try_read(heap->rt->prog->mem, t->gcdata, &slot, sizeof(slot)) || slot != 0)
		return NULL; /* built by the runtime (or unreadable: pointers.c says unknown) */
	struct gm_error *err = gm_gcmask_build(heap->rt, t->addr, &t->built_mask);
	if (err)
		return err;
	if (t->built_mask)
		heap->gc_masks_built++;
	else
		gm_heap_warn(heap, "type %s at 0x%" PRIx64 ": GC mask never built by the runtime and not buildable "
			     "from its descriptors", t->name ? t->name : "?", t->addr);
	return NULL;
}

static struct gm_error *add_type(struct gm_heap *heap, uint64_t addr, const uint8_t *desc, uint32_t *ret)
{
	const struct gm_type_layout *l = &heap->rt->type;
	if (heap->ntypes == heap->types_cap) {
		size_t cap = heap->types_cap ? heap->types_cap * 2 : 256;
		void *grown = realloc(heap->types, cap * sizeof(*heap->types));
		if (!grown)
			return &gm_error_nomem;
		heap->types = grown;
		heap->types_cap = cap;
	}
	struct gm_rtype *t = &heap->types[heap->ntypes];
	t->addr = addr;
	t->size = gm_field_uint(desc, l->size_);
	t->ptr_bytes = gm_field_uint(desc, l->ptr_bytes);
	t->gcdata = gm_field_uint(desc, l->gcdata);
	t->kind = (uint8_t)(gm_field_uint(desc, l->kind) & heap->rt->kind_mask);
	t->tflag = (uint8_t)gm_field_uint(desc, l->tflag);
	t->name = read_type_name(heap, (uint32_t)gm_field_uint(desc, l->str), t->tflag);
	t->built_mask = NULL;
	if (!t->name)
		gm_heap_warn(heap, "type descriptor at 0x%" PRIx64 ": name not readable", addr);
	if (t->tflag & heap->rt->tflag_gcmask_on_demand) {
		struct gm_error *err = on_demand_mask(heap, t);
		if (err) {
			free(t->name);
			return err;
		}
	}
	if (gm_u64_map_insert(&heap->type_index, addr, heap->ntypes))
		return &gm_error_nomem;
	*ret = (uint32_t)heap->ntypes++;
	return NULL;
}

/* The index of the type descriptor at ADDR, registering it on first sight.
 * A pointer outside the module's type section is not a type: GM_NO_TYPE. */
static struct gm_error *type_at(struct gm_heap *heap, uint64_t addr, uint64_t etypes, uint32_t *ret)
{
	*ret = GM_NO_TYPE;
	if (addr == 0)
		return NULL;
	uint64_t index;
	if (gm_u64_map_find(&heap->type_index, addr, &index)) {
		*ret = (uint32_t)index;
		return NULL;
	}
	const struct gm_runtime *rt = heap->rt;
	const uint8_t *desc = gm_memory_at(rt->prog->mem, addr, rt->type.size);
	if (addr < heap->moduledata_types || addr >= etypes) {
		/* 1.22-1.23 heapSetType: a large object of a GC-program type points
		 * at an unrolled bitmap with a nameless type header (pointers.c
		 * reads its mask; the object's type comes from the graph). */
		if (!desc || !(gm_field_uint(desc, rt->type.tflag) & rt->tflag_unrolled_bitmap))
			gm_heap_warn(heap, "type pointer 0x%" PRIx64 " outside the module's types", addr);
		return NULL;
	}
	if (!desc) {
		gm_heap_warn(heap, "type descriptor at 0x%" PRIx64 " not readable", addr);
		return NULL;
	}
	return add_type(heap, addr, desc, ret);
}

/* ---- Spans ---- */

/* Read mheap_.allspans: the array of every mspan descriptor ever made. */
static struct gm_error *read_allspans(struct gm_heap *heap, uint64_t **ret, uint64_t *ret_len)
{
	struct gm_runtime *rt = heap->rt;
	uint64_t header[3];
	struct gm_error *err = gm_read(rt->prog->mem, rt->mheap_addr + rt->mheap_allspans.offset, header,
				       sizeof(header));
	if (err)
		return gm_error_prefix(err, "reading mheap_.allspans");
	if (header[1] > MAX_SPANS || header[1] > header[2])
		return gm_error_create(GM_ERR_BAD_RUNTIME, "mheap_.allspans has implausible length %" PRIu64
				       " (cap %" PRIu64 ")", header[1], header[2]);
	uint64_t *spans = malloc((header[1] ? header[1] : 1) * sizeof(*spans));
	if (!spans)
		return &gm_error_nomem;
	err = gm_read(rt->prog->mem, header[0], spans, header[1] * sizeof(*spans));
	if (err) {
		free(spans);
		return gm_error_prefix(err, "reading the mheap_.allspans array");
	}
	*ret = spans;
	*ret_len = header[1];
	return NULL;
}

/* Whether the process had all of [start, end) mapped (saved or not). */
static bool range_mapped(struct gm_address_space *as, uint64_t start, uint64_t end)
{
	for (uint64_t addr = start; addr < end;) {
		const struct gm_region *r = gm_region_at(as, addr);
		if (!r)
			return false;
		addr = r->end;
	}
	return true;
}

/* Check a decoded span; false (with a warning) when it cannot be right.  A
 * span must lie in mapped memory: the page index costs memory per page, so
 * a corrupt npages must not make it index terabytes. */
static bool span_plausible(struct gm_heap *heap, const struct gm_span *s)
{
	const char *why = NULL;
	uint64_t page = heap->rt->page_size;
	if (s->npages == 0 || s->npages > (1ull << 40) / page)
		why = "bad npages";
	else if (s->base % page != 0 || s->base + s->npages * page < s->base)
		why = "bad base";
	else if (!range_mapped(heap->rt->prog->mem, s->base, s->base + s->npages * page))
		why = "pages outside the process's memory";
	else if (s->state == GM_SPAN_IN_USE && (s->elemsize == 0 || s->elemsize > s->npages * page))
		why = "bad elemsize";
	else if (s->state == GM_SPAN_IN_USE && s->nelems > s->npages * page / s->elemsize)
		why = "nelems exceeds the span";
	else if (s->state == GM_SPAN_IN_USE && s->size_class >= heap->rt->nsize_classes)
		why = "bad size class";
	if (why)
		gm_heap_warn(heap, "span 0x%" PRIx64 " (descriptor 0x%" PRIx64 "): %s; skipped",
			     s->base, s->mspan_addr, why);
	return why == NULL;
}

/* Decode the mspan at ADDR; false if it is not an in-use or manual span. */
static bool decode_span(struct gm_heap *heap, uint64_t addr, struct gm_span *s)
{
	const struct gm_runtime *rt = heap->rt;
	const struct gm_span_layout *l = &rt->span;
	const uint8_t *p = gm_memory_at(rt->prog->mem, addr, l->size);
	if (!p) {
		gm_heap_warn(heap, "span descriptor at 0x%" PRIx64 " not saved in the core", addr);
		return false;
	}
	uint64_t state = gm_field_uint(p, l->state);
	if (state != rt->span_in_use && state != rt->span_manual)
		return false;
	memset(s, 0, sizeof(*s));
	s->mspan_addr = addr;
	s->state = state == rt->span_in_use ? GM_SPAN_IN_USE : GM_SPAN_MANUAL;
	s->base = gm_field_uint(p, l->start_addr);
	s->npages = gm_field_uint(p, l->npages);
	s->end = s->base + s->npages * rt->page_size;
	s->limit = gm_field_uint(p, l->limit);
	s->elemsize = gm_field_uint(p, l->elemsize);
	s->nelems = (uint32_t)gm_field_uint(p, l->nelems);
	s->freeindex = (uint32_t)gm_field_uint(p, l->freeindex);
	s->runtime_alloc_count = (uint32_t)gm_field_uint(p, l->alloc_count);
	uint64_t spanclass = gm_field_uint(p, l->spanclass);
	s->size_class = (uint8_t)(spanclass >> 1);
	s->noscan = (uint8_t)(spanclass & 1);
	if (l->large_type.present)
		s->large_type = gm_field_uint(p, l->large_type);
	return span_plausible(heap, s);
}

static int span_base_compare(const void *a, const void *b)
{
	const struct gm_span *x = a, *y = b;
	return (x->base > y->base) - (x->base < y->base);
}

static struct gm_error *collect_spans(struct gm_heap *heap)
{
	uint64_t *addrs = NULL, n = 0;
	struct gm_error *err = read_allspans(heap, &addrs, &n);
	if (err)
		return err;
	heap->spans = malloc((n ? n : 1) * sizeof(*heap->spans));
	if (!heap->spans) {
		free(addrs);
		return &gm_error_nomem;
	}
	for (uint64_t i = 0; i < n; i++) {
		struct gm_span *s = &heap->spans[heap->nspans];
		if (decode_span(heap, addrs[i], s)) {
			heap->nspans++;
			heap->nspans_in_use += s->state == GM_SPAN_IN_USE;
		}
	}
	free(addrs);
	qsort(heap->spans, heap->nspans, sizeof(*heap->spans), span_base_compare);
	for (size_t i = 1; i < heap->nspans; i++)
		if (heap->spans[i].base < heap->spans[i - 1].end)
			gm_heap_warn(heap, "spans at 0x%" PRIx64 " and 0x%" PRIx64 " overlap",
				     heap->spans[i - 1].base, heap->spans[i].base);
	return NULL;
}

/* ---- Objects ---- */

/* The allocation bitmap of an in-use span (nelems bits), or NULL (warned). */
static const uint8_t *span_alloc_bits(struct gm_heap *heap, const struct gm_span *s)
{
	const struct gm_runtime *rt = heap->rt;
	const uint8_t *desc = gm_memory_at(rt->prog->mem, s->mspan_addr, rt->span.size);
	uint64_t bits_addr = desc ? gm_field_uint(desc, rt->span.alloc_bits) : 0;
	const uint8_t *bits = bits_addr ? gm_memory_at(rt->prog->mem, bits_addr, (s->nelems + 7) / 8) : NULL;
	if (!bits && s->nelems > s->freeindex)
		gm_heap_warn(heap, "span 0x%" PRIx64 ": allocation bitmap at 0x%" PRIx64
			     " not readable; only the %u slots below freeindex counted",
			     s->base, bits_addr, s->freeindex);
	return bits;
}

static inline bool slot_allocated(const struct gm_span *s, const uint8_t *bits, uint32_t i)
{
	return i < s->freeindex || (bits && (bits[i / 8] >> (i % 8)) & 1);
}

static uint32_t count_allocated(const struct gm_span *s, const uint8_t *bits)
{
	uint32_t n = s->freeindex < s->nelems ? s->freeindex : s->nelems;
	if (!bits)
		return n;
	for (uint32_t i = n; i < s->nelems; i++)
		n += (bits[i / 8] >> (i % 8)) & 1;
	return n;
}

/* The type an object's malloc header (objects over minSizeForMallocHeader in
 * scan spans) or its large span names. */
static struct gm_error *object_type(struct gm_heap *heap, const struct gm_span *s, uint64_t addr,
				    uint64_t etypes, uint32_t *ret)
{
	const struct gm_runtime *rt = heap->rt;
	*ret = GM_NO_TYPE;
	if (s->noscan)
		return NULL;
	if (s->size_class == 0)
		return type_at(heap, s->large_type, etypes, ret);
	if (gm_span_header_size(heap, s) == 0)
		return NULL;
	const uint64_t *header = gm_memory_at(rt->prog->mem, addr, sizeof(uint64_t));
	if (!header) {
		gm_heap_warn(heap, "object 0x%" PRIx64 ": malloc header not saved", addr);
		return NULL;
	}
	uint64_t type_addr;
	memcpy(&type_addr, header, sizeof(type_addr));
	return type_at(heap, type_addr, etypes, ret);
}

static struct gm_error *emit_objects(struct gm_heap *heap, size_t span_index, const uint8_t *bits,
				     uint64_t etypes)
{
	struct gm_span *s = &heap->spans[span_index];
	s->first_object = (uint32_t)heap->nobjects;
	for (uint32_t i = 0; i < s->nelems; i++) {
		if (!slot_allocated(s, bits, i))
			continue;
		struct gm_object *obj = &heap->objects[heap->nobjects++];
		obj->addr = s->base + (uint64_t)i * s->elemsize;
		obj->span = (uint32_t)span_index;
		struct gm_error *err = object_type(heap, s, obj->addr, etypes, &obj->type);
		if (err)
			return err;
	}
	heap->object_bytes += (uint64_t)s->alloc_count * s->elemsize;
	return NULL;
}

static struct gm_error *collect_objects(struct gm_heap *heap)
{
	const struct gm_runtime *rt = heap->rt;
	uint64_t module[2];
	struct gm_error *err = gm_read(rt->prog->mem, rt->moduledata_addr + rt->moduledata_types.offset,
				       &module[0], 8);
	if (!err)
		err = gm_read(rt->prog->mem, rt->moduledata_addr + rt->moduledata_etypes.offset, &module[1], 8);
	if (err)
		return gm_error_prefix(err, "reading runtime.firstmoduledata.types");
	heap->moduledata_types = module[0];
	heap->moduledata_etypes = module[1];
	uint64_t total = 0;
	for (size_t i = 0; i < heap->nspans; i++) {
		struct gm_span *s = &heap->spans[i];
		if (s->state == GM_SPAN_IN_USE) {
			s->alloc_count = count_allocated(s, span_alloc_bits(heap, s));
			total += s->alloc_count;
			if (s->alloc_count != s->runtime_alloc_count)
				gm_heap_warn(heap, "span 0x%" PRIx64 ": %u allocated slots, allocCount says %u",
					     s->base, s->alloc_count, s->runtime_alloc_count);
		}
	}
	if (total >= UINT32_MAX)
		return gm_error_create(GM_ERR_BAD_RUNTIME, "%" PRIu64 " objects: more than 32-bit ids allow",
				       total);
	heap->objects = malloc((total ? total : 1) * sizeof(*heap->objects));
	if (!heap->objects)
		return &gm_error_nomem;
	for (size_t i = 0; i < heap->nspans && !err; i++) {
		if (heap->spans[i].state == GM_SPAN_IN_USE)
			err = emit_objects(heap, i, span_alloc_bits(heap, &heap->spans[i]), module[1]);
	}
	return err;
}

static struct gm_error *index_slots(struct gm_heap *heap);

struct gm_error *gm_heap_walk(struct gm_runtime *rt, struct gm_heap **ret)
{
	struct gm_heap *heap = calloc(1, sizeof(*heap));
	if (!heap)
		return &gm_error_nomem;
	heap->rt = rt;
	struct gm_error *err = collect_spans(heap);
	if (!err)
		err = collect_objects(heap);
	if (!err)
		err = index_slots(heap);
	if (err) {
		gm_heap_destroy(heap);
		return err;
	}
	*ret = heap;
	return NULL;
}

void gm_heap_destroy(struct gm_heap *heap)
{
	if (!heap)
		return;
	for (size_t i = 0; i < heap->ntypes; i++) {
		free(heap->types[i].name);
		free(heap->types[i].built_mask);
	}
	gm_warnings_free(&heap->warnings);
	free(heap->types);
	gm_u64_map_free(&heap->type_index);
	gm_u64_map_free(&heap->page_span);
	free(heap->page_flat);
	free(heap->slot_object);
	free(heap->spans);
	free(heap->objects);
	free(heap);
}

/* The span index of heap page PAGE; false if no span holds it. */
static inline bool page_span(const struct gm_heap *heap, uint64_t page, uint64_t *ret)
{
	if (!heap->page_flat)
		return gm_u64_map_find(&heap->page_span, page, ret);
	if (page - heap->page_first >= heap->npage_flat || heap->page_flat[page - heap->page_first] == UINT32_MAX)
		return false;
	*ret = heap->page_flat[page - heap->page_first];
	return true;
}

bool gm_heap_find_slot(const struct gm_heap *heap, uint64_t addr, uint32_t *ret, uint64_t *offset)
{
	uint64_t span_index;
	if (!page_span(heap, addr / heap->rt->page_size, &span_index))
		return false;
	const struct gm_span *s = &heap->spans[span_index];
	if (addr < s->base || addr >= s->base + (uint64_t)s->nelems * s->elemsize)
		return false;
	uint64_t slot = s->nelems == 1 ? 0 : (addr - s->base) / s->elemsize;
	uint32_t obj = heap->slot_object[s->first_slot + slot];
	if (obj == UINT32_MAX)
		return false;
	*ret = obj;
	*offset = addr - s->base - slot * s->elemsize;
	return true;
}

bool gm_heap_find_object(const struct gm_heap *heap, uint64_t addr, uint32_t *ret)
{
	uint64_t offset;
	return gm_heap_find_slot(heap, addr, ret, &offset);
}

/* page_flat when the heap's pages span at most four times the pages its
 * spans hold (a Go heap grows arena by arena from one hint: its pages lie
 * together); the hash map then only serves as the fallback. */
static struct gm_error *flatten_page_index(struct gm_heap *heap)
{
	uint64_t page = heap->rt->page_size, lo = UINT64_MAX, hi = 0, held = 0;
	for (size_t i = 0; i < heap->nspans; i++) {
		const struct gm_span *s = &heap->spans[i];
		if (s->state != GM_SPAN_IN_USE || s->end <= s->base)
			continue;
		lo = s->base / page < lo ? s->base / page : lo;
		hi = (s->end - 1) / page > hi ? (s->end - 1) / page : hi;
		held += (s->end - 1) / page - s->base / page + 1;
	}
	if (!held || hi - lo + 1 > 4 * held + 4096 || heap->nspans >= UINT32_MAX)
		return NULL;
	heap->page_flat = malloc((hi - lo + 1) * sizeof(*heap->page_flat));
	if (!heap->page_flat)
		return &gm_error_nomem;
	heap->page_first = lo;
	heap->npage_flat = hi - lo + 1;
	memset(heap->page_flat, 0xff, heap->npage_flat * sizeof(*heap->page_flat));
	for (size_t i = 0; i < heap->nspans; i++) {
		const struct gm_span *s = &heap->spans[i];
		if (s->state == GM_SPAN_IN_USE)
			for (uint64_t p = s->base / page; p < s->end / page; p++)
				heap->page_flat[p - lo] = (uint32_t)i;
	}
	return NULL;
}

/* The page and slot indexes behind gm_heap_find_object. */
static struct gm_error *index_slots(struct gm_heap *heap)
{
	uint64_t page = heap->rt->page_size;
	for (size_t i = 0; i < heap->nspans; i++) {
		struct gm_span *s = &heap->spans[i];
		if (s->state != GM_SPAN_IN_USE)
			continue;
		s->first_slot = heap->nslots;
		heap->nslots += s->nelems;
		for (uint64_t p = s->base / page; p < s->end / page; p++)
			if (gm_u64_map_insert(&heap->page_span, p, i))
				return &gm_error_nomem;
	}
	heap->slot_object = malloc((heap->nslots ? heap->nslots : 1) * sizeof(*heap->slot_object));
	if (!heap->slot_object)
		return &gm_error_nomem;
	memset(heap->slot_object, 0xff, heap->nslots * sizeof(*heap->slot_object));
	for (size_t i = 0; i < heap->nobjects; i++) {
		const struct gm_object *o = &heap->objects[i];
		const struct gm_span *s = &heap->spans[o->span];
		heap->slot_object[s->first_slot + (o->addr - s->base) / s->elemsize] = (uint32_t)i;
	}
	return flatten_page_index(heap);
}
