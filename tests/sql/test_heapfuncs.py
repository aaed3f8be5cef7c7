"""SQL over heap contents: field(), go_value(), go_type() read the values the
scenarios recorded in their truth files (integers, floats, strings, pointers,
array elements) out of the core; go_type() returns every object of a type,
its pointer fields resolved to the objects the runtime's heap dump says they
point into;
duplicate_strings finds the 40 copies of one string zoo keeps, with its length;
the loadable extension answers the same in the sqlite3 shell; and the
database itself holds none of those strings."""
import bisect
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "oracle"))
import gmtest  # noqa: E402
import heapdump  # noqa: E402

SCENARIOS = ("zoo", "growmap-small")

# Pointer fields per scenario type with their offsets in the Go layout (amd64):
# the oracle reads the word there out of the heap dump's copy of the object.
POINTER_FIELDS = {
    "zoo": {"main.Node": {"Next": 8, "Leaf": 16}, "main.TreeNode": {"Left": 8, "Right": 16}},
    "growmap-small": {"main.Record": {"Tags": 32, "Parent": 56}},
}


def sql(gm, db_path, query):
    res = gmtest.run([gm, "sql", db_path, query, "--json"])
    return res, (json.loads(res.stdout) if res.status == 0 and res.stdout.strip() else [])


def expected_fields(fields):
    """(path, value) pairs from a truth object's fields; lists by index."""
    for key, value in fields.items():
        if key in ("string", "value"):
            continue  # the bytes of a string / a tiny value: not a field
        path = f"[{key}]" if key.isdigit() else key
        if isinstance(value, list):
            for i, v in enumerate(value):
                yield f"{path}[{i}]", v
        else:
            yield path, value


def check_value(c, where, label, path, got, want, objects):
    if isinstance(want, str) and want.startswith("0x"):
        addr = int(want, 16)
        ok = got is not None and objects.get(got, (0, 0))[0] <= addr < sum(objects.get(got, (0, 0)))
        c.check(ok, f"{where}: {label}.{path} = object {got}, want the object at {want}")
    else:
        c.check(got == want, f"{where}: {label}.{path} = {got!r}, want {want!r}")


def check_scenario(c, gm, where, sdir, tmp):
    db_path = os.path.join(tmp, "h.db")
    db = gmtest.analyze(c, gm, where, sdir, db_path)
    if db is None:
        return
    objects = {oid: (addr, size) for oid, addr, size in db.execute("SELECT id, addr, size FROM objects")}
    truth = gmtest.load_truth(sdir)
    for obj in truth.get("objects", []):
        if not obj.get("fields") or obj.get("tiny"):
            continue
        addr = int(obj["addr"], 16)
        row = db.execute("SELECT id FROM objects WHERE addr <= ? AND ? < addr + size", (addr, addr)).fetchone()
        if not c.check(row is not None, f"{where}: {obj['label']} not found"):
            continue
        for path, want in expected_fields(obj["fields"]):
            res, rows = sql(gm, db_path, f"SELECT field({row[0]}, '{path}') AS v")
            c.no_sanitizer_report(res)
            got = rows[0]["v"] if rows else f"exit {res.status}: {res.stderr.strip()}"
            check_value(c, where, obj["label"], path, got, want, objects)
    check_go_type(c, gm, where, db, db_path)
    check_pointer_fields(c, gm, where, sdir, db, db_path)
    check_elems(c, gm, where, db, db_path, truth, objects)
    check_oversized_maps(c, gm, where, db, db_path, truth)
    check_slices(c, where, db, truth)
    check_duplicates(c, gm, where, db_path, truth)
    check_contents_option(c, gm, where, sdir, tmp, truth)
    check_no_contents(c, where, db, truth)
    db.close()
    os.unlink(db_path)


def check_elems(c, gm, where, db, db_path, truth, objects):
    """go_elems over zoo's 10000-pointer backing array: every element, the
    first one the object the program recorded."""
    big = [o for o in truth.get("objects", []) if o["label"] == "big_slice_array"]
    if not big:
        return
    addr = int(big[0]["addr"], 16)
    (oid,) = db.execute("SELECT id FROM objects WHERE addr = ?", (addr,)).fetchone()
    res, rows = sql(gm, db_path, f"SELECT idx, value FROM go_elems({oid})")
    c.no_sanitizer_report(res)
    c.check(len(rows) == big[0]["len"], f"{where}: go_elems gave {len(rows)} elements, want {big[0]['len']}")
    first = int(big[0]["fields"]["0"], 16)
    got = rows[0]["value"] if rows else None
    c.check(got in objects and objects[got][0] <= first < sum(objects[got]),
            f"{where}: go_elems element 0 is object {got}, want the one at 0x{first:x}")


def check_slices(c, where, db, truth):
    """The slices table (view oversized_slices) has the len and cap the
    program recorded for its slices' backing arrays."""
    for obj in truth.get("objects", []):
        if obj.get("kind") != "array" or "len" not in obj:
            continue
        row = db.execute("SELECT s.len, s.cap FROM slices s JOIN objects o ON o.id = s.object_id "
                         "WHERE o.addr <= ? AND ? < o.addr + o.size",
                         (int(obj["addr"], 16), int(obj["addr"], 16))).fetchone()
        c.check(row == (obj["len"], obj["cap"]), f"{where}: slices has {row} for {obj['label']}, "
                f"want len {obj['len']} cap {obj['cap']}")


def check_oversized_maps(c, gm, where, db, db_path, truth):
    """oversized_maps reads every map's entry count: the recorded maps' lengths."""
    res, rows = sql(gm, db_path, "SELECT map_object, entries FROM oversized_maps")
    c.no_sanitizer_report(res)
    entries = {r["map_object"]: r["entries"] for r in rows}
    for obj in truth.get("objects", []):
        if obj.get("kind") != "map":
            continue
        (oid,) = db.execute("SELECT id FROM objects WHERE addr = ?", (int(obj["addr"], 16),)).fetchone()
        c.check(entries.get(oid) == obj["len"], f"{where}: oversized_maps says {entries.get(oid)} entries "
                f"for {obj['label']}, want {obj['len']}")


def check_type_values(c, where, con, truth, type_name):
    """--contents-type T: every reachable T as JSON, with the recorded fields."""
    (count,) = con.execute("SELECT COUNT(*) FROM objects o JOIN types t ON t.id = o.type_id "
                           "WHERE o.reachable = 1 AND t.name = ?", (type_name,)).fetchone()
    (stored,) = con.execute("SELECT COUNT(*) FROM field_values").fetchone()
    c.check(count > 0 and stored == count, f"{where}: field_values has {stored} rows, {count} reachable {type_name}")
    for obj in truth.get("objects", []):
        if obj.get("type") != type_name or not obj.get("fields"):
            continue
        addr = int(obj["addr"], 16)
        row = con.execute("SELECT v.value FROM field_values v JOIN objects o ON o.id = v.object_id "
                          "WHERE o.addr <= ? AND ? < o.addr + o.size", (addr, addr)).fetchone()
        value = json.loads(row[0]) if row else {}
        for key, want in obj["fields"].items():
            if isinstance(want, (int, float)) and not isinstance(want, bool) or \
                    (isinstance(want, str) and not want.startswith("0x")):
                c.check(value.get(key) == want, f"{where}: field_values {obj['label']}.{key} = "
                        f"{value.get(key)!r}, want {want!r}")


def check_contents_option(c, gm, where, sdir, tmp, truth):
    """analyze --contents stores string bodies: the recorded strings are there."""
    db_path = os.path.join(tmp, "contents.db")
    leaf = "main.Leaf" if "zoo" in where else "main.Record"
    res = gmtest.run([gm, "analyze", os.path.join(sdir, "core"), "--exe", os.path.join(sdir, "exe"),
                      "-o", db_path, "--quiet", "--contents", "--contents-type", leaf])
    c.no_sanitizer_report(res)
    if not c.check(res.status == 0, f"{where}: analyze --contents exited {res.status}: {res.stderr.strip()}"):
        return
    con = sqlite3.connect(db_path)
    values = {v.decode("utf-8", "replace") for (v,) in con.execute("SELECT value FROM strings")}
    check_type_values(c, where, con, truth, leaf)
    con.close()
    os.unlink(db_path)
    wanted = {v for obj in truth.get("objects", []) for v in (obj.get("fields") or {}).values()
              if isinstance(v, str) and not v.startswith("0x") and len(v) >= 16}
    missing = [v for v in wanted if not any(v in s for s in values)]
    c.check(values and not missing, f"{where}: --contents lacks {missing[:3]} ({len(values)} strings stored)")


def check_duplicates(c, gm, where, db_path, truth):
    """zoo keeps 40 heap copies of one string: duplicate_strings finds them all."""
    dup = truth.get("params", {}).get("duplicates")
    if not dup:
        return
    value = dup["value"]
    res, rows = sql(gm, db_path, "SELECT d.copies, d.wasted_bytes, d.length, o.size, "
                    f"go_string(o.addr, {len(value)}) AS s FROM duplicate_strings d "
                    "JOIN objects o ON o.id = d.sample_object")
    c.no_sanitizer_report(res)
    match = [r for r in rows if r["s"] == value]
    c.check(len(match) == 1 and match[0]["copies"] == dup["copies"] and
            match[0]["wasted_bytes"] == (dup["copies"] - 1) * match[0]["size"] and
            match[0]["length"] == len(value.encode()),
            f"{where}: duplicate_strings has {match} for {dup}: {res.stderr.strip()}")


def check_go_type(c, gm, where, db, db_path):
    type_name = "main.Leaf" if "zoo" in where else "main.Record"
    (count,) = db.execute("SELECT COUNT(*) FROM objects o JOIN types t ON t.id = o.type_id WHERE t.name = ?",
                          (type_name,)).fetchone()
    field = "Name" if type_name == "main.Leaf" else "Key"
    res, rows = sql(gm, db_path, f"SELECT object_id, {field} FROM go_type('{type_name}')")
    c.no_sanitizer_report(res)
    c.check(res.status == 0 and len(rows) == count,
            f"{where}: go_type('{type_name}') gave {len(rows)} rows, want {count}: {res.stderr.strip()}")
    for r in rows[:20]:
        _, one = sql(gm, db_path, f"SELECT field({r['object_id']}, '{field}') AS v")
        c.check(one and one[0]["v"] == r[field], f"{where}: go_type and field disagree on {r}")
    check_extension(c, where, db_path, type_name, field, rows)


def dump_object_at(starts, dump_objects, addr):
    """The heap dump's object holding ADDR, or None."""
    i = bisect.bisect_right(starts, addr) - 1
    if i >= 0 and addr < starts[i] + dump_objects[i][1]:
        return i
    return None


def check_pointer_fields(c, gm, where, sdir, db, db_path):
    """Every pointer field go_type() returns is the object the heap dump says
    the field's word points into (NULL when it points into none)."""
    types = next((t for name, t in POINTER_FIELDS.items() if where.endswith("/" + name)), {})
    if not types:
        return
    dump = heapdump.parse(os.path.join(sdir, "heapdump"), keep_contents=True)
    order = sorted(range(len(dump.objects)), key=lambda i: dump.objects[i][0])
    dump_objects = [dump.objects[i] for i in order]
    contents = [dump.object_contents[i] for i in order]
    starts = [o[0] for o in dump_objects]
    addr_of = dict(db.execute("SELECT id, addr FROM objects"))
    for type_name, fields in types.items():
        res, rows = sql(gm, db_path, f"SELECT object_addr AS addr, {', '.join(fields)} FROM go_type('{type_name}')")
        c.no_sanitizer_report(res)
        if not c.check(res.status == 0 and rows, f"{where}: go_type('{type_name}'): {res.stderr.strip()}"):
            continue
        wrong, resolved = [], 0
        for r in rows:
            i = dump_object_at(starts, dump_objects, r["addr"])
            if not c.check(i is not None and starts[i] == r["addr"],
                           f"{where}: {type_name} at 0x{r['addr']:x} is no heap dump object"):
                break
            for field, off in fields.items():
                word = struct.unpack_from("<Q", contents[i], off)[0]
                j = dump_object_at(starts, dump_objects, word) if word else None
                want = starts[j] if j is not None else None
                got = addr_of.get(r[field]) if r[field] is not None else None
                resolved += got is not None
                if got != want:
                    wrong.append(f"{field} of 0x{r['addr']:x}: object at {got and hex(got)}, "
                                 f"want {want and hex(want)} (word 0x{word:x})")
        c.check(resolved > 0 and not wrong, f"{where}: go_type('{type_name}') resolved {resolved} pointers, "
                f"{len(wrong)} wrong: {wrong[:3]}")


def check_extension(c, where, db_path, type_name, field, rows):
    ext = os.environ.get("GOMORTEM_SQLITE_EXT")
    if not ext or not shutil.which("sqlite3"):
        c.check(False, f"{where}: no extension ({ext}) or sqlite3 shell to test it")
        return
    env = dict(os.environ)
    if os.environ.get("GOMORTEM_ASAN_RUNTIME"):  # an instrumented extension in a plain shell
        env["LD_PRELOAD"] = os.environ["GOMORTEM_ASAN_RUNTIME"]
        env["ASAN_OPTIONS"] = "detect_leaks=0"
    query = (f"CREATE VIRTUAL TABLE temp.t USING go_type({type_name});"
             f"SELECT COUNT(*), MIN({field}) FROM temp.t;")
    out = subprocess.run(["sqlite3", db_path, f".load {os.path.splitext(ext)[0]}", query],
                         capture_output=True, text=True, env=env, timeout=300)
    want = f"{len(rows)}|{min(r[field] for r in rows)}" if rows else "0|"
    c.check(out.returncode == 0 and out.stdout.strip() == want,
            f"{where}: sqlite3 with the extension printed {out.stdout.strip()!r} ({out.stderr.strip()}), want {want!r}")


def check_no_contents(c, where, db, truth):
    """Without --contents the database holds no memory contents: no string
    value of the scenario appears in any text column."""
    secrets = set()
    for obj in truth.get("objects", []):
        for v in (obj.get("fields") or {}).values():
            for s in (v if isinstance(v, list) else [v]):
                if isinstance(s, str) and not s.startswith("0x") and len(s) >= 6:
                    secrets.add(s)
    leaks = []
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        cols = [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]
        for col in cols:
            for s in secrets:
                if db.execute(f'SELECT 1 FROM "{table}" WHERE instr("{col}", ?) LIMIT 1', (s,)).fetchone():
                    leaks.append(f"{table}.{col}: {s!r}")
    c.check(not leaks, f"{where}: memory contents stored in the database: {leaks[:5]}")


def main():
    gmtest.each_scenario(check_scenario, want=lambda version, name: name in SCENARIOS)


if __name__ == "__main__":
    main()
