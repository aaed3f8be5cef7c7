/* program: a dead Go process, as the core and its executable describe it.
 *
 * Opens the core, finds the executable (from --exe or the core's NT_FILE
 * note), checks that the two belong together (Go build ID and runtime
 * version), relocates PIE executables, builds the address space and, when
 * the executable has it, the DWARF index.
 */
#ifndef GOMORTEM_PROGRAM_H
#define GOMORTEM_PROGRAM_H

#include <stdbool.h>
#include <stdint.h>

#include "analyzer/acquire/acquire.h"
#include "analyzer/core/address_space.h"
#include "analyzer/core/elf_core.h"
#include "analyzer/core/exe.h"
#include "analyzer/util/error.h"

struct gm_dwarf;
struct gm_layouts;
struct gm_core_exe;

/* The Go releases gomortem knows (go1.MIN to go1.MAX); others are refused
 * unless the user forces them (--force-version), which marks the result partial. */
#define GM_GO_MIN_MINOR 20
#define GM_GO_MAX_MINOR 27
#define GM_GO_STR_(x) #x
#define GM_GO_STR(x) GM_GO_STR_(x)
#define GM_GO_KNOWN_RANGE "go1." GM_GO_STR(GM_GO_MIN_MINOR) "-go1." GM_GO_STR(GM_GO_MAX_MINOR)

struct gm_program_options {
	const char *core_path;     /* a path or "-"; plain or compressed (acquire.h) */
	struct gm_acquire_options acquire; /* where a decompressed copy goes */
	const char *exe_path;      /* NULL: find it through NT_FILE */
	unsigned core_flags;       /* GM_CORE_ALLOW_TRUNCATED */
	bool need_dwarf;           /* fail with GM_ERR_NO_DWARF when DWARF is missing */
	/* An executable with DWARF built by the same Go version, whose runtime
	 * layouts stand in for those of an executable without DWARF. */
	const char *runtime_from;
	/* Analyze as if the executable had no DWARF (symbol table, layout table,
	 * descriptors): to compare both ways on one core. */
	bool ignore_dwarf;
	bool force_version;        /* try a Go version outside the known range anyway */
	/* When the executable cannot be found or opened, open the core alone
	 * (exe NULL, exe_error and core_exe set) instead of failing: info. */
	bool allow_missing_exe;
};

/* How the executable's build ID was checked against the core. */
enum gm_build_id_check {
	GM_BUILD_ID_MATCH,         /* the note in the core's memory equals the executable's */
	GM_BUILD_ID_NOT_IN_CORE,   /* the core did not save the page holding the note */
	GM_BUILD_ID_NONE,          /* the executable has no build ID note */
};

struct gm_program {
	struct gm_acquired *acquired;  /* how the core was read; its attributes */
	struct gm_core *core;
	struct gm_exe *exe;            /* NULL only with allow_missing_exe: */
	struct gm_error *exe_error;    /*   why the executable could not be opened */
	struct gm_core_exe *core_exe;  /*   what the core's memory says of it */
	struct gm_address_space *mem;  /* without exe: the core's memory alone */
	struct gm_dwarf *dwarf;        /* NULL when the executable has no usable DWARF */
	struct gm_error *dwarf_error;  /* why dwarf is NULL */
	/* The runtime's layouts: from dwarf, from runtime_exe's DWARF (--runtime-from) or
	 * from a generated table; NULL (and layouts_error says why) when none fits. */
	struct gm_layouts *layouts;
	struct gm_error *layouts_error;
	struct gm_exe *runtime_exe;
	struct gm_dwarf *runtime_dwarf;
	bool exe_from_core;            /* the executable was found through NT_FILE */
	bool exe_from_coredump;        /* ... through systemd-coredump's user.coredump.exe */
	uint64_t bias;                 /* PIE load bias (0 for ET_EXEC) */
	enum gm_build_id_check build_id_check;
	/* runtime.buildVersion read from the core's memory; NULL if unreadable. */
	char *core_go_version;
	/* The executable's Go version is outside the known range and was
	 * forced: every result is marked partial. */
	bool version_forced;
};

struct gm_error *gm_program_open(const struct gm_program_options *options, struct gm_program **ret);

void gm_program_destroy(struct gm_program *prog);

/* N of a "go1.N..." version string; 0 when it has another form (e.g. "devel ..."). */
int gm_go_minor(const char *version);

/* ERR, a fault (GM_ERR_FAULT) or an inconsistency (GM_ERR_BAD_RUNTIME) met
 * while walking the runtime's structures, its message prefixed with the
 * core's path unless it already names the core or the executable: it is a
 * problem of that core.  Other errors are returned as they are. */
struct gm_error *gm_program_name_core(const struct gm_program_options *options, struct gm_error *err);

/* Read a Go string header (ptr, len) at ADDR and its bytes, up to MAX_LEN
 * bytes; the result is NUL-terminated and malloc'd. */
struct gm_error *gm_program_read_go_string(struct gm_program *prog, uint64_t addr, uint64_t max_len,
					   char **ret);

/* What the executable offers for naming things: "dwarf" (DWARF debug info),
 * "symtab" (no DWARF, an ELF symbol table: -ldflags=-w) or "none" (-s -w). */
const char *gm_program_debug_info(const struct gm_program *prog);

/* Where the runtime's layouts came from ("DWARF", "the layout table of go1.24.13/amd64"),
 * NULL when there are none. */
const char *gm_program_layouts_source(const struct gm_program *prog);

/* The database columns this analysis cannot fill for want of DWARF, as
 * text for meta.unknown_columns ("none" with DWARF). */
const char *gm_program_unknown_columns(const struct gm_program *prog);

/* The link-time address of global NAME from DWARF or, failing that, the
 * ELF symbol table; false if neither has it. */
bool gm_program_global_addr(struct gm_program *prog, const char *name, uint64_t *ret);

#endif
