/* goroutines: every goroutine of runtime.allgs that is not dead, with its
 * status as Go's traceback spells it (from the binary's own gStatusStrings
 * and waitReasonStrings tables), its stack, and the thread running it. */
#ifndef GOMORTEM_GOROUTINES_H
#define GOMORTEM_GOROUTINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"
#include "../util/warnings.h"

struct gm_runtime;

struct gm_goroutine {
	uint64_t addr;             /* the runtime.g */
	uint64_t goid, parent_goid;
	uint32_t status;           /* atomicstatus without the _Gscan bit */
	bool scan;                 /* the GC owned its stack at the time */
	uint32_t wait_reason;      /* waitReason (meaningful when waiting) */
	int64_t wait_since;        /* g.waitsince: nanotime of the first GC that saw it blocked; 0 if none */
	const char *status_text;   /* "chan receive", "running", ...: owned by the set */
	uint64_t stack_lo, stack_hi;
	uint64_t sched_sp, sched_pc, sched_bp, sched_lr, sched_ctxt;
	uint64_t syscallsp, syscallpc;
	uint64_t gopc, startpc;
	uint64_t m;                /* the runtime.m it is on, 0 if none */
	int64_t tid;               /* that m's thread id (m.procid); -1 if none */
	bool locked;               /* locked to its thread (g.lockedm) */
	uint64_t panic, defer;     /* g._panic, g._defer */
	/* Where its stack walk starts: the syscall frame, the registers of the
	 * thread running it, or the saved scheduling state. */
	uint64_t start_pc, start_sp, start_bp;
	uint64_t start_lr;          /* link register (arm64); 0 = read from the frame */
	enum { GM_START_SCHED, GM_START_SYSCALL, GM_START_THREAD } start_from;
};

struct gm_goroutine_set {
	struct gm_goroutine *items;    /* in allgs order */
	size_t count;
	char **status_strings;         /* gStatusStrings, copied */
	uint32_t nstatus_strings;
	char **wait_strings;           /* waitReasonStrings, copied */
	uint32_t nwait_strings;
	struct gm_warnings warnings;
};

/* Read allgs.  Unreadable goroutines are warnings; errors only for a
 * missing allgs or out-of-memory. */
struct gm_error *gm_goroutines_read(struct gm_runtime *rt, struct gm_goroutine_set **ret);

void gm_goroutines_destroy(struct gm_goroutine_set *set);

/* Count of goroutines per status text, for `info`: fills NAMES/COUNTS up to
 * CAP distinct statuses and returns how many. */
size_t gm_goroutines_by_status(const struct gm_goroutine_set *set, const char **names, size_t *counts,
			       size_t cap);

#endif
