/* code_scan: the abstract machine code_types.c runs over a function's
 * code: what each general register and stack slot holds (a descriptor's
 * or global's address, a global's value, what an allocation returned), the
 * calls that make facts, the jumps it follows once more, what functions
 * return.  code_scan_amd64.c and code_scan_arm64.c decode their
 * instruction sets into these operations. */
#ifndef GOMORTEM_CODE_SCAN_H
#define GOMORTEM_CODE_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/u64_map.h"
#include "code_refs.h"
#include "code_types.h"

struct gm_exe;

#define NREGS 32
#define ALL_REGS 0xffffffffu

/* What a function does, for the scan: CALL targets are looked up by entry. */
enum role {
	ROLE_NONE, ROLE_MAP_OP, ROLE_NEWOBJECT, ROLE_MAKEMAP, ROLE_MAKECHAN, ROLE_WRITE_BARRIER,
	ROLE_SIZED_MALLOC,   /* new(T) in Go 1.26+'s size-specialized mallocgc*(size, typ, needzero) */
	ROLE_MAKESLICE,      /* makeslice(et, len, cap): a []et's data */
	ROLE_MAKEMAP_SMALL,  /* makemap_small(): a map whose type its first use shows */
	ROLE_GROWSLICE,      /* growslice(oldPtr, newLen, oldCap, num, et): a []et's data */
	ROLE_POOL_METHOD,    /* sync.(*Pool).Get, Put: the receiver is a pool */
	ROLE_POOL_PINSLOW,   /* sync.(*Pool).pinSlow: makes the []poolLocal */
	ROLE_HASH_TRIE_METHOD,   /* internal/sync.(*HashTrieMap[...]).M(receiver, dictionary, ...) */
	ROLE_SYNC_MAP_METHOD,    /* sync.(*Map).M(receiver, ...) */
	ROLE_CACHED_NEW,     /* runtime.acquireSudog: returns a T from a cache it fills with new(T) */
	ROLE_RUNTIME,        /* any other runtime function: what it returns is the runtime's
			      * representation (makemap_small's *maps.Map), not a Go type */
};

/* What a register holds, as far as the scan knows. */
enum val_kind {
	VAL_UNKNOWN,
	VAL_PAGE,     /* arm64: an ADRP page */
	VAL_ADDR,     /* an address formed pc-relative (a descriptor, a global) */
	VAL_LOADED,   /* the word loaded from a global */
	VAL_MADE,     /* what newobject / makemap / makechan returned; addr: the type it was given,
		       * or for makemap_small UNTYPED_MAP | its call's return address */
	VAL_CONST,    /* a constant; addr: its value */
	VAL_OFF_FRAME,   /* an address outside the frame, nothing more known (the write barrier's buffer) */
	VAL_ARG0,     /* the function's first argument, as it was passed */
};

struct val {
	enum val_kind kind;
	enum role made_by;
	uint64_t addr;
};

/* A map makemap_small made, before a map operation names its type. */
#define UNTYPED_MAP (1ull << 62)

/* A spilled value: a stack slot at an offset from SP.  Slots are dropped
 * when SP moves, when the frame is written otherwise, and, once the frame's
 * address was taken (a slot may be written through a pointer), at every
 * call and every memory write. */
#define NSLOTS 32
struct slot {
	int32_t off;
	struct val v;   /* VAL_UNKNOWN: a free slot */
};

/* A jump's target inside the function and the registers on the way there. */
struct branch {
	uint64_t target;
	struct val regs[NREGS];
	struct slot slots[NSLOTS];
};

/* What a function returns in its first result register, found at its
 * RETs: MADE_BY << 56 | the type's link-time address, or MIXED when two
 * RETs disagree. */
#define SUMMARY_MIXED UINT64_MAX
#define MAX_PASSES 4

/* Jumps followed a function, and instructions followed from each. */
#define MAX_BRANCHES 4096
#define BRANCH_STEPS 64
/* The (target, values) pairs noted in the function: an open-addressing
 * set, twice MAX_BRANCHES, its entries valid for one generation (one
 * function) so that it is never cleared. */
#define SEEN_SLOTS (2 * MAX_BRANCHES)
struct seen_branch {
	uint64_t key;
	uint32_t generation;
};

/* Constants, and new's results, a function stores into globals: a slice
 * literal's len, cap and array (the first so many of each). */
#define MAX_GLOBAL_STORES 64
struct global_store {
	uint64_t word, value;   /* value: the constant, or the type new was given */
};

/* The slots of a function's frame that a call or a write through a
 * pointer may change: the variables whose address the function takes.
 * Those that hold pointers are the function's stack objects, whose extent
 * the pclntab gives; a variable at an address taken outside of them
 * extends upward from it to a size not known, so every slot at or above
 * the lowest such address is at risk.  NOT_TAKEN: none; ANYWHERE: an
 * address whose offset is not known (BP-based, indexed), or more than
 * these tables hold.
 *
 * A call is a smaller risk: an address a callee gets is one the compiler
 * took, so a variable there that holds pointers is a stack object; one in
 * none is of a variable without pointers (a map key, a value to convert),
 * which the callee writes within, on no live pointer slot.  A block copy
 * or clear (duffcopy, duffzero) and the function's own writes through a
 * register also reach variables whose address never leaves the function. */
#define FRAME_NOT_TAKEN INT64_MAX
#define FRAME_ANYWHERE INT64_MIN
#define MAX_FRAME_ADDRESSES 32
#define MAX_RISKY_RANGES 8
#define MAX_STACK_OBJECTS 64
struct frame_risk {
	bool read;                  /* found (once: the same in every pass) */
	uint8_t nranges;
	int64_t above;              /* FRAME_NOT_TAKEN, FRAME_ANYWHERE or an SP offset */
	int64_t call_above;         /* the same, for what a call may change */
	struct gm_frame_range ranges[MAX_RISKY_RANGES];   /* stack objects whose address is taken */
};

struct scan {
	const struct gm_exe *exe;
	uint64_t lo, hi;                /* the function being read */
	bool following;                 /* from a branch: stop where the flow ends */
	bool in_runtime;                /* the function is the runtime's (it has a role) */
	struct branch *branches;
	size_t nbranches, branches_cap;
	struct seen_branch *seen;       /* SEEN_SLOTS of them */
	uint32_t generation;            /* the function's, in seen */
	uint8_t *starts;                /* a bit per byte of the function: an instruction starts there */
	size_t starts_cap;
	void *decoded;                  /* amd64: the function's instructions, decoded once per reading */
	size_t ndecoded, decoded_cap;
	uint32_t decoded_generation;    /* the generation they are of (0: none) */
	bool decoded_whole;             /* ... to the function's end (else up to an undecodable one) */
	struct gm_u64_map roles;        /* function entry -> role */
	struct gm_u64_map summaries;    /* function entry -> what it returns (see SUMMARY_MIXED) */
	bool summaries_changed;
	const struct gm_code_funcs *funcs;
	struct frame_risk frame;        /* the function's */
	struct frame_risk *frames;      /* per function (pclntab index), kept across passes */
	struct val regs[NREGS];
	struct slot slots[NSLOTS];
	unsigned arg0, arg1, arg4, result;   /* the register ABI's first, second and fifth arguments, first result */
	uint32_t barrier_writes;        /* registers a write barrier call may write */
	unsigned barrier_buffer;        /* the one it leaves the buffer's address in */
	/* runtime.duffcopy and duffzero, entered mid-way (a block copy or
	 * clear): they write only their pointer registers and the memory
	 * those point to. */
	uint64_t duff_lo[2], duff_hi[2];
	uint32_t duff_writes;
	uint64_t types, etypes;         /* the moduledata's type descriptors (itabs among them) */
	uint64_t pool_local;            /* sync.poolLocal's descriptor, once pinSlow is read; 0 before */
	struct global_store consts[MAX_GLOBAL_STORES], news[MAX_GLOBAL_STORES];   /* this function's */
	size_t nconsts, nnews;
	struct gm_code_type *facts;
	size_t nfacts, cap;
	struct gm_code_frame_slot *frame_facts;   /* slots at calls (gm_code_frame_slot) */
	size_t nframe_facts, frame_cap;
	bool nomem;
};

/* The register machine's operations (code_scan.c). */
void scan_forget(struct scan *s, uint32_t regs);
void scan_forget_slots(struct scan *s);
/* Register REG spilled to the slot at OFF from SP; the value of the slot at OFF. */
void scan_store_slot(struct scan *s, int32_t off, unsigned reg);
struct val scan_load_slot(const struct scan *s, int32_t off);
/* A write to memory: the frame's own (FRAME), at OFF from SP if KNOWN, or anywhere. */
void scan_memory_written(struct scan *s, bool frame, bool known, int64_t off, unsigned size);
void scan_add_fact(struct scan *s, uint64_t word, uint64_t desc, enum gm_code_type_kind kind, uint64_t count);
#define BASE_GLOBAL (-2)
void scan_written_through(struct scan *s, int base);
void scan_derived(struct scan *s, unsigned reg, unsigned base, int64_t disp, bool loaded);
/* A RET: what the first result register holds is what the function returns. */
void scan_returns(struct scan *s);
/* A direct call to TARGET, returning to RETURN_PC. */
void scan_call(struct scan *s, uint64_t target, uint64_t return_pc);
/* A direct jump (or branch) to TARGET. */
void scan_note_branch(struct scan *s, uint64_t target);
/* Where the flow ends: true when reading from a branch stops there. */
bool scan_flow_ends(struct scan *s);
/* An instruction starts at byte AT of the function. */
void scan_mark_start(struct scan *s, uint64_t at);
/* The global word at WORD gets register REG's value, or the constant VALUE. */
void scan_store(struct scan *s, uint64_t word, unsigned reg);
void scan_store_const(struct scan *s, uint64_t word, uint64_t value);
/* Whether ADDR is a func value's static closure (its first word a
 * function's entry), as a func variable is assigned a named function. */
bool scan_static_func_value(const struct scan *s, uint64_t addr);
/* Register REG stored at DISP from the address register BASE holds. */
void scan_store_through(struct scan *s, unsigned base, int64_t disp, unsigned reg);
/* At the end of a function: the slice literals its stores make. */
void scan_slice_literals(struct scan *s);

/* Read the function's LEN bytes of CODE from byte AT, at most STEPS
 * instructions; false if they do not decode. */
bool scan_run_amd64(struct scan *s, const uint8_t *code, uint64_t len, uint64_t at, size_t steps);
bool scan_run_arm64(struct scan *s, const uint8_t *code, uint64_t len, uint64_t at, size_t steps);
/* The distinct SP offsets of the frame addresses the function takes
 * (LEAQ off(SP); ADD Xd, SP, #off), below SP left out (a big frame's stack
 * check is no variable), in RET (at most MAX_FRAME_ADDRESSES); false if
 * one's offset is not known (from BP, indexed), there are more, or the
 * code does not decode. */
bool scan_amd64_frame_addresses(const struct scan *s, const uint8_t *code, uint64_t len, int64_t *ret,
				size_t *ret_n);
bool scan_arm64_frame_addresses(const uint8_t *code, uint64_t len, int64_t *ret, size_t *ret_n);
/* Add OFF to the N distinct frame addresses at RET; false if there is no room. */
bool scan_add_frame_address(int64_t *ret, size_t *n, int64_t off);

#endif
