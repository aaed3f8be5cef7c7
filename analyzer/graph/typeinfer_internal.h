/* Internals shared by typeinfer.c (the registry, seeds and the spread) and
 * typewords.c (what a pointer word of a typed value points to). */
#ifndef GOMORTEM_TYPEINFER_INTERNAL_H
#define GOMORTEM_TYPEINFER_INTERNAL_H

#include <elfutils/libdw.h>
#include <stdbool.h>
#include <stdint.h>

#include "../../dwarf/dwarf_index.h"
#include "../util/u64_map.h"
#include "typeinfer.h"

struct gm_heap;
struct gm_graph;
struct gm_code_types;

#define NO_ENTRY UINT32_MAX

/* internal/abi Kinds (stable 1.20-1.26). */
#define KIND_ARRAY 17
#define KIND_CHAN 18
#define KIND_FUNC 19
#define KIND_INTERFACE 20
#define KIND_MAP 21
#define KIND_POINTER 22
#define KIND_STRUCT 25
#define KIND_UNSAFE_POINTER 26
/* interface_target's answer for a func value: the target is a closure. */
#define CLOSURE_TARGET (UINT32_MAX - 1)

struct infer {
	struct gm_types *t;
	struct gm_heap *heap;
	const struct gm_graph *graph;
	struct gm_dwarf *dw;
	struct gm_pclntab *pclntab;     /* names closures' functions without .symtab; may be NULL */
	struct gm_code_types *code_types; /* without DWARF: globals' types from the code; may be NULL */
	uint32_t *queue;
	size_t head, tail;
	uint64_t itab_type_offset;      /* itab.Type (abi.ITab 1.23+, runtime.itab before) */
	bool have_itab;
	uint64_t ptr_elem_offset;       /* abi.PtrType.Elem (runtime.ptrtype.elem in 1.20) */
	bool have_ptr_elem;
	/* (entry, offset) -> what a pointer word there points to, cached:
	 * value = target entry + 1 for *T; TARGET_IFACE/TARGET_EFACE + data offset; 0 = nothing. */
	struct gm_u64_map slot_cache;
	uint64_t *noted_slices;          /* one bit per object: already in t->slices */
	uint64_t *retyped;               /* one bit per object: retyped as the struct it starts (assign) */
	struct gm_u64_map closures;      /* function entry pc -> its closure entry */
	/* Without DWARF (made_types.c): MADE_* << 56 | descriptor -> the entry
	 * made from it, and back; the byte entry of strings. */
	struct gm_u64_map made_by_desc, made_layouts;
	uint32_t byte_entry;
	struct gm_u64_map by_shape;      /* hash of a real generic name -> its entry laid out by its shape */
	/* Without DWARF: hash of a runtime type name -> the descriptor a
	 * HashTrieMap's dictionary names by it, or the code passes to new
	 * (UINT64_MAX if two of one name are). */
	struct gm_u64_map desc_by_name;
	struct gm_u64_map trie_indirect; /* a trie global's address -> its indirect[K,V]'s descriptor */
	struct gm_u64_map closure_funcs; /* closure entry -> its function's DW_TAG_subprogram */
	struct gm_u64_map closure_descs; /* without DWARF: closure entry -> the struct descriptor its
					  * captures are laid out in (code_types' GM_CODE_CLOSURE) */
	/* Per span, what types_target asks on every edge, packed small enough
	 * to stay in cache (the spans themselves are 96 bytes each). */
	uint8_t *span_flags;
	uint64_t *span_room;            /* per span: data size of its objects */
	uint64_t *level_bits;           /* sort_level's bitmap, one bit per object */
	/* Per entry: 0 not asked yet, 1 no refine_* rule names it, 2 one may
	 * (refine_may_apply), so that a pointer's target is not matched
	 * against the rules' names on every edge. */
	uint8_t *refinable;
	size_t refinable_cap;
};

#define SPAN_TINY 1u        /* a tiny-allocator block span */
#define SPAN_HEADER 2u      /* its objects start with a malloc header */

#define TARGET_EFACE (1ull << 62)
#define TARGET_IFACE (1ull << 61)
/* For a slice's or string's data pointer: bit 60 set, the count word's
 * offset from the pointer in bits 32..43, the len word's in bits 44..55,
 * the element entry + 1 below. */
#define TARGET_COUNTED (1ull << 60)
#define DELTA_MASK 0xfffu
/* A func value's word: the target is a closure (funcval), named by the
 * function its first word enters. */
#define TARGET_CLOSURE (1ull << 59)
/* A Swiss map's dirPtr (Go 1.24+): entry + 1 of *table<K,V>, the dirLen
 * word's offset from it in bits 32..43.  dirLen 0 means a small map whose
 * dirPtr points at its one group; else at [dirLen]*table<K,V>. */
#define TARGET_MAPDIR (1ull << 58)
/* A Swiss map table's groups.data: entry + 1 of the group type, the
 * lengthMask word's offset from it in bits 32..43; the target is
 * [lengthMask + 1]group (a power of two; the allocation may be larger). */
#define TARGET_MASKED (1ull << 57)

/* typeregistry.c: registry entries, made on first use (NO_ENTRY if out of memory). */
struct gm_error *add_entry(struct gm_types *t, const struct gm_type_entry *e, uint32_t *ret);
uint32_t entry_for_die(struct infer *in, Dwarf_Die *die_in);
uint32_t entry_for_runtime(struct infer *in, uint64_t addr);
uint32_t add_made_entry(struct infer *in, struct gm_type_entry *e);
uint32_t array_of(struct infer *in, uint32_t elem, uint64_t count);

/* typeinfer.c: typing objects.  FIT: ELEM, or [n]ELEM when OBJ holds n >= 2
 * of them; ASSIGN_FITTING: type DST as ENTRY unless it cannot fit; APPLY_CODE:
 * type DST, which the word at WORD_ADDR points into at DST_OFF, from the
 * word's target code; TYPES_TARGET: whether a pointer to DST at DST_OFF
 * can type it (it points at the data start, or into a tiny block). */
uint32_t fit(struct infer *in, uint32_t elem, uint32_t obj);
void assign_fitting(struct infer *in, uint32_t dst, uint32_t entry);
void apply_code(struct infer *in, uint64_t code, uint64_t word_addr, uint32_t dst, uint32_t dst_off);
bool types_target(const struct infer *in, uint32_t dst, uint32_t dst_off);

/* runtime_objects.c: without DWARF, seed the runtime's own objects whose
 * type the runtime fixes (allgs' goroutines, m0 and g0's pointer words). */
struct gm_roots;
void seed_runtime_objects(struct infer *in, const struct gm_roots *roots);

/* typewords.c: what the pointer word at OFF of a value of TYPE (DWARF)
 * or registry ENTRY points to, as a target code (TARGET_*, entry + 1);
 * 0 if unknown. */
uint64_t word_code(struct infer *in, Dwarf_Die *type, uint64_t off);
uint64_t slot_target(struct infer *in, uint32_t entry, uint64_t off);
/* word_code from the runtime descriptor at DESC (no DWARF). */
uint64_t descriptor_word_code(struct infer *in, uint64_t desc, uint64_t off);
/* Without DWARF: what the global word at WORD_ADDR points to, from the
 * code's facts about it (code_types.h); 0 if none.  *RET_TYPE_NAME, if
 * NULL, gets the word's type as Go spells it (malloc'd). */
uint64_t global_word_code(struct infer *in, uint64_t word_addr, char **ret_type_name);
/* The same for the stack slot at OFF from SP of a frame waiting in the
 * call that returns to PC (code_types' frame slots). */
uint64_t frame_word_code(struct infer *in, uint64_t pc, int64_t off, char **ret_type_name);
/* The target type of an interface whose type word (itab if IFACE) is at
 * TYPE_WORD_ADDR: an entry, CLOSURE_TARGET or NO_ENTRY. */
uint32_t interface_target(struct infer *in, uint64_t type_word_addr, bool iface);
/* [dataqsiz]elemtype for the buf word at SRC_OFF of channel OBJ (hchan<T>
 * ENTRY); NO_ENTRY otherwise. */
uint32_t chan_buffer(struct infer *in, uint32_t obj, uint32_t entry, uint64_t src_off);

/* made_types.c: without DWARF, the entries DWARF synthesizes for channels
 * and maps, made from a descriptor: hchan<T> from the element's, map<K,V>
 * (or hash<K,V>) and the table<K,V> and *table<K,V> under it from the map
 * type's. */
enum made_kind { MADE_NONE, MADE_CHAN, MADE_MAP, MADE_TABLE_PTR, MADE_TABLE, MADE_HASH };
uint32_t chan_entry(struct infer *in, uint64_t elem_desc);
uint32_t map_entry(struct infer *in, uint64_t map_desc);
/* Whether ENTRY is one of those (its words then come from made_word_code). */
bool made_layout(const struct infer *in, uint32_t entry);
/* What the pointer word at OFF of a made ENTRY points to, as word_code says; 0 if unknown. */
uint64_t made_word_code(struct infer *in, uint32_t entry, uint64_t off);
/* The group entry of a Swiss map whose *table<K,V> entry is TABLE_PTR (a
 * small map's dirPtr points at one group); NO_ENTRY if unknown. */
uint32_t made_map_group(struct infer *in, uint32_t table_ptr);

/* The entry a pointer to ENTRY really types in OBJ: a HashTrieMap node's
 * entry[K,V] or indirect[K,V] (NO_ENTRY when DWARF names the node only by
 * its shape), a *time.Timer's runtime.timeTimer; else ENTRY. */
uint32_t refine_node(struct infer *in, uint32_t entry, uint32_t obj);
/* FNV-1a of the string S (a type name's key in the maps above). */
uint64_t name_hash(const char *s);
/* Without DWARF (sync_map.c): learn the descriptors the code passes to
 * new and those the dictionaries of the HashTrieMaps it found name
 * (desc_by_name, trie_indirect). */
void learn_code_descriptors(struct infer *in);
/* The descriptor learned under the runtime name NAME; 0 if none or two. */
uint64_t descriptor_named(struct infer *in, const char *name);
/* The word at WORD_ADDR as such a map's root; 0 if it is none. */
uint64_t trie_word_code(struct infer *in, uint64_t word_addr, char **ret_type_name);
/* The word at WORD_ADDR as a sync.Map's read or dirty word (before 1.24); 0 if none. */
uint64_t sync_map_word_code(struct infer *in, uint64_t word_addr, char **ret_type_name);
/* A sync.node[K,V] object OBJ as the entry[K,V] or indirect[K,V] its isEntry
 * flag says; NO_ENTRY if ENTRY is no such node or the descriptor is unknown. */
uint32_t refine_trie_node(struct infer *in, uint32_t entry, uint32_t obj);
uint32_t refine_timer(struct infer *in, uint32_t entry);
/* Whether refine_node, refine_timer or refine_chan may change an entry of this name. */
bool refine_may_apply(const char *name);
/* Without DWARF, a runtime.hchan (a sudog's c, say) OBJ is the hchan<T> of
 * its own elemtype word, as DWARF names channels; else ENTRY. */
uint32_t refine_chan(struct infer *in, uint32_t entry, uint32_t obj);

#endif
