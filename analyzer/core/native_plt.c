/* native_plt: names for the stubs of a file's procedure linkage table,
 * "sigaddset@plt" as gdb (BFD's synthetic symbols) spells them.
 *
 * A call from a dynamically linked program into a shared library goes
 * through a PLT stub: a few instructions that load the function's address
 * from its GOT slot and jump there.  No symbol table names the stubs, and a
 * thread of a core is sometimes caught inside one (the runtime's cgo
 * sigaction calls reach libc that way).  Each stub is recognised by
 * decoding its GOT load, and named by the .rela.plt relocation of that GOT
 * slot: nothing is assumed about the size or order of the entries.
 *
 *  - AArch64 (ld's elfNN_aarch64 PLT): adrp x16, slot page; ldr x17,
 *    [x16, #slot offset]; add x16, ...; br x17.  The stub starts at the adrp.
 *  - x86-64: jmp *disp32(%rip), at the start of an entry or after an
 *    endbr64 (and a bnd prefix) in .plt.sec's IBT entries; the stub starts
 *    at the entry (sh_entsize apart).
 * The header entry (PLT0) loads the resolver's GOT slot, which has no
 * relocation, and stays unnamed, as in gdb.
 *
 * A stub neither moves the stack pointer nor stores the return address:
 * native_dwfl.c steps out of one by hand (AArch64 PLTs have no CFI).
 */
#include "native_internal.h"

#include <elf.h>
#include <stdlib.h>
#include <string.h>

/* Caps on what is read from files named by an untrusted core. */
#define MAX_PLT_BYTES (1u << 24)

struct plt_slots {
	uint64_t *slot;       /* GOT slot address of relocation i */
	const char **name;    /* its symbol's name */
	size_t n;
};

/* The JUMP_SLOT relocations of ELF's .rela.plt: GOT slot -> symbol name. */
static bool read_plt_relocations(Elf *elf, struct plt_slots *rel)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr, link;
		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_RELA || !(shdr.sh_flags & SHF_INFO_LINK) ||
		    shdr.sh_entsize == 0)
			continue;
		Elf_Scn *symscn = elf_getscn(elf, shdr.sh_link);
		Elf_Data *data = elf_getdata(scn, NULL), *syms = symscn ? elf_getdata(symscn, NULL) : NULL;
		if (!data || !syms || !gelf_getshdr(symscn, &link) || link.sh_type != SHT_DYNSYM)
			continue;
		size_t n = data->d_size / shdr.sh_entsize;
		if (n == 0 || n > MAX_PLT_BYTES / 4)
			continue;
		rel->slot = calloc(n, sizeof(*rel->slot));
		rel->name = calloc(n, sizeof(*rel->name));
		if (!rel->slot || !rel->name)
			return false;
		for (size_t i = 0; i < n; i++) {
			GElf_Rela r;
			GElf_Sym sym;
			uint32_t type;
			if (!gelf_getrela(data, (int)i, &r))
				break;
			type = (uint32_t)GELF_R_TYPE(r.r_info);
			if ((type != R_AARCH64_JUMP_SLOT && type != R_X86_64_JUMP_SLOT) ||
			    !gelf_getsym(syms, (int)GELF_R_SYM(r.r_info), &sym))
				continue;
			const char *name = elf_strptr(elf, link.sh_link, sym.st_name);
			if (name && *name) {
				rel->slot[rel->n] = r.r_offset;
				rel->name[rel->n++] = name;
			}
		}
		return true; /* one .rela.plt per file */
	}
	return true;
}

static const char *slot_name(const struct plt_slots *rel, uint64_t slot)
{
	for (size_t i = 0; i < rel->n; i++)
		if (rel->slot[i] == slot)
			return rel->name[i];
	return NULL;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The GOT slot an AArch64 stub at ADDR (its bytes P, at least 8) loads:
 * adrp x16, page; ldr x17, [x16, #off].  0 if P is not such a stub. */
static uint64_t aarch64_stub_slot(const uint8_t *p, uint64_t addr)
{
	uint32_t adrp = le32(p), ldr = le32(p + 4);
	if ((adrp & 0x9f00001fu) != 0x90000010u || (ldr & 0xffc003ffu) != 0xf9400211u)
		return 0;
	uint64_t imm = ((adrp >> 29) & 3u) | ((uint64_t)(adrp >> 5) & 0x7ffffu) << 2;
	int64_t page_delta = (int64_t)(imm << 43) >> 31; /* sign-extend 21 bits, times 4096 */
	uint64_t page = (addr & ~(uint64_t)0xfff) + (uint64_t)page_delta;
	return page + (uint64_t)((ldr >> 10) & 0xfffu) * 8;
}

/* The GOT slot an x86-64 entry at ADDR (its bytes P, N of them) jumps
 * through: jmp *disp32(%rip), possibly after endbr64 and a bnd prefix. */
static uint64_t x86_64_stub_slot(const uint8_t *p, size_t n, uint64_t addr)
{
	static const uint8_t endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };
	size_t at = 0;
	if (n >= 4 && memcmp(p, endbr64, 4) == 0)
		at = 4;
	if (at < n && p[at] == 0xf2)
		at++;
	if (at + 6 > n || p[at] != 0xff || p[at + 1] != 0x25)
		return 0;
	return addr + at + 6 + (uint64_t)(int64_t)(int32_t)le32(p + at + 2);
}

static bool push_stub(struct mapped_file *mf, uint64_t start, uint64_t size, const char *name)
{
	struct native_symbol *grown = realloc(mf->symbols, (mf->nsymbols + 1) * sizeof(*grown));
	if (!grown)
		return false;
	mf->symbols = grown;
	mf->symbols[mf->nsymbols++] = (struct native_symbol){
		.value = start, .size = size, .name = name, .rank = 0, .plt = true,
	};
	return true;
}

/* The named stubs of one PLT section (bytes P, link-time address ADDR). */
static bool add_section_stubs(struct mapped_file *mf, uint16_t machine, const GElf_Shdr *shdr, const uint8_t *p,
			      const struct plt_slots *rel)
{
	size_t n = shdr->sh_size, step = machine == EM_AARCH64 ? 4 : shdr->sh_entsize;
	uint64_t addr = shdr->sh_addr, prev = 0;
	const char *prev_name = NULL;
	if (step == 0)
		return true;
	for (size_t off = 0; off + step <= n; off += step) {
		uint64_t slot = machine == EM_AARCH64 ? (off + 8 <= n ? aarch64_stub_slot(p + off, addr + off) : 0)
						      : x86_64_stub_slot(p + off, step, addr + off);
		const char *name = slot ? slot_name(rel, slot) : NULL;
		if (!name)
			continue;
		if (prev_name && !push_stub(mf, prev, addr + off - prev, prev_name))
			return false;
		prev = addr + off;
		prev_name = name;
	}
	return !prev_name || push_stub(mf, prev, addr + n - prev, prev_name);
}

/* The names of the stubs are interned as "name@plt" in one block per file. */
static bool intern_plt_names(struct mapped_file *mf, size_t first)
{
	size_t bytes = 0;
	for (size_t i = first; i < mf->nsymbols; i++)
		bytes += strlen(mf->symbols[i].name) + sizeof("@plt");
	char *block = malloc(bytes ? bytes : 1), *at = block;
	if (!block)
		return false;
	for (size_t i = first; i < mf->nsymbols; i++) {
		size_t len = strlen(mf->symbols[i].name);
		memcpy(at, mf->symbols[i].name, len);
		memcpy(at + len, "@plt", sizeof("@plt"));
		mf->symbols[i].name = at;
		at += len + sizeof("@plt");
	}
	mf->plt_names = block;
	return true;
}

bool native_load_plt_symbols(struct mapped_file *mf, Elf *elf)
{
	GElf_Ehdr ehdr;
	size_t shstrndx;
	if (!gelf_getehdr(elf, &ehdr) || (ehdr.e_machine != EM_AARCH64 && ehdr.e_machine != EM_X86_64) ||
	    elf_getshdrstrndx(elf, &shstrndx) != 0)
		return true;
	struct plt_slots rel = { 0 };
	bool ok = read_plt_relocations(elf, &rel);
	size_t first = mf->nsymbols;
	Elf_Scn *scn = NULL;
	while (ok && rel.n && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		const char *name;
		Elf_Data *data;
		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_PROGBITS || !(shdr.sh_flags & SHF_EXECINSTR) ||
		    !(name = elf_strptr(elf, shstrndx, shdr.sh_name)) || strncmp(name, ".plt", 4) != 0 ||
		    shdr.sh_size > MAX_PLT_BYTES || !(data = elf_getdata(scn, NULL)) || !data->d_buf ||
		    data->d_size < shdr.sh_size)
			continue;
		ok = add_section_stubs(mf, ehdr.e_machine, &shdr, data->d_buf, &rel);
	}
	free(rel.slot);
	free(rel.name);
	return ok && (mf->nsymbols == first || intern_plt_names(mf, first));
}
