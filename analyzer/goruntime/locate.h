/* locate: runtime globals of an executable without a symbol table
 * (-ldflags='-s -w'), each found in a way that can be checked, from the
 * executable's own bytes (the linker initializes them in its data):
 *
 * - runtime.firstmoduledata: the one word of the data segments equal to the
 *   address of .gopclntab (moduledata.pcHeader: the runtime's module list
 *   starts from it) whose moduledata.funcnametab and .pclntable point into
 *   the pclntab as well;
 * - runtime.buildVersion: the one string header in the data segments whose
 *   bytes are the version of .go.buildinfo;
 * - the rest (mheap_, allgs, allm, allp, memstats, gcController, the status
 *   and wait-reason strings, allfin, semtable, the size-class table): the one
 *   address that the machine code of several runtime functions, found by name
 *   in the pclntab, all name (code_refs.h), in the section the global's
 *   pointers put it in (.bss or .noptrbss, ...); a slice's len word must be
 *   named too.  Each recipe is in locate.c.
 *
 * A global found twice or not at all is not found.  Offsets come from the
 * runtime layouts (DWARF or the built-in table).  tests/dwarf/test_locate.py
 * checks every locator against the symbol table of every corpus build.
 */
#ifndef GOMORTEM_LOCATE_H
#define GOMORTEM_LOCATE_H

#include <stdbool.h>
#include <stdint.h>

struct gm_exe;
struct gm_layouts;

/* The link-time address of runtime global NAME; false if there is no
 * locator for it or it is not found exactly once. */
bool gm_locate_global(const struct gm_exe *exe, struct gm_layouts *lay, const char *name, uint64_t *ret);

/* The globals there are locators for, NULL-terminated. */
extern const char *const gm_locatable_globals[];

#endif
