#include "pclntab.h"
#include "pcvalue.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../dwarf/layouts.h"
#include "../program/program.h"
#include "binding.h"

/* Largest table accepted (the pclntab of a very large binary is ~100 MiB). */
#define MAX_TABLE_BYTES (1ULL << 30)
/* More text sections than this means a corrupt moduledata. */
#define MAX_TEXT_SECTIONS 1024
/* Deepest chain of inlined calls followed (the compiler's budget keeps real ones short). */
#define MAX_INLINE_DEPTH 1024
/* The runtime declares the inline tree as *[1 << 20]inlinedCall (symtabinl.go). */
#define MAX_INLINE_INDEX (1 << 20)
#define NO_OFFSET 0xffffffffu

/* A slice member of runtime.moduledata: the DWARF slice struct's array and len. */
struct slice_field {
	struct gm_field array, len;
};

/* Every layout this module reads, bound by name from DWARF. */
struct pcl_layout {
	uint64_t moduledata_size;
	struct gm_field pc_header, findfunctab, minpc, maxpc, text, etext, gofunc;
	struct slice_field funcnametab, cutab, filetab, pctab, pclntable, ftab, textsectmap;
	uint64_t header_size;                      /* runtime.pcHeader */
	struct gm_field magic, min_lc, ptr_size, nfunc;
	uint64_t func_size;                        /* runtime._func */
	struct gm_field entry_off, name_off, args, deferreturn, pcsp, pcfile, pcln, npcdata,
		cu_offset, start_line, func_id, flag, nfuncdata;
	uint32_t func_trailer;                     /* pcdata[] starts right after nfuncdata */
	uint64_t inl_size;                         /* runtime.inlinedCall */
	struct gm_field inl_func_id, inl_name_off, inl_parent_pc;
	uint64_t bucket_size;                      /* runtime.findfuncbucket */
	struct gm_field bucket_idx, subbuckets;
	uint32_t nsub;                             /* len(findfuncbucket.subbuckets) */
	uint64_t functab_size;                     /* runtime.functab */
	struct gm_field ft_entryoff, ft_funcoff;
	uint64_t textsect_size;                    /* runtime.textsect */
	struct gm_field ts_vaddr, ts_end, ts_baseaddr;
};

/* A table of the pclntab: bytes in the address space, or a copy when it straddles regions. */
struct table {
	const uint8_t *bytes;
	uint64_t len;
	uint8_t *copy;                             /* owned, or NULL */
};

struct text_section {
	uint64_t vaddr, end, baseaddr;
};

struct gm_pclntab {
	struct gm_runtime *rt;
	struct pcl_layout l;
	struct table funcnametab, cutab, filetab, pctab, pclntable, ftab;
	uint32_t nftab;                            /* ftab entries, the end sentinel included */
	uint64_t findfunctab, nbuckets;
	uint64_t minpc, maxpc, text, etext, gofunc;
	struct text_section *sections;             /* only when textsectmap has more than one */
	size_t nsections;
	uint32_t pc_quantum;
	uint64_t bucket_bytes;                     /* abi.FuncTabBucketSize: text bytes per bucket */
	struct gm_func_ids ids;
	struct gm_pcdata_ids pcdata_ids;
	struct gm_func_flags flags;
	uint32_t *by_name;                         /* ftab indices sorted by name, built lazily */
	uint32_t nby_name;
	bool by_name_built;
};

/* ---- Binding ------------------------------------------------------------------------- */

struct binder {
	struct gm_runtime *rt;
	struct gm_layouts *lay;
	struct gm_error *err;
};

static void fail(struct binder *b, const char *what, const char *name)
{
	if (!b->err)
		b->err = gm_error_create(GM_ERR_BAD_RUNTIME, "%s: %s lacks %s %s (pclntab)",
					 b->rt->prog->exe->path, gm_layouts_source(b->lay), what, name);
}

static bool bind_struct(struct binder *b, const char *name, struct gm_layout_type *ret, uint64_t *ret_size)
{
	if (b->err)
		return false;
	if (!gm_layout_type(b->lay, name, ret) || !gm_layout_size(ret, ret_size) || *ret_size == 0) {
		fail(b, "type", name);
		return false;
	}
	return true;
}

/* Bind member PATH of ST; integers wider than 8 bytes are refused unless ANY_SIZE. */
static void bind_field_sized(struct binder *b, struct gm_layout_type *st, const char *type_name, const char *path,
			     struct gm_field *f, bool any_size)
{
	uint64_t offset, size;
	struct gm_layout_type member_type;
	if (b->err)
		return;
	if (!gm_layout_member(st, path, &offset, &member_type) ||
	    !gm_layout_size(&member_type, &size) || size > UINT32_MAX ||
	    (!any_size && size != 1 && size != 2 && size != 4 && size != 8)) {
		char name[256];
		snprintf(name, sizeof(name), "%s.%s", type_name, path);
		fail(b, "integer field", name);
		return;
	}
	*f = (struct gm_field){ .offset = (uint32_t)offset, .size = (uint32_t)size, .present = true };
}

static void bind_field(struct binder *b, struct gm_layout_type *st, const char *type_name, const char *path,
		       struct gm_field *f)
{
	bind_field_sized(b, st, type_name, path, f, false);
}

static void bind_slice(struct binder *b, struct gm_layout_type *st, const char *name, struct slice_field *f)
{
	char path[128];
	snprintf(path, sizeof(path), "%s.array", name);
	bind_field(b, st, "runtime.moduledata", path, &f->array);
	snprintf(path, sizeof(path), "%s.len", name);
	bind_field(b, st, "runtime.moduledata", path, &f->len);
}

static void bind_moduledata(struct binder *b, struct pcl_layout *l)
{
	struct gm_layout_type st;
	const char *t = "runtime.moduledata";
	if (!bind_struct(b, t, &st, &l->moduledata_size))
		return;
	bind_field(b, &st, t, "pcHeader", &l->pc_header);
	bind_slice(b, &st, "funcnametab", &l->funcnametab);
	bind_slice(b, &st, "cutab", &l->cutab);
	bind_slice(b, &st, "filetab", &l->filetab);
	bind_slice(b, &st, "pctab", &l->pctab);
	bind_slice(b, &st, "pclntable", &l->pclntable);
	bind_slice(b, &st, "ftab", &l->ftab);
	bind_slice(b, &st, "textsectmap", &l->textsectmap);
	bind_field(b, &st, t, "findfunctab", &l->findfunctab);
	bind_field(b, &st, t, "minpc", &l->minpc);
	bind_field(b, &st, t, "maxpc", &l->maxpc);
	bind_field(b, &st, t, "text", &l->text);
	bind_field(b, &st, t, "etext", &l->etext);
	bind_field(b, &st, t, "gofunc", &l->gofunc);
}

static void bind_func(struct binder *b, struct pcl_layout *l)
{
	struct gm_layout_type st;
	const char *t = "runtime._func";
	if (!bind_struct(b, t, &st, &l->func_size))
		return;
	bind_field(b, &st, t, "entryOff", &l->entry_off);
	bind_field(b, &st, t, "nameOff", &l->name_off);
	bind_field(b, &st, t, "args", &l->args);
	bind_field(b, &st, t, "deferreturn", &l->deferreturn);
	bind_field(b, &st, t, "startLine", &l->start_line);
	bind_field(b, &st, t, "pcsp", &l->pcsp);
	bind_field(b, &st, t, "pcfile", &l->pcfile);
	bind_field(b, &st, t, "pcln", &l->pcln);
	bind_field(b, &st, t, "npcdata", &l->npcdata);
	bind_field(b, &st, t, "cuOffset", &l->cu_offset);
	bind_field(b, &st, t, "funcID", &l->func_id);
	bind_field(b, &st, t, "flag", &l->flag);
	bind_field(b, &st, t, "nfuncdata", &l->nfuncdata);
	/* runtime.pcdatastart: the uint32 pcdata[] follow nfuncdata directly. */
	l->func_trailer = l->nfuncdata.offset + l->nfuncdata.size;
}

static void bind_small_types(struct binder *b, struct pcl_layout *l)
{
	struct gm_layout_type st, sub_type;
	uint64_t offset, nsub = 0;
	if (bind_struct(b, "runtime.pcHeader", &st, &l->header_size)) {
		bind_field(b, &st, "runtime.pcHeader", "magic", &l->magic);
		bind_field(b, &st, "runtime.pcHeader", "minLC", &l->min_lc);
		bind_field(b, &st, "runtime.pcHeader", "ptrSize", &l->ptr_size);
		bind_field(b, &st, "runtime.pcHeader", "nfunc", &l->nfunc);
	}
	if (bind_struct(b, "runtime.inlinedCall", &st, &l->inl_size)) {
		bind_field(b, &st, "runtime.inlinedCall", "funcID", &l->inl_func_id);
		bind_field(b, &st, "runtime.inlinedCall", "nameOff", &l->inl_name_off);
		bind_field(b, &st, "runtime.inlinedCall", "parentPc", &l->inl_parent_pc);
	}
	if (bind_struct(b, "runtime.findfuncbucket", &st, &l->bucket_size)) {
		bind_field(b, &st, "runtime.findfuncbucket", "idx", &l->bucket_idx);
		bind_field_sized(b, &st, "runtime.findfuncbucket", "subbuckets", &l->subbuckets, true);
		if (!b->err && (!gm_layout_member(&st, "subbuckets", &offset, &sub_type) ||
				!gm_layout_array_length(&sub_type, &nsub) || nsub == 0 ||
				nsub != l->subbuckets.size || offset + nsub > l->bucket_size))
			fail(b, "a [N]uint8 field", "runtime.findfuncbucket.subbuckets");
		l->nsub = (uint32_t)nsub;
	}
	if (bind_struct(b, "runtime.functab", &st, &l->functab_size)) {
		bind_field(b, &st, "runtime.functab", "entryoff", &l->ft_entryoff);
		bind_field(b, &st, "runtime.functab", "funcoff", &l->ft_funcoff);
	}
	if (bind_struct(b, "runtime.textsect", &st, &l->textsect_size)) {
		bind_field(b, &st, "runtime.textsect", "vaddr", &l->ts_vaddr);
		bind_field(b, &st, "runtime.textsect", "end", &l->ts_end);
		bind_field(b, &st, "runtime.textsect", "baseaddr", &l->ts_baseaddr);
	}
}

/* The first of NAMES that DWARF defines as a constant; false if none. */
static bool first_const(struct gm_layouts *lay, const char *const *names, size_t n, int64_t *ret)
{
	for (size_t i = 0; i < n; i++)
		if (gm_layout_const(lay, names[i], ret))
			return true;
	return false;
}

/* FuncIDs: internal/abi.FuncID_* (1.21+) or runtime.funcID_* (1.20).  DWARF has
 * them in every supported version; the table is the fallback for an executable
 * whose DWARF lacks the constants (the numbering moved in 1.22 and 1.25). */
enum { ID_GOEXIT, ID_MSTART, ID_RT0_GO, ID_SYSTEMSTACK, ID_SYSTEMSTACK_SWITCH, ID_SIGPANIC, ID_MCALL,
       ID_MORESTACK, ID_ASMCGOCALL, ID_GOGO, ID_WRAPPER, ID_NORMAL, ID_COUNT };

static const char *const func_id_names[ID_COUNT] = {
	"goexit", "mstart", "rt0_go", "systemstack", "systemstack_switch", "sigpanic", "mcall",
	"morestack", "asmcgocall", "gogo", "wrapper", "normal",
};

static const uint8_t func_id_table[3][ID_COUNT] = {
	/* go1.20-1.21 */ { 7, 13, 15, 19, 20, 18, 11, 12, 2, 8, 21, 0 },
	/* go1.22-1.24 */ { 8, 14, 16, 20, 21, 19, 12, 13, 2, 9, 22, 0 },
	/* go1.25-1.26 */ { 8, 14, 16, 21, 22, 20, 12, 13, 2, 9, 23, 0 },
};

static uint8_t resolve_func_id(struct binder *b, int which)
{
	char abi_name[64], abi_alt[64], rt_name[64];
	const char *id = func_id_names[which];
	snprintf(abi_name, sizeof(abi_name), "internal/abi.FuncID_%s", id);
	/* FuncIDNormal and FuncIDWrapper are spelled without the underscore. */
	snprintf(abi_alt, sizeof(abi_alt), "internal/abi.FuncID%c%s", id[0] - 'a' + 'A', id + 1);
	snprintf(rt_name, sizeof(rt_name), "runtime.funcID_%s", id);
	const char *const names[3] = { abi_name, abi_alt, rt_name };
	int64_t value;
	if (first_const(b->lay, names, 3, &value) && value >= 0 && value <= UINT8_MAX)
		return (uint8_t)value;
	int minor = b->rt->go_minor;
	return func_id_table[minor >= 25 ? 2 : minor >= 22 ? 1 : 0][which];
}

/* A constant from internal/abi (1.21+) or runtime (1.20), else FALLBACK, the
 * value every version from 1.20 to 1.26 uses (internal/abi/symtab.go). */
static uint32_t resolve_index(struct binder *b, const char *abi_name, const char *runtime_name,
			      uint32_t fallback)
{
	const char *const names[2] = { abi_name, runtime_name };
	int64_t value;
	if (first_const(b->lay, names, 2, &value) && value >= 0 && value <= UINT8_MAX)
		return (uint32_t)value;
	return fallback;
}

uint32_t gm_pclntab_stack_objects_index(struct gm_layouts *lay)
{
	struct binder b = { .lay = lay };
	return resolve_index(&b, "internal/abi.FUNCDATA_StackObjects", "runtime._FUNCDATA_StackObjects", 2);
}

static void bind_constants(struct binder *b, struct gm_pclntab *tab)
{
	struct gm_func_ids *id = &tab->ids;
	uint8_t *const slots[ID_COUNT] = {
		&id->goexit, &id->mstart, &id->rt0_go, &id->systemstack, &id->systemstack_switch,
		&id->sigpanic, &id->mcall, &id->morestack, &id->asmcgocall, &id->gogo, &id->wrapper,
		&id->normal,
	};
	for (int i = 0; i < ID_COUNT; i++)
		*slots[i] = resolve_func_id(b, i);
	struct gm_pcdata_ids *p = &tab->pcdata_ids;
	p->unsafe_point = resolve_index(b, "internal/abi.PCDATA_UnsafePoint", "runtime._PCDATA_UnsafePoint", 0);
	p->stack_map_index = resolve_index(b, "internal/abi.PCDATA_StackMapIndex", "runtime._PCDATA_StackMapIndex", 1);
	p->inl_tree_index = resolve_index(b, "internal/abi.PCDATA_InlTreeIndex", "runtime._PCDATA_InlTreeIndex", 2);
	p->args_pointer_maps = resolve_index(b, "internal/abi.FUNCDATA_ArgsPointerMaps", "runtime._FUNCDATA_ArgsPointerMaps", 0);
	p->locals_pointer_maps = resolve_index(b, "internal/abi.FUNCDATA_LocalsPointerMaps", "runtime._FUNCDATA_LocalsPointerMaps", 1);
	p->stack_objects = gm_pclntab_stack_objects_index(b->lay);
	p->inl_tree = resolve_index(b, "internal/abi.FUNCDATA_InlTree", "runtime._FUNCDATA_InlTree", 3);
	struct gm_func_flags *f = &tab->flags;
	f->top_frame = (uint8_t)resolve_index(b, "internal/abi.FuncFlagTopFrame", "runtime.funcFlag_TOPFRAME", 1);
	f->sp_write = (uint8_t)resolve_index(b, "internal/abi.FuncFlagSPWrite", "runtime.funcFlag_SPWRITE", 2);
	f->assembly = (uint8_t)resolve_index(b, "internal/abi.FuncFlagAsm", "runtime.funcFlag_ASM", 4);
	/* abi.FuncTabBucketSize (1.23+) was runtime.pcbucketsize: 4096 in every version. */
	static const char *const bucket_names[2] = { "internal/abi.FuncTabBucketSize", "runtime.pcbucketsize" };
	int64_t bucket = 4096;
	first_const(b->lay, bucket_names, 2, &bucket);
	if (bucket <= 0 || bucket > (1 << 20) || bucket % tab->l.nsub != 0)
		fail(b, "a sane constant", "internal/abi.FuncTabBucketSize");
	tab->bucket_bytes = (uint64_t)bucket;
}

/* ---- Mapping the tables -------------------------------------------------------------- */

/* Whether every byte of [addr, addr+len) has saved bytes in AS. */
static bool range_available(struct gm_address_space *as, uint64_t addr, uint64_t len)
{
	uint64_t end = addr + len;
	if (end < addr)
		return false;
	while (addr < end) {
		const struct gm_region *r = gm_region_at(as, addr);
		if (!r || !r->bytes)
			return false;
		addr = r->end;
	}
	return true;
}

static struct gm_error *map_table(struct gm_pclntab *tab, const char *what, uint64_t addr, uint64_t len,
				  struct table *ret)
{
	if (len > MAX_TABLE_BYTES)
		return gm_error_create(GM_ERR_BAD_RUNTIME, "moduledata.%s: implausible length %" PRIu64,
				       what, len);
	ret->len = len;
	if (len == 0)
		return NULL;
	ret->bytes = gm_memory_at(tab->rt->prog->mem, addr, len);
	if (ret->bytes)
		return NULL;
	/* Not one region: e.g. the RELRO pages of a PIE that the core saved beside the
	 * executable's.  Copy it, but allocate only for bytes that exist (LEN is untrusted). */
	if (!range_available(tab->rt->prog->mem, addr, len))
		return gm_error_prefix(gm_error_fault(addr, len), "moduledata.%s", what);
	ret->copy = malloc(len);
	if (!ret->copy)
		return &gm_error_nomem;
	ret->bytes = ret->copy;
	return gm_error_prefix(gm_read(tab->rt->prog->mem, addr, ret->copy, len), "moduledata.%s", what);
}

static struct gm_error *map_slice(struct gm_pclntab *tab, const uint8_t *md, const char *what,
				  struct slice_field f, uint64_t elem_size, struct table *ret, uint64_t *ret_n)
{
	uint64_t n = gm_field_uint(md, f.len);
	if (ret_n)
		*ret_n = n;
	if (n > MAX_TABLE_BYTES / elem_size)
		return gm_error_create(GM_ERR_BAD_RUNTIME, "moduledata.%s: implausible length %" PRIu64,
				       what, n);
	return map_table(tab, what, gm_field_uint(md, f.array), n * elem_size, ret);
}

static struct gm_error *load_text_sections(struct gm_pclntab *tab, const uint8_t *md)
{
	const struct pcl_layout *l = &tab->l;
	uint64_t n = gm_field_uint(md, l->textsectmap.len);
	if (n <= 1)
		return NULL; /* one section: text offsets are relative to md.text */
	if (n > MAX_TEXT_SECTIONS)
		return gm_error_create(GM_ERR_BAD_RUNTIME, "moduledata.textsectmap: %" PRIu64 " sections", n);
	uint8_t *raw = malloc(n * l->textsect_size);
	tab->sections = calloc(n, sizeof(*tab->sections));
	if (!raw || !tab->sections) {
		free(raw);
		return &gm_error_nomem;
	}
	struct gm_error *err = gm_read(tab->rt->prog->mem, gm_field_uint(md, l->textsectmap.array), raw,
				       n * l->textsect_size);
	for (uint64_t i = 0; i < n && !err; i++) {
		const uint8_t *p = raw + i * l->textsect_size;
		tab->sections[i] = (struct text_section){ gm_field_uint(p, l->ts_vaddr),
			gm_field_uint(p, l->ts_end), gm_field_uint(p, l->ts_baseaddr) };
	}
	tab->nsections = n;
	free(raw);
	return gm_error_prefix(err, "moduledata.textsectmap");
}

static struct gm_error *check_header(struct gm_pclntab *tab, uint64_t header_addr, uint64_t nftab)
{
	const struct pcl_layout *l = &tab->l;
	uint8_t header[256];
	if (l->header_size > sizeof(header))
		return gm_error_create(GM_ERR_BAD_RUNTIME, "runtime.pcHeader: %" PRIu64 " bytes", l->header_size);
	struct gm_error *err = gm_read(tab->rt->prog->mem, header_addr, header, l->header_size);
	if (err)
		return gm_error_prefix(err, "runtime.pcHeader");
	uint64_t magic = gm_field_uint(header, l->magic);
	uint64_t quantum = gm_field_uint(header, l->min_lc);
	/* 0xfffffff0 (1.18-1.19) and 0xfffffff1 (1.20+) share the layout DWARF describes. */
	if ((magic != 0xfffffff1 && magic != 0xfffffff0) ||
	    gm_field_uint(header, l->ptr_size) != tab->rt->ptr_size ||
	    (quantum != 1 && quantum != 2 && quantum != 4) ||
	    gm_field_uint(header, l->nfunc) + 1 != nftab)
		return gm_error_create(GM_ERR_BAD_RUNTIME,
				       "runtime.pcHeader at 0x%" PRIx64 ": bad magic 0x%" PRIx64
				       ", pointer size, pc quantum %" PRIu64 " or function count",
				       header_addr, magic, quantum);
	tab->pc_quantum = (uint32_t)quantum;
	return NULL;
}

static struct gm_error *load_tables(struct gm_pclntab *tab, const uint8_t *md)
{
	const struct pcl_layout *l = &tab->l;
	uint64_t nftab;
	struct gm_error *err = NULL;
	tab->findfunctab = gm_field_uint(md, l->findfunctab);
	tab->minpc = gm_field_uint(md, l->minpc);
	tab->maxpc = gm_field_uint(md, l->maxpc);
	tab->text = gm_field_uint(md, l->text);
	tab->etext = gm_field_uint(md, l->etext);
	tab->gofunc = gm_field_uint(md, l->gofunc);
	if (tab->minpc >= tab->maxpc || tab->maxpc - tab->minpc > MAX_TABLE_BYTES * 4)
		return gm_error_create(GM_ERR_BAD_RUNTIME, "moduledata: bad text range [0x%" PRIx64
				       ", 0x%" PRIx64 ")", tab->minpc, tab->maxpc);
	tab->nbuckets = (tab->maxpc - tab->minpc + tab->bucket_bytes - 1) / tab->bucket_bytes;
	err = map_slice(tab, md, "ftab", l->ftab, l->functab_size, &tab->ftab, &nftab);
	if (!err && (nftab < 2 || nftab > UINT32_MAX))
		err = gm_error_create(GM_ERR_BAD_RUNTIME, "moduledata.ftab: %" PRIu64 " entries", nftab);
	tab->nftab = (uint32_t)nftab;
	if (!err)
		err = check_header(tab, gm_field_uint(md, l->pc_header), nftab);
	if (!err)
		err = map_slice(tab, md, "funcnametab", l->funcnametab, 1, &tab->funcnametab, NULL);
	if (!err)
		err = map_slice(tab, md, "cutab", l->cutab, 4, &tab->cutab, NULL);
	if (!err)
		err = map_slice(tab, md, "filetab", l->filetab, 1, &tab->filetab, NULL);
	if (!err)
		err = map_slice(tab, md, "pctab", l->pctab, 1, &tab->pctab, NULL);
	if (!err)
		err = map_slice(tab, md, "pclntable", l->pclntable, 1, &tab->pclntable, NULL);
	if (!err)
		err = load_text_sections(tab, md);
	return err;
}

static struct gm_error *read_moduledata(struct gm_pclntab *tab)
{
	uint8_t *md = malloc(tab->l.moduledata_size);
	if (!md)
		return &gm_error_nomem;
	struct gm_error *err = gm_read(tab->rt->prog->mem, tab->rt->moduledata_addr, md,
				       tab->l.moduledata_size);
	if (err)
		err = gm_error_prefix(err, "runtime.firstmoduledata");
	else
		err = load_tables(tab, md);
	free(md);
	return err;
}

static struct gm_error *bind_pclntab(struct gm_pclntab *tab)
{
	struct binder b = { .rt = tab->rt, .lay = tab->rt->prog->layouts };
	bind_moduledata(&b, &tab->l);
	bind_func(&b, &tab->l);
	bind_small_types(&b, &tab->l);
	if (!b.err)
		bind_constants(&b, tab);
	return b.err;
}

struct gm_error *gm_pclntab_bind_layouts(struct gm_runtime *rt)
{
	struct gm_pclntab tab = { .rt = rt };
	return bind_pclntab(&tab);
}

struct gm_error *gm_pclntab_open(struct gm_runtime *rt, struct gm_pclntab **ret)
{
	struct gm_pclntab *tab = calloc(1, sizeof(*tab));
	if (!tab)
		return &gm_error_nomem;
	tab->rt = rt;
	struct gm_error *err = bind_pclntab(tab);
	if (!err)
		err = read_moduledata(tab);
	if (err) {
		gm_pclntab_destroy(tab);
		return err;
	}
	*ret = tab;
	return NULL;
}

static void table_free(struct table *t)
{
	free(t->copy);
}

void gm_pclntab_destroy(struct gm_pclntab *tab)
{
	if (!tab)
		return;
	table_free(&tab->funcnametab);
	table_free(&tab->cutab);
	table_free(&tab->filetab);
	table_free(&tab->pctab);
	table_free(&tab->pclntable);
	table_free(&tab->ftab);
	free(tab->sections);
	free(tab->by_name);
	free(tab);
}

/* ---- Lookups ------------------------------------------------------------------------- */

/* The NUL-terminated string at OFF of T, or NULL if it does not end inside T. */
static const char *table_string(const struct table *t, uint64_t off)
{
	if (off >= t->len || !memchr(t->bytes + off, 0, t->len - off))
		return NULL;
	return (const char *)t->bytes + off;
}

static uint32_t table_u32(const struct table *t, uint64_t off)
{
	uint32_t v;
	memcpy(&v, t->bytes + off, 4);
	return v;
}

/* moduledata.textOff: PC as an offset in the module's (virtual) text. */
static bool text_off(const struct gm_pclntab *tab, uint64_t pc, uint32_t *ret)
{
	uint64_t off = pc - tab->text;
	for (size_t i = 0; i < tab->nsections; i++) {
		const struct text_section *s = &tab->sections[i];
		if (s->baseaddr > pc)
			return false;
		uint64_t end = s->baseaddr + (s->end - s->vaddr) + (i == tab->nsections - 1);
		if (pc < end) {
			off = pc - s->baseaddr + s->vaddr;
			break;
		}
	}
	if (off > UINT32_MAX)
		return false;
	*ret = (uint32_t)off;
	return true;
}

/* moduledata.textAddr: the pc of text offset OFF. */
static uint64_t text_addr(const struct gm_pclntab *tab, uint32_t off)
{
	for (size_t i = 0; i < tab->nsections; i++) {
		const struct text_section *s = &tab->sections[i];
		if ((off >= s->vaddr && off < s->end) || (i == tab->nsections - 1 && off == s->end))
			return s->baseaddr + off - s->vaddr;
	}
	return tab->text + off;
}

static uint64_t ftab_field(const struct gm_pclntab *tab, uint32_t index, struct gm_field f)
{
	return gm_field_uint(tab->ftab.bytes + (uint64_t)index * tab->l.functab_size, f);
}

/* Go 1.20's linker writes a generic function's name with everything inside
 * its outermost brackets as "[...]" (pcln.go nameParts; 1.21 keeps the full
 * name and shortens it only when printing).  The ELF symbol at ENTRY has the
 * full name: use it when it is the same name with the brackets filled in. */
static const char *full_generic_name(const struct gm_pclntab *tab, const char *name, uint64_t entry)
{
	const char *dots = strstr(name, "[...]");
	const struct gm_program *prog = tab->rt->prog;
	if (!dots)
		return name;
	const struct gm_symbol *sym = gm_exe_symbol_at(prog->exe, entry - prog->bias);
	if (!sym || sym->addr != entry - prog->bias || !sym->is_func)
		return name;
	size_t head = (size_t)(dots - name), tail = strlen(dots + 5), len = strlen(sym->name);
	bool same = len > head + tail + 2 && strncmp(sym->name, name, head) == 0 && sym->name[head] == '[' &&
		    strcmp(sym->name + len - tail, dots + 5) == 0 && sym->name[len - tail - 1] == ']';
	return same ? sym->name : name;
}

bool gm_pclntab_func_at(struct gm_pclntab *tab, uint32_t index, struct gm_func *ret)
{
	const struct pcl_layout *l = &tab->l;
	if (index + 1ULL >= tab->nftab)
		return false;
	uint64_t func_off = ftab_field(tab, index, l->ft_funcoff);
	if (func_off > tab->pclntable.len || tab->pclntable.len - func_off < l->func_size ||
	    tab->pclntable.len - func_off < l->func_trailer)
		return false;
	const uint8_t *fn = tab->pclntable.bytes + func_off;
	uint64_t trailer = l->func_trailer +
			   4 * (gm_field_uint(fn, l->npcdata) + gm_field_uint(fn, l->nfuncdata));
	const char *name = table_string(&tab->funcnametab, gm_field_uint(fn, l->name_off));
	if (tab->pclntable.len - func_off < trailer || !name)
		return false;
	uint64_t entry = text_addr(tab, (uint32_t)gm_field_uint(fn, l->entry_off));
	*ret = (struct gm_func){
		.entry = entry,
		.name = full_generic_name(tab, name, entry),
		.index = index,
		.args = (int32_t)gm_field_uint(fn, l->args),
		.func_id = (uint8_t)gm_field_uint(fn, l->func_id),
		.flag = (uint8_t)gm_field_uint(fn, l->flag),
		.deferreturn = (uint32_t)gm_field_uint(fn, l->deferreturn),
		.start_line = (int32_t)gm_field_uint(fn, l->start_line),
		.func_off = (uint32_t)func_off,
	};
	return true;
}

uint32_t gm_pclntab_func_count(const struct gm_pclntab *tab)
{
	return tab->nftab - 1;
}

bool gm_pclntab_find_func(struct gm_pclntab *tab, uint64_t pc, struct gm_func *ret)
{
	const struct pcl_layout *l = &tab->l;
	uint32_t pc_off;
	if (pc < tab->minpc || pc >= tab->maxpc || !text_off(tab, pc, &pc_off))
		return false;
	uint64_t x = pc_off + tab->text - tab->minpc;
	uint64_t bucket = x / tab->bucket_bytes;
	uint64_t sub = x % tab->bucket_bytes / (tab->bucket_bytes / l->nsub);
	if (bucket >= tab->nbuckets)
		return false;
	const uint8_t *b = gm_memory_at(tab->rt->prog->mem, tab->findfunctab + bucket * l->bucket_size,
					l->bucket_size);
	if (!b)
		return false;
	uint64_t idx = gm_field_uint(b, l->bucket_idx) + b[l->subbuckets.offset + sub];
	/* The buckets only give a lower bound: step forward, at most to the sentinel. */
	while (idx + 1 < tab->nftab && ftab_field(tab, (uint32_t)idx + 1, l->ft_entryoff) <= pc_off)
		idx++;
	if (idx + 1 >= tab->nftab || ftab_field(tab, (uint32_t)idx, l->ft_entryoff) > pc_off)
		return false;
	return gm_pclntab_func_at(tab, (uint32_t)idx, ret);
}

/* Name order; among twins (an assembly function and its ABI wrapper share a
 * name) a special FuncID first, then ftab order, so a lookup is deterministic
 * and finds the function the runtime tags (runtime.asmcgocall, not its wrapper). */
static int compare_names(const void *a, const void *b, void *arg)
{
	struct gm_pclntab *tab = arg;
	struct gm_func fa, fb;
	gm_pclntab_func_at(tab, *(const uint32_t *)a, &fa);
	gm_pclntab_func_at(tab, *(const uint32_t *)b, &fb);
	int c = strcmp(fa.name, fb.name);
	if (c != 0)
		return c;
	bool a_normal = fa.func_id == tab->ids.normal, b_normal = fb.func_id == tab->ids.normal;
	if (a_normal != b_normal)
		return a_normal ? 1 : -1;
	return fa.index < fb.index ? -1 : fa.index > fb.index;
}

static void build_name_index(struct gm_pclntab *tab)
{
	struct gm_func f;
	tab->by_name_built = true;
	tab->by_name = malloc((size_t)gm_pclntab_func_count(tab) * sizeof(*tab->by_name));
	if (!tab->by_name)
		return;
	for (uint32_t i = 0; i < gm_pclntab_func_count(tab); i++)
		if (gm_pclntab_func_at(tab, i, &f))
			tab->by_name[tab->nby_name++] = i;
	qsort_r(tab->by_name, tab->nby_name, sizeof(*tab->by_name), compare_names, tab);
}

bool gm_pclntab_func_by_name(struct gm_pclntab *tab, const char *name, struct gm_func *ret)
{
	struct gm_func f;
	if (!tab->by_name_built)
		build_name_index(tab);
	size_t lo = 0, hi = tab->nby_name;
	while (lo < hi) { /* the first entry not below NAME */
		size_t mid = lo + (hi - lo) / 2;
		gm_pclntab_func_at(tab, tab->by_name[mid], &f);
		if (strcmp(f.name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == tab->nby_name || !gm_pclntab_func_at(tab, tab->by_name[lo], &f) || strcmp(f.name, name) != 0)
		return false;
	*ret = f;
	return true;
}

/* runtime.pcvalue: the value of the pctab table at OFF for TARGET in F. */
static bool pcvalue(const struct gm_pclntab *tab, const struct gm_func *f, uint32_t off, uint64_t target,
		    int32_t *ret)
{
	return gm_pcvalue_at(tab->pctab.bytes, tab->pctab.len, off, f->entry, tab->pc_quantum, target, ret);
}

static const uint8_t *func_bytes(const struct gm_pclntab *tab, const struct gm_func *f)
{
	return tab->pclntable.bytes + f->func_off;
}

/* F's _func is re-checked: a gm_func may come from the caller, not from this module. */
static bool func_ok(const struct gm_pclntab *tab, const struct gm_func *f)
{
	const struct pcl_layout *l = &tab->l;
	if (f->func_off > tab->pclntable.len || tab->pclntable.len - f->func_off < l->func_size ||
	    tab->pclntable.len - f->func_off < l->func_trailer)
		return false;
	const uint8_t *fn = func_bytes(tab, f);
	uint64_t trailer = l->func_trailer +
			   4 * (gm_field_uint(fn, l->npcdata) + gm_field_uint(fn, l->nfuncdata));
	return tab->pclntable.len - f->func_off >= trailer;
}

bool gm_pclntab_pcsp(struct gm_pclntab *tab, const struct gm_func *f, uint64_t pc, int32_t *ret)
{
	return func_ok(tab, f) &&
	       pcvalue(tab, f, (uint32_t)gm_field_uint(func_bytes(tab, f), tab->l.pcsp), pc, ret);
}

bool gm_pclntab_pcdata(struct gm_pclntab *tab, const struct gm_func *f, uint32_t table, uint64_t pc,
		       int32_t *ret)
{
	if (!func_ok(tab, f))
		return false;
	const uint8_t *fn = func_bytes(tab, f);
	if (table >= gm_field_uint(fn, tab->l.npcdata))
		return false;
	uint32_t off;
	memcpy(&off, fn + tab->l.func_trailer + 4 * (uint64_t)table, 4);
	return pcvalue(tab, f, off, pc, ret);
}

bool gm_pclntab_funcdata(struct gm_pclntab *tab, const struct gm_func *f, uint32_t index,
			 uint64_t *ret_addr)
{
	if (!func_ok(tab, f))
		return false;
	const uint8_t *fn = func_bytes(tab, f);
	uint64_t npcdata = gm_field_uint(fn, tab->l.npcdata);
	if (index >= gm_field_uint(fn, tab->l.nfuncdata))
		return false;
	uint32_t off;
	memcpy(&off, fn + tab->l.func_trailer + 4 * (npcdata + index), 4);
	if (off == NO_OFFSET)
		return false;
	*ret_addr = tab->gofunc + off;
	return true;
}

bool gm_pclntab_file_line(struct gm_pclntab *tab, const struct gm_func *f, uint64_t pc,
			  const char **file, int32_t *line)
{
	if (!func_ok(tab, f))
		return false;
	const uint8_t *fn = func_bytes(tab, f);
	int32_t fileno, lineno;
	if (!pcvalue(tab, f, (uint32_t)gm_field_uint(fn, tab->l.pcfile), pc, &fileno) ||
	    !pcvalue(tab, f, (uint32_t)gm_field_uint(fn, tab->l.pcln), pc, &lineno) || fileno < 0)
		return false;
	uint64_t cu_index = gm_field_uint(fn, tab->l.cu_offset) + (uint64_t)fileno;
	if (cu_index >= tab->cutab.len / 4)
		return false;
	uint32_t file_off = table_u32(&tab->cutab, cu_index * 4);
	const char *name = file_off == NO_OFFSET ? NULL : table_string(&tab->filetab, file_off);
	if (!name)
		return false;
	*file = name;
	*line = lineno;
	return true;
}

/* One logical frame at PC: its position comes from F's pcfile/pcln at PC. */
static void set_frame(struct gm_pclntab *tab, const struct gm_func *f, uint64_t pc, const char *name,
		      uint8_t func_id, bool inlined, struct gm_inline_frame *ret)
{
	*ret = (struct gm_inline_frame){ .name = name ? name : "?", .file = "?", .func_id = func_id,
					 .inlined = inlined };
	if (!gm_pclntab_file_line(tab, f, pc, &ret->file, &ret->line)) {
		ret->file = "?";
		ret->line = 0;
	}
}

/* The inline-tree index at PC, -1 for the physical function (pcdatavalue1). */
static int32_t inline_index(struct gm_pclntab *tab, const struct gm_func *f, uint64_t pc)
{
	int32_t ix;
	if (!gm_pclntab_pcdata(tab, f, tab->pcdata_ids.inl_tree_index, pc, &ix) || ix >= MAX_INLINE_INDEX)
		return -1;
	return ix;
}

size_t gm_pclntab_frames(struct gm_pclntab *tab, const struct gm_func *f, uint64_t pc,
			 struct gm_inline_frame *out, size_t cap)
{
	const struct pcl_layout *l = &tab->l;
	uint64_t tree = 0;
	size_t n = 0;
	bool has_tree = gm_pclntab_funcdata(tab, f, tab->pcdata_ids.inl_tree, &tree);
	int32_t ix = has_tree ? inline_index(tab, f, pc) : -1;
	for (; ix >= 0 && n < cap && n < MAX_INLINE_DEPTH; n++) {
		const uint8_t *call = gm_memory_at(tab->rt->prog->mem, tree + (uint64_t)ix * l->inl_size,
						   l->inl_size);
		if (!call)
			break; /* like the runtime, fall back to the physical function */
		set_frame(tab, f, pc, table_string(&tab->funcnametab, gm_field_uint(call, l->inl_name_off)),
			  (uint8_t)gm_field_uint(call, l->inl_func_id), true, &out[n]);
		pc = f->entry + (uint64_t)(int64_t)(int32_t)gm_field_uint(call, l->inl_parent_pc);
		ix = inline_index(tab, f, pc);
	}
	if (n < cap)
		set_frame(tab, f, pc, f->name, f->func_id, false, &out[n++]);
	return n;
}

const struct gm_func_ids *gm_pclntab_func_ids(const struct gm_pclntab *tab)
{
	return &tab->ids;
}

const struct gm_pcdata_ids *gm_pclntab_pcdata_ids(const struct gm_pclntab *tab)
{
	return &tab->pcdata_ids;
}

const struct gm_func_flags *gm_pclntab_func_flags(const struct gm_pclntab *tab)
{
	return &tab->flags;
}
