/* native_unwind: native frames of a core's threads with libunwind-coredump.
 *
 * libunwind-coredump 1.6.2 (Debian 12) reads the threads' registers well,
 * but its unwind-table lookup does not: it maps each NT_FILE file onto the
 * core's PT_LOADs yet calls the table search with a file offset of 0, so for
 * a library whose text is not its first PT_LOAD (libc.so.6 since binutils'
 * separate-code layout: r-- at 0, r-x at 0x26000) the load base comes out
 * wrong and no FDE is found (fixed only after 1.8.3).  So libunwind's DWARF
 * engine is driven through accessors of our own, and libunwind-coredump only
 * provides the registers (_UCD_access_reg, _UCD_access_fpreg, thread
 * selection):
 *
 *  - memory: the core's saved bytes first, then the bytes of the file that
 *    NT_FILE maps there (text and .eh_frame the kernel did not dump).  Never
 *    the file first: the written data of a mapped file is in the core.
 *  - unwind tables: the mapping of the pc from NT_FILE, its file's
 *    PT_GNU_EH_FRAME (.eh_frame_hdr binary search table) relocated by the
 *    mapping's load bias, searched by libunwind's dwarf_search_unwind_table
 *    (exported as _U<arch>_dwarf_search_unwind_table, as libunwind-ptrace
 *    uses it).
 *  - symbols: the file's .symtab and .dynsym and, when installed, the
 *    .symtab of its separate debug file (/usr/lib/debug/.build-id/xx/yyyy.debug),
 *    the function symbol containing the pc; else "file+0xOFF".
 *
 * The core has been validated by gm_core_open() before libunwind sees it;
 * every file is read with bounds checks.  libunwind's walk is bounded here:
 * MAX_FRAMES frames, the stack pointer must increase from frame to frame, a
 * zero pc ends the stack, and the stack stops at the first frame in Go code
 * (Go has no .eh_frame: libunwind would fall back to frame-pointer
 * heuristics there; the Go unwinder is the authority past that point).
 */
#include "native_unwind.h"

#include <dwarf.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <libunwind-coredump.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf_core.h"
#include "../util/files.h"

/* libunwind's table search (not in its public headers; exported). */
extern int UNW_OBJ(dwarf_search_unwind_table)(unw_addr_space_t as, unw_word_t ip, unw_dyn_info_t *di,
					      unw_proc_info_t *pi, int need_unwind_info, void *arg);

#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#else
#define HOST_MACHINE EM_NONE
#endif

#define DEBUG_ROOT "/usr/lib/debug/.build-id/"
/* Caps on what is read from files named by an untrusted core. */
#define MAX_FILES 4096
#define MAX_SYMBOLS (1u << 22)
#define MAX_FDE_COUNT (1u << 24)

struct symbol {
	uint64_t value, size; /* link-time address */
	const char *name;     /* points into the Elf's string table */
	int rank;             /* 0 global, 1 weak, 2 local: preferred in this order */
};

/* A file named by NT_FILE, opened on first use. */
struct mapped_file {
	const char *path;     /* points into the core */
	bool tried, ok;
	int fd;
	Elf *elf, *debug_elf;
	int debug_fd;
	GElf_Phdr *phdrs;
	size_t nphdrs;
	bool have_eh;         /* a usable .eh_frame_hdr */
	uint64_t eh_vaddr, eh_table_off, eh_fde_count;
	uint64_t min_vaddr, max_vaddr; /* PT_LOAD span */
	struct symbol *symbols; /* sorted by value */
	size_t nsymbols;
};

struct unwind_ctx {
	const struct gm_core *core;
	struct UCD_info *ui;
	struct mapped_file *files; /* parallel to core->files, by path */
	size_t nfiles;
};

/* ---------------------------------------------------------------- files */

/* The NT_FILE mapping holding ADDR, NULL if none. */
static const struct gm_core_file *file_at(const struct gm_core *core, uint64_t addr, size_t *index)
{
	for (size_t i = 0; i < core->nfiles; i++) {
		const struct gm_core_file *f = &core->files[i];
		if (addr >= f->start && addr < f->end) {
			*index = i;
			return f;
		}
	}
	return NULL;
}

static int symbol_cmp(const void *a, const void *b)
{
	const struct symbol *x = a, *y = b;
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
		struct symbol *grown = realloc(mf->symbols, (mf->nsymbols + n + 1) * sizeof(*grown));
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
			mf->symbols[mf->nsymbols++] = (struct symbol){
				.value = sym.st_value, .size = sym.st_size, .name = name,
				.rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2,
			};
		}
	}
}

/* The separate debug file of ELF by build ID, if installed. */
/* An fd of PATH if it is a regular file, else -1: the core names these
 * files, and a FIFO or device among them must not block or feed us. */
static int open_regular(const char *path)
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
			int fd = open_regular(path);
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

static struct mapped_file *get_file(struct unwind_ctx *ctx, size_t index)
{
	if (index >= ctx->nfiles)
		return NULL;
	const char *path = ctx->core->files[index].path;
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
	mf->fd = open_regular(path);
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
	mf->debug_elf = open_debug_file(mf->elf, &mf->debug_fd);
	if (mf->debug_elf)
		load_symbols(mf, mf->debug_elf);
	if (mf->nsymbols)
		qsort(mf->symbols, mf->nsymbols, sizeof(*mf->symbols), symbol_cmp);
	mf->ok = true;
	return mf;
}

/* The fd of the file of NT_FILE entry INDEX (opened even if not ELF), -1. */
static int file_fd(struct unwind_ctx *ctx, size_t index)
{
	struct mapped_file *mf = get_file(ctx, index);
	if (mf)
		return mf->fd;
	for (size_t i = 0; i <= index && i < ctx->nfiles; i++)
		if (ctx->files[i].path && strcmp(ctx->files[i].path, ctx->core->files[index].path) == 0)
			return ctx->files[i].fd;
	return -1;
}

/* Load bias of the mapping F of MF: run-time address - link-time address. */
static uint64_t load_bias(const struct mapped_file *mf, const struct gm_core_file *f)
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

static void files_free(struct unwind_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nfiles; i++) {
		struct mapped_file *mf = &ctx->files[i];
		if (!mf->tried)
			continue;
		free(mf->symbols);
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

/* Read N bytes at ADDR: the core's saved bytes, else the mapped file's. */
static bool read_mem(struct unwind_ctx *ctx, uint64_t addr, void *buf, size_t n)
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
	const struct gm_core_file *f = file_at(core, addr, &index);
	if (!f || n > f->end - addr)
		return false;
	int fd = file_fd(ctx, index);
	return fd >= 0 && pread_all(fd, buf, n, addr - f->start + f->file_offset);
}

/* ------------------------------------------------------------- symbols */

/* The function containing PC: name and offset; false if none. */
static bool symbol_at(struct unwind_ctx *ctx, uint64_t pc, const char **name, uint64_t *off)
{
	size_t index;
	const struct gm_core_file *f = file_at(ctx->core, pc, &index);
	struct mapped_file *mf = f ? get_file(ctx, index) : NULL;
	if (!mf || !mf->nsymbols)
		return false;
	uint64_t addr = pc - load_bias(mf, f);
	/* Last symbol with value <= addr, then back to the first one containing addr. */
	size_t lo = 0, hi = mf->nsymbols;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (mf->symbols[mid].value <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	const struct symbol *best = NULL;
	for (size_t i = lo, steps = 0; i > 0 && steps < 256; i--, steps++) {
		const struct symbol *s = &mf->symbols[i - 1];
		if (best && s->value < best->value)
			break;
		if (addr - s->value < s->size)
			best = s; /* same value: the sort put the preferred binding first */
	}
	if (!best)
		return false;
	*name = best->name;
	*off = addr - best->value;
	return true;
}

/* The name of frame PC, looked up at LOOKUP (pc, or pc - 1 for a return
 * address): "func+0xOFF", "file+0xOFF" or NULL.  *NOMEM on allocation failure. */
static char *symbolize(struct unwind_ctx *ctx, uint64_t pc, uint64_t lookup, bool *nomem)
{
	const char *name;
	uint64_t off;
	char *sym = NULL;
	int rc;
	size_t index;
	const struct gm_core_file *f;
	if (symbol_at(ctx, lookup, &name, &off)) {
		rc = asprintf(&sym, "%s+0x%" PRIx64, name, off + (pc - lookup));
	} else if ((f = file_at(ctx->core, lookup, &index)) && f->path) {
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

/* ------------------------------------------------------------ accessors */

static int acc_find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
			      int need_unwind_info, void *arg)
{
	struct unwind_ctx *ctx = arg;
	size_t index;
	const struct gm_core_file *f = file_at(ctx->core, ip, &index);
	struct mapped_file *mf = f ? get_file(ctx, index) : NULL;
	if (!mf || !mf->have_eh)
		return -UNW_ENOINFO;
	uint64_t bias = load_bias(mf, f);
	unw_dyn_info_t di;
	memset(&di, 0, sizeof(di));
	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.start_ip = bias + mf->min_vaddr;
	di.end_ip = bias + mf->max_vaddr;
	di.u.rti.segbase = bias + mf->eh_vaddr;
	di.u.rti.table_data = bias + mf->eh_vaddr + mf->eh_table_off;
	di.u.rti.table_len = mf->eh_fde_count * 8 / sizeof(unw_word_t);
	return UNW_OBJ(dwarf_search_unwind_table)(as, ip, &di, pi, need_unwind_info, arg);
}

static void acc_put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	_UCD_put_unwind_info(as, pi, ((struct unwind_ctx *)arg)->ui);
}

static int acc_get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
	(void)as, (void)addr, (void)arg;
	return -UNW_ENOINFO;
}

static int acc_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
	(void)as;
	if (write)
		return -UNW_EINVAL;
	return read_mem(arg, addr, val, sizeof(*val)) ? 0 : -UNW_EINVAL;
}

static int acc_access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write, void *arg)
{
	if (write)
		return -UNW_EINVAL;
	return _UCD_access_reg(as, reg, val, 0, ((struct unwind_ctx *)arg)->ui);
}

static int acc_access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write, void *arg)
{
	if (write)
		return -UNW_EINVAL;
	return _UCD_access_fpreg(as, reg, val, 0, ((struct unwind_ctx *)arg)->ui);
}

static int acc_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	(void)as, (void)c, (void)arg;
	return -UNW_EINVAL;
}

static int acc_get_proc_name(unw_addr_space_t as, unw_word_t ip, char *buf, size_t len, unw_word_t *offp,
			     void *arg)
{
	(void)as;
	const char *name;
	uint64_t off;
	if (!symbol_at(arg, ip, &name, &off))
		return -UNW_ENOINFO;
	if (len == 0)
		return -UNW_ENOMEM;
	snprintf(buf, len, "%s", name);
	if (offp)
		*offp = off;
	return strlen(name) < len ? 0 : -UNW_ENOMEM;
}

/* -------------------------------------------------------------- unwind */

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

/* Append a frame; false on allocation failure (the symbol is then freed). */
static bool push_frame(struct gm_native_stack *s, size_t max, uint64_t pc, char *symbol, bool native)
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

/* libunwind-coredump's index of thread TID, -1 if it does not know it. */
static int ucd_thread_index(struct UCD_info *ui, int nthreads, int32_t tid)
{
	for (int i = 0; i < nthreads; i++) {
		_UCD_select_thread(ui, i);
		if (_UCD_get_pid(ui) == tid)
			return i;
	}
	return -1;
}

/* Unwind thread UCD_INDEX (pc PC0) into S.  False only when out of memory. */
static bool unwind_thread(struct unwind_ctx *ctx, unw_addr_space_t as, int ucd_index, uint64_t pc0,
			  bool (*is_native)(uint64_t, void *), void *arg, size_t max,
			  struct gm_native_stack *s)
{
	bool nomem = false;
	unw_cursor_t cursor;
	unw_word_t ip = 0, sp = 0;
	s->stop = "error";
	if (ucd_index >= 0)
		_UCD_select_thread(ctx->ui, ucd_index);
	if (ucd_index < 0 || unw_init_remote(&cursor, as, ctx) < 0 ||
	    unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || unw_get_reg(&cursor, UNW_REG_SP, &sp) < 0 ||
	    (uint64_t)ip != pc0) {
		/* libunwind cannot start (or disagrees about the pc): the pc alone. */
		char *sym = symbolize(ctx, pc0, pc0, &nomem);
		return !nomem && push_frame(s, max, pc0, sym, true);
	}
	bool exact_pc = true; /* frame 0, or the frame a signal interrupted */
	for (;;) {
		bool native = !is_native || s->count == 0 || is_native((uint64_t)ip, arg);
		uint64_t lookup = exact_pc ? (uint64_t)ip : (uint64_t)ip - 1;
		char *sym = symbolize(ctx, ip, lookup, &nomem);
		if (nomem || !push_frame(s, max, ip, sym, native))
			return false;
		if (!native) {
			s->stop = "go";
			return true;
		}
		if (s->count >= max) {
			s->stop = "max";
			return true;
		}
		exact_pc = unw_is_signal_frame(&cursor) > 0;
		unw_word_t prev_sp = sp;
		int step = unw_step(&cursor);
		if (step == 0) {
			s->stop = "end";
			return true;
		}
		if (step < 0 || unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 ||
		    unw_get_reg(&cursor, UNW_REG_SP, &sp) < 0) {
			s->stop = "error";
			return true;
		}
		if (ip == 0) {
			s->stop = "pc0";
			return true;
		}
		if (sp <= prev_sp) {
			s->stop = "sp";
			return true;
		}
	}
}

struct gm_error *gm_native_unwind_core(const struct gm_core *core,
				       bool (*is_native)(uint64_t pc, void *arg), void *arg,
				       size_t max_frames, struct gm_native_stack **ret,
				       size_t *ret_count)
{
	if (max_frames == 0)
		max_frames = GM_NATIVE_DEFAULT_MAX_FRAMES;
	/* Only the threads in native code. */
	size_t n = 0;
	for (size_t i = 0; i < core->nthreads; i++)
		if (!is_native || is_native(gm_core_thread_pc(core, &core->threads[i]), arg))
			n++;
	if (n == 0) {
		*ret = NULL;
		*ret_count = 0;
		return NULL;
	}
	if (core->e_machine != HOST_MACHINE)
		return gm_error_create(GM_ERR_BAD_CORE,
				       "%s: native frames unavailable: the core is %s and libunwind-coredump unwinds "
				       "only the host's architecture",
				       core->path, gm_arch_name(core->arch));
	elf_version(EV_CURRENT);
	struct unwind_ctx ctx = { .core = core, .nfiles = core->nfiles < MAX_FILES ? core->nfiles : MAX_FILES };
	struct gm_native_stack *stacks = calloc(n, sizeof(*stacks));
	ctx.files = calloc(ctx.nfiles + 1, sizeof(*ctx.files));
	if (!stacks || !ctx.files) {
		free(stacks);
		free(ctx.files);
		return &gm_error_nomem;
	}
	ctx.ui = _UCD_create(core->file_path ? core->file_path : core->path);
	if (!ctx.ui) {
		free(stacks);
		free(ctx.files);
		return gm_error_create(GM_ERR_BAD_CORE, "%s: libunwind-coredump cannot read the core",
				       core->path);
	}
	unw_accessors_t accessors = {
		.find_proc_info = acc_find_proc_info,
		.put_unwind_info = acc_put_unwind_info,
		.get_dyn_info_list_addr = acc_get_dyn_info_list_addr,
		.access_mem = acc_access_mem,
		.access_reg = acc_access_reg,
		.access_fpreg = acc_access_fpreg,
		.resume = acc_resume,
		.get_proc_name = acc_get_proc_name,
	};
	unw_addr_space_t as = unw_create_addr_space(&accessors, 0);
	struct gm_error *err = NULL;
	size_t k = 0;
	if (!as) {
		err = &gm_error_nomem;
	} else {
		int nthreads = _UCD_get_num_threads(ctx.ui);
		for (size_t i = 0; i < core->nthreads && k < n; i++) {
			const struct gm_core_thread *t = &core->threads[i];
			uint64_t pc = gm_core_thread_pc(core, t);
			if (is_native && !is_native(pc, arg))
				continue;
			struct gm_native_stack *s = &stacks[k++];
			s->tid = t->tid;
			int index = ucd_thread_index(ctx.ui, nthreads, t->tid);
			if (!unwind_thread(&ctx, as, index, pc, is_native, arg, max_frames, s)) {
				err = &gm_error_nomem;
				break;
			}
		}
		unw_destroy_addr_space(as);
	}
	_UCD_destroy(ctx.ui);
	files_free(&ctx);
	if (err) {
		gm_native_stacks_free(stacks, n);
		return err;
	}
	*ret = stacks;
	*ret_count = k;
	return NULL;
}

struct gm_error *gm_native_unwind(const char *core_path,
				  bool (*is_native)(uint64_t pc, void *arg), void *arg,
				  size_t max_frames, struct gm_native_stack **ret, size_t *ret_count)
{
	struct gm_core *core = NULL;
	struct gm_error *err = gm_core_open(core_path, GM_CORE_ALLOW_TRUNCATED, &core);
	if (err)
		return err;
	err = gm_native_unwind_core(core, is_native, arg, max_frames, ret, ret_count);
	gm_core_destroy(core);
	return err;
}
