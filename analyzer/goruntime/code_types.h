/* code_types: what the program's own machine code says of the types of its
 * global variables, for executables without DWARF (whose globals carry no
 * declared type).  Each fact is a value the compiler's code puts in a
 * global word with the type's descriptor in hand:
 *
 * - a map operation (runtime.mapaccess*, mapassign*, mapdelete*, map
 *   iteration and clearing) takes the map's type descriptor as its first
 *   argument and the map as its second: a map loaded from a global word
 *   there makes that word a map of that type;
 * - runtime.newobject(T) (Go 1.26+: mallocgcSmall*(size, T, ...) and
 *   mallocgcTiny*), makemap(M, ...) and makechan(C, ...) return a *T,
 *   a map M or a channel C: stored into a global word, it makes the word a
 *   pointer to T (or the map, or the channel); makeslice(E, ...) and
 *   growslice(..., E) return a []E's data pointer, which makes the word a
 *   slice's; so does new([n]E) where the same function stores the
 *   constant n as the word's len and cap (a slice literal);
 * - sync.(*Pool).Get and Put called on a global's address make it a
 *   sync.Pool, whose local and victim arrays hold sync.poolLocal (the type
 *   sync.(*Pool).pinSlow makes its slice of).
 *
 * - a method of sync.Map called on a global's address (before 1.24 its
 *   read and dirty words are typed by the descriptors named
 *   sync.readOnly and map[interface {}]*sync.entry the code allocates);
 * - a method of internal/sync.HashTrieMap (sync.Map's, 1.24+) called on a
 *   global's address, with the instantiation's dictionary (whose
 *   descriptors name indirect[K,V] and entry[K,V]);
 * - the entry of a function stored into the first word of what new(T)
 *   made: T lays out that function's closures (the compiler's struct {
 *   F uintptr; captured variables }; a method value's struct { F uintptr;
 *   R T });
 * - a function whose RETs return such a value (a constructor: return
 *   &T{...}) returns it to its callers too, found by reading the code again
 *   until no function's return changes.
 *
 * The values are followed through registers and stack slots (SP-relative
 * spills, dropped when SP moves, when the frame is written otherwise, and
 * at calls once the function takes a frame address) along straight-line code
 * (amd64_insn.c decodes x86-64; arm64 is decoded here): a register keeps
 * its value until an instruction that may write it, a call (the Go
 * register ABI keeps none; the write barrier's calls keep all but their
 * scratch registers) or the end of a block that does not fall through.  A
 * function whose code does not decode is skipped.  Two facts that disagree
 * on one word leave it unknown (counted).  A map type argument is a constant
 * of its call site, and a word's value is the type its declaration gives it
 * on every path: a fact holds whichever path reached the call.
 */
#ifndef GOMORTEM_CODE_TYPES_H
#define GOMORTEM_CODE_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"

struct gm_exe;
struct gm_layouts;

enum gm_code_type_kind {
	GM_CODE_HOLDS,      /* the word is a value of type desc (a map, a chan) */
	GM_CODE_POINTS_TO,  /* the word points to a desc (new(T)) */
	GM_CODE_SLICE_OF,   /* the word is the data pointer of a []desc (make, append), len and cap after it */
	GM_CODE_POOL,       /* a sync.Pool starts at the word (its Get or Put is called on it); desc: sync.poolLocal */
	GM_CODE_ARRAY_SLICE,   /* the data pointer of a slice literal (s = []E{...}): desc is the [count]E
				* new made, count stored as len and cap after it */
	GM_CODE_SYNC_MAP,   /* a sync.Map starts at the word (a method of it is called on it) */
	GM_CODE_HASH_TRIE,  /* an internal/sync.HashTrieMap starts at the word (a method of it is called on
			     * it: sync.Map's); desc: the dictionary of its instantiation */
	GM_CODE_CLOSURE,    /* word is a function's entry: its closures are the struct desc, new made
			     * (struct { F uintptr; captured variables... }) */
	GM_CODE_ALLOCATED,  /* word and desc: a descriptor the code passes to new or make (no global's type:
			     * what names the runtime's own types, runtime.m, runtime.p, by name) */
	GM_CODE_INTERFACE_DATA,   /* (while reading) the word follows a type word: never a fact */
	GM_CODE_SLICE_LITERAL,    /* (while reading) count stored as len and cap after the word, and new's
				   * result into it, by one function */
	GM_CODE_RECEIVER_STORE,   /* (while reading) the function at word stores a made desc at count
				   * bytes into what its first argument points to: the fact `stored` */
	GM_CODE_RECEIVER_CALL,    /* (while reading) the function at word is called with the address
				   * desc (a global's) as its first argument */
};

/* Whether a fact of KIND says what value the word holds (a map, a
 * pointer, a slice's data), rather than what starts at the word (a pool,
 * a sync.Map, its trie) or what no global word is (a closure's function,
 * a descriptor). */
static inline bool gm_code_type_is_value(enum gm_code_type_kind kind)
{
	return kind == GM_CODE_HOLDS || kind == GM_CODE_POINTS_TO || kind == GM_CODE_SLICE_OF ||
	       kind == GM_CODE_ARRAY_SLICE;
}

struct gm_code_type {
	uint64_t word;      /* link-time address of the global word (GM_CODE_CLOSURE: of the function) */
	uint64_t desc;      /* link-time address of a type descriptor */
	enum gm_code_type_kind kind;
	uint64_t count;     /* GM_CODE_ARRAY_SLICE: the slice's len and cap */
	uint64_t literal;   /* GM_CODE_SLICE_OF: the [n]desc a slice literal also stored there (its
			     * descriptor, to check when used), 0 if none */
	enum gm_code_type_kind stored;   /* GM_CODE_RECEIVER_STORE: the fact the store makes */
};

/* A stack slot at a call: what the slot at OFF from SP holds while the
 * function waits in the call that returns to PC (link-time), the same on
 * every path there, and no callee can change (no address of it taken).  A
 * goroutine's frame suspended there holds it still. */
struct gm_code_frame_slot {
	uint64_t pc;
	int64_t off;
	uint64_t desc;
	enum gm_code_type_kind kind;  /* GM_CODE_POINTS_TO (new(T)) or GM_CODE_HOLDS (a map, a chan) */
};

struct gm_code_types {
	struct gm_code_type *items;   /* sorted by word, one per word */
	size_t n;
	struct gm_code_frame_slot *frame_slots;   /* sorted by pc and off, one per slot */
	size_t nframe_slots;
	uint64_t conflicts;           /* words two facts typed differently: left out */
	uint64_t functions, skipped;  /* functions read, and those whose code did not decode */
	int passes;                   /* readings of the whole code (until what functions return settles) */
};

/* The facts of EXE's code (LAY: the runtime layouts, for the pclntab;
 * [TYPES, ETYPES): the link-time range of its type descriptors and itabs).
 * An executable whose functions cannot be listed gives none (not an error). */
struct gm_error *gm_code_types_find(const struct gm_exe *exe, struct gm_layouts *lay, uint64_t types, uint64_t etypes,
				    struct gm_code_types **ret);

/* The fact about the word at link-time address WORD; NULL if none. */
const struct gm_code_type *gm_code_type_of(const struct gm_code_types *types, uint64_t word);

/* What the slot at OFF from SP holds in a frame waiting in the call that
 * returns to link-time PC; NULL if the code does not say. */
const struct gm_code_frame_slot *gm_code_frame_slot_at(const struct gm_code_types *types, uint64_t pc, int64_t off);

void gm_code_types_destroy(struct gm_code_types *types);

#endif
