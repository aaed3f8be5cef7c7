"""gomortem report on every corpus scenario, and the views it reads:
- memory_breakdown: its rows add up exactly to the mapped total (SUM of
  mappings end - start), no row but the remainder is negative, the remainder
  ("other mapped memory") is 0 for a complete core, live objects equal
  meta.reachable_bytes;
- memory_breakdown.touched: no row above its bytes nor below 0, the column
  adds up to SUM(mappings.touched), which equals the non-zero 4 KiB pages of
  the core's PT_LOAD segments counted here (amd64); a gcore (scenario -live,
  whose zero-filled reservations are saved) shows the same order of touched
  anonymous memory as the kernel core of that scenario, not gigabytes;
- goroutine_groups: the counts add up to the goroutines, and each group's
  signature is the stack of its sample goroutine;
- every format has the sections of SECTIONS (Leak suspects first);
- the heap arena index (runtime metadata outside Sys) is its own row, of
  the size and at the address gdb reads from the core (mheap_.arenas);
- memstats' LastGC is shown as the UTC time it is; the memory chart's bars
  are the touched column (no reservation with no access gets one; the table
  keeps them);
- the Markdown report is under 65,536 characters and names the three top
  collections by bytes of collection_histogram (the unknown type as
  "(unknown type)"); "Top types" has one row per collection, whose "exact
  types" cell names the exact type it sums (or how many, and the largest);
  a tiny --top gives a note that lists were cut;
- the HTML report parses and holds <svg> charts that scale to the window,
  a table of contents linking every section's anchor, no <script> and no
  external resources; the text report has the same sections;
- -o writes the file (and leaves no temporary file); bad inputs give the
  documented exit statuses: 2 usage, 3 missing DB, 11 not a gomortem DB."""
import datetime
import html.parser
import mmap
import os
import re
import sqlite3
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import gmtest  # noqa: E402

MD_LIMIT = 65536
SECTIONS = ("Leak suspects", "Summary", "Memory breakdown", "Top types", "Allocation sites", "Top retainers",
            "Goroutines", "Span fragmentation per size class", "Unsaved memory", "Warnings")


class HtmlCheck(html.parser.HTMLParser):
    """Collects the tags of an HTML document and the external references in it."""

    def __init__(self):
        super().__init__()
        self.tags = set()
        self.external = []
        self.open = []
        self.errors = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith("#"):
                self.external.append(value)
        if tag not in ("meta", "br", "rect", "hr", "img", "link", "input"):
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.add(tag)

    def handle_endtag(self, tag):
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
            return
        self.open.pop()


def nonzero_pages(core, page=4096):
    """Bytes of the core's PT_LOAD data in pages that are not all zeros
    (ELF64 little-endian), read straight from the file."""
    zero = bytes(page)
    total = 0
    with open(core, "rb") as f, mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as m:
        phoff, = struct.unpack_from("<Q", m, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", m, 0x36)
        for i in range(phnum):
            ptype, _flags, off, _va, _pa, filesz, _memsz, _align = struct.unpack_from("<IIQQQQQQ", m,
                                                                                    phoff + i * phentsize)
            if ptype != 1:
                continue
            for at in range(0, filesz, page):
                n = min(page, filesz - at)
                if m[off + at:off + at + n] != zero[:n]:
                    total += n
    return total


def check_touched(c, where, db, core):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = con.execute("SELECT category, bytes, touched FROM memory_breakdown").fetchall()
    (touched,) = con.execute("SELECT SUM(touched) FROM mappings").fetchone()
    (span_touched, span_bytes) = con.execute("SELECT SUM(touched), SUM(end - base) FROM spans").fetchone()
    con.close()
    bad = [r for r in rows if not 0 <= r[2] <= max(r[1], 0)]
    c.check(not bad, f"{where}: memory_breakdown rows touched outside [0, bytes]: {bad}")
    c.check(sum(r[2] for r in rows) == touched,
            f"{where}: memory_breakdown touched adds up to {sum(r[2] for r in rows)}, mappings {touched}")
    c.check(0 <= (span_touched or 0) <= (span_bytes or 0), f"{where}: spans touched {span_touched} of {span_bytes}")
    if core:
        want = nonzero_pages(core)
        c.check(touched == want, f"{where}: mappings.touched adds up to {touched}, non-zero pages of the core {want}")
    return touched


def anon_touched(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    (n,) = con.execute("SELECT SUM(touched) FROM mappings WHERE path IS NULL").fetchone()
    con.close()
    return n


def check_gcore_pairs(c, dbs):
    """A gcore saves the runtime's no-access reservations as zeros: its touched
    anonymous memory must stay near the kernel core's of the same scenario."""
    pairs = 0
    for (version, name), db in dbs.items():
        kernel = dbs.get((version, name[:-len("-live")])) if name.endswith("-live") else None
        if not kernel:
            continue
        pairs += 1
        g, k = anon_touched(db), anon_touched(kernel)
        c.check(k > 0 and g <= 2 * k and k <= 2 * g,
                f"{version}/{name}: gcore touched anonymous {g}, kernel core of {name[:-5]} {k}")
    c.check(pairs > 0, "no scenario with both a gcore (-live) and a kernel core")


def check_views(c, where, db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    mapped = con.execute("SELECT SUM(end - start) FROM mappings").fetchone()[0]
    rows = con.execute("SELECT category, bytes, source FROM memory_breakdown").fetchall()
    total = sum(r[1] for r in rows)
    c.check(total == mapped, f"{where}: memory_breakdown adds up to {total}, mapped {mapped}")
    c.check(rows and rows[-1][0] == "other mapped memory", f"{where}: no remainder row last")
    negative = [r for r in rows if r[1] < 0]
    c.check(not negative, f"{where}: negative rows {negative}")
    partial = con.execute("SELECT value FROM meta WHERE key = 'partial'").fetchone()[0]
    rest = dict((r[0], r[1]) for r in rows)
    if str(partial) == "0":
        c.check(rest["other mapped memory"] == 0,
                f"{where}: remainder {rest['other mapped memory']} on a complete core")
    reachable = con.execute("SELECT value FROM meta WHERE key = 'reachable_bytes'").fetchone()[0]
    c.check(rest["Go heap: live objects"] == int(reachable),
            f"{where}: live objects {rest['Go heap: live objects']} != reachable_bytes {reachable}")
    sys_ = con.execute("SELECT value FROM memstats WHERE name = 'Sys'").fetchone()[0]
    go = sum(b for cat, b, _ in rows if cat.startswith("Go "))
    c.check(go == sys_, f"{where}: the Go rows add up to {go}, memstats Sys {sys_}")

    # Collections: types.collection as the rule says, and
    # collection_histogram the per-type rows summed by it.
    wrong = [(n, col) for n, col in con.execute("SELECT name, collection FROM types")
             if col != gmtest.collection(n)]
    c.check(not wrong, f"{where}: types.collection against the rule: {wrong[:3]}")
    want = {}
    for t, n, b in con.execute("SELECT type, count, bytes FROM type_histogram"):
        w = want.setdefault(gmtest.collection(t) if t is not None else None, [0, 0, 0])
        w[0] += 1
        w[1] += n
        w[2] += b
    got = {col: [k, n, b] for col, k, n, b in
           con.execute("SELECT collection, exact_types, count, bytes FROM collection_histogram")}
    c.check(got == want, f"{where}: collection_histogram differs from type_histogram summed by collection: "
            f"{[(k, got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)][:3]}")

    goroutines = con.execute("SELECT COUNT(*) FROM goroutines").fetchone()[0]
    groups = con.execute("SELECT signature, count, sample_goid, frames FROM goroutine_groups").fetchall()
    c.check(sum(g[1] for g in groups) == goroutines,
            f"{where}: goroutine_groups add up to {sum(g[1] for g in groups)}, goroutines {goroutines}")
    counts = [g[1] for g in groups]
    c.check(counts == sorted(counts, reverse=True), f"{where}: goroutine_groups not most numerous first")
    for signature, _count, goid, nframes in groups:
        funcs = [f for (f,) in con.execute("SELECT func FROM frames WHERE goid = ? ORDER BY idx", (goid,))]
        want = " <- ".join(funcs) if funcs else "(no frames)"
        c.check(signature == want and nframes == len(funcs),
                f"{where}: group of goroutine {goid}: {signature!r} != {want!r}")
    top3 = [t for (t,) in con.execute("SELECT collection FROM collection_histogram "
                                      "ORDER BY bytes DESC, count DESC LIMIT 3")]
    con.close()
    return top3


ARENA_INDEX_ROW = "runtime metadata outside Sys: heap arena index"


def check_arena_index(c, where, sdir, db):
    """The arena index against gdb's reading of runtime.mheap_.arenas
    ([N]*[M]*runtime.heapArena): each non-nil L2 array is M pointers."""
    res = subprocess.run(["gdb", "-batch", "-nx", "-iex", "set auto-load no", "-iex", "set debuginfod enabled off",
                          "-ex", "print/x 'runtime.mheap_'.arenas", "-ex", "whatis 'runtime.mheap_'.arenas",
                          os.path.join(sdir, "exe"), os.path.join(sdir, "core")],
                         capture_output=True, text=True, timeout=300, errors="replace")
    values = re.search(r"^\$1 = \{(.*)\}$", res.stdout, re.M)
    l2 = re.search(r"^type = \[\d+\]\*\[(\d+)\]\*runtime\.heapArena$", res.stdout, re.M)
    if not c.check(values and l2, f"{where}: gdb did not read mheap_.arenas: {res.stdout[-300:]}"):
        return
    l2_bytes = int(l2.group(1)) * 8
    arrays = [int(v, 16) for v in values.group(1).split(",") if int(v, 16)]
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    meta = dict(con.execute("SELECT key, value FROM meta WHERE key LIKE 'arena_index_%'"))
    saved = sum(con.execute("SELECT COALESCE(SUM(MIN(end, ?) - MAX(start, ?)), 0) FROM mappings "
                            "WHERE start < ? AND end > ? AND in_core = end - start",
                            (a + l2_bytes, a, a + l2_bytes, a)).fetchone()[0] for a in arrays)
    (row,) = con.execute("SELECT bytes FROM memory_breakdown WHERE category = ?", (ARENA_INDEX_ROW,)).fetchone()
    con.close()
    c.check(int(meta.get("arena_index_bytes", -1)) == l2_bytes * len(arrays),
            f"{where}: arena_index_bytes {meta.get('arena_index_bytes')}, gdb: {len(arrays)} x {l2_bytes}")
    c.check(row == int(meta.get("arena_index_saved", -1)) == saved,
            f"{where}: arena index row {row}, meta {meta.get('arena_index_saved')}, saved per mappings {saved}")


def check_top_types(c, where, db, md):
    """"By bytes" in Markdown: one row per collection, its exact types named."""
    part = md.split("### By bytes", 1)[-1].split("###", 1)[0]
    rows = [[cell.strip().strip("`") for cell in line.strip("|").split("|")]
            for line in part.splitlines() if line.startswith("| `")]
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    exact = {}
    for name, col, b in con.execute("SELECT t.name, COALESCE(t.collection, t.name), s.bytes "
                                    "FROM type_stats s JOIN types t ON t.id = s.type_id"):
        exact.setdefault(col, []).append((b, name))
    con.close()
    names = [r[0] for r in rows]
    c.check(rows and len(names) == len(set(names)), f"{where}: By bytes rows repeat a collection: {names}")
    for r in rows:
        parts = sorted(exact.get(r[0], []), key=lambda x: (-x[0], x[1]))
        if not parts:
            continue
        want = (f"{len(parts)} types, largest {parts[0][1]}" if len(parts) > 1
                else "" if parts[0][1] == r[0] else parts[0][1])
        c.check(r[-1] == want, f"{where}: {r[0]}: exact types {r[-1]!r}, want {want!r}")


def check_scenario(c, gm, where, db, tmp):
    top3 = check_views(c, where, db)
    md = gmtest.run([gm, "report", db])
    c.no_sanitizer_report(md)
    if not c.check(md.status == 0, f"{where}: report exit {md.status}: {md.stderr}"):
        return
    c.check(len(md.stdout) < MD_LIMIT, f"{where}: Markdown report has {len(md.stdout)} characters")
    for t in top3:
        name = t if t is not None else "(unknown type)"
        c.check(name in md.stdout, f"{where}: top type {name!r} missing from the report")
    for s in SECTIONS:
        c.check(f"## {s}" in md.stdout, f"{where}: section {s!r} missing from Markdown")
    if "No reachable objects." not in md.stdout:
        c.check(check_holders(c, where, db, md.stdout) > 0, f"{where}: no top retainers read from the report")
    check_top_types(c, where, db, md.stdout)
    # The mode of the analysis, and what it leaves unknown without DWARF.
    mode = "symtab" if where.endswith("-nodwarf") else "dwarf"
    c.check(re.search(rf"\| debug info +\| {mode} ", md.stdout) is not None,
            f"{where}: the report does not say debug info {mode}")
    c.check(("unknown without DWARF" in md.stdout) == (mode == "symtab"),
            f"{where}: the report's unknown-columns row does not match debug info {mode}")
    # Every figure of the unsaved-memory sentence is its own (they once shared a buffer).
    con = sqlite3.connect(db)
    (faults,) = con.execute("SELECT value FROM meta WHERE key = 'memory_faults'").fetchone()
    con.close()
    m = re.search(r"met unsaved memory ([0-9,]+) times", md.stdout)
    c.check(m is not None and int(m.group(1).replace(",", "")) == faults,
            f"{where}: the report's fault count {m and m.group(1)} is not meta.memory_faults {faults}")
    m = re.search(r", ([0-9.,]+ ?[KMGT]?i?B|[0-9,]+) of them reservations", md.stdout)
    c.check(m is not None and m.group(1).endswith("B"),
            f"{where}: the reserved bytes read {m and m.group(1)!r}, not a size")
    # LastGC (Unix nanoseconds) is read as a UTC time, as time.Unix would print it.
    con = sqlite3.connect(db)
    row = con.execute("SELECT value FROM memstats WHERE name = 'LastGC'").fetchone()
    con.close()
    if row and row[0]:
        when = datetime.datetime.fromtimestamp(row[0] // 10**9, datetime.timezone.utc)
        want = when.strftime("%Y-%m-%d %H:%M:%S") + f".{row[0] // 10**6 % 1000:03d} UTC"
        c.check(re.search(rf"\| `?LastGC`? +\| [0-9,]+ +\| {re.escape(want)} ", md.stdout) is not None,
                f"{where}: LastGC {row[0]} is not read as {want} in the report")

    out = os.path.join(tmp, "report.html")
    h = gmtest.run([gm, "report", db, "--format", "html", "-o", out])
    c.no_sanitizer_report(h)
    if c.check(h.status == 0 and os.path.isfile(out), f"{where}: html exit {h.status}: {h.stderr}"):
        with open(out, encoding="utf-8") as f:
            text = f.read()
        p = HtmlCheck()
        p.feed(text)
        p.close()
        c.check(not p.errors, f"{where}: html nesting: {p.errors[:5]}")
        c.check("svg" in p.tags and text.count("<svg") >= 2, f"{where}: no <svg> charts in the html")
        # Address space is no memory: the chart shows each row's touched
        # bytes, so reservations with no access never get a bar.
        charts = [s.split("</svg>")[0] for s in text.split("<svg")[1:]]
        mapped = [s for s in charts if "Touched memory by category" in s]
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        want = {cat: t for cat, t in con.execute("SELECT category, touched FROM memory_breakdown WHERE touched > 0")}
        con.close()
        bars = dict((html.unescape(m.group(1)), int(m.group(2)))
                    for m in re.finditer(r"<title>(.*?): (\d+) bytes</title>", mapped[0] if mapped else ""))
        c.check(len(mapped) == 1 and "reserved address space" not in mapped[0] and bars == want,
                f"{where}: the touched-memory chart is missing or its bars {bars} are not the touched column {want}")
        # A table of contents whose links land on the sections' anchors;
        # charts scale to a narrow window (a viewBox, no fixed width).
        ids = re.findall(r'<h[23] id="([^"]+)"', text)
        links = re.findall(r'<li><a href="#([^"]+)">', text)
        c.check(links and links == ids and len(set(ids)) == len(ids),
                f"{where}: contents {links[:4]} do not match the headings' anchors {ids[:4]}")
        c.check('id="leak-suspects"' in text, f"{where}: no #leak-suspects anchor")
        c.check(all("viewBox=" in s and ' width="' not in s.split(">")[0] for s in charts),
                f"{where}: a chart has a fixed width")
        c.check("script" not in p.tags, f"{where}: html has a script")
        c.check(not p.external, f"{where}: html references {p.external[:5]}")
        c.check(not [n for n in os.listdir(tmp) if ".tmp-" in n], f"{where}: temporary file left")

    t = gmtest.run([gm, "report", db, "--format", "text", "--top", "5"])
    c.no_sanitizer_report(t)
    if c.check(t.status == 0, f"{where}: text exit {t.status}: {t.stderr}"):
        for s in SECTIONS:
            c.check(f"{s}\n---" in t.stdout, f"{where}: section {s!r} missing from text")
        c.check("`" not in t.stdout.split("Paths from a root")[0] and "<td" not in t.stdout,
                f"{where}: text report holds markup")

    small = gmtest.run([gm, "report", db, "--top", "1"])
    c.check(small.status == 0 and "Showing 1 of" in small.stdout, f"{where}: --top 1 gives no cut note")


def dominator_top(con, oid):
    """The top of OID's branch of the dominator tree and the root that alone
    dominates it (None when several roots hold it), from objects.idom."""
    for _ in range(100000):
        idom, idom_root = con.execute("SELECT idom, idom_root FROM objects WHERE id = ?", (oid,)).fetchone()
        if idom is None:
            return oid, idom_root
        oid = idom
    return None, None


def check_holders(c, where, db, md):
    """The top retainers' "held by" column against the dominator tree: the
    root that alone dominates the object's branch, else "several roots",
    with the roots of a jointly held suspect under it when there is one."""
    section = md.split("## Top retainers", 1)[-1].split("### Paths from a root", 1)[0]
    rows = re.findall(r"^\| ([0-9]+) \| (0x[0-9a-f]+) \|.*\| `?([^|`]*)`? \|$", section, re.M)
    con = sqlite3.connect(db)
    names = dict(((rid, f"{kind} {name}") for rid, kind, name in con.execute("SELECT id, kind, name FROM roots")))
    joint = {}
    for sid, point, shared_by in con.execute("SELECT id, object_id, shared_by FROM suspects WHERE root_id IS NULL"):
        top, _ = dominator_top(con, point)
        roots = [names[r] for (r,) in con.execute(
            "SELECT root_id FROM suspect_roots WHERE suspect_id = ? ORDER BY root_id", (sid,))]
        joint.setdefault(top, (shared_by, roots))
    for _, addr, held in rows:
        row = con.execute("SELECT id FROM objects WHERE addr = ?", (int(addr, 16),)).fetchone()
        if not c.check(row, f"{where}: top retainer {addr} is no object"):
            continue
        top, root = dominator_top(con, row[0])
        if root is not None:
            want = names[root]
            ok = held == want
        elif top in joint:
            shared_by, roots = joint[top]
            want = f"several roots ({shared_by}): " + ", ".join(roots[:3])
            ok = held.startswith(want)
        else:
            want = "several roots, one is ..."
            ok = held.startswith("several roots, one is ")
        c.check(ok, f"{where}: top retainer {addr} held by {held!r}, the dominator tree says {want!r}")
    con.close()
    return len(rows)


def check_bad_inputs(c, gm, db, tmp):
    cases = [
        ([gm, "report"], 2),
        ([gm, "report", db, "--format", "pdf"], 2),
        ([gm, "report", db, "--top", "0"], 2),
        ([gm, "report", db, "--top", "x"], 2),
        ([gm, "report", db, db], 2),
        ([gm, "report", db, "--bogus"], 2),
        ([gm, "report", os.path.join(tmp, "missing.db")], 3),
        ([gm, "report", tmp], 3),
        ([gm, "report", db, "-o", os.path.join(tmp, "no", "such", "dir.md")], 3),
    ]
    junk = os.path.join(tmp, "junk.db")
    with open(junk, "wb") as f:
        f.write(b"this is not a database at all\n" * 100)
    cases.append(([gm, "report", junk], 11))
    other = os.path.join(tmp, "other.db")
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    cases.append(([gm, "report", other], 11))
    for args, want in cases:
        r = gmtest.run(args)
        c.no_sanitizer_report(r)
        c.check(r.status == want, f"{' '.join(args[1:])}: exit {r.status}, want {want}: {r.stderr}")
        if want != 2:
            c.check(r.stderr.startswith("gomortem: ") and r.stdout == "",
                    f"{' '.join(args[1:])}: error message {r.stderr!r}")
    r = gmtest.run([gm, "report", "--help"])
    c.check(r.status == 0 and "--include-contents" in r.stdout and "reserved" in r.stdout,
            "report --help")
    r = gmtest.run([gm, "report", db, "--include-contents", "--top", "3"])
    c.check(r.status == 0 and "reserved" in r.stdout, "--include-contents is accepted and noted")


def check_old_database(c, gm, db, tmp):
    """A database made before memory_breakdown and goroutine_groups existed still reports."""
    old = os.path.join(tmp, "old.db")
    src = sqlite3.connect(db)
    dst = sqlite3.connect(old)
    src.backup(dst)
    src.close()
    dst.execute("DROP VIEW memory_breakdown")
    dst.execute("DROP VIEW goroutine_groups")
    dst.commit()
    dst.close()
    r = gmtest.run([gm, "report", old])
    c.check(r.status == 0 and "not saved: reserved address space" in r.stdout,
            f"report of a database without the new views: exit {r.status}: {r.stderr}")


def main():
    gm = gmtest.gomortem()
    root = gmtest.corpus_dir()
    c = gmtest.Checker("report")
    any_db = None
    dbs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for version, name, sdir in gmtest.scenarios(root):
            where = f"{version}/{name}"
            db = os.path.join(tmp, f"{version}-{name}.db")
            # arm64 cores name no executable (no NT_FILE): given, with the
            # sysroot of their libraries.
            extra = []
            if gmtest.folder_arch(version) == "arm64":
                extra = ["--exe", os.path.join(sdir, "exe"), "--sysroot", gmtest.ARM64_SYSROOT]
            r = gmtest.run([gm, "analyze", os.path.join(sdir, "core"), "-o", db, *extra])
            if r.status != 0:
                # Scenarios analyze cannot read (no DWARF) are other tests' business.
                print(f"note: {where}: analyze exit {r.status}: {r.stderr.strip()}")
                continue
            sub = os.path.join(tmp, f"{version}-{name}")
            os.mkdir(sub)
            check_scenario(c, gm, where, db, sub)
            amd64 = gmtest.folder_arch(version) == "amd64"
            check_touched(c, where, db, os.path.join(sdir, "core") if amd64 else None)
            dbs[(version, name)] = db
            if gmtest.folder_arch(version) == "amd64" and not name.endswith("-nodwarf"):
                check_arena_index(c, where, sdir, db)
            any_db = any_db or db
        if not any_db:
            gmtest.skip("no corpus scenario could be analyzed")
        check_gcore_pairs(c, dbs)
        bad = os.path.join(tmp, "bad")
        os.mkdir(bad)
        check_bad_inputs(c, gm, any_db, bad)
        check_old_database(c, gm, any_db, bad)
    c.finish()


if __name__ == "__main__":
    main()
