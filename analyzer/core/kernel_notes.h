/*
 * The Linux kernel's ELF core notes, shared by the reader (core/elf_core.c)
 * and the writer (acquire/core_writer.c).  These are the kernel's ABI, not
 * the Go runtime's: DWARF does not describe them.  The offsets are those of
 * the 64-bit layouts (struct elf_prstatus, elf_prpsinfo, siginfo_t), the same
 * on x86-64 and aarch64; the writer checks them against <sys/procfs.h>.
 */
#ifndef GM_CORE_KERNEL_NOTES_H
#define GM_CORE_KERNEL_NOTES_H

#include <elf.h>

/* Older <elf.h> lack the two newest note types. */
#ifndef NT_SIGINFO
#define NT_SIGINFO 0x53494749
#endif
#ifndef NT_FILE
#define NT_FILE 0x46494c45
#endif

#define PRSTATUS_CURSIG_OFF 12
#define PRSTATUS_PID_OFF 32
#define PRSTATUS_REG_OFF 112
#define PRPSINFO_PID_OFF 24
#define PRPSINFO_FNAME_OFF 40
#define PRPSINFO_FNAME_LEN 16
#define PRPSINFO_PSARGS_OFF 56
#define PRPSINFO_PSARGS_LEN 80
#define SIGINFO_SIZE 128
#define SIGINFO_ADDR_OFF 16

#endif /* GM_CORE_KERNEL_NOTES_H */
