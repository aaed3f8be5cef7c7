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
  records;
- `analyze --heap-only` stores the same spans, objects and memstats, types
  exactly the objects whose header or large span names a type (with the
  full analysis's name, which may count a map's groups exactly), leaves the
  graph's columns NULL; path and pprof refuse its database with exit 2, and
  report shows what the walk knows (its memory breakdown still adds up) and
  says what was not computed.
Every database passes SQLite's integrity_check (gmtest.analyze)."""
import os
import sqlite3
import re
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


# The runtime's persistent allocator's chunk, per version folder.
CHUNK_SIZES = {}


def persistent_chunk_size(gm, sdir):
    """runtime.persistentChunkSize (malloc.go) from the DWARF of the
    scenario's executable, or of the zoo build of the same version folder
    when the scenario's has none."""
    folder = os.path.dirname(os.path.abspath(sdir))
    if folder not in CHUNK_SIZES:
        for exe in (os.path.join(sdir, "exe"), os.path.join(folder, "zoo", "exe")):
            res = gmtest.run([gm, "dwarf", exe, "runtime.persistentChunkSize"])
            m = re.search(r"persistentChunkSize = (\d+)", res.stdout)
            if res.status == 0 and m:
                CHUNK_SIZES[folder] = int(m.group(1))
                break
        else:
            CHUNK_SIZES[folder] = None
    return CHUNK_SIZES[folder]


def check_memstats(c, gm, where, sdir, stats, truth_ms):
    """Every field equals the truth, read just before the heap dump.  The dump
    itself may take one new chunk from the runtime's persistent allocator
    (Go 1.24+ builds a large type's GC mask on demand: type.go, persistentalloc
    with memstats.other_sys; a new chunk counts whole in OtherSys and Sys), so
    with a dump those two may exceed the truth by one persistentChunkSize, both
    by the same amount (3 of ~32 allocs cores in one run did)."""
    grown = {}
    if gmtest.has_heapdump(sdir):
        chunk = persistent_chunk_size(gm, sdir)
        for field in ("OtherSys", "Sys"):
            if chunk and stats.get(field) == truth_ms[field] + chunk:
                grown[field] = chunk
        if len(grown) == 1:
            grown = {}  # one without the other is no new chunk
    grown.update(stack_moved(where, stats, truth_ms))
    for field in MEMSTATS:
        c.check(stats.get(field) == truth_ms[field] + grown.get(field, 0),
                f"{where}: memstats {field} = {stats.get(field)}, truth {truth_ms[field]}")


def stack_moved(where, stats, truth_ms):
    """A goroutine's stack can move after the truth was read: the GC the
    program ran asks a goroutine it cannot stop at a safe point to shrink its
    stack later (runtime/stack.go, shrinkstack: gp.preemptShrink), and the
    copy happens at that goroutine's next stack check, before the crash.  The
    smaller stack comes from the heap's free pages (released ones lower
    HeapReleased), the old one goes back to them.  Seen once in a CI run
    (go1.27.3-arm64/allocs: StackInuse 491520 -> 425984).  Only that exact
    shape is allowed: the moved bytes leave StackInuse and StackSys and join
    HeapSys and HeapIdle, HeapInuse and every other field unchanged.  The
    allowance per field, or {} when the difference is not that."""
    def delta(field):
        value = stats.get(field)
        return None if value is None else value - truth_ms[field]
    moved = -(delta("StackInuse") or 0)
    if moved <= 0 or delta("StackSys") != -moved or delta("HeapSys") != moved or \
            delta("HeapIdle") != moved or delta("HeapInuse") != 0:
        return {}
    released = delta("HeapReleased")
    if released is None or not -moved <= released <= 0:
        return {}
    print(f"note: {where}: {moved} bytes of stack moved to the heap after the truth was read "
          f"(a deferred stack shrink)")
    return {"StackInuse": -moved, "StackSys": -moved, "HeapSys": moved, "HeapIdle": moved,
            "HeapReleased": released}


def check_scenario(c, gm, where, sdir, tmp):
    db_path = os.path.join(tmp, "heap.db")
    db = gmtest.analyze(c, gm, where, sdir, db_path)
    if db is None:
        return
    truth = gmtest.load_truth(sdir)
    ms = truth["memstats"]
    # The experiments the corpus generator built with (build.txt) are in meta.
    m = re.search(r"GOEXPERIMENT=(\S+)", gmtest.build_facts(sdir).get("build", ""))
    (exps,) = db.execute("SELECT value FROM meta WHERE key = 'go_experiments'").fetchone()
    c.check(exps == (m.group(1) if m else ""), f"{where}: meta.go_experiments {exps!r}, build.txt {m and m.group(1)}")
    if gmtest.has_heapdump(sdir):  # bigptr crashes without one: MemStats only
        got = set(db.execute("SELECT addr, size FROM objects"))
        dump = heapdump.parse(os.path.join(sdir, "heapdump"))
        want = {(o[0], o[1]) for o in heapdump.drop_phantoms(dump)}
        missing, extra = want - got, got - want
        c.check(not missing, f"{where}: {len(missing)} dump objects missing, e.g. "
                + ", ".join(f"0x{a:x}/{s}" for a, s in sorted(missing)[:5]))
        c.check(not extra, f"{where}: {len(extra)} objects not in the dump, e.g. "
                + ", ".join(f"0x{a:x}/{s}" for a, s in sorted(extra)[:5]))
        ms = dump.memstats
    count, total = db.execute("SELECT COUNT(*), SUM(size) FROM objects").fetchone()
    c.check(count == ms["HeapObjects"], f"{where}: {count} objects, HeapObjects {ms['HeapObjects']}")
    c.check(total == ms["HeapAlloc"], f"{where}: {total} bytes, HeapAlloc {ms['HeapAlloc']}")
    (allocated,) = db.execute("SELECT SUM(alloc_count) FROM spans WHERE state = 'in_use'").fetchone()
    c.check(allocated == count, f"{where}: spans.alloc_count sums to {allocated}, objects {count}")
    (misplaced,) = db.execute(
        "SELECT COUNT(*) FROM objects o JOIN spans s ON s.id = o.span_id "
        "WHERE o.id NOT BETWEEN s.first_object AND s.first_object + s.alloc_count - 1 "
        "OR o.addr < s.base OR o.addr >= s.end").fetchone()
    c.check(misplaced == 0, f"{where}: {misplaced} objects outside their span's id range or bounds")
    (warnings,) = db.execute("SELECT value FROM meta WHERE key = 'warnings'").fetchone()
    if gmtest.folder_arch(where.split("/")[0]) != "amd64":
        # Rarely, the crashing goroutine's thread caught in libc by qemu's
        # crash path (test_goroutines.native_unknown checks those goroutines).
        (stuck,) = db.execute("SELECT COUNT(*) FROM warnings WHERE stage = 'stacks' AND message LIKE "
                              "'goroutine %: frames unknown: its thread % is on the signal stack%'").fetchone()
        c.check(stuck <= (1 if where.endswith("/cgo") else 0), f"{where}: {stuck} goroutines stuck in native code")
        warnings -= stuck
    c.check(warnings == 0, f"{where}: {warnings} warnings: "
            + "; ".join(m for (m,) in db.execute("SELECT message FROM warnings LIMIT 3")))
    stats = dict(db.execute("SELECT name, value FROM memstats"))
    check_memstats(c, gm, where, sdir, stats, truth["memstats"])
    meta = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('pointer_bitmaps', 'debug_info')"))
    # Go 1.20/1.21 record no object's type; without DWARF nothing else types them.
    if meta.get("pointer_bitmaps") != "arena" or meta.get("debug_info", "dwarf") == "dwarf":
        check_labelled_types(c, db, truth, where)
    check_heap_only(c, gm, where, sdir, tmp, db)
    db.close()


def dwarf_bucket_name(name):
    """Go 1.22 calls a map bucket type map.bucket[K]V, its DWARF bucket<K,V>;
    DWARF describes only the latter, so the full analysis, typing through
    hmap.buckets, gives that spelling."""
    m = re.match(r"^(\[\d+\])?map\.bucket\[(.+?)\](.+)$", name)
    return f"{m.group(1) or ''}bucket<{m.group(2)},{m.group(3)}>" if m else name


def same_header_type(heap_only, full):
    """The full analysis keeps the header's type, under DWARF's spelling of a
    1.22 bucket, and may know an array's exact count (a Swiss map's groups:
    lengthMask + 1) where the header alone gives what fills the slot."""
    if full in (heap_only, dwarf_bucket_name(heap_only)):
        return True
    a, b = re.match(r"^\[(\d+)\](.+)$", heap_only), re.match(r"^\[(\d+)\](.+)$", full or "")
    return bool(a and b and a.group(2) == b.group(2) and int(b.group(1)) <= int(a.group(1)))


def check_heap_only(c, gm, where, sdir, tmp, full):
    where = f"{where} --heap-only"
    db_path = os.path.join(tmp, "heap-only.db")
    db = gmtest.analyze(c, gm, where, sdir, db_path, ["--heap-only"])
    if db is None:
        return
    (analysis,) = db.execute("SELECT value FROM meta WHERE key = 'analysis'").fetchone()
    c.check(analysis == "heap", f"{where}: meta.analysis = {analysis!r}")
    objects = "SELECT id, addr, size, span_id FROM objects ORDER BY id"
    c.check(list(db.execute(objects)) == list(full.execute(objects)),
            f"{where}: objects differ from the full analysis's")
    spans = ("SELECT id, base, \"limit\", npages, size_class, elem_size, nelems, alloc_count, state, "
             "noscan, first_object, header_size FROM spans ORDER BY id")
    c.check(list(db.execute(spans)) == list(full.execute(spans)), f"{where}: spans differ")
    memstats = "SELECT name, value FROM memstats ORDER BY name"
    c.check(list(db.execute(memstats)) == list(full.execute(memstats)), f"{where}: memstats differ")
    (graph_values,) = db.execute(
        "SELECT COUNT(*) FROM objects WHERE reachable IS NOT NULL OR retained IS NOT NULL OR idom IS NOT NULL "
        "OR idom_root IS NOT NULL OR path_parent IS NOT NULL OR path_off IS NOT NULL OR path_root IS NOT NULL"
    ).fetchone()
    c.check(graph_values == 0, f"{where}: {graph_values} objects with graph columns set")
    (live_counts,) = db.execute("SELECT COUNT(live_count) FROM spans").fetchone()
    c.check(live_counts == 0, f"{where}: {live_counts} spans with a live_count")
    # Typed here: exactly the objects with a header or large-span type,
    # under the name the full analysis gives them.  Go 1.20/1.21 keep pointer
    # bitmaps in the heap arenas and record no object's type at all.
    names = dict(db.execute("SELECT o.id, t.name FROM objects o JOIN types t ON t.id = o.type_id"))
    full_names = dict(full.execute("SELECT o.id, t.name FROM objects o JOIN types t ON t.id = o.type_id"))
    (headers,) = db.execute(
        "SELECT COUNT(*) FROM objects o JOIN spans s ON s.id = o.span_id "
        "WHERE s.header_size > 0 OR s.size_class = 0").fetchone()
    (bitmaps,) = db.execute("SELECT value FROM meta WHERE key = 'pointer_bitmaps'").fetchone()
    if bitmaps == "arena":
        c.check(not names, f"{where}: {len(names)} typed objects where the heap records no type")
    else:
        c.check(0 < len(names) <= headers, f"{where}: {len(names)} typed objects, {headers} with a header")
    wrong = [(i, n, full_names.get(i)) for i, n in names.items() if not same_header_type(n, full_names.get(i))]
    c.check(not wrong, f"{where}: {len(wrong)} header types differ from the full analysis's, e.g. {wrong[:3]}")
    db.close()
    for args in (["path", db_path, "0x1"], ["pprof", db_path, "-o", os.path.join(tmp, "p")]):
        res = gmtest.run([gm] + args)
        c.check(res.status == 2 and "--heap-only" in res.stderr,
                f"{where}: {args[0]} on a heap-only database: exit {res.status}, {res.stderr.strip()!r}")
    # The report shows what the heap walk knows and says what it does not.
    res = gmtest.run([gm, "report", db_path])
    c.no_sanitizer_report(res)
    # Not computed: leak suspects, leaked goroutines, top retainers, goroutines.
    c.check(res.status == 0 and res.stdout.count("Not computed: this database was made by analyze --heap-only") == 4
            and "not computed (analyze --heap-only)" in res.stdout and "live objects" not in res.stdout,
            f"{where}: report on a heap-only database: exit {res.status}, {res.stderr.strip()!r}")
    db = sqlite3.connect(db_path)
    (rows,) = db.execute("SELECT SUM(bytes) FROM memory_breakdown").fetchone()
    (mapped,) = db.execute("SELECT SUM(end - start) FROM mappings").fetchone()
    (unmarked,) = db.execute("SELECT bytes FROM memory_breakdown WHERE category LIKE "
                             "'Go heap: objects, live or garbage not known%'").fetchone()
    (heap_bytes,) = db.execute("SELECT SUM(size) FROM objects").fetchone()
    db.close()
    c.check(rows == mapped and unmarked == heap_bytes,
            f"{where}: heap-only memory_breakdown sums to {rows} (mapped {mapped}), objects row {unmarked}")


def check_labelled_types(c, db, truth, where):
    """Objects big enough for a malloc header (or large) carry their type."""
    for obj in truth.get("objects") or []:  # allocs labels none
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
