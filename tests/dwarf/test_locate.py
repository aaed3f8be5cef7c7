"""Runtime globals located without a symbol table (for -ldflags='-s -w'
builds), against the symbol table: `gomortem dwarf --locate` finds them from
the executable's bytes alone, and every corpus executable that has a symbol
table (DWARF, PIE and -w builds of every version) must give the addresses
binutils' readelf reads from it.  On the stripped cores, `info` says so and
reads runtime.buildVersion through the locator (checked against the truth
file); `analyze` refuses them with the documented message."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import gmtest  # noqa: E402

EXIT_NO_DWARF = 6


def symtab(exe, names):
    out = subprocess.run(["readelf", "-sW", exe], capture_output=True, text=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 8 and f[7] in names:
            found[f[7]] = int(f[1], 16)
    return found


def check_exe(c, gm, where, exe):
    res = gmtest.run([gm, "dwarf", "--locate", exe])
    c.no_sanitizer_report(res)
    if not c.check(res.status == 0, f"{where}: --locate exited {res.status}: {res.stderr.strip()}"):
        return
    located = dict(line.split("\t") for line in res.stdout.splitlines())
    want = symtab(exe, set(located))
    for name, addr in located.items():
        c.check(name in want and addr == f"0x{want[name]:x}",
                f"{where}: {name} located at {addr}, the symbol table says {hex(want.get(name, 0))}")


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
        db = os.path.join(tmp, "s.db")
        res = gmtest.run([gm, "analyze", core, "--exe", exe, "-o", db, "--quiet"])
        c.no_sanitizer_report(res)
        c.check(res.status == EXIT_NO_DWARF and "stripped" in res.stderr and "cannot be located yet" in res.stderr,
                f"{where}: analyze of a stripped build: exit {res.status}: {res.stderr.strip()}")
        c.check(not os.listdir(tmp), f"{where}: analyze of a stripped build left {os.listdir(tmp)}")


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
            check_exe(c, gm, where, os.path.join(sdir, "exe"))
    if not seen:
        gmtest.skip(f"no cores under {root}")
    c.check(stripped > 0, "the corpus has no -stripped core")
    c.finish()


if __name__ == "__main__":
    main()
