#include "descriptors.h"

#include "../goruntime/binding.h"
#include "../program/program.h"

/* internal/abi Kinds (stable 1.20-1.27). */
enum {
	KIND_ARRAY = 17, KIND_CHAN = 18, KIND_FUNC = 19, KIND_INTERFACE = 20, KIND_MAP = 21,
	KIND_POINTER = 22, KIND_SLICE = 23, KIND_STRING = 24, KIND_STRUCT = 25, KIND_UNSAFE_POINTER = 26,
};

/* Nesting deeper than this is a corrupt descriptor (a loop), not a type. */
#define MAX_DEPTH 64
#define MAX_FIELDS 100000

static bool read_word(const struct gm_runtime *rt, uint64_t addr, uint64_t *ret)
{
	struct gm_error *err = gm_read_u64(rt->prog->mem, addr, ret);
	gm_error_destroy(err);
	return err == NULL;
}

static bool read_field(const struct gm_runtime *rt, uint64_t base, struct gm_field f, uint64_t *ret)
{
	return f.present && f.size == 8 && read_word(rt, base + f.offset, ret);
}

bool gm_desc_read(const struct gm_runtime *rt, uint64_t desc, struct gm_desc *ret)
{
	const uint8_t *p = desc ? gm_memory_at(rt->prog->mem, desc, rt->type.size) : NULL;
	if (!p)
		return false;
	ret->size = gm_field_uint(p, rt->type.size_);
	ret->ptr_bytes = gm_field_uint(p, rt->type.ptr_bytes);
	ret->kind = (unsigned)(gm_field_uint(p, rt->type.kind) & rt->kind_mask & 0x1f);
	return true;
}

/* The fields of the struct at DESC: where the first abi.StructField is, and how many. */
static bool struct_fields(const struct gm_runtime *rt, uint64_t desc, uint64_t *fields, uint64_t *n)
{
	const struct gm_descriptor_layout *d = &rt->desc;
	/* Fields is a slice: its data pointer, then its len. */
	return d->struct_field_size && d->struct_fields.present && read_word(rt, desc + d->struct_fields.offset, fields) &&
	       read_word(rt, desc + d->struct_fields.offset + 8, n) && *n <= MAX_FIELDS;
}

/* The field of the struct at DESC holding byte *OFF: its type, *OFF made relative to it. */
static bool struct_field_at(const struct gm_runtime *rt, uint64_t desc, uint64_t *off, uint64_t *ret_type)
{
	const struct gm_descriptor_layout *d = &rt->desc;
	uint64_t fields, n;
	if (!struct_fields(rt, desc, &fields, &n))
		return false;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t f = fields + i * d->struct_field_size, typ, offset;
		struct gm_desc t;
		if (!read_field(rt, f, d->field_typ, &typ) || !read_field(rt, f, d->field_offset, &offset) ||
		    !gm_desc_read(rt, typ, &t))
			return false;
		if (offset <= *off && *off < offset + t.size) {
			*off -= offset;
			*ret_type = typ;
			return true;
		}
	}
	return false;
}

/* atomic.Pointer[T] keeps its value as `v unsafe.Pointer` beside a
 * zero-size `_ [0]*T` that only names T (sync/atomic/type.go): whether the
 * struct at DESC has such a field starting at byte OFF, and then T's
 * descriptor in *RET. */
static bool phantom_pointee(const struct gm_runtime *rt, uint64_t desc, uint64_t off, uint64_t *ret)
{
	const struct gm_descriptor_layout *d = &rt->desc;
	uint64_t fields, n;
	if (!struct_fields(rt, desc, &fields, &n))
		return false;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t f = fields + i * d->struct_field_size, typ, offset, len, elem;
		struct gm_desc t, e;
		if (!read_field(rt, f, d->field_typ, &typ) || !read_field(rt, f, d->field_offset, &offset) ||
		    !gm_desc_read(rt, typ, &t))
			return false;
		if (offset == off && t.kind == KIND_ARRAY && read_field(rt, typ, d->array_len, &len) && len == 0 &&
		    read_field(rt, typ, d->array_elem, &elem) && gm_desc_read(rt, elem, &e) && e.kind == KIND_POINTER &&
		    rt->ptrtype_elem.present)
			return read_field(rt, elem, rt->ptrtype_elem, ret) && *ret != 0;
	}
	return false;
}

bool gm_desc_array(const struct gm_runtime *rt, uint64_t desc, uint64_t *ret_elem, uint64_t *ret_len)
{
	struct gm_desc t;
	return gm_desc_read(rt, desc, &t) && t.kind == KIND_ARRAY && read_field(rt, desc, rt->desc.array_elem, ret_elem) &&
	       read_field(rt, desc, rt->desc.array_len, ret_len);
}

bool gm_desc_field_type(const struct gm_runtime *rt, uint64_t desc, uint64_t off, uint64_t *ret)
{
	struct gm_desc t;
	uint64_t inner = off;
	return gm_desc_read(rt, desc, &t) && t.kind == KIND_STRUCT && struct_field_at(rt, desc, &inner, ret) &&
	       inner == 0;
}

/* The word at OFF of a value of a leaf (non-aggregate) kind. */
static bool leaf_word(const struct gm_runtime *rt, uint64_t desc, unsigned kind, uint64_t off, uint64_t base,
		      struct gm_desc_word *ret)
{
	const struct gm_descriptor_layout *d = &rt->desc;
	uint64_t methods = 0;
	*ret = (struct gm_desc_word){ .target = 0 };
	switch (kind) {
	case KIND_POINTER:
		ret->kind = GM_DESC_POINTER;
		return off == 0 && (!rt->ptrtype_elem.present || read_field(rt, desc, rt->ptrtype_elem, &ret->target));
	case KIND_SLICE:
		ret->kind = GM_DESC_SLICE;
		return off == 0 && read_field(rt, desc, d->slice_elem, &ret->target);
	case KIND_STRING:
		ret->kind = GM_DESC_STRING;
		return off == 0;
	case KIND_INTERFACE:
		/* Methods is a slice: its len says whether the first word is an itab. */
		if (off != 8 || !d->iface_methods.present ||
		    !read_word(rt, desc + d->iface_methods.offset + 8, &methods))
			return false;
		ret->kind = methods ? GM_DESC_IFACE : GM_DESC_EFACE;
		ret->interface_off = base;
		return true;
	case KIND_FUNC:
		ret->kind = GM_DESC_FUNC;
		return off == 0;
	case KIND_CHAN:
		ret->kind = GM_DESC_CHAN;
		return off == 0 && read_field(rt, desc, d->chan_elem, &ret->target);
	case KIND_MAP:
		ret->kind = GM_DESC_MAP;
		ret->target = desc;
		return off == 0;
	default:
		return false;
	}
}

bool gm_desc_word_at(const struct gm_runtime *rt, uint64_t desc, uint64_t off, struct gm_desc_word *ret)
{
	uint64_t base = 0;   /* where the current value starts in the outermost one */
	uint64_t parent = 0, field_off = 0;   /* the struct the current value is a field of, and where */
	for (int depth = 0; depth < MAX_DEPTH; depth++) {
		struct gm_desc t;
		uint64_t inner = off, elem;
		if (!gm_desc_read(rt, desc, &t) || off >= t.size)
			return false;
		if (t.kind == KIND_STRUCT) {
			parent = desc;
			if (!struct_field_at(rt, desc, &inner, &desc))
				return false;
			field_off = off - inner;
		} else if (t.kind == KIND_ARRAY) {
			struct gm_desc e;
			if (!read_field(rt, desc, rt->desc.array_elem, &elem) || !gm_desc_read(rt, elem, &e) || !e.size)
				return false;
			inner = off % e.size;
			desc = elem;
		} else if (t.kind == KIND_UNSAFE_POINTER && off == 0 && parent &&
			   phantom_pointee(rt, parent, field_off, &ret->target)) {
			ret->kind = GM_DESC_POINTER;
			ret->interface_off = 0;
			return true;
		} else {
			return leaf_word(rt, desc, t.kind, off, base, ret);
		}
		base += off - inner;
		off = inner;
	}
	return false;
}
