/* code_refs: which data addresses a function's machine code names, read
 * from the executable alone (no symbol table, no core).
 *
 * Functions are found by name through the module's own pclntab, reached
 * from runtime.firstmoduledata as the linker initialized it in the file
 * (ftab, funcnametab, pclntable, text: link-time addresses).  A function's
 * references are the targets of its pc-relative address forms:
 * - amd64: every ModRM with mod=00 rm=101 (RIP+disp32) after an opcode that
 *   takes one (LEA, MOV, CMP, ALU ops, MOVZX, ...), the displacement taken
 *   from the end of the instruction (after any immediate);
 * - arm64: ADRP followed by ADD (immediate) or a load/store (unsigned
 *   offset) on the register ADRP set.
 * The scan does not decode instruction boundaries, so it can report a
 * target that is no instruction's; callers only trust an address that
 * several functions name (see locate.c), which bytes taken out of context
 * do not do by accident.
 */
#ifndef GOMORTEM_CODE_REFS_H
#define GOMORTEM_CODE_REFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gm_exe;
struct gm_layouts;

/* The functions of one executable, by name. */
struct gm_code_funcs;

/* NULL if the pclntab cannot be read from the file through MODULEDATA
 * (a link-time address) with the layouts of LAY, or more than one text
 * section (the entry offsets are then not plain offsets from text). */
struct gm_code_funcs *gm_code_funcs_open(const struct gm_exe *exe, struct gm_layouts *lay, uint64_t moduledata);
void gm_code_funcs_destroy(struct gm_code_funcs *funcs);

/* Only the layout lookups of reading stack objects (gm_runtime_bind_layouts:
 * what the generated layout tables must answer). */
void gm_code_funcs_bind_layouts(struct gm_layouts *lay);

/* Whether the link-time address PC is a function's entry. */
bool gm_code_func_is_entry(const struct gm_code_funcs *funcs, uint64_t pc);

/* The link-time [*RET_LO, *RET_HI) of function NAME; false if there is no such function. */
bool gm_code_func_range(const struct gm_code_funcs *funcs, const char *name, uint64_t *ret_lo, uint64_t *ret_hi);

/* The number of functions, and function I's name (NULL if unreadable or
 * I is out of range) and link-time [*RET_LO, *RET_HI). */
size_t gm_code_func_count(const struct gm_code_funcs *funcs);
const char *gm_code_func_at(const struct gm_code_funcs *funcs, size_t i, uint64_t *ret_lo, uint64_t *ret_hi);

/* A variable of a function's frame: [off, off + size) from SP in the
 * function's body (after its prologue moved SP). */
struct gm_frame_range {
	int64_t off, size;
};

/* Function I's stack objects (FUNCDATA_StackObjects: the variables holding
 * pointers whose address the function takes), in RET (at most MAX); their
 * count, or -1 when unknown: no such table, more than MAX, or the layouts
 * or bytes to read them missing.  Their offsets are the runtime's (from
 * varp when negative, else from argp: stkframe), made relative to SP in the
 * body, whose distance from the caller's SP is the pcsp table's largest
 * value. */
int gm_code_func_stack_objects(const struct gm_code_funcs *funcs, size_t i, struct gm_frame_range *ret, int max);

/* ADRP's page in *RET_PAGE and its register in *RET_REG, for the
 * instruction INSN at PC; false if INSN is no ADRP. */
bool gm_arm64_adrp(uint32_t insn, uint64_t pc, uint64_t *ret_page, uint32_t *ret_reg);

/* The sorted, distinct addresses the code of function NAME refers to, in
 * *RET (malloc'd, the caller frees; NULL when there are none); their count.
 * False if there is no such function or no memory. */
bool gm_code_refs(const struct gm_code_funcs *funcs, const char *name, uint64_t **ret, size_t *ret_n);

#endif
