"""Objects whose GC mask the runtime builds only on demand
(abi.TFlagGCMaskOnDemand, Go 1.24+), allocated after the last GC by the
bigptr scenario, which crashes without a heap dump: the masks' slots are
still 0 in the core.  Every pointer word of every such object must be
found, holding the leaf the program put there (truth.json params.bigptr),
every leaf must be reachable and typed main.Leaf, and the objects must
carry their %T type; on versions without on-demand masks the same checks
hold through the classic bitmaps and GC programs."""
import os
import sys

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import gmtest  # noqa: E402


def check_object(c, db, where, want):
    addr = int(want["addr"], 16)
    row = db.execute("SELECT o.id, o.addr, t.name FROM objects o LEFT JOIN types t ON t.id = o.type_id "
                     "WHERE o.addr <= ? AND ? < o.addr + o.size", (addr, addr)).fetchone()
    if not c.check(row is not None, f"{where}: no object at {want['addr']}"):
        return
    oid, base, tname = row
    c.check(tname == want["type"], f"{where}: {want['addr']} typed {tname!r}, want {want['type']}")
    first = addr - base + want["first"]
    expected = {first + 8 * k: int(p, 16) for k, p in enumerate(want["pointers"])}
    got = dict(db.execute("SELECT e.src_off, d.addr + e.dst_off FROM edges e JOIN objects d ON d.id = e.dst "
                          "WHERE e.src = ?", (oid,)))
    missing = [off for off, target in expected.items() if got.get(off) != target]
    extra = [off for off in got if off not in expected]
    c.check(not missing, f"{where}: {want['type']} at {want['addr']}: {len(missing)} of {len(expected)} "
            f"pointer words missing or wrong (first at offset {missing[:1]})")
    c.check(not extra, f"{where}: {want['type']} at {want['addr']}: edges at offsets {extra[:3]} "
            "the program never stored")


def check_scenario(c, gm, where, sdir, tmp):
    truth = gmtest.load_truth(sdir)
    db_path = os.path.join(tmp, "t.db")
    db = gmtest.analyze(c, gm, where, sdir, db_path)
    if db is None:
        return
    wanted = truth["params"]["bigptr"]
    for want in wanted:
        check_object(c, db, where, want)
    leaves = {int(p, 16) for want in wanted for p in want["pointers"]}
    c.check(len(leaves) == truth["params"]["leaves"], f"{where}: truth lists {len(leaves)} distinct leaves")
    rows = db.execute("SELECT o.addr, o.reachable, t.name FROM objects o LEFT JOIN types t ON t.id = o.type_id "
                      "JOIN types l ON l.name = 'main.Leaf' AND o.size >= l.size "
                      "WHERE o.size <= 16").fetchall()
    found = {addr: (reachable, name) for addr, reachable, name in rows if addr in leaves}
    unreachable = sum(1 for a in leaves if found.get(a, (0, None))[0] != 1)
    untyped = sum(1 for a in leaves if found.get(a, (0, None))[1] != "main.Leaf")
    c.check(unreachable == 0, f"{where}: {unreachable} of {len(leaves)} leaves not reachable")
    c.check(untyped == 0, f"{where}: {untyped} of {len(leaves)} leaves not typed main.Leaf")
    (warnings,) = db.execute("SELECT COUNT(*) FROM warnings WHERE message LIKE '%unreadable pointer%'").fetchone()
    c.check(warnings == 0, f"{where}: objects with unreadable pointer words")
    print(f"{where}: {len(wanted)} objects, {len(leaves)} leaves checked")
    db.close()
    os.unlink(db_path)


if __name__ == "__main__":
    gmtest.each_scenario(check_scenario, want=lambda version, name: name == "bigptr")
