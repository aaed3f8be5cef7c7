#include "goroutines.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../program/program.h"
#include "binding.h"

#define MAX_GOROUTINES (1u << 26)
#define MAX_STATUS_LEN 256

/* Copy a [N]string global into malloc'd C strings (unreadable ones NULL). */
static struct gm_error *read_string_array(struct gm_runtime *rt, uint64_t addr, uint32_t n, char ***ret)
{
	char **strings = calloc(n ? n : 1, sizeof(*strings));
	if (!strings)
		return &gm_error_nomem;
	for (uint32_t i = 0; i < n; i++) {
		struct gm_error *err = gm_program_read_go_string(rt->prog, addr + 16ull * i, MAX_STATUS_LEN,
								 &strings[i]);
		if (err && err->code == GM_ERR_NO_MEMORY) {
			for (uint32_t j = 0; j < i; j++)
				free(strings[j]);
			free(strings);
			return err;
		}
		gm_error_destroy(err);
	}
	*ret = strings;
	return NULL;
}

/* The status as goroutineheader prints it: the wait reason for a waiting
 * goroutine with one, else gStatusStrings[status].  A goroutine the
 * runtime's leak detector marked leaked (_Gleaked) keeps its wait reason
 * (the traceback adds " (leaked)"). */
static const char *status_text(const struct gm_goroutine_set *set, const struct gm_runtime *rt,
			       const struct gm_goroutine *g)
{
	bool leaked = rt->has_g_leaked && g->status == rt->g_leaked;
	if ((g->status == rt->g_waiting || leaked) && g->wait_reason != 0) {
		if (g->wait_reason < set->nwait_strings && set->wait_strings[g->wait_reason])
			return set->wait_strings[g->wait_reason];
		return "unknown wait reason";
	}
	if (g->status < set->nstatus_strings && set->status_strings[g->status])
		return set->status_strings[g->status];
	return "???";
}

static int64_t thread_of(struct gm_runtime *rt, uint64_t m)
{
	uint64_t procid;
	if (!m || !gm_try_read_u64(rt->prog->mem, m + rt->m.procid.offset, &procid))
		return -1;
	return (int64_t)procid;
}

/* The thread registers of a running goroutine when its thread is on the
 * goroutine's own stack; otherwise (in systemstack, mcall, a signal handler)
 * the runtime saved the goroutine's state in g.sched. */
static void choose_start(struct gm_runtime *rt, struct gm_goroutine *g)
{
	const struct gm_core *core = rt->prog->core;
	g->start_from = GM_START_SCHED;
	g->start_pc = g->sched_pc;
	g->start_sp = g->sched_sp;
	g->start_bp = g->sched_bp;
	g->start_lr = g->sched_lr;
	if (g->syscallsp != 0) {
		g->start_lr = 0; /* unwinder.initAt: the syscall's caller saved it */
		g->start_from = GM_START_SYSCALL;
		g->start_pc = g->syscallpc;
		g->start_sp = g->syscallsp;
		return;
	}
	if (g->status != rt->g_running || g->tid < 0)
		return;
	for (size_t i = 0; i < core->nthreads; i++) {
		const struct gm_core_thread *t = &core->threads[i];
		uint64_t sp = gm_core_thread_sp(core, t);
		if (t->tid != g->tid || sp < g->stack_lo || sp >= g->stack_hi)
			continue;
		g->start_from = GM_START_THREAD;
		g->start_pc = gm_core_thread_pc(core, t);
		g->start_sp = sp;
		g->start_lr = gm_core_thread_reg(t, gm_arch_info(core->arch)->lr_index);
		return;
	}
}

static bool is_dead(const struct gm_runtime *rt, uint32_t status)
{
	return status == rt->g_idle || status == rt->g_dead ||
	       (rt->has_g_dead_extra && status == rt->g_dead_extra);
}

/* Decode the g at ADDR; false if dead or unreadable (warned). */
static bool decode_g(struct gm_runtime *rt, struct gm_goroutine_set *set, uint64_t addr, struct gm_goroutine *g)
{
	const struct gm_g_layout *l = &rt->g;
	const uint8_t *p = gm_memory_at(rt->prog->mem, addr, l->size);
	if (!p) {
		gm_warn(&set->warnings, "goroutine descriptor at 0x%" PRIx64 " not saved in the core", addr);
		return false;
	}
	uint32_t raw = (uint32_t)gm_field_uint(p, l->atomicstatus);
	memset(g, 0, sizeof(*g));
	g->scan = (raw & rt->g_scan) != 0;
	g->status = raw & ~(uint32_t)rt->g_scan;
	if (is_dead(rt, g->status))
		return false;
	g->addr = addr;
	g->goid = gm_field_uint(p, l->goid);
	g->parent_goid = l->parent_goid.present ? gm_field_uint(p, l->parent_goid) : 0;
	g->wait_reason = (uint32_t)gm_field_uint(p, l->waitreason);
	g->wait_since = (int64_t)gm_field_uint(p, l->waitsince);
	g->stack_lo = gm_field_uint(p, l->stack_lo);
	g->stack_hi = gm_field_uint(p, l->stack_hi);
	g->sched_sp = gm_field_uint(p, l->sched_sp);
	g->sched_pc = gm_field_uint(p, l->sched_pc);
	g->sched_bp = gm_field_uint(p, l->sched_bp);
	g->sched_lr = gm_field_uint(p, l->sched_lr);
	g->sched_ctxt = gm_field_uint(p, l->sched_ctxt);
	g->syscallsp = gm_field_uint(p, l->syscallsp);
	g->syscallpc = gm_field_uint(p, l->syscallpc);
	g->gopc = gm_field_uint(p, l->gopc);
	g->startpc = gm_field_uint(p, l->startpc);
	g->m = gm_field_uint(p, l->m);
	g->locked = gm_field_uint(p, l->lockedm) != 0;
	g->panic = gm_field_uint(p, l->panic);
	g->defer = gm_field_uint(p, l->defer);
	g->tid = thread_of(rt, g->m);
	g->status_text = status_text(set, rt, g);
	choose_start(rt, g);
	return true;
}

static struct gm_error *read_allgs(struct gm_runtime *rt, struct gm_goroutine_set *set)
{
	uint64_t header[3];
	struct gm_error *err = gm_read(rt->prog->mem, rt->allgs_addr, header, sizeof(header));
	if (err)
		return gm_error_prefix(err, "reading runtime.allgs");
	if (header[1] > MAX_GOROUTINES || header[1] > header[2])
		return gm_error_create(GM_ERR_BAD_RUNTIME, "runtime.allgs has implausible length %" PRIu64,
				       header[1]);
	set->items = calloc(header[1] ? header[1] : 1, sizeof(*set->items));
	if (!set->items)
		return &gm_error_nomem;
	for (uint64_t i = 0; i < header[1]; i++) {
		uint64_t addr;
		if (!gm_try_read_u64(rt->prog->mem, header[0] + 8 * i, &addr)) {
			gm_warn(&set->warnings, "runtime.allgs[%" PRIu64 "] not saved in the core", i);
			continue;
		}
		if (addr && decode_g(rt, set, addr, &set->items[set->count]))
			set->count++;
	}
	return NULL;
}

struct gm_error *gm_goroutines_read(struct gm_runtime *rt, struct gm_goroutine_set **ret)
{
	struct gm_goroutine_set *set = calloc(1, sizeof(*set));
	if (!set)
		return &gm_error_nomem;
	set->nstatus_strings = rt->ng_status_strings;
	set->nwait_strings = rt->nwait_reason_strings;
	struct gm_error *err = read_string_array(rt, rt->g_status_strings_addr, rt->ng_status_strings,
						 &set->status_strings);
	if (!err)
		err = read_string_array(rt, rt->wait_reason_strings_addr, rt->nwait_reason_strings,
					&set->wait_strings);
	if (!err)
		err = read_allgs(rt, set);
	if (err) {
		gm_goroutines_destroy(set);
		return err;
	}
	*ret = set;
	return NULL;
}

static void free_strings(char **strings, uint32_t n)
{
	for (uint32_t i = 0; strings && i < n; i++)
		free(strings[i]);
	free(strings);
}

void gm_goroutines_destroy(struct gm_goroutine_set *set)
{
	if (!set)
		return;
	free_strings(set->status_strings, set->nstatus_strings);
	free_strings(set->wait_strings, set->nwait_strings);
	gm_warnings_free(&set->warnings);
	free(set->items);
	free(set);
}

size_t gm_goroutines_by_status(const struct gm_goroutine_set *set, const char **names, size_t *counts,
			       size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < set->count; i++) {
		const char *status = set->items[i].status_text;
		size_t j = 0;
		while (j < n && strcmp(names[j], status) != 0)
			j++;
		if (j == n) {
			if (n == cap)
				continue;
			names[n] = status;
			counts[n++] = 0;
		}
		counts[j]++;
	}
	return n;
}
