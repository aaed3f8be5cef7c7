"""Pointer words of every heap object (gomortem objects --pointers) against
the field lists of the runtime's own heap dump, which the runtime made with
the same typePointers iterator over heap bits, malloc headers and largeType."""
import os
import sys

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "oracle"))
import gmtest  # noqa: E402
import heapdump  # noqa: E402


def gomortem_pointers(c, gm, where, sdir):
    res = gmtest.run([gm, "objects", os.path.join(sdir, "core"), "--exe", os.path.join(sdir, "exe"),
                      "--pointers"])
    c.no_sanitizer_report(res)
    if not c.check(res.status == 0, f"{where}: objects exited {res.status}: {res.stderr.strip()}"):
        return None
    out = {}
    for line in res.stdout.splitlines():
        addr, _rest = line.split(" ", 1)
        ptrs = line.rsplit(" ", 1)[1]  # type names may hold spaces
        out[int(addr, 16)] = ptrs if ptrs in ("?",) else tuple(
            () if ptrs == "-" else (int(p) for p in ptrs.split(",")))
    return out


def main():
    gm = gmtest.gomortem()
    root = gmtest.corpus_dir()
    c = gmtest.Checker("test_pointers")
    seen = 0
    for version, name, sdir in gmtest.scenarios(root):
        if not gmtest.has_heapdump(sdir):
            continue  # bigptr, without a dump, has its own test (test_bigptr.py)
        seen += 1
        where = f"{version}/{name}"
        got = gomortem_pointers(c, gm, where, sdir)
        if got is None:
            continue
        dump = heapdump.parse(os.path.join(sdir, "heapdump"))
        wrong = []
        unknown = 0
        for addr, _size, ptrs in heapdump.drop_phantoms(dump):
            mine = got.get(addr)
            if mine == "?":
                unknown += 1
            elif mine != tuple(sorted(ptrs)):
                wrong.append((addr, mine, tuple(sorted(ptrs))))
        c.check(unknown == 0, f"{where}: {unknown} objects with unknown pointers")
        c.check(not wrong, f"{where}: {len(wrong)} objects with other pointer words than the dump, e.g. "
                + "; ".join(f"0x{a:x}: {m} vs {d}" for a, m, d in wrong[:3]))
    if not seen:
        gmtest.skip(f"no cores under {root}")
    c.finish()


if __name__ == "__main__":
    main()
