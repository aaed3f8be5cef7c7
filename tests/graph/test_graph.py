"""The object graph against the runtime's heap dump and against brute force:
- edges: every pointer word the dump lists whose value points into a dump
  object is an edge (src addr, src_off, dst addr), and nothing else is,
  except in the runtime's own objects that the crash path itself mutates
  after the dump (the scheduler's runtime.p and runtime.m: run queues,
  timers, the signal-handling state of the crashing thread);
- reachability: the reachable set equals a walk over the dump's own objects
  from the dump's own roots (data, bss, frames, finalizers), plus the roots
  the dump format cannot express (cleanups, weak handles) taken from the
  database;
- retained sizes and dominators: for a sample of objects and the roots,
  removing the object (or root) and walking again loses exactly its
  retained bytes;
- retained_by_type: equal to a brute force over the dominator chains (each
  object once per type, at the topmost dominator of its type), and no row
  above the reachable bytes on any core (the leaks scenario's B-tree
  alternates node -> [8]*node -> node)."""
import bisect
import os
import random
import struct
import sys

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "oracle"))
import gmtest  # noqa: E402
import heapdump  # noqa: E402

SAMPLE = 150


class DumpHeap:
    def __init__(self, dump):
        self.objects = heapdump.drop_phantoms(dump)
        self.addrs = [o[0] for o in self.objects]
        self.size = {o[0]: o[1] for o in self.objects}
        self.contents = {o[0]: (o[2], c) for o, c in zip(dump.objects, dump.object_contents)}

    def find(self, value):
        i = bisect.bisect_right(self.addrs, value) - 1
        if i >= 0 and value < self.addrs[i] + self.objects[i][1]:
            return self.addrs[i]
        return None

    def words(self, addr):
        offsets, contents = self.contents[addr]
        for off in offsets:
            yield off, struct.unpack_from("<Q", contents, off)[0]

    def edges(self):
        out = set()
        for addr in self.addrs:
            for off, value in self.words(addr):
                dst = self.find(value)
                if dst is not None:
                    out.add((addr, off, dst))
        return out


def dump_roots(dump, heap):
    values = []
    for rec in (dump.data, dump.bss):
        if rec:
            values += [struct.unpack_from("<Q", rec["contents"], off)[0] for off in rec["ptr_offsets"]]
    for g in dump.goroutines:
        for f in g["frames"]:
            values += [struct.unpack_from("<Q", f["contents"], off)[0] for off in f["ptr_offsets"]]
    for fin in dump.finalizers:
        values.append(fin["fn"])
        obj = heap.find(fin["obj"])
        if obj is not None:
            values += [v for _off, v in heap.words(obj)]
    for q in dump.queued_finalizers:
        values += [q["obj"], q["fn"]]
    return values


def dump_reachable(dump, heap, extra_roots=()):
    seen, stack = set(), []
    for value in list(dump_roots(dump, heap)) + list(extra_roots):
        obj = heap.find(value)
        if obj is not None and obj not in seen:
            seen.add(obj)
            stack.append(obj)
    while stack:
        for _off, value in heap.words(stack.pop()):
            dst = heap.find(value)
            if dst is not None and dst not in seen:
                seen.add(dst)
                stack.append(dst)
    return seen


def walk_bytes(succ, starts, size, skip):
    """Bytes reachable from STARTS over SUCC without passing through SKIP."""
    seen, stack = set(), [s for s in starts if s != skip]
    seen.update(stack)
    while stack:
        for dst in succ.get(stack.pop(), ()):
            if dst != skip and dst not in seen:
                seen.add(dst)
                stack.append(dst)
    return sum(size[o] for o in seen)


def check_retained(c, where, db):
    """Brute force from the database alone: graph of root nodes and objects."""
    size = dict(db.execute("SELECT id, size FROM objects"))
    succ = {}
    for src, dst in db.execute("SELECT src, dst FROM edges"):
        succ.setdefault(src, []).append(dst)
    root_targets = {}
    for rid, kind, dst in db.execute("SELECT id, kind, dst FROM roots WHERE dst IS NOT NULL"):
        # A finalized object is scanned, not marked: the root points at its targets.
        root_targets[rid] = list(succ.get(dst, ())) if kind == "finalized_object" else [dst]
    starts = {t for ts in root_targets.values() for t in ts}
    total = walk_bytes(succ, starts, size, None)
    (live_bytes,) = db.execute("SELECT SUM(size) FROM objects WHERE reachable = 1").fetchone()
    c.check(total == live_bytes, f"{where}: brute-force live bytes {total}, database {live_bytes}")
    rng = random.Random(42)
    live = [(oid, ret) for oid, ret in db.execute("SELECT id, retained FROM objects WHERE reachable = 1")]
    for oid, retained in rng.sample(live, min(SAMPLE, len(live))):
        lost = total - walk_bytes(succ, starts, size, oid)
        c.check(lost == retained, f"{where}: object {oid}: retained {retained}, brute force {lost}")
    roots = [(rid, ret or 0) for rid, ret in db.execute("SELECT id, retained FROM roots WHERE dst IS NOT NULL")]
    for rid, retained in rng.sample(roots, min(SAMPLE, len(roots))):
        others = {t for r, ts in root_targets.items() if r != rid for t in ts}
        lost = total - walk_bytes(succ, others, size, None)
        c.check(lost == retained, f"{where}: root {rid}: retained {retained}, brute force {lost}")


# The per-type views, as they were defined over objects before type_stats
# (the analyzer's own sums) backed them: the brute-force oracle.
PER_TYPE = {
    "type_histogram": "SELECT t.name, COUNT(*), SUM(o.size), SUM(o.reachable), SUM(o.size * o.reachable) "
                      "FROM objects o LEFT JOIN types t ON t.id = o.type_id GROUP BY o.type_id",
    "garbage_by_type": "SELECT t.name, COUNT(*), SUM(o.size) FROM objects o LEFT JOIN types t ON t.id = o.type_id "
                       "WHERE o.reachable = 0 GROUP BY o.type_id",
}


def retained_by_type_brute(db):
    """retained_by_type by brute force: per type, the retained sizes of the
    objects with no dominator of the same type anywhere up their chain."""
    idom, type_of, retained = {}, {}, {}
    for oid, d, t, r in db.execute("SELECT id, idom, type_id, retained FROM objects WHERE reachable = 1"):
        idom[oid], type_of[oid], retained[oid] = d, t, r
    names = dict(db.execute("SELECT id, name FROM types"))
    sums = {}
    for oid, t in type_of.items():
        d = idom[oid]
        while d is not None and type_of[d] != t:
            d = idom[d]
        if d is None:
            n, b = sums.get(t, (0, 0))
            sums[t] = (n + 1, b + retained[oid])
    return [(names.get(t), n, b) for t, (n, b) in sums.items()]


def check_retained_by_type(c, where, db):
    """Each object counts once per type, at the topmost dominator of its
    type: equal to the brute force, and no row exceeds the reachable heap
    (chains of alternating types, node -> [8]*node -> node, once did)."""
    got = sorted(db.execute("SELECT * FROM retained_by_type"), key=repr)
    want = sorted(retained_by_type_brute(db), key=repr)
    c.check(got == want, f"{where}: retained_by_type differs from the brute force: "
            f"{[r for r in got if r not in want][:3]} vs {[r for r in want if r not in got][:3]}")
    (live,) = db.execute("SELECT value FROM meta WHERE key = 'reachable_bytes'").fetchone()
    over = [r for r in got if r[2] > int(live)]
    c.check(not over, f"{where}: retained_by_type rows exceed the {live} reachable bytes: {over[:3]}")


def check_views(c, where, db):
    """The views add up to the tables they summarize; the per-type views
    equal a GROUP BY over every object."""
    for view, brute in PER_TYPE.items():
        got, want = sorted(db.execute(f"SELECT * FROM {view}"), key=repr), sorted(db.execute(brute), key=repr)
        c.check(got == want, f"{where}: {view} differs from a GROUP BY over objects: "
                f"{[r for r in got if r not in want][:3]} vs {[r for r in want if r not in got][:3]}")
    total, live = db.execute("SELECT SUM(size), SUM(size * reachable) FROM objects").fetchone()
    hist = db.execute("SELECT SUM(bytes), SUM(reachable_bytes) FROM type_histogram").fetchone()
    c.check(hist == (total, live), f"{where}: type_histogram sums to {hist}, objects to {(total, live)}")
    (garbage,) = db.execute("SELECT SUM(bytes) FROM garbage_by_type").fetchone()
    c.check((garbage or 0) == total - live, f"{where}: garbage_by_type {garbage}, want {total - live}")
    top = db.execute("SELECT retained FROM top_retainers LIMIT 1").fetchone()
    (most,) = db.execute("SELECT MAX(retained) FROM objects").fetchone()
    c.check(top and top[0] == most, f"{where}: top_retainers starts at {top}, max retained {most}")
    usage = db.execute("SELECT SUM(live) FROM size_class_usage").fetchone()[0]
    (nlive,) = db.execute("SELECT COUNT(*) FROM objects WHERE reachable = 1").fetchone()
    c.check(usage == nlive, f"{where}: size_class_usage live {usage}, reachable objects {nlive}")


def check_scenario(c, gm, where, sdir, tmp, brute_force):
    db_path = os.path.join(tmp, "g.db")
    db = gmtest.analyze(c, gm, where, sdir, db_path)
    if db is None:
        return
    dump = heapdump.parse(os.path.join(sdir, "heapdump"), keep_contents=True)
    heap = DumpHeap(dump)
    want = heap.edges()
    got = set(db.execute("SELECT s.addr, e.src_off, d.addr FROM edges e JOIN objects s ON s.id = e.src "
                         "JOIN objects d ON d.id = e.dst"))
    mutated = {a for (a,) in db.execute("SELECT o.addr FROM objects o JOIN types t ON t.id = o.type_id "
                                        "WHERE t.name IN ('runtime.p', 'runtime.m', 'runtime.mPadded')")}
    differ = {e for e in want ^ got if e[0] not in mutated}
    c.check(not differ, f"{where}: edges: {len(want - got)} of the dump's missing, {len(got - want)} extra, "
            f"{len(differ)} outside runtime.p and runtime.m, e.g. {sorted(differ)[:3]}")
    ours = {a for (a,) in db.execute("SELECT addr FROM objects WHERE reachable = 1")}
    unseen_roots = [v for (v,) in db.execute("SELECT value FROM roots WHERE kind IN ('cleanup', 'weak_handle')")]
    theirs = dump_reachable(dump, heap, unseen_roots)
    c.check(ours == theirs, f"{where}: reachable: {len(theirs - ours)} of the dump walk's missing, "
            f"{len(ours - theirs)} extra")
    if brute_force:
        check_retained(c, where, db)
    check_views(c, where, db)
    check_retained_by_type(c, where, db)
    db.close()
    os.unlink(db_path)


def main():
    # Live cores are left out: their goroutines ran on after the dump.
    gmtest.each_scenario(
        lambda c, gm, where, sdir, tmp: check_scenario(c, gm, where, sdir, tmp,
                                                        brute_force=where.split("/")[1] in ("zoo", "goroutines", "zoo-nodwarf")),
        want=lambda version, name: not name.endswith("-live"), need_heapdump=True)

if __name__ == "__main__":
    main()
