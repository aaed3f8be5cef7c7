"""The DWARF index against gdb: struct layouts, global addresses and
constants of the runtime, for every Go version in the corpus.  gdb reads
the same DWARF with its own parser, so it is an independent oracle."""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import gmtest  # noqa: E402

TYPES = ["runtime.mspan", "runtime.mheap", "runtime.heapArena", "runtime.g", "runtime.m",
         "runtime.mcache", "runtime.moduledata", "runtime.special"]
GLOBALS = ["runtime.mheap_", "runtime.allgs", "runtime.buildVersion", "runtime.firstmoduledata"]
CONSTS = ["runtime.mSpanInUse", "runtime._PageSize", "runtime.heapArenaBytes", "runtime.pagesPerArena",
          "runtime.mSpanManual", "runtime._Gwaiting"]

GDB_SCRIPT = r"""
python
import gdb
for name in TYPES:
    t = gdb.lookup_type(name)
    print("type", name, t.sizeof)
    for f in t.fields():
        # gdb sizes a Go func type as 1 byte; a func value is a pointer.  Offsets only.
        size = "func" if f.type.strip_typedefs().code == gdb.TYPE_CODE_FUNC else f.type.sizeof
        print("field", name, f.name, f.bitpos // 8, size)
for name in GLOBALS:
    s = gdb.lookup_global_symbol(name) or gdb.lookup_static_symbol(name)
    print("global", name, int(s.value().address))
for name in CONSTS:
    try:
        print("const", name, int(gdb.parse_and_eval("'%s'" % name)))
    except gdb.error:
        print("const", name, "missing")
end
"""


def gdb_facts(exe):
    script = GDB_SCRIPT.replace("TYPES", repr(TYPES)).replace("GLOBALS", repr(GLOBALS)) \
                       .replace("CONSTS", repr(CONSTS))
    with tempfile.NamedTemporaryFile("w", suffix=".gdb") as f:
        f.write(script)
        f.flush()
        out = subprocess.run(["gdb", "-batch", "-nx", "-iex", "set auto-load no", "-x", f.name, exe],
                             capture_output=True, text=True, timeout=300).stdout
    facts = set()
    for line in out.splitlines():
        words = line.split()
        if words and words[0] in ("type", "field", "global", "const") and "missing" not in words:
            facts.add(tuple(words))
    return facts


def gomortem_facts(gm, exe):
    res = gmtest.run([gm, "dwarf", exe] + TYPES + GLOBALS + CONSTS)
    facts = set()
    current = None
    for line in res.stdout.splitlines():
        words = line.split()
        if line.startswith("type "):
            current = words[1]
            facts.add(("type", current, words[3]))
        elif line.startswith("global "):
            facts.add(("global", words[1], str(int(words[3], 16))))
        elif line.startswith("const "):
            facts.add(("const", words[1], words[3]))
        elif line.startswith("  ") and current:
            facts.add(("field", current, words[2], words[0], words[1]))
    return res, facts


def main():
    gm = gmtest.gomortem()
    root = gmtest.corpus_dir()
    if not shutil.which("gdb"):
        gmtest.skip("gdb is not installed (the oracle of this test)")
    c = gmtest.Checker("test_dwarf_layout")
    seen = 0
    for version, name, sdir in gmtest.scenarios(root, lambda d: d.endswith("/zoo")):
        seen += 1
        exe = os.path.join(sdir, "exe")
        want = gdb_facts(exe)
        res, got = gomortem_facts(gm, exe)
        c.no_sanitizer_report(res)
        c.check(res.status == 0, f"{version}: gomortem dwarf exited {res.status}: {res.stderr.strip()}")
        c.check(len(want) > 100, f"{version}: gdb gave only {len(want)} facts")
        # Where gdb could not size a func-typed member, compare its offset only.
        got = {f[:4] + ("func",) if f[0] == "field" and f[:4] + ("func",) in want else f
               for f in got}
        for fact in sorted(want - got):
            c.check(False, f"{version}: gdb has {fact}, gomortem does not")
        for fact in sorted(got - want):
            c.check(False, f"{version}: gomortem has {fact}, gdb does not")
        c.check(True, f"{version}: {len(want)} facts compared")
    if not seen:
        gmtest.skip("no zoo scenario in the corpus")
    c.finish()


if __name__ == "__main__":
    main()
