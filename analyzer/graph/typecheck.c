#include "typecheck.h"

#include <dwarf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../dwarf/dwarf_index.h"
#include "../goruntime/heap.h"
#include "../goruntime/pointers.h"
#include "../program/program.h"
#include "../util/u64_map.h"
#include "graph.h"
#include "typeinfer.h"

#define NO_ENTRY UINT32_MAX
#define MAX_DEPTH 64
#define GO_KIND_INTERFACE 20   /* abi.Interface */

/* The pointer words of one value of a registry entry, computed once. */
struct entry_mask {
	enum { MASK_TODO, MASK_KNOWN, MASK_UNKNOWN } state;
	bool any;          /* some word holds a pointer */
	uint64_t words;    /* entry size / pointer size */
	uint8_t *bits;     /* one bit per word, LSB first; NULL when none is set */
};

struct check {
	struct gm_heap *heap;
	struct gm_types *t;
	size_t ntypes;         /* entries when the check began (fitting adds some) */
	struct gm_dwarf *dw;
	uint64_t ptr;
	struct entry_mask *masks;
	uint64_t *wrong;       /* per entry: objects that disagree */
	uint64_t *example;     /* per entry: the first one's address */
	struct gm_u64_map outside_heap;  /* pointee DIE -> not_in_heap() */
	const uint8_t *reachable;
};

static void set_word(uint8_t *bits, uint64_t nwords, uint64_t word)
{
	if (word < nwords)
		bits[word / 8] |= (uint8_t)(1u << (word % 8));
}

static bool word_set(const uint8_t *bits, uint64_t word)
{
	return bits && (bits[word / 8] >> (word % 8)) & 1;
}

static bool dwarf_words(struct check *c, Dwarf_Die *type, uint64_t base, uint8_t *bits, uint64_t nwords, int depth);

/* Whether TYPE cannot live in the Go heap: it is, or holds by value, a
 * sys.NotInHeap (runtime/internal/sys before 1.22's internal/runtime/sys). */
static bool not_in_heap(Dwarf_Die *type_in, int depth)
{
	Dwarf_Die type, child, member_type, elem;
	Dwarf_Attribute attr;
	if (depth > MAX_DEPTH || !gm_dwarf_strip_typedefs(type_in, &type))
		return false;
	const char *name = dwarf_diename(&type);
	size_t len = name ? strlen(name) : 0;
	if (len >= 14 && strcmp(name + len - 14, "/sys.NotInHeap") == 0)
		return true;
	if (dwarf_tag(&type) == DW_TAG_array_type)
		return gm_dwarf_array_elem(&type, &elem) && not_in_heap(&elem, depth + 1);
	if (dwarf_tag(&type) != DW_TAG_structure_type || dwarf_child(&type, &child) != 0)
		return false;
	do {
		if (dwarf_tag(&child) == DW_TAG_member && dwarf_attr(&child, DW_AT_type, &attr) &&
		    dwarf_formref_die(&attr, &member_type) && not_in_heap(&member_type, depth + 1))
			return true;
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

/* The compiler leaves a pointer to a not-in-heap type out of GC masks
 * (types.PtrDataSize): the memory it points to is never the GC's. */
static bool points_outside_heap(struct check *c, Dwarf_Die *pointer)
{
	Dwarf_Die pointee;
	uint64_t off, answer;
	if (!gm_dwarf_pointee(pointer, &pointee))
		return false;
	off = dwarf_dieoffset(&pointee);
	if (gm_u64_map_find(&c->outside_heap, off, &answer))
		return answer;
	answer = not_in_heap(&pointee, 0);
	gm_u64_map_insert(&c->outside_heap, off, answer);
	return answer;
}

static bool any_word(const uint8_t *bits, uint64_t from, uint64_t to)
{
	for (uint64_t k = from; k < to; k++)
		if (word_set(bits, k))
			return true;
	return false;
}

static bool struct_words(struct check *c, Dwarf_Die *type, uint64_t base, uint8_t *bits, uint64_t nwords, int depth)
{
	Dwarf_Die child, member_type;
	Dwarf_Attribute attr;
	Dwarf_Word off;
	uint64_t size, overflow = UINT64_MAX;
	const char *name = dwarf_diename(type), *member;
	/* The linker's bucket<K,V> (maps before 1.24) types overflow as a
	 * pointer; the compiler's bucket makes it a uintptr when neither keys
	 * nor values hold pointers (reflectdata.MapBucketType). */
	bool bucket = name && strncmp(name, "bucket<", 7) == 0;
	if (dwarf_child(type, &child) != 0)
		return true;     /* struct{} */
	do {
		if (dwarf_tag(&child) != DW_TAG_member)
			continue;
		if (!dwarf_attr(&child, DW_AT_data_member_location, &attr) || dwarf_formudata(&attr, &off) != 0 ||
		    !dwarf_attr(&child, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &member_type))
			return false;
		if (bucket && (member = dwarf_diename(&child)) != NULL && strcmp(member, "overflow") == 0) {
			overflow = base + off;
			continue;
		}
		if (!dwarf_words(c, &member_type, base + off, bits, nwords, depth + 1))
			return false;
	} while (dwarf_siblingof(&child, &child) == 0);
	if (overflow != UINT64_MAX && gm_dwarf_type_size(type, &size) &&
	    any_word(bits, base / c->ptr, (base + size) / c->ptr))
		set_word(bits, nwords, overflow / c->ptr);
	return true;
}

/* An array's words: its element's, computed once, at every element. */
static bool array_words(struct check *c, Dwarf_Die *type, uint64_t base, uint8_t *bits, uint64_t nwords, int depth)
{
	Dwarf_Die elem;
	uint64_t count, size;
	if (!gm_dwarf_array_length(type, &count) || !gm_dwarf_array_elem(type, &elem) ||
	    !gm_dwarf_type_size(&elem, &size))
		return false;
	if (count == 0 || size < c->ptr)
		return true;     /* too small to hold a pointer */
	uint64_t elem_words = size / c->ptr;
	uint8_t *one = calloc(elem_words / 8 + 1, 1);
	if (!one)
		return false;
	bool ok = dwarf_words(c, &elem, 0, one, elem_words, depth + 1), any = false;
	for (uint64_t k = 0; ok && k < elem_words && !any; k++)
		any = word_set(one, k);
	if (ok && any && (size % c->ptr || base % c->ptr))
		ok = false;      /* a pointer-holding element is pointer-aligned */
	for (uint64_t i = 0; ok && any && i < count; i++)
		for (uint64_t k = 0; k < elem_words; k++)
			if (word_set(one, k))
				set_word(bits, nwords, (base + i * size) / c->ptr + k);
	free(one);
	return ok;
}

/* Set the words of TYPE (a DWARF type at byte BASE of the value) that hold
 * pointers, as the compiler's GC mask does: pointers, an interface's data
 * word, and through structs and arrays (Go's strings, slices, interfaces, maps, channels and funcs are
 * pointer types or structs of them in DWARF).  False if a part is not a
 * type DWARF lays out. */
static bool dwarf_words(struct check *c, Dwarf_Die *type_in, uint64_t base, uint8_t *bits, uint64_t nwords, int depth)
{
	Dwarf_Die type;
	if (depth > MAX_DEPTH || !gm_dwarf_strip_typedefs(type_in, &type))
		return false;
	const char *name = dwarf_diename(&type);
	if (gm_dwarf_go_kind(type_in) == GO_KIND_INTERFACE ||
	    (name && (strcmp(name, "runtime.iface") == 0 || strcmp(name, "runtime.eface") == 0))) {
		/* The compiler's mask leaves out an interface's first word (an
		 * itab or a type, never in the heap: typebits.Set). */
		if (base % c->ptr)
			return false;
		set_word(bits, nwords, base / c->ptr + 1);
		return true;
	}
	switch (dwarf_tag(&type)) {
	case DW_TAG_base_type:
		return true;
	case DW_TAG_subroutine_type:   /* a func value: a *funcval */
	case DW_TAG_pointer_type:
		if (base % c->ptr)
			return false;
		if (dwarf_tag(&type) == DW_TAG_subroutine_type || !points_outside_heap(c, &type))
			set_word(bits, nwords, base / c->ptr);
		return true;
	case DW_TAG_structure_type:
		return struct_words(c, &type, base, bits, nwords, depth);
	case DW_TAG_array_type:
		return array_words(c, &type, base, bits, nwords, depth);
	default:
		return false;
	}
}

/* Without DWARF: the words of the entry's runtime descriptor's GC mask. */
static bool descriptor_words(struct check *c, uint64_t desc, uint8_t *bits, uint64_t nwords)
{
	uint64_t size, ptr_bytes;
	const uint8_t *mask = gm_type_pointer_mask(c->heap, desc, &size, &ptr_bytes);
	if (!mask)
		return false;
	for (uint64_t k = 0; k < ptr_bytes / c->ptr; k++)
		if ((mask[k / 8] >> (k % 8)) & 1)
			set_word(bits, nwords, k);
	return true;
}

static void compute_mask(struct check *c, uint32_t entry)
{
	const struct gm_type_entry *e = &c->t->entries[entry];
	struct entry_mask *m = &c->masks[entry];
	Dwarf_Die die;
	m->state = MASK_UNKNOWN;
	m->words = e->size / c->ptr;
	if (e->size == 0)
		return;
	if (e->elem != NO_ENTRY) {   /* [n]T made by typing: T's words, repeated */
		const struct entry_mask *el = &c->masks[e->elem];
		if (el->state == MASK_TODO)
			compute_mask(c, e->elem);
		if (el->state != MASK_KNOWN || (el->any && c->t->entries[e->elem].size % c->ptr))
			return;
		m->state = MASK_KNOWN;
		m->any = el->any;
		return;
	}
	if (!e->die && !e->runtime_addr && gm_kind_name_is_scalar(e->kind)) {
		/* a made entry of a scalar kind (a string's bytes without DWARF, "uint8") */
		m->state = MASK_KNOWN;   /* no pointer word: bits stay NULL, any false */
		return;
	}
	uint8_t *bits = calloc(m->words / 8 + 1, 1);
	if (!bits)
		return;
	bool ok = c->dw && e->die ? gm_dwarf_die_at(c->dw, e->die, &die) && dwarf_words(c, &die, 0, bits, m->words, 0)
		: !c->dw && e->runtime_addr && descriptor_words(c, e->runtime_addr, bits, m->words);
	for (uint64_t k = 0; ok && k < m->words && !m->any; k++)
		m->any = word_set(bits, k);
	if (ok && m->any)
		m->bits = bits;
	else
		free(bits);
	if (ok)
		m->state = MASK_KNOWN;
}

/* Whether word K of a value of ENTRY holds a pointer (mask known). */
static bool entry_word(const struct check *c, uint32_t entry, uint64_t k)
{
	const struct gm_type_entry *e = &c->t->entries[entry];
	if (e->elem != NO_ENTRY) {
		const struct entry_mask *el = &c->masks[e->elem];
		return el->any && word_set(el->bits, k % el->words);
	}
	return word_set(c->masks[entry].bits, k);
}

/* The runtime's pointer words of one object: byte offsets from the slot
 * start, ascending, and where the value starts. */
struct runtime_words {
	const uint32_t *offsets;
	size_t n;
	uint64_t data;
};

/* Whether words [FROM, TO) of the value (counted from its start) hold
 * pointers exactly where a value of ENTRY does. */
static bool range_agrees(const struct check *c, uint32_t entry, const struct runtime_words *w, uint64_t from,
			 uint64_t to)
{
	size_t j = 0;
	while (j < w->n && w->offsets[j] < w->data + from * c->ptr)
		j++;
	if (!c->masks[entry].any)
		return j == w->n || w->offsets[j] >= w->data + to * c->ptr;
	for (uint64_t k = from; k < to; k++) {
		bool runtime = j < w->n && w->offsets[j] == w->data + k * c->ptr;
		if (runtime)
			j++;
		if (runtime != entry_word(c, entry, k))
			return false;
	}
	return true;
}

/* Words of OBJ's typed extent: its type's size, within the slot. */
static uint64_t extent_words(const struct check *c, const struct gm_object *obj, uint32_t entry)
{
	uint64_t extent = c->t->entries[entry].size, room = gm_object_data_size(c->heap, obj);
	return (extent < room ? extent : room) / c->ptr;
}

/* A [n]T made by typing over an object whose bitmap the runtime wrote for
 * the allocation's own size (span heap bits, the arena bitmap: zero past
 * it): when only the first m < n elements have T's pointer words and
 * nothing after them has any, the allocation held m (a slice's cap, or a
 * size class's spare room, said more): retype OBJ as [m]T. */
static bool fit_to_bitmap(struct check *c, uint32_t obj, uint32_t entry, const struct runtime_words *w)
{
	uint32_t elem = c->t->entries[entry].elem;
	if (elem == NO_ENTRY || !c->masks[elem].any)
		return false;
	uint64_t elem_words = c->masks[elem].words, count = c->t->entries[entry].count, m = 0;
	while (m < count && range_agrees(c, entry, w, m * elem_words, (m + 1) * elem_words))
		m++;
	uint64_t end = extent_words(c, &c->heap->objects[obj], entry);
	if (m == 0 || m == count)
		return false;
	for (size_t j = 0; j < w->n; j++)   /* nothing after the m elements */
		if (w->offsets[j] >= w->data + m * elem_words * c->ptr && w->offsets[j] < w->data + end * c->ptr)
			return false;
	uint32_t fitted = m == 1 ? elem : gm_types_array_of(c->t, elem, m);
	if (fitted == NO_ENTRY)
		return false;
	c->t->object_type[obj] = fitted;
	return true;
}

/* Types the runtime allocates without pointer bits although they have
 * pointer fields, because what those point at is never the GC's: makechan's
 * channels of pointer-free elements and unbuffered ones (chan.go: buf,
 * elemtype and the wait queues' sudogs), itabGrow's itab table (iface.go:
 * itabs are persistentalloc'd). */
static bool noscan_by_design(const struct check *c, const struct gm_object *obj, uint32_t entry)
{
	const char *name = c->t->entries[entry].name;
	return c->heap->spans[obj->span].noscan && (strncmp(name, "hchan<", 6) == 0 || strcmp(name, "runtime.hchan") == 0 ||
						   strcmp(name, "runtime.itabTableType") == 0);
}

/* "TYPE xCOUNT (0xADDR); ..." for the ten entries with the most disagreeing objects. */
static char *worst_types(const struct check *c, uint64_t disagree)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = disagree ? open_memstream(&out, &len) : NULL;
	if (!f)
		return NULL;
	uint64_t *left = malloc(c->ntypes * sizeof(*left));
	if (left) {
		memcpy(left, c->wrong, c->ntypes * sizeof(*left));
		for (int rank = 0; rank < 10; rank++) {
			size_t best = 0;
			for (size_t i = 1; i < c->ntypes; i++)
				if (left[i] > left[best])
					best = i;
			if (!left[best])
				break;
			fprintf(f, "%s%s x%" PRIu64 " (0x%" PRIx64 ")", rank ? "; " : "", c->t->entries[best].name,
				left[best], c->example[best]);
			left[best] = 0;
		}
		free(left);
	}
	fclose(f);
	return out;
}

/* An inferred type the bitmap contradicts is not the object's: unknown
 * rather than wrong (a malloc header's or largeType's own type stays). */
static void untype(struct check *c, uint32_t obj, struct gm_type_check *ret)
{
	c->t->object_type[obj] = NO_ENTRY;
	ret->untyped++;
	if (!ret->contradicted)
		ret->contradicted = calloc(c->heap->nobjects, 1);
	if (ret->contradicted)
		ret->contradicted[obj] = 1;
	if (c->reachable && c->reachable[obj])
		c->t->typed_reachable_bytes -= gm_object_size(c->heap, &c->heap->objects[obj]);
}

static struct gm_error *check_objects(struct check *c, struct gm_type_check *ret)
{
	struct gm_heap *heap = c->heap;
	uint64_t max_size = 0;
	for (size_t i = 0; i < heap->nspans; i++)
		if (heap->spans[i].elemsize > max_size)
			max_size = heap->spans[i].elemsize;
	uint32_t *offsets = malloc((max_size / c->ptr + 1) * sizeof(*offsets));
	if (!offsets)
		return &gm_error_nomem;
	struct gm_span_pointers sp = { 0 };
	uint32_t current_span = UINT32_MAX;
	size_t released = 0;
	for (size_t i = 0; i < heap->nobjects; i++) {
		uint32_t entry = c->t->object_type[i];
		const struct gm_object *obj = &heap->objects[i];
		/* The bitmaps are read in address order: the core's pages read so
		 * far need not stay resident (at 5M objects they were the peak). */
		if (i - released >= GM_GRAPH_RELEASE_STEP) {
			gm_core_release_pages(heap->rt->prog->core);
			released = i;
		}
		if (entry == NO_ENTRY)
			continue;
		if (c->masks[entry].state == MASK_TODO)
			compute_mask(c, entry);
		if (obj->span != current_span) {
			current_span = obj->span;
			gm_span_pointers_init(heap, &heap->spans[obj->span], &sp);
		}
		size_t n = 0;
		enum gm_pointer_source src = c->masks[entry].state == MASK_KNOWN ?
			gm_object_pointers(heap, &sp, obj, offsets, &n) : GM_POINTERS_UNKNOWN;
		if (src == GM_POINTERS_UNKNOWN) {
			ret->unchecked++;
			continue;
		}
		ret->checked++;
		struct runtime_words w = { offsets, n, gm_span_header_size(heap, &heap->spans[obj->span]) };
		if (range_agrees(c, entry, &w, 0, extent_words(c, obj, entry)) || noscan_by_design(c, obj, entry))
			continue;
		if ((src == GM_POINTERS_SPAN_BITS || src == GM_POINTERS_ARENA_BITMAP) &&
		    fit_to_bitmap(c, (uint32_t)i, entry, &w)) {
			ret->fitted++;
			continue;
		}
		ret->disagree++;
		if (!c->wrong[entry]++)
			c->example[entry] = obj->addr;
		if (obj->type == GM_NO_TYPE)
			untype(c, (uint32_t)i, ret);
	}
	free(offsets);
	ret->worst = worst_types(c, ret->disagree);
	return NULL;
}

struct gm_error *gm_types_check_bitmap(struct gm_heap *heap, struct gm_types *types, const uint8_t *reachable,
				       struct gm_type_check *ret)
{
	struct check c = { .heap = heap, .t = types, .ntypes = types->count, .dw = heap->rt->prog->dwarf,
			   .ptr = heap->rt->ptr_size, .reachable = reachable };
	memset(ret, 0, sizeof(*ret));
	size_t n = types->count ? types->count : 1;
	c.masks = calloc(n, sizeof(*c.masks));
	c.wrong = calloc(n, sizeof(*c.wrong));
	c.example = calloc(n, sizeof(*c.example));
	struct gm_error *err = c.masks && c.wrong && c.example ? check_objects(&c, ret) : &gm_error_nomem;
	for (size_t i = 0; c.masks && i < c.ntypes; i++)
		free(c.masks[i].bits);
	free(c.masks);
	free(c.wrong);
	free(c.example);
	gm_u64_map_free(&c.outside_heap);
	return err;
}

void gm_type_check_free(struct gm_type_check *c)
{
	free(c->worst);
	free(c->contradicted);
	c->worst = NULL;
	c->contradicted = NULL;
}
