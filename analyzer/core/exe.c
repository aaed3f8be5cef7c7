#include "exe.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/files.h"
#include "build_info.h"

static struct gm_error *exe_error(const char *path, const char *what)
{
	return gm_error_create(GM_ERR_BAD_EXE, "%s: %s", path, what);
}

static struct gm_error *load_segments(struct gm_exe *exe, uint64_t e_phoff)
{
	size_t phnum;
	if (elf_getphdrnum(exe->elf, &phnum) != 0)
		return exe_error(exe->path, "cannot read program headers");
	exe->e_phnum = phnum;
	exe->segments = calloc(phnum ? phnum : 1, sizeof(*exe->segments));
	if (!exe->segments)
		return &gm_error_nomem;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(exe->elf, (int)i, &ph))
			return exe_error(exe->path, "corrupt program header");
		if (ph.p_type == PT_PHDR) {
			exe->phdr_vaddr = ph.p_vaddr;
			exe->have_phdr_vaddr = true;
		}
		if (ph.p_type != PT_LOAD)
			continue;
		if (!exe->have_phdr_vaddr && e_phoff >= ph.p_offset && e_phoff - ph.p_offset < ph.p_filesz) {
			exe->phdr_vaddr = ph.p_vaddr + (e_phoff - ph.p_offset);
			exe->have_phdr_vaddr = true;
		}
		if (ph.p_offset > exe->size || ph.p_filesz > exe->size - ph.p_offset ||
		    ph.p_filesz > ph.p_memsz)
			return exe_error(exe->path, "truncated or corrupt: a PT_LOAD segment runs past the end of the file");
		exe->segments[exe->nsegments++] = (struct gm_exe_segment){
			.vaddr = ph.p_vaddr, .memsz = ph.p_memsz,
			.offset = ph.p_offset, .filesz = ph.p_filesz, .flags = ph.p_flags,
		};
	}
	if (exe->nsegments == 0)
		return exe_error(exe->path, "no PT_LOAD segments");
	return NULL;
}

/* Record the Go and GNU build ID notes of the PT_NOTE segments. */
static struct gm_error *load_build_ids(struct gm_exe *exe)
{
	size_t phnum;
	if (elf_getphdrnum(exe->elf, &phnum) != 0)
		return NULL;
	struct gm_build_ids ids = { 0 };
	struct gm_error *err = NULL;
	for (size_t i = 0; i < phnum && !err; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(exe->elf, (int)i, &ph) || ph.p_type != PT_NOTE ||
		    ph.p_offset > exe->size || ph.p_filesz > exe->size - ph.p_offset)
			continue;
		err = gm_build_ids_scan(exe->data + ph.p_offset, ph.p_filesz, ph.p_vaddr, &ids);
	}
	if (err) {
		gm_build_ids_deinit(&ids);
		return err;
	}
	exe->go_build_id = ids.go;
	exe->go_build_id_note_vaddr = ids.go_note_vaddr;
	exe->go_build_id_note_size = ids.go_note_size;
	exe->gnu_build_id = ids.gnu;
	exe->gnu_build_id_note_vaddr = ids.gnu_note_vaddr;
	exe->gnu_build_id_note_size = ids.gnu_note_size;
	return NULL;
}

static Elf_Scn *find_section(struct gm_exe *exe, const char *want, GElf_Shdr *ret)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(exe->elf, &shstrndx) != 0)
		return NULL;
	for (Elf_Scn *scn = elf_nextscn(exe->elf, NULL); scn; scn = elf_nextscn(exe->elf, scn)) {
		GElf_Shdr shdr;
		if (!gelf_getshdr(scn, &shdr))
			continue;
		const char *name = elf_strptr(exe->elf, shstrndx, shdr.sh_name);
		if (name && strcmp(name, want) == 0) {
			*ret = shdr;
			return scn;
		}
	}
	return NULL;
}

bool gm_exe_section(const struct gm_exe *exe, const char *name, uint64_t *ret_addr, uint64_t *ret_size)
{
	GElf_Shdr shdr;
	if (!find_section((struct gm_exe *)exe, name, &shdr))
		return false;
	*ret_addr = shdr.sh_addr;
	*ret_size = shdr.sh_size;
	return true;
}

/* Parse the .go.buildinfo at P (LEN bytes) into the executable's fields. */
static struct gm_error *parse_buildinfo(struct gm_exe *exe, const uint8_t *p, size_t len)
{
	struct gm_buildinfo bi = { 0 };
	struct gm_error *err = gm_buildinfo_parse(p, len, exe->path, &bi);
	exe->go_version = bi.go_version;
	exe->go_experiments = bi.go_experiments;
	exe->goarch = bi.goarch;
	return err;
}

/* Find .go.buildinfo by section name, else search the first writable
 * non-executable segment for the 16-byte aligned magic (as debug/buildinfo). */
static struct gm_error *load_buildinfo(struct gm_exe *exe)
{
	GElf_Shdr shdr;
	if (find_section(exe, ".go.buildinfo", &shdr) && shdr.sh_type != SHT_NOBITS &&
	    shdr.sh_offset <= exe->size && shdr.sh_size <= exe->size - shdr.sh_offset)
		return parse_buildinfo(exe, exe->data + shdr.sh_offset, shdr.sh_size);
	for (size_t i = 0; i < exe->nsegments; i++) {
		const struct gm_exe_segment *seg = &exe->segments[i];
		if ((seg->flags & (PF_W | PF_X)) != PF_W)
			continue;
		size_t off;
		const uint8_t *p = exe->data + seg->offset;
		if (gm_buildinfo_find(p, seg->filesz, &off))
			return parse_buildinfo(exe, p + off, seg->filesz - off);
		break;
	}
	return NULL;
}

static int symbol_addr_compare(const void *a, const void *b)
{
	const struct gm_symbol *x = a, *y = b;
	if (x->addr != y->addr)
		return (x->addr > y->addr) - (x->addr < y->addr);
	return (x->size < y->size) - (x->size > y->size);
}

static int symbol_name_compare(const void *a, const void *b)
{
	const struct gm_symbol *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

static struct gm_error *load_symbols(struct gm_exe *exe)
{
	GElf_Shdr shdr;
	Elf_Scn *scn = find_section(exe, ".symtab", &shdr);
	if (!scn || shdr.sh_entsize == 0)
		return NULL; /* stripped (-s): no symbols, not an error */
	Elf_Data *data = elf_getdata(scn, NULL);
	if (!data)
		return exe_error(exe->path, "cannot read the symbol table");
	size_t count = shdr.sh_size / shdr.sh_entsize;
	exe->symbols = calloc(count ? count : 1, sizeof(*exe->symbols));
	if (!exe->symbols)
		return &gm_error_nomem;
	for (size_t i = 0; i < count; i++) {
		GElf_Sym sym;
		if (!gelf_getsym(data, (int)i, &sym))
			break;
		int type = GELF_ST_TYPE(sym.st_info);
		if ((type != STT_FUNC && type != STT_OBJECT) || sym.st_shndx == SHN_UNDEF)
			continue;
		const char *name = elf_strptr(exe->elf, shdr.sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		exe->symbols[exe->nsymbols++] = (struct gm_symbol){
			.addr = sym.st_value, .size = sym.st_size, .name = name,
			.is_func = type == STT_FUNC,
		};
	}
	qsort(exe->symbols, exe->nsymbols, sizeof(*exe->symbols), symbol_addr_compare);
	exe->by_name = calloc(exe->nsymbols ? exe->nsymbols : 1, sizeof(*exe->by_name));
	if (!exe->by_name)
		return &gm_error_nomem;
	for (size_t i = 0; i < exe->nsymbols; i++)
		exe->by_name[i] = &exe->symbols[i];
	qsort(exe->by_name, exe->nsymbols, sizeof(*exe->by_name), symbol_name_compare);
	return NULL;
}

static struct gm_error *exe_index(struct gm_exe *exe)
{
	GElf_Ehdr ehdr;
	if (elf_kind(exe->elf) != ELF_K_ELF || !gelf_getehdr(exe->elf, &ehdr))
		return exe_error(exe->path, "not an ELF file");
	if (ehdr.e_ident[EI_CLASS] != ELFCLASS64)
		return exe_error(exe->path, "not a 64-bit ELF file");
	if (ehdr.e_type == ET_CORE)
		return exe_error(exe->path, "is a core file, not an executable (arguments swapped?)");
	if (ehdr.e_type != ET_EXEC && ehdr.e_type != ET_DYN)
		return exe_error(exe->path, "not an executable (ELF type is neither EXEC nor DYN)");
	exe->e_type = ehdr.e_type;
	exe->e_machine = ehdr.e_machine;
	exe->e_entry = ehdr.e_entry;
	struct gm_error *err = load_segments(exe, ehdr.e_phoff);
	if (!err)
		err = load_build_ids(exe);
	if (!err)
		err = load_buildinfo(exe);
	if (!err)
		err = load_symbols(exe);
	GElf_Shdr shdr;
	exe->has_dwarf = find_section(exe, ".debug_info", &shdr) != NULL;
	return err;
}

struct gm_error *gm_exe_open(const char *path, struct gm_exe **ret)
{
	struct gm_exe *exe = calloc(1, sizeof(*exe));
	if (!exe)
		return &gm_error_nomem;
	exe->fd = -1;
	exe->path = strdup(path);
	if (!exe->path) {
		free(exe);
		return &gm_error_nomem;
	}
	struct gm_error *err = NULL;
	struct stat st;
	err = gm_open_regular_file(path, "executable", &exe->fd, &st);
	if (err)
		goto out;
	if (st.st_size == 0) {
		err = exe_error(path, "empty file");
		goto out;
	}
	elf_version(EV_CURRENT);
	exe->elf = elf_begin(exe->fd, ELF_C_READ_MMAP, NULL);
	size_t size = 0;
	char *raw = exe->elf ? elf_rawfile(exe->elf, &size) : NULL;
	if (!raw) {
		err = exe_error(path, "not an ELF file");
		goto out;
	}
	exe->data = (const uint8_t *)raw;
	exe->size = size;
	err = exe_index(exe);
out:
	if (err) {
		gm_exe_destroy(exe);
		return err;
	}
	*ret = exe;
	return NULL;
}

void gm_exe_destroy(struct gm_exe *exe)
{
	if (!exe)
		return;
	if (exe->elf)
		elf_end(exe->elf);
	if (exe->fd >= 0)
		close(exe->fd);
	free(exe->segments);
	free(exe->symbols);
	free(exe->by_name);
	free(exe->go_build_id);
	free(exe->gnu_build_id);
	free(exe->go_version);
	free(exe->go_experiments);
	free(exe->goarch);
	free(exe->path);
	free(exe);
}

const struct gm_symbol *gm_exe_symbol_at(const struct gm_exe *exe, uint64_t addr)
{
	size_t lo = 0, hi = exe->nsymbols;
	while (lo < hi) { /* first symbol with addr > ADDR */
		size_t mid = lo + (hi - lo) / 2;
		if (exe->symbols[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i-- > 0;) {
		const struct gm_symbol *sym = &exe->symbols[i];
		if (!sym->is_func && sym->size == 0)
			continue;
		if (addr < sym->addr + sym->size || (sym->size == 0 && sym->is_func))
			return sym;
		return NULL;
	}
	return NULL;
}

const struct gm_symbol *gm_exe_symbol_named(const struct gm_exe *exe, const char *name)
{
	size_t lo = 0, hi = exe->nsymbols;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(exe->by_name[mid]->name, name);
		if (c == 0)
			return exe->by_name[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const uint8_t *gm_exe_file_bytes(const struct gm_exe *exe, uint64_t vaddr, uint64_t len)
{
	for (size_t i = 0; i < exe->nsegments; i++) {
		const struct gm_exe_segment *seg = &exe->segments[i];
		if (vaddr >= seg->vaddr && len <= seg->filesz && vaddr - seg->vaddr <= seg->filesz - len &&
		    seg->offset <= exe->size && seg->filesz <= exe->size - seg->offset)
			return exe->data + seg->offset + (vaddr - seg->vaddr);
	}
	return NULL;
}
