#include "elf_core.h"

#include <elf.h>
#include <inttypes.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/files.h"
#include "kernel_notes.h"

/* Caps on counts read from an untrusted core. */
#define MAX_THREADS (1u << 20)
#define MAX_SEGMENTS (1u << 24)

static uint64_t load_u64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t load_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* A GM_ERR_BAD_CORE error whose message starts with the core's path. */
static struct gm_error *core_error(const struct gm_core *core, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static struct gm_error *core_error(const struct gm_core *core, const char *fmt, ...)
{
	char *message;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&message, fmt, ap);
	va_end(ap);
	if (n < 0)
		return &gm_error_nomem;
	struct gm_error *err = gm_error_create(GM_ERR_BAD_CORE, "%s: %s", core->path, message);
	free(message);
	return err;
}

/* True if [off, off+len) lies inside the file. */
static bool in_file(const struct gm_core *core, uint64_t off, uint64_t len)
{
	return off <= core->size && len <= core->size - off;
}

static struct gm_error *unsupported_machine(struct gm_core *core, uint16_t machine)
{
	char buf[24];
	return core_error(core, "unsupported architecture %s (ELF machine %u): gomortem reads x86_64 and aarch64 "
			  "cores", gm_machine_name(machine, buf), machine);
}

static struct gm_error *check_header(struct gm_core *core, Elf64_Ehdr *ret)
{
	if (core->size < SELFMAG || memcmp(core->data, ELFMAG, SELFMAG) != 0)
		return core_error(core, "not an ELF file");
	if (core->size < sizeof(Elf64_Ehdr))
		return core_error(core, "truncated core: ELF header cut short (%zu bytes)", core->size);
	/* e_machine sits at the same offset in 32- and 64-bit headers: name the
	 * architecture of a core gomortem does not read (386, arm, s390x). */
	uint16_t machine;
	memcpy(&machine, core->data + offsetof(Elf64_Ehdr, e_machine), sizeof(machine));
	if (core->data[EI_DATA] == ELFDATA2MSB)
		machine = (uint16_t)(machine >> 8 | machine << 8);
	if (core->data[EI_CLASS] != ELFCLASS64 || core->data[EI_DATA] != ELFDATA2LSB || !gm_arch_by_machine(machine))
		return unsupported_machine(core, machine);
	Elf64_Ehdr ehdr;
	memcpy(&ehdr, core->data, sizeof(ehdr));
	if (ehdr.e_type != ET_CORE)
		return core_error(core, "not a core file (ELF type %u; an executable or library?)",
				       ehdr.e_type);
	if (ehdr.e_phentsize != sizeof(Elf64_Phdr))
		return core_error(core, "bad program header size %u", ehdr.e_phentsize);
	core->e_machine = ehdr.e_machine;
	const struct gm_arch_info *arch = gm_arch_by_machine(ehdr.e_machine);
	if (!arch)
		return unsupported_machine(core, ehdr.e_machine);
	core->arch = arch->arch;
	*ret = ehdr;
	return NULL;
}

/* The number of program headers; with more than 0xfffe it is in section 0. */
static struct gm_error *program_header_count(struct gm_core *core, const Elf64_Ehdr *ehdr,
					     uint64_t *ret)
{
	if (ehdr->e_phnum != PN_XNUM) {
		*ret = ehdr->e_phnum;
		return NULL;
	}
	if (ehdr->e_shoff == 0 || !in_file(core, ehdr->e_shoff, sizeof(Elf64_Shdr)))
		return core_error(core, "truncated or corrupt core: PN_XNUM without section header 0 (offset %" PRIu64
			       ", file size %" PRIu64 ")",
			       ehdr->e_shoff, core->size);
	Elf64_Shdr shdr;
	memcpy(&shdr, core->data + ehdr->e_shoff, sizeof(shdr));
	*ret = shdr.sh_info;
	return NULL;
}

static int segment_compare(const void *a, const void *b)
{
	const struct gm_core_segment *x = a, *y = b;
	return (x->vaddr > y->vaddr) - (x->vaddr < y->vaddr);
}

static struct gm_error *parse_notes(struct gm_core *core, const uint8_t *p, uint64_t size);

static struct gm_error *parse_program_headers(struct gm_core *core, const Elf64_Ehdr *ehdr,
					      unsigned flags)
{
	uint64_t phnum = 0;
	struct gm_error *err = program_header_count(core, ehdr, &phnum);
	if (err)
		return err;
	if (phnum == 0 || phnum > MAX_SEGMENTS)
		return core_error(core, "corrupt core: %" PRIu64 " program headers (limit %u)", phnum, MAX_SEGMENTS);
	if (!in_file(core, ehdr->e_phoff, phnum * sizeof(Elf64_Phdr)))
		return core_error(core, "truncated core: program headers at offset %" PRIu64
			       " run past the end of the file (%" PRIu64 " bytes)", ehdr->e_phoff, core->size);
	core->segments = calloc(phnum, sizeof(*core->segments));
	if (!core->segments)
		return &gm_error_nomem;
	bool have_notes = false;
	for (uint64_t i = 0; i < phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, core->data + ehdr->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_NOTE) {
			if (!in_file(core, ph.p_offset, ph.p_filesz))
				return core_error(core, "truncated core: notes at offset %" PRIu64
					       " run past the end of the file (%" PRIu64 " bytes)", ph.p_offset, core->size);
			err = parse_notes(core, core->data + ph.p_offset, ph.p_filesz);
			if (err)
				return err;
			have_notes = true;
			continue;
		}
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_filesz > ph.p_memsz || ph.p_vaddr + ph.p_memsz < ph.p_vaddr)
			return core_error(core, "corrupt core: segment at 0x%" PRIx64 " has bad sizes (memsz %" PRIu64 ")", ph.p_vaddr, ph.p_memsz);
		struct gm_core_segment *seg = &core->segments[core->nsegments++];
		seg->vaddr = ph.p_vaddr;
		seg->memsz = ph.p_memsz;
		seg->offset = ph.p_offset;
		seg->filesz = ph.p_filesz;
		seg->flags = ph.p_flags;
		if (!in_file(core, ph.p_offset, ph.p_filesz)) {
			if (!(flags & GM_CORE_ALLOW_TRUNCATED))
				return core_error(core, "truncated core: segment at 0x%" PRIx64 " needs file bytes up to offset %"
					       PRIu64 " (use --allow-truncated to analyze what is there)", ph.p_vaddr, ph.p_offset + ph.p_filesz);
			seg->filesz = ph.p_offset < core->size ? core->size - ph.p_offset : 0;
			core->ntruncated++;
		}
	}
	if (!have_notes)
		return core_error(core, "corrupt core: no PT_NOTE segment (%" PRIu64 " program headers, %" PRIu64
			       " loads)", phnum, core->nsegments);
	qsort(core->segments, core->nsegments, sizeof(*core->segments), segment_compare);
	return NULL;
}

static struct gm_error *parse_prstatus(struct gm_core *core, const uint8_t *desc, uint64_t size)
{
	const struct gm_arch_info *arch = gm_arch_info(core->arch);
	if (size < PRSTATUS_REG_OFF + arch->nregs * 8)
		return core_error(core, "corrupt core: NT_PRSTATUS note of %" PRIu64 " bytes, need %" PRIu64, size,
				  (uint64_t)PRSTATUS_REG_OFF + arch->nregs * 8);
	if (core->nthreads >= MAX_THREADS)
		return core_error(core, "corrupt core: more than %u threads", MAX_THREADS);
	if ((core->nthreads & (core->nthreads + 1)) == 0 || core->nthreads == 0) {
		size_t cap = core->nthreads ? (core->nthreads + 1) * 2 : 8;
		void *grown = realloc(core->threads, cap * sizeof(*core->threads));
		if (!grown)
			return &gm_error_nomem;
		core->threads = grown;
	}
	struct gm_core_thread *t = &core->threads[core->nthreads++];
	memset(t, 0, sizeof(*t));
	int16_t cursig;
	memcpy(&cursig, desc + PRSTATUS_CURSIG_OFF, sizeof(cursig));
	t->cursig = cursig;
	t->tid = (int32_t)load_u32(desc + PRSTATUS_PID_OFF);
	t->nregs = arch->nregs;
	for (uint32_t i = 0; i < arch->nregs; i++)
		t->regs[i] = load_u64(desc + PRSTATUS_REG_OFF + 8 * i);
	return NULL;
}

static void copy_cstring(char *dst, const uint8_t *src, size_t len)
{
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static struct gm_error *parse_prpsinfo(struct gm_core *core, const uint8_t *desc, uint64_t size)
{
	if (size < PRPSINFO_PSARGS_OFF + PRPSINFO_PSARGS_LEN)
		return core_error(core, "corrupt core: NT_PRPSINFO note of %" PRIu64 " bytes, need %" PRIu64, size, (uint64_t)(PRPSINFO_PSARGS_OFF + PRPSINFO_PSARGS_LEN));
	core->have_prpsinfo = true;
	core->pid = (int32_t)load_u32(desc + PRPSINFO_PID_OFF);
	copy_cstring(core->fname, desc + PRPSINFO_FNAME_OFF, PRPSINFO_FNAME_LEN);
	copy_cstring(core->psargs, desc + PRPSINFO_PSARGS_OFF, PRPSINFO_PSARGS_LEN);
	/* The kernel pads psargs with NULs and may leave a trailing space. */
	size_t n = strlen(core->psargs);
	while (n > 0 && core->psargs[n - 1] == ' ')
		core->psargs[--n] = '\0';
	return NULL;
}

static struct gm_error *parse_auxv(struct gm_core *core, const uint8_t *desc, uint64_t size)
{
	size_t pairs = size / 16;
	free(core->auxv);
	core->auxv = calloc(pairs ? pairs : 1, 16);
	if (!core->auxv)
		return &gm_error_nomem;
	core->nauxv = 0;
	for (size_t i = 0; i < pairs; i++) {
		uint64_t type = load_u64(desc + 16 * i);
		if (type == AT_NULL)
			break;
		core->auxv[2 * core->nauxv] = type;
		core->auxv[2 * core->nauxv + 1] = load_u64(desc + 16 * i + 8);
		core->nauxv++;
	}
	return NULL;
}

static struct gm_error *parse_file_note(struct gm_core *core, const uint8_t *desc, uint64_t size)
{
	if (size < 16)
		return core_error(core, "corrupt core: NT_FILE note of only %" PRIu64 " bytes", size);
	uint64_t count = load_u64(desc);
	uint64_t page_size = load_u64(desc + 8);
	if (count > (size - 16) / 24)
		return core_error(core, "corrupt core: NT_FILE claims %" PRIu64 " entries in %" PRIu64 " bytes", count, size);
	free(core->files);
	core->files = calloc(count ? count : 1, sizeof(*core->files));
	if (!core->files)
		return &gm_error_nomem;
	const uint8_t *names = desc + 16 + count * 24;
	const uint8_t *end = desc + size;
	for (uint64_t i = 0; i < count; i++) {
		const uint8_t *nul = memchr(names, '\0', (size_t)(end - names));
		if (!nul)
			return core_error(core, "corrupt core: NT_FILE path %" PRIu64 " of %" PRIu64 " is not terminated", i, count);
		struct gm_core_file *f = &core->files[i];
		f->start = load_u64(desc + 16 + 24 * i);
		f->end = load_u64(desc + 16 + 24 * i + 8);
		f->file_offset = load_u64(desc + 16 + 24 * i + 16) * page_size;
		f->path = (const char *)names;
		names = nul + 1;
	}
	core->nfiles = count;
	return NULL;
}

static void parse_siginfo(struct gm_core *core, const uint8_t *desc, uint64_t size)
{
	if (size < SIGINFO_ADDR_OFF + 8)
		return;
	core->have_siginfo = true;
	core->sig_number = (int32_t)load_u32(desc);
	core->sig_errno = (int32_t)load_u32(desc + 4);
	core->sig_code = (int32_t)load_u32(desc + 8);
	core->sig_addr = load_u64(desc + SIGINFO_ADDR_OFF);
}

static bool note_name_is(const uint8_t *name, uint32_t namesz, const char *want)
{
	size_t len = strlen(want);
	return namesz >= len && memcmp(name, want, len) == 0 &&
	       (namesz == len || name[len] == '\0');
}

static struct gm_error *parse_notes(struct gm_core *core, const uint8_t *p, uint64_t size)
{
	uint64_t off = 0;
	while (off < size) {
		if (size - off < 12)
			return core_error(core, "corrupt core: note header at offset %" PRIu64 " of %" PRIu64
				       " cut short", off, size);
		uint32_t namesz = load_u32(p + off), descsz = load_u32(p + off + 4);
		uint32_t type = load_u32(p + off + 8);
		uint64_t name_off = off + 12;
		uint64_t desc_off = name_off + (((uint64_t)namesz + 3) & ~3ull);
		uint64_t next = desc_off + (((uint64_t)descsz + 3) & ~3ull);
		if (desc_off > size || descsz > size - desc_off)
			return core_error(core, "corrupt core: note at offset %" PRIu64 " runs past the notes (%" PRIu64
				       " bytes)", off, size);
		const uint8_t *name = p + name_off, *desc = p + desc_off;
		struct gm_error *err = NULL;
		if (note_name_is(name, namesz, "CORE")) {
			switch (type) {
			case NT_PRSTATUS: err = parse_prstatus(core, desc, descsz); break;
			case NT_PRPSINFO: err = parse_prpsinfo(core, desc, descsz); break;
			case NT_AUXV: err = parse_auxv(core, desc, descsz); break;
			case NT_FILE: err = parse_file_note(core, desc, descsz); break;
			case NT_SIGINFO: parse_siginfo(core, desc, descsz); break;
			default: break;
			}
		}
		if (err)
			return err;
		off = next > size ? size : next;
	}
	return NULL;
}

struct gm_error *gm_core_parse(const void *data, size_t size, const char *name, unsigned flags,
			       struct gm_core **ret)
{
	struct gm_core *core = calloc(1, sizeof(*core));
	if (!core)
		return &gm_error_nomem;
	core->path = strdup(name);
	if (!core->path) {
		free(core);
		return &gm_error_nomem;
	}
	core->data = data;
	core->size = size;
	Elf64_Ehdr ehdr = { 0 };
	struct gm_error *err = check_header(core, &ehdr);
	if (!err)
		err = parse_program_headers(core, &ehdr, flags);
	if (!err && core->nthreads == 0)
		err = core_error(core, "corrupt core: no NT_PRSTATUS note (no threads)");
	if (err) {
		gm_core_destroy(core);
		return err;
	}
	*ret = core;
	return NULL;
}

/* The data ranges of FD (SIZE bytes) into CORE; left unknown when the file
 * system cannot say (lseek refuses SEEK_DATA) or memory runs out. */
static void read_data_extents(struct gm_core *core, int fd, uint64_t size)
{
	size_t cap = 0, n = 0;
	struct gm_core_extent *list = NULL;
	off_t pos = 0;
	while ((uint64_t)pos < size) {
		off_t data = lseek(fd, pos, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break; /* only a hole from pos to the end */
		off_t hole = data < 0 ? -1 : lseek(fd, data, SEEK_HOLE);
		if (hole <= data) {
			free(list);
			return;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			struct gm_core_extent *grown = realloc(list, cap * sizeof(*list));
			if (!grown) {
				free(list);
				return;
			}
			list = grown;
		}
		list[n++] = (struct gm_core_extent){ (uint64_t)data, (uint64_t)hole };
		pos = hole;
	}
	if (!list) /* all hole: one empty extent says "known, no data" */
		list = calloc(1, sizeof(*list));
	core->data_extents = list;
	core->ndata_extents = list ? n : 0;
}

struct gm_error *gm_core_open_as(const char *file, const char *path, unsigned flags, struct gm_core **ret)
{
	int fd;
	struct stat st;
	struct gm_error *open_err = gm_open_regular_file_as(file, path, NULL, &fd, &st);
	if (open_err)
		return open_err;
	if (st.st_size == 0) {
		close(fd);
		return gm_error_create(GM_ERR_BAD_CORE, "%s: empty file", path);
	}
	void *data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	int saved = errno;
	if (data == MAP_FAILED) {
		close(fd);
		return gm_error_create(GM_ERR_IO, "%s: cannot map: %s", path, strerror(saved));
	}
	struct gm_core *core;
	struct gm_error *err = gm_core_parse(data, (size_t)st.st_size, path, flags, &core);
	if (err) {
		close(fd);
		munmap(data, (size_t)st.st_size);
		return err;
	}
	read_data_extents(core, fd, (uint64_t)st.st_size);
	close(fd);
	core->mapped = true;
	core->file_path = strdup(file);
	if (!core->file_path) {
		gm_core_destroy(core);
		return &gm_error_nomem;
	}
	*ret = core;
	return NULL;
}

struct gm_error *gm_core_open(const char *path, unsigned flags, struct gm_core **ret)
{
	return gm_core_open_as(path, path, flags, ret);
}

void gm_core_release_pages(const struct gm_core *core)
{
	if (core->mapped)
		(void)madvise((void *)core->data, core->size, MADV_DONTNEED);
}

void gm_core_release_range(const struct gm_core *core, const uint8_t *from, const uint8_t *to)
{
	long page = sysconf(_SC_PAGESIZE);
	if (!core->mapped || page <= 0 || from < core->data || to > core->data + core->size)
		return;
	uint64_t mask = (uint64_t)page - 1, start = ((uint64_t)(from - core->data) + mask) & ~mask,
		 end = (uint64_t)(to - core->data) & ~mask;
	if (start < end)
		(void)madvise((void *)(core->data + start), end - start, MADV_DONTNEED);
}

void gm_core_destroy(struct gm_core *core)
{
	if (!core)
		return;
	if (core->mapped)
		munmap((void *)core->data, core->size);
	free(core->segments);
	free(core->threads);
	free(core->auxv);
	free(core->files);
	free(core->data_extents);
	free(core->path);
	free(core->file_path);
	free(core);
}

bool gm_core_auxv(const struct gm_core *core, uint64_t type, uint64_t *ret)
{
	for (size_t i = 0; i < core->nauxv; i++) {
		if (core->auxv[2 * i] == type) {
			*ret = core->auxv[2 * i + 1];
			return true;
		}
	}
	return false;
}

uint64_t gm_core_page_size(const struct gm_core *core)
{
	uint64_t size;
	return gm_core_auxv(core, AT_PAGESZ, &size) ? size : 0;
}

uint64_t gm_core_thread_reg(const struct gm_core_thread *thread, uint32_t index)
{
	return index < thread->nregs ? thread->regs[index] : 0;
}

uint64_t gm_core_thread_pc(const struct gm_core *core, const struct gm_core_thread *thread)
{
	const struct gm_arch_info *arch = gm_arch_info(core->arch);
	return arch ? gm_core_thread_reg(thread, arch->pc_index) : 0;
}

uint64_t gm_core_thread_sp(const struct gm_core *core, const struct gm_core_thread *thread)
{
	const struct gm_arch_info *arch = gm_arch_info(core->arch);
	return arch ? gm_core_thread_reg(thread, arch->sp_index) : 0;
}

uint64_t gm_core_bytes_mapped(const struct gm_core *core)
{
	uint64_t total = 0;
	for (size_t i = 0; i < core->nsegments; i++)
		total += core->segments[i].memsz;
	return total;
}

uint64_t gm_core_bytes_saved(const struct gm_core *core)
{
	uint64_t total = 0;
	for (size_t i = 0; i < core->nsegments; i++)
		total += core->segments[i].filesz;
	return total;
}
