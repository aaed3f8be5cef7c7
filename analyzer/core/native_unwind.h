/* native_unwind: the native (C) frames of the threads of a core, unwound
 * with libunwind-coredump (cores of the host's architecture) or libdw's
 * frame unwinder (the others: an arm64 core on an amd64 machine).
 *
 * Threads whose pc is in C code (a cgo call, libc, a pthread created by C)
 * have no Go frames to unwind at their pc; libunwind unwinds them with the
 * .eh_frame CFI of the shared libraries and of the executable's C objects.
 * libunwind-coredump supplies the threads' registers; memory, unwind tables
 * and symbols come from accessors of our own (see native_unwind.c): the
 * core's saved bytes, else the file the core's NT_FILE note maps there; the
 * file's .eh_frame_hdr relocated by the mapping's load bias; the file's
 * .symtab/.dynsym and its /usr/lib/debug/.build-id debug file.  A pc no
 * symbol covers is named "file+0xOFF" after the NT_FILE mapping holding it.
 *
 * A core without NT_FILE (qemu-user writes none) names no file: the
 * executable (WHERE->exe_path) and the dynamic linker's link_map, found
 * through the executable's DT_DEBUG in the core's memory, say which
 * libraries were loaded where; they are read under WHERE->sysroot (the
 * arm64 machine's root, e.g. Debian's cross sysroot /usr/aarch64-linux-gnu).
 *
 * Unwinding is bounded: at most MAX_FRAMES frames per thread, and it stops
 * when the stack pointer does not increase, when the pc is 0, or at the
 * first frame in Go code (see gm_native_unwind).  A corrupt core gives an
 * error or short stacks, never a crash.  libunwind-coredump is not
 * thread-safe on one core: do not unwind the same core from two threads.
 */
#ifndef GOMORTEM_NATIVE_UNWIND_H
#define GOMORTEM_NATIVE_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"

struct gm_core;

/* Frames per thread when the caller passes max_frames == 0. */
#define GM_NATIVE_DEFAULT_MAX_FRAMES 128

/* One physical frame. */
struct gm_native_frame {
	/* The frame's pc: for frame 0 the thread's pc, for the others the
	 * return address (symbolized at pc - 1, as gdb and pprof do). */
	uint64_t pc;
	/* "func+0x12" (offset of pc from the function's first byte), or
	 * "libfoo.so.1+0x1234" (file name and offset in the file) when no
	 * symbol covers pc, or NULL when pc is in no mapped file. malloc'd. */
	char *symbol;
	/* The frame is in native code (IS_NATIVE said so); false only for the
	 * last frame of a stack cut at Go code. */
	bool native;
};

/* The native stack of one thread, innermost frame first (frames[0].pc is the
 * thread's pc). */
struct gm_native_stack {
	int32_t tid;
	struct gm_native_frame *frames;
	size_t count;           /* >= 1 */
	/* Why unwinding ended: "go" (reached Go code), "end" (libunwind found
	 * the outermost frame), "max" (MAX_FRAMES), "sp" (sp did not increase;
	 * on AArch64 frame 1 may share frame 0's sp),
	 * "pc0" (a zero return address), "error" (the unwinder failed),
	 * "nofile" (the pc is in no file known: a library of a core of another
	 * machine not found under the sysroot; no CFI to go on). Static. */
	const char *stop;
};

/* Where the files of a core are, when the core does not say. */
struct gm_native_where {
	const char *exe_path; /* the executable (cores without NT_FILE); NULL: unknown */
	const char *sysroot;  /* prefix of the libraries' paths; NULL or "": / */
	/* Out: libraries of the link_map not found under the sysroot, or not
	 * the file that was loaded (their frames get no symbol or CFI). */
	size_t libraries_missing;
};

/* Unwind every thread of CORE (opened with gm_core_open; its path is reopened
 * by libunwind) whose pc satisfies IS_NATIVE(pc, ARG).  IS_NATIVE says "this
 * pc is not Go code" (the analyzer passes: gm_pclntab_find_func fails); NULL
 * treats every thread and frame as native.  Each stack ends with the first
 * frame after the innermost whose pc is not native (included, with native ==
 * false: where C returns to Go; the Go unwinder takes over from there), or
 * as described at struct gm_native_stack.  At most MAX_FRAMES frames each (0:
 * GM_NATIVE_DEFAULT_MAX_FRAMES).  A thread libunwind cannot start on still
 * gets a stack of its pc alone.
 *
 * *RET (malloc'd array, NULL when *RET_COUNT is 0) holds the stacks in the
 * core's thread order.  Errors: GM_ERR_BAD_CORE when libunwind cannot read
 * the core, or when a core of another architecture than the host's cannot
 * be unwound (the message says why: no executable, no DT_DEBUG / link_map,
 * no libdw unwinder for it); GM_ERR_NO_MEMORY.  WHERE may be NULL.
 * *RET and *RET_COUNT are written only on success. */
struct gm_error *gm_native_unwind_core(const struct gm_core *core, struct gm_native_where *where,
				       bool (*is_native)(uint64_t pc, void *arg), void *arg,
				       size_t max_frames, struct gm_native_stack **ret,
				       size_t *ret_count);

/* The same, opening the core at CORE_PATH itself (truncated cores accepted).
 * Errors of gm_core_open() as well. */
struct gm_error *gm_native_unwind(const char *core_path, struct gm_native_where *where,
				  bool (*is_native)(uint64_t pc, void *arg), void *arg,
				  size_t max_frames, struct gm_native_stack **ret, size_t *ret_count);

/* Free what gm_native_unwind*() returned; NULL is a no-op. */
void gm_native_stacks_free(struct gm_native_stack *stacks, size_t count);

#endif
