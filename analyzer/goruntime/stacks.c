#include "stacks.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../program.h"
#include "binding.h"
#include "goroutines.h"
#include "pclntab.h"

/* Deeper stacks are cut (the runtime's own traceback stops at 100 frames
 * by default; a leak's stacks are rarely deeper than a few hundred). */
#define MAX_PHYSICAL_FRAMES 4096
#define MAX_INLINE 64

/* Where the interrupted registers sit in a signal frame.  The kernel's
 * rt_sigframe/ucontext layout is not in the executable's DWARF (Go keeps
 * the context as an unsafe.Pointer), so this is the kernel ABI, per arch:
 * amd64: ucontext.uc_mcontext at 40; sigcontext r8..r15, rdi, rsi, rbp,
 * rbx, rdx, rax, rcx, rsp, rip (arch/x86/include/uapi/asm/sigcontext.h). */
struct signal_frame_abi {
	uint64_t mcontext_offset, pc_offset, sp_offset, bp_offset;
};
static const struct signal_frame_abi amd64_signal_frame = { 40, 16 * 8, 15 * 8, 10 * 8 };

struct walker {
	struct gm_runtime *rt;
	struct gm_pclntab *tab;
	struct gm_stacks *stacks;
	const struct gm_func_ids *ids;
	const struct gm_func_flags *flags;
	struct gm_func sigtramp;        /* runtime.sigtramp: where a signal frame is */
	bool have_sigtramp;
};

static struct gm_error *push_frame(struct gm_stacks *st, const struct gm_frame *f)
{
	if (st->count == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 1024;
		void *grown = realloc(st->frames, cap * sizeof(*st->frames));
		if (!grown)
			return &gm_error_nomem;
		st->frames = grown;
		st->cap = cap;
	}
	st->frames[st->count++] = *f;
	return NULL;
}

/* The caller's frame: the frame size from pcsp, the return address above it. */
static bool caller_of(struct walker *w, const struct gm_func *f, uint64_t pc, uint64_t sp, uint64_t *ret_pc,
		      uint64_t *ret_sp)
{
	int32_t spdelta;
	uint64_t lr;
	if (!gm_pclntab_pcsp(w->tab, f, pc, &spdelta) || spdelta < 0)
		return false;
	uint64_t fp = sp + (uint64_t)spdelta + w->rt->ptr_size; /* x86: the pushed return address */
	if (!gm_try_read_u64(w->rt->prog->mem, fp - w->rt->ptr_size, &lr))
		return false;
	*ret_pc = lr;
	*ret_sp = fp;
	return true;
}

/* Append the logical frames of one physical frame. */
static struct gm_error *emit_logical(struct walker *w, const struct gm_goroutine *g, const struct gm_func *f,
				     uint64_t pc, uint64_t sp, bool trap, uint32_t physical, uint32_t *idx)
{
	struct gm_inline_frame inl[MAX_INLINE];
	uint64_t sym_pc = trap || pc == f->entry ? pc : pc - 1; /* unwinder.symPC */
	size_t n = gm_pclntab_frames(w->tab, f, sym_pc, inl, MAX_INLINE);
	int32_t spdelta = 0;
	gm_pclntab_pcsp(w->tab, f, pc, &spdelta);
	struct gm_error *err = NULL;
	for (size_t i = 0; i < n && !err; i++) {
		struct gm_frame frame = {
			.goid = g->goid, .idx = (*idx)++, .physical = physical, .pc = pc, .sp = sp,
			.fp = sp + (uint64_t)spdelta + w->rt->ptr_size, .entry = f->entry, .func = inl[i].name,
			.file = inl[i].file, .line = inl[i].line, .inlined = inl[i].inlined, .trap = trap,
		};
		err = push_frame(w->stacks, &frame);
	}
	return err;
}

/* The context a signal interrupted, from the signal frame above sigtramp. */
static bool signal_context(struct walker *w, uint64_t sigtramp_fp, uint64_t *ret_pc, uint64_t *ret_sp)
{
	const struct signal_frame_abi *abi = &amd64_signal_frame;
	uint64_t mcontext = sigtramp_fp + abi->mcontext_offset;
	return gm_try_read_u64(w->rt->prog->mem, mcontext + abi->pc_offset, ret_pc) &&
	       gm_try_read_u64(w->rt->prog->mem, mcontext + abi->sp_offset, ret_sp);
}

/* A running goroutine whose thread is not on its stack: walk the thread's
 * stack through every signal frame (a crash nests them: the fatal signal,
 * then the re-raised one) until an interrupted context lies on the
 * goroutine's own stack; false if none does (then g.sched is the best we
 * have). */
static bool interrupted_context(struct walker *w, const struct gm_goroutine *g, uint64_t *ret_pc, uint64_t *ret_sp)
{
	const struct gm_core *core = w->rt->prog->core;
	if (!w->have_sigtramp || g->tid < 0)
		return false;
	for (size_t i = 0; i < core->nthreads; i++) {
		const struct gm_core_thread *t = &core->threads[i];
		if (t->tid != g->tid)
			continue;
		uint64_t pc = gm_core_thread_pc(core, t), sp = gm_core_thread_sp(core, t);
		for (int depth = 0; depth < 256; depth++) {
			struct gm_func f;
			uint64_t next_pc, next_sp;
			if (!gm_pclntab_find_func(w->tab, pc, &f) || !caller_of(w, &f, pc, sp, &next_pc, &next_sp))
				return false;
			if (f.entry == w->sigtramp.entry) {
				if (!signal_context(w, next_sp, &next_pc, &next_sp))
					return false;
				if (next_sp >= g->stack_lo && next_sp < g->stack_hi) {
					*ret_pc = next_pc;
					*ret_sp = next_sp;
					return true;
				}
			}
			pc = next_pc;
			sp = next_sp;
		}
	}
	return false;
}

static struct gm_error *unwind_one(struct walker *w, const struct gm_goroutine *g)
{
	uint64_t pc = g->start_pc, sp = g->start_sp;
	bool trap = false;
	if (g->start_from == GM_START_SCHED && g->status == w->rt->g_running && interrupted_context(w, g, &pc, &sp))
		trap = true;
	if (pc == 0 && gm_try_read_u64(w->rt->prog->mem, sp, &pc))
		sp += w->rt->ptr_size; /* a pc of 0: the return address is on top (unwinder.initAt) */
	uint32_t idx = 0;
	for (uint32_t physical = 0; physical < MAX_PHYSICAL_FRAMES; physical++) {
		struct gm_func f;
		if (!gm_pclntab_find_func(w->tab, pc, &f)) {
			gm_warn(&w->stacks->warnings, "goroutine %" PRIu64 ": pc 0x%" PRIx64 " not in Go code", g->goid, pc);
			return NULL;
		}
		struct gm_error *err = emit_logical(w, g, &f, pc, sp, trap, physical, &idx);
		if (err)
			return err;
		if (f.func_id == w->ids->goexit || (f.flag & w->flags->top_frame))
			return NULL;
		if ((f.flag & w->flags->sp_write) && physical > 0) {
			gm_warn(&w->stacks->warnings, "goroutine %" PRIu64 ": stops at %s, which writes SP", g->goid, f.name);
			return NULL;
		}
		if (!caller_of(w, &f, pc, sp, &pc, &sp)) {
			gm_warn(&w->stacks->warnings, "goroutine %" PRIu64 ": cannot unwind %s", g->goid, f.name);
			return NULL;
		}
		trap = f.func_id == w->ids->sigpanic;
	}
	gm_warn(&w->stacks->warnings, "goroutine %" PRIu64 ": stack cut at %d frames", g->goid, MAX_PHYSICAL_FRAMES);
	return NULL;
}

static void find_origin(struct walker *w, const struct gm_goroutine *g, struct gm_goroutine_origin *o)
{
	struct gm_func f;
	if (gm_pclntab_find_func(w->tab, g->startpc, &f))
		o->start_func = f.name;
	if (g->goid == 1 || !gm_pclntab_find_func(w->tab, g->gopc, &f))
		return;
	o->created_by = f.name;
	/* Back up to the call instruction, as printcreatedby1 does. */
	uint64_t trace_pc = g->gopc > f.entry ? g->gopc - 1 : g->gopc;
	if (!gm_pclntab_file_line(w->tab, &f, trace_pc, &o->created_file, &o->created_line))
		o->created_file = NULL;
}

struct gm_error *gm_stacks_unwind(struct gm_runtime *rt, struct gm_pclntab *tab, const struct gm_goroutine_set *set,
				  struct gm_stacks **ret)
{
	struct gm_stacks *st = calloc(1, sizeof(*st));
	if (!st)
		return &gm_error_nomem;
	st->first = calloc(set->count + 1, sizeof(*st->first));
	st->nframes = calloc(set->count + 1, sizeof(*st->nframes));
	st->origins = calloc(set->count + 1, sizeof(*st->origins));
	struct gm_error *err = st->first && st->nframes && st->origins ? NULL : &gm_error_nomem;
	struct walker w = { .rt = rt, .tab = tab, .stacks = st, .ids = gm_pclntab_func_ids(tab),
			    .flags = gm_pclntab_func_flags(tab) };
	w.have_sigtramp = gm_pclntab_func_by_name(tab, "runtime.sigtramp", &w.sigtramp);
	if (!err && rt->prog->core->arch != GM_ARCH_X86_64) {
		gm_warn(&st->warnings, "stack unwinding supports x86_64 only for now: no frames");
		*ret = st;
		return NULL;
	}
	for (size_t i = 0; i < set->count && !err; i++)
		find_origin(&w, &set->items[i], &st->origins[i]);
	for (size_t i = 0; i < set->count && !err; i++) {
		st->first[i] = st->count;
		err = unwind_one(&w, &set->items[i]);
		st->nframes[i] = st->count - st->first[i];
	}
	if (err) {
		gm_stacks_destroy(st);
		return err;
	}
	*ret = st;
	return NULL;
}

void gm_stacks_destroy(struct gm_stacks *st)
{
	if (!st)
		return;
	gm_warnings_free(&st->warnings);
	free(st->frames);
	free(st->first);
	free(st->nframes);
	free(st->origins);
	free(st);
}
