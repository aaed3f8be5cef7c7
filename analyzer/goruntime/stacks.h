/* stacks: every goroutine's stack unwound with the Go runtime's own tables
 * (pclntab frame sizes, inline trees), as runtime.(*unwinder) does, into
 * logical frames: inlined calls appear as their own frames, as Go's
 * traceback prints them.  A running goroutine starts from its thread's
 * registers; one whose thread is in a signal handler (the crash path)
 * continues from the interrupted context saved in the signal frame. */
#ifndef GOMORTEM_STACKS_H
#define GOMORTEM_STACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"
#include "../util/warnings.h"

struct gm_runtime;
struct gm_pclntab;
struct gm_goroutine_set;

/* One logical frame. */
struct gm_frame {
	uint64_t goid;
	uint32_t idx;            /* 0 = innermost */
	uint32_t physical;       /* index of its physical frame in the goroutine's walk */
	uint64_t pc;             /* the frame's pc (a return address except innermost/trap frames) */
	uint64_t sp, fp;         /* the physical frame's bounds */
	uint64_t entry;          /* entry of the physical function */
	const char *func, *file; /* owned by the pclntab */
	int32_t line;
	bool inlined;
	bool trap;               /* pc is where a signal struck (or sigpanic was called), not a return address */
};

/* Where a goroutine came from (printcreatedby in traceback.go). */
struct gm_goroutine_origin {
	const char *start_func;  /* function at g.startpc; NULL if unknown */
	const char *created_by;  /* function of the go statement (g.gopc); NULL for goroutine 1 */
	const char *created_file;
	int32_t created_line;
};

struct gm_stacks {
	struct gm_frame *frames; /* grouped by goroutine, in the goroutine set's order */
	size_t count, cap;
	size_t *first;           /* per goroutine: index of its first frame */
	size_t *nframes;         /* per goroutine: how many */
	struct gm_goroutine_origin *origins; /* per goroutine */
	struct gm_warnings warnings;
};

/* Unwind every goroutine of SET.  Frames that cannot be walked end the
 * goroutine's stack with a warning; an error only for out-of-memory. */
struct gm_error *gm_stacks_unwind(struct gm_runtime *rt, struct gm_pclntab *tab,
				  const struct gm_goroutine_set *set, struct gm_stacks **ret);

void gm_stacks_destroy(struct gm_stacks *stacks);

#endif
