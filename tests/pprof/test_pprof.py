"""gomortem pprof on every corpus scenario:
- go tool pprof reads the profile, and its inuse_space and inuse_objects
  totals are the database's live bytes and objects exactly;
- decoded here (gzip and a small protobuf reader): the string table, the
  sample types, the default sample type, every sample's locations and
  functions defined, chains leaf first (a type) to the root end (a root
  frame or "(several roots)"), at most 64 frames, no two samples alike;
- the attribution: the samples whose leaf is a collection (types.collection:
  a map's parts, a slice's arrays of any length) or a type outside any sum
  to its live objects and bytes, one row in pprof's top per map or slice;
  where the exact type differs from its collection, it is the frame right
  above the leaf, and the samples under it sum to that type's live objects; the samples ending at a root frame sum to the bytes
  its roots alone keep alive (roots.retained, from the dominator tree);
- names: each frame is the database's name with <...> spelled [...] (Go's
  instantiation syntax; channel arrows kept) and no system_name, so that go
  tool pprof's demangling heuristics, which strip (...) and <...> from names
  holding <>[] (internal/symbolizer), leave it whole: go tool pprof -top
  shows every frame of the file under its own name, none merged;
- bad inputs: missing database (3), not a gomortem database (11), no -o (2).
Skipped (77) without go."""
import gzip
import os
import shutil
import sqlite3
import sys
from collections import defaultdict

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import gmtest  # noqa: E402
from pprof_proto import decode_profile  # noqa: E402

MAX_DEPTH = 64
SEVERAL_ROOTS = "(several roots)"
ELLIPSIS = "…"
UNKNOWN_TYPE = "unknown type"


# ---- checks ----

def spelled(name):
    """NAME as the profile spells a frame: each '<' that opens a pair (not the
    arrow "<-") and its matching '>' become '[' and ']'."""
    out, opened = list(name), []
    for i, ch in enumerate(name):
        if ch == "<" and name[i + 1:i + 2] != "-":
            opened.append(i)
        elif ch == ">" and opened:
            out[opened.pop()], out[i] = "[", "]"
    return "".join(out)


def db_truth(db):
    """Live (objects, bytes); per collection (the leaf) and per exact type
    whose collection differs (the frame above), spelled as frames; per root."""
    live = db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM objects WHERE reachable = 1").fetchone()
    by_type, by_exact = defaultdict(lambda: [0, 0]), {}
    for name, collection, count, size in db.execute(
            "SELECT t.name, t.collection, COUNT(*), SUM(o.size) FROM objects o LEFT JOIN types t ON t.id = o.type_id "
            "WHERE o.reachable = 1 GROUP BY t.name, t.collection"):
        key = spelled(collection or name) if name is not None else UNKNOWN_TYPE
        by_type[key][0] += count
        by_type[key][1] += size
        if name is not None and collection and collection != name:
            by_exact[(spelled(name), key)] = (count, size)
    by_type = {k: tuple(v) for k, v in by_type.items()}
    by_root = defaultdict(int)
    for kind, name, retained in db.execute("SELECT kind, name, retained FROM roots WHERE retained > 0"):
        by_root[spelled(f"{kind} root {name}")] += retained
    return live, by_type, by_exact, by_root


def go_totals(c, where, path):
    """go tool pprof's own totals: (objects, bytes), from its -top header."""
    totals = []
    for index in ("inuse_objects", "inuse_space"):
        res = gmtest.run(["go", "tool", "pprof", "-top", "-unit=B", f"-sample_index={index}", path])
        total = None
        for line in res.stdout.splitlines():
            if line.startswith("Showing nodes accounting for") and " of " in line:
                total = line.rsplit(" of ", 1)[1].split()[0].removesuffix("B")
        c.check(res.status == 0 and total is not None,
                f"{where}: go tool pprof -top -sample_index={index} exited {res.status}: {res.stderr.strip()}")
        totals.append(int(total) if total and total.isdigit() else None)
    return tuple(totals)


def check_structure(c, where, p):
    s = p["strings"]
    c.check(s and s[0] == "", f"{where}: string table does not start with \"\"")
    names = [(s[t], s[u]) for t, u in p["sample_type"]]
    c.check(names == [("inuse_objects", "count"), ("inuse_space", "bytes")], f"{where}: sample types {names}")
    seen, bad = set(), []
    for locs, vals in p["samples"]:
        frames = [s[p["functions"][f]] for loc in locs for f in p["locations"].get(loc, [None])
                  if f in p["functions"]]
        if len(vals) != 2 or len(frames) != len(locs) or not 2 <= len(frames) <= MAX_DEPTH:
            bad.append(f"sample {locs} {vals}: {len(frames)} frames defined")
            continue
        root = frames[-1]
        if not (root == SEVERAL_ROOTS or " root " in root) or frames[0] in (SEVERAL_ROOTS, ELLIPSIS):
            bad.append(f"chain {frames}")
        if tuple(locs) in seen:
            bad.append(f"repeated chain {frames}")
        seen.add(tuple(locs))
    c.check(not bad, f"{where}: {len(bad)} bad samples, e.g. {bad[:3]}")


def pprof_node_names(c, where, path):
    """The node names go tool pprof -top shows, after its symbolization and
    demangling: one per distinct function name it kept."""
    res = gmtest.run(["go", "tool", "pprof", "-top", "-nodecount=1000000", "-nodefraction=0",
                      "-edgefraction=0", "-unit=B", path])
    c.check(res.status == 0, f"{where}: go tool pprof -top exited {res.status}: {res.stderr.strip()}")
    names, table = [], False
    for line in res.stdout.splitlines():
        if table:
            names.append(line.split(None, 5)[5])
        table = table or line.split()[:2] == ["flat", "flat%"]
    return names


def check_names(c, where, p, path):
    """Every frame of the file is a node of its own in go tool pprof, named as written."""
    s = p["strings"]
    used = {s[p["functions"][f]] for locs, _v in p["samples"] for loc in locs for f in p["locations"][loc]}
    shown = pprof_node_names(c, where, path)
    c.check(len(shown) == len(set(shown)) and set(shown) == used,
            f"{where}: go tool pprof shows {len(shown)} nodes for {len(used)} frames; "
            f"changed or merged: {sorted(used - set(shown))[:4]}")
    c.check(not any(p["function_system_names"].values()), f"{where}: a function has a system_name")
    angled = [n for n in used if "<" in n.replace("<-", "") or ">" in n]
    c.check(not angled, f"{where}: frames spelled with <...>: {angled[:3]}")


def check_attribution(c, where, p, db):
    (count, size), by_type, by_exact, by_root = db_truth(db)
    s = p["strings"]
    objects = sum(v[0] for _l, v in p["samples"])
    space = sum(v[1] for _l, v in p["samples"])
    c.check((objects, space) == (count, size),
            f"{where}: samples sum to {objects} objects, {space} bytes; database live {count}, {size}")
    leaf, end, exact = defaultdict(lambda: [0, 0]), defaultdict(int), defaultdict(lambda: [0, 0])
    for locs, vals in p["samples"]:
        frames = [s[p["functions"][p["locations"][loc][0]]] for loc in locs]
        leaf[frames[0]][0] += vals[0]
        leaf[frames[0]][1] += vals[1]
        end[frames[-1]] += vals[1]
        if len(frames) > 1 and (frames[1], frames[0]) in by_exact:
            exact[(frames[1], frames[0])][0] += vals[0]
            exact[(frames[1], frames[0])][1] += vals[1]
    exact = {k: tuple(v) for k, v in exact.items()}
    c.check(exact == by_exact, f"{where}: exact types above their collection differ from the database for "
            f"{[(k, exact.get(k), by_exact.get(k)) for k in set(exact) | set(by_exact) if exact.get(k) != by_exact.get(k)][:3]}")
    got = {k: tuple(v) for k, v in leaf.items()}
    differ = {k for k in set(got) | set(by_type) if got.get(k) != by_type.get(k)}
    c.check(not differ, f"{where}: per-type leaves differ from the database for "
            f"{[(k, got.get(k), by_type.get(k)) for k in sorted(differ)[:3]]}")
    want_end = dict(by_root)
    several = size - sum(want_end.values())
    if several:
        want_end[SEVERAL_ROOTS] = several
    differ = {k for k in set(end) | set(want_end) if end.get(k) != want_end.get(k)}
    c.check(not differ, f"{where}: bytes per root frame differ from roots.retained for "
            f"{[(k, end.get(k), want_end.get(k)) for k in sorted(differ)[:3]]}")
    return count, size


def check_scenario(c, gm, where, sdir, tmp):
    db_path = os.path.join(tmp, "p.db")
    db = gmtest.analyze(c, gm, where, sdir, db_path)
    if db is None:
        return
    out = os.path.join(tmp, "p.pb.gz")
    res = gmtest.run([gm, "pprof", db_path, "-o", out])
    c.no_sanitizer_report(res)
    if not c.check(res.status == 0 and os.path.isfile(out), f"{where}: pprof exited {res.status}: {res.stderr}"):
        return
    with open(out, "rb") as f:
        p = decode_profile(gzip.decompress(f.read()))
    check_structure(c, where, p)
    s = p["strings"]
    c.check(s[p["default_sample_type"]] == "inuse_space", f"{where}: default sample type not inuse_space")
    count, size = check_attribution(c, where, p, db)
    check_names(c, where, p, out)
    go = go_totals(c, where, out)
    c.check(go == (count, size), f"{where}: go tool pprof totals {go}, database live {count} objects, {size} bytes")
    if where.endswith("/zoo"):
        res = gmtest.run([gm, "pprof", db_path, "-o", out, "--sample", "inuse_objects"])
        with open(out, "rb") as f:
            p = decode_profile(gzip.decompress(f.read()))
        c.check(res.status == 0 and p["strings"][p["default_sample_type"]] == "inuse_objects",
                f"{where}: --sample inuse_objects: exit {res.status}, default sample type not inuse_objects")
        check_bad_inputs(c, gm, tmp, db_path)
    db.close()
    os.unlink(db_path)


def check_bad_inputs(c, gm, tmp, db_path):
    out = os.path.join(tmp, "bad.pb.gz")
    junk = os.path.join(tmp, "junk.db")
    with open(junk, "wb") as f:
        f.write(b"not a database at all\n" * 100)
    other = os.path.join(tmp, "other.db")
    sqlite3.connect(other).execute("CREATE TABLE IF NOT EXISTS t (x)").connection.commit()
    for args, want in ((["pprof", os.path.join(tmp, "missing.db"), "-o", out], 3),
                       (["pprof", tmp, "-o", out], 3),
                       (["pprof", junk, "-o", out], 11),
                       (["pprof", other, "-o", out], 11),
                       (["pprof", db_path], 2),
                       (["pprof", db_path, "-o", out, "--sample", "alloc_space"], 2),
                       (["pprof", db_path, "-o", os.path.join(tmp, "no", "such", "dir.pb.gz")], 3),
                       # a device that fails every write: the error of the compressing thread
                       (["pprof", db_path, "-q", "-o", "/dev/full"], 3)):
        res = gmtest.run([gm] + args)
        c.no_sanitizer_report(res)
        c.check(res.status == want, f"{' '.join(args)}: exit {res.status}, want {want}: {res.stderr.strip()}")
    c.check(not os.path.exists(out), "a failed pprof left its output behind")


def main():
    if not shutil.which("go"):
        gmtest.skip("go is not installed (go tool pprof reads the profiles)")
    gmtest.each_scenario(check_scenario)


if __name__ == "__main__":
    main()
