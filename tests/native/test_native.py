"""Native (C) frames of the cgo corpus cores, unwound by gomortem's
native_unwind module (through the native_frames helper), against gdb on the
same core and executable.  arm64 cores (libdw, libraries from the link_map
under /usr/aarch64-linux-gnu) against gdb-multiarch with that sysroot.

Oracle: gdb (tests/native/gdb_frames.py) prints every thread's physical
frames with the pc and the minimal symbol "info symbol" gives for it.  A
thread is native when its pc lies outside the executable's Go text
[runtime.text, runtime.etext) (nm): exactly those threads must be unwound.
For each, gdb's physical frames are taken from the innermost up to and
including the first frame whose pc is Go text (where C returns into Go
through runtime.asmcgocall: gomortem cuts the stack there, the Go unwinder
owns the rest) or to gdb's last frame (the stack base, clone3).  Inlined
frames are skipped (they share the physical frame's pc), and so are gdb's
tail-call frames (a function that jumped to the frame above it, rebuilt by
gdb from DWARF call-site info: on no stack, invisible to CFI unwinding;
libc's __futex_abstimed_wait_cancelable64 under pthread_cond_wait is one).
Over that range:

  * the pcs must be equal, frame by frame, and the frame counts equal (our
    stack stops with "go" at the Go frame, or "end" at the stack base);
  * the function must be the same: our "NAME+0xOFF" and gdb's
    "GDBNAME + GDBOFF" must name the same entry point (OFF counted from the
    pc, GDBOFF from the symbolized pc, which is pc - 1 for a return
    address), and NAME must be GDBNAME or an alias of it: a function symbol
    of the same file (or of its /usr/lib/debug/.build-id debug file) at the
    same address, as binutils' readelf lists them (libc's read is also
    __read and __libc_read; gdb and gomortem may pick different aliases).
    When gdb knows no symbol, ours must be the "file+0xOFF" fallback.
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import gmtest  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
INFO_SYMBOL = re.compile(r"^(\S+?)(?: \+ (\d+))? in section \S+(?: of (.+))?$")


def native_frames_tool():
    path = os.environ.get("NATIVE_FRAMES")
    if not path or not os.access(path, os.X_OK):
        gmtest.skip("NATIVE_FRAMES is not set to the native_frames helper")
    return path


def go_text_range(exe):
    out = subprocess.run(["nm", exe], capture_output=True, text=True, check=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] in ("runtime.text", "runtime.etext"):
            syms[parts[2]] = int(parts[0], 16)
    return syms["runtime.text"], syms["runtime.etext"]


def gdb_frames(exe, core, sysroot=None):
    """{lwp: [(pc, kind, name or None, off, objfile)]} for every thread; a
    core of another machine with gdb-multiarch, its libraries under SYSROOT."""
    cmd = ["gdb", "-batch", "-nx", "-iex", "set auto-load no", "-iex", "set debuginfod enabled off"]
    if sysroot:
        cmd = ["gdb-multiarch"] + cmd[1:] + ["-iex", f"set sysroot {sysroot}"]
    res = subprocess.run(cmd + ["-x",
                          os.path.join(HERE, "gdb_frames.py"), exe, core],
                         capture_output=True, text=True, timeout=600, errors="replace")
    threads = {}
    for line in res.stdout.splitlines():
        if not line.startswith("F "):
            continue
        _, lwp, idx, pc, kind, sym = line.split(" ", 5)
        name, off, obj = None, 0, exe
        m = INFO_SYMBOL.match(sym)
        if m:
            name, off, obj = m.group(1), int(m.group(2) or 0), m.group(3) or exe
        threads.setdefault(int(lwp), []).append((int(pc, 16), kind, name, off, obj))
    return threads, res


def ours(tool, exe, core, sysroot=None):
    res = gmtest.run([tool, core, exe] + (["0", sysroot] if sysroot else []))
    stacks, stops = {}, {}
    for line in res.stdout.splitlines():
        if line.startswith("# "):
            _, tid, _, stop = line.split()
            stops[int(tid)] = stop
            stacks[int(tid)] = []
            continue
        tid, _, pc, sym, kind = line.split()
        stacks[int(tid)].append((int(pc, 16), sym, kind))
    return stacks, stops, res


class Aliases:
    """Function symbols by file (and its build-id debug file), with readelf."""

    def __init__(self):
        self.cache = {}

    def _files(self, path):
        files = [path]
        notes = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
        m = re.search(r"Build ID: ([0-9a-f]+)", notes)
        if m:
            dbg = f"/usr/lib/debug/.build-id/{m.group(1)[:2]}/{m.group(1)[2:]}.debug"
            if os.path.exists(dbg):
                files.append(dbg)
        return files

    def table(self, path):
        if path not in self.cache:
            by_name, by_value = {}, {}
            for f in self._files(path):
                out = subprocess.run(["readelf", "-sW", f], capture_output=True, text=True).stdout
                for line in out.splitlines():
                    p = line.split()
                    if len(p) < 8 or p[3] not in ("FUNC", "IFUNC") or p[6] == "UND":
                        continue
                    value, name = int(p[1], 16), p[7].split("@")[0]
                    by_name.setdefault(name, set()).add(value)
                    by_value.setdefault(value, set()).add(name)
            self.cache[path] = (by_name, by_value)
        return self.cache[path]

    def same_function(self, path, ours_name, gdb_name):
        if ours_name == gdb_name:
            return True
        by_name, by_value = self.table(path)
        return any(ours_name in by_value.get(v, ()) for v in by_name.get(gdb_name, ()))


def check_core(c, tool, aliases, version, name, sdir, sysroot=None):
    return check_stacks(c, tool, aliases, f"{version}/{name}", os.path.join(sdir, "exe"),
                        os.path.join(sdir, "core"), sysroot)


def check_stacks(c, tool, aliases, where, exe, core, sysroot=None):
    """Every native thread of CORE unwound as gdb does: (threads, frames, tail calls)."""
    lo, hi = go_text_range(exe)
    is_go = lambda pc: lo <= pc < hi  # noqa: E731
    gdb, gres = gdb_frames(exe, core, sysroot)
    if not c.check(gdb, f"{where}: gdb printed no frames: {gres.stderr[-500:]}"):
        return 0, 0, 0
    mine, stops, res = ours(tool, exe, core, sysroot)
    c.no_sanitizer_report(res)
    if not c.check(res.status == 0, f"{where}: native_frames exited {res.status}: {res.stderr.strip()}"):
        return 0, 0, 0
    native = sorted(lwp for lwp, fr in gdb.items() if fr and not is_go(fr[0][0]))
    c.check(sorted(mine) == native, f"{where}: native threads {sorted(mine)}, gdb's pcs say {native}")
    c.check(len(native) >= 7, f"{where}: only {len(native)} threads in C (the scenario parks 7)")
    nframes = tailcalls = 0
    for lwp in native:
        # gdb's TAILCALL frames stand for functions that jumped (tail call) to
        # the frame above: rebuilt from DWARF call-site info, not on the stack,
        # so CFI unwinding (libunwind) cannot see them.  Left out.
        frames = [f for f in gdb[lwp] if f[1] != "TAILCALL"]
        tailcalls += len(gdb[lwp]) - len(frames)
        want = []
        for i, fr in enumerate(frames):
            want.append(fr)
            if i > 0 and is_go(fr[0]):
                break
        got = mine.get(lwp, [])
        tw = f"{where}: thread {lwp}"
        c.check([f[0] for f in got] == [f[0] for f in want],
                f"{tw}: pcs {[hex(f[0]) for f in got]}, gdb {[hex(f[0]) for f in want]}")
        want_stop = "go" if is_go(want[-1][0]) else "end"
        c.check(stops.get(lwp) == want_stop, f"{tw}: stopped with {stops.get(lwp)}, expected {want_stop}")
        for i, (g, m) in enumerate(zip(want, got)):
            pc, kind, gname, goff, obj = g
            lookup_delta = 0 if i == 0 or want[i - 1][1] == "SIGTRAMP" else 1
            sym = m[1]
            if gname is None:
                c.check(sym == "?" or "+0x" in sym and not sym.split("+0x")[0].isidentifier(),
                        f"{tw} #{i} {pc:#x}: gdb knows no symbol, we say {sym}")
                continue
            sname, _, soff = sym.rpartition("+0x")
            ok = bool(sname) and int(soff or "0", 16) == goff + lookup_delta and \
                aliases.same_function(obj, sname, gname)
            c.check(ok, f"{tw} #{i} {pc:#x}: we say {sym}, gdb says {gname}+{goff + lookup_delta:#x} ({obj})")
            nframes += 1
        c.check(all(k == "c" for _, _, k in got[:-1]) and (got[-1][2] == "go") == (want_stop == "go"),
                f"{tw}: frame kinds {[k for _, _, k in got]}")
    return len(native), nframes, tailcalls


def core_loads(data):
    """[(vaddr, offset, filesz)] of an ELF64 core's PT_LOADs."""
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    loads = []
    for i in range(phnum):
        p_type, _flags, off, vaddr, _paddr, filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if p_type == 1:
            loads.append((vaddr, off, filesz))
    return loads


def core_offset(loads, addr):
    for vaddr, off, filesz in loads:
        if vaddr <= addr < vaddr + filesz:
            return off + addr - vaddr
    raise KeyError(hex(addr))


def check_corrupt_link_map(c, tool, version, name, sdir, tmp):
    """The link_map as a corrupt core may have it (found with gdb-multiarch:
    _r_debug, then r_map and each l_next): libc's l_addr moved (its
    .dynamic is then not at l_ld: libc is not the file that was loaded, its
    threads end at their pc with "nofile"), a loop in l_next (the stacks
    stay what they were), r_map unreadable (no library: every thread in
    one is its pc alone)."""
    exe, core = os.path.join(sdir, "exe"), os.path.join(sdir, "core")
    where = f"{version}/{name} corrupt link_map"
    res = subprocess.run(["gdb-multiarch", "-batch", "-nx", "-iex", "set auto-load no", "-iex",
                          "set debuginfod enabled off", "-iex", f"set sysroot {gmtest.ARM64_SYSROOT}",
                          "-ex", "info address _r_debug", "-ex", "info sharedlibrary", exe, core],
                         capture_output=True, text=True, timeout=600, errors="replace")
    m = re.search(r'"_r_debug" is at (0x[0-9a-f]+)', res.stdout)
    libc = re.search(r"^(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+.*/libc\.so\.6$", res.stdout, re.M)
    if not c.check(m and libc, f"{where}: gdb-multiarch found no _r_debug or libc: {res.stdout[-300:]}"):
        return
    text_lo, text_hi = int(libc.group(1), 16), int(libc.group(2), 16)
    with open(core, "rb") as f:
        data = bytearray(f.read())
    loads = core_loads(data)
    u64 = lambda addr: struct.unpack_from("<Q", data, core_offset(loads, addr))[0]  # noqa: E731
    r_map_at = int(m.group(1), 16) + 8
    entry, libc_entry = u64(r_map_at), None
    while entry and libc_entry is None:
        name_at = core_offset(loads, u64(entry + 8))
        if data[name_at:data.index(0, name_at)].endswith(b"/libc.so.6"):
            libc_entry = entry
        entry = u64(entry + 24)
    if not c.check(libc_entry, f"{where}: no libc.so.6 in the link_map"):
        return
    base, base_stops, _ = ours(tool, exe, core, gmtest.ARM64_SYSROOT)

    def variant(label, addr, value):
        copy = bytearray(data)
        struct.pack_into("<Q", copy, core_offset(loads, addr), value)
        path = os.path.join(tmp, f"core-{label}")
        with open(path, "wb") as f:
            f.write(copy)
        got, stops, res = ours(tool, exe, path, gmtest.ARM64_SYSROOT)
        c.no_sanitizer_report(res)
        c.check(res.status == 0, f"{where} ({label}): native_frames exited {res.status}: {res.stderr.strip()}")
        return got, stops

    in_libc = {tid for tid, fr in base.items() if text_lo <= fr[0][0] < text_hi}
    c.check(len(in_libc) >= 5, f"{where}: only {len(in_libc)} threads in libc")
    got, stops = variant("l_addr", libc_entry, u64(libc_entry) + 0x10000)
    for tid in in_libc:
        c.check(len(got.get(tid, [])) == 1 and got[tid][0][1] == "?" and stops.get(tid) == "nofile",
                f"{where} (libc l_addr moved): thread {tid}: {got.get(tid)} {stops.get(tid)}")
    got, stops = variant("loop", libc_entry + 24, libc_entry)
    c.check(got == base and stops == base_stops, f"{where} (l_next loop): stacks differ from the core's")
    got, stops = variant("r_map", r_map_at, 0xdead0000)
    c.check(all(len(got.get(tid, [])) == 1 and stops.get(tid) == "nofile" for tid in in_libc),
            f"{where} (r_map unreadable): {[(t, got.get(t), stops.get(t)) for t in sorted(in_libc)]}")


PRSTATUS_PID, PRSTATUS_REG = 32, 112  # struct elf_prstatus on x86-64 and aarch64
REGS = {"amd64": {"pc": 16, "sp": 19}, "arm64": {"pc": 32, "sp": 31, "lr": 30}}  # pr_reg indexes


def prstatus_regs(data):
    """{tid: offset of its pr_reg} from an ELF64 core's NT_PRSTATUS notes."""
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    regs = {}
    for i in range(phnum):
        p_type, _flags, off, _vaddr, _paddr, filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        at, end = off, off + filesz
        while p_type == 4 and at + 12 <= end:
            namesz, descsz, n_type = struct.unpack_from("<III", data, at)
            desc = at + 12 + (namesz + 3) // 4 * 4
            if n_type == 1:
                regs[struct.unpack_from("<i", data, desc + PRSTATUS_PID)[0]] = desc + PRSTATUS_REG
            at = desc + (descsz + 3) // 4 * 4
    return regs


def plt_stub(exe):
    """The address of the last stub of EXE's .plt (gdb names it NAME@plt)."""
    out = subprocess.run(["readelf", "-SW", exe], capture_output=True, text=True, check=True).stdout
    m = re.search(r"\s\.plt\s+PROGBITS\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", out)
    return int(m.group(1), 16) + int(m.group(2), 16) - 16 if m else None


def check_plt_stub(c, tool, aliases, version, name, sdir, tmp, sysroot=None):
    """A thread caught in a PLT stub (qemu's arm64 crash path catches the
    runtime's cgo sigaction calls in sigaddset@plt): the core rewritten so
    that one thread in C sits at a stub of the executable's .plt, called
    from where it was.  On arm64 the call left the return address in x30
    (the stub has no CFI: stepped by hand); on amd64 on the stack (ld's CFI
    for .plt).  Its stack must be gdb's: the stub named NAME@plt, then the
    thread's former frames."""
    exe, core = os.path.join(sdir, "exe"), os.path.join(sdir, "core")
    where = f"{version}/{name} in a PLT stub"
    arch = gmtest.folder_arch(version)
    stub = plt_stub(exe)
    base, _, _ = ours(tool, exe, core, sysroot)
    lo, hi = go_text_range(exe)
    tid = next((t for t, fr in sorted(base.items()) if len(fr) >= 3 and not lo <= fr[0][0] < hi), None)
    if not c.check(stub and tid, f"{where}: no .plt in the executable or no thread in C"):
        return
    with open(core, "rb") as f:
        data = bytearray(f.read())
    regs, r = prstatus_regs(data)[tid], REGS[arch]
    reg = lambda i: struct.unpack_from("<Q", data, regs + 8 * i)[0]  # noqa: E731
    pc, sp = reg(r["pc"]), reg(r["sp"])
    if arch == "arm64":
        struct.pack_into("<Q", data, regs + 8 * r["lr"], pc)
    else:
        struct.pack_into("<Q", data, core_offset(core_loads(data), sp - 8), pc)
        struct.pack_into("<Q", data, regs + 8 * r["sp"], sp - 8)
    struct.pack_into("<Q", data, regs + 8 * r["pc"], stub)
    path = os.path.join(tmp, f"core-plt-{arch}")
    with open(path, "wb") as f:
        f.write(data)
    check_stacks(c, tool, aliases, where, exe, path, sysroot)
    mine, _, _ = ours(tool, exe, path, sysroot)
    top = mine.get(tid, [(0, "?", "")])
    c.check(top[0][0] == stub and top[0][1].endswith("@plt+0x0") and [f[0] for f in top[1:]] ==
            [f[0] for f in base[tid]], f"{where}: thread {tid}: {top}, was {base[tid]}")


def check_without_sysroot(c, tool, version, name, sdir):
    """Without the sysroot the arm64 libraries are not found (the host's
    /lib/libc.so.6 is an x86-64 file): each thread in a library is its pc
    alone, unsymbolized, stopped with "nofile" (no CFI to go on, no guessing)."""
    exe, core = os.path.join(sdir, "exe"), os.path.join(sdir, "core")
    mine, stops, res = ours(tool, exe, core)
    c.no_sanitizer_report(res)
    where = f"{version}/{name} without sysroot"
    if not c.check(res.status == 0, f"{where}: native_frames exited {res.status}: {res.stderr.strip()}"):
        return
    in_libs = [tid for tid, fr in mine.items() if fr and fr[0][1] == "?"]
    c.check(len(in_libs) >= 7, f"{where}: {len(in_libs)} threads in a library, the scenario parks 7")
    for tid in in_libs:
        c.check(len(mine[tid]) == 1 and stops[tid] == "nofile",
                f"{where}: thread {tid}: {mine[tid]}, stop {stops[tid]}")


def main():
    if not shutil.which("gdb"):
        gmtest.skip("gdb not installed (the oracle)")
    tool = native_frames_tool()
    root = gmtest.corpus_dir()
    c = gmtest.Checker("test_native")
    aliases = Aliases()
    covered = []
    arm64_cgo = amd64_cgo = None  # the last cgo core of each: rewritten (link_map, PLT)
    for version, name, sdir in gmtest.scenarios(root):
        if name != "cgo" and not name.startswith("cgo-"):
            continue
        sysroot = None
        if gmtest.folder_arch(version) != "amd64":
            # libunwind-coredump unwinds the host's architecture only: the
            # arm64 cores go through libdw, their libraries found through
            # the link_map (qemu writes no NT_FILE) under the cross sysroot
            # the corpus ran them with; gdb-multiarch reads them there too.
            sysroot = gmtest.ARM64_SYSROOT
            if not shutil.which("gdb-multiarch") or not os.path.isdir(sysroot):
                c.check(False, f"{version}/{name}: gdb-multiarch or {sysroot} missing (the oracle)")
                continue
            check_without_sysroot(c, tool, version, name, sdir)
            arm64_cgo = (version, name, sdir)
        else:
            amd64_cgo = (version, name, sdir)
        nthreads, nframes, tailcalls = check_core(c, tool, aliases, version, name, sdir, sysroot)
        covered.append(version)
        print(f"{version}/{name}: {nthreads} native threads, {nframes} frames compared with gdb"
              f" ({tailcalls} gdb tail-call frames left out)")
    if not covered:
        gmtest.skip(f"no cgo cores under {root}: run corpora/generate (scenario cgo)")
    with tempfile.TemporaryDirectory(prefix="gomortem-native-") as tmp:
        if arm64_cgo:
            check_corrupt_link_map(c, tool, *arm64_cgo, tmp)
            check_plt_stub(c, tool, aliases, *arm64_cgo, tmp, gmtest.ARM64_SYSROOT)
        if amd64_cgo:
            check_plt_stub(c, tool, aliases, *amd64_cgo, tmp)
    print(f"Go versions covered: {' '.join(sorted(covered))}")
    c.finish()


if __name__ == "__main__":
    main()
