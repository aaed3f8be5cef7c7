"""core_seed.py CORE OUT: write a small fuzzing seed of CORE: its ELF
header, program headers and notes, nothing else.

The notes are what the core parser reads; the segments' bytes only feed the
address space.  Cutting a core at the end of its PT_NOTE segment is not
enough: gcore writes the notes last, after gigabytes of segments.  So the
notes are moved right after the program headers, PT_NOTE's offset follows
them, and the PT_LOAD segments keep their addresses and sizes but no saved
bytes (p_filesz 0), which the parser accepts as a core that saved nothing.
"""
import struct
import sys

ELF64_EHDR = "<16sHHIQQQIHHHHHH"
ELF64_PHDR = "<IIQQQQQQ"
PT_LOAD, PT_NOTE = 1, 4


def seed(f):
    """The seed of the core open as F, reading only what it keeps."""
    f.seek(0)
    ehdr = list(struct.unpack(ELF64_EHDR, f.read(struct.calcsize(ELF64_EHDR))))
    ident, phoff, phentsize, phnum = ehdr[0], ehdr[5], ehdr[9], ehdr[10]
    if ident[:4] != b"\x7fELF" or ident[4] != 2 or phentsize != struct.calcsize(ELF64_PHDR):
        raise ValueError("not a 64-bit ELF core")
    f.seek(phoff)
    table = f.read(phnum * phentsize)
    phdrs = [list(struct.unpack_from(ELF64_PHDR, table, i * phentsize)) for i in range(phnum)]
    head = struct.calcsize(ELF64_EHDR)
    notes = b""
    for ph in phdrs:
        if ph[0] == PT_NOTE:
            f.seek(ph[2])
            ph[2] = head + phnum * phentsize + len(notes)
            notes += f.read(ph[5])
        elif ph[0] == PT_LOAD:
            ph[2], ph[5] = 0, 0
    ehdr[5] = head
    out = struct.pack(ELF64_EHDR, *ehdr)
    out += b"".join(struct.pack(ELF64_PHDR, *ph) for ph in phdrs)
    return out + notes


def main():
    with open(sys.argv[1], "rb") as f:
        data = seed(f)
    with open(sys.argv[2], "wb") as out:
        out.write(data)


if __name__ == "__main__":
    main()
