/* build_info: what identifies a Go executable, parsed from bytes: its build
 * ID notes (Go's and GNU's) and its .go.buildinfo (Go version, GOEXPERIMENT,
 * GOARCH).  The bytes come from the executable's file (exe.c) or, when the
 * executable cannot be had, from the memory its process left in the core
 * (core_exe.c).  Every length read from them is bounds-checked. */
#ifndef GOMORTEM_BUILD_INFO_H
#define GOMORTEM_BUILD_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"

struct gm_build_ids {
	char *go;                 /* the Go build ID (".note.go.buildid"), NULL if absent */
	uint64_t go_note_vaddr;   /* where the whole note sits (link-time) */
	uint64_t go_note_size;
	char *gnu;                /* the GNU build ID in hex, NULL if absent */
	uint64_t gnu_note_vaddr;
	uint64_t gnu_note_size;
};

/* Record the build IDs among the notes in P (SIZE bytes of a PT_NOTE segment
 * whose link-time address is VADDR) that IDS does not have yet.  A note cut
 * short ends the scan; only out-of-memory is an error. */
struct gm_error *gm_build_ids_scan(const uint8_t *p, uint64_t size, uint64_t vaddr, struct gm_build_ids *ids);

/* Free the IDs, leaving IDS empty. */
void gm_build_ids_deinit(struct gm_build_ids *ids);

struct gm_buildinfo {
	char *go_version;         /* "go1.26.8"; NULL: no build info */
	/* The GOEXPERIMENT build setting (the experiments that differ from the
	 * release's defaults); NULL when built with the defaults. */
	char *go_experiments;
	char *goarch;             /* the GOARCH build setting; NULL if absent */
};

/* Where the 16-byte aligned .go.buildinfo magic starts in P (LEN bytes,
 * P itself 16-byte aligned), as debug/buildinfo searches a data segment. */
bool gm_buildinfo_find(const uint8_t *p, size_t len, size_t *ret_off);

/* Parse the .go.buildinfo at P (LEN bytes from its start); NAME names the
 * file in errors (GM_ERR_BAD_EXE: the pre-1.18 format, a corrupt version).
 * *RET stays empty when P does not start with the magic. */
struct gm_error *gm_buildinfo_parse(const uint8_t *p, size_t len, const char *name, struct gm_buildinfo *ret);

/* Free the strings, leaving BI empty. */
void gm_buildinfo_deinit(struct gm_buildinfo *bi);

#endif
