"""gomortem diff:
- by default one line per collection (a map's header, directory, tables and
  groups or buckets as map[K]V, backing arrays as []T): main.Record and
  map[string]*main.Record lead, the sums equal the databases' exact types
  summed by collection; the checks below use --exact:
- growmap-small (a map of 1000 *main.Record) against growmap-big (50000) of
  each Go version: main.Record grows by exactly 49000 objects and leads,
  the map's group (Swiss maps, Go 1.24+) or bucket type grows and is among
  the first lines; every line agrees with the databases' live objects per
  type, and B to A is A to B negated; the build IDs match (no warning);
- a database against itself: every change is zero;
- --all counts garbage too; --top N prints N lines; --json holds the --csv
  rows and totals that sum them; the table's last column is the byte change
  in units;
- two different programs: a warning on stderr, compared all the same;
- bad inputs: a missing file (3), a file that is not a gomortem database (11),
  a wrong command line (2)."""
import csv
import io
import json
import os
import sqlite3
import sys
import tempfile

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import gmtest  # noqa: E402

SMALL, BIG = 1000, 50000
UNKNOWN_TYPE = "(unknown type)"


def diff_csv(c, gm, a, b, *extra):
    res = gmtest.run([gm, "diff", a, b, "--csv", *extra])
    c.no_sanitizer_report(res)
    if not c.check(res.status == 0, f"diff {a} {b} {extra}: exit {res.status}: {res.stderr.strip()}"):
        return None, res
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    return [{k: (v if k == "type" else int(v)) for k, v in r.items()} for r in rows], res


def per_type(db_path, live_only=True):
    db = sqlite3.connect(db_path)
    where = "WHERE o.reachable = 1" if live_only else ""
    out = {(name if name is not None else UNKNOWN_TYPE): (n, size) for name, n, size in db.execute(
        f"SELECT t.name, COUNT(*), SUM(o.size) FROM objects o LEFT JOIN types t ON t.id = o.type_id {where} "
        "GROUP BY t.name")}
    db.close()
    return out


def check_against_databases(c, where, rows, a_path, b_path, live_only=True):
    a, b = per_type(a_path, live_only), per_type(b_path, live_only)
    got = {r["type"]: ((r["count_a"], r["bytes_a"]), (r["count_b"], r["bytes_b"])) for r in rows}
    want = {t: (a.get(t, (0, 0)), b.get(t, (0, 0))) for t in set(a) | set(b)}
    differ = sorted(t for t in set(got) | set(want) if got.get(t) != want.get(t))
    c.check(not differ, f"{where}: lines differ from the databases for "
            f"{[(t, got.get(t), want.get(t)) for t in differ[:3]]}")
    bad = [r for r in rows if r["count_change"] != r["count_b"] - r["count_a"]
           or r["bytes_change"] != r["bytes_b"] - r["bytes_a"]]
    c.check(not bad, f"{where}: changes are not B - A: {bad[:2]}")
    changes = [r["bytes_change"] for r in rows]
    c.check(changes == sorted(changes, reverse=True), f"{where}: not sorted by byte growth")


def is_map_storage(name):
    """The map's groups (Swiss maps, Go 1.24+: [N]map.group[string]*main.Record)
    or buckets (before: [N]bucket<string,*main.Record>)."""
    return "*main.Record" in name and ("map.group" in name or "bucket" in name)


def check_collections(c, gm, where, small, big):
    """By default one line per collection: the map's parts in one line
    next to main.Record at the top, the sums those of the exact types."""
    rows, _res = diff_csv(c, gm, small, big)
    if rows is None:
        return
    want = {}
    for side, path in enumerate((small, big)):
        for name, (n, size) in per_type(path).items():
            w = want.setdefault(gmtest.collection(name), [0, 0, 0, 0])
            w[side * 2] += n
            w[side * 2 + 1] += size
    got = {r["type"]: [r["count_a"], r["bytes_a"], r["count_b"], r["bytes_b"]] for r in rows}
    differ = sorted(t for t in set(got) | set(want) if got.get(t) != want.get(t))
    c.check(not differ, f"{where}: collection lines differ from the databases for "
            f"{[(t, got.get(t), want.get(t)) for t in differ[:3]]}")
    top2 = sorted(r["type"] for r in rows[:2])
    c.check(top2 == sorted(["main.Record", "map[string]*main.Record"]),
            f"{where}: first lines {[r['type'] for r in rows[:3]]}, want main.Record and its map")
    parts = [r["type"] for r in rows if "main.Record" in r["type"] and r["type"] != "main.Record"
             and r["type"].startswith(("[", "table", "hash", "bucket", "map<"))]
    c.check(not parts, f"{where}: map parts on lines of their own: {parts}")


def check_growth(c, gm, where, small, big):
    rows, res = diff_csv(c, gm, small, big, "--exact")
    if rows is None:
        return
    c.check("warning" not in res.stderr, f"{where}: same program, yet a warning: {res.stderr.strip()}")
    check_against_databases(c, where, rows, small, big)
    top = [r["type"] for r in rows[:3]]
    record = next((r for r in rows if r["type"] == "main.Record"), None)
    c.check(record is not None and record["count_change"] == BIG - SMALL and record["bytes_change"] > 0,
            f"{where}: main.Record grew by {record and record['count_change']}, want {BIG - SMALL}")
    # main.Record leads, except for the map's own storage: Go 1.21's load
    # factor of 6 (map.go: 13/16 rounded down) doubles the map to 2^14 buckets
    # before 50000 entries, and the new and old bucket arrays outweigh it.
    others = [r for r in rows if not is_map_storage(r["type"])]
    c.check(others and others[0]["type"] == "main.Record",
            f"{where}: first lines {top}, want main.Record first (after map storage)")
    group = [r for r in rows[:4] if is_map_storage(r["type"])]
    c.check(group and group[0]["bytes_change"] > 0 and group[0]["count_change"] > 0,
            f"{where}: no growing map group/bucket type among the first lines {[r['type'] for r in rows[:4]]}")
    back, _res = diff_csv(c, gm, big, small, "--exact")
    if back is not None:
        fwd = {r["type"]: (r["count_change"], r["bytes_change"]) for r in rows}
        rev = {r["type"]: (-r["count_change"], -r["bytes_change"]) for r in back}
        c.check(fwd == rev, f"{where}: B to A is not A to B negated")
        back_others = [r for r in back if not is_map_storage(r["type"])]
        c.check(back_others and back_others[-1]["type"] == "main.Record",
                f"{where}: B to A does not end with main.Record (before map storage)")
    table = gmtest.run([gm, "diff", small, big, "--top", "3", "--exact"])
    lines = table.stdout.splitlines()
    first = next((l for l in lines[1:4] if not is_map_storage(l.split()[0])), "")
    c.check(table.status == 0 and len(lines) == 1 + 3 + 3 and first.startswith("main.Record")
            and lines[-2].startswith("total live") and lines[-1].startswith("garbage"),
            f"{where}: --top 3 table:\n{table.stdout}{table.stderr}")
    check_json_and_units(c, gm, where, small, big, rows, table.stdout)
    all_rows, _res = diff_csv(c, gm, small, big, "--all", "--exact")
    if all_rows is not None:
        check_against_databases(c, f"{where} --all", all_rows, small, big, live_only=False)


def human(v):
    """Bytes as the table's size column writes a change: +3.0 MiB, -16 B."""
    sign = "+" if v > 0 else ""
    if -1024 < v < 1024:
        return f"{sign}{v} B"
    x, units = v / 1024, ["KiB", "MiB", "GiB", "TiB", "PiB"]
    u = 0
    while abs(x) >= 1024 and u + 1 < len(units):
        x, u = x / 1024, u + 1
    return f"{sign}{x:.1f} {units[u]}"


def check_json_and_units(c, gm, where, small, big, rows, table):
    """--json holds the --csv rows, and totals whose changes are the rows' sums;
    the table's last column is each line's byte change in units."""
    res = gmtest.run([gm, "diff", small, big, "--json", "--exact"])
    c.no_sanitizer_report(res)
    try:
        data = json.loads(res.stdout)
    except ValueError:
        c.check(False, f"{where}: --json is no JSON: exit {res.status} {res.stdout[:200]!r}")
        return
    fields = ["type", "count_a", "count_b", "count_change", "bytes_a", "bytes_b", "bytes_change"]
    c.check([{k: r[k] for k in fields} for r in rows] == data["types"], f"{where}: --json types differ from --csv")
    c.check(data["a"] == small and data["b"] == big and data["live_only"] is True and data["more_types"] == 0,
            f"{where}: --json a/b/live_only/more_types: {[data.get(k) for k in ('a', 'b', 'live_only', 'more_types')]}")
    for key in ("count", "bytes"):
        total = data["total"]
        c.check(total[f"{key}_change"] == sum(r[f"{key}_change"] for r in rows) ==
                total[f"{key}_b"] - total[f"{key}_a"], f"{where}: --json total {key} is not the rows' sum")
    for line in table.splitlines()[1:]:
        if line.startswith("("):
            continue
        words = line.split()
        want = human(int(words[-3]))
        c.check(line.endswith(" " + want), f"{where}: table line does not end with its size change {want}: {line}")


def check_self(c, gm, where, db):
    rows, res = diff_csv(c, gm, db, db)
    if rows is None:
        return
    changed = [r for r in rows if r["count_change"] or r["bytes_change"]]
    c.check(rows and not changed, f"{where}: a database against itself changes: {changed[:3]}")
    c.check(not res.stderr, f"{where}: a database against itself: stderr {res.stderr.strip()}")
    table = gmtest.run([gm, "diff", db, db, "--top", "0"])
    c.check(table.status == 0 and "+0" in table.stdout and all(
        "+" not in line.replace("+0", "") for line in table.stdout.splitlines()[1:]),
        f"{where}: table of a database against itself:\n{table.stdout}")


def check_other_program(c, gm, where, a, b):
    rows, res = diff_csv(c, gm, a, b)
    c.check(rows is not None and "warning" in res.stderr and "different executables" in res.stderr,
            f"{where}: no warning for different programs: {res.stderr.strip()}")


def check_bad_inputs(c, gm, tmp, db):
    junk = os.path.join(tmp, "junk.db")
    with open(junk, "wb") as f:
        f.write(b"not a database\n" * 100)
    other = os.path.join(tmp, "other.db")
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT, value)")
    con.commit()
    con.close()
    missing = os.path.join(tmp, "missing.db")
    for args, want in ((["diff", missing, db], 3), (["diff", db, missing], 3), (["diff", tmp, db], 3),
                       (["diff", junk, db], 11), (["diff", db, other], 11),
                       (["diff", db], 2), (["diff", db, db, "--top", "x"], 2), (["diff", db, db, "--bogus"], 2),
                       (["diff", db, db, "--csv", "--json"], 2)):
        res = gmtest.run([gm] + args)
        c.no_sanitizer_report(res)
        c.check(res.status == want and res.stderr.strip() and not res.stdout,
                f"{' '.join(args)}: exit {res.status}, want {want}: {res.stderr.strip()}")


def main():
    gm = gmtest.gomortem()
    root = gmtest.corpus_dir()
    c = gmtest.Checker("test_diff")
    pairs = 0
    with tempfile.TemporaryDirectory(prefix="gomortem-test-") as tmp:
        zoo = None
        for version in sorted(os.listdir(root)):
            dirs = {n: os.path.join(root, version, n) for n in ("growmap-small", "growmap-big", "zoo")}
            if not all(os.path.isfile(os.path.join(d, "core")) for d in dirs.values()):
                continue
            dbs = {}
            for name, sdir in dirs.items():
                dbs[name] = os.path.join(tmp, f"{version}-{name}.db")
                db = gmtest.analyze(c, gm, f"{version}/{name}", sdir, dbs[name])
                if db is None:
                    break
                db.close()
            else:
                pairs += 1
                check_growth(c, gm, f"{version} growmap", dbs["growmap-small"], dbs["growmap-big"])
                check_collections(c, gm, f"{version} growmap", dbs["growmap-small"], dbs["growmap-big"])
                check_self(c, gm, f"{version} zoo", dbs["zoo"])
                check_other_program(c, gm, f"{version} zoo vs growmap", dbs["zoo"], dbs["growmap-small"])
                zoo = dbs["zoo"]
        if not pairs:
            gmtest.skip(f"no growmap-small, growmap-big and zoo cores of one Go version under {root}")
        check_bad_inputs(c, gm, tmp, zoo)
    c.finish()


if __name__ == "__main__":
    main()
