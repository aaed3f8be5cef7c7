/* roots: the GC roots of the dead process and the objects they point to.
 * Global roots are the pointer words of the data and bss sections that the
 * module's GC masks mark (moduledata.gcdatamask/gcbssmask: the runtime's own
 * root set), named by the DWARF global that holds them and the path of
 * members inside it ("main.cfg.cache.items[2]"). */
#ifndef GOMORTEM_ROOTS_H
#define GOMORTEM_ROOTS_H

#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"
#include "../util/warnings.h"
#include "heap.h"

enum gm_root_kind {
	GM_ROOT_DATA,     /* a pointer word of .data */
	GM_ROOT_BSS,      /* a pointer word of .bss */
	GM_ROOT_STACK,    /* a live pointer slot of a goroutine's frame */
	GM_ROOT_FINALIZER,        /* the function of a registered finalizer (specialfinalizer.fn) */
	GM_ROOT_FINALIZED,        /* an object with a finalizer: what it points to stays alive,
				     the object itself does not (markrootSpans scans, not marks, it) */
	GM_ROOT_WEAK_HANDLE,      /* a weak handle's box (the target is not kept alive) */
	GM_ROOT_CLEANUP,          /* a word of a registered cleanup (runtime.AddCleanup) */
	GM_ROOT_QUEUED_FINALIZER, /* a word of a finalizer queued to run (runtime.allfin) */
};

#define GM_NO_OBJECT UINT32_MAX

struct gm_root {
	enum gm_root_kind kind;
	uint64_t addr;        /* where the pointer word is */
	uint64_t value;       /* the pointer it holds */
	char *name;           /* "main.cfg.cache", or "symbol+0x10" without DWARF */
	char *type_name;      /* DWARF type of the word, NULL if unknown */
	uint64_t type_die;    /* offset of that type's DIE, 0 if unknown */
	/* The whole variable holding the word (a global, a local): its type's
	 * DIE (0 if unknown) and the word's offset in it, for typing the
	 * target as the word's place in it says (an interface's data word, a
	 * slice's data pointer, an atomic.Pointer[T]'s unsafe.Pointer). */
	uint64_t var_type_die;
	uint64_t var_off;
	int64_t goid;         /* stack roots: the goroutine; else -1 */
	int32_t frame_idx;    /* stack roots: the frame; else -1 */
	uint64_t frame_pc;    /* stack roots: the frame's pc, a return address unless frame_trap */
	uint64_t frame_sp;    /* stack roots: the frame's SP */
	bool frame_trap;
	uint32_t dst;         /* object index it points into, GM_NO_OBJECT if none */
	uint64_t dst_off;     /* offset of value inside that object */
};

struct gm_roots {
	struct gm_root *items;
	size_t count, cap;
	struct gm_warnings warnings;
};

/* The global roots of RT's module (data and bss). */
struct gm_error *gm_roots_read_globals(struct gm_runtime *rt, const struct gm_heap *heap, struct gm_roots **ret);

/* Add the roots of specials (finalizers, weak handles, cleanups) and of the
 * finalizer queue to ROOTS. */
struct gm_error *gm_roots_read_specials(struct gm_runtime *rt, const struct gm_heap *heap, struct gm_roots *roots);

/* Add the live pointer slots of every goroutine frame (the stack maps at
 * each frame's pc, as scanframeworker reads them) to ROOTS, named func.var
 * where DWARF says which variable lives there, else "func sp+0xOFF".
 * Stack objects (address-taken locals, scanned only when reached) are not
 * roots here. */
struct gm_pclntab;
struct gm_goroutine_set;
struct gm_stacks;
struct gm_error *gm_roots_read_stacks(struct gm_runtime *rt, struct gm_pclntab *tab, const struct gm_heap *heap,
				      const struct gm_goroutine_set *set, const struct gm_stacks *stacks,
				      struct gm_roots *roots);

/* Name of a root kind as the roots table spells it. */
const char *gm_root_kind_name(enum gm_root_kind kind);

void gm_roots_destroy(struct gm_roots *roots);

#endif
