/* native_linkmap: the file-backed mappings of a core of another machine.
 *
 * A core qemu-user writes has no NT_FILE note; a core from the machine
 * itself has one, but its paths are that machine's.  The libraries were
 * loaded by the dynamic linker, which keeps their list where a debugger
 * finds it: the executable's DT_DEBUG entry (in its .dynamic, in the core's
 * memory) points to the r_debug structure, whose r_map heads the link_map
 * list; each entry gives the library's load bias (l_addr), its path (l_name)
 * and the address of its .dynamic (l_ld).  The files are read under the
 * sysroot (the other machine's root); a library is used only when it is an
 * ELF file of the core's machine whose .dynamic, moved by l_addr, is where
 * l_ld says: otherwise it is not the file that was loaded.
 *
 * The r_debug and link_map layouts are glibc's <link.h> ABI for LP64 (no
 * DWARF describes the dynamic linker's structures in the core), the same on
 * every 64-bit Linux.
 */
#include "native_internal.h"

#include <elf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* struct r_debug / struct link_map (LP64). */
#define R_DEBUG_MAP 8
#define LINK_MAP_ADDR 0
#define LINK_MAP_NAME 8
#define LINK_MAP_LD 16
#define LINK_MAP_NEXT 24
/* Caps (a core may be hostile). */
#define MAX_LIBRARIES 1024
#define MAX_DYNAMIC 4096
#define MAX_PATH_LEN 4096
#define MAX_PHDRS 4096

struct maps_builder {
	struct gm_core_file *maps;
	size_t n, cap;
};

static bool add_map(struct maps_builder *b, const char *path, uint64_t start, uint64_t end, uint64_t offset)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 16;
		struct gm_core_file *grown = realloc(b->maps, cap * sizeof(*grown));
		if (!grown)
			return false;
		b->maps = grown;
		b->cap = cap;
	}
	char *copy = strdup(path);
	if (!copy)
		return false;
	b->maps[b->n++] = (struct gm_core_file){ .start = start, .end = end, .file_offset = offset, .path = copy };
	return true;
}

void native_maps_free(struct gm_core_file *maps, size_t nmaps)
{
	for (size_t i = 0; maps && i < nmaps; i++)
		free((char *)maps[i].path);
	free(maps);
}

/* An ELF file's program headers (malloc'd) and header, or false. */
struct elf_view {
	GElf_Ehdr ehdr;
	GElf_Phdr *phdrs;
	size_t nphdrs;
};

static bool read_elf_view(const char *path, struct elf_view *v)
{
	*v = (struct elf_view){ 0 };
	int fd = native_open_regular(path);
	if (fd < 0)
		return false;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	size_t nph = 0;
	bool ok = elf && elf_kind(elf) == ELF_K_ELF && gelf_getehdr(elf, &v->ehdr) &&
		  elf_getphdrnum(elf, &nph) == 0 && nph > 0 && nph <= MAX_PHDRS &&
		  (v->phdrs = calloc(nph, sizeof(*v->phdrs)));
	for (size_t i = 0; ok && i < nph; i++)
		if (gelf_getphdr(elf, (int)i, &v->phdrs[v->nphdrs]))
			v->nphdrs++;
	elf_end(elf);
	close(fd);
	if (!ok) {
		free(v->phdrs);
		v->phdrs = NULL;
	}
	return ok;
}

static const GElf_Phdr *find_phdr(const struct elf_view *v, uint32_t type)
{
	for (size_t i = 0; i < v->nphdrs; i++)
		if (v->phdrs[i].p_type == type)
			return &v->phdrs[i];
	return NULL;
}

/* The PT_LOADs of file PATH, moved by BIAS. */
static bool add_loads(struct maps_builder *b, const char *path, const struct elf_view *v, uint64_t bias)
{
	for (size_t i = 0; i < v->nphdrs; i++) {
		const GElf_Phdr *ph = &v->phdrs[i];
		if (ph->p_type != PT_LOAD || ph->p_filesz == 0)
			continue;
		uint64_t start = bias + ph->p_vaddr;
		if (!add_map(b, path, start, start + ph->p_filesz, ph->p_offset))
			return false;
	}
	return true;
}

/* SYSROOT + PATH (malloc'd), NULL when out of memory. */
static char *under_sysroot(const char *sysroot, const char *path)
{
	char *full = NULL;
	if (!sysroot || !*sysroot)
		sysroot = "";
	size_t len = strlen(sysroot);
	while (len > 0 && sysroot[len - 1] == '/')
		len--;
	return asprintf(&full, "%.*s%s", (int)len, sysroot, path) < 0 ? NULL : full;
}

static bool read_u64(struct native_ctx *ctx, uint64_t addr, uint64_t *ret)
{
	return native_read_mem(ctx, addr, ret, sizeof(*ret));
}

/* The NUL-terminated string at ADDR into BUF (MAX_PATH_LEN); false if unreadable or too long. */
static bool read_string(struct native_ctx *ctx, uint64_t addr, char *buf)
{
	/* By chunks of 64 bytes; byte by byte where a chunk crosses the end of
	 * what is readable. */
	enum { CHUNK = 64 };
	for (size_t i = 0; i < MAX_PATH_LEN; i += CHUNK) {
		if (!native_read_mem(ctx, addr + i, &buf[i], CHUNK)) {
			for (size_t j = i; j < i + CHUNK; j++) {
				if (!native_read_mem(ctx, addr + j, &buf[j], 1))
					return false;
				if (!buf[j])
					return true;
			}
		}
		if (memchr(&buf[i], 0, CHUNK))
			return true;
	}
	return false;
}

/* r_debug.r_map from the DT_DEBUG entry of the executable's .dynamic at
 * DYN_ADDR (DYN_SIZE bytes); 0 when there is none (a static executable, or
 * the dynamic linker had not started). */
static uint64_t link_map_head(struct native_ctx *ctx, uint64_t dyn_addr, uint64_t dyn_size)
{
	for (uint64_t i = 0; i < dyn_size / 16 && i < MAX_DYNAMIC; i++) {
		uint64_t tag, val, head;
		if (!read_u64(ctx, dyn_addr + 16 * i, &tag) || !read_u64(ctx, dyn_addr + 16 * i + 8, &val) ||
		    tag == DT_NULL)
			return 0;
		if (tag == DT_DEBUG)
			return val && read_u64(ctx, val + R_DEBUG_MAP, &head) ? head : 0;
	}
	return 0;
}

/* Add the library of link_map entry (L_ADDR, NAME, L_LD) if it is found
 * under the sysroot and matches; count it in *MISSING if not. */
static bool add_library(struct maps_builder *b, const struct gm_core *core, const char *sysroot,
			const char *name, uint64_t l_addr, uint64_t l_ld, size_t *missing)
{
	char *path = under_sysroot(sysroot, name);
	if (!path)
		return false;
	struct elf_view v;
	bool ok = true;
	if (read_elf_view(path, &v)) {
		const GElf_Phdr *dyn = find_phdr(&v, PT_DYNAMIC);
		if (v.ehdr.e_machine == core->e_machine && dyn && l_addr + dyn->p_vaddr == l_ld)
			ok = add_loads(b, path, &v, l_addr);
		else
			++*missing;
		free(v.phdrs);
	} else {
		++*missing;
	}
	free(path);
	return ok;
}

/* Walk the link_map list at HEAD, adding the libraries to B. */
static bool add_libraries(struct maps_builder *b, struct native_ctx *ctx, const char *sysroot, uint64_t head,
			  size_t *missing)
{
	char *name = malloc(MAX_PATH_LEN);
	if (!name)
		return false;
	bool ok = true;
	uint64_t entry = head, seen[MAX_LIBRARIES];
	for (size_t i = 0; ok && entry && i < MAX_LIBRARIES; i++) {
		/* A corrupt list may loop. */
		for (size_t j = 0; j < i; j++)
			if (seen[j] == entry)
				entry = 0;
		if (!entry)
			break;
		seen[i] = entry;
		uint64_t l_addr, l_name, l_ld, next;
		if (!read_u64(ctx, entry + LINK_MAP_ADDR, &l_addr) || !read_u64(ctx, entry + LINK_MAP_NAME, &l_name) ||
		    !read_u64(ctx, entry + LINK_MAP_LD, &l_ld) || !read_u64(ctx, entry + LINK_MAP_NEXT, &next)) {
			++*missing;
			break;
		}
		/* The executable's own entry has an empty name; the vDSO's is
		 * not a path (it is no file). */
		if (l_name && read_string(ctx, l_name, name) && name[0] == '/')
			ok = add_library(b, ctx->core, sysroot, name, l_addr, l_ld, missing);
		entry = next;
	}
	free(name);
	return ok;
}

/* A core with NT_FILE: its mappings, the paths moved under the sysroot. */
static struct gm_error *maps_from_nt_file(const struct gm_core *core, const char *sysroot,
					  struct maps_builder *b)
{
	for (size_t i = 0; i < core->nfiles; i++) {
		const struct gm_core_file *f = &core->files[i];
		if (!f->path || f->path[0] != '/')
			continue;
		char *path = under_sysroot(sysroot, f->path);
		bool ok = path && add_map(b, path, f->start, f->end, f->file_offset);
		free(path);
		if (!ok)
			return &gm_error_nomem;
	}
	return NULL;
}

/* The executable's PT_LOADs into B; *DYN_ADDR and *DYN_SIZE its .dynamic (size 0: none). */
static struct gm_error *add_executable(const struct gm_core *core, const char *exe_path, struct maps_builder *b,
				       uint64_t *dyn_addr, uint64_t *dyn_size)
{
	struct elf_view v;
	char *abs_path = realpath(exe_path, NULL);
	if (!abs_path || !read_elf_view(abs_path, &v)) {
		free(abs_path);
		return gm_error_create(GM_ERR_BAD_CORE, "%s: cannot read the executable %s as ELF", core->path,
				       exe_path);
	}
	struct gm_error *err = NULL;
	uint64_t bias = 0, at_entry;
	if (v.ehdr.e_machine != core->e_machine) {
		err = gm_error_create(GM_ERR_BAD_CORE, "%s: the executable %s is not of the core's machine",
				      core->path, exe_path);
	} else if (v.ehdr.e_type == ET_DYN) {
		/* PIE: the auxv's AT_ENTRY is the entry point where it was loaded. */
		if (gm_core_auxv(core, AT_ENTRY, &at_entry))
			bias = at_entry - v.ehdr.e_entry;
		else
			err = gm_error_create(GM_ERR_BAD_CORE, "%s: no AT_ENTRY in the core's auxv: where the "
					      "position-independent executable was loaded is unknown", core->path);
	}
	if (!err && !add_loads(b, abs_path, &v, bias))
		err = &gm_error_nomem;
	const GElf_Phdr *dyn = find_phdr(&v, PT_DYNAMIC);
	*dyn_addr = dyn ? bias + dyn->p_vaddr : 0;
	*dyn_size = dyn ? dyn->p_memsz : 0;
	free(v.phdrs);
	free(abs_path);
	return err;
}

struct gm_error *native_linkmap_maps(const struct gm_core *core, struct gm_native_where *where,
				     struct gm_core_file **maps, size_t *nmaps, size_t *missing)
{
	struct maps_builder b = { 0 };
	*missing = 0;
	struct gm_error *err = NULL;
	if (core->nfiles > 0) {
		err = maps_from_nt_file(core, where->sysroot, &b);
	} else if (!where->exe_path) {
		err = gm_error_create(GM_ERR_BAD_CORE, "%s: the core names no files (no NT_FILE note) and no "
				      "executable was given: the loaded libraries cannot be found", core->path);
	} else {
		uint64_t dyn_addr = 0, dyn_size = 0;
		err = add_executable(core, where->exe_path, &b, &dyn_addr, &dyn_size);
		/* The link_map is read through the executable's mappings (its
		 * .dynamic is in the core; a library's strings too). */
		struct native_ctx ctx;
		if (!err && dyn_size && !native_ctx_init(&ctx, core, b.maps, b.n))
			err = &gm_error_nomem;
		else if (!err && dyn_size) {
			struct maps_builder libs = { 0 };
			uint64_t head = link_map_head(&ctx, dyn_addr, dyn_size);
			bool ok = add_libraries(&libs, &ctx, where->sysroot, head, missing);
			native_ctx_free(&ctx);
			for (size_t i = 0; ok && i < libs.n; i++)
				ok = add_map(&b, libs.maps[i].path, libs.maps[i].start, libs.maps[i].end,
					     libs.maps[i].file_offset);
			native_maps_free(libs.maps, libs.n);
			if (!ok)
				err = &gm_error_nomem;
		}
	}
	if (err) {
		native_maps_free(b.maps, b.n);
		return err;
	}
	*maps = b.maps;
	*nmaps = b.n;
	return NULL;
}
