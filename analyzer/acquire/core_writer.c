#include "core_writer.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/kernel_notes.h"
#include "../util/strbuf.h"

#define PAGE 4096u
#define COPY_CHUNK (1u << 20)
#define PAGEMAP_PRESENT (1ull << 63)
#define PAGEMAP_SWAPPED (1ull << 62)

/* The reader's note offsets (kernel_notes.h) are the host's own layouts. */
_Static_assert(offsetof(struct elf_prstatus, pr_cursig) == PRSTATUS_CURSIG_OFF, "pr_cursig");
_Static_assert(offsetof(struct elf_prstatus, pr_pid) == PRSTATUS_PID_OFF, "pr_pid");
_Static_assert(offsetof(struct elf_prstatus, pr_reg) == PRSTATUS_REG_OFF, "pr_reg");
_Static_assert(offsetof(struct elf_prpsinfo, pr_pid) == PRPSINFO_PID_OFF, "prpsinfo pr_pid");
_Static_assert(offsetof(struct elf_prpsinfo, pr_fname) == PRPSINFO_FNAME_OFF, "pr_fname");
_Static_assert(offsetof(struct elf_prpsinfo, pr_psargs) == PRPSINFO_PSARGS_OFF, "pr_psargs");

static uint64_t page_up(uint64_t x)
{
	return (x + PAGE - 1) & ~(uint64_t)(PAGE - 1);
}

/* The whole of /proc/PID/NAME; *LEN bytes, malloc'd. */
static struct gm_error *read_proc_file(pid_t pid, const char *name, uint8_t **ret, size_t *len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return gm_error_create(GM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
	size_t cap = 4096, n = 0;
	uint8_t *buf = malloc(cap);
	struct gm_error *err = buf ? NULL : &gm_error_nomem;
	while (!err) {
		if (n == cap) {
			uint8_t *grown = realloc(buf, cap *= 2);
			if (!grown) {
				err = &gm_error_nomem;
				break;
			}
			buf = grown;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			err = gm_error_create(GM_ERR_IO, "%s: read error: %s", path, strerror(errno));
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	*ret = buf;
	*len = n;
	return NULL;
}

static struct gm_error *read_stat(pid_t pid, struct gm_process_facts *f)
{
	uint8_t *data;
	size_t len;
	struct gm_error *err = read_proc_file(pid, "stat", &data, &len);
	if (err)
		return err;
	char *text = (char *)data;
	text[len ? len - 1 : 0] = '\0';
	char *open = strchr(text, '('), *close = strrchr(text, ')');
	long nice = 0;
	if (!open || !close || close < open ||
	    sscanf(close + 1, " %c %d %d %d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %ld",
		   &f->state, &f->ppid, &f->pgrp, &f->sid, &nice) != 5)
		err = gm_error_create(GM_ERR_IO, "/proc/%d/stat: unexpected contents", (int)pid);
	else
		snprintf(f->comm, sizeof(f->comm), "%.*s", (int)(close - open - 1), open + 1);
	f->nice = (int)nice;
	free(data);
	return err;
}

static struct gm_error *read_cmdline(pid_t pid, struct gm_process_facts *f)
{
	uint8_t *data;
	size_t len;
	struct gm_error *err = read_proc_file(pid, "cmdline", &data, &len);
	if (err)
		return err;
	size_t n = len < sizeof(f->psargs) - 1 ? len : sizeof(f->psargs) - 1;
	for (size_t i = 0; i < n; i++)
		f->psargs[i] = data[i] ? (char)data[i] : ' ';
	while (n > 0 && f->psargs[n - 1] == ' ')
		n--;
	f->psargs[n] = '\0';
	free(data);
	return NULL;
}

struct gm_error *gm_process_facts_read(pid_t pid, struct gm_process_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->pid = pid;
	f->stopped_by = getpid();
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	struct stat st;
	if (stat(path, &st) != 0)
		return gm_error_create(GM_ERR_IO, "%s: no such process (%s)", path, strerror(errno));
	f->uid = st.st_uid;
	f->gid = st.st_gid;
	struct gm_error *err = read_stat(pid, f);
	if (!err)
		err = read_cmdline(pid, f);
	if (!err)
		err = read_proc_file(pid, "auxv", &f->auxv, &f->auxv_len);
	if (err)
		gm_process_facts_free(f);
	return err;
}

void gm_process_facts_free(struct gm_process_facts *f)
{
	free(f->auxv);
	f->auxv = NULL;
}

static void add_note(struct strbuf *sb, uint32_t type, const char *name, const void *desc, size_t len)
{
	Elf64_Nhdr h = { .n_namesz = (uint32_t)strlen(name) + 1, .n_descsz = (uint32_t)len, .n_type = type };
	static const char zeros[4];
	sb_add(sb, (const char *)&h, sizeof(h));
	sb_add(sb, name, h.n_namesz);
	sb_add(sb, zeros, (4 - h.n_namesz % 4) % 4);
	sb_add(sb, desc, len);
	sb_add(sb, zeros, (4 - len % 4) % 4);
}

static void add_prstatus(struct strbuf *sb, const struct gm_stopped_thread *t, const struct gm_process_facts *f)
{
	struct elf_prstatus s;
	memset(&s, 0, sizeof(s));
	s.pr_cursig = SIGSTOP;
	s.pr_info.si_signo = SIGSTOP;
	s.pr_pid = t->tid;
	s.pr_ppid = f->ppid;
	s.pr_pgrp = f->pgrp;
	s.pr_sid = f->sid;
	_Static_assert(sizeof(s.pr_reg) == sizeof(t->regs), "pr_reg is user_regs_struct");
	memcpy(&s.pr_reg, &t->regs, sizeof(t->regs));
	s.pr_fpvalid = t->have_fpregs;
	add_note(sb, NT_PRSTATUS, "CORE", &s, sizeof(s));
}

static void add_prpsinfo(struct strbuf *sb, const struct gm_process_facts *f)
{
	struct elf_prpsinfo ps;
	memset(&ps, 0, sizeof(ps));
	static const char states[] = "RSDTZW";
	const char *at = strchr(states, f->state);
	ps.pr_state = at && f->state ? (char)(at - states) : 0;
	ps.pr_sname = f->state;
	ps.pr_nice = (char)f->nice;
	ps.pr_uid = f->uid;
	ps.pr_gid = f->gid;
	ps.pr_pid = f->pid;
	ps.pr_ppid = f->ppid;
	ps.pr_pgrp = f->pgrp;
	ps.pr_sid = f->sid;
	memcpy(ps.pr_fname, f->comm, sizeof(ps.pr_fname));
	memcpy(ps.pr_psargs, f->psargs, sizeof(ps.pr_psargs));
	add_note(sb, NT_PRPSINFO, "CORE", &ps, sizeof(ps));
}

/* What stopped the process: SIGSTOP sent by the capturing process (si_code SI_USER). */
static void add_siginfo(struct strbuf *sb, const struct gm_process_facts *f)
{
	siginfo_t si;
	_Static_assert(sizeof(si) == SIGINFO_SIZE, "siginfo_t is 128 bytes");
	memset(&si, 0, sizeof(si));
	si.si_signo = SIGSTOP;
	si.si_code = SI_USER;
	si.si_pid = f->stopped_by;
	add_note(sb, NT_SIGINFO, "CORE", &si, sizeof(si));
}

/* NT_FILE: count, page size, (start, end, offset in pages) per file mapping, then the paths. */
static void add_file_note(struct strbuf *sb, const struct gm_proc_maps *maps)
{
	struct strbuf desc = { 0 }, names = { 0 };
	uint64_t header[2] = { 0, PAGE };
	for (size_t i = 0; i < maps->count; i++)
		header[0] += maps->maps[i].file_backed;
	sb_add(&desc, (const char *)header, sizeof(header));
	for (size_t i = 0; i < maps->count; i++) {
		const struct gm_proc_mapping *m = &maps->maps[i];
		if (!m->file_backed)
			continue;
		uint64_t entry[3] = { m->start, m->end, m->file_offset / PAGE };
		sb_add(&desc, (const char *)entry, sizeof(entry));
		sb_add(&names, m->path, strlen(m->path) + 1);
	}
	sb_add(&desc, names.data ? names.data : "", names.len);
	sb->failed |= desc.failed || names.failed;
	add_note(sb, NT_FILE, "CORE", desc.data, desc.len);
	free(desc.data);
	free(names.data);
}

static void build_notes(struct strbuf *sb, const struct gm_stopped_process *p, const struct gm_process_facts *f,
			const struct gm_proc_maps *maps)
{
	char text[GM_CAPTURE_NOTE_SIZE] = { 0 };
	snprintf(text, sizeof(text), "gomortem capture of pid %d: every page of the saved mappings", (int)f->pid);
	add_note(sb, GM_NOTE_CAPTURE, "GOMORTEM", text, sizeof(text));
	for (size_t i = 0; i < p->count; i++) {
		add_prstatus(sb, &p->threads[i], f);
		if (i == 0) {
			add_prpsinfo(sb, f);
			add_siginfo(sb, f);
			add_note(sb, NT_AUXV, "CORE", f->auxv, f->auxv_len);
			add_file_note(sb, maps);
		}
		if (p->threads[i].have_fpregs)
			add_note(sb, NT_FPREGSET, "CORE", &p->threads[i].fpregs, sizeof(p->threads[i].fpregs));
	}
}

static struct gm_error *write_at(int fd, const char *name, const void *buf, size_t len, uint64_t at)
{
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t w = pwrite(fd, p, len, (off_t)at);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return gm_error_create(GM_ERR_IO, "%s: write error: %s", name,
					       w < 0 ? strerror(errno) : "short write");
		p += w;
		len -= (size_t)w;
		at += (uint64_t)w;
	}
	return NULL;
}

/* Copy LEN bytes of memory at ADDR to file offset AT; pages that cannot be
 * read stay zeros and are counted. */
static struct gm_error *copy_run(int fd, const char *name, int mem_fd, uint64_t addr, uint64_t len, uint64_t at,
				 uint8_t *buf, struct gm_core_write_stats *stats)
{
	while (len > 0) {
		size_t n = len < COPY_CHUNK ? (size_t)len : COPY_CHUNK;
		ssize_t r = pread(mem_fd, buf, n, (off_t)addr);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			/* Skip the unreadable page and go on. */
			r = PAGE;
			stats->unreadable_bytes += PAGE;
		} else {
			struct gm_error *err = write_at(fd, name, buf, (size_t)r, at);
			if (err)
				return err;
		}
		addr += (uint64_t)r;
		at += (uint64_t)r;
		len -= (uint64_t)r < len ? (uint64_t)r : len;
	}
	return NULL;
}

/* Copy a mapping's saved bytes; with the pagemap, only pages that exist
 * (present or swapped out): the others are zeros, left as holes. */
static struct gm_error *copy_mapping(int fd, const char *name, const struct gm_proc_mapping *m, uint64_t at,
				     int mem_fd, int pagemap_fd, uint8_t *buf, struct gm_core_write_stats *stats)
{
	if (!m->sparse || pagemap_fd < 0)
		return copy_run(fd, name, mem_fd, m->start, m->save_bytes, at, buf, stats);
	uint64_t entries[512];
	uint64_t pages = m->save_bytes / PAGE;
	for (uint64_t first = 0; first < pages;) {
		uint64_t want = pages - first < 512 ? pages - first : 512;
		ssize_t r = pread(pagemap_fd, entries, want * 8, (off_t)((m->start / PAGE + first) * 8));
		if (r < 8)   /* no pagemap: copy the rest whole */
			return copy_run(fd, name, mem_fd, m->start + first * PAGE, (pages - first) * PAGE,
					at + first * PAGE, buf, stats);
		uint64_t got = (uint64_t)r / 8;
		for (uint64_t i = 0; i < got;) {
			uint64_t j = i;
			while (j < got && (entries[j] & (PAGEMAP_PRESENT | PAGEMAP_SWAPPED)))
				j++;
			if (j > i) {
				struct gm_error *err = copy_run(fd, name, mem_fd, m->start + (first + i) * PAGE,
								(j - i) * PAGE, at + (first + i) * PAGE, buf, stats);
				if (err)
					return err;
			}
			i = j;
			while (i < got && !(entries[i] & (PAGEMAP_PRESENT | PAGEMAP_SWAPPED)))
				i++;
		}
		first += got;
	}
	return NULL;
}

static uint32_t segment_flags(const struct gm_proc_mapping *m)
{
	return (m->read ? PF_R : 0) | (m->write ? PF_W : 0) | (m->exec ? PF_X : 0);
}

struct gm_error *gm_core_write_memory(int fd, const char *out_name, const struct gm_proc_maps *maps,
				      uint64_t notes_room, int mem_fd, int pagemap_fd, struct gm_core_write_stats *stats)
{
	memset(stats, 0, sizeof(*stats));
	size_t nphdr = 1 + maps->count;
	if (nphdr >= PN_XNUM)
		return gm_error_create(GM_ERR_INTERNAL, "%s: %zu mappings: more than an ELF core header counts",
				       out_name, maps->count);
	Elf64_Phdr *ph = calloc(nphdr, sizeof(*ph));
	uint8_t *buf = malloc(COPY_CHUNK);
	struct gm_error *err = !ph || !buf ? &gm_error_nomem : NULL;
	uint64_t notes_at = sizeof(Elf64_Ehdr) + nphdr * sizeof(Elf64_Phdr);
	uint64_t at = page_up(notes_at + notes_room);
	if (!err) {
		/* The PT_NOTE's size is set by gm_core_write_notes. */
		ph[0] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = notes_at };
		for (size_t i = 0; i < maps->count; i++) {
			const struct gm_proc_mapping *m = &maps->maps[i];
			ph[i + 1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = segment_flags(m),
						  .p_offset = m->save_bytes ? at : 0, .p_vaddr = m->start,
						  .p_filesz = m->save_bytes, .p_memsz = m->end - m->start,
						  .p_align = PAGE };
			at += m->save_bytes;
		}
		stats->file_bytes = at;
	}
	Elf64_Ehdr eh = { .e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT,
				       ELFOSABI_NONE },
			  .e_type = ET_CORE, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
			  .e_phoff = sizeof(Elf64_Ehdr), .e_ehsize = sizeof(Elf64_Ehdr),
			  .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = (uint16_t)nphdr };
	if (!err)
		err = write_at(fd, out_name, &eh, sizeof(eh), 0);
	if (!err)
		err = write_at(fd, out_name, ph, nphdr * sizeof(*ph), sizeof(eh));
	for (size_t i = 0; i < maps->count && !err; i++) {
		if (!maps->maps[i].save_bytes)
			continue;
		err = copy_mapping(fd, out_name, &maps->maps[i], ph[i + 1].p_offset, mem_fd, pagemap_fd, buf, stats);
		stats->saved_bytes += maps->maps[i].save_bytes;
	}
	if (!err && ftruncate(fd, (off_t)stats->file_bytes) != 0)
		err = gm_error_create(GM_ERR_IO, "%s: cannot set the size: %s", out_name, strerror(errno));
	free(buf);
	free(ph);
	return err;
}

/* The program headers of the core FD that gm_core_write_memory wrote. */
static struct gm_error *read_phdrs(int fd, const char *name, Elf64_Phdr **ret, size_t *n)
{
	Elf64_Ehdr eh;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || eh.e_phnum == 0)
		return gm_error_create(GM_ERR_IO, "%s: cannot read back the ELF header: %s", name, strerror(errno));
	Elf64_Phdr *ph = calloc(eh.e_phnum, sizeof(*ph));
	if (!ph)
		return &gm_error_nomem;
	size_t len = eh.e_phnum * sizeof(*ph);
	if (pread(fd, ph, len, (off_t)eh.e_phoff) != (ssize_t)len) {
		free(ph);
		return gm_error_create(GM_ERR_IO, "%s: cannot read back the program headers: %s", name,
				       strerror(errno));
	}
	*ret = ph;
	*n = eh.e_phnum;
	return NULL;
}

uint64_t gm_core_notes_size(const struct gm_stopped_process *p, const struct gm_process_facts *facts,
			    const struct gm_proc_maps *maps)
{
	struct strbuf notes = { 0 };
	build_notes(&notes, p, facts, maps);
	uint64_t len = notes.len;
	free(notes.data);
	return len;
}

struct gm_error *gm_core_write_notes(int fd, const char *out_name, const struct gm_stopped_process *p,
				     const struct gm_process_facts *facts, const struct gm_proc_maps *maps,
				     struct gm_core_write_stats *stats)
{
	struct strbuf notes = { 0 };
	build_notes(&notes, p, facts, maps);
	Elf64_Phdr *ph = NULL;
	size_t n = 0;
	struct gm_error *err = notes.failed ? &gm_error_nomem : read_phdrs(fd, out_name, &ph, &n);
	if (!err) {
		/* In the room left before the memory, or, when more threads came
		 * than it was made for, at the end: a PT_NOTE may be anywhere. */
		uint64_t room_end = stats->file_bytes;
		for (size_t i = 1; i < n; i++)
			if (ph[i].p_filesz && ph[i].p_offset < room_end)
				room_end = ph[i].p_offset;
		if (ph[0].p_offset + notes.len > room_end) {
			ph[0].p_offset = page_up(stats->file_bytes);
			stats->file_bytes = ph[0].p_offset + notes.len;
		}
		ph[0].p_filesz = notes.len;
		err = write_at(fd, out_name, notes.data, notes.len, ph[0].p_offset);
	}
	if (!err)
		err = write_at(fd, out_name, &ph[0], sizeof(ph[0]), sizeof(Elf64_Ehdr));
	if (!err && ftruncate(fd, (off_t)stats->file_bytes) != 0)
		err = gm_error_create(GM_ERR_IO, "%s: cannot set the size: %s", out_name, strerror(errno));
	free(ph);
	free(notes.data);
	return err;
}

struct gm_error *gm_core_write(int fd, const char *out_name, const struct gm_stopped_process *p,
			       const struct gm_process_facts *facts, const struct gm_proc_maps *maps,
			       int mem_fd, int pagemap_fd, struct gm_core_write_stats *stats)
{
	uint64_t room = gm_core_notes_size(p, facts, maps);
	struct gm_error *err = gm_core_write_memory(fd, out_name, maps, room, mem_fd, pagemap_fd, stats);
	return err ? err : gm_core_write_notes(fd, out_name, p, facts, maps, stats);
}

struct gm_error *gm_core_patch(int fd, const char *out_name, uint64_t addr, const void *data, uint64_t len,
			       bool absent)
{
	Elf64_Phdr *ph = NULL;
	size_t n = 0;
	struct gm_error *err = read_phdrs(fd, out_name, &ph, &n);
	for (size_t i = 1; !err && i < n && len > 0; i++) {
		uint64_t lo = ph[i].p_vaddr, hi = ph[i].p_vaddr + ph[i].p_filesz;
		if (addr >= hi || addr + len <= lo)
			continue;
		uint64_t from = addr > lo ? addr : lo, to = addr + len < hi ? addr + len : hi;
		uint64_t at = ph[i].p_offset + (from - lo);
		if (absent) {
			if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)at, (off_t)(to - from)) != 0)
				err = gm_error_create(GM_ERR_IO, "%s: cannot punch a hole: %s", out_name,
						      strerror(errno));
		} else {
			err = write_at(fd, out_name, (const uint8_t *)data + (from - addr), to - from, at);
		}
	}
	free(ph);
	return err;
}

/* The file offset of the capture note's descriptor: the notes of the
 * first program header, which core_writer makes the PT_NOTE. */
static struct gm_error *find_capture_note(int fd, const char *name, uint64_t *ret)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    pread(fd, &ph, sizeof(ph), (off_t)eh.e_phoff) != sizeof(ph) || ph.p_type != PT_NOTE)
		return gm_error_create(GM_ERR_BAD_CORE, "%s: not a core gomortem capture wrote", name);
	uint8_t *notes = malloc(ph.p_filesz);
	if (!notes)
		return &gm_error_nomem;
	struct gm_error *err = gm_error_create(GM_ERR_BAD_CORE, "%s: no GOMORTEM capture note", name);
	if (pread(fd, notes, ph.p_filesz, (off_t)ph.p_offset) == (ssize_t)ph.p_filesz) {
		for (uint64_t off = 0; off + sizeof(Elf64_Nhdr) <= ph.p_filesz;) {
			Elf64_Nhdr h;
			memcpy(&h, notes + off, sizeof(h));
			uint64_t desc = off + sizeof(h) + ((h.n_namesz + 3ull) & ~3ull);
			if (desc + h.n_descsz > ph.p_filesz)
				break;
			if (h.n_type == GM_NOTE_CAPTURE && h.n_namesz == sizeof("GOMORTEM") &&
			    memcmp(notes + off + sizeof(h), "GOMORTEM", sizeof("GOMORTEM")) == 0 &&
			    h.n_descsz == GM_CAPTURE_NOTE_SIZE) {
				gm_error_destroy(err);
				err = NULL;
				*ret = ph.p_offset + desc;
				break;
			}
			off = desc + ((h.n_descsz + 3ull) & ~3ull);
		}
	}
	free(notes);
	return err;
}

struct gm_error *gm_core_set_capture_note(int fd, const char *name, const char *text)
{
	uint64_t at = 0;
	struct gm_error *err = find_capture_note(fd, name, &at);
	if (err)
		return err;
	char desc[GM_CAPTURE_NOTE_SIZE] = { 0 };
	snprintf(desc, sizeof(desc), "%s", text);
	return write_at(fd, name, desc, sizeof(desc), at);
}
