/* native_dwfl: native frames of the threads of a core of another
 * architecture than the host's (an arm64 core on an amd64 machine), with
 * libdw's frame unwinder (libdwfl), whose per-architecture backends know
 * each machine's DWARF registers and initial CFI rules.
 *
 * The files come from native_linkmap.c (NT_FILE, or the dynamic linker's
 * link_map, under the sysroot); each is reported to libdwfl at its load
 * bias, so libdwfl finds the .eh_frame CFI of the pc's module.  Memory is
 * ours (native_files.c: the core's bytes, else the file's), the registers
 * the core's NT_PRSTATUS.  The walk is bounded as in native_unwind.c: at
 * most MAX_FRAMES frames, the stack pointer must increase, a zero pc ends
 * the stack, and the first frame in Go code ends it too.
 */
#include "native_internal.h"

#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* DWARF register numbers of AArch64 (the "DWARF for the Arm 64-bit
 * architecture" ABI): x0-x30 are 0-30 and sp is 31, the order of the first
 * 32 registers of NT_PRSTATUS (user_pt_regs). */
#define AARCH64_DWARF_NREGS 32
#define AARCH64_DWARF_LR 30
#define AARCH64_DWARF_SP 31

/* Where libdwfl starts a thread's walk: its registers, with the pc
 * replaced by the link register when frame 0 was stepped by hand. */
struct thread_start {
	const struct gm_core_thread *t;
	bool from_lr;
};

struct dwfl_ctx {
	struct native_ctx n;
	bool (*is_native)(uint64_t pc, void *arg);
	void *arg;
	struct thread_start start; /* the thread being walked */
	bool start_from_lr;        /* for the next get_thread */
};

/* One thread's walk. */
struct walk {
	struct dwfl_ctx *ctx;
	struct gm_native_stack *s;
	size_t max;
	uint64_t prev_sp;
	bool nomem;
	bool first_is_return; /* libdwfl's first frame is the return address in x30 */
};

static int no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
			char **debuginfo_file_name)
{
	(void)mod, (void)userdata, (void)modname, (void)base, (void)file_name, (void)debuglink_file;
	(void)debuglink_crc, (void)debuginfo_file_name;
	return -1; /* .eh_frame is in the files themselves */
}

static const Dwfl_Callbacks dwfl_callbacks = { .find_debuginfo = no_debuginfo };

/* ------------------------------------------------------------ threads */

static pid_t next_thread(Dwfl *dwfl, void *dwfl_arg, void **thread_argp)
{
	(void)dwfl;
	struct dwfl_ctx *ctx = dwfl_arg;
	const struct gm_core *core = ctx->n.core;
	const struct thread_start *prev = *thread_argp;
	const struct gm_core_thread *t = prev ? prev->t + 1 : core->threads;
	if (t >= core->threads + core->nthreads)
		return 0;
	ctx->start = (struct thread_start){ .t = t };
	*thread_argp = &ctx->start;
	return t->tid;
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *dwfl_arg, void **thread_argp)
{
	(void)dwfl;
	struct dwfl_ctx *ctx = dwfl_arg;
	const struct gm_core *core = ctx->n.core;
	for (size_t i = 0; i < core->nthreads; i++)
		if (core->threads[i].tid == tid) {
			ctx->start = (struct thread_start){ .t = &core->threads[i], .from_lr = ctx->start_from_lr };
			*thread_argp = &ctx->start;
			return true;
		}
	return false;
}

static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *dwfl_arg)
{
	(void)dwfl;
	return native_read_mem(&((struct dwfl_ctx *)dwfl_arg)->n, addr, result, sizeof(*result));
}

static bool set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	const struct thread_start *start = thread_arg;
	const struct gm_core_thread *t = start->t;
	Dwarf_Word regs[AARCH64_DWARF_NREGS];
	if (t->nregs <= AARCH64_DWARF_NREGS)
		return false;
	for (size_t i = 0; i < AARCH64_DWARF_NREGS; i++)
		regs[i] = t->regs[i];
	if (!dwfl_thread_state_registers(thread, 0, AARCH64_DWARF_NREGS, regs))
		return false;
	/* From x30, a return address: libdwfl takes its first pc for an
	 * activation and looks its CFI up at the pc itself; started at the
	 * call (x30 - 1), it finds the call's row, as for any caller
	 * (on_frame reports x30). */
	uint64_t pc = start->from_lr ? t->regs[AARCH64_DWARF_LR] - 1
				     : t->regs[gm_arch_info(GM_ARCH_AARCH64)->pc_index];
	dwfl_thread_state_register_pc(thread, pc);
	return true;
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

/* ------------------------------------------------------------- frames */

/* Whether frame S->count (pc PC, sp SP) lies above the frame before it.  A
 * call on AArch64 leaves the return address in x30, not on the stack: the
 * innermost function, when it is a leaf or was stopped before its prologue
 * stored x30 (a thread of a core is caught anywhere), shares its caller's
 * sp.  So frame 1 may have frame 0's sp, at another pc; every frame above
 * must have a higher sp (a frame that called stored x30 below its caller's
 * sp), else the walk would loop. */
static bool sp_advanced(const struct walk *w, const struct gm_native_stack *s, uint64_t sp, uint64_t pc)
{
	if (sp > w->prev_sp)
		return true;
	return s->count == 1 && sp == w->prev_sp && pc != s->frames[0].pc;
}

static int on_frame(Dwfl_Frame *state, void *arg)
{
	struct walk *w = arg;
	struct gm_native_stack *s = w->s;
	Dwarf_Addr pc;
	bool activation;
	if (!dwfl_frame_pc(state, &pc, &activation)) {
		s->stop = "error";
		return DWARF_CB_ABORT;
	}
	if (w->first_is_return && s->count == 1) {
		pc++; /* started at x30 - 1: see set_initial_registers */
		activation = false;
	}
	if (s->count > 0 && pc == 0) {
		s->stop = "pc0";
		return DWARF_CB_ABORT;
	}
	Dwarf_Word sp = 0;
	if (s->count > 0 && (dwfl_frame_reg(state, AARCH64_DWARF_SP, &sp) != 0 || !sp_advanced(w, s, sp, pc))) {
		s->stop = "sp";
		return DWARF_CB_ABORT;
	}
	if (s->count == 0)
		dwfl_frame_reg(state, AARCH64_DWARF_SP, &sp);
	w->prev_sp = sp;
	bool native = !w->ctx->is_native || s->count == 0 || w->ctx->is_native(pc, w->ctx->arg);
	/* A return address is symbolized at pc - 1 (the call), the pc of frame
	 * 0 or of a frame a signal interrupted at the pc itself. */
	uint64_t lookup = activation ? pc : pc - 1;
	char *sym = native_symbolize(&w->ctx->n, pc, lookup, &w->nomem);
	if (w->nomem || !native_push_frame(s, w->max, pc, sym, native)) {
		w->nomem = true;
		return DWARF_CB_ABORT;
	}
	if (!native) {
		s->stop = "go";
		return DWARF_CB_ABORT;
	}
	/* A pc in no file we have has no CFI: libdwfl would go on with the
	 * frame-pointer heuristic of its backend, which skips and invents
	 * frames in C code.  The stack ends here instead. */
	size_t index;
	if (!native_map_at(&w->ctx->n, lookup, &index)) {
		s->stop = "nofile";
		return DWARF_CB_ABORT;
	}
	if (s->count >= w->max) {
		s->stop = "max";
		return DWARF_CB_ABORT;
	}
	return DWARF_CB_OK;
}

/* Push frame 0 of T, caught in a PLT stub, when it is one: libdwfl finds no
 * CFI for the AArch64 PLT and its fallback invents the frames above.  A
 * stub has moved neither sp nor x30, so its caller is x30 at the same sp
 * with every other register unchanged: the walk goes on from there, with
 * CFI.  False only when out of memory. */
static bool step_out_of_plt(struct walk *w, const struct gm_core_thread *t, bool *stepped)
{
	struct dwfl_ctx *ctx = w->ctx;
	const struct gm_arch_info *arch = gm_arch_info(GM_ARCH_AARCH64);
	uint64_t pc = gm_core_thread_pc(ctx->n.core, t);
	*stepped = false;
	if (!native_pc_in_plt(&ctx->n, pc) || t->nregs <= AARCH64_DWARF_NREGS)
		return true;
	char *sym = native_symbolize(&ctx->n, pc, pc, &w->nomem);
	if (w->nomem || !native_push_frame(w->s, w->max, pc, sym, true))
		return false;
	w->prev_sp = t->regs[arch->sp_index];
	w->first_is_return = true;
	*stepped = true;
	return true;
}

/* Unwind thread T into S; false only when out of memory. */
static bool unwind_thread(Dwfl *dwfl, struct dwfl_ctx *ctx, const struct gm_core_thread *t, size_t max,
			  struct gm_native_stack *s)
{
	struct walk w = { .ctx = ctx, .s = s, .max = max };
	s->tid = t->tid;
	s->stop = NULL;
	bool stepped;
	if (!step_out_of_plt(&w, t, &stepped))
		return false;
	ctx->start_from_lr = stepped;
	int rc = dwfl_getthread_frames(dwfl, t->tid, on_frame, &w);
	ctx->start_from_lr = false;
	if (w.nomem)
		return false;
	if (s->count == (stepped ? 1u : 0u)) {
		/* libdwfl could not start: the pc alone. */
		if (!stepped) {
			uint64_t pc = gm_core_thread_pc(ctx->n.core, t);
			char *sym = native_symbolize(&ctx->n, pc, pc, &w.nomem);
			if (w.nomem || !native_push_frame(s, max, pc, sym, true))
				return false;
		}
		s->stop = "error";
		return true;
	}
	/* No more frames: libdwfl ends at the outermost frame (the return
	 * address the CFI calls undefined, as clone's does) with 0, or with -1
	 * when the next frame's CFI or memory is missing. */
	if (!s->stop)
		s->stop = rc == 0 ? "end" : "error";
	return true;
}

/* Report every file of CTX's mappings to DWFL at its load bias. */
static struct gm_error *report_modules(Dwfl *dwfl, struct native_ctx *ctx, Elf **exe_elf)
{
	dwfl_report_begin(dwfl);
	for (size_t i = 0; i < ctx->nmaps; i++) {
		struct mapped_file *mf = native_file(ctx, i);
		if (!mf || mf->path != ctx->maps[i].path)
			continue; /* not ELF, or not the first mapping of its file */
		if (!*exe_elf)
			*exe_elf = mf->elf;
		int fd = native_open_regular(mf->path);
		if (fd < 0)
			continue;
		const char *base = strrchr(mf->path, '/');
		if (!dwfl_report_elf(dwfl, base ? base + 1 : mf->path, mf->path, fd,
				     native_load_bias(mf, &ctx->maps[i]), true))
			close(fd);
	}
	if (dwfl_report_end(dwfl, NULL, NULL) != 0)
		return gm_error_create(GM_ERR_BAD_CORE, "%s: libdwfl: %s", ctx->core->path, dwfl_errmsg(-1));
	return NULL;
}

struct gm_error *native_unwind_foreign(const struct gm_core *core, struct gm_native_where *where,
				       bool (*is_native)(uint64_t pc, void *arg), void *arg, size_t max_frames,
				       struct gm_native_stack *stacks, size_t nstacks, size_t *ret_count)
{
	*ret_count = 0;
	if (core->arch != GM_ARCH_AARCH64)
		return gm_error_create(GM_ERR_BAD_CORE,
				       "%s: native frames unavailable: unwinding a %s core on this machine is not "
				       "implemented", core->path, gm_arch_name(core->arch));
	struct gm_core_file *maps = NULL;
	size_t nmaps = 0, missing = 0;
	struct gm_error *err = native_linkmap_maps(core, where, &maps, &nmaps, &missing);
	if (err)
		return err;
	struct dwfl_ctx ctx = { .is_native = is_native, .arg = arg };
	if (!native_ctx_init(&ctx.n, core, maps, nmaps)) {
		native_maps_free(maps, nmaps);
		return &gm_error_nomem;
	}
	Dwfl *dwfl = dwfl_begin(&dwfl_callbacks);
	Elf *exe_elf = NULL;
	if (!dwfl)
		err = &gm_error_nomem;
	else if (!(err = report_modules(dwfl, &ctx.n, &exe_elf)) &&
		 !dwfl_attach_state(dwfl, exe_elf, core->pid, &thread_callbacks, &ctx))
		err = gm_error_create(GM_ERR_BAD_CORE, "%s: native frames unavailable: libdwfl cannot unwind "
				      "this %s core: %s", core->path, gm_arch_name(core->arch), dwfl_errmsg(-1));
	size_t k = 0;
	for (size_t i = 0; !err && i < core->nthreads && k < nstacks; i++) {
		const struct gm_core_thread *t = &core->threads[i];
		if (is_native && !is_native(gm_core_thread_pc(core, t), arg))
			continue;
		if (!unwind_thread(dwfl, &ctx, t, max_frames, &stacks[k++]))
			err = &gm_error_nomem;
	}
	dwfl_end(dwfl);
	native_ctx_free(&ctx.n);
	native_maps_free(maps, nmaps);
	*ret_count = k;
	where->libraries_missing = missing;
	return err;
}
