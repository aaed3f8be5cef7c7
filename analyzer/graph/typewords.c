/* typewords: what a pointer word of a typed value points to, from DWARF
 * (a member's type, a slice's or string's counts, an interface's dynamic
 * type, a closure's captures, the runtime's and standard library's
 * unsafe.Pointer fields whose targets their code fixes) or, without DWARF,
 * from the runtime's type descriptors. */
#include <dwarf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../goruntime/code_types.h"
#include "../goruntime/heap.h"
#include "../program/program.h"
#include "descriptors.h"
#include "shape_names.h"
#include "typeinfer_internal.h"

/* The target code for *T given DIE T, with a slice's or string's counts. */
static uint64_t pointee_code(struct infer *in, Dwarf_Die *pointee, const struct gm_dwarf_slot *slot)
{
	uint32_t target = entry_for_die(in, pointee);
	uint64_t value = target == NO_ENTRY ? 0 : (uint64_t)target + 1;
	if (value && slot->counted && slot->count_delta > 0 && slot->count_delta <= DELTA_MASK && slot->len_delta > 0 &&
	    slot->len_delta <= DELTA_MASK)
		value |= TARGET_COUNTED | (uint64_t)slot->count_delta << 32 | (uint64_t)slot->len_delta << 44;
	return value;
}

/* unsafe.Pointer members whose target the standard library documents:
 * sync.Pool's local and victim ([localSize]poolLocal, [victimSize]poolLocal)
 * and, before Go 1.24's HashTrieMap, sync.Map's entry.p (*interface{}). */
static uint64_t unsafe_member_code(struct infer *in, const struct gm_dwarf_slot *slot, uint64_t off)
{
	static const struct {
		const char *parent, *member, *count_member, *target;
	} rules[] = {
		{ "sync.Pool", "local", "localSize", "sync.poolLocal" },
		{ "sync.Pool", "victim", "victimSize", "sync.poolLocal" },
		{ "sync.entry", "p", NULL, "interface {}" },
	};
	Dwarf_Die parent, member_type, target;
	const char *name;
	if (!slot->parent || !gm_dwarf_die_at(in->dw, slot->parent, &parent) || !(name = dwarf_diename(&parent)))
		return 0;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		uint64_t member_off, count_off;
		if (strcmp(name, rules[i].parent) != 0 || !gm_dwarf_member(&parent, rules[i].member, &member_off, &member_type) ||
		    member_off != off - slot->parent_off || !gm_dwarf_type(in->dw, rules[i].target, &target))
			continue;
		uint32_t entry = entry_for_die(in, &target);
		if (entry == NO_ENTRY)
			return 0;
		if (!rules[i].count_member)
			return (uint64_t)entry + 1;
		if (!gm_dwarf_member(&parent, rules[i].count_member, &count_off, &member_type) || count_off <= member_off ||
		    count_off - member_off > DELTA_MASK)
			return 0;
		/* The count is both cap and len: note_slice skips it. */
		return ((uint64_t)entry + 1) | TARGET_COUNTED | (count_off - member_off) << 32 | (count_off - member_off) << 44;
	}
	return 0;
}

/* sync.Pool's queues keep their values as sync.eface { typ, val
 * unsafe.Pointer } (poolqueue.go), an empty interface's own layout: val is
 * typed by typ as an interface's data word is. */
static uint64_t eface_member_code(struct infer *in, const struct gm_dwarf_slot *slot, uint64_t off)
{
	Dwarf_Die parent, member_type;
	const char *name;
	uint64_t typ_off, val_off;
	if (!slot->parent || !gm_dwarf_die_at(in->dw, slot->parent, &parent) || !(name = dwarf_diename(&parent)) ||
	    strcmp(name, "sync.eface") != 0 || !gm_dwarf_member(&parent, "typ", &typ_off, &member_type) ||
	    !gm_dwarf_member(&parent, "val", &val_off, &member_type) || val_off != typ_off + 8 ||
	    val_off != off - slot->parent_off)
		return 0;
	return TARGET_EFACE | (slot->parent_off + typ_off);
}

/* The pointer word at OFF is member POINTER of its struct, and member
 * COUNT follows it: the code for its pointee with FLAG and the count's
 * distance from the pointer in bits 32..43; 0 if the word is not that. */
static uint64_t counted_member_code(struct infer *in, const struct gm_dwarf_slot *slot, uint64_t off,
				    const char *pointer, const char *count, uint64_t flag)
{
	Dwarf_Die parent, pointer_type, count_type, pointee;
	uint64_t pointer_off, count_off;
	if (!slot->parent || !gm_dwarf_die_at(in->dw, slot->parent, &parent) ||
	    !gm_dwarf_member(&parent, pointer, &pointer_off, &pointer_type) || pointer_off != off - slot->parent_off ||
	    !gm_dwarf_member(&parent, count, &count_off, &count_type) || count_off <= pointer_off ||
	    count_off - pointer_off > DELTA_MASK || !gm_dwarf_pointee(&pointer_type, &pointee))
		return 0;
	uint32_t entry = entry_for_die(in, &pointee);
	return entry == NO_ENTRY ? 0 : ((uint64_t)entry + 1) | flag | (count_off - pointer_off) << 32;
}

/* Swiss maps (Go 1.24+): a map's dirPtr, which DWARF types **table<K,V>
 * whatever dirLen says (TARGET_MAPDIR), and a table's groups.data
 * (TARGET_MASKED). */
static uint64_t swiss_map_code(struct infer *in, const struct gm_dwarf_slot *slot, uint64_t off)
{
	uint64_t code = counted_member_code(in, slot, off, "dirPtr", "dirLen", TARGET_MAPDIR);
	return code ? code : counted_member_code(in, slot, off, "data", "lengthMask", TARGET_MASKED);
}

/* What the pointer word at OFF in a value of TYPE points to, as a target
 * code: entry + 1 for a *T (with TARGET_COUNTED for slice and string data),
 * TARGET_IFACE/EFACE + the interface's offset for an interface's data word,
 * TARGET_CLOSURE for a func value; 0 if unknown. */
uint64_t word_code(struct infer *in, Dwarf_Die *type, uint64_t off)
{
	Dwarf_Die pointee;
	struct gm_dwarf_slot slot;
	if (!gm_dwarf_slot_at(in->dw, type, off, &slot))
		return 0;
	if (slot.in_interface)
		return off == slot.interface_off + 8 ? (slot.iface ? TARGET_IFACE : TARGET_EFACE) | slot.interface_off : 0;
	uint64_t map_code = swiss_map_code(in, &slot, off);
	if (map_code)
		return map_code;
	if (gm_dwarf_pointee(&slot.leaf, &pointee) || gm_dwarf_phantom_pointee(in->dw, slot.parent, &pointee))
		return pointee_code(in, &pointee, &slot);
	if (gm_dwarf_underlying_kind(&slot.leaf) == KIND_FUNC)
		return TARGET_CLOSURE;
	uint64_t eface = eface_member_code(in, &slot, off);
	return eface ? eface : unsafe_member_code(in, &slot, off);
}

/* The entry of string bytes without DWARF: uint8, made once. */
static uint32_t byte_entry(struct infer *in)
{
	if (in->byte_entry == NO_ENTRY) {
		struct gm_type_entry e = { .name = strdup("uint8"), .kind = "uint8", .size = 1, .elem = NO_ENTRY };
		in->byte_entry = add_made_entry(in, &e);
	}
	return in->byte_entry;
}

/* word_code from runtime descriptors (no DWARF): the same target codes. */
uint64_t descriptor_word_code(struct infer *in, uint64_t desc, uint64_t off)
{
	struct gm_desc_word w;
	uint32_t target;
	if (!gm_desc_word_at(in->heap->rt, desc, off, &w))
		return 0;
	switch (w.kind) {
	case GM_DESC_POINTER:
		target = w.target ? entry_for_runtime(in, w.target) : NO_ENTRY;
		return target == NO_ENTRY ? 0 : (uint64_t)target + 1;
	case GM_DESC_SLICE:   /* len 8 bytes after the pointer, cap 16 */
		target = entry_for_runtime(in, w.target);
		return target == NO_ENTRY ? 0 : ((uint64_t)target + 1) | TARGET_COUNTED | 16ull << 32 | 8ull << 44;
	case GM_DESC_STRING:  /* len 8 bytes after the pointer: count and len */
		target = byte_entry(in);
		return target == NO_ENTRY ? 0 : ((uint64_t)target + 1) | TARGET_COUNTED | 8ull << 32 | 8ull << 44;
	case GM_DESC_IFACE:
		return TARGET_IFACE | w.interface_off;
	case GM_DESC_EFACE:
		return TARGET_EFACE | w.interface_off;
	case GM_DESC_FUNC:
		return TARGET_CLOSURE;
	case GM_DESC_CHAN:
		target = chan_entry(in, w.target);
		return target == NO_ENTRY ? 0 : (uint64_t)target + 1;
	case GM_DESC_MAP:
		target = map_entry(in, w.target);
		return target == NO_ENTRY ? 0 : (uint64_t)target + 1;
	default:
		return 0;
	}
}

/* The word at WORD (link-time) as a sync.Pool's local or victim, the pool
 * found by the code (GM_CODE_POOL): [count]poolLocal, the count in the
 * size word after it (both len and cap); 0 if it is no pool's. */
static uint64_t pool_word_code(struct infer *in, uint64_t word, char **ret_type_name)
{
	const struct gm_descriptor_layout *d = &in->heap->rt->desc;
	const struct gm_field arrays[2] = { d->pool_local, d->pool_victim }, sizes[2] = { d->pool_local_size,
											 d->pool_victim_size };
	for (int i = 0; i < 2; i++) {
		if (!arrays[i].present || !sizes[i].present || sizes[i].offset <= arrays[i].offset ||
		    sizes[i].offset - arrays[i].offset > DELTA_MASK || word < arrays[i].offset)
			continue;
		const struct gm_code_type *pool = gm_code_type_of(in->code_types, word - arrays[i].offset);
		uint32_t local = pool && pool->kind == GM_CODE_POOL
					 ? entry_for_runtime(in, pool->desc + in->heap->rt->prog->bias)
					 : NO_ENTRY;
		if (local == NO_ENTRY)
			continue;
		if (!*ret_type_name)
			*ret_type_name = strdup("unsafe.Pointer");
		uint64_t delta = sizes[i].offset - arrays[i].offset;
		return ((uint64_t)local + 1) | TARGET_COUNTED | delta << 32 | delta << 44;
	}
	return 0;
}

static uint64_t fact_code(struct infer *in, uint64_t desc, enum gm_code_type_kind kind, uint64_t count,
			  char **ret_type_name);

static bool module_descriptor(const struct infer *in, uint64_t addr)
{
	return addr >= in->heap->moduledata_types && addr < in->heap->moduledata_etypes;
}

/* A non-empty interface's data word the code does not show (the value a
 * call returned): the word before it holds an itab, a descriptor-area
 * address whose first word is an interface type's descriptor (ITab.Inter)
 * and whose type word another descriptor. */
static uint64_t itab_data_word_code(struct infer *in, uint64_t word_addr)
{
	const struct gm_runtime *rt = in->heap->rt;
	uint64_t itab, inter, typ;
	struct gm_desc d;
	if (!in->have_itab || !gm_try_read_u64(rt->prog->mem, word_addr - 8, &itab) || !module_descriptor(in, itab) ||
	    !gm_try_read_u64(rt->prog->mem, itab, &inter) || !module_descriptor(in, inter) ||
	    !gm_try_read_u64(rt->prog->mem, itab + in->itab_type_offset, &typ) || !module_descriptor(in, typ) ||
	    !gm_desc_read(rt, inter, &d) || d.kind != KIND_INTERFACE || !gm_desc_read(rt, typ, &d))
		return 0;
	return TARGET_IFACE;
}

uint64_t global_word_code(struct infer *in, uint64_t word_addr, char **ret_type_name)
{
	uint64_t bias = in->heap->rt->prog->bias;
	const struct gm_code_type *fact = in->code_types ? gm_code_type_of(in->code_types, word_addr - bias) : NULL;
	/* A word inside a pool or a sync.Map the code found at the word or before it. */
	if (in->code_types && (!fact || !gm_code_type_is_value(fact->kind))) {
		uint64_t code = pool_word_code(in, word_addr - bias, ret_type_name);
		if (!code)
			code = trie_word_code(in, word_addr, ret_type_name);
		if (!code)
			code = sync_map_word_code(in, word_addr, ret_type_name);
		if (code)
			return code;
	}
	if (!fact || !gm_code_type_is_value(fact->kind))
		return itab_data_word_code(in, word_addr);
	/* A slice literal grown by append: the literal's array is of the same E. */
	uint64_t elem, len;
	if (fact->kind == GM_CODE_SLICE_OF && fact->literal &&
	    (!gm_desc_array(in->heap->rt, fact->literal + bias, &elem, &len) || elem != fact->desc + bias))
		return 0;
	return fact_code(in, fact->desc + bias, fact->kind, fact->count, ret_type_name);
}

uint64_t frame_word_code(struct infer *in, uint64_t pc, int64_t off, char **ret_type_name)
{
	uint64_t bias = in->heap->rt->prog->bias;
	const struct gm_code_frame_slot *slot = in->code_types ? gm_code_frame_slot_at(in->code_types, pc - bias, off)
							       : NULL;
	uint64_t first, code;
	struct gm_desc d;
	char *unnamed = NULL;
	if (!slot)
		return 0;
	/* &new(T).f, f T's first field, is the same address: a local declared
	 * *F may hold it (gcBgMarkWorker's node, a field of a padded node).
	 * Where F is a struct or an array the slot's type is not known; the
	 * object it points to is still the T new made. */
	if (slot->kind == GM_CODE_POINTS_TO && gm_desc_field_type(in->heap->rt, slot->desc + bias, 0, &first) &&
	    gm_desc_read(in->heap->rt, first, &d) && d.size && (d.kind == KIND_STRUCT || d.kind == KIND_ARRAY)) {
		code = fact_code(in, slot->desc + bias, slot->kind, 0, &unnamed);
		free(unnamed);
		return code;
	}
	return fact_code(in, slot->desc + bias, slot->kind, 0, ret_type_name);
}

/* The word code of a word the code shows holds a value KIND of the type at
 * DESC (COUNT: a slice literal's length), and the word's type in
 * *RET_TYPE_NAME if unset; 0 if it types nothing. */
static uint64_t fact_code(struct infer *in, uint64_t desc, enum gm_code_type_kind kind, uint64_t count,
			  char **ret_type_name)
{
	struct gm_desc d;
	uint64_t elem, len;
	if (!gm_desc_read(in->heap->rt, desc, &d))
		return 0;
	/* A slice literal's data word: new made its [count]E, a []E's array. */
	if (kind == GM_CODE_ARRAY_SLICE) {
		if (!gm_desc_array(in->heap->rt, desc, &elem, &len) || len != count || !gm_desc_read(in->heap->rt, elem, &d))
			return 0;
		desc = elem;
	}
	uint32_t type = entry_for_runtime(in, desc);
	bool holds = kind == GM_CODE_HOLDS, points = kind == GM_CODE_POINTS_TO;
	/* A generic function may allocate with its shape's descriptor
	 * (new(HashTrieMap[go.shape.*T, ...])): the word's type is the real
	 * instantiation's, which the code does not name.  A struct literal's
	 * type has no other name (sync.OnceValue's state, the closures
	 * capturing it: DWARF spells them with the shape too). */
	if (type != NO_ENTRY && strstr(in->t->entries[type].name, "go.shape.") &&
	    strncmp(in->t->entries[type].name, "struct {", 8) != 0)
		return 0;
	/* new([n]T) stored into a word otherwise is a slice's array too
	 * (replaced when the slice grows), unless the array type has a name of
	 * its own (crc32.Table): a slice's never does.  A method value or
	 * closure, new(struct { F uintptr; ... }), is a func value, typed by
	 * the function it calls. */
	if (type == NO_ENTRY || (holds && d.kind != KIND_MAP && d.kind != KIND_CHAN) ||
	    (points && d.kind == KIND_ARRAY && in->t->entries[type].name[0] == '['))
		return 0;
	if (points && strncmp(in->t->entries[type].name, "struct { F uintptr", 18) == 0)
		return TARGET_CLOSURE;
	/* A slice's data word: the word's type is *E, as DWARF types a slice's array member. */
	if (!*ret_type_name && asprintf(ret_type_name, "%s%s", holds ? "" : "*", in->t->entries[type].name) < 0)
		*ret_type_name = NULL;
	if (holds)
		return descriptor_word_code(in, desc, 0);
	if (points)
		return (uint64_t)type + 1;
	return ((uint64_t)type + 1) | TARGET_COUNTED | 16ull << 32 | 8ull << 44;   /* cap, len after the pointer */
}

/* The receiver type of the method value wrapper named NAME ("PKG.T.M-fm"
 * or "PKG.(*T).M-fm"): the compiler names the wrapper after the type of
 * the receiver expression and stores that value right after the code
 * pointer (cmd/compile/internal/walk/closure.go, methodValueWrapper and
 * methodValueType: struct { F uintptr; R T }).  False for another name. */
static bool method_value_receiver(struct infer *in, const char *name, Dwarf_Die *ret)
{
	size_t len = strlen(name);
	if (len < 4 || strcmp(name + len - 3, "-fm") != 0)
		return false;
	/* The method's name follows the last '.' outside brackets (type
	 * arguments hold dots of their own). */
	size_t dot = 0, depth = 0;
	for (size_t i = 0; i < len - 3; i++) {
		if (name[i] == '[')
			depth++;
		else if (name[i] == ']' && depth)
			depth--;
		else if (name[i] == '.' && !depth)
			dot = i;
	}
	if (!dot)
		return false;
	char recv[512];
	const char *paren = memchr(name, '(', dot);
	int n;
	if (paren && paren[1] == '*' && dot > 0 && name[dot - 1] == ')')  /* PKG.(*T) -> *PKG.T */
		n = snprintf(recv, sizeof(recv), "*%.*s%.*s", (int)(paren - name), name,
			     (int)(dot - 1 - (size_t)(paren + 2 - name)), paren + 2);
	else
		n = snprintf(recv, sizeof(recv), "%.*s", (int)dot, name);
	return n > 0 && (size_t)n < sizeof(recv) && gm_dwarf_type(in->dw, recv, ret);
}

/* word_code for the word at OFF of a closure of the function SUBPROGRAM:
 * the captured variable there (DW_AT_go_closure_offset, Go 1.23+) gives
 * its type; before 1.23 DWARF does not lay closures out, except a method
 * value's, whose layout the compiler fixes (method_value_receiver). */
static uint64_t closure_word_code(struct infer *in, Dwarf_Off subprogram, uint64_t off)
{
	Dwarf_Die fn, child, type;
	Dwarf_Attribute attr;
	Dwarf_Word start;
	uint64_t size;
	const char *name;
	if (!gm_dwarf_die_at(in->dw, subprogram, &fn))
		return 0;
	if (dwarf_child(&fn, &child) == 0) {
		do {
			if (dwarf_tag(&child) == DW_TAG_variable &&
			    dwarf_attr(&child, GM_DW_AT_go_closure_offset, &attr) &&
			    dwarf_formudata(&attr, &start) == 0 && off >= start && dwarf_attr(&child, DW_AT_type, &attr) &&
			    dwarf_formref_die(&attr, &type) && gm_dwarf_type_size(&type, &size) && off - start < size)
				return word_code(in, &type, off - start);
		} while (dwarf_siblingof(&child, &child) == 0);
	}
	uint64_t ptr = in->heap->rt->ptr_size;
	if ((name = dwarf_diename(&fn)) && off >= ptr && method_value_receiver(in, name, &type) &&
	    gm_dwarf_type_size(&type, &size) && off - ptr < size)
		return word_code(in, &type, off - ptr);
	return 0;
}

/* eface_member_code without DWARF: a sync.eface's val word, by the
 * runtime's name for the struct and the layout table's offsets. */
static uint64_t descriptor_eface_code(struct infer *in, uint32_t entry, uint64_t off)
{
	const struct gm_descriptor_layout *d = &in->heap->rt->desc;
	if (strcmp(in->t->entries[entry].name, "sync.eface") != 0 || !d->eface_typ.present || !d->eface_val.present ||
	    d->eface_val.offset != d->eface_typ.offset + 8 || off != d->eface_val.offset)
		return 0;
	return TARGET_EFACE | d->eface_typ.offset;
}

/* A classic map bucket's overflow word without DWARF: the compiler types it
 * unsafe.Pointer when the bucket holds pointers (reflectdata's
 * MapBucketType), DWARF's bucket<K,V> as *bucket<K,V>; the runtime reads it
 * as the bucket's last word, a *bmap of the same map (map.go,
 * bmap.overflow: BucketSize - PtrSize). */
static uint64_t descriptor_overflow_code(struct infer *in, uint32_t entry, uint64_t off)
{
	const struct gm_type_entry *e = &in->t->entries[entry];
	uint64_t ptr = in->heap->rt->ptr_size;
	if (strncmp(e->name, "map.bucket[", 11) != 0 || e->size < ptr || off != e->size - ptr)
		return 0;
	return (uint64_t)entry + 1;
}

/* word_code for a value of ENTRY's type, cached per (entry, offset). */
uint64_t slot_target(struct infer *in, uint32_t entry, uint64_t off)
{
	uint64_t key = (uint64_t)entry << 32 | (off & 0xffffffffu), value = 0;
	if (gm_u64_map_find(&in->slot_cache, key, &value))
		return value;
	Dwarf_Die type;
	const struct gm_type_entry *e = &in->t->entries[entry];
	uint64_t subprogram, captures;
	if (e->die && gm_dwarf_die_at(in->dw, e->die, &type))
		value = word_code(in, &type, off);
	else if (gm_u64_map_find(&in->closure_funcs, entry, &subprogram))
		value = closure_word_code(in, subprogram, off);
	else if (gm_u64_map_find(&in->closure_descs, entry, &captures))
		value = descriptor_word_code(in, captures, off);
	else if (!in->dw && e->runtime_addr) {
		value = descriptor_word_code(in, e->runtime_addr, off);
		if (!value)
			value = descriptor_eface_code(in, entry, off);
		if (!value)
			value = descriptor_overflow_code(in, entry, off);
	} else if (!in->dw) {
		value = made_word_code(in, entry, off);
	}
	gm_u64_map_insert(&in->slot_cache, key, value);
	return value;
}

/* Whether values of the type at DESC sit in an interface's data word
 * themselves (abi.Type.IsDirectIface): pointers, maps, channels, funcs and
 * structs or arrays of one pointer.  Where the binding lacks the flag, only
 * the kinds that always are. */
static bool direct_iface(const struct gm_runtime *rt, const uint8_t *desc, unsigned kind)
{
	if (rt->tflag_direct_iface)
		return gm_field_uint(desc, rt->type.tflag) & rt->tflag_direct_iface;
	if (rt->kind_direct_iface)
		return gm_field_uint(desc, rt->type.kind) & rt->kind_direct_iface;
	return kind == KIND_POINTER || kind == KIND_MAP || kind == KIND_CHAN || kind == KIND_FUNC ||
	       kind == KIND_UNSAFE_POINTER;
}

/* A map or channel stored in an interface: its data word is the map or
 * channel pointer, so the target is what DWARF's map or chan type points
 * at (the map header, hchan<T>), or without DWARF the one made like it. */
static uint32_t header_of(struct infer *in, uint64_t rtype)
{
	if (!in->dw) {
		uint64_t code = descriptor_word_code(in, rtype, 0);
		return code && !(code & ~0xffffffffull) ? (uint32_t)code - 1 : NO_ENTRY;
	}
	uint32_t entry = entry_for_runtime(in, rtype);
	Dwarf_Die die, pointee;
	if (entry == NO_ENTRY || !in->t->entries[entry].die || !gm_dwarf_die_at(in->dw, in->t->entries[entry].die, &die) ||
	    !gm_dwarf_pointee(&die, &pointee))
		return NO_ENTRY;
	return entry_for_die(in, &pointee);
}

/* The type of the value an interface's data word points to: the dynamic
 * type, or for a type stored directly in the word what that value points
 * to (*T: T; a map or channel: its header; a func: CLOSURE_TARGET); NO_ENTRY
 * when unknown (a struct or array of one pointer, unsafe.Pointer). */
uint32_t interface_target(struct infer *in, uint64_t type_word_addr, bool iface)
{
	struct gm_address_space *mem = in->heap->rt->prog->mem;
	const struct gm_runtime *rt = in->heap->rt;
	uint64_t word, rtype;
	if (!gm_try_read_u64(mem, type_word_addr, &word) || !word)
		return NO_ENTRY;
	rtype = word;
	if (iface && (!in->have_itab || !gm_try_read_u64(mem, word + in->itab_type_offset, &rtype)))
		return NO_ENTRY;
	const uint8_t *desc = gm_memory_at(mem, rtype, rt->type.size);
	if (!desc)
		return NO_ENTRY;
	unsigned kind = (unsigned)(gm_field_uint(desc, rt->type.kind) & rt->kind_mask & 0x1f);
	if (!direct_iface(rt, desc, kind))
		return entry_for_runtime(in, rtype);
	if (kind == KIND_MAP || kind == KIND_CHAN)
		return header_of(in, rtype);
	if (kind == KIND_FUNC)
		return CLOSURE_TARGET;
	if (kind != KIND_POINTER)
		return NO_ENTRY;
	/* The data word is the pointer, its target a value of the
	 * descriptor's element type (abi.PtrType.Elem), which DWARF knows
	 * even when it has no entry for the pointer type itself. */
	uint64_t elem;
	if (in->have_ptr_elem && gm_try_read_u64(mem, rtype + in->ptr_elem_offset, &elem) && elem)
		return entry_for_runtime(in, elem);
	return header_of(in, rtype);
}

/* A channel's buffer: hchan<T> (DWARF's synthesized channel type) keeps it
 * as unsafe.Pointer buf, with elemtype and dataqsiz beside it: the target
 * is [dataqsiz]elemtype. */
uint32_t chan_buffer(struct infer *in, uint32_t obj, uint32_t entry, uint64_t src_off)
{
	const struct gm_type_entry *e = &in->t->entries[entry];
	Dwarf_Die type, member;
	uint64_t buf_off, elemtype_off, qsize_off, elemtype, qsize;
	struct gm_address_space *mem = in->heap->rt->prog->mem;
	uint64_t base = in->heap->objects[obj].addr;
	const struct gm_descriptor_layout *d = &in->heap->rt->desc;
	if (strncmp(e->name, "hchan<", 6) != 0)
		return NO_ENTRY;
	if (!in->dw) {   /* the hchan<T> entries made from descriptors: runtime.hchan's binding */
		if (!d->hchan_buf.present || !d->hchan_elemtype.present || !d->hchan_dataqsiz.present)
			return NO_ENTRY;
		buf_off = d->hchan_buf.offset;
		elemtype_off = d->hchan_elemtype.offset;
		qsize_off = d->hchan_dataqsiz.offset;
	} else if (!gm_dwarf_die_at(in->dw, e->die, &type) || !gm_dwarf_member(&type, "buf", &buf_off, &member) ||
		   !gm_dwarf_member(&type, "elemtype", &elemtype_off, &member) ||
		   !gm_dwarf_member(&type, "dataqsiz", &qsize_off, &member)) {
		return NO_ENTRY;
	}
	if (buf_off != src_off || !gm_try_read_u64(mem, base + elemtype_off, &elemtype) ||
	    !gm_try_read_u64(mem, base + qsize_off, &qsize) || !qsize)
		return NO_ENTRY;
	uint32_t elem = entry_for_runtime(in, elemtype);
	return elem == NO_ENTRY ? NO_ENTRY : array_of(in, elem, qsize);
}

uint64_t name_hash(const char *s)
{
	uint64_t h = 14695981039346656037ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

/* The generic type REAL that DWARF lacks, laid out by its shape
 * instantiation (shape_names.h), under its own name; NO_ENTRY if DWARF has
 * no shape either. */
static uint32_t entry_by_shape(struct infer *in, const char *real)
{
	char shape[512];
	Dwarf_Die die;
	uint64_t hash = name_hash(real), index;
	if (gm_u64_map_find(&in->by_shape, hash, &index))
		return strcmp(in->t->entries[index].name, real) == 0 ? (uint32_t)index : NO_ENTRY;
	if (!gm_shape_name(real, shape, sizeof(shape)) || !gm_dwarf_type(in->dw, shape, &die))
		return NO_ENTRY;
	struct gm_type_entry e = { .name = strdup(real), .kind = "struct", .die = dwarf_dieoffset(&die),
				   .elem = NO_ENTRY };
	gm_dwarf_type_size(&die, &e.size);
	uint32_t ret = add_made_entry(in, &e);
	return ret == NO_ENTRY || gm_u64_map_insert(&in->by_shape, hash, ret) ? NO_ENTRY : ret;
}

/* internal/sync.HashTrieMap (sync.Map since Go 1.24; internal/concurrent's
 * in 1.23, for package unique; unique's own canonMap since 1.25) points at node[K,V], the header both of its
 * node kinds start with: the node's isEntry flag says whether it is an
 * entry[K,V] or an indirect[K,V].  A node DWARF names only by its shape
 * (go.shape.struct { ....isEntry bool }) says neither K nor V: NO_ENTRY. */
static const char *const node_packages[] = { "internal/sync.", "internal/concurrent.", "unique." };

/* The package of a HashTrieMap node type NAME (node_packages index), or -1. */
static int node_package(const char *name)
{
	for (int p = 0; p < 3; p++) {
		size_t len = strlen(node_packages[p]);
		if (strncmp(name, node_packages[p], len) == 0 && strncmp(name + len, "node[", 5) == 0)
			return p;
	}
	return -1;
}

/* A HashTrieMap node type as the runtime's descriptors name it (package
 * names, not paths: sync.node[K,V]), or as DWARF does. */
static bool runtime_node_name(const char *name)
{
	return strncmp(name, "sync.node[", 10) == 0 || strncmp(name, "concurrent.node[", 16) == 0 ||
	       node_package(name) >= 0;
}

uint32_t refine_node(struct infer *in, uint32_t entry, uint32_t obj)
{
	const char *name = in->t->entries[entry].name;
	Dwarf_Die type, member;
	uint64_t flag_off;
	uint8_t is_entry;
	char real[512];
	if (strncmp(name, "go.shape.struct { ", 18) == 0 && strstr(name, ".isEntry bool }"))
		return NO_ENTRY;
	/* Without DWARF, the runtime's name (sync.node[K,V]) says neither
	 * entry[K,V] nor indirect[K,V]: the flag and the descriptors the trie's
	 * dictionary names do (sync_map.c). */
	if (!in->dw)
		return runtime_node_name(name) ? refine_trie_node(in, entry, obj) : entry;
	int p = node_package(name);
	if (p < 0 || !gm_dwarf_die_at(in->dw, in->t->entries[entry].die, &type) ||
	    !gm_dwarf_member(&type, "isEntry", &flag_off, &member) ||
	    !gm_try_read(in->heap->rt->prog->mem, in->heap->objects[obj].addr +
			    gm_span_header_size(in->heap, &in->heap->spans[in->heap->objects[obj].span]) + flag_off,
		    &is_entry, 1))
		return entry;
	snprintf(real, sizeof(real), "%s%s[%s", node_packages[p], is_entry ? "entry" : "indirect",
		 name + strlen(node_packages[p]) + 5);
	if (gm_dwarf_type(in->dw, real, &type))
		return entry_for_die(in, &type);
	uint32_t shaped = entry_by_shape(in, real);
	return shaped != NO_ENTRY ? shaped : entry;
}

bool refine_may_apply(const char *name)
{
	return strncmp(name, "go.shape.struct { ", 18) == 0 || runtime_node_name(name) ||
	       strcmp(name, "time.Timer") == 0 || strcmp(name, "time.Ticker") == 0 ||
	       strcmp(name, "runtime.hchan") == 0;
}

/* Go 1.23+: time.NewTimer and NewTicker return a runtime.timeTimer cast
 * to *time.Timer / *time.Ticker (runtime/time.go newTimer allocates
 * new(timeTimer)): what such a pointer points at is that. */
uint32_t refine_timer(struct infer *in, uint32_t entry)
{
	const char *name = in->t->entries[entry].name;
	Dwarf_Die type;
	if ((strcmp(name, "time.Timer") != 0 && strcmp(name, "time.Ticker") != 0) || !in->dw ||
	    !gm_dwarf_type(in->dw, "runtime.timeTimer", &type))
		return entry;
	uint32_t timer = entry_for_die(in, &type);
	return timer != NO_ENTRY ? timer : entry;
}
