/* core_exe: the executable as its process's memory shows it, for when the
 * executable itself cannot be had (gone, not given, unreadable).
 *
 * The kernel saves the first page of every ELF file mapping (the ELF header,
 * the program headers and, in Go's layout, the build ID notes) and the data
 * segment once written, which starts with .go.buildinfo: enough for the Go
 * version, the build IDs and whether it is a PIE.  qemu-user saves no page
 * of read-only file mappings, so there only .go.buildinfo may be found.
 */
#ifndef GOMORTEM_CORE_EXE_H
#define GOMORTEM_CORE_EXE_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/error.h"
#include "address_space.h"
#include "build_info.h"
#include "elf_core.h"

struct gm_core_exe {
	/* The NT_FILE entry mapping the entry point (AT_ENTRY): the executable
	 * as the kernel named it; NULL without NT_FILE or AT_ENTRY. */
	const struct gm_core_file *file;
	bool have_ehdr;         /* its ELF header was saved in the core */
	uint16_t e_type;        /* ET_EXEC or ET_DYN (PIE) */
	uint64_t bias;          /* load bias: AT_ENTRY - e_entry for a PIE, else 0 */
	bool notes_saved;       /* every PT_NOTE byte was saved in the core */
	struct gm_build_ids ids;
	/* From the executable's writable segments (without the ELF header: the
	 * non-executable core segments of its image, contiguous from the entry
	 * point); go_version NULL when not saved or not found. */
	struct gm_buildinfo buildinfo;
	bool buildinfo_corrupt; /* found, but it does not parse */
};

/* The NT_FILE entry of CORE that maps its entry point, NULL if none. */
const struct gm_core_file *gm_core_exe_file(const struct gm_core *core);

/* What CORE's memory MEM (an address space built without the executable)
 * says about the executable.  What was not saved, or is corrupt, is left
 * unknown; only out-of-memory is an error. */
struct gm_error *gm_core_exe_read(const struct gm_core *core, struct gm_address_space *mem,
				  struct gm_core_exe **ret);

/* Free everything; NULL is a no-op. */
void gm_core_exe_destroy(struct gm_core_exe *ce);

#endif
