/* native_files: the mappings, files, memory and symbols the native
 * unwinders share (see native_internal.h).
 *
 *  - memory: the core's saved bytes first, then the bytes of the file
 *    mapped there (text and .eh_frame the kernel did not dump).  Never the
 *    file first: the written data of a mapped file is in the core.
 *  - symbols: the file's .symtab and .dynsym and, when installed, the
 *    .symtab of its separate debug file (/usr/lib/debug/.build-id/xx/yyyy.debug),
 *    the function symbol containing the pc; else "file+0xOFF".
 *
 * Every file is read with bounds checks: a core names them, and a core may
 * be hostile.
 */
#include "native_internal.h"

#include <dwarf.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/files.h"

#define DEBUG_ROOT "/usr/lib/debug/.build-id/"
/* Caps on what is read from files named by an untrusted core. */
#define MAX_SYMBOLS (1u << 22)
#define MAX_FDE_COUNT (1u << 24)

/* ---------------------------------------------------------------- files */

const struct gm_core_file *native_map_at(const struct native_ctx *ctx, uint64_t addr, size_t *index)
{
	for (size_t i = 0; i < ctx->nmaps; i++) {
		const struct gm_core_file *f = &ctx->maps[i];
		if (addr >= f->start && addr < f->end) {
			*index = i;
			return f;
		}
	}
	return NULL;
}

static int symbol_cmp(const void *a, const void *b)
{
	const struct native_symbol *x = a, *y = b;
	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	return strcmp(x->name, y->name);
}

/* Add the function symbols of ELF's symbol tables (SHT_SYMTAB, SHT_DYNSYM). */
static void load_symbols(struct mapped_file *mf, Elf *elf)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		if (!gelf_getshdr(scn, &shdr) || (shdr.sh_type != SHT_SYMTAB && shdr.sh_type != SHT_DYNSYM) ||
		    shdr.sh_entsize == 0)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf)
			continue;
		size_t n = data->d_size / shdr.sh_entsize;
		if (n > MAX_SYMBOLS - mf->nsymbols)
			n = MAX_SYMBOLS - mf->nsymbols;
		struct native_symbol *grown = realloc(mf->symbols, (mf->nsymbols + n + 1) * sizeof(*grown));
		if (!grown)
			return;
		mf->symbols = grown;
		for (size_t i = 0; i < n; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(data, (int)i, &sym))
				break;
			int type = GELF_ST_TYPE(sym.st_info), bind = GELF_ST_BIND(sym.st_info);
			if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
			    sym.st_value == 0 || sym.st_size == 0)
				continue;
			const char *name = elf_strptr(elf, shdr.sh_link, sym.st_name);
			if (!name || !*name)
				continue;
			mf->symbols[mf->nsymbols++] = (struct native_symbol){
				.value = sym.st_value, .size = sym.st_size, .name = name,
				.rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2,
			};
		}
	}
}

/* An fd of PATH if it is a regular file, else -1: the core names these
 * files, and a FIFO or device among them must not block or feed us. */
int native_open_regular(const char *path)
{
	int fd;
	struct stat st;
	struct gm_error *err = gm_open_regular_file(path, NULL, &fd, &st);
	if (err) {
		gm_error_destroy(err);
		return -1;
	}
	return fd;
}

/* The separate debug file of ELF by build ID, if installed. */
static Elf *open_debug_file(Elf *elf, int *fd_ret)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_NOTE)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf)
			continue;
		GElf_Nhdr nhdr;
		size_t off = 0, name_off, desc_off;
		while ((off = gelf_getnote(data, off, &nhdr, &name_off, &desc_off)) > 0) {
			if (nhdr.n_type != NT_GNU_BUILD_ID || nhdr.n_namesz != 4 || nhdr.n_descsz < 2 ||
			    nhdr.n_descsz > 64 || memcmp((const char *)data->d_buf + name_off, "GNU", 4) != 0)
				continue;
			const uint8_t *id = (const uint8_t *)data->d_buf + desc_off;
			char path[sizeof(DEBUG_ROOT) + 2 * 64 + 16];
			int len = snprintf(path, sizeof(path), DEBUG_ROOT "%02x/", id[0]);
			for (size_t i = 1; i < nhdr.n_descsz; i++)
				len += snprintf(path + len, sizeof(path) - (size_t)len, "%02x", id[i]);
			snprintf(path + len, sizeof(path) - (size_t)len, ".debug");
			int fd = native_open_regular(path);
			if (fd < 0)
				return NULL;
			Elf *debug = elf_begin(fd, ELF_C_READ_MMAP, NULL);
			if (!debug || elf_kind(debug) != ELF_K_ELF) {
				elf_end(debug);
				close(fd);
				return NULL;
			}
			*fd_ret = fd;
			return debug;
		}
	}
	return NULL;
}

static bool pread_all(int fd, void *buf, size_t n, uint64_t off)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		done += (size_t)r;
	}
	return true;
}

/* Read the .eh_frame_hdr header: its search table must be the standard one
 * (datarel|sdata4 pairs), the only kind dwarf_search_unwind_table reads. */
static void load_eh_frame_hdr(struct mapped_file *mf, const GElf_Phdr *ph)
{
	uint8_t hdr[4 + 8 + 8];
	size_t have = ph->p_filesz < sizeof(hdr) ? (size_t)ph->p_filesz : sizeof(hdr);
	if (have < 12 || !pread_all(mf->fd, hdr, have, ph->p_offset))
		return;
	uint8_t version = hdr[0], ptr_enc = hdr[1], count_enc = hdr[2], table_enc = hdr[3];
	size_t ptr_size;
	switch (ptr_enc & 0x0f) {
	case DW_EH_PE_udata4: case DW_EH_PE_sdata4: ptr_size = 4; break;
	case DW_EH_PE_udata8: case DW_EH_PE_sdata8: ptr_size = 8; break;
	default: return;
	}
	if (version != 1 || table_enc != (DW_EH_PE_datarel | DW_EH_PE_sdata4))
		return;
	uint64_t count;
	size_t count_off = 4 + ptr_size, table_off;
	if (count_enc == DW_EH_PE_udata4 && count_off + 4 <= have) {
		uint32_t c;
		memcpy(&c, hdr + count_off, 4);
		count = c;
		table_off = count_off + 4;
	} else if (count_enc == DW_EH_PE_udata8 && count_off + 8 <= have) {
		memcpy(&count, hdr + count_off, 8);
		table_off = count_off + 8;
	} else {
		return;
	}
	if (count == 0 || count > MAX_FDE_COUNT || table_off + count * 8 > ph->p_filesz)
		return;
	mf->have_eh = true;
	mf->eh_vaddr = ph->p_vaddr;
	mf->eh_table_off = table_off;
	mf->eh_fde_count = count;
}

struct mapped_file *native_file(struct native_ctx *ctx, size_t index)
{
	if (index >= ctx->nmaps)
		return NULL;
	const char *path = ctx->maps[index].path;
	/* One entry per path: the first NT_FILE index naming it. */
	for (size_t i = 0; i < index; i++)
		if (ctx->files[i].path && strcmp(ctx->files[i].path, path) == 0) {
			index = i;
			break;
		}
	struct mapped_file *mf = &ctx->files[index];
	if (mf->tried)
		return mf->ok ? mf : NULL;
	mf->tried = true;
	mf->path = path;
	mf->fd = mf->debug_fd = -1;
	if (!path || path[0] != '/')
		return NULL;
	mf->fd = native_open_regular(path);
	if (mf->fd < 0)
		return NULL;
	mf->elf = elf_begin(mf->fd, ELF_C_READ_MMAP, NULL);
	size_t nph = 0;
	if (!mf->elf || elf_kind(mf->elf) != ELF_K_ELF || elf_getphdrnum(mf->elf, &nph) != 0 || nph == 0 ||
	    nph > 4096)
		return NULL; /* not ELF (a data file): its bytes are still read */
	mf->phdrs = calloc(nph, sizeof(*mf->phdrs));
	if (!mf->phdrs)
		return NULL;
	mf->min_vaddr = UINT64_MAX;
	for (size_t i = 0; i < nph; i++) {
		if (!gelf_getphdr(mf->elf, (int)i, &mf->phdrs[mf->nphdrs]))
			continue;
		const GElf_Phdr *ph = &mf->phdrs[mf->nphdrs++];
		if (ph->p_type == PT_LOAD) {
			if (ph->p_vaddr < mf->min_vaddr)
				mf->min_vaddr = ph->p_vaddr;
			if (ph->p_vaddr + ph->p_memsz > mf->max_vaddr)
				mf->max_vaddr = ph->p_vaddr + ph->p_memsz;
		} else if (ph->p_type == PT_GNU_EH_FRAME) {
			load_eh_frame_hdr(mf, ph);
		}
	}
	if (mf->min_vaddr >= mf->max_vaddr)
		return NULL;
	load_symbols(mf, mf->elf);
	native_load_plt_symbols(mf, mf->elf); /* out of memory: stubs unnamed */
	mf->debug_elf = open_debug_file(mf->elf, &mf->debug_fd);
	if (mf->debug_elf)
		load_symbols(mf, mf->debug_elf);
	if (mf->nsymbols)
		qsort(mf->symbols, mf->nsymbols, sizeof(*mf->symbols), symbol_cmp);
	mf->ok = true;
	return mf;
}

/* The fd of the file of NT_FILE entry INDEX (opened even if not ELF), -1. */
static int file_fd(struct native_ctx *ctx, size_t index)
{
	struct mapped_file *mf = native_file(ctx, index);
	if (mf)
		return mf->fd;
	for (size_t i = 0; i <= index && i < ctx->nmaps; i++)
		if (ctx->files[i].path && strcmp(ctx->files[i].path, ctx->maps[index].path) == 0)
			return ctx->files[i].fd;
	return -1;
}

uint64_t native_load_bias(const struct mapped_file *mf, const struct gm_core_file *f)
{
	uint64_t len = f->end - f->start;
	for (size_t i = 0; i < mf->nphdrs; i++) {
		const GElf_Phdr *ph = &mf->phdrs[i];
		if (ph->p_type == PT_LOAD && ph->p_offset >= f->file_offset &&
		    ph->p_offset - f->file_offset < len && ph->p_vaddr >= ph->p_offset - f->file_offset)
			return f->start - (ph->p_vaddr - (ph->p_offset - f->file_offset));
	}
	return f->start - f->file_offset;
}

void native_ctx_free(struct native_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nmaps; i++) {
		struct mapped_file *mf = &ctx->files[i];
		if (!mf->tried)
			continue;
		free(mf->symbols);
		free(mf->plt_names);
		free(mf->phdrs);
		elf_end(mf->debug_elf);
		elf_end(mf->elf);
		if (mf->debug_fd >= 0)
			close(mf->debug_fd);
		if (mf->fd >= 0)
			close(mf->fd);
	}
	free(ctx->files);
}

/* --------------------------------------------------------------- memory */

bool native_read_mem(struct native_ctx *ctx, uint64_t addr, void *buf, size_t n)
{
	const struct gm_core *core = ctx->core;
	if (addr + n < addr)
		return false;
	for (size_t i = 0; i < core->nsegments; i++) {
		const struct gm_core_segment *s = &core->segments[i];
		if (addr >= s->vaddr && addr - s->vaddr < s->filesz && n <= s->filesz - (addr - s->vaddr)) {
			uint64_t off = s->offset + (addr - s->vaddr);
			if (off > core->size || n > core->size - off)
				return false;
			memcpy(buf, core->data + off, n);
			return true;
		}
	}
	size_t index;
	const struct gm_core_file *f = native_map_at(ctx, addr, &index);
	if (!f || n > f->end - addr)
		return false;
	int fd = file_fd(ctx, index);
	return fd >= 0 && pread_all(fd, buf, n, addr - f->start + f->file_offset);
}

/* ------------------------------------------------------------- symbols */

/* The function symbol of the file mapped at PC containing PC, and PC's offset in it. */
static const struct native_symbol *symbol_containing(struct native_ctx *ctx, uint64_t pc, uint64_t *off)
{
	size_t index;
	const struct gm_core_file *f = native_map_at(ctx, pc, &index);
	struct mapped_file *mf = f ? native_file(ctx, index) : NULL;
	if (!mf || !mf->nsymbols)
		return NULL;
	uint64_t addr = pc - native_load_bias(mf, f);
	/* Last symbol with value <= addr, then back to the first one containing addr. */
	size_t lo = 0, hi = mf->nsymbols;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (mf->symbols[mid].value <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	const struct native_symbol *best = NULL;
	for (size_t i = lo, steps = 0; i > 0 && steps < 256; i--, steps++) {
		const struct native_symbol *s = &mf->symbols[i - 1];
		if (best && s->value < best->value)
			break;
		if (addr - s->value < s->size)
			best = s; /* same value: the sort put the preferred binding first */
	}
	if (best)
		*off = addr - best->value;
	return best;
}

bool native_symbol_at(struct native_ctx *ctx, uint64_t pc, const char **name, uint64_t *off)
{
	const struct native_symbol *s = symbol_containing(ctx, pc, off);
	if (s)
		*name = s->name;
	return s != NULL;
}

bool native_pc_in_plt(struct native_ctx *ctx, uint64_t pc)
{
	uint64_t off;
	const struct native_symbol *s = symbol_containing(ctx, pc, &off);
	return s && s->plt;
}

char *native_symbolize(struct native_ctx *ctx, uint64_t pc, uint64_t lookup, bool *nomem)
{
	const char *name;
	uint64_t off;
	char *sym = NULL;
	int rc;
	size_t index;
	const struct gm_core_file *f;
	if (native_symbol_at(ctx, lookup, &name, &off)) {
		rc = asprintf(&sym, "%s+0x%" PRIx64, name, off + (pc - lookup));
	} else if ((f = native_map_at(ctx, lookup, &index)) && f->path) {
		const char *base = strrchr(f->path, '/');
		base = base && base[1] ? base + 1 : f->path;
		rc = asprintf(&sym, "%s+0x%" PRIx64, base, pc - f->start + f->file_offset);
	} else {
		return NULL;
	}
	if (rc < 0) {
		*nomem = true;
		return NULL;
	}
	return sym;
}

static void stack_free(struct gm_native_stack *s)
{
	for (size_t i = 0; i < s->count; i++)
		free(s->frames[i].symbol);
	free(s->frames);
	s->frames = NULL;
	s->count = 0;
}

void gm_native_stacks_free(struct gm_native_stack *stacks, size_t count)
{
	if (!stacks)
		return;
	for (size_t i = 0; i < count; i++)
		stack_free(&stacks[i]);
	free(stacks);
}

bool native_push_frame(struct gm_native_stack *s, size_t max, uint64_t pc, char *symbol, bool native)
{
	if (!s->frames) {
		s->frames = calloc(max, sizeof(*s->frames));
		if (!s->frames) {
			free(symbol);
			return false;
		}
	}
	s->frames[s->count++] = (struct gm_native_frame){ .pc = pc, .symbol = symbol, .native = native };
	return true;
}


bool native_ctx_init(struct native_ctx *ctx, const struct gm_core *core, const struct gm_core_file *maps,
		     size_t nmaps)
{
	*ctx = (struct native_ctx){ .core = core, .maps = maps, .nmaps = nmaps };
	ctx->files = calloc(nmaps + 1, sizeof(*ctx->files));
	return ctx->files != NULL;
}
