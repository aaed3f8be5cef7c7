#include "locate.h"

#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "../../dwarf/layouts.h"
#include "../core/exe.h"
#include "code_refs.h"


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
		const uint8_t *check = gm_exe_file_bytes(exe, va - s->back + s->check_off[i], 8);
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
	const uint8_t *next = gm_exe_file_bytes(exe, va + 8, 8);
	if (!next || word_at(next) != len)
		return true;
	const uint8_t *text = gm_exe_file_bytes(exe, word_at(p), len);
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

/* A global named by the code of known runtime functions.  WITNESSES are
 * alternatives, each a set of functions whose code all name the global; an
 * alternative counts only when all its functions exist, and its answer only
 * when exactly one address is named by all of them and passes the filters.
 * Alternatives that answer must agree.  tests/dwarf/test_locate.py checks
 * each recipe against the symbol table on every corpus version. */
struct recipe {
	const char *names[2];        /* the global (and its name in other Go versions) */
	const char *section;         /* the section it must lie in: its pointers decide .bss or .noptrbss */
	bool slice;                  /* a slice: its len (the next word) is named too */
	const char *exclude;         /* a global located first, named by the same code */
	const char *witnesses[2][4];
};

static const struct recipe recipes[] = {
	{ { "runtime.mheap_" }, ".bss", false, NULL,
	  { { "runtime.stackpoolalloc", "runtime.(*mcentral).grow", "runtime.(*mcache).allocLarge" } } },
	{ { "runtime.allgs" }, ".bss", true, NULL, { { "runtime.forEachG", "runtime.allgadd" } } },
	{ { "runtime.allm" }, ".bss", false, NULL, { { "runtime.dumpms", "runtime.mcommoninit", "runtime.mexit" } } },
	{ { "runtime.allp" }, ".bss", true, NULL,
	  { { "runtime.gcMarkTinyAllocs", "runtime.flushmcache", "runtime.preemptall" } } },
	{ { "runtime.memstats" }, ".noptrbss", false, NULL,
	  { { "runtime.(*mheap).freeSpanLocked", "runtime.(*mcache).refill", "runtime.(*mcache).releaseAll" } } },
	{ { "runtime.gcController" }, ".noptrbss", false, NULL,
	  { { "runtime.gcinit", "runtime.gcControllerCommit", "runtime.(*mcache).refill" } } },
	{ { "runtime.waitReasonStrings" }, ".data", false, NULL,
	  { { "runtime.goroutineheader", "runtime.waitReason.String", "runtime.dumpgoroutine" } } },
	{ { "runtime.gStatusStrings" }, ".data", false, "runtime.waitReasonStrings",
	  { { "runtime.goroutineheader" } } },
	/* iterate_finq walked the blocks until 1.24; since, the queue's users do. */
	{ { "runtime.allfin" }, ".noptrbss", false, NULL,
	  { { "runtime.iterate_finq" }, { "runtime.queuefinalizer", "runtime.markroot", "runtime.dumproots" } } },
	{ { "runtime.semtable" }, ".bss", false, NULL, { { "runtime.semrelease1", "runtime.semacquire1" } } },
	{ { "runtime.class_to_size", "internal/runtime/gc.SizeClassToSize" }, ".noptrdata", false, NULL,
	  { { "runtime.rawbyteslice", "runtime.(*mheap).initSpan", "runtime.readmemstats_m" } } },
	/* The memory profiler (mprof.go): stkbucket links new buckets into
	 * mbuckets, mProf_FlushLocked walks them; nextSample, which reads the
	 * rate, is inlined into its callers; so are the cycle holder's methods. */
	{ { "runtime.mbuckets" }, ".bss", false, NULL, { { "runtime.stkbucket", "runtime.mProf_FlushLocked" } } },
	{ { "runtime.MemProfileRate" }, ".noptrdata", false, NULL,
	  { { "runtime.allocmcache", "runtime.profilealloc", "runtime.schedinit" } } },
	{ { "runtime.mProfCycle" }, ".noptrbss", false, NULL,
	  { { "runtime.mProf_Malloc", "runtime.mProf_PostSweep", "runtime.gcSweep" } } },
};

#define NRECIPES (sizeof(recipes) / sizeof(recipes[0]))

const char *const gm_locatable_globals[] = {
	"runtime.firstmoduledata", "runtime.buildVersion", "runtime.mheap_", "runtime.allgs", "runtime.allm",
	"runtime.allp", "runtime.memstats", "runtime.gcController", "runtime.waitReasonStrings",
	"runtime.gStatusStrings", "runtime.allfin", "runtime.semtable", "runtime.class_to_size",
	"internal/runtime/gc.SizeClassToSize", "runtime.mbuckets", "runtime.MemProfileRate", "runtime.mProfCycle", NULL,
};

static bool has_addr(const uint64_t *v, size_t n, uint64_t addr)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid] == addr)
			return true;
		if (v[mid] < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Keeps the addresses of *SET (N of them) that REFS names too. */
static size_t intersect(uint64_t *set, size_t n, const uint64_t *refs, size_t nrefs)
{
	size_t kept = 0;
	for (size_t i = 0; i < n; i++)
		if (has_addr(refs, nrefs, set[i]))
			set[kept++] = set[i];
	return kept;
}

/* The addresses every function of WITNESSES names, in *RET (N); false if a function is missing. */
static bool named_by_all(const struct gm_code_funcs *funcs, const char *const *witnesses, uint64_t **ret,
			 size_t *ret_n)
{
	uint64_t *set = NULL, *refs;
	size_t n = 0, nrefs;
	for (size_t i = 0; i < 4 && witnesses[i]; i++) {
		if (!gm_code_refs(funcs, witnesses[i], &refs, &nrefs)) {
			free(set);
			return false;
		}
		if (i == 0) {
			set = refs;
			n = nrefs;
			continue;
		}
		n = intersect(set, n, refs, nrefs);
		free(refs);
	}
	*ret = set;
	*ret_n = n;
	return true;
}

struct code_search {
	const struct gm_exe *exe;
	const struct recipe *r;
	uint64_t section, section_size, excluded;
	uint64_t align; /* an alignment the global's address must have */
	bool has_excluded;
};

static bool passes(const struct code_search *cs, const uint64_t *set, size_t n, uint64_t addr)
{
	if (addr < cs->section || addr - cs->section >= cs->section_size || (addr & (cs->align - 1)))
		return false;
	if (cs->has_excluded && addr == cs->excluded)
		return false;
	return !cs->r->slice || has_addr(set, n, addr + 8);
}

/* 1 and *RET: one answer; 0: none; -1: more than one. */
static int alternative_answer(const struct code_search *cs, const struct gm_code_funcs *funcs,
			      const char *const *witnesses, uint64_t *ret)
{
	uint64_t *set;
	size_t n;
	int found = 0;
	if (!named_by_all(funcs, witnesses, &set, &n))
		return 0;
	for (size_t i = 0; i < n && found >= 0; i++) {
		if (!passes(cs, set, n, set[i]))
			continue;
		found = found ? -1 : 1;
		*ret = set[i];
	}
	free(set);
	return found;
}

static bool locate_aligned(const struct gm_exe *exe, struct gm_layouts *lay, const struct recipe *r,
			   uint64_t align, uint64_t *ret)
{
	struct code_search cs = { .exe = exe, .r = r, .align = align };
	uint64_t moduledata, answer = 0, got = 0;
	if (!gm_exe_section(exe, r->section, &cs.section, &cs.section_size) || !locate_moduledata(exe, lay, &moduledata))
		return false;
	if (r->exclude && !(cs.has_excluded = gm_locate_global(exe, lay, r->exclude, &cs.excluded)))
		return false;
	struct gm_code_funcs *funcs = gm_code_funcs_open(exe, lay, moduledata);
	if (!funcs)
		return false;
	int answers = 0;
	bool agree = true;
	for (size_t i = 0; i < 2 && r->witnesses[i][0]; i++) {
		int a = alternative_answer(&cs, funcs, r->witnesses[i], &got);
		if (a < 0 || (a > 0 && answers && got != answer))
			agree = false;
		if (a > 0) {
			answer = got;
			answers++;
		}
	}
	gm_code_funcs_destroy(funcs);
	*ret = answer;
	return agree && answers > 0;
}

/* Word-aligned first (every global holding a pointer or a 64-bit word is);
 * a global of 32-bit words only (mProfCycle's holder) may sit at a 4-byte
 * boundary, which the first search rejects, so it is searched for again at
 * that alignment.  The second search runs only when the first found nothing
 * exactly once. */
static bool locate_by_code(const struct gm_exe *exe, struct gm_layouts *lay, const struct recipe *r, uint64_t *ret)
{
	return locate_aligned(exe, lay, r, 8, ret) || locate_aligned(exe, lay, r, 4, ret);
}

bool gm_locate_global(const struct gm_exe *exe, struct gm_layouts *lay, const char *name, uint64_t *ret)
{
	if (strcmp(name, "runtime.firstmoduledata") == 0)
		return locate_moduledata(exe, lay, ret);
	if (strcmp(name, "runtime.buildVersion") == 0)
		return locate_build_version(exe, ret);
	/* Only a global this Go version has (SizeClassToSize was class_to_size before 1.25). */
	struct gm_layout_type type;
	for (size_t i = 0; i < NRECIPES; i++)
		if ((recipes[i].names[0] && strcmp(name, recipes[i].names[0]) == 0) ||
		    (recipes[i].names[1] && strcmp(name, recipes[i].names[1]) == 0))
			return lay && gm_layout_global(lay, name, &type) && locate_by_code(exe, lay, &recipes[i], ret);
	return false;
}
