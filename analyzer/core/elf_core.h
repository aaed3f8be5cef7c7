/* elf_core: the program headers and notes of a Linux ELF core file.
 *
 * The core is mapped read-only; nothing is copied.  Every offset, count and
 * size read from it is bounds-checked, so a truncated or corrupt core gives
 * an error, never a crash.
 */
#ifndef GOMORTEM_ELF_CORE_H
#define GOMORTEM_ELF_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"
#include "arch.h"


/* A PT_LOAD segment of the core: memory of the process at the time of the dump. */
struct gm_core_segment {
	uint64_t vaddr;        /* start address in the process */
	uint64_t memsz;        /* size of the mapping */
	uint64_t offset;       /* file offset of the saved bytes */
	uint64_t filesz;       /* bytes saved in the core (may be < memsz) */
	uint32_t flags;        /* PF_R | PF_W | PF_X */
};

/* Most registers any supported architecture has in NT_PRSTATUS (arm64: 34). */
#define GM_MAX_REGS 34

/* One thread, from its NT_PRSTATUS note. */
struct gm_core_thread {
	int32_t tid;            /* the LWP id (pr_pid) */
	int32_t cursig;         /* the signal that stopped it, 0 if none */
	uint64_t regs[GM_MAX_REGS]; /* general registers in the kernel's order */
	uint32_t nregs;
};

/* One entry of NT_FILE: a file-backed mapping. */
struct gm_core_file {
	uint64_t start, end;   /* address range */
	uint64_t file_offset;  /* in bytes */
	const char *path;      /* points into the mapped core */
};

struct gm_core {
	char *path;                 /* as given to gm_core_open(), or the parse name */
	char *file_path;            /* the file mapped (differs from path for a decompressed
				       core: its temporary copy); NULL after gm_core_parse() */
	const uint8_t *data;        /* the whole core, mapped */
	size_t size;
	bool mapped;                /* data is our mmap and must be unmapped */
	/* File ranges that hold data, from SEEK_DATA/SEEK_HOLE when the core was
	 * opened: a kernel core leaves the pages it skipped as holes, which read
	 * as zeros without being stored.  NULL: not known, every byte may be data. */
	struct gm_core_extent { uint64_t start, end; } *data_extents;
	size_t ndata_extents;

	enum gm_arch arch;
	uint16_t e_machine;

	struct gm_core_segment *segments; /* PT_LOAD, sorted by vaddr */
	size_t nsegments;
	/* Segments whose saved bytes run past the end of the file (only with
	 * GM_CORE_ALLOW_TRUNCATED; their filesz is clipped). */
	size_t ntruncated;

	struct gm_core_thread *threads;   /* in note order: the dumping thread first */
	size_t nthreads;

	bool have_prpsinfo;
	int32_t pid;
	char fname[17];             /* pr_fname, NUL-terminated */
	char psargs[81];            /* pr_psargs, NUL-terminated */

	uint64_t *auxv;             /* pairs (type, value), without the AT_NULL */
	size_t nauxv;

	struct gm_core_file *files;
	size_t nfiles;

	bool have_siginfo;
	int32_t sig_number, sig_code, sig_errno;
	uint64_t sig_addr;           /* fault address for SIGSEGV/SIGBUS */
};

/* Flags for gm_core_open(). */
enum {
	/* Accept a core whose PT_LOAD data runs past the end of the file: the
	 * missing bytes become unsaved memory.  Headers and notes must be whole. */
	GM_CORE_ALLOW_TRUNCATED = 1,
};

/* Map the core at PATH and parse its headers and notes. */
struct gm_error *gm_core_open(const char *path, unsigned flags, struct gm_core **ret);

/* The same for the core in FILE, named NAME in messages (a decompressed
 * core: FILE is its temporary copy, NAME what the user gave). */
struct gm_error *gm_core_open_as(const char *file, const char *name, unsigned flags, struct gm_core **ret);

/* Parse a core already in memory (used by the fuzzer); DATA must outlive it. */
struct gm_error *gm_core_parse(const void *data, size_t size, const char *name,
			       unsigned flags, struct gm_core **ret);

/* Hand the core's resident pages back to the kernel: our mapping is a
 * read-only private file mapping, so the next read refills a page from the
 * file (the page cache).  Lowers the resident size between the stages that
 * read the core at large.  Nothing happens when the core is not our mapping. */
void gm_core_release_pages(const struct gm_core *core);
/* The same for the whole pages of the core's bytes [FROM, TO) alone. */
void gm_core_release_range(const struct gm_core *core, const uint8_t *from, const uint8_t *to);

/* Free everything; NULL is a no-op. */
void gm_core_destroy(struct gm_core *core);

/* The value of auxv entry TYPE; returns false if absent. */
bool gm_core_auxv(const struct gm_core *core, uint64_t type, uint64_t *ret);

/* The process's page size as the core says it (AT_PAGESZ; arm64 kernels
 * run with 4, 16 or 64 KiB pages); 0 when the core does not say. */
uint64_t gm_core_page_size(const struct gm_core *core);

/* Program counter and stack pointer of a thread, by architecture. */
uint64_t gm_core_thread_pc(const struct gm_core *core, const struct gm_core_thread *thread);
uint64_t gm_core_thread_sp(const struct gm_core *core, const struct gm_core_thread *thread);

/* The value of thread register INDEX (a gm_arch_info index), 0 when the
 * architecture lacks it (GM_REG_NONE). */
uint64_t gm_core_thread_reg(const struct gm_core_thread *thread, uint32_t index);

/* Total bytes mapped (sum of memsz) and saved in the core (sum of filesz). */
uint64_t gm_core_bytes_mapped(const struct gm_core *core);
uint64_t gm_core_bytes_saved(const struct gm_core *core);

#endif
