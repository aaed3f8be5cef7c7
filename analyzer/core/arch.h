/* arch: what gomortem knows of each processor architecture, chosen by the
 * core's e_machine.
 *
 * These are kernel and Go ABI facts that no DWARF gives: where the kernel
 * puts each register in NT_PRSTATUS (user_regs_struct / user_pt_regs),
 * where a signal frame keeps the interrupted registers (ucontext), and how
 * Go lays out a frame (a return address pushed by CALL on x86-64, a link
 * register saved at 0(SP) on arm64).  Everything else (the pc quantum, the
 * page size) the core or the runtime's tables say themselves.
 */
#ifndef GOMORTEM_ARCH_H
#define GOMORTEM_ARCH_H

#include <stdbool.h>
#include <stdint.h>

/* Architectures gomortem reads. */
enum gm_arch {
	GM_ARCH_UNKNOWN = 0,
	GM_ARCH_X86_64,
	GM_ARCH_AARCH64,
};

/* Index of a register that the architecture lacks. */
#define GM_REG_NONE UINT32_MAX

struct gm_arch_info {
	enum gm_arch arch;
	uint16_t e_machine;
	const char *name;        /* "x86_64", "aarch64" */
	const char *goarch;      /* Go's name: "amd64", "arm64" */
	/* NT_PRSTATUS pr_reg: how many 8-byte registers, and which is which. */
	uint32_t nregs;
	uint32_t pc_index, sp_index;
	uint32_t lr_index;       /* link register; GM_REG_NONE on x86-64 */
	uint32_t fp_index;       /* frame pointer (rbp, x29) */
	/* Go frames: true where the caller's return address is in a link
	 * register that the callee saves at 0(SP) (sys.UsesLR); false where CALL
	 * pushes it above the frame. */
	bool uses_lr;
	/* sys.MinFrameSize: bytes at the bottom of each frame before the
	 * arguments of a call (arm64: the saved LR). */
	uint64_t min_frame_size;
	/* Signal frame: the kernel's rt_sigframe starts at the handler's entry
	 * sp, its ucontext SIGFRAME_UCONTEXT bytes in; the ucontext's
	 * uc_mcontext holds the interrupted registers at these offsets (from
	 * the ucontext's start). */
	uint64_t sigframe_ucontext;
	uint64_t uc_pc, uc_sp, uc_fp, uc_lr; /* uc_lr only when uses_lr */
};

/* The architecture of an ELF e_machine, or NULL when gomortem does not read it. */
const struct gm_arch_info *gm_arch_by_machine(uint16_t e_machine);

/* The description of an architecture (never NULL for a known one). */
const struct gm_arch_info *gm_arch_info(enum gm_arch arch);

/* Name of an architecture ("x86_64", "aarch64", "unknown"). */
const char *gm_arch_name(enum gm_arch arch);

/* A human name for any e_machine, read or not ("riscv64", "s390x", "386",
 * "arm", ...); "machine N" for one this table does not know.  Static. */
const char *gm_machine_name(uint16_t e_machine, char buf[24]);

#endif
