#include "roots.h"

#include <dwarf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../dwarf/dwarf_index.h"
#include "../program/program.h"
#include "binding.h"
#include "goroutines.h"
#include "pclntab.h"
#include "stacks.h"

#define MAX_SECTION_WORDS (1ull << 28)
#define MAX_NAME 512

static struct gm_error *roots_add(struct gm_roots *roots, const struct gm_root *root)
{
	if (roots->count == roots->cap) {
		size_t cap = roots->cap ? roots->cap * 2 : 256;
		void *grown = realloc(roots->items, cap * sizeof(*roots->items));
		if (!grown)
			return &gm_error_nomem;
		roots->items = grown;
		roots->cap = cap;
	}
	roots->items[roots->count++] = *root;
	return NULL;
}

/* Read the pointer word at ROOT->addr into ROOT->value and resolve the
 * object it points into (dst, dst_off); false if the word was not saved. */
static bool read_root_word(struct gm_runtime *rt, const struct gm_heap *heap, struct gm_root *root)
{
	if (!gm_try_read_u64(rt->prog->mem, root->addr, &root->value))
		return false;
	if (gm_heap_find_object(heap, root->value, &root->dst))
		root->dst_off = root->value - heap->objects[root->dst].addr;
	return true;
}

/* Static data that no DWARF variable covers but a pointer global points
 * at (var p = &T{...} becomes a linker static temporary: Go 1.27's
 * encoding/json/jsontext.bufferedEncoderPool = &sync.Pool{...}, whose pool
 * holds the encoders' buffers): its words are named and typed through it. */
struct static_pointee {
	uint64_t start, size;      /* link-time */
	Dwarf_Off type_die;        /* the pointer's element type */
	Dwarf_Off pointer_var;     /* the global pointing at it */
};

struct static_pointees {
	struct static_pointee *items;
	size_t count, cap;
};

static int static_pointee_compare(const void *a, const void *b)
{
	const struct static_pointee *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* The pointee of global VAR (at link address ADDR) if it is static data in
 * [LO, HI) (link-time) that no DWARF global covers. */
static bool static_pointee_of(struct gm_program *prog, Dwarf_Die *var, uint64_t addr, uint64_t lo, uint64_t hi,
			      struct static_pointee *ret)
{
	Dwarf_Attribute attr;
	Dwarf_Die type, pointee, other;
	uint64_t value, start;
	const uint64_t *word;
	if (!dwarf_attr(var, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &type) ||
	    !gm_dwarf_pointee(&type, &pointee) || !gm_dwarf_type_size(&pointee, &ret->size) || ret->size == 0 ||
	    !(word = gm_memory_at(prog->mem, addr + prog->bias, sizeof(*word))))
		return false;
	memcpy(&value, word, sizeof(value));
	ret->start = value - prog->bias;
	if (value < prog->bias || ret->start < lo || ret->start >= hi || ret->size > hi - ret->start ||
	    gm_dwarf_global_at(prog->dwarf, ret->start, &other, &start))
		return false;
	ret->type_die = dwarf_dieoffset(&pointee);
	ret->pointer_var = dwarf_dieoffset(var);
	return true;
}

static struct gm_error *find_static_pointees(struct gm_program *prog, uint64_t lo, uint64_t hi,
					     struct static_pointees *ret)
{
	size_t n = prog->dwarf ? gm_dwarf_located_global_count(prog->dwarf) : 0;
	for (size_t i = 0; i < n; i++) {
		Dwarf_Die var;
		uint64_t addr;
		struct static_pointee p;
		if (!gm_dwarf_global_nth(prog->dwarf, i, &var, &addr) || addr < lo || addr >= hi ||
		    !static_pointee_of(prog, &var, addr, lo, hi, &p))
			continue;
		if (ret->count == ret->cap) {
			size_t cap = ret->cap ? ret->cap * 2 : 64;
			void *grown = realloc(ret->items, cap * sizeof(*ret->items));
			if (!grown)
				return &gm_error_nomem;
			ret->items = grown;
			ret->cap = cap;
		}
		ret->items[ret->count++] = p;
	}
	if (ret->count)   /* none without DWARF: items is NULL then */
		qsort(ret->items, ret->count, sizeof(*ret->items), static_pointee_compare);
	return NULL;
}

static const struct static_pointee *static_pointee_at(const struct static_pointees *sp, uint64_t link)
{
	size_t lo = 0, hi = sp->count;
	while (lo < hi) { /* first pointee starting after LINK */
		size_t mid = lo + (hi - lo) / 2;
		if (sp->items[mid].start <= link)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && link < sp->items[lo - 1].start + sp->items[lo - 1].size ? &sp->items[lo - 1] : NULL;
}

/* NAME the word at byte OFF of a value of TYPE (NAME holds the value's name). */
static void describe_word(struct gm_program *prog, struct gm_root *root, Dwarf_Die *type, uint64_t off,
			  char *name, size_t len)
{
	Dwarf_Die leaf;
	size_t n = strlen(name);
	gm_dwarf_describe_offset(prog->dwarf, type, off, name + n, len - n, &leaf);
	root->type_name = strdup(gm_dwarf_type_name(&leaf));
	root->type_die = dwarf_dieoffset(&leaf);
	root->var_type_die = dwarf_dieoffset(type);
	root->var_off = off;
}

/* Name ROOT's word (at a run-time address) by the DWARF global holding it,
 * with its type and the global's, or by the pointer global whose static
 * pointee holds it, else by the ELF symbol (without DWARF no member path). */
struct section {
	enum gm_root_kind kind;
	const char *label;
	uint64_t start, end;
};

static struct gm_error *name_global_word(struct gm_program *prog, const struct section *sec,
					 const struct static_pointees *sp, struct gm_root *root)
{
	uint64_t addr = root->addr;
	char name[MAX_NAME];
	Dwarf_Die var, var_type;
	uint64_t start, link = addr - prog->bias;
	const struct static_pointee *p;
	root->type_name = NULL;
	if (prog->dwarf && gm_dwarf_global_at(prog->dwarf, link, &var, &start)) {
		Dwarf_Attribute attr;
		snprintf(name, sizeof(name), "%s", dwarf_diename(&var) ? dwarf_diename(&var) : "?");
		if (dwarf_attr(&var, DW_AT_type, &attr) && dwarf_formref_die(&attr, &var_type))
			describe_word(prog, root, &var_type, link - start, name, sizeof(name));
	} else if ((p = static_pointee_at(sp, link)) && gm_dwarf_die_at(prog->dwarf, p->pointer_var, &var) &&
		   gm_dwarf_die_at(prog->dwarf, p->type_die, &var_type)) {
		snprintf(name, sizeof(name), "(*%s)", dwarf_diename(&var) ? dwarf_diename(&var) : "?");
		describe_word(prog, root, &var_type, link - p->start, name, sizeof(name));
	} else {
		/* Without DWARF no member path: the symbol, and the offset past its start. */
		const struct gm_symbol *sym = gm_exe_symbol_at(prog->exe, link);
		if (sym && link == sym->addr)
			snprintf(name, sizeof(name), "%s", sym->name);
		else if (sym)
			snprintf(name, sizeof(name), "%s+0x%" PRIx64, sym->name, link - sym->addr);
		else   /* data the linker left unnamed: where it is in its section */
			snprintf(name, sizeof(name), "%s+0x%" PRIx64, sec->label, addr - sec->start);
	}
	root->name = strdup(name);
	return root->name ? NULL : &gm_error_nomem;
}

/* moduledata.gcdatamask / gcbssmask: {n int32, bytedata *uint8}. */
static struct gm_error *read_mask(struct gm_runtime *rt, uint64_t mask_addr, uint64_t words, const uint8_t **ret)
{
	uint64_t bytedata;
	int32_t n;
	struct gm_error *err = gm_read(rt->prog->mem, mask_addr + rt->bitvector_n.offset, &n, sizeof(n));
	if (!err)
		err = gm_read_u64(rt->prog->mem, mask_addr + rt->bitvector_bytedata.offset, &bytedata);
	if (err)
		return err;
	if (n < 0 || (uint64_t)n < words)
		return gm_error_create(GM_ERR_BAD_RUNTIME, "GC mask of %d bits for %" PRIu64 " words", n, words);
	*ret = gm_memory_at(rt->prog->mem, bytedata, (words + 7) / 8);
	return *ret ? NULL : gm_error_fault(bytedata, (words + 7) / 8);
}

static struct gm_error *section_roots(struct gm_runtime *rt, const struct gm_heap *heap, struct gm_roots *roots,
				      const struct section *sec, uint64_t mask_addr, const struct static_pointees *sp)
{
	uint64_t words = (sec->end - sec->start) / rt->ptr_size;
	if (sec->end < sec->start || words > MAX_SECTION_WORDS)
		return gm_error_create(GM_ERR_BAD_RUNTIME, "implausible %s section", sec->label);
	const uint8_t *mask;
	struct gm_error *err = read_mask(rt, mask_addr, words, &mask);
	if (err) {
		gm_warn(&roots->warnings, "%s roots unknown: %s", sec->label, err->message);
		gm_error_destroy(err);
		return NULL;
	}
	for (uint64_t i = 0; i < words && !err; i++) {
		if (!((mask[i / 8] >> (i % 8)) & 1))
			continue;
		struct gm_root root = { .kind = sec->kind, .addr = sec->start + i * rt->ptr_size, .goid = -1,
					.frame_idx = -1, .dst = GM_NO_OBJECT };
		if (!read_root_word(rt, heap, &root)) {
			gm_warn(&roots->warnings, "%s word at 0x%" PRIx64 " not saved", sec->label, root.addr);
			continue;
		}
		err = name_global_word(rt->prog, sec, sp, &root);
		if (!err)
			err = roots_add(roots, &root);
	}
	return err;
}

struct gm_error *gm_roots_read_globals(struct gm_runtime *rt, const struct gm_heap *heap, struct gm_roots **ret)
{
	struct gm_roots *roots = calloc(1, sizeof(*roots));
	if (!roots)
		return &gm_error_nomem;
	const uint8_t *md = gm_memory_at(rt->prog->mem, rt->moduledata_addr, rt->moduledata_size);
	struct gm_error *err = md ? NULL : gm_error_fault(rt->moduledata_addr, rt->moduledata_size);
	if (!err) {
		struct section data = { GM_ROOT_DATA, "data", gm_field_uint(md, rt->moduledata_data),
					gm_field_uint(md, rt->moduledata_edata) };
		struct section bss = { GM_ROOT_BSS, "bss", gm_field_uint(md, rt->moduledata_bss),
				       gm_field_uint(md, rt->moduledata_ebss) };
		struct static_pointees sp = { 0 };
		uint64_t bias = rt->prog->bias;
		err = find_static_pointees(rt->prog, data.start - bias, bss.end - bias, &sp);
		if (!err)
			err = section_roots(rt, heap, roots, &data, rt->moduledata_addr + rt->moduledata_gcdatamask.offset, &sp);
		if (!err)
			err = section_roots(rt, heap, roots, &bss, rt->moduledata_addr + rt->moduledata_gcbssmask.offset, &sp);
		free(sp.items);
	}
	if (err) {
		gm_roots_destroy(roots);
		return err;
	}
	*ret = roots;
	return NULL;
}

const char *gm_root_kind_name(enum gm_root_kind kind)
{
	switch (kind) {
	case GM_ROOT_DATA: return "data";
	case GM_ROOT_BSS: return "bss";
	case GM_ROOT_STACK: return "stack";
	case GM_ROOT_FINALIZER: return "finalizer";
	case GM_ROOT_FINALIZED: return "finalized_object";
	case GM_ROOT_WEAK_HANDLE: return "weak_handle";
	case GM_ROOT_CLEANUP: return "cleanup";
	default: return "queued_finalizer";
	}
}

/* A root for the pointer word at ADDR, named NAME. */
static struct gm_error *add_word_root(struct gm_runtime *rt, const struct gm_heap *heap, struct gm_roots *roots,
				      enum gm_root_kind kind, uint64_t addr, const char *name)
{
	struct gm_root root = { .kind = kind, .addr = addr, .goid = -1, .frame_idx = -1, .dst = GM_NO_OBJECT };
	if (!read_root_word(rt, heap, &root)) {
		gm_warn(&roots->warnings, "%s at 0x%" PRIx64 " not saved", name, addr);
		return NULL;
	}
	root.name = strdup(name);
	if (!root.name)
		return &gm_error_nomem;
	struct gm_error *err = roots_add(roots, &root);
	if (err)
		free(root.name);
	return err;
}

struct special_roots_arg {
	struct gm_runtime *rt;
	const struct gm_heap *heap;
	struct gm_roots *roots;
};

/* The roots one special of span S adds, by its kind (markrootSpans). */
static struct gm_error *special_roots(const struct gm_span *s, uint64_t special, const uint8_t *p, void *arg)
{
	const struct special_roots_arg *a = arg;
	struct gm_runtime *rt = a->rt;
	const struct gm_heap *heap = a->heap;
	struct gm_roots *roots = a->roots;
	const struct gm_specials_layout *l = &rt->specials;
	uint64_t kind = gm_field_uint(p, l->kind);
	uint64_t object = s->base + gm_field_uint(p, l->offset) / s->elemsize * s->elemsize;
	char name[96];
	struct gm_error *err = NULL;
	if (kind == l->kind_finalizer) {
		snprintf(name, sizeof(name), "finalizer of 0x%" PRIx64, object);
		err = add_word_root(rt, heap, roots, GM_ROOT_FINALIZER, special + l->finalizer_fn.offset, name);
		struct gm_root target = { .kind = GM_ROOT_FINALIZED, .addr = special, .value = object,
					  .goid = -1, .frame_idx = -1, .dst = GM_NO_OBJECT };
		snprintf(name, sizeof(name), "object 0x%" PRIx64 " with a finalizer", object);
		if (!err && gm_heap_find_object(heap, object, &target.dst) && (target.name = strdup(name)) != NULL)
			err = roots_add(roots, &target);
	} else if (l->has_weak_handle && kind == l->kind_weak_handle) {
		snprintf(name, sizeof(name), "weak handle of 0x%" PRIx64, object);
		err = add_word_root(rt, heap, roots, GM_ROOT_WEAK_HANDLE, special + l->weak_handle.offset, name);
	} else if (l->has_cleanup && kind == l->kind_cleanup) {
		snprintf(name, sizeof(name), "cleanup of 0x%" PRIx64, object);
		for (uint32_t i = 0; i < l->ncleanup_words && !err; i++)
			err = add_word_root(rt, heap, roots, GM_ROOT_CLEANUP, special + l->cleanup_words[i].offset,
					    name);
	}
	return err;
}

/* Every special of every in-use span. */
static struct gm_error *span_specials(struct gm_runtime *rt, const struct gm_heap *heap, struct gm_roots *roots)
{
	struct special_roots_arg arg = { rt, heap, roots };
	return gm_heap_each_special(heap, &roots->warnings, special_roots, &arg);
}

/* Finalizers queued to run: runtime.allfin, linked through alllink. */
static struct gm_error *queued_finalizers(struct gm_runtime *rt, const struct gm_heap *heap, struct gm_roots *roots)
{
	const struct gm_specials_layout *l = &rt->specials;
	uint64_t block;
	struct gm_error *err = NULL;
	if (!gm_try_read_u64(rt->prog->mem, l->allfin_addr, &block))
		return NULL;
	for (uint32_t nblocks = 0; block && !err && nblocks < (1u << 20); nblocks++) {
		uint64_t next, cnt = 0;
		uint32_t raw_cnt;
		if (!gm_try_read_u64(rt->prog->mem, block + l->block_alllink.offset, &next) ||
		    !gm_try_read(rt->prog->mem, block + l->block_cnt.offset, &raw_cnt, sizeof(raw_cnt))) {
			gm_warn(&roots->warnings, "finalizer block at 0x%" PRIx64 " not saved", block);
			break;
		}
		cnt = raw_cnt < l->fin_capacity ? raw_cnt : l->fin_capacity;
		for (uint64_t i = 0; i < cnt && !err; i++) {
			uint64_t fin = block + l->block_fin.offset + i * l->fin_size;
			char name[96];
			snprintf(name, sizeof(name), "queued finalizer 0x%" PRIx64, fin);
			for (int w = 0; w < 4 && !err; w++)
				err = add_word_root(rt, heap, roots, GM_ROOT_QUEUED_FINALIZER, fin + l->fin_words[w].offset,
						    name);
		}
		block = next;
	}
	return err;
}

struct gm_error *gm_roots_read_specials(struct gm_runtime *rt, const struct gm_heap *heap, struct gm_roots *roots)
{
	struct gm_error *err = span_specials(rt, heap, roots);
	return err ? err : queued_finalizers(rt, heap, roots);
}

void gm_roots_destroy(struct gm_roots *roots)
{
	if (!roots)
		return;
	for (size_t i = 0; i < roots->count; i++) {
		free(roots->items[i].name);
		free(roots->items[i].type_name);
	}
	gm_warnings_free(&roots->warnings);
	free(roots->items);
	free(roots);
}

/* ---- Stack roots ---- */

struct frame_scan {
	struct gm_runtime *rt;
	struct gm_pclntab *tab;
	const struct gm_heap *heap;
	struct gm_roots *roots;
	const struct gm_frame *frame;   /* the physical function's logical frame */
	uint64_t goid;
	Dwarf_Die subprogram;
	bool have_subprogram;
	uint64_t lookup_pc;             /* link-time pc for DWARF location lists */
};

/* Bitmap IDX of the stackmap at ADDR: {n int32, nbit int32, bytedata}; NULL if none. */
static const uint8_t *stack_bitmap(struct gm_runtime *rt, uint64_t addr, int32_t idx, int32_t *ret_nbit)
{
	int32_t n, nbit;
	if (!gm_try_read(rt->prog->mem, addr + rt->stackmap_n.offset, &n, sizeof(n)) ||
	    !gm_try_read(rt->prog->mem, addr + rt->stackmap_nbit.offset, &nbit, sizeof(nbit)) || idx < 0 || idx >= n ||
	    nbit < 0 || nbit > (1 << 24))
		return NULL;
	uint64_t row = ((uint64_t)nbit + 7) / 8;
	*ret_nbit = nbit;
	return gm_memory_at(rt->prog->mem, addr + rt->stackmap_bytedata.offset + (uint64_t)idx * row, row ? row : 1);
}

static struct gm_error *add_stack_root(struct frame_scan *fs, uint64_t addr)
{
	struct gm_runtime *rt = fs->rt;
	struct gm_root root = { .kind = GM_ROOT_STACK, .addr = addr, .goid = (int64_t)fs->goid,
				.frame_idx = (int32_t)fs->frame->idx, .frame_pc = fs->frame->pc,
				.frame_sp = fs->frame->sp, .frame_trap = fs->frame->trap, .dst = GM_NO_OBJECT };
	if (!read_root_word(rt, fs->heap, &root)) {
		gm_warn(&fs->roots->warnings, "goroutine %" PRIu64 ": stack word 0x%" PRIx64 " not saved", fs->goid, addr);
		return NULL;
	}
	char var[MAX_NAME], name[MAX_NAME + 256];
	struct gm_dwarf_frame_slot slot;
	if (fs->have_subprogram &&
	    gm_dwarf_name_frame_slot(rt->prog->dwarf, &fs->subprogram, fs->lookup_pc, (int64_t)(addr - fs->frame->fp),
				     var, sizeof(var), &slot)) {
		snprintf(name, sizeof(name), "%s.%s", fs->frame->func, var);
		root.type_name = strdup(gm_dwarf_type_name(&slot.leaf));
		root.type_die = dwarf_dieoffset(&slot.leaf);
		root.var_type_die = dwarf_dieoffset(&slot.var_type);
		root.var_off = slot.var_off;
	} else {
		snprintf(name, sizeof(name), "%s sp+0x%" PRIx64, fs->frame->func, addr - fs->frame->sp);
	}
	root.name = strdup(name);
	struct gm_error *err = root.name ? roots_add(fs->roots, &root) : &gm_error_nomem;
	if (err) {
		free(root.name);
		free(root.type_name);
	}
	return err;
}

/* Words of BITMAP (NBIT bits) from BASE that are live pointers. */
static struct gm_error *scan_bitmap(struct frame_scan *fs, const uint8_t *bitmap, int32_t nbit, uint64_t base)
{
	struct gm_error *err = NULL;
	for (int32_t j = 0; j < nbit && !err; j++)
		if ((bitmap[j / 8] >> (j % 8)) & 1)
			err = add_stack_root(fs, base + (uint64_t)j * fs->rt->ptr_size);
	return err;
}

/* The live pointers of one physical frame (scanframeworker/getStackMap). */
static struct gm_error *scan_frame(struct frame_scan *fs, const struct gm_func *f)
{
	struct gm_runtime *rt = fs->rt;
	const struct gm_pcdata_ids *ids = gm_pclntab_pcdata_ids(fs->tab);
	const struct gm_frame *fr = fs->frame;
	uint64_t continpc = fr->pc;
	if (fr->trap && fr->idx > 0) /* it called sigpanic: resumes at deferreturn, or is dead */
		continpc = f->deferreturn ? f->entry + f->deferreturn + 1 : 0;
	if (continpc == 0)
		return NULL;
	uint64_t target = continpc != f->entry ? continpc - 1 : continpc;
	int32_t idx;
	if (!gm_pclntab_pcdata(fs->tab, f, ids->stack_map_index, target, &idx) || idx == -1)
		idx = 0;
	fs->lookup_pc = target - rt->prog->bias;
	fs->have_subprogram = rt->prog->dwarf && gm_dwarf_subprogram_at(rt->prog->dwarf, f->entry - rt->prog->bias,
									  &fs->subprogram);
	/* varp: below the return address (x86-64; arm64 keeps it at 0(SP)) and,
	 * with frame pointers, the saved frame pointer (unwinder.resolveInternal).
	 * The arguments start sys.MinFrameSize above the frame's top. */
	const struct gm_arch_info *arch = gm_arch_info(rt->prog->core->arch);
	uint64_t varp = fr->fp - (arch->uses_lr ? 0 : rt->ptr_size), map;
	if (varp > fr->sp)
		varp -= rt->ptr_size;
	int32_t nbit;
	const uint8_t *bits;
	struct gm_error *err = NULL;
	if (varp > fr->sp && gm_pclntab_funcdata(fs->tab, f, ids->locals_pointer_maps, &map) &&
	    (bits = stack_bitmap(rt, map, idx, &nbit)) != NULL)
		err = scan_bitmap(fs, bits, nbit, varp - (uint64_t)nbit * rt->ptr_size);
	if (!err && f->args > 0 && gm_pclntab_funcdata(fs->tab, f, ids->args_pointer_maps, &map) &&
	    (bits = stack_bitmap(rt, map, idx, &nbit)) != NULL)
		err = scan_bitmap(fs, bits, nbit, fr->fp + arch->min_frame_size);
	return err;
}

struct gm_error *gm_roots_read_stacks(struct gm_runtime *rt, struct gm_pclntab *tab, const struct gm_heap *heap,
				      const struct gm_goroutine_set *set, const struct gm_stacks *stacks,
				      struct gm_roots *roots)
{
	struct frame_scan fs = { .rt = rt, .tab = tab, .heap = heap, .roots = roots };
	struct gm_error *err = NULL;
	for (size_t g = 0; g < set->count && !err; g++) {
		fs.goid = set->items[g].goid;
		for (size_t i = 0; i < stacks->nframes[g] && !err; i++) {
			const struct gm_frame *fr = &stacks->frames[stacks->first[g] + i];
			struct gm_func f;
			/* One scan per physical frame, at its non-inlined (last) logical frame. */
			if (fr->inlined || !gm_pclntab_find_func(tab, fr->pc, &f))
				continue;
			fs.frame = fr;
			err = scan_frame(&fs, &f);
		}
	}
	return err;
}
