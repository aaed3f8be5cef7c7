"""The pclntab module (through tests/pclntab/pcinfo) against the Go runtime's
own crash tracebacks and against `go tool nm`.

Every corpus scenario keeps traceback.txt, what the dying program printed with
GOTRACEBACK=crash.  For each frame it printed

    NAME(ARGS)
    <TAB>FILE:LINE +0xOFF fp=0x... sp=0x... pc=0xPC

and before it, with no offset and no pc, the calls inlined at that pc
("NAME(...)").  pcinfo must give, for the pc the runtime symbolized, the same
logical frames in the same order: names, files and lines; and the frame size
(pcsp) must agree with fp - sp.  The runtime symbolizes a return address at
pc-1 (unwinder.symPC) except for the innermost frame of a signal (its pc is
the "PC=" of the header), a frame "called" by an injected call (sigpanic,
asyncPreempt, debugCallV2) and pc == entry: this driver does the same.
"""
import collections
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import gmtest  # noqa: E402

POSITION = re.compile(r"^\t(?P<file>.+):(?P<line>\d+)(?: \+0x(?P<off>[0-9a-f]+))?"
                      r"(?: fp=0x(?P<fp>[0-9a-f]+) sp=0x(?P<sp>[0-9a-f]+) pc=0x(?P<pc>[0-9a-f]+))?$")
SIGNAL_PC = re.compile(r"^PC=0x([0-9a-f]+) ")
INJECTED = {"runtime.sigpanic", "runtime.asyncPreempt", "runtime.debugCallV2"}
# Size of the return address the call pushed, between a frame's fp and its sp + pcsp.
RETURN_ADDRESS_BYTES = {"amd64": 8, "386": 4}
# Rounds of corrupting the tables per Go version, and bytes changed per round.
CORRUPT_ROUNDS = 24
CORRUPT_TABLE_BYTES = 32
CORRUPT_MODULEDATA_BYTES = 3


def pcinfo():
    path = os.environ.get("PCINFO")
    if not path or not os.access(path, os.X_OK):
        gmtest.skip("PCINFO is not set to an executable pcinfo")
    return path


def print_name(name):
    """runtime.printFuncName: shape names become [...], gopanic prints as panic."""
    if name == "runtime.gopanic":
        return "panic"
    i, j = name.find("["), name.rfind("]")
    return name[:i] + "[...]" + name[j + 1:] if 0 <= i < j else name


class Frame:
    """One physical frame of the traceback, with the logical frames printed for it."""

    def __init__(self, where, logical, pos, trap):
        self.where = where                 # "traceback.txt:LINE" of the physical frame
        self.logical = logical             # [(name, file, line)], innermost first
        self.pc = int(pos["pc"], 16)
        self.at_entry = pos["off"] is None
        self.frame_size = int(pos["fp"], 16) - int(pos["sp"], 16)
        self.trap = trap

    def sym_pc(self):
        return self.pc if self.trap or self.at_entry else self.pc - 1


def parse_traceback(path):
    """The physical frames with a pc, in order; 'created by' records are left out."""
    with open(path, errors="replace") as f:
        lines = f.read().split("\n")
    frames, pending, signal_pc, callee = [], [], None, None
    for i in range(len(lines) - 1):
        line = lines[i]
        m = SIGNAL_PC.match(line)
        if m:
            signal_pc = int(m.group(1), 16)
            continue
        if line.startswith("goroutine "):
            pending, callee = [], None
            continue
        pos = POSITION.match(lines[i + 1])
        if line.startswith("\t") or not line.endswith(")") or not pos or line.startswith("created by "):
            continue
        name = line[:line.rindex("(")]
        pending.append((name, pos["file"], int(pos["line"])))
        if pos["pc"] is None:
            continue                       # an inlined call: its pc is the next frame's
        trap = (signal_pc is not None and int(pos["pc"], 16) == signal_pc) or callee in INJECTED
        frames.append(Frame(f"{path}:{i + 1}", pending, pos, trap))
        pending, signal_pc, callee = [], None, name
    return frames


def run_pcinfo(tool, sdir, pcs):
    """pcinfo's logical frames for each pc: {pc: [(name, file, line, sp or None)]}."""
    res = gmtest.run([tool, os.path.join(sdir, "core"), os.path.join(sdir, "exe")]
                     + [f"{pc:x}" for pc in pcs])
    out = collections.defaultdict(list)
    for line in res.stdout.splitlines():
        pc, _, rest = line.partition(" ")
        if rest == "?":
            out[int(pc, 16)] = None        # no function contains pc
            continue
        # Names may hold spaces ("type:.eq.struct { ... }"): split from the right.
        name, position, last = rest.rsplit(" ", 2)
        file, _, lineno = position.rpartition(":")
        sp = last[3:] if last.startswith("sp=") else None
        out[int(pc, 16)].append((name, file, int(lineno), sp))
    return res, out


def check_frame(c, frame, got, return_address_bytes):
    where = f"{frame.where} pc=0x{frame.pc:x} (looked up at 0x{frame.sym_pc():x})"
    if not c.check(got, f"{where}: pcinfo found no function"):
        return 0
    names = [print_name(g[0]) for g in got]
    want = [n for n, _, _ in frame.logical]
    if not c.check(names == want, f"{where}: frames {names} != traceback {want}"):
        return 0
    for (name, file, line), g in zip(frame.logical, got):
        c.check((g[1], g[2]) == (file, line), f"{where}: {name} at {g[1]}:{g[2]}, traceback {file}:{line}")
    if return_address_bytes is not None:
        sp = got[-1][3]
        c.check(sp is not None and sp != "?" and int(sp) + return_address_bytes == frame.frame_size,
                f"{where}: pcsp {sp} + {return_address_bytes} != fp - sp = {frame.frame_size}")
    return len(got)


def check_scenario(c, tool, version, name, sdir, counts):
    frames = parse_traceback(os.path.join(sdir, "traceback.txt"))
    if not c.check(frames, f"{version}/{name}: no frames parsed from traceback.txt"):
        return
    goarch = gmtest.load_truth(sdir).get("goarch", "amd64")
    res, got = run_pcinfo(tool, sdir, sorted({f.sym_pc() for f in frames}))
    c.no_sanitizer_report(res)
    if not c.check(res.status == 0, f"{version}/{name}: pcinfo exited {res.status}: {res.stderr.strip()}"):
        return
    for frame in frames:
        counts[version]["logical"] += check_frame(c, frame, got.get(frame.sym_pc()),
                                                  RETURN_ADDRESS_BYTES.get(goarch))
        counts[version]["physical"] += 1


def go_nm_functions(exe):
    """Text symbols of EXE by `go tool nm`, as (addr, name); the assembly ABI0 suffix
    and the runtime.text/etext markers (not functions) left out."""
    out = subprocess.run(["go", "tool", "nm", exe], capture_output=True, text=True, check=True).stdout
    funcs = set()
    for line in out.splitlines():
        parts = line.split(None, 2)        # ADDR TYPE NAME, and NAME may hold spaces
        if len(parts) == 3 and parts[1] in ("T", "t") and parts[2] not in ("runtime.text", "runtime.etext"):
            name = parts[2][:-5] if parts[2].endswith(".abi0") else parts[2]
            funcs.add((int(parts[0], 16), name))
    return funcs


def check_all(c, tool, version, sdir):
    """--all against go tool nm (the symbol table writes '·' as '.')."""
    res = gmtest.run([tool, os.path.join(sdir, "core"), os.path.join(sdir, "exe"), "--all"])
    c.no_sanitizer_report(res)
    if not c.check(res.status == 0, f"{version}: pcinfo --all exited {res.status}: {res.stderr.strip()}"):
        return 0
    ours = set()
    for line in res.stdout.splitlines():
        addr, name = line.split(" ", 1)
        ours.add((int(addr, 16), name.replace("\u00b7", ".")))
    theirs = go_nm_functions(os.path.join(sdir, "exe"))
    c.check(ours == theirs, f"{version}: --all and go tool nm differ: only pcinfo "
            f"{sorted(ours - theirs)[:5]}, only nm {sorted(theirs - ours)[:5]}")
    return len(ours)


def check_self(c, tool, version, name, sdir):
    """--check: pc lookups, name lookups and the DWARF-bound FuncIDs agree."""
    res = gmtest.run([tool, os.path.join(sdir, "core"), os.path.join(sdir, "exe"), "--check"])
    c.no_sanitizer_report(res)
    c.check(res.status == 0 and res.stdout.startswith("ok "),
            f"{version}/{name}: pcinfo --check exited {res.status}:\n{res.stdout[:2000]}{res.stderr}")


def section_range(exe, name):
    """(file offset, size) of section NAME of EXE, by binutils' readelf."""
    out = subprocess.run(["readelf", "-SW", exe], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.replace("[ ", "[").split()
        if len(parts) > 6 and parts[1] == name:
            return int(parts[4], 16), int(parts[5], 16)
    return None


def core_offset(core, addr):
    """File offset in CORE of virtual address ADDR (a LOAD segment with file bytes)."""
    out = subprocess.run(["readelf", "-lW", core], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] == "LOAD":
            off, vaddr, filesz = int(parts[1], 16), int(parts[2], 16), int(parts[4], 16)
            if vaddr <= addr < vaddr + filesz:
                return off + addr - vaddr
    return None


def moduledata_range(exe, core):
    """(file offset in CORE, size) of the head of runtime.firstmoduledata: the table slices."""
    out = subprocess.run(["go", "tool", "nm", "-size", exe], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[3] == "runtime.firstmoduledata":
            off = core_offset(core, int(parts[0], 16))
            return (off, min(int(parts[1]), 360)) if off is not None else None
    return None


def check_corrupt(c, tool, version, sdir, pcs):
    """Random bytes in the pclntab (in the executable) and in the moduledata (in the
    core): pcinfo may fail, never crash or trip a sanitizer."""
    with tempfile.TemporaryDirectory() as tmp:
        exe, core = os.path.join(tmp, "exe"), os.path.join(tmp, "core")
        shutil.copy(os.path.join(sdir, "exe"), exe)
        shutil.copy(os.path.join(sdir, "core"), core)
        targets = [(exe, section_range(exe, ".gopclntab"), CORRUPT_TABLE_BYTES),
                   (core, moduledata_range(exe, core), CORRUPT_MODULEDATA_BYTES)]
        if not c.check(all(t[1] for t in targets), f"{version}: .gopclntab or moduledata not found"):
            return 0
        rng = random.Random(version)
        for n in range(CORRUPT_ROUNDS):
            path, (start, size), nbytes = targets[n % 2]
            with open(path, "r+b") as f:
                saved = []
                for off in rng.sample(range(start, start + size), nbytes):
                    f.seek(off)
                    saved.append((off, f.read(1)))
                    f.seek(off)
                    f.write(bytes([rng.randrange(256)]))
                f.flush()
                for args in (["--check"], ["--all"], [f"{pc:x}" for pc in pcs]):
                    res = gmtest.run([tool, core, exe] + args)
                    c.no_sanitizer_report(res)
                    c.check(res.status in (0, 1, 77), f"{version}: corrupt round {n} {args[0]}: "
                            f"exit {res.status}\n{res.stderr[-2000:]}")
                for off, byte in saved:
                    f.seek(off)
                    f.write(byte)
        return CORRUPT_ROUNDS


def main():
    tool = pcinfo()
    root = gmtest.corpus_dir()
    c = gmtest.Checker("test_pclntab")
    counts = collections.defaultdict(collections.Counter)
    nm_checked, corrupt_rounds = {}, {}
    for version, name, sdir in gmtest.scenarios(root):
        check_scenario(c, tool, version, name, sdir, counts)
        check_self(c, tool, version, name, sdir)
        if name == "zoo" and shutil.which("go"):
            nm_checked[version] = check_all(c, tool, version, sdir)
            pcs = sorted({f.sym_pc() for f in parse_traceback(os.path.join(sdir, "traceback.txt"))})
            corrupt_rounds[version] = check_corrupt(c, tool, version, sdir, pcs)
    if not counts:
        gmtest.skip(f"no cores under {root}")
    for version in sorted(counts):
        print(f"{version}: {counts[version]['physical']} physical frames, "
              f"{counts[version]['logical']} logical frames compared; "
              f"--all: {nm_checked.get(version, 'not checked')} functions; "
              f"{corrupt_rounds.get(version, 0)} corruption rounds")
    c.finish()


if __name__ == "__main__":
    main()
