#include "binding.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../dwarf/layouts.h"
#include "../program/program.h"
#include "code_refs.h"
#include "pclntab.h"

/* Collects the first failure so a binding reads as a list of lookups. */
struct binder {
	struct gm_runtime *rt;
	struct gm_layouts *lay;
	struct gm_error *err;
};

static void fail(struct binder *b, const char *what, const char *name)
{
	if (b->err)
		return;
	b->err = gm_error_create(GM_ERR_BAD_RUNTIME,
				 "%s: %s lacks %s %s (unsupported Go version %s?)",
				 b->rt->prog->exe->path, gm_layouts_source(b->lay), what, name,
				 b->rt->prog->exe->go_version);
}

/* A global whose address neither DWARF, nor .symtab, nor a locator gives. */
static void fail_address(struct binder *b, const char *name)
{
	if (b->err)
		return;
	const struct gm_exe *exe = b->rt->prog->exe;
	b->err = gm_error_create(GM_ERR_NO_DWARF,
				 exe->nsymbols ? "%s: no address for global %s in the DWARF or the symbol table"
					       : "%s: stripped (no symbol table, -s): global %s not found exactly once "
						 "from the executable's code (gomortem dwarf --locate shows what is)",
				 exe->path, name);
}

static bool bind_struct(struct binder *b, const char *name, struct gm_layout_type *ret, uint64_t *ret_size)
{
	if (!gm_layout_type(b->lay, name, ret)) {
		fail(b, "type", name);
		return false;
	}
	if (ret_size && !gm_layout_size(ret, ret_size)) {
		fail(b, "the size of type", name);
		return false;
	}
	return true;
}

/* Bind member PATH of struct ST (named TYPE_NAME for messages). */
static void bind_field(struct binder *b, struct gm_layout_type *st, const char *type_name, const char *path,
		       struct gm_field *f, bool required)
{
	uint64_t offset, size = 0;
	struct gm_layout_type member_type;
	f->present = false;
	if (b->err)
		return;
	if (!gm_layout_member(st, path, &offset, &member_type) ||
	    !gm_layout_size(&member_type, &size)) {
		if (required) {
			char name[256];
			snprintf(name, sizeof(name), "%s.%s", type_name, path);
			fail(b, "field", name);
		}
		return;
	}
	f->offset = (uint32_t)offset;
	f->size = (uint32_t)size;
	f->present = true;
}

static void bind_global(struct binder *b, const char *name, uint64_t *ret, struct gm_layout_type *ret_type)
{
	uint64_t addr;
	if (b->err)
		return;
	struct gm_layout_type type;
	if (!gm_layout_global(b->lay, name, ret_type ? ret_type : &type)) {
		fail(b, "global", name);
		return;
	}
	if (!gm_program_global_addr(b->rt->prog, name, &addr)) {
		fail_address(b, name);
		return;
	}
	*ret = addr + b->rt->prog->bias;
}

static void bind_const(struct binder *b, const char *name, uint64_t *ret)
{
	int64_t value;
	if (b->err)
		return;
	if (!gm_layout_const(b->lay, name, &value)) {
		fail(b, "constant", name);
		return;
	}
	*ret = (uint64_t)value;
}

/* Optional constant: false (and *RET untouched) when DWARF lacks it. */
static bool optional_const(struct binder *b, const char *name, uint64_t *ret)
{
	int64_t value;
	if (!gm_layout_const(b->lay, name, &value))
		return false;
	*ret = (uint64_t)value;
	return true;
}

static void bind_span(struct binder *b)
{
	struct gm_span_layout *l = &b->rt->span;
	struct gm_layout_type st;
	const char *t = "runtime.mspan";
	if (!bind_struct(b, t, &st, &l->size))
		return;
	bind_field(b, &st, t, "startAddr", &l->start_addr, true);
	bind_field(b, &st, t, "npages", &l->npages, true);
	bind_field(b, &st, t, "freeindex", &l->freeindex, true);
	bind_field(b, &st, t, "nelems", &l->nelems, true);
	bind_field(b, &st, t, "allocBits", &l->alloc_bits, true);
	bind_field(b, &st, t, "gcmarkBits", &l->gcmark_bits, true);
	bind_field(b, &st, t, "allocCount", &l->alloc_count, true);
	bind_field(b, &st, t, "spanclass", &l->spanclass, true);
	bind_field(b, &st, t, "state", &l->state, true);
	bind_field(b, &st, t, "elemsize", &l->elemsize, true);
	bind_field(b, &st, t, "limit", &l->limit, true);
	bind_field(b, &st, t, "specials", &l->specials, true);
	bind_field(b, &st, t, "sweepgen", &l->sweepgen, true);
	bind_field(b, &st, t, "allocCountBeforeCache", &l->alloc_count_before_cache, true);
	bind_field(b, &st, t, "largeType", &l->large_type, false); /* 1.22+ */
}

static void bind_type(struct binder *b)
{
	struct gm_type_layout *l = &b->rt->type;
	struct gm_layout_type st;
	/* internal/abi.Type from 1.21; runtime._type with lowercase names in 1.20. */
	if (gm_layout_type(b->lay, "internal/abi.Type", &st)) {
		const char *t = "internal/abi.Type";
		gm_layout_size(&st, &l->size);
		bind_field(b, &st, t, "Size_", &l->size_, true);
		bind_field(b, &st, t, "PtrBytes", &l->ptr_bytes, true);
		bind_field(b, &st, t, "TFlag", &l->tflag, true);
		bind_field(b, &st, t, "Kind_", &l->kind, true);
		bind_field(b, &st, t, "GCData", &l->gcdata, true);
		bind_field(b, &st, t, "Str", &l->str, true);
		return;
	}
	const char *t = "runtime._type";
	if (!bind_struct(b, t, &st, &l->size))
		return;
	bind_field(b, &st, t, "size", &l->size_, true);
	bind_field(b, &st, t, "ptrdata", &l->ptr_bytes, true);
	bind_field(b, &st, t, "tflag", &l->tflag, true);
	bind_field(b, &st, t, "kind", &l->kind, true);
	bind_field(b, &st, t, "gcdata", &l->gcdata, true);
	bind_field(b, &st, t, "str", &l->str, true);
}

static void bind_heap_stats(struct binder *b, struct gm_layout_type *mstats)
{
	struct gm_heap_stats_layout *l = &b->rt->heap_stats;
	uint64_t offset, n;
	struct gm_layout_type stats_type, st;
	if (b->err)
		return;
	if (!gm_layout_member(mstats, "heapStats.stats", &offset, &stats_type) ||
	    !gm_layout_array_length(&stats_type, &n)) {
		fail(b, "field", "runtime.mstats.heapStats.stats");
		return;
	}
	l->stats_offset = offset;
	l->nstats = (uint32_t)n;
	const char *t = "runtime.heapStatsDelta";
	if (!bind_struct(b, t, &st, &l->size))
		return;
	bind_field(b, &st, t, "committed", &l->committed, true);
	bind_field(b, &st, t, "released", &l->released, true);
	bind_field(b, &st, t, "inHeap", &l->in_heap, true);
	bind_field(b, &st, t, "inStacks", &l->in_stacks, true);
	bind_field(b, &st, t, "inWorkBufs", &l->in_work_bufs, true);
	bind_field(b, &st, t, "inPtrScalarBits", &l->in_ptr_scalar_bits, false); /* 1.20-1.23 */
	bind_field(b, &st, t, "tinyAllocCount", &l->tiny_alloc_count, true);
	bind_field(b, &st, t, "largeAlloc", &l->large_alloc, true);
	bind_field(b, &st, t, "largeAllocCount", &l->large_alloc_count, true);
	bind_field(b, &st, t, "largeFree", &l->large_free, true);
	bind_field(b, &st, t, "largeFreeCount", &l->large_free_count, true);
	bind_field(b, &st, t, "smallAllocCount", &l->small_alloc_count, true);
	bind_field(b, &st, t, "smallFreeCount", &l->small_free_count, true);
}

static void bind_memstats(struct binder *b)
{
	struct gm_runtime *rt = b->rt;
	static const char *const sys_names[6] = {
		"stacks_sys", "mspan_sys", "mcache_sys", "buckhash_sys", "gcMiscSys", "other_sys",
	};
	struct gm_layout_type mstats, gc;
	bind_global(b, "runtime.memstats", &rt->memstats_addr, &mstats);
	bind_global(b, "runtime.gcController", &rt->gc_controller_addr, &gc);
	if (b->err)
		return;
	for (int i = 0; i < 6; i++)
		bind_field(b, &mstats, "runtime.mstats", sys_names[i], &rt->mstats_sys[i], true);
	bind_field(b, &mstats, "runtime.mstats", "last_gc_unix", &rt->mstats_last_gc_unix, true);
	bind_field(b, &mstats, "runtime.mstats", "last_gc_nanotime", &rt->mstats_last_gc_nanotime, true);
	bind_field(b, &mstats, "runtime.mstats", "pause_total_ns", &rt->mstats_pause_total_ns, true);
	bind_field(b, &mstats, "runtime.mstats", "numgc", &rt->mstats_numgc, true);
	bind_heap_stats(b, &mstats);
	const char *t = "runtime.gcControllerState";
	bind_field(b, &gc, t, "heapInUse", &rt->gc_heap_in_use, true);
	bind_field(b, &gc, t, "heapFree", &rt->gc_heap_free, true);
	bind_field(b, &gc, t, "heapReleased", &rt->gc_heap_released, true);
	bind_field(b, &gc, t, "gcPercentHeapGoal.value", &rt->gc_percent_heap_goal, true);
	bind_field(b, &gc, t, "memoryLimit.value", &rt->gc_memory_limit, true);
}

static void bind_mcache(struct binder *b)
{
	struct gm_runtime *rt = b->rt;
	struct gm_layout_type st, alloc_type, p;
	const char *t = "runtime.mcache";
	uint64_t offset, n;
	if (!bind_struct(b, t, &st, &rt->mcache_size))
		return;
	bind_field(b, &st, t, "tinyAllocs", &rt->mcache_tiny_allocs, true);
	bind_field(b, &st, t, "alloc", &rt->mcache_alloc, true);
	if (!b->err && gm_layout_member(&st, "alloc", &offset, &alloc_type) &&
	    gm_layout_array_length(&alloc_type, &n))
		rt->mcache_nalloc = (uint32_t)n;
	if (bind_struct(b, "runtime.p", &p, NULL))
		bind_field(b, &p, "runtime.p", "mcache", &rt->p_mcache, true);
	bind_global(b, "runtime.allp", &rt->allp_addr, NULL);
}

static void bind_g(struct binder *b)
{
	struct gm_g_layout *l = &b->rt->g;
	struct gm_layout_type st;
	const char *t = "runtime.g";
	if (!bind_struct(b, t, &st, &l->size))
		return;
	bind_field(b, &st, t, "stack.lo", &l->stack_lo, true);
	bind_field(b, &st, t, "stack.hi", &l->stack_hi, true);
	bind_field(b, &st, t, "_panic", &l->panic, true);
	bind_field(b, &st, t, "_defer", &l->defer, true);
	bind_field(b, &st, t, "m", &l->m, true);
	bind_field(b, &st, t, "sched.sp", &l->sched_sp, true);
	bind_field(b, &st, t, "sched.pc", &l->sched_pc, true);
	bind_field(b, &st, t, "sched.ctxt", &l->sched_ctxt, true);
	bind_field(b, &st, t, "sched.lr", &l->sched_lr, true);
	bind_field(b, &st, t, "sched.bp", &l->sched_bp, true);
	bind_field(b, &st, t, "syscallsp", &l->syscallsp, true);
	bind_field(b, &st, t, "syscallpc", &l->syscallpc, true);
	bind_field(b, &st, t, "atomicstatus", &l->atomicstatus, true);
	bind_field(b, &st, t, "goid", &l->goid, true);
	bind_field(b, &st, t, "waitreason", &l->waitreason, true);
	bind_field(b, &st, t, "waitsince", &l->waitsince, true);
	bind_field(b, &st, t, "lockedm", &l->lockedm, true);
	bind_field(b, &st, t, "parentGoid", &l->parent_goid, false); /* 1.21+ */
	bind_field(b, &st, t, "gopc", &l->gopc, true);
	bind_field(b, &st, t, "startpc", &l->startpc, true);
}

static void bind_m(struct binder *b)
{
	struct gm_m_layout *l = &b->rt->m;
	struct gm_layout_type st;
	const char *t = "runtime.m";
	if (!bind_struct(b, t, &st, &l->size))
		return;
	bind_field(b, &st, t, "g0", &l->g0, true);
	bind_field(b, &st, t, "procid", &l->procid, true);
	bind_field(b, &st, t, "gsignal", &l->gsignal, true);
	bind_field(b, &st, t, "curg", &l->curg, true);
	bind_field(b, &st, t, "id", &l->id, true);
	bind_field(b, &st, t, "alllink", &l->alllink, true);
}

/* A [N]string global: its address and N. */
static void bind_string_array(struct binder *b, const char *name, uint64_t *ret_addr, uint32_t *ret_n)
{
	struct gm_layout_type type;
	uint64_t n;
	bind_global(b, name, ret_addr, &type);
	if (b->err)
		return;
	if (!gm_layout_array_length(&type, &n) || n > 4096) {
		fail(b, "a [N]string array", name);
		return;
	}
	*ret_n = (uint32_t)n;
}

static void bind_goroutines(struct binder *b)
{
	struct gm_runtime *rt = b->rt;
	bind_g(b);
	bind_m(b);
	bind_global(b, "runtime.allgs", &rt->allgs_addr, NULL);
	bind_global(b, "runtime.allm", &rt->allm_addr, NULL);
	bind_const(b, "runtime._Gidle", &rt->g_idle);
	bind_const(b, "runtime._Gdead", &rt->g_dead);
	bind_const(b, "runtime._Gwaiting", &rt->g_waiting);
	bind_const(b, "runtime._Gsyscall", &rt->g_syscall);
	bind_const(b, "runtime._Grunning", &rt->g_running);
	bind_const(b, "runtime._Gscan", &rt->g_scan);
	rt->has_g_dead_extra = optional_const(b, "runtime._Gdeadextra", &rt->g_dead_extra);
	rt->has_g_leaked = optional_const(b, "runtime._Gleaked", &rt->g_leaked); /* 1.26+ */
	bind_string_array(b, "runtime.gStatusStrings", &rt->g_status_strings_addr, &rt->ng_status_strings);
	bind_string_array(b, "runtime.waitReasonStrings", &rt->wait_reason_strings_addr,
			  &rt->nwait_reason_strings);
}

static void bind_finalizer_queue(struct binder *b)
{
	struct gm_specials_layout *l = &b->rt->specials;
	static const char *const words[4] = { "fn", "arg", "fint", "ot" };
	struct gm_layout_type block, fin, fin_array;
	uint64_t offset, n;
	bind_global(b, "runtime.allfin", &l->allfin_addr, NULL);
	/* finblock until 1.24, finBlock from 1.25. */
	const char *t = gm_layout_type(b->lay, "runtime.finBlock", &block) ? "runtime.finBlock" : "runtime.finblock";
	if (!bind_struct(b, t, &block, NULL))
		return;
	bind_field(b, &block, t, "alllink", &l->block_alllink, true);
	bind_field(b, &block, t, "cnt", &l->block_cnt, true);
	bind_field(b, &block, t, "fin", &l->block_fin, true);
	if (!b->err && gm_layout_member(&block, "fin", &offset, &fin_array) &&
	    gm_layout_array_length(&fin_array, &n))
		l->fin_capacity = (uint32_t)n;
	if (!bind_struct(b, "runtime.finalizer", &fin, &l->fin_size))
		return;
	for (int i = 0; i < 4; i++)
		bind_field(b, &fin, "runtime.finalizer", words[i], &l->fin_words[i], true);
}

static void bind_specials(struct binder *b)
{
	struct gm_specials_layout *l = &b->rt->specials;
	struct gm_layout_type st;
	if (bind_struct(b, "runtime.special", &st, NULL)) {
		bind_field(b, &st, "runtime.special", "next", &l->next, true);
		bind_field(b, &st, "runtime.special", "offset", &l->offset, true);
		bind_field(b, &st, "runtime.special", "kind", &l->kind, true);
	}
	bind_const(b, "runtime._KindSpecialFinalizer", &l->kind_finalizer);
	if (bind_struct(b, "runtime.specialfinalizer", &st, NULL))
		bind_field(b, &st, "runtime.specialfinalizer", "fn", &l->finalizer_fn, true);
	/* Weak handles from 1.23, cleanups from 1.24. */
	l->has_weak_handle = optional_const(b, "runtime._KindSpecialWeakHandle", &l->kind_weak_handle) &&
			     gm_layout_type(b->lay, "runtime.specialWeakHandle", &st);
	if (l->has_weak_handle)
		bind_field(b, &st, "runtime.specialWeakHandle", "handle", &l->weak_handle, true);
	l->has_cleanup = optional_const(b, "runtime._KindSpecialCleanup", &l->kind_cleanup) &&
			 gm_layout_type(b->lay, "runtime.specialCleanup", &st);
	if (l->has_cleanup) {
		/* 1.24-1.25: a closure fn; 1.26: a cleanupFn {call, fn, arg}, all pointers. */
		static const char *const paths[3] = { "cleanup.call", "cleanup.fn", "cleanup.arg" };
		bind_field(b, &st, "runtime.specialCleanup", "fn", &l->cleanup_words[0], false);
		l->ncleanup_words = l->cleanup_words[0].present ? 1 : 3;
		for (uint32_t i = 0; l->ncleanup_words == 3 && i < 3; i++)
			bind_field(b, &st, "runtime.specialCleanup", paths[i], &l->cleanup_words[i], true);
	}
	bind_finalizer_queue(b);
}

/* The memory profiler: optional as a whole (present false, no error) when
 * runtime.bucket is missing; once it is there every piece is required,
 * except memRecordCycle's alloc_bytes and free_bytes (gone in 1.27: bytes are
 * counts times bucket.size). */
static void bind_mprof(struct binder *b)
{
	struct gm_mprof_layout *l = &b->rt->mprof;
	struct gm_layout_type st, member;
	uint64_t offset, n;
	if (!gm_layout_type(b->lay, "runtime.bucket", &st))
		return;
	if (!bind_struct(b, "runtime.bucket", &st, &l->bucket_size))
		return;
	bind_field(b, &st, "runtime.bucket", "allnext", &l->allnext, true);
	bind_field(b, &st, "runtime.bucket", "typ", &l->typ, true);
	bind_field(b, &st, "runtime.bucket", "size", &l->size, true);
	bind_field(b, &st, "runtime.bucket", "nstk", &l->nstk, true);
	bind_const(b, "runtime.memProfile", &l->mem_profile);
	if (bind_struct(b, "runtime.memRecord", &st, NULL)) {
		bind_field(b, &st, "runtime.memRecord", "active", &l->active, true);
		bind_field(b, &st, "runtime.memRecord", "future", &l->future, true);
		if (!b->err && gm_layout_member(&st, "future", &offset, &member) &&
		    gm_layout_array_length(&member, &n) && n > 0 && n <= 16)
			l->nfuture = (uint32_t)n;
		else
			fail(b, "the length of field", "runtime.memRecord.future");
	}
	if (bind_struct(b, "runtime.memRecordCycle", &st, &l->cycle_size)) {
		bind_field(b, &st, "runtime.memRecordCycle", "allocs", &l->allocs, true);
		bind_field(b, &st, "runtime.memRecordCycle", "frees", &l->frees, true);
		bind_field(b, &st, "runtime.memRecordCycle", "alloc_bytes", &l->alloc_bytes, false);
		bind_field(b, &st, "runtime.memRecordCycle", "free_bytes", &l->free_bytes, false);
	}
	if (bind_struct(b, "runtime.mProfCycleHolder", &st, NULL))
		bind_field(b, &st, "runtime.mProfCycleHolder", "value.value", &l->cycle_value, true);
	bind_const(b, "runtime._KindSpecialProfile", &l->kind_profile);
	if (bind_struct(b, "runtime.specialprofile", &st, NULL))
		bind_field(b, &st, "runtime.specialprofile", "b", &l->special_bucket, true);
	bind_global(b, "runtime.mbuckets", &l->mbuckets_addr, NULL);
	bind_global(b, "runtime.MemProfileRate", &l->mem_profile_rate_addr, NULL);
	bind_global(b, "runtime.mProfCycle", &l->cycle_addr, NULL);
	l->present = !b->err;
}

/* The size-class table moved to internal/runtime/gc in 1.25. */
static void bind_size_classes(struct binder *b)
{
	struct gm_runtime *rt = b->rt;
	static const char *const names[] = { "internal/runtime/gc.SizeClassToSize", "runtime.class_to_size" };
	struct gm_layout_type type;
	uint64_t addr, n, elem_size;
	for (size_t i = 0; i < 2 && !b->err; i++) {
		if (!gm_layout_global(b->lay, names[i], &type))
			continue;
		if (!gm_program_global_addr(rt->prog, names[i], &addr)) {
			fail_address(b, names[i]);
			return;
		}
		if (!gm_layout_array_length(&type, &n) || !gm_layout_size(&type, &elem_size) ||
		    n == 0 || elem_size != 2 * n || n > 1024) {
			fail(b, "a [N]uint16 size-class table", names[i]);
			return;
		}
		rt->class_to_size_addr = addr + rt->prog->bias;
		rt->nsize_classes = (uint32_t)n;
		return;
	}
	fail(b, "global", "runtime.class_to_size (or internal/runtime/gc.SizeClassToSize)");
}

static struct gm_error *load_size_classes(struct gm_runtime *rt)
{
	rt->class_to_size = calloc(rt->nsize_classes, sizeof(*rt->class_to_size));
	if (!rt->class_to_size)
		return &gm_error_nomem;
	struct gm_error *err = gm_read(rt->prog->mem, rt->class_to_size_addr, rt->class_to_size,
				       rt->nsize_classes * sizeof(*rt->class_to_size));
	return gm_error_prefix(err, "reading the size-class table");
}

static void bind_type_flags(struct binder *b)
{
	struct gm_runtime *rt = b->rt;
	if (!optional_const(b, "internal/abi.TFlagExtraStar", &rt->tflag_extra_star))
		bind_const(b, "runtime.tflagExtraStar", &rt->tflag_extra_star); /* 1.20 */
	/* 1.24+: large types' GC masks are built on demand. */
	optional_const(b, "internal/abi.TFlagGCMaskOnDemand", &rt->tflag_gcmask_on_demand);
	/* 1.22-1.23: a large object of a GC-program type has a synthetic largeType. */
	optional_const(b, "internal/abi.TFlagUnrolledBitmap", &rt->tflag_unrolled_bitmap);
	/* Kind_ carries flag bits above KindMask until 1.26, which drops the constant. */
	rt->kind_mask = 0xff;
	if (!optional_const(b, "internal/abi.KindMask", &rt->kind_mask))
		optional_const(b, "runtime.kindMask", &rt->kind_mask);
	/* A value stored directly in an interface's data word: a TFlag from
	 * 1.26, a Kind_ flag before (0 when DWARF lacks the constant: unknown). */
	if (!optional_const(b, "internal/abi.TFlagDirectIface", &rt->tflag_direct_iface) &&
	    !optional_const(b, "internal/abi.KindDirectIface", &rt->kind_direct_iface))
		optional_const(b, "runtime.kindDirectIface", &rt->kind_direct_iface);
	/* Before 1.24 a type's GCData may be a GC program, not a mask. */
	if (!optional_const(b, "internal/abi.KindGCProg", &rt->kind_gc_prog))
		optional_const(b, "runtime.kindGCProg", &rt->kind_gc_prog);
}

/* Where pointer bitmaps live: heapArena.bitmap and noMorePtrs in Go
 * 1.20/1.21 (heapArenaPtrScalar.* in 1.22 built with noallocheaders), and
 * then the arena index that finds them; malloc headers and span heap bits
 * otherwise. */
static void bind_arenas(struct binder *b, struct gm_layout_type *mheap)
{
	struct gm_runtime *rt = b->rt;
	struct gm_arena_layout *l = &rt->arena;
	static const char *const prefixes[] = { "", "heapArenaPtrScalar." };
	struct gm_layout_type arena;
	if (!bind_struct(b, "runtime.heapArena", &arena, NULL))
		return;
	for (size_t i = 0; i < 2 && !l->bitmap.present; i++) {
		char bitmap[64], no_more_ptrs[64];
		snprintf(bitmap, sizeof(bitmap), "%sbitmap", prefixes[i]);
		snprintf(no_more_ptrs, sizeof(no_more_ptrs), "%snoMorePtrs", prefixes[i]);
		bind_field(b, &arena, "runtime.heapArena", bitmap, &l->bitmap, false);
		if (l->bitmap.present)
			bind_field(b, &arena, "runtime.heapArena", no_more_ptrs, &l->no_more_ptrs, true);
	}
	rt->arena_bitmap = l->bitmap.present;
	rt->alloc_headers = !rt->arena_bitmap;
	/* The arena index itself: memory of the runtime's own outside Sys
	 * (mheap.sysAlloc maps each L2 array with sysAllocOS). */
	bind_field(b, mheap, "runtime.mheap", "arenas", &l->mheap_arenas, true);
	bind_const(b, "runtime.arenaL1Bits", &l->l1_bits);
	bind_const(b, "runtime.arenaL2Bits", &l->l2_bits);
	if (!rt->arena_bitmap)
		return;
	bind_const(b, "runtime.heapArenaBytes", &l->arena_bytes);
	bind_const(b, "runtime.arenaBaseOffsetUintptr", &l->base_offset);
	if (!b->err && (l->arena_bytes == 0 || l->arena_bytes % rt->page_size != 0 ||
			l->l1_bits + l->l2_bits > 48))
		fail(b, "a plausible arena geometry in", "runtime.heapArenaBytes/arenaL1Bits/arenaL2Bits");
}

/* An optional member: the first of (TYPE, PATH) pairs that exists. */
static void first_member(struct binder *b, const char *const (*pairs)[2], size_t n, struct gm_field *f)
{
	struct gm_layout_type st, member;
	uint64_t offset, size;
	f->present = false;
	for (size_t i = 0; i < n && !f->present; i++)
		if (gm_layout_type(b->lay, pairs[i][0], &st) && gm_layout_member(&st, pairs[i][1], &offset, &member) &&
		    gm_layout_size(&member, &size))
			*f = (struct gm_field){ .offset = (uint32_t)offset, .size = (uint32_t)size, .present = true };
}

/* The size of struct NAME in *RET; 0 if it does not exist. */
static void optional_size(struct binder *b, const char *name, uint64_t *ret)
{
	struct gm_layout_type st;
	if (!gm_layout_type(b->lay, name, &st) || !gm_layout_size(&st, ret))
		*ret = 0;
}

/* What type inference reads of maps without DWARF.  The runtime has either
 * the classic runtime.hmap (GOEXPERIMENT=noswissmap builds of 1.24 and
 * 1.25 too) or Swiss maps, and its map type descriptor says Bucket or
 * Group accordingly: the one whose runtime struct exists is bound. */
static void bind_map_layouts(struct binder *b)
{
	struct gm_descriptor_layout *d = &b->rt->desc;
	static const char *const buckets[][2] = { { "runtime.hmap", "buckets" } };
	static const char *const oldbuckets[][2] = { { "runtime.hmap", "oldbuckets" } };
	static const char *const bucket[][2] = { { "internal/abi.OldMapType", "Bucket" },
						 { "internal/abi.MapType", "Bucket" }, { "runtime.maptype", "bucket" } };
	static const char *const dir_ptr[][2] = { { "internal/runtime/maps.Map", "dirPtr" } };
	static const char *const dir_len[][2] = { { "internal/runtime/maps.Map", "dirLen" } };
	static const char *const groups[][2] = { { "internal/runtime/maps.table", "groups.data" } };
	static const char *const length_mask[][2] = { { "internal/runtime/maps.table", "groups.lengthMask" } };
	static const char *const group[][2] = { { "internal/abi.SwissMapType", "Group" },
						{ "internal/abi.MapType", "Group" } };
	first_member(b, buckets, 1, &d->hmap_buckets);
	if (d->hmap_buckets.present) {
		static const char *const key[][2] = { { "internal/abi.OldMapType", "Key" },
						      { "internal/abi.MapType", "Key" }, { "runtime.maptype", "key" } };
		static const char *const elem[][2] = { { "internal/abi.OldMapType", "Elem" },
						       { "internal/abi.MapType", "Elem" }, { "runtime.maptype", "elem" } };
		first_member(b, oldbuckets, 1, &d->hmap_oldbuckets);
		first_member(b, bucket, 3, &d->map_bucket);
		first_member(b, key, 3, &d->map_key);
		first_member(b, elem, 3, &d->map_elem);
		optional_size(b, "runtime.hmap", &d->hmap_size);
		return;
	}
	static const char *const key[][2] = { { "internal/abi.SwissMapType", "Key" }, { "internal/abi.MapType", "Key" } };
	static const char *const elem[][2] = { { "internal/abi.SwissMapType", "Elem" },
					       { "internal/abi.MapType", "Elem" } };
	first_member(b, dir_ptr, 1, &d->swiss_dir_ptr);
	first_member(b, dir_len, 1, &d->swiss_dir_len);
	first_member(b, groups, 1, &d->table_groups);
	first_member(b, length_mask, 1, &d->table_length_mask);
	first_member(b, group, 2, &d->map_group);
	first_member(b, key, 2, &d->map_key);
	first_member(b, elem, 2, &d->map_elem);
	optional_size(b, "internal/runtime/maps.Map", &d->swiss_map_size);
	optional_size(b, "internal/runtime/maps.table", &d->table_size);
}

/* What type inference follows from a descriptor: an itab's type word and a
 * pointer type's element (internal/abi from 1.21, runtime in 1.20). */
static void bind_descriptor_links(struct binder *b)
{
	static const char *const itab[][2] = { { "internal/abi.ITab", "Type" }, { "runtime.itab", "_type" } };
	static const char *const elem[][2] = { { "internal/abi.PtrType", "Elem" }, { "runtime.ptrtype", "elem" } };
	first_member(b, itab, 2, &b->rt->itab_type);
	first_member(b, elem, 2, &b->rt->ptrtype_elem);
	struct gm_descriptor_layout *d = &b->rt->desc;
	static const char *const fields[][2] = { { "internal/abi.StructType", "Fields" },
						 { "runtime.structtype", "fields" } };
	static const char *const typ[][2] = { { "internal/abi.StructField", "Typ" }, { "runtime.structfield", "typ" } };
	static const char *const offset[][2] = { { "internal/abi.StructField", "Offset" },
						 { "runtime.structfield", "offset" } };
	static const char *const array_elem[][2] = { { "internal/abi.ArrayType", "Elem" }, { "runtime.arraytype", "elem" } };
	static const char *const array_len[][2] = { { "internal/abi.ArrayType", "Len" }, { "runtime.arraytype", "len" } };
	static const char *const slice_elem[][2] = { { "internal/abi.SliceType", "Elem" }, { "runtime.slicetype", "elem" } };
	static const char *const chan_elem[][2] = { { "internal/abi.ChanType", "Elem" }, { "runtime.chantype", "elem" } };
	static const char *const methods[][2] = { { "internal/abi.InterfaceType", "Methods" },
						  { "runtime.interfacetype", "mhdr" } };
	static const char *const buf[][2] = { { "runtime.hchan", "buf" } };
	static const char *const elemtype[][2] = { { "runtime.hchan", "elemtype" } };
	static const char *const dataqsiz[][2] = { { "runtime.hchan", "dataqsiz" } };
	first_member(b, fields, 2, &d->struct_fields);
	first_member(b, typ, 2, &d->field_typ);
	first_member(b, offset, 2, &d->field_offset);
	first_member(b, array_elem, 2, &d->array_elem);
	first_member(b, array_len, 2, &d->array_len);
	first_member(b, slice_elem, 2, &d->slice_elem);
	first_member(b, chan_elem, 2, &d->chan_elem);
	first_member(b, methods, 2, &d->iface_methods);
	first_member(b, buf, 1, &d->hchan_buf);
	first_member(b, elemtype, 1, &d->hchan_elemtype);
	first_member(b, dataqsiz, 1, &d->hchan_dataqsiz);
	/* Go 1.20 has the runtime's own structfield, 1.21+ internal/abi's. */
	optional_size(b, "internal/abi.StructField", &d->struct_field_size);
	if (!d->struct_field_size)
		optional_size(b, "runtime.structfield", &d->struct_field_size);
	optional_size(b, "runtime.hchan", &d->hchan_size);
	bind_map_layouts(b);
	/* sync.Pool's layout for the pool globals code_types.c finds (sync is
	 * no runtime package, but every program with fmt links it). */
	static const char *const local[][2] = { { "sync.Pool", "local" } };
	static const char *const local_size[][2] = { { "sync.Pool", "localSize" } };
	static const char *const victim[][2] = { { "sync.Pool", "victim" } };
	static const char *const victim_size[][2] = { { "sync.Pool", "victimSize" } };
	static const char *const typ_word[][2] = { { "sync.eface", "typ" } };
	static const char *const val_word[][2] = { { "sync.eface", "val" } };
	first_member(b, local, 1, &d->pool_local);
	first_member(b, local_size, 1, &d->pool_local_size);
	first_member(b, victim, 1, &d->pool_victim);
	first_member(b, victim_size, 1, &d->pool_victim_size);
	first_member(b, typ_word, 1, &d->eface_typ);
	first_member(b, val_word, 1, &d->eface_val);
	/* sync.Map's trie, for the maps code_types.c finds (reflect's ptrMap is
	 * one: every program with fmt has the instantiation). */
	static const char *const root[][2] = { { "internal/sync.HashTrieMap[interface {},interface {}]", "root" } };
	static const char *const is_entry[][2] = { { "internal/sync.node[interface {},interface {}]", "isEntry" } };
	first_member(b, root, 1, &d->trie_root);
	first_member(b, is_entry, 1, &d->node_is_entry);
	static const char *const read[][2] = { { "sync.Map", "read" } };
	static const char *const dirty[][2] = { { "sync.Map", "dirty" } };
	first_member(b, read, 1, &d->sync_map_read);
	first_member(b, dirty, 1, &d->sync_map_dirty);
}

/* The array and struct descriptors: 1.24+ rebuilds an on-demand mask the
 * runtime never built from them, as buildGCMask walks them (required
 * there); type inference lays out a struct DWARF lacks by its first field. */
static void bind_gcmask(struct binder *parent)
{
	struct gm_gcmask_layout *l = &parent->rt->gcmask;
	struct binder sub = { .rt = parent->rt, .lay = parent->lay }, *b = &sub;
	struct gm_layout_type st;
	if (parent->err)
		return;
	bind_const(b, "internal/abi.Array", &l->kind_array);
	bind_const(b, "internal/abi.Struct", &l->kind_struct);
	if (bind_struct(b, "internal/abi.ArrayType", &st, &l->array_type_size)) {
		bind_field(b, &st, "internal/abi.ArrayType", "Elem", &l->array_elem, true);
		bind_field(b, &st, "internal/abi.ArrayType", "Len", &l->array_len, true);
	}
	if (bind_struct(b, "internal/abi.StructType", &st, &l->struct_type_size)) {
		bind_field(b, &st, "internal/abi.StructType", "Fields.array", &l->struct_fields, true);
		bind_field(b, &st, "internal/abi.StructType", "Fields.len", &l->struct_nfields, true);
	}
	if (bind_struct(b, "internal/abi.StructField", &st, &l->field_size)) {
		bind_field(b, &st, "internal/abi.StructField", "Typ", &l->field_typ, true);
		bind_field(b, &st, "internal/abi.StructField", "Offset", &l->field_offset, true);
	}
	l->present = !sub.err;
	if (sub.err && parent->rt->tflag_gcmask_on_demand)
		parent->err = sub.err;
	else
		gm_error_destroy(sub.err);
}

/* The offset of FIELD's address in runtime.sudog: FIELD.maybeTraceablePtr.vu
 * or FIELD.vu when the runtime hides it from the GC (1.26+), else FIELD itself. */
static uint64_t sudog_address_of(struct gm_layout_type *sudog, const char *field, uint64_t plain)
{
	char path[64];
	uint64_t off;
	snprintf(path, sizeof(path), "%s.maybeTraceablePtr.vu", field);
	if (gm_layout_member(sudog, path, &off, NULL))
		return off;
	snprintf(path, sizeof(path), "%s.vu", field);
	if (gm_layout_member(sudog, path, &off, NULL))
		return off;
	return plain;
}

/* What leaked-goroutine detection reads (graph/goleak.c); optional. */
static void bind_wait(struct binder *b)
{
	struct gm_wait_layout *l = &b->rt->wait;
	struct gm_layout_type g, sudog, table, entry;
	l->present = gm_layout_type(b->lay, "runtime.g", &g) && gm_layout_type(b->lay, "runtime.sudog", &sudog) &&
		     gm_layout_member(&g, "waiting", &l->g_waiting, NULL) &&
		     gm_layout_member(&sudog, "c", &l->c, NULL) && gm_layout_member(&sudog, "elem", &l->elem, NULL) &&
		     gm_layout_member(&sudog, "waitlink", &l->waitlink, NULL);
	if (!l->present)
		return;
	l->c_addr = sudog_address_of(&sudog, "c", l->c);
	l->elem_addr = sudog_address_of(&sudog, "elem", l->elem);
	l->has_semtable = gm_layout_member(&sudog, "g", &l->sudog_g, NULL) &&
			  gm_layout_member(&sudog, "prev", &l->prev, NULL) &&
			  gm_layout_member(&sudog, "next", &l->next, NULL) &&
			  gm_layout_global(b->lay, "runtime.semtable", &table) &&
			  gm_layout_array_length(&table, &l->sem_roots) && gm_layout_array_elem(&table, &entry) &&
			  gm_layout_size(&entry, &l->sem_stride) &&
			  gm_layout_member(&entry, "root.treap", &l->sem_treap, NULL);
}

static void bind_all(struct binder *b)
{
	struct gm_runtime *rt = b->rt;
	struct gm_layout_type mheap, module;
	bind_global(b, "runtime.mheap_", &rt->mheap_addr, &mheap);
	if (!b->err) {
		bind_field(b, &mheap, "runtime.mheap", "allspans", &rt->mheap_allspans, true);
		bind_field(b, &mheap, "runtime.mheap", "sweepgen", &rt->mheap_sweepgen, true);
		bind_field(b, &mheap, "runtime.mheap", "pagesInUse", &rt->mheap_pages_in_use, true);
		bind_field(b, &mheap, "runtime.mheap", "spanalloc.inuse", &rt->mheap_spanalloc_inuse, true);
		bind_field(b, &mheap, "runtime.mheap", "cachealloc.inuse", &rt->mheap_cachealloc_inuse, true);
	}
	bind_global(b, "runtime.firstmoduledata", &rt->moduledata_addr, &module);
	if (!b->err) {
		bind_field(b, &module, "runtime.moduledata", "types", &rt->moduledata_types, true);
		bind_field(b, &module, "runtime.moduledata", "etypes", &rt->moduledata_etypes, true);
		bind_field(b, &module, "runtime.moduledata", "data", &rt->moduledata_data, true);
		bind_field(b, &module, "runtime.moduledata", "edata", &rt->moduledata_edata, true);
		bind_field(b, &module, "runtime.moduledata", "bss", &rt->moduledata_bss, true);
		bind_field(b, &module, "runtime.moduledata", "ebss", &rt->moduledata_ebss, true);
		bind_field(b, &module, "runtime.moduledata", "gcdatamask", &rt->moduledata_gcdatamask, true);
		bind_field(b, &module, "runtime.moduledata", "gcbssmask", &rt->moduledata_gcbssmask, true);
		gm_layout_size(&module, &rt->moduledata_size);
	}
	struct gm_layout_type bitvector;
	if (bind_struct(b, "runtime.bitvector", &bitvector, NULL)) {
		bind_field(b, &bitvector, "runtime.bitvector", "n", &rt->bitvector_n, true);
		bind_field(b, &bitvector, "runtime.bitvector", "bytedata", &rt->bitvector_bytedata, true);
	}
	bind_const(b, "runtime._PageSize", &rt->page_size);
	bind_const(b, "runtime.tinySizeClass", &rt->tiny_size_class);
	bind_const(b, "runtime.mSpanDead", &rt->span_dead);
	bind_const(b, "runtime.mSpanInUse", &rt->span_in_use);
	bind_const(b, "runtime.mSpanManual", &rt->span_manual);
	bind_span(b);
	bind_type(b);
	bind_memstats(b);
	bind_mcache(b);
	bind_size_classes(b);
	bind_goroutines(b);
	bind_specials(b);
	bind_mprof(b);
	bind_descriptor_links(b);
	struct gm_layout_type stackmap;
	if (bind_struct(b, "runtime.stackmap", &stackmap, NULL)) {
		bind_field(b, &stackmap, "runtime.stackmap", "n", &rt->stackmap_n, true);
		bind_field(b, &stackmap, "runtime.stackmap", "nbit", &rt->stackmap_nbit, true);
		bind_field(b, &stackmap, "runtime.stackmap", "bytedata", &rt->stackmap_bytedata, true);
	}
	if (b->err)
		return;
	/* Feature probes. */
	struct gm_layout_type probe;
	rt->green_tea = gm_layout_type(b->lay, "runtime.spanInlineMarkBits", &probe) &&
			gm_layout_size(&probe, &rt->inline_mark_bits_size);
	bind_type_flags(b);
	bind_gcmask(b);
	bind_wait(b);
	if (!optional_const(b, "runtime.heapArenaBytes", &rt->heap_arena_bytes))
		rt->heap_arena_bytes = 0;
	struct gm_layout_type pointer;
	if (bind_struct(b, "unsafe.Pointer", &pointer, &rt->ptr_size) && rt->ptr_size != 8)
		fail(b, "support for pointers of this size in", "unsafe.Pointer");
	bind_arenas(b, &mheap);
	if (rt->alloc_headers) {
		bind_const(b, "runtime.minSizeForMallocHeader", &rt->min_size_for_malloc_header);
		bind_const(b, "runtime.mallocHeaderSize", &rt->malloc_header_size);
	}
}

/* Bind PROG's runtime; with READ_CORE also copy the tables the later stages
 * need from the core. */
static struct gm_error *bind_runtime(struct gm_program *prog, bool read_core, struct gm_runtime **ret)
{
	if (!prog->layouts)
		return prog->layouts_error
			       ? gm_error_create(prog->layouts_error->code, "%s", prog->layouts_error->message)
			       : gm_error_create(GM_ERR_NO_DWARF, "%s: no DWARF: cannot bind the Go runtime",
						 prog->exe->path);
	struct gm_runtime *rt = calloc(1, sizeof(*rt));
	if (!rt)
		return &gm_error_nomem;
	rt->prog = prog;
	rt->go_minor = gm_go_minor(prog->exe->go_version);
	struct binder b = { .rt = rt, .lay = prog->layouts };
	bind_all(&b);
	const char *unrecorded = gm_layouts_unrecorded(prog->layouts);
	if (unrecorded) {
		gm_error_destroy(b.err);
		b.err = gm_error_create(GM_ERR_BAD_RUNTIME,
					"%s: %s has no answer for '%s': it is older than this gomortem "
					"(re-run dwarf/gen_layouts, or pass --runtime-from EXE with DWARF)",
					prog->exe->path, gm_layouts_source(prog->layouts), unrecorded);
	}
	if (read_core && !b.err)
		b.err = load_size_classes(rt);
	if (b.err) {
		gm_runtime_destroy(rt);
		return b.err;
	}
	*ret = rt;
	return NULL;
}

struct gm_error *gm_runtime_bind(struct gm_program *prog, struct gm_runtime **ret)
{
	return bind_runtime(prog, true, ret);
}

struct gm_error *gm_runtime_bind_layouts(struct gm_program *prog)
{
	struct gm_runtime *rt;
	struct gm_error *err = bind_runtime(prog, false, &rt);
	if (err)
		return err;
	err = gm_pclntab_bind_layouts(rt);
	gm_code_funcs_bind_layouts(prog->layouts);
	gm_runtime_destroy(rt);
	return err;
}

void gm_runtime_destroy(struct gm_runtime *rt)
{
	if (!rt)
		return;
	free(rt->class_to_size);
	free(rt);
}
