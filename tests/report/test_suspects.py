"""Leak suspects against the scenarios' truth files, on every Go version:
- growmap (small and big): the first suspect is the map
  map[string]*main.Record held by the global main.records, accumulating
  exactly truth's count and bytes of main.Record, with its share of the
  reachable heap;
- leaks: the B-tree under main.index accumulates truth's main.BNode count
  and bytes; the session map is held jointly (no single root dominates
  it), suspect_roots names exactly main.primary and main.replica, and it
  accumulates truth's main.Session count and bytes; the events that the
  slice main.events and the list main.latest both hold are one group
  (kind objects) of exactly truth's count and bytes, reached from those two
  roots;
- the reports: in Markdown, text and HTML, the first section after the
  title is "Leak suspects" and names the root variable, the collection,
  the accumulated type with its count and bytes, and the share."""
import os
import re
import sys

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import gmtest  # noqa: E402


def suspects(db):
    rows = db.execute("SELECT id, kind, name, retained, percent, top_type, top_count, top_bytes, held_by, path, "
                      "group_size FROM leak_suspects ORDER BY id").fetchall()
    return [dict(zip(("id", "kind", "name", "retained", "percent", "top_type", "top_count", "top_bytes",
                      "held_by", "path", "group_size"), r)) for r in rows]


def find(c, where, found, name):
    match = [s for s in found if s["name"] == name]
    c.check(match, f"{where}: no suspect named {name}: {[s['name'] for s in found]}")
    return match[0] if match else None


def check_accumulates(c, where, s, want):
    c.check((s["top_type"], s["top_count"], s["top_bytes"]) == (want["type"], want["count"], want["bytes"]),
            f"{where}: {s['name']} accumulates {s['top_count']} {s['top_type']} {s['top_bytes']} bytes, truth "
            f"{want['count']} {want['type']} {want['bytes']} bytes")


# The first section heading after the title, and where the next section
# (the summary) starts, per format.
HEADINGS = {
    "md": (r"^## (.+)$", "\n## Summary\n"),
    "text": (r"^(\S.*)\n-{3,}$", "\nSummary\n-------\n"),
    "html": (r"<h2[^>]*>(.*?)</h2>", "<h2>Summary</h2>"),
}


def first_section(fmt, text):
    """The title of the first section after the report's title, and its text."""
    pattern, summary = HEADINGS[fmt]
    m = re.search(pattern, text, re.M)
    if not m:
        return None, ""
    end = text.find(summary, m.end())
    body = text[m.end():end if end >= 0 else len(text)]
    if fmt == "html":
        body = re.sub(r"<[^>]+>", "", body)
    return m.group(1), body.replace("\\", "")


def check_reports(c, gm, where, db_path, wants):
    """Each WANT is a list of strings the first section must hold."""
    for fmt in ("md", "text", "html"):
        res = gmtest.run([gm, "report", db_path, "--format", fmt])
        c.no_sanitizer_report(res)
        if not c.check(res.status == 0, f"{where}: report --format {fmt} exited {res.status}: {res.stderr}"):
            continue
        text = res.stdout.replace("&gt;", ">").replace("&lt;", "<").replace("&amp;", "&")
        title, body = first_section(fmt, text)
        c.check(title == "Leak suspects", f"{where}: {fmt}: first section is {title!r}, not Leak suspects")
        for w in wants:
            c.check(w in body, f"{where}: {fmt}: the first section does not say {w!r}")


def fmt_int(n):
    return f"{n:,}"


def check_growmap(c, gm, where, sdir, db, db_path):
    want = gmtest.load_truth(sdir)["params"]["accumulated"]
    found = suspects(db)
    if not c.check(found, f"{where}: no leak suspect"):
        return
    s = found[0]
    c.check((s["kind"], s["name"], s["held_by"]) == ("map", want["collection"], want["root"]),
            f"{where}: first suspect {s['kind']} {s['name']} held by {s['held_by']}, truth the map "
            f"{want['collection']} of {want['root']}")
    check_accumulates(c, where, s, want)
    (live,) = db.execute("SELECT value FROM meta WHERE key = 'reachable_bytes'").fetchone()
    c.check(abs(s["percent"] - 100.0 * s["retained"] / int(live)) < 0.06, f"{where}: percent {s['percent']}")
    check_reports(c, gm, where, db_path, [
        want["root"], want["collection"],
        f"{fmt_int(want['count'])} {want['type']}, {fmt_int(want['bytes'])} bytes",
        f"{s['percent']:.1f}% of the live heap"])


def check_leaks(c, gm, where, sdir, db, db_path):
    truth = gmtest.load_truth(sdir)["params"]
    found = suspects(db)
    tree, shared = truth["btree"], truth["shared"]
    s = find(c, where, found, tree["type"])
    if s:
        c.check(s["held_by"] == tree["root"], f"{where}: the B-tree is held by {s['held_by']}, truth {tree['root']}")
        check_accumulates(c, where, s, tree)
    m = find(c, where, found, shared["collection"])
    if m:
        c.check((m["kind"], m["held_by"]) == ("map", "several roots (2)"),
                f"{where}: the shared map: {m['kind']} held by {m['held_by']}")
        check_accumulates(c, where, m, shared)
        roots = sorted(r for (r,) in db.execute("SELECT r.name FROM suspect_roots sr JOIN roots r ON r.id = "
                                                "sr.root_id WHERE sr.suspect_id = ?", (m["id"],)))
        c.check(roots == sorted(shared["roots"]), f"{where}: the shared map's roots {roots}, truth {shared['roots']}")
    joint = truth["jointly"]
    e = find(c, where, found, joint["type"])
    if e:
        c.check((e["kind"], e["group_size"]) == ("objects", joint["count"]),
                f"{where}: the events: {e['kind']} of {e['group_size']}, truth a group of {joint['count']}")
        check_accumulates(c, where, e, joint)
        roots = {r.split(".array")[0] for (r,) in db.execute(
            "SELECT r.name FROM suspect_roots sr JOIN roots r ON r.id = sr.root_id WHERE sr.suspect_id = ?",
            (e["id"],))}
        c.check(roots == set(joint["roots"]), f"{where}: the events' roots {roots}, truth {joint['roots']}")
    check_reports(c, gm, where, db_path, [
        f"{fmt_int(joint['count'])} {joint['type']} objects, held jointly",
        f"{fmt_int(joint['count'])} {joint['type']}, {fmt_int(joint['bytes'])} bytes",
        tree["root"], f"{fmt_int(tree['count'])} {tree['type']}, {fmt_int(tree['bytes'])} bytes",
        shared["collection"], f"{fmt_int(shared['count'])} {shared['type']}, {fmt_int(shared['bytes'])} bytes",
        *shared["roots"], "held jointly by several roots"])


def check(c, gm, where, sdir, tmp):
    name = where.split("/")[1]
    db_path = os.path.join(tmp, "s.db")
    db = gmtest.analyze(c, gm, where, sdir, db_path)
    if db is None:
        return
    if name.startswith("growmap"):
        check_growmap(c, gm, where, sdir, db, db_path)
    else:
        check_leaks(c, gm, where, sdir, db, db_path)
    db.close()
    os.unlink(db_path)


if __name__ == "__main__":
    gmtest.each_scenario(check, want=lambda version, name: name.startswith(("growmap", "leaks")))
