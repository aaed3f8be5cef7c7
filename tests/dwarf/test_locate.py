"""Runtime globals located without a symbol table (for -ldflags='-s -w'
builds), against the symbol table: `gomortem dwarf --locate` finds them from
the executable's bytes alone, and every corpus executable that has a symbol
table (DWARF, PIE and -w builds of every version, amd64 and arm64) must give
the addresses binutils' readelf reads from it.  The -w builds are also
stripped with objcopy --strip-all (same data layout, no .symtab): there
every global the runtime binders read must be located, at the address the
unstripped symbol table gives.  On the stripped cores, `info` says so and
reads runtime.buildVersion through the locator (checked against the truth
file), and `analyze` succeeds with debug_info none (nodwarf_types compares
its results with the -w analysis)."""
import os
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import gmtest  # noqa: E402

# What the runtime binders read (runtime.semtable only for leak detection);
# the size-class table has one name or the other.
NEEDED = {"runtime.firstmoduledata", "runtime.buildVersion", "runtime.mheap_", "runtime.allgs", "runtime.allm",
          "runtime.allp", "runtime.memstats", "runtime.gcController", "runtime.waitReasonStrings",
          "runtime.gStatusStrings", "runtime.allfin", "runtime.semtable",
          "runtime.mbuckets", "runtime.MemProfileRate", "runtime.mProfCycle"}
SIZE_CLASSES = {"runtime.class_to_size", "internal/runtime/gc.SizeClassToSize"}


def symtab(exe, names):
    out = subprocess.run(["readelf", "-sW", exe], capture_output=True, text=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 8 and f[7] in names:
            found[f[7]] = int(f[1], 16)
    return found


def located(c, gm, where, exe):
    res = gmtest.run([gm, "dwarf", "--locate", exe])
    c.no_sanitizer_report(res)
    if not c.check(res.status in (0, 10), f"{where}: --locate exited {res.status}: {res.stderr.strip()}"):
        return None
    return dict(line.split("\t") for line in res.stdout.splitlines())


def check_exe(c, gm, where, exe, tmp):
    found = located(c, gm, where, exe)
    if found is None:
        return
    want = symtab(exe, set(found) | NEEDED | SIZE_CLASSES)
    for name, addr in found.items():
        if addr != "-":
            c.check(name in want and addr == f"0x{want[name]:x}",
                    f"{where}: {name} located at {addr}, the symbol table says {hex(want.get(name, 0))}")
    if not where.endswith("-nodwarf"):
        return
    # The same bytes without .symtab: every global the analysis needs is found.
    stripped = gmtest.stripped_copy(exe, os.path.join(tmp, "stripped"))
    if not c.check(stripped is not None, f"{where}: objcopy --strip-all failed"):
        return
    found = located(c, gm, where + " stripped", stripped) or {}
    sizes = [n for n in SIZE_CLASSES if n in want]
    for name in sorted(NEEDED) + sizes:
        c.check(found.get(name) == f"0x{want.get(name, 0):x}",
                f"{where} stripped: {name} located at {found.get(name)}, the symbol table says "
                f"{hex(want.get(name, 0))}")
    os.unlink(stripped)


def check_stripped(c, gm, where, sdir):
    core, exe = os.path.join(sdir, "core"), os.path.join(sdir, "exe")
    truth = gmtest.load_truth(sdir)
    res = gmtest.run([gm, "info", core, "--exe", exe, "--json"])
    c.no_sanitizer_report(res)
    if c.check(res.status == 0, f"{where}: info exited {res.status}: {res.stderr.strip()}"):
        info = res.json()
        c.check(info["debug_info"] == "none", f"{where}: debug info {info['debug_info']!r}")
        c.check(info["runtime_build_version"] == truth["go_version"],
                f"{where}: runtime.buildVersion {info['runtime_build_version']!r}, truth {truth['go_version']!r}")
    with tempfile.TemporaryDirectory() as tmp:
        db = gmtest.analyze(c, gm, where, sdir, os.path.join(tmp, "s.db"))
        if db is not None:
            meta = dict(db.execute("SELECT key, value FROM meta"))
            c.check(meta.get("debug_info") == "none", f"{where}: meta debug_info {meta.get('debug_info')!r}")
            db.close()


def main():
    gm = gmtest.gomortem()
    root = gmtest.corpus_dir()
    c = gmtest.Checker("test_locate")
    seen = stripped = 0
    for version, name, sdir in gmtest.scenarios(root, stripped=True):
        where = f"{version}/{name}"
        if name.endswith("-stripped"):
            stripped += 1
            check_stripped(c, gm, where, sdir)
        elif not name.endswith("-live"):
            seen += 1
            with tempfile.TemporaryDirectory() as tmp:
                check_exe(c, gm, where, os.path.join(sdir, "exe"), tmp)
    if not seen:
        gmtest.skip(f"no cores under {root}")
    c.check(stripped > 0, "the corpus has no -stripped core")
    c.finish()


if __name__ == "__main__":
    main()
