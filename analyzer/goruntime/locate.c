#include "locate.h"

#include <elf.h>
#include <string.h>

#include "../../dwarf/layouts.h"
#include "../core/exe.h"

const char *const gm_locatable_globals[] = { "runtime.firstmoduledata", "runtime.buildVersion", NULL };

/* Calls FOUND(exe, vaddr, word, arg) for every 8-byte aligned word of the
 * initialized bytes of the writable segments; stops early when it returns false. */
static void each_data_word(const struct gm_exe *exe,
			   bool (*found)(const struct gm_exe *, uint64_t, const uint8_t *, void *), void *arg)
{
	for (size_t i = 0; i < exe->nsegments; i++) {
		const struct gm_exe_segment *seg = &exe->segments[i];
		if ((seg->flags & (PF_W | PF_X)) != PF_W || seg->offset > exe->size || seg->filesz > exe->size - seg->offset)
			continue;
		uint64_t start = (seg->vaddr + 7) & ~7ull;
		for (uint64_t va = start; va + 8 <= seg->vaddr + seg->filesz; va += 8)
			if (!found(exe, va, exe->data + seg->offset + (va - seg->vaddr), arg))
				return;
	}
}

/* The file bytes at link-time address VADDR, LEN of them; NULL if not in the file. */
static const uint8_t *file_bytes(const struct gm_exe *exe, uint64_t vaddr, uint64_t len)
{
	for (size_t i = 0; i < exe->nsegments; i++) {
		const struct gm_exe_segment *seg = &exe->segments[i];
		if (vaddr >= seg->vaddr && len <= seg->filesz && vaddr - seg->vaddr <= seg->filesz - len &&
		    seg->offset + seg->filesz <= exe->size)
			return exe->data + seg->offset + (vaddr - seg->vaddr);
	}
	return NULL;
}

static uint64_t word_at(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

struct search {
	uint64_t want, want_size;                /* moduledata: pcHeader's value, the pclntab's size */
	uint64_t check_off[2];                   /* moduledata: slices that must point into the pclntab */
	uint64_t back;                           /* the global starts this far before the word */
	const char *bytes;                       /* buildVersion: the string's bytes */
	uint64_t found;
	unsigned nfound;
};

static bool moduledata_word(const struct gm_exe *exe, uint64_t va, const uint8_t *p, void *arg)
{
	struct search *s = arg;
	if (word_at(p) != s->want || va < s->back)
		return true;
	for (int i = 0; i < 2; i++) {
		const uint8_t *check = file_bytes(exe, va - s->back + s->check_off[i], 8);
		if (!check || word_at(check) <= s->want || word_at(check) >= s->want + s->want_size)
			return true;
	}
	s->found = va - s->back;
	s->nfound++;
	return s->nfound < 2;
}

static bool version_word(const struct gm_exe *exe, uint64_t va, const uint8_t *p, void *arg)
{
	struct search *s = arg;
	uint64_t len = strlen(s->bytes);
	const uint8_t *next = file_bytes(exe, va + 8, 8);
	if (!next || word_at(next) != len)
		return true;
	const uint8_t *text = file_bytes(exe, word_at(p), len);
	if (text && memcmp(text, s->bytes, len) == 0) {
		s->found = va;
		s->nfound++;
	}
	return s->nfound < 2;
}

static bool member_offset(struct gm_layouts *lay, const char *type, const char *member, uint64_t *ret)
{
	struct gm_layout_type t, m;
	return gm_layout_type(lay, type, &t) && gm_layout_member(&t, member, ret, &m);
}

static bool locate_moduledata(const struct gm_exe *exe, struct gm_layouts *lay, uint64_t *ret)
{
	struct search s = { 0 };
	/* PIE builds before 1.26 name the section .data.rel.ro.gopclntab. */
	if (!lay || !(gm_exe_section(exe, ".gopclntab", &s.want, &s.want_size) ||
		      gm_exe_section(exe, ".data.rel.ro.gopclntab", &s.want, &s.want_size)) ||
	    !member_offset(lay, "runtime.moduledata", "pcHeader", &s.back) ||
	    !member_offset(lay, "runtime.moduledata", "funcnametab.array", &s.check_off[0]) ||
	    !member_offset(lay, "runtime.moduledata", "pclntable.array", &s.check_off[1]))
		return false;
	each_data_word(exe, moduledata_word, &s);
	*ret = s.found;
	return s.nfound == 1;
}

static bool locate_build_version(const struct gm_exe *exe, uint64_t *ret)
{
	struct search s = { .bytes = exe->go_version };
	if (!s.bytes || !*s.bytes)
		return false;
	each_data_word(exe, version_word, &s);
	*ret = s.found;
	return s.nfound == 1;
}

bool gm_locate_global(const struct gm_exe *exe, struct gm_layouts *lay, const char *name, uint64_t *ret)
{
	if (strcmp(name, "runtime.firstmoduledata") == 0)
		return locate_moduledata(exe, lay, ret);
	if (strcmp(name, "runtime.buildVersion") == 0)
		return locate_build_version(exe, ret);
	return false;
}
