/* dwarf_index: the executable's DWARF, indexed once by name.
 *
 * Go's linker names every type, global and constant with its full import
 * path ("runtime.mspan", "runtime.mheap_", "runtime.mSpanInUse"), so one
 * pass over the top-level DIEs of every compile unit gives three hash
 * tables: types, global variables and integer constants.  Later stages
 * read every runtime layout through these lookups, never through
 * hard-coded offsets.
 */
#ifndef GOMORTEM_DWARF_INDEX_H
#define GOMORTEM_DWARF_INDEX_H

#include <elfutils/libdw.h>
#include <stdbool.h>
#include <stdint.h>

#include "../analyzer/util/error.h"

/* Go's own DWARF attributes (cmd/internal/dwarf, the same in Go 1.20-1.26). */
#define GM_DW_AT_go_kind 0x2900
#define GM_DW_AT_go_runtime_type 0x2904
#define GM_DW_AT_go_closure_offset 0x2907   /* 1.23+: a captured variable's offset in its closure */

struct gm_exe;
struct gm_dwarf;

/* Index the DWARF of EXE.  GM_ERR_NO_DWARF when it has none. */
struct gm_error *gm_dwarf_open(const struct gm_exe *exe, struct gm_dwarf **ret);

/* Free the index; NULL is a no-op. */
void gm_dwarf_destroy(struct gm_dwarf *dw);

/* Counts of what was indexed (for `gomortem info`). */
size_t gm_dwarf_type_count(const struct gm_dwarf *dw);
size_t gm_dwarf_global_count(const struct gm_dwarf *dw);
size_t gm_dwarf_const_count(const struct gm_dwarf *dw);

/* The producer string of the first compile unit ("Go cmd/compile go1.26.8; ..."), or NULL. */
const char *gm_dwarf_producer(const struct gm_dwarf *dw);

/* The lookups by name or address below take a NULL index (an executable
 * without DWARF) and find nothing in it. */

/* The type DIE named NAME; false if none. */
bool gm_dwarf_type(struct gm_dwarf *dw, const char *name, Dwarf_Die *ret);

/* The global variable NAME: its link-time address and (if RET_TYPE) its type DIE. */
bool gm_dwarf_global(struct gm_dwarf *dw, const char *name, uint64_t *ret_addr, Dwarf_Die *ret_type);

/* The integer constant NAME. */
bool gm_dwarf_const(struct gm_dwarf *dw, const char *name, int64_t *ret);

/* The member FIELD of struct TYPE (typedefs are followed); a dotted path
 * ("spanalloc.alloc") walks nested structs and adds the offsets. */
bool gm_dwarf_member(Dwarf_Die *type, const char *field, uint64_t *ret_offset, Dwarf_Die *ret_type);

/* Byte size of a type (arrays included); false if unknown. */
bool gm_dwarf_type_size(Dwarf_Die *type, uint64_t *ret);

/* The element count of an array type (typedefs followed); false if not an array. */
bool gm_dwarf_array_length(Dwarf_Die *type, uint64_t *ret);

/* The type whose runtime descriptor sits OFFSET bytes after moduledata.types
 * (DW_AT_go_runtime_type); false if DWARF has none. */
bool gm_dwarf_type_by_runtime_offset(struct gm_dwarf *dw, uint64_t offset, Dwarf_Die *ret);

/* The DIE at offset OFF (as dwarf_dieoffset() gave it). */
bool gm_dwarf_die_at(struct gm_dwarf *dw, Dwarf_Off off, Dwarf_Die *ret);

/* DW_AT_go_kind of a type (an abi.Kind value), -1 if absent. */
int gm_dwarf_go_kind(Dwarf_Die *type);

/* The Go kind of TYPE after its typedefs: a variable's "func(...)" typedef
 * carries none itself; -1 if unknown. */
int gm_dwarf_underlying_kind(Dwarf_Die *type);

/* The global variable whose bytes contain ADDR (link-time): its DIE and
 * start address; false if no DWARF global covers ADDR. */
bool gm_dwarf_global_at(struct gm_dwarf *dw, uint64_t addr, Dwarf_Die *ret_var, uint64_t *ret_start);

/* Every global variable with an address: the count, then the Ith one's
 * DIE and link-time address. */
size_t gm_dwarf_located_global_count(const struct gm_dwarf *dw);
bool gm_dwarf_global_nth(struct gm_dwarf *dw, size_t i, Dwarf_Die *ret_var, uint64_t *ret_addr);

/* Name the word at byte OFF inside a value of TYPE as a path of members and
 * indexes (".cache.items[3].next"), written to BUF; RET_LEAF (may be NULL)
 * gets the type reached.  Returns the length written. */
size_t gm_dwarf_describe_offset(struct gm_dwarf *dw, Dwarf_Die *type, uint64_t off, char *buf, size_t len,
				Dwarf_Die *ret_leaf);

/* The function (DW_TAG_subprogram) whose code starts at LOW_PC (link-time). */
bool gm_dwarf_subprogram_at(struct gm_dwarf *dw, uint64_t low_pc, Dwarf_Die *ret);

/* Name the stack word at CFA_OFFSET bytes from the frame's CFA (its
 * caller's sp) in SUBPROGRAM at PC (link-time; a return address minus one
 * for call sites): the local or parameter whose location there is that
 * slot, with the member path inside it ("buf.items[2]").  False if no
 * variable is known to live there. */
struct gm_dwarf_frame_slot {
	Dwarf_Die leaf;       /* the word's type */
	Dwarf_Die var_type;   /* the whole variable's type */
	uint64_t var_off;     /* the word's offset in the variable */
};
bool gm_dwarf_name_frame_slot(struct gm_dwarf *dw, Dwarf_Die *subprogram, uint64_t pc, int64_t cfa_offset,
			      char *buf, size_t len, struct gm_dwarf_frame_slot *ret);

/* The pointed-to type of a pointer type (typedefs followed); false if TYPE
 * is not a pointer or points to nothing (unsafe.Pointer). */
bool gm_dwarf_pointee(Dwarf_Die *type, Dwarf_Die *ret);

/* What lives at byte OFF of a value of TYPE, for typing the targets of its
 * pointer words. */
struct gm_dwarf_slot {
	Dwarf_Die leaf;          /* the word's type (a pointer type for pointers) */
	bool in_interface;       /* OFF is inside an interface value */
	bool iface;              /* that interface has methods (runtime.iface: itab word), else eface */
	uint64_t interface_off;  /* where that interface value starts */
	/* The word is the data pointer of a slice or string: the element count
	 * (cap for a slice, len for a string) is COUNT_DELTA bytes after it. */
	bool counted;
	int64_t count_delta;
	int64_t len_delta;       /* a slice's len word (for a string, the count itself) */
	/* The struct whose member the word is (0 if none): for typed wrappers
	 * such as atomic.Pointer[T] {_ [0]*T; v unsafe.Pointer}. */
	Dwarf_Off parent;
	uint64_t parent_off;     /* where that struct starts in TYPE */
};

/* For a struct whose first member is a zero-length array of *T (the way Go
 * types generic unsafe.Pointer wrappers like atomic.Pointer[T]): T. */
bool gm_dwarf_phantom_pointee(struct gm_dwarf *dw, Dwarf_Off parent, Dwarf_Die *ret);
bool gm_dwarf_slot_at(struct gm_dwarf *dw, Dwarf_Die *type, uint64_t off, struct gm_dwarf_slot *ret);

/* The element type of an array type (typedefs followed). */
bool gm_dwarf_array_elem(Dwarf_Die *type, Dwarf_Die *ret);

/* TYPE with its typedefs followed (Go's map, chan and interface types are
 * typedefs of their runtime representation). */
bool gm_dwarf_strip_typedefs(Dwarf_Die *type, Dwarf_Die *ret);

/* The Go name of a type DIE; "?" for anonymous types. */
const char *gm_dwarf_type_name(Dwarf_Die *type);

#endif
