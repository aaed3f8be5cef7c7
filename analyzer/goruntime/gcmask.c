#include "gcmask.h"

#include <stdbool.h>
#include <stdlib.h>

#include "../program/program.h"

/* buildGCMask recurses only into types at most half their parent's size;
 * a deeper chain means corrupt descriptors. */
#define MAX_DEPTH 128

struct builder {
	const struct gm_runtime *rt;
	uint8_t *bits;
	uint64_t nbits;
	bool bad;
};

struct type_facts {
	const uint8_t *desc;
	uint64_t size, ptr_bytes, gcdata, tflag, kind;
};

/* The abi.Type at ADDR, DESC_SIZE bytes of its descriptor readable. */
static bool read_type(struct builder *b, uint64_t addr, uint64_t desc_size, struct type_facts *t)
{
	const struct gm_type_layout *l = &b->rt->type;
	if (desc_size < l->size)
		desc_size = l->size;
	t->desc = addr ? gm_memory_at(b->rt->prog->mem, addr, desc_size) : NULL;
	if (!t->desc)
		return false;
	t->size = gm_field_uint(t->desc, l->size_);
	t->ptr_bytes = gm_field_uint(t->desc, l->ptr_bytes);
	t->gcdata = gm_field_uint(t->desc, l->gcdata);
	t->tflag = gm_field_uint(t->desc, l->tflag);
	t->kind = gm_field_uint(t->desc, l->kind) & b->rt->kind_mask;
	return t->ptr_bytes <= t->size;
}

/* dst.write: the first N bits of the mask at GCDATA, at bit AT. */
static void copy_bits(struct builder *b, uint64_t gcdata, uint64_t n, uint64_t at)
{
	const uint8_t *src = gm_memory_at(b->rt->prog->mem, gcdata, (n + 7) / 8);
	if (!src || at > b->nbits || n > b->nbits - at) {
		b->bad = true;
		return;
	}
	for (uint64_t k = 0; k < n; k++)
		if ((src[k / 8] >> (k % 8)) & 1)
			b->bits[(at + k) / 8] |= (uint8_t)(1u << ((at + k) % 8));
}

static void build(struct builder *b, uint64_t type_addr, uint64_t at, int depth)
{
	const struct gm_gcmask_layout *l = &b->rt->gcmask;
	uint64_t ptr = b->rt->ptr_size;
	struct type_facts t;
	for (; !b->bad; depth++) {
		uint64_t desc_size = l->array_type_size > l->struct_type_size ? l->array_type_size : l->struct_type_size;
		if (depth > MAX_DEPTH || !read_type(b, type_addr, desc_size, &t) || t.ptr_bytes == 0) {
			b->bad = true;
			return;
		}
		if (!(t.tflag & b->rt->tflag_gcmask_on_demand)) {
			copy_bits(b, t.gcdata, t.ptr_bytes / ptr, at);
			return;
		}
		if (t.kind == l->kind_array) {
			uint64_t elem = gm_field_uint(t.desc, l->array_elem), len = gm_field_uint(t.desc, l->array_len);
			if (len != 1) {
				struct type_facts e;
				if (!read_type(b, elem, 0, &e) || e.size == 0 || len > t.size / e.size) {
					b->bad = true;
					return;
				}
				for (uint64_t i = 0; i < len && !b->bad; i++)
					build(b, elem, at + i * (e.size / ptr), depth + 1);
				return;
			}
			type_addr = elem; /* [1]T: T is not smaller than its parent */
		} else if (t.kind == l->kind_struct) {
			/* A field over half the struct's size is walked last, in this
			 * loop rather than by recursion; there can be only one. */
			uint64_t big_type = 0, big_offset = 0;
			uint64_t fields = gm_field_uint(t.desc, l->struct_fields);
			uint64_t nfields = gm_field_uint(t.desc, l->struct_nfields);
			for (uint64_t i = 0; i < nfields && !b->bad; i++) {
				const uint8_t *f = gm_memory_at(b->rt->prog->mem, fields + i * l->field_size, l->field_size);
				struct type_facts ft;
				if (!f || !read_type(b, gm_field_uint(f, l->field_typ), 0, &ft)) {
					b->bad = true;
					return;
				}
				uint64_t ftype = gm_field_uint(f, l->field_typ), offset = gm_field_uint(f, l->field_offset);
				if (ft.ptr_bytes == 0)
					continue;
				if (ft.size > t.size / 2) {
					big_type = ftype;
					big_offset = offset;
					continue;
				}
				build(b, ftype, at + offset / ptr, depth + 1);
			}
			if (!big_type)
				return;
			type_addr = big_type;
			at += big_offset / ptr;
		} else {
			b->bad = true; /* the runtime throws "unexpected kind" */
		}
	}
}

struct gm_error *gm_gcmask_build(const struct gm_runtime *rt, uint64_t type_addr, uint8_t **ret)
{
	*ret = NULL;
	if (!rt->gcmask.present)
		return NULL;
	struct builder b = { .rt = rt };
	struct type_facts t;
	if (!read_type(&b, type_addr, 0, &t) || t.ptr_bytes == 0)
		return NULL;
	b.nbits = t.ptr_bytes / rt->ptr_size;
	b.bits = calloc((b.nbits + 7) / 8, 1);
	if (!b.bits)
		return &gm_error_nomem;
	build(&b, type_addr, 0, 0);
	if (b.bad) {
		free(b.bits);
		return NULL;
	}
	*ret = b.bits;
	return NULL;
}
