/* descriptors: what a word inside a value of a program type is, read from
 * the type's runtime descriptor (internal/abi.Type and its kind-specific
 * extension: StructType's fields, ArrayType's element and length, PtrType's,
 * SliceType's and ChanType's element, InterfaceType's methods), for
 * executables without DWARF.  The descriptors are the runtime's own: every
 * type a heap object can have has one, with field offsets and element types
 * exactly as the compiler laid them out.
 */
#ifndef GOMORTEM_DESCRIPTORS_H
#define GOMORTEM_DESCRIPTORS_H

#include <stdbool.h>
#include <stdint.h>

struct gm_runtime;

enum gm_desc_word_kind {
	GM_DESC_POINTER,     /* *T: target is T's descriptor */
	GM_DESC_SLICE,       /* a slice's data pointer: target is the element's descriptor */
	GM_DESC_STRING,      /* a string's data pointer: bytes */
	GM_DESC_IFACE,       /* an interface's data word: with methods (itab) */
	GM_DESC_EFACE,       /* ... without methods (type word) */
	GM_DESC_FUNC,        /* a func value: a closure */
	GM_DESC_CHAN,        /* a chan: target is the element's descriptor */
	GM_DESC_MAP,         /* a map: target is the map type's descriptor */
};

struct gm_desc_word {
	enum gm_desc_word_kind kind;
	uint64_t target;         /* see the kinds; 0 if the descriptor has none */
	uint64_t interface_off;  /* IFACE/EFACE: where the interface value starts */
};

/* The basics of the descriptor at DESC; false if unreadable. */
struct gm_desc {
	uint64_t size, ptr_bytes;
	unsigned kind;           /* abi.Kind, flags masked off */
};
bool gm_desc_read(const struct gm_runtime *rt, uint64_t desc, struct gm_desc *ret);

/* The element's descriptor and the length of the array type at DESC;
 * false if DESC is no array. */
bool gm_desc_array(const struct gm_runtime *rt, uint64_t desc, uint64_t *ret_elem, uint64_t *ret_len);

/* The descriptor of the field that starts at byte OFF of the struct type at
 * DESC, in *RET; false if DESC is no struct or no field starts there. */
bool gm_desc_field_type(const struct gm_runtime *rt, uint64_t desc, uint64_t off, uint64_t *ret);

/* What the pointer word at OFF of a value of the type at DESC is; false if
 * it is no pointer the descriptors explain (unsafe.Pointer, an interface's
 * type word, a word outside every field). */
bool gm_desc_word_at(const struct gm_runtime *rt, uint64_t desc, uint64_t off, struct gm_desc_word *ret);

#endif
