"""Global, stack and finalizer roots against the runtime's heap dump: every pointer word its data
and bss records list is a root of the same address (and no other), each
holding the value the dump saved, pointing into the object the heap walk
found; the labelled globals of the scenarios appear under their names."""
import bisect
import os
import re
import struct
import subprocess
import sys

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "oracle"))
import gmtest  # noqa: E402
import heapdump  # noqa: E402


RUNTIME_WRITES = ("runtime.",)


def dump_words(dump):
    """{address: value} of every pointer word of the dump's data and bss records."""
    words = {}
    for record in (dump.data, dump.bss):
        if not record:
            continue
        contents = record.get("contents")
        for off in record["ptr_offsets"]:
            value = struct.unpack_from("<Q", contents, off)[0] if contents else None
            words[record["addr"] + off] = value
    return words


def check_finalizers(c, where, special_roots, dump):
    """Registered finalizers (dump tag 7): the object and the function are roots."""
    finalized = {value for kind, value in special_roots if kind == "finalized_object"}
    functions = {value for kind, value in special_roots if kind == "finalizer"}
    for fin in dump.finalizers:
        obj, fn = fin["obj"], fin["fn"]
        c.check(obj in finalized, f"{where}: object 0x{obj:x} with a finalizer is not a root")
        c.check(fn in functions, f"{where}: finalizer function 0x{fn:x} is not a root")
    c.check(len(finalized) == len(dump.finalizers),
            f"{where}: {len(finalized)} finalized objects, the dump has {len(dump.finalizers)}")
    queued = sum(1 for kind, _ in special_roots if kind == "queued_finalizer")
    c.check(queued == 4 * len(dump.queued_finalizers),
            f"{where}: {queued} queued-finalizer words, the dump has {len(dump.queued_finalizers)} entries")


def check_stack_roots(c, where, db, dump):
    """Stack roots of every goroutine that was parked when the dump was taken
    (running and syscall ones moved on before the core): the same absolute
    addresses as the dump's frame field lists (which cover each frame's
    locals and the outgoing arguments of its callee)."""
    ours = {}
    for goid, addr in db.execute("SELECT goid, addr FROM roots WHERE kind = 'stack'"):
        ours.setdefault(goid, set()).add(addr)
    status = dict(db.execute("SELECT goid, status FROM goroutines"))
    compared = 0
    for g in dump.goroutines:
        goid = g["goid"]
        if goid not in status or status[goid] in ("running", "syscall"):
            continue
        want = {f["sp"] + off for f in g["frames"] for off in f["ptr_offsets"]}
        got = ours.get(goid, set())
        compared += 1
        c.check(want == got, f"{where}: goroutine {goid}: {len(want - got)} dump stack pointers missing, "
                f"{len(got - want)} extra")
    c.check(compared > 0, f"{where}: no parked goroutine to compare stack roots")


def data_symbols(exe):
    """Sorted [(addr, name, size)] of the object symbols of EXE, read by binutils' readelf."""
    out = subprocess.run(["readelf", "-sW", exe], capture_output=True, text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        f = line.split()
        # Zero-sized symbols mark section bounds (runtime.bss, runtime.data), not globals.
        if len(f) >= 8 and f[3] == "OBJECT" and re.fullmatch(r"[0-9a-f]+", f[1]) and int(f[2], 0) > 0:
            syms.append((int(f[1], 16), f[7], int(f[2], 0)))
    return sorted(syms)


def symbol_offset(syms, addr):
    """(symbol, offset) of the symbol holding ADDR; None for a word no symbol covers
    (the linker's unnamed static data)."""
    i = bisect.bisect_right(syms, (addr, "\xff")) - 1
    if i < 0 or addr >= syms[i][0] + syms[i][2]:
        return None
    return syms[i][1], addr - syms[i][0]


def check_names_as_dwarf_build(c, where, sdir, names):
    """A build without DWARF names a global root symbol+offset: the same
    (symbol, offset) set as the DWARF build of the program has, its roots'
    addresses placed by that build's own symbol table (readelf)."""
    dwarf_dir = sdir.removesuffix("-nodwarf")
    if not os.path.isdir(dwarf_dir):
        return
    import sqlite3
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        db_path = os.path.join(tmp, "d.db")
        gm = gmtest.gomortem()
        res = gmtest.run([gm, "analyze", os.path.join(dwarf_dir, "core"), "--exe", os.path.join(dwarf_dir, "exe"),
                          "-o", db_path, "--quiet"])
        if not c.check(res.status == 0, f"{where}: DWARF build analysis exited {res.status}"):
            return
        db = sqlite3.connect(db_path)
        addrs = [a for (a,) in db.execute("SELECT addr FROM roots WHERE kind IN ('data', 'bss')")]
        db.close()
    syms = data_symbols(os.path.join(dwarf_dir, "exe"))
    placed = [symbol_offset(syms, a) for a in addrs]
    want = {p for p in placed if p}
    got, unnamed = set(), 0
    for name in names:
        m = re.fullmatch(r"(.*)\+0x([0-9a-f]+)", name)
        if re.fullmatch(r"(data|bss)\+0x[0-9a-f]+", name):
            unnamed += 1
        else:
            got.add((m.group(1), int(m.group(2), 16)) if m else (name, 0))
    c.check(want == got, f"{where}: global roots by symbol+offset differ from the DWARF build's: "
            f"{sorted(want - got)[:4]} missing, {sorted(got - want)[:4]} extra")
    c.check(unnamed == placed.count(None),
            f"{where}: {unnamed} global roots outside every symbol, the DWARF build has {placed.count(None)}")


def check_scenario(c, gm, where, sdir, tmp):
    db_path = os.path.join(tmp, "r.db")
    db = gmtest.analyze(c, gm, where, sdir, db_path)
    if db is None:
        return
    dump = heapdump.parse(os.path.join(sdir, "heapdump"), keep_contents=True)
    check_stack_roots(c, where, db, dump)
    db_path_roots = list(db.execute("SELECT kind, value FROM roots WHERE kind NOT IN ('data', 'bss')"))
    roots = {addr: (name, value, dst) for addr, name, value, dst in
             db.execute("SELECT addr, name, value, dst FROM roots WHERE kind IN ('data', 'bss')")}
    objects = {oid: (addr, size) for oid, addr, size in db.execute("SELECT id, addr, size FROM objects")}
    db.close()
    os.unlink(db_path)
    words = dump_words(dump)
    missing = sorted(set(words) - set(roots))
    extra = sorted(set(roots) - set(words))
    c.check(not missing, f"{where}: {len(missing)} dump pointer words not roots, e.g. {[hex(a) for a in missing[:4]]}")
    c.check(not extra, f"{where}: {len(extra)} roots not in the dump, e.g. {[hex(a) for a in extra[:4]]}")
    wrong_value = [a for a in set(words) & set(roots) if words[a] is not None and words[a] != roots[a][1]]
    # The runtime writes a few of its own globals after the dump (WriteHeapDump
    # frees runtime.tmpbuf and resets m0.preemptoff on its way out); the
    # program's globals must agree exactly.
    wrong_value = [roots[a][0] for a in wrong_value if not roots[a][0].startswith(RUNTIME_WRITES)]
    c.check(not wrong_value, f"{where}: roots with other values than the dump saved: {wrong_value[:5]}")
    for addr, (name, value, dst) in roots.items():
        if dst is not None:
            o_addr, o_size = objects[dst]
            if not (o_addr <= value < o_addr + o_size):
                c.check(False, f"{where}: root {name} value 0x{value:x} not inside its object")
    check_finalizers(c, where, db_path_roots, dump)
    if where.endswith("-nodwarf"):
        check_names_as_dwarf_build(c, where, sdir, [name for name, _, _ in roots.values()])
    truth = gmtest.load_truth(sdir)
    for gname, ghex in truth.get("globals", {}).items():
        gaddr = int(ghex, 16)
        if gaddr not in words:
            continue  # a global without pointers is not a root
        name = roots.get(gaddr, ("?",))[0]
        c.check(name == gname or name.startswith(gname + ".") or name.startswith(gname + "["),
                f"{where}: global {gname} at 0x{gaddr:x} is named {name!r}")


def main():
    gmtest.each_scenario(check_scenario, need_heapdump=True)

if __name__ == "__main__":
    main()
