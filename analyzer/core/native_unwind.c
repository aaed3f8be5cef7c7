/* native_unwind: native frames of a core's threads; this file drives
 * libunwind-coredump for cores of the host's architecture, native_dwfl.c
 * libdw for the others (libunwind is built for one architecture only).
 *
 * libunwind-coredump 1.6.2 (Debian 12) reads the threads' registers well,
 * but its unwind-table lookup does not: it maps each NT_FILE file onto the
 * core's PT_LOADs yet calls the table search with a file offset of 0, so for
 * a library whose text is not its first PT_LOAD (libc.so.6 since binutils'
 * separate-code layout: r-- at 0, r-x at 0x26000) the load base comes out
 * wrong and no FDE is found (fixed only after 1.8.3).  So libunwind's DWARF
 * engine is driven through accessors of our own, and libunwind-coredump only
 * provides the registers (_UCD_access_reg, _UCD_access_fpreg, thread
 * selection):
 *
 *  - memory, symbols: native_files.c.
 *  - unwind tables: the mapping of the pc from NT_FILE, its file's
 *    PT_GNU_EH_FRAME (.eh_frame_hdr binary search table) relocated by the
 *    mapping's load bias, searched by libunwind's dwarf_search_unwind_table
 *    (exported as _U<arch>_dwarf_search_unwind_table, as libunwind-ptrace
 *    uses it).
 *
 * The core has been validated by gm_core_open() before libunwind sees it;
 * every file is read with bounds checks.  libunwind's walk is bounded here:
 * MAX_FRAMES frames, the stack pointer must increase from frame to frame, a
 * zero pc ends the stack, and the stack stops at the first frame in Go code
 * (Go has no .eh_frame: libunwind would fall back to frame-pointer
 * heuristics there; the Go unwinder is the authority past that point).
 */
#include "native_internal.h"

#include <elf.h>
#include <libelf.h>
#include <libunwind-coredump.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libunwind's table search (not in its public headers; exported). */
extern int UNW_OBJ(dwarf_search_unwind_table)(unw_addr_space_t as, unw_word_t ip, unw_dyn_info_t *di,
					      unw_proc_info_t *pi, int need_unwind_info, void *arg);

#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#else
#define HOST_MACHINE EM_NONE
#endif

/* Cap on the NT_FILE entries looked at (a core may be hostile). */
#define MAX_FILES 4096

struct unwind_ctx {
	struct native_ctx n; /* first: the accessors' arg is either */
	struct UCD_info *ui;
};

/* ------------------------------------------------------------ accessors */

static int acc_find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
			      int need_unwind_info, void *arg)
{
	struct unwind_ctx *ctx = arg;
	size_t index;
	const struct gm_core_file *f = native_map_at(&ctx->n, ip, &index);
	struct mapped_file *mf = f ? native_file(&ctx->n, index) : NULL;
	if (!mf || !mf->have_eh)
		return -UNW_ENOINFO;
	uint64_t bias = native_load_bias(mf, f);
	unw_dyn_info_t di;
	memset(&di, 0, sizeof(di));
	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.start_ip = bias + mf->min_vaddr;
	di.end_ip = bias + mf->max_vaddr;
	di.u.rti.segbase = bias + mf->eh_vaddr;
	di.u.rti.table_data = bias + mf->eh_vaddr + mf->eh_table_off;
	di.u.rti.table_len = mf->eh_fde_count * 8 / sizeof(unw_word_t);
	return UNW_OBJ(dwarf_search_unwind_table)(as, ip, &di, pi, need_unwind_info, arg);
}

static void acc_put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	_UCD_put_unwind_info(as, pi, ((struct unwind_ctx *)arg)->ui);
}

static int acc_get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
	(void)as, (void)addr, (void)arg;
	return -UNW_ENOINFO;
}

static int acc_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
	(void)as;
	if (write)
		return -UNW_EINVAL;
	return native_read_mem(arg, addr, val, sizeof(*val)) ? 0 : -UNW_EINVAL;
}

static int acc_access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write, void *arg)
{
	if (write)
		return -UNW_EINVAL;
	return _UCD_access_reg(as, reg, val, 0, ((struct unwind_ctx *)arg)->ui);
}

static int acc_access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write, void *arg)
{
	if (write)
		return -UNW_EINVAL;
	return _UCD_access_fpreg(as, reg, val, 0, ((struct unwind_ctx *)arg)->ui);
}

static int acc_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	(void)as, (void)c, (void)arg;
	return -UNW_EINVAL;
}

static int acc_get_proc_name(unw_addr_space_t as, unw_word_t ip, char *buf, size_t len, unw_word_t *offp,
			     void *arg)
{
	(void)as;
	const char *name;
	uint64_t off;
	if (!native_symbol_at(arg, ip, &name, &off))
		return -UNW_ENOINFO;
	if (len == 0)
		return -UNW_ENOMEM;
	snprintf(buf, len, "%s", name);
	if (offp)
		*offp = off;
	return strlen(name) < len ? 0 : -UNW_ENOMEM;
}

/* -------------------------------------------------------------- unwind */

/* libunwind-coredump's index of thread TID, -1 if it does not know it. */
static int ucd_thread_index(struct UCD_info *ui, int nthreads, int32_t tid)
{
	for (int i = 0; i < nthreads; i++) {
		_UCD_select_thread(ui, i);
		if (_UCD_get_pid(ui) == tid)
			return i;
	}
	return -1;
}

/* Unwind thread UCD_INDEX (pc PC0) into S.  False only when out of memory. */
static bool unwind_thread(struct unwind_ctx *ctx, unw_addr_space_t as, int ucd_index, uint64_t pc0,
			  bool (*is_native)(uint64_t, void *), void *arg, size_t max,
			  struct gm_native_stack *s)
{
	bool nomem = false;
	unw_cursor_t cursor;
	unw_word_t ip = 0, sp = 0;
	s->stop = "error";
	if (ucd_index >= 0)
		_UCD_select_thread(ctx->ui, ucd_index);
	if (ucd_index < 0 || unw_init_remote(&cursor, as, ctx) < 0 ||
	    unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || unw_get_reg(&cursor, UNW_REG_SP, &sp) < 0 ||
	    (uint64_t)ip != pc0) {
		/* libunwind cannot start (or disagrees about the pc): the pc alone. */
		char *sym = native_symbolize(&ctx->n, pc0, pc0, &nomem);
		return !nomem && native_push_frame(s, max, pc0, sym, true);
	}
	bool exact_pc = true; /* frame 0, or the frame a signal interrupted */
	for (;;) {
		bool native = !is_native || s->count == 0 || is_native((uint64_t)ip, arg);
		uint64_t lookup = exact_pc ? (uint64_t)ip : (uint64_t)ip - 1;
		char *sym = native_symbolize(&ctx->n, ip, lookup, &nomem);
		if (nomem || !native_push_frame(s, max, ip, sym, native))
			return false;
		if (!native) {
			s->stop = "go";
			return true;
		}
		if (s->count >= max) {
			s->stop = "max";
			return true;
		}
		exact_pc = unw_is_signal_frame(&cursor) > 0;
		unw_word_t prev_sp = sp;
		int step = unw_step(&cursor);
		if (step == 0) {
			s->stop = "end";
			return true;
		}
		if (step < 0 || unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 ||
		    unw_get_reg(&cursor, UNW_REG_SP, &sp) < 0) {
			s->stop = "error";
			return true;
		}
		if (ip == 0) {
			s->stop = "pc0";
			return true;
		}
		if (sp <= prev_sp) {
			s->stop = "sp";
			return true;
		}
	}
}

/* Unwind the threads of a core of the host's architecture with libunwind
 * into STACKS (room for NSTACKS). */
static struct gm_error *unwind_host(const struct gm_core *core, bool (*is_native)(uint64_t pc, void *arg),
				    void *arg, size_t max_frames, struct gm_native_stack *stacks, size_t nstacks,
				    size_t *ret_count)
{
	struct unwind_ctx ctx = { 0 };
	if (!native_ctx_init(&ctx.n, core, core->files, core->nfiles < MAX_FILES ? core->nfiles : MAX_FILES))
		return &gm_error_nomem;
	ctx.ui = _UCD_create(core->file_path ? core->file_path : core->path);
	if (!ctx.ui) {
		native_ctx_free(&ctx.n);
		return gm_error_create(GM_ERR_BAD_CORE, "%s: libunwind-coredump cannot read the core",
				       core->path);
	}
	unw_accessors_t accessors = {
		.find_proc_info = acc_find_proc_info,
		.put_unwind_info = acc_put_unwind_info,
		.get_dyn_info_list_addr = acc_get_dyn_info_list_addr,
		.access_mem = acc_access_mem,
		.access_reg = acc_access_reg,
		.access_fpreg = acc_access_fpreg,
		.resume = acc_resume,
		.get_proc_name = acc_get_proc_name,
	};
	unw_addr_space_t as = unw_create_addr_space(&accessors, 0);
	struct gm_error *err = NULL;
	size_t k = 0;
	if (!as) {
		err = &gm_error_nomem;
	} else {
		int nthreads = _UCD_get_num_threads(ctx.ui);
		for (size_t i = 0; i < core->nthreads && k < nstacks; i++) {
			const struct gm_core_thread *t = &core->threads[i];
			uint64_t pc = gm_core_thread_pc(core, t);
			if (is_native && !is_native(pc, arg))
				continue;
			struct gm_native_stack *s = &stacks[k++];
			s->tid = t->tid;
			int index = ucd_thread_index(ctx.ui, nthreads, t->tid);
			if (!unwind_thread(&ctx, as, index, pc, is_native, arg, max_frames, s)) {
				err = &gm_error_nomem;
				break;
			}
		}
		unw_destroy_addr_space(as);
	}
	_UCD_destroy(ctx.ui);
	native_ctx_free(&ctx.n);
	*ret_count = k;
	return err;
}

struct gm_error *gm_native_unwind_core(const struct gm_core *core, struct gm_native_where *where,
				       bool (*is_native)(uint64_t pc, void *arg), void *arg,
				       size_t max_frames, struct gm_native_stack **ret,
				       size_t *ret_count)
{
	struct gm_native_where nowhere = { 0 };
	if (!where)
		where = &nowhere;
	where->libraries_missing = 0;
	if (max_frames == 0)
		max_frames = GM_NATIVE_DEFAULT_MAX_FRAMES;
	/* Only the threads in native code. */
	size_t n = 0;
	for (size_t i = 0; i < core->nthreads; i++)
		if (!is_native || is_native(gm_core_thread_pc(core, &core->threads[i]), arg))
			n++;
	if (n == 0) {
		*ret = NULL;
		*ret_count = 0;
		return NULL;
	}
	elf_version(EV_CURRENT);
	struct gm_native_stack *stacks = calloc(n, sizeof(*stacks));
	if (!stacks)
		return &gm_error_nomem;
	size_t k = 0;
	struct gm_error *err =
		core->e_machine == HOST_MACHINE
			? unwind_host(core, is_native, arg, max_frames, stacks, n, &k)
			: native_unwind_foreign(core, where, is_native, arg, max_frames, stacks, n, &k);
	if (err) {
		gm_native_stacks_free(stacks, n);
		return err;
	}
	*ret = stacks;
	*ret_count = k;
	return NULL;
}

struct gm_error *gm_native_unwind(const char *core_path, struct gm_native_where *where,
				  bool (*is_native)(uint64_t pc, void *arg), void *arg,
				  size_t max_frames, struct gm_native_stack **ret, size_t *ret_count)
{
	struct gm_core *core = NULL;
	struct gm_error *err = gm_core_open(core_path, GM_CORE_ALLOW_TRUNCATED, &core);
	if (err)
		return err;
	err = gm_native_unwind_core(core, where, is_native, arg, max_frames, ret, ret_count);
	gm_core_destroy(core);
	return err;
}
