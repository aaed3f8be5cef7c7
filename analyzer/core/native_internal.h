/* native_internal: what the native unwinders share (native_unwind.c drives
 * libunwind for cores of the host's architecture, native_dwfl.c libdw's
 * frame unwinder for the others): the file-backed mappings of the process,
 * the files behind them (program headers, .eh_frame_hdr, symbols), memory
 * reads (the core's bytes, else the file's) and symbolization.
 *
 * The mappings are the core's NT_FILE entries when it has them; a core
 * without NT_FILE (qemu-user writes none) gets them from the dynamic
 * linker's link_map (native_linkmap.c). */
#ifndef GOMORTEM_NATIVE_INTERNAL_H
#define GOMORTEM_NATIVE_INTERNAL_H

#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elf_core.h"
#include "native_unwind.h"

struct native_symbol {
	uint64_t value, size; /* link-time address */
	const char *name;     /* points into the Elf's string table */
	int rank;             /* 0 global, 1 weak, 2 local: preferred in this order */
	bool plt;             /* a PLT stub, "name@plt" (native_plt.c) */
};

/* The file of a mapping, opened on first use. */
struct mapped_file {
	const char *path;     /* the mapping's */
	bool tried, ok;
	int fd;
	Elf *elf, *debug_elf;
	int debug_fd;
	GElf_Phdr *phdrs;
	size_t nphdrs;
	bool have_eh;         /* a usable .eh_frame_hdr */
	uint64_t eh_vaddr, eh_table_off, eh_fde_count;
	uint64_t min_vaddr, max_vaddr; /* PT_LOAD span */
	struct native_symbol *symbols; /* sorted by value */
	size_t nsymbols;
	char *plt_names;      /* the "name@plt" strings of the PLT stubs */
};

struct native_ctx {
	const struct gm_core *core;
	const struct gm_core_file *maps; /* file-backed mappings */
	size_t nmaps;
	struct mapped_file *files;       /* parallel to maps, by path */
};

/* Set up CTX over MAPS (not copied: they must outlive CTX); false when out of memory. */
bool native_ctx_init(struct native_ctx *ctx, const struct gm_core *core, const struct gm_core_file *maps,
		     size_t nmaps);
void native_ctx_free(struct native_ctx *ctx);

/* The mapping holding ADDR (its index in *INDEX), NULL if none. */
const struct gm_core_file *native_map_at(const struct native_ctx *ctx, uint64_t addr, size_t *index);

/* The ELF file of mapping INDEX, NULL when it cannot be opened or is not ELF. */
struct mapped_file *native_file(struct native_ctx *ctx, size_t index);

/* Load bias of mapping F of MF: run-time address - link-time address. */
uint64_t native_load_bias(const struct mapped_file *mf, const struct gm_core_file *f);

/* Read N bytes at ADDR: the core's saved bytes, else the mapped file's. */
bool native_read_mem(struct native_ctx *ctx, uint64_t addr, void *buf, size_t n);

/* The function containing PC: name and offset; false if none. */
bool native_symbol_at(struct native_ctx *ctx, uint64_t pc, const char **name, uint64_t *off);

/* Whether PC lies in a PLT stub: code that has moved neither the stack
 * pointer nor the return address (native_plt.c). */
bool native_pc_in_plt(struct native_ctx *ctx, uint64_t pc);

/* Add MF's PLT stubs from ELF to its symbols (unsorted); false when out of memory. */
bool native_load_plt_symbols(struct mapped_file *mf, Elf *elf);

/* The name of frame PC, looked up at LOOKUP (pc, or pc - 1 for a return
 * address): "func+0xOFF", "file+0xOFF" or NULL.  *NOMEM on allocation failure. */
char *native_symbolize(struct native_ctx *ctx, uint64_t pc, uint64_t lookup, bool *nomem);

/* Append a frame to S (room for MAX); false on allocation failure (SYMBOL is then freed). */
bool native_push_frame(struct gm_native_stack *s, size_t max, uint64_t pc, char *symbol, bool native);

/* An fd of PATH if it is a regular file, else -1. */
int native_open_regular(const char *path);

/* The unwinder for cores of another architecture than the host's
 * (native_dwfl.c); same contract as gm_native_unwind_core. */
struct gm_error *native_unwind_foreign(const struct gm_core *core, struct gm_native_where *where,
				       bool (*is_native)(uint64_t pc, void *arg), void *arg, size_t max_frames,
				       struct gm_native_stack *stacks, size_t nstacks, size_t *ret_count);

/* The file-backed mappings of a core without NT_FILE, from the dynamic
 * linker's link_map (native_linkmap.c).  *MAPS (malloc'd, each path malloc'd,
 * free with native_maps_free) holds the executable's PT_LOADs and those of
 * every library of the link_map found under WHERE->sysroot; *MISSING counts
 * the libraries not found there (or not matching the core). */
struct gm_error *native_linkmap_maps(const struct gm_core *core, struct gm_native_where *where,
				     struct gm_core_file **maps, size_t *nmaps, size_t *missing);
void native_maps_free(struct gm_core_file *maps, size_t nmaps);

#endif
