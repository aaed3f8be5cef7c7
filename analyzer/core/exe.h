/* exe: the Go executable that produced a core.
 *
 * Gives the file-backed segments the kernel leaves out of a core (text,
 * rodata), the ELF symbol table, the build IDs, and the Go version from
 * .go.buildinfo (which works without DWARF).
 */
#ifndef GOMORTEM_EXE_H
#define GOMORTEM_EXE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"

struct gm_exe_segment {
	uint64_t vaddr;     /* link-time address (add the load bias for PIE) */
	uint64_t memsz;
	uint64_t offset;    /* file offset */
	uint64_t filesz;
	uint32_t flags;     /* PF_R | PF_W | PF_X */
};

struct gm_symbol {
	uint64_t addr;      /* link-time address */
	uint64_t size;
	const char *name;   /* points into the ELF string table */
	bool is_func;
};

struct gm_exe {
	char *path;
	int fd;
	struct Elf *elf;
	const uint8_t *data;       /* the whole file, mapped read-only */
	size_t size;

	uint16_t e_type;           /* ET_EXEC or ET_DYN (PIE) */
	uint16_t e_machine;
	uint64_t e_entry;
	uint64_t e_phnum;          /* program headers */
	uint64_t phdr_vaddr;       /* where the loader maps them (the auxv's AT_PHDR, less the PIE bias) */
	bool have_phdr_vaddr;

	struct gm_exe_segment *segments; /* PT_LOAD, in file order */
	size_t nsegments;

	struct gm_symbol *symbols;       /* sorted by address */
	size_t nsymbols;
	struct gm_symbol **by_name;      /* the same, sorted by name */

	/* The Go build ID (".note.go.buildid"), NULL if absent. */
	char *go_build_id;
	uint64_t go_build_id_note_vaddr; /* where the whole note sits in memory */
	uint64_t go_build_id_note_size;
	/* The GNU build ID in hex, NULL if absent. */
	char *gnu_build_id;
	uint64_t gnu_build_id_note_vaddr;
	uint64_t gnu_build_id_note_size;

	/* Go version from .go.buildinfo, NULL if this is not a Go program. */
	char *go_version;
	/* The GOEXPERIMENT build setting of the build info (the experiments that
	 * differ from the release's defaults, e.g. "nogreenteagc"); NULL when the
	 * binary was built with the defaults. */
	char *go_experiments;
	/* The GOARCH build setting; NULL if absent (then amd64 is assumed by the layout tables). */
	char *goarch;

	bool has_dwarf;            /* a .debug_info section is present */
};

/* Open and index the executable at PATH. */
struct gm_error *gm_exe_open(const char *path, struct gm_exe **ret);

/* Free everything; NULL is a no-op. */
void gm_exe_destroy(struct gm_exe *exe);

/* The symbol whose [addr, addr+size) contains ADDR (link-time), or the
 * nearest function below it when sizes are zero; NULL if none. */
const struct gm_symbol *gm_exe_symbol_at(const struct gm_exe *exe, uint64_t addr);

/* The link-time address and size of section NAME (".gopclntab"); false if absent. */
bool gm_exe_section(const struct gm_exe *exe, const char *name, uint64_t *ret_addr, uint64_t *ret_size);

/* The symbol named NAME, or NULL. */
const struct gm_symbol *gm_exe_symbol_named(const struct gm_exe *exe, const char *name);

/* The file's bytes at link-time address VADDR, LEN of them, from one PT_LOAD
 * segment's initialized part; NULL if they are not all in the file. */
const uint8_t *gm_exe_file_bytes(const struct gm_exe *exe, uint64_t vaddr, uint64_t len);

#endif
