#include "stacks.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../program/program.h"
#include "binding.h"
#include "goroutines.h"
#include "pclntab.h"

/* Deeper stacks are cut (the runtime's own traceback stops at 100 frames
 * by default; a leak's stacks are rarely deeper than a few hundred). */
#define MAX_PHYSICAL_FRAMES 4096
#define MAX_INLINE 64

/* The registers the walk carries from frame to frame.  lr is the link
 * register's value while it still holds the frame's return address (arm64:
 * the innermost frame of a context, before its prologue saved it), else 0:
 * read the return address from the stack. */
struct unwind_regs {
	uint64_t pc, sp, lr;
};

/* What the arm64 signal handler pushes when it fakes a call to sigpanic:
 * the interrupted LR, in a slot of alignUp(sys.MinFrameSize,
 * sys.StackAlign) bytes (runtime/signal_arm64.go preparePanic). */
#define INJECTED_CALL_SLOT 16

struct walker {
	struct gm_runtime *rt;
	struct gm_pclntab *tab;
	struct gm_stacks *stacks;
	const struct gm_func_ids *ids;
	const struct gm_func_flags *flags;
	const struct gm_arch_info *arch;
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

/* The frame's top (frame.fp): the caller's sp, which on x86-64 is above
 * the return address CALL pushed. */
static uint64_t frame_top(const struct walker *w, uint64_t sp, int32_t spdelta)
{
	return sp + (uint64_t)spdelta + (w->arch->uses_lr ? 0 : w->rt->ptr_size);
}

/* Step R from a frame of F to its caller, as unwinder.next does: the frame
 * size from pcsp; the return address above the frame (x86-64), or in the
 * link register until the prologue saved it at 0(SP) (arm64). */
static bool caller_of(struct walker *w, const struct gm_func *f, struct unwind_regs *r)
{
	int32_t spdelta;
	if (!gm_pclntab_pcsp(w->tab, f, r->pc, &spdelta) || spdelta < 0)
		return false;
	uint64_t fp = frame_top(w, r->sp, spdelta), ret = r->lr;
	if (!w->arch->uses_lr)
		ret = 0;
	if (ret == 0 || r->sp < fp) {
		uint64_t slot = w->arch->uses_lr ? r->sp : fp - w->rt->ptr_size;
		if (!gm_try_read_u64(w->rt->prog->mem, slot, &ret))
			return false;
	}
	r->pc = ret;
	r->sp = fp;
	r->lr = 0;
	return true;
}

/* After a call the signal handler injected (sigpanic) on a link-register
 * machine: step over the slot holding the interrupted LR, which is the
 * faulting function's return address if its frame was not set up yet. */
static bool skip_injected_call(struct walker *w, struct unwind_regs *r)
{
	uint64_t saved_lr;
	if (!gm_try_read_u64(w->rt->prog->mem, r->sp, &saved_lr))
		return false;
	r->sp += INJECTED_CALL_SLOT;
	struct gm_func f;
	int32_t spdelta;
	if (!gm_pclntab_find_func(w->tab, r->pc, &f))
		r->pc = saved_lr;
	else if (gm_pclntab_pcsp(w->tab, &f, r->pc, &spdelta) && spdelta == 0)
		r->lr = saved_lr;
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
			.fp = frame_top(w, sp, spdelta), .entry = f->entry, .func = inl[i].name,
			.file = inl[i].file, .line = inl[i].line, .inlined = inl[i].inlined, .trap = trap,
		};
		err = push_frame(w->stacks, &frame);
	}
	return err;
}

/* The context a signal interrupted, from the ucontext of the signal frame
 * that R (a frame of runtime.sigtramp) handles. */
static bool signal_context(struct walker *w, struct unwind_regs *r)
{
	int32_t spdelta;
	if (!gm_pclntab_pcsp(w->tab, &w->sigtramp, r->pc, &spdelta) || spdelta < 0)
		return false;
	const struct gm_arch_info *arch = w->arch;
	uint64_t uc = r->sp + (uint64_t)spdelta + arch->sigframe_ucontext;
	struct gm_address_space *mem = w->rt->prog->mem;
	r->lr = 0;
	return gm_try_read_u64(mem, uc + arch->uc_pc, &r->pc) && gm_try_read_u64(mem, uc + arch->uc_sp, &r->sp) &&
	       (!arch->uses_lr || gm_try_read_u64(mem, uc + arch->uc_lr, &r->lr));
}

/* A running goroutine whose thread is not on its stack: walk the thread's
 * stack through every signal frame (a crash nests them: the fatal signal,
 * then the re-raised one) until an interrupted context lies on the
 * goroutine's own stack; false if none does (then g.sched is the best we
 * have). */
static bool interrupted_context(struct walker *w, const struct gm_goroutine *g, struct unwind_regs *ret)
{
	const struct gm_core *core = w->rt->prog->core;
	if (!w->have_sigtramp || g->tid < 0)
		return false;
	for (size_t i = 0; i < core->nthreads; i++) {
		const struct gm_core_thread *t = &core->threads[i];
		if (t->tid != g->tid)
			continue;
		struct unwind_regs r = { gm_core_thread_pc(core, t), gm_core_thread_sp(core, t),
					 gm_core_thread_reg(t, w->arch->lr_index) };
		for (int depth = 0; depth < 256; depth++) {
			struct gm_func f;
			if (!gm_pclntab_find_func(w->tab, r.pc, &f))
				return false;
			if (f.entry == w->sigtramp.entry) {
				if (!signal_context(w, &r))
					return false;
				if (r.sp >= g->stack_lo && r.sp < g->stack_hi) {
					*ret = r;
					return true;
				}
				continue;
			}
			if (!caller_of(w, &f, &r))
				return false;
		}
	}
	return false;
}

/* The thread running G when it is on G's M's signal stack (m.gsignal), else
 * NULL: a signal handler interrupted G, and saved nothing in g.sched. */
static const struct gm_core_thread *thread_on_signal_stack(struct walker *w, const struct gm_goroutine *g)
{
	const struct gm_runtime *rt = w->rt;
	const struct gm_core *core = rt->prog->core;
	uint64_t gsignal, lo, hi;
	if (!g->m || !rt->m.gsignal.present || !gm_try_read_u64(rt->prog->mem, g->m + rt->m.gsignal.offset, &gsignal) ||
	    !gsignal || !gm_try_read_u64(rt->prog->mem, gsignal + rt->g.stack_lo.offset, &lo) ||
	    !gm_try_read_u64(rt->prog->mem, gsignal + rt->g.stack_hi.offset, &hi))
		return NULL;
	for (size_t i = 0; i < core->nthreads && g->tid >= 0; i++) {
		const struct gm_core_thread *t = &core->threads[i];
		uint64_t sp = gm_core_thread_sp(core, t);
		if (t->tid == g->tid && sp >= lo && sp < hi)
			return t;
	}
	return NULL;
}

static struct gm_error *unwind_one(struct walker *w, const struct gm_goroutine *g)
{
	struct unwind_regs r = { g->start_pc, g->start_sp, g->start_lr };
	bool trap = false;
	if (g->start_from == GM_START_SCHED && g->status == w->rt->g_running) {
		if (interrupted_context(w, g, &r)) {
			trap = true;
		} else {
			/* A signal handler interrupted G (its thread is on the
			 * signal stack) and g.sched is stale (the last gosave or
			 * entersyscall): the frames are only reachable through the
			 * signal frame, which interrupted_context did not reach
			 * when the thread is caught in a C library (the runtime's
			 * crash path calls sigaction through cgo) and native frames
			 * cannot be unwound.  Then they are unknown, not guessed. */
			const struct gm_core_thread *t = thread_on_signal_stack(w, g);
			if (t) {
				gm_warn(&w->stacks->warnings,
					"goroutine %" PRIu64 ": frames unknown: its thread %d is on the signal stack at pc "
					"0x%" PRIx64 " and no Go signal frame was reached from there",
					g->goid, (int)t->tid, gm_core_thread_pc(w->rt->prog->core, t));
				return NULL;
			}
		}
	}
	if (r.pc == 0 && gm_try_read_u64(w->rt->prog->mem, r.sp, &r.pc)) {
		/* a pc of 0: the return address is on top (unwinder.initAt) */
		r.lr = 0;
		if (!w->arch->uses_lr)
			r.sp += w->rt->ptr_size;
	}
	uint32_t idx = 0;
	for (uint32_t physical = 0; physical < MAX_PHYSICAL_FRAMES; physical++) {
		struct gm_func f;
		if (!gm_pclntab_find_func(w->tab, r.pc, &f)) {
			gm_warn(&w->stacks->warnings, "goroutine %" PRIu64 ": pc 0x%" PRIx64 " not in Go code", g->goid, r.pc);
			return NULL;
		}
		struct gm_error *err = emit_logical(w, g, &f, r.pc, r.sp, trap, physical, &idx);
		if (err)
			return err;
		if (f.func_id == w->ids->goexit || (f.flag & w->flags->top_frame))
			return NULL;
		if ((f.flag & w->flags->sp_write) && physical > 0) {
			gm_warn(&w->stacks->warnings, "goroutine %" PRIu64 ": stops at %s, which writes SP", g->goid, f.name);
			return NULL;
		}
		trap = f.func_id == w->ids->sigpanic;
		if (!caller_of(w, &f, &r) || (trap && w->arch->uses_lr && !skip_injected_call(w, &r))) {
			gm_warn(&w->stacks->warnings, "goroutine %" PRIu64 ": cannot unwind %s", g->goid, f.name);
			return NULL;
		}
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
			    .flags = gm_pclntab_func_flags(tab), .arch = gm_arch_info(rt->prog->core->arch) };
	w.have_sigtramp = gm_pclntab_func_by_name(tab, "runtime.sigtramp", &w.sigtramp);
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
