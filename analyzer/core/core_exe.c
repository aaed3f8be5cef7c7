#include "core_exe.h"

#include <elf.h>
#include <stdlib.h>
#include <string.h>

/* Caps on what a corrupt core could make us read. */
#define MAX_PHDRS 256
#define MAX_NOTES_BYTES (64 * 1024)

const struct gm_core_file *gm_core_exe_file(const struct gm_core *core)
{
	uint64_t entry;
	if (!gm_core_auxv(core, AT_ENTRY, &entry))
		return NULL;
	for (size_t i = 0; i < core->nfiles; i++)
		if (core->files[i].start <= entry && entry < core->files[i].end)
			return &core->files[i];
	return NULL;
}

/* Where the executable's file offset 0 is mapped: its ELF header. */
static bool header_address(const struct gm_core *core, const struct gm_core_file *exe, uint64_t *ret)
{
	for (size_t i = 0; i < core->nfiles; i++) {
		const struct gm_core_file *f = &core->files[i];
		if (f->file_offset == 0 && strcmp(f->path, exe->path) == 0) {
			*ret = f->start;
			return true;
		}
	}
	return false;
}

/* The ELF header and program headers at ADDR, if saved and sane. */
static bool read_headers(struct gm_address_space *mem, uint64_t addr, Elf64_Ehdr *ehdr, Elf64_Phdr **ret)
{
	if (!gm_try_read(mem, addr, ehdr, sizeof(*ehdr)) || memcmp(ehdr->e_ident, ELFMAG, SELFMAG) != 0 ||
	    ehdr->e_ident[EI_CLASS] != ELFCLASS64 || ehdr->e_ident[EI_DATA] != ELFDATA2LSB ||
	    ehdr->e_phentsize != sizeof(Elf64_Phdr) || ehdr->e_phnum == 0 || ehdr->e_phnum > MAX_PHDRS)
		return false;
	Elf64_Phdr *phdrs = calloc(ehdr->e_phnum, sizeof(*phdrs));
	if (phdrs && gm_try_read(mem, addr + ehdr->e_phoff, phdrs, ehdr->e_phnum * sizeof(*phdrs))) {
		*ret = phdrs;
		return true;
	}
	free(phdrs);
	return false;
}

static struct gm_error *read_notes(struct gm_core_exe *ce, struct gm_address_space *mem, const Elf64_Phdr *ph)
{
	const uint8_t *p = ph->p_filesz <= MAX_NOTES_BYTES ? gm_memory_at(mem, ph->p_vaddr + ce->bias, ph->p_filesz)
							   : NULL;
	if (!p) {
		ce->notes_saved = false;
		return NULL;
	}
	return gm_build_ids_scan(p, ph->p_filesz, ph->p_vaddr, &ce->ids);
}

/* .go.buildinfo at the 16-byte aligned start of a saved stretch of the
 * first writable segment [START, END) (debug/buildinfo's search). */
static struct gm_error *read_buildinfo(struct gm_core_exe *ce, const struct gm_core *core,
				       struct gm_address_space *mem, uint64_t start, uint64_t end)
{
	for (uint64_t addr = (start + 15) & ~15ull; addr < end;) {
		const struct gm_region *r = gm_region_at(mem, addr);
		if (!r)
			return NULL;
		uint64_t stop = r->end < end ? r->end : end;
		size_t off;
		if (r->bytes && gm_buildinfo_find(r->bytes + (addr - r->start), stop - addr, &off)) {
			const uint8_t *p = r->bytes + (addr - r->start) + off;
			struct gm_error *err = gm_buildinfo_parse(p, stop - addr - off, core->path, &ce->buildinfo);
			if (err == &gm_error_nomem)
				return err;
			ce->buildinfo_corrupt = err != NULL;
			gm_error_destroy(err); /* corrupt: the version stays unknown */
			return NULL;
		}
		addr = (stop + 15) & ~15ull;
	}
	return NULL;
}

static struct gm_error *read_segments(struct gm_core_exe *ce, const struct gm_core *core,
				      struct gm_address_space *mem, const Elf64_Phdr *phdrs, size_t n)
{
	struct gm_error *err = NULL;
	ce->notes_saved = true;
	for (size_t i = 0; i < n && !err; i++)
		if (phdrs[i].p_type == PT_NOTE)
			err = read_notes(ce, mem, &phdrs[i]);
	/* .go.buildinfo is in a writable segment, the first one or the one
	 * after RELRO (PIE); the core's flags cannot say, RELRO is read-only. */
	for (size_t i = 0; i < n && !err && !ce->buildinfo.go_version; i++) {
		const Elf64_Phdr *ph = &phdrs[i];
		uint64_t start = ph->p_vaddr + ce->bias;
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W))
			err = read_buildinfo(ce, core, mem, start, start + ph->p_filesz);
	}
	return err;
}

/* Without the ELF header (qemu-user saves no read-only file page): the
 * non-executable segments of the executable's image, the run of core
 * segments that follow each other from the one holding the entry point. */
static struct gm_error *find_buildinfo_headless(struct gm_core_exe *ce, const struct gm_core *core,
						struct gm_address_space *mem)
{
	uint64_t entry;
	if (!gm_core_auxv(core, AT_ENTRY, &entry))
		return NULL;
	size_t i = 0;
	while (i < core->nsegments && core->segments[i].vaddr + core->segments[i].memsz <= entry)
		i++;
	struct gm_error *err = NULL;
	for (size_t first = i; i < core->nsegments && !err && !ce->buildinfo.go_version; i++) {
		const struct gm_core_segment *seg = &core->segments[i];
		if (i == first ? seg->vaddr > entry : seg->vaddr != seg[-1].vaddr + seg[-1].memsz)
			break; /* no segment holds the entry point, or past the executable's image */
		if (!(seg->flags & PF_X))
			err = read_buildinfo(ce, core, mem, seg->vaddr, seg->vaddr + seg->filesz);
	}
	return err;
}

struct gm_error *gm_core_exe_read(const struct gm_core *core, struct gm_address_space *mem,
				  struct gm_core_exe **ret)
{
	struct gm_core_exe *ce = calloc(1, sizeof(*ce));
	if (!ce)
		return &gm_error_nomem;
	ce->file = gm_core_exe_file(core);
	uint64_t header, entry;
	Elf64_Ehdr ehdr;
	Elf64_Phdr *phdrs = NULL;
	struct gm_error *err = NULL;
	if (ce->file && header_address(core, ce->file, &header) && read_headers(mem, header, &ehdr, &phdrs)) {
		ce->have_ehdr = true;
		ce->e_type = ehdr.e_type;
		if (ehdr.e_type == ET_DYN && gm_core_auxv(core, AT_ENTRY, &entry))
			ce->bias = entry - ehdr.e_entry;
		err = read_segments(ce, core, mem, phdrs, ehdr.e_phnum);
	} else {
		err = find_buildinfo_headless(ce, core, mem);
	}
	free(phdrs);
	if (err) {
		gm_core_exe_destroy(ce);
		return err;
	}
	*ret = ce;
	return NULL;
}

void gm_core_exe_destroy(struct gm_core_exe *ce)
{
	if (!ce)
		return;
	gm_build_ids_deinit(&ce->ids);
	gm_buildinfo_deinit(&ce->buildinfo);
	free(ce);
}
