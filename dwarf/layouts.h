/* layouts: the Go runtime's struct layouts and constants, by name, from
 * one of two sources.
 *
 * - DWARF: the executable's own debug info (or, with --runtime-from, that of
 *   another executable built by the same Go version).  Every answer is also
 *   recorded, so `gomortem dwarf --layouts EXE` can print exactly what the
 *   runtime binders read.
 * - A table generated from such recordings (dwarf/gen_layouts writes
 *   dwarf/layout_tables.c), keyed by Go version, GOARCH and GOEXPERIMENT:
 *   runtime layouts depend on nothing else, so an executable without DWARF
 *   gets the very answers its toolchain's DWARF gives.
 *
 * The lookups mirror dwarf_index.h (type, member, size, array length,
 * constant, global), so a binder reads the same either way.  A handle names
 * what it stands for ("runtime.mcache.alloc", "global:runtime.allgs"): the
 * table is keyed by these names and by the operation.  A query the table
 * never recorded is a failure the binder reports (the table is older than
 * the binder: re-run dwarf/gen_layouts).
 */
#ifndef GOMORTEM_LAYOUTS_H
#define GOMORTEM_LAYOUTS_H

#include <elfutils/libdw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../analyzer/util/error.h"

struct gm_dwarf;
struct gm_layouts;

#define GM_LAYOUT_KEY_MAX 160

/* A type, a struct member's type or a global's type. */
struct gm_layout_type {
	struct gm_layouts *src;
	Dwarf_Die die;                 /* DWARF source only */
	char key[GM_LAYOUT_KEY_MAX];
};

/* One recorded answer: "size runtime.mspan" = 160; present false = "no such thing". */
struct gm_layout_entry {
	const char *key;
	int64_t value;
	bool present;
};

/* A generated table: every answer the binders got from one toolchain's DWARF. */
struct gm_layout_table {
	const char *go_version;        /* "go1.24.13" */
	const char *goarch;            /* "amd64" */
	const char *experiments;       /* GOEXPERIMENT as in the build info; "" for the default */
	const struct gm_layout_entry *entries;  /* sorted by key (strcmp) */
	size_t nentries;
};

/* The generated tables (dwarf/layout_tables.c). */
extern const struct gm_layout_table gm_layout_tables[];
extern const size_t gm_layout_ntables;

/* Answers from DW (not owned). */
struct gm_error *gm_layouts_from_dwarf(struct gm_dwarf *dw, struct gm_layouts **ret);

/* The generated table for GO_VERSION, GOARCH and EXPERIMENTS (NULL = none): an exact
 * version match, else the newest table of the same go1.N (the runtime's layouts do
 * not change within a minor release); NULL if there is none. */
const struct gm_layout_table *gm_layout_table_find(const char *go_version, const char *goarch,
						   const char *experiments);

/* Answers from TABLE. */
struct gm_error *gm_layouts_from_table(const struct gm_layout_table *table, struct gm_layouts **ret);

void gm_layouts_destroy(struct gm_layouts *lay);

/* "dwarf" or "table go1.24.13" (for messages and meta). */
const char *gm_layouts_source(const struct gm_layouts *lay);

bool gm_layout_type(struct gm_layouts *lay, const char *name, struct gm_layout_type *ret);
/* A global's type; its address comes from gm_program_global_addr(). */
bool gm_layout_global(struct gm_layouts *lay, const char *name, struct gm_layout_type *ret_type);
bool gm_layout_const(struct gm_layouts *lay, const char *name, int64_t *ret);
/* The member PATH ("spanalloc.inuse") of struct T: its offset and type (RET_TYPE may be NULL). */
bool gm_layout_member(struct gm_layout_type *t, const char *path, uint64_t *ret_offset,
		      struct gm_layout_type *ret_type);
bool gm_layout_size(struct gm_layout_type *t, uint64_t *ret);
bool gm_layout_array_length(struct gm_layout_type *t, uint64_t *ret);
/* The element type of array T (handle "T[]"). */
bool gm_layout_array_elem(struct gm_layout_type *t, struct gm_layout_type *ret);

/* Table source: the first query the table had no answer for (the table is
 * older than the binders), else NULL. */
const char *gm_layouts_unrecorded(const struct gm_layouts *lay);

/* Print the answers recorded so far, one "KEY<TAB>VALUE" (or "-") a line,
 * sorted and without repeats. */
struct gm_error *gm_layouts_print_record(struct gm_layouts *lay, FILE *out);

#endif
