/* pclntab: the Go runtime's own symbol tables (pcHeader, ftab, _func, pcvalue tables).
 *
 * Maps pc -> function, frame size, PCDATA/FUNCDATA, file:line and the
 * inlined calls at a pc, the way runtime/symtab.go and symtabinl.go do.  The
 * tables are found through runtime.firstmoduledata as the core saved it (its
 * slices hold run-time addresses, so PIE needs no extra work); their bytes
 * come from the address space, mostly from the executable's rodata.  Every
 * layout (runtime.moduledata, runtime._func, runtime.inlinedCall,
 * runtime.findfuncbucket, runtime.pcHeader) and every index (PCDATA_*,
 * FUNCDATA_*, FuncID_*) is bound by name from DWARF.  Offsets read from the
 * tables are untrusted: a corrupt table makes a lookup fail, never crash.
 *
 * PCs: every function takes the pc it is given.  To symbolize a *return
 * address* (any frame but the innermost, unless the callee was an injected
 * call such as sigpanic or asyncPreempt, or pc == entry) pass pc - 1, as the
 * runtime's traceback does (unwinder.symPC).  The frame size (pcsp) is looked
 * up at the pc itself (funcspdelta(f, frame.pc)); stack maps at continpc - 1
 * unless continpc == entry (stkframe.go getStackMap).
 */
#ifndef GOMORTEM_PCLNTAB_H
#define GOMORTEM_PCLNTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"

struct gm_layouts;
struct gm_runtime;
struct gm_pclntab;

/* A function of the module. */
struct gm_func {
	uint64_t entry;          /* entry pc (absolute, in the process) */
	const char *name;        /* NUL-terminated, in the mapped table (or the ELF symbol table:
				    Go 1.20 generic names, which the table shortens to "[...]") */
	uint32_t index;          /* index into ftab */
	int32_t args;            /* argument bytes, or the runtime's ArgsSizeUnknown */
	uint8_t func_id, flag;   /* abi.FuncID, abi.FuncFlag */
	uint32_t deferreturn;    /* offset from entry of the deferreturn call, 0 if none
				    (continpc of a frame that called sigpanic) */
	int32_t start_line;      /* line of the func keyword / TEXT directive */
	/* Private. */
	uint32_t func_off;       /* offset of the _func in pclntable (bounds already checked) */
};

/* One logical frame at a pc: an inlined call, or the physical function. */
struct gm_inline_frame {
	const char *name;        /* as the tables spell it ("main.F[go.shape.int]"), "?" if unknown */
	const char *file;        /* "?" if unknown */
	int32_t line;            /* 0 if unknown */
	uint8_t func_id;         /* abi.FuncID of the logical function */
	bool inlined;            /* false only for the physical function (the last frame) */
};

/* Named FuncIDs the unwinder needs, resolved for this executable's Go version. */
struct gm_func_ids {
	uint8_t goexit, mstart, rt0_go, systemstack, systemstack_switch, sigpanic, mcall,
		morestack, asmcgocall, gogo, wrapper, normal;
};

/* Open the pclntab of RT's first module: bind the layouts from DWARF, read
 * runtime.firstmoduledata and map its tables.  GM_ERR_BAD_RUNTIME when a
 * layout is missing or the tables are inconsistent, GM_ERR_FAULT when they
 * are not in the address space.  *RET is written only on success. */
struct gm_error *gm_pclntab_open(struct gm_runtime *rt, struct gm_pclntab **ret);

/* FUNCDATA_StackObjects in LAY's Go version. */
uint32_t gm_pclntab_stack_objects_index(struct gm_layouts *lay);

/* Only the layout lookups of gm_pclntab_open (see gm_runtime_bind_layouts). */
struct gm_error *gm_pclntab_bind_layouts(struct gm_runtime *rt);

/* Free TAB and everything it mapped or copied; NULL is a no-op.  Names and
 * files returned by the lookups die with it. */
void gm_pclntab_destroy(struct gm_pclntab *tab);

/* The function containing PC (runtime.findfunc: findfunctab bucket, then
 * ftab).  False if PC is outside the module's text or the tables are corrupt. */
bool gm_pclntab_find_func(struct gm_pclntab *tab, uint64_t pc, struct gm_func *ret);

/* The function named NAME exactly as the tables spell it ("runtime.goexit");
 * the first call builds a sorted name index.  When functions share a name (an
 * assembly function and its ABI wrapper) the one with a FuncID other than
 * normal wins, then the lower ftab index.  False if none (or no memory). */
bool gm_pclntab_func_by_name(struct gm_pclntab *tab, const char *name, struct gm_func *ret);

/* The function at ftab INDEX (0 <= INDEX < gm_pclntab_func_count()); false if corrupt. */
bool gm_pclntab_func_at(struct gm_pclntab *tab, uint32_t index, struct gm_func *ret);

/* Number of functions in ftab (without the end sentinel). */
uint32_t gm_pclntab_func_count(const struct gm_pclntab *tab);

/* The frame size (SP delta from entry) of F at PC: the pcsp table's value.
 * False if F has no pcsp table (assembly without frame info) or PC is not covered. */
bool gm_pclntab_pcsp(struct gm_pclntab *tab, const struct gm_func *f, uint64_t pc, int32_t *ret);

/* The value of PCDATA table TABLE (an abi.PCDATA_* index) of F at PC; false if
 * F lacks the table or PC is not covered (the runtime would use -1). */
bool gm_pclntab_pcdata(struct gm_pclntab *tab, const struct gm_func *f, uint32_t table, uint64_t pc,
		       int32_t *ret);

/* The address (moduledata.gofunc + offset) of FUNCDATA INDEX (an
 * abi.FUNCDATA_* index) of F; false if F has none. */
bool gm_pclntab_funcdata(struct gm_pclntab *tab, const struct gm_func *f, uint32_t index,
			 uint64_t *ret_addr);

/* The physical file and line of F at PC (the innermost logical frame's
 * position, pcfile/pcln); false if unknown. */
bool gm_pclntab_file_line(struct gm_pclntab *tab, const struct gm_func *f, uint64_t pc,
			  const char **file, int32_t *line);

/* The logical frames at PC in F, innermost first, inlined calls expanded as
 * the runtime's traceback prints them (inlineUnwinder); the physical function
 * comes last.  Writes at most CAP frames to OUT and returns how many (0 only
 * if CAP is 0); when CAP is too small the outermost frames are left out.  An
 * unreadable inline tree ends the expansion at the physical function, as in
 * the runtime.  Frames whose position is unknown get file "?" and line 0. */
size_t gm_pclntab_frames(struct gm_pclntab *tab, const struct gm_func *f, uint64_t pc,
			 struct gm_inline_frame *out, size_t cap);

/* The FuncIDs of TAB's Go version. */
const struct gm_func_ids *gm_pclntab_func_ids(const struct gm_pclntab *tab);

/* The abi.PCDATA_* / abi.FUNCDATA_* indices the unwinder and stack scanner use. */
struct gm_pcdata_ids {
	uint32_t unsafe_point, stack_map_index, inl_tree_index;    /* PCDATA_* */
	uint32_t args_pointer_maps, locals_pointer_maps, stack_objects, inl_tree; /* FUNCDATA_* */
};
const struct gm_pcdata_ids *gm_pclntab_pcdata_ids(const struct gm_pclntab *tab);

/* abi.FuncFlag bits. */
struct gm_func_flags { uint8_t top_frame, sp_write, assembly; };
const struct gm_func_flags *gm_pclntab_func_flags(const struct gm_pclntab *tab);

#endif
