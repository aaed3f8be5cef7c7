"""gomortem analyze against the runtime's own heap dump, on every corpus core.

For each scenario and Go version, kernel and gcore cores, PIE and not:
- the set of (addr, size) in `objects` equals the heap dump's objects exactly
  (its phantom slots over the reserved tails of small spans dropped by the
  oracle's own rule, which never sees gomortem's spans);
- the object count and byte total equal the dump's MemStats HeapObjects and
  HeapAlloc, and `spans.alloc_count` sums to the object count;
- the `memstats` table equals the MemStats the program read about itself
  just before the dump (truth.json);
- labelled objects that carry a malloc header name the type the truth file
  records."""
import os
import sys

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "oracle"))
import gmtest  # noqa: E402
import heapdump  # noqa: E402

# MemStats fields gomortem reads from the core, compared exactly with truth.json.
MEMSTATS = ["HeapAlloc", "Alloc", "TotalAlloc", "Mallocs", "Frees", "HeapObjects", "HeapInuse",
            "HeapIdle", "HeapReleased", "HeapSys", "StackInuse", "StackSys", "MSpanInuse",
            "MSpanSys", "MCacheInuse", "MCacheSys", "BuckHashSys", "GCSys", "OtherSys", "Sys",
            "NumGC", "LastGC", "PauseTotalNs"]


def check_scenario(c, gm, where, sdir, tmp):
    db_path = os.path.join(tmp, "heap.db")
    db = gmtest.analyze(c, gm, where, sdir, db_path)
    if db is None:
        return
    got = set(db.execute("SELECT addr, size FROM objects"))
    dump = heapdump.parse(os.path.join(sdir, "heapdump"))
    want = {(o[0], o[1]) for o in heapdump.drop_phantoms(dump)}
    missing, extra = want - got, got - want
    c.check(not missing, f"{where}: {len(missing)} dump objects missing, e.g. "
            + ", ".join(f"0x{a:x}/{s}" for a, s in sorted(missing)[:5]))
    c.check(not extra, f"{where}: {len(extra)} objects not in the dump, e.g. "
            + ", ".join(f"0x{a:x}/{s}" for a, s in sorted(extra)[:5]))
    count, total = db.execute("SELECT COUNT(*), SUM(size) FROM objects").fetchone()
    ms = dump.memstats
    c.check(count == ms["HeapObjects"], f"{where}: {count} objects, dump HeapObjects {ms['HeapObjects']}")
    c.check(total == ms["HeapAlloc"], f"{where}: {total} bytes, dump HeapAlloc {ms['HeapAlloc']}")
    (allocated,) = db.execute("SELECT SUM(alloc_count) FROM spans WHERE state = 'in_use'").fetchone()
    c.check(allocated == count, f"{where}: spans.alloc_count sums to {allocated}, objects {count}")
    (misplaced,) = db.execute(
        "SELECT COUNT(*) FROM objects o JOIN spans s ON s.id = o.span_id "
        "WHERE o.id NOT BETWEEN s.first_object AND s.first_object + s.alloc_count - 1 "
        "OR o.addr < s.base OR o.addr >= s.end").fetchone()
    c.check(misplaced == 0, f"{where}: {misplaced} objects outside their span's id range or bounds")
    (warnings,) = db.execute("SELECT value FROM meta WHERE key = 'warnings'").fetchone()
    c.check(warnings == 0, f"{where}: {warnings} warnings: "
            + "; ".join(m for (m,) in db.execute("SELECT message FROM warnings LIMIT 3")))
    truth = gmtest.load_truth(sdir)
    stats = dict(db.execute("SELECT name, value FROM memstats"))
    for field in MEMSTATS:
        c.check(stats.get(field) == truth["memstats"][field],
                f"{where}: memstats {field} = {stats.get(field)}, truth {truth['memstats'][field]}")
    check_labelled_types(c, db, truth, where)
    db.close()


def check_labelled_types(c, db, truth, where):
    """Objects big enough for a malloc header (or large) carry their type."""
    for obj in truth["objects"]:
        if obj.get("kind") != "ptr" or obj.get("size", 0) <= 512 - 8:
            continue
        addr = int(obj["addr"], 16)
        row = db.execute("SELECT o.addr, t.name FROM objects o LEFT JOIN types t ON t.id = o.type_id "
                         "WHERE o.addr <= ? ORDER BY o.addr DESC LIMIT 1", (addr,)).fetchone()
        c.check(row is not None and row[1] == obj["type"],
                f"{where}: labelled {obj['label']} ({obj['type']}) typed {row and row[1]!r}")


def main():
    gmtest.each_scenario(check_scenario)

if __name__ == "__main__":
    main()
