#include "arch.h"

#include <elf.h>
#include <stddef.h>
#include <stdio.h>

#ifndef EM_RISCV
#define EM_RISCV 243
#endif
#ifndef EM_LOONGARCH
#define EM_LOONGARCH 258
#endif

static const struct gm_arch_info arch_table[] = {
	{
		.arch = GM_ARCH_X86_64, .e_machine = EM_X86_64, .name = "x86_64", .goarch = "amd64",
		/* user_regs_struct: r15 r14 r13 r12 rbp (4) rbx r11 r10 r9 r8 rax rcx
		 * rdx rsi rdi orig_rax rip (16) cs eflags rsp (19) ss fs_base gs_base
		 * ds es fs gs (arch/x86/include/asm/user_64.h) */
		.nregs = 27, .pc_index = 16, .sp_index = 19, .lr_index = GM_REG_NONE, .fp_index = 4,
		.uses_lr = false, .min_frame_size = 0,
		/* rt_sigframe: the restorer's address (pretcode), then the ucontext
		 * (arch/x86/include/asm/sigframe.h). */
		.sigframe_ucontext = 8,
		/* ucontext: uc_flags, uc_link, uc_stack (24 bytes), uc_mcontext at
		 * 40: r8..r15, rdi, rsi, rbp (10), rbx, rdx, rax, rcx, rsp (15), rip
		 * (16) (arch/x86/include/uapi/asm/sigcontext.h) */
		.uc_pc = 40 + 16 * 8, .uc_sp = 40 + 15 * 8, .uc_fp = 40 + 10 * 8, .uc_lr = 0,
	},
	{
		.arch = GM_ARCH_AARCH64, .e_machine = EM_AARCH64, .name = "aarch64", .goarch = "arm64",
		/* user_pt_regs: x0..x30, sp (31), pc (32), pstate (33) */
		.nregs = 34, .pc_index = 32, .sp_index = 31, .lr_index = 30, .fp_index = 29,
		.uses_lr = true, .min_frame_size = 8,
		/* rt_sigframe: a siginfo_t (128 bytes), then the ucontext
		 * (arch/arm64/kernel/signal.c; qemu-user's target_rt_sigframe too). */
		.sigframe_ucontext = 128,
		/* ucontext: uc_flags, uc_link, uc_stack (24 bytes), uc_sigmask padded to
		 * 128 bytes, uc_mcontext 16-aligned at 176: fault_address, regs[31]
		 * (x29 at 8+29*8, x30 at 8+30*8), sp (256), pc (264), pstate
		 * (arch/arm64/include/uapi/asm/ucontext.h, sigcontext.h) */
		.uc_pc = 176 + 264, .uc_sp = 176 + 256, .uc_fp = 176 + 8 + 29 * 8, .uc_lr = 176 + 8 + 30 * 8,
	},
};

const struct gm_arch_info *gm_arch_by_machine(uint16_t e_machine)
{
	for (size_t i = 0; i < sizeof(arch_table) / sizeof(arch_table[0]); i++)
		if (arch_table[i].e_machine == e_machine)
			return &arch_table[i];
	return NULL;
}

const struct gm_arch_info *gm_arch_info(enum gm_arch arch)
{
	for (size_t i = 0; i < sizeof(arch_table) / sizeof(arch_table[0]); i++)
		if (arch_table[i].arch == arch)
			return &arch_table[i];
	return NULL;
}

const char *gm_arch_name(enum gm_arch arch)
{
	const struct gm_arch_info *info = gm_arch_info(arch);
	return info ? info->name : "unknown";
}

const char *gm_machine_name(uint16_t e_machine, char buf[24])
{
	const struct gm_arch_info *info = gm_arch_by_machine(e_machine);
	if (info)
		return info->name;
	switch (e_machine) {
	case EM_386: return "386 (i386)";
	case EM_ARM: return "arm (32-bit)";
	case EM_RISCV: return "riscv64";
	case EM_S390: return "s390x";
	case EM_PPC64: return "ppc64";
	case EM_PPC: return "ppc (32-bit)";
	case EM_MIPS: return "mips";
	case EM_LOONGARCH: return "loong64";
	case EM_SPARCV9: return "sparc64";
	default:
		snprintf(buf, 24, "machine %u", e_machine);
		return buf;
	}
}
