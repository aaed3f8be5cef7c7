"""Allocation sites from the runtime's memory profile (issue 18), on the
allocs scenarios of every Go version (corpora/allocs):

- allocs-rate1 (runtime.MemProfileRate = 1: every allocation sampled): per
  allocating function, the live objects gomortem ties to it through the
  profile specials (object_alloc_sites) have the truth file's type, count and
  bytes; every live object of those types carries its allocating function;
  the buckets' own counts agree (published: not the burst after the last
  GC; now: everything);
- allocs (default rate, heap.pb.gz written by pprof.WriteHeapProfile right
  after the last of two GCs): gomortem pprof --alloc has the very samples of
  the runtime's file (stack with lines, four values, the bytes label), read
  with a protobuf reader of our own; the runtime's file and --alloc miss the
  burst allocated after the last GC, --now shows it at main.burst; every
  sampled allocation of the burst is a live object with a profile special;
- leak suspects (suspect_alloc_sites): a suspect accumulating a truth type
  keeps alive the truth count of sampled objects from the truth function
  (rate 1); the report's "Allocation sites" section lists each truth type at
  its function with its count (rate 1), and names main.burst as what the
  runtime had not published yet (both rates);
- both profiles open in go tool pprof;
- analyze --ignore-dwarf (the layout tables of dwarf/layouts.c) stores the
  same alloc_sites, alloc_site_frames, alloc_site_cycles, object_alloc_sites;
- bad uses: --now without --alloc, --alloc with --sample, --alloc on a
  database without a memory profile (2);
- damaged buckets (a list looping back, a stack of 2^40 pcs, random words
  of the buckets) analyze with exit 0: the list ends with a warning, no
  sanitizer report.
Skipped (77) without the allocs artifacts or go."""
import os
import shutil
import sqlite3
import sys
import tempfile

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import gmtest  # noqa: E402
from pprof_proto import read_profile, sample_stacks  # noqa: E402

LIVE_BY_SITE = """
SELECT s.func, t.name, COUNT(*), SUM(o.size) FROM object_alloc_sites a
JOIN alloc_sites s ON s.id = a.site_id JOIN objects o ON o.id = a.object_id
LEFT JOIN types t ON t.id = o.type_id WHERE o.reachable = 1 GROUP BY s.func, t.name"""

UNTIED = """
SELECT COUNT(*), SUM(NOT EXISTS (SELECT 1 FROM object_alloc_sites a JOIN alloc_sites s ON s.id = a.site_id
                                 WHERE a.object_id = o.id AND s.func = ?))
FROM objects o JOIN types t ON t.id = o.type_id WHERE t.name = ? AND o.reachable = 1"""

SITE_COUNTS = """
SELECT COALESCE(SUM(published_allocs - published_frees), 0), COALESCE(SUM(now_allocs - now_frees), 0),
       COALESCE(SUM(sampled_objects), 0)
FROM alloc_sites WHERE func = ?"""


def nonzero(samples):
    return sorted((st, v, tuple(sorted(lab.items()))) for st, v, lab in samples if any(v))


def write_profile(c, gm, where, db_path, out, *extra):
    res = gmtest.run([gm, "pprof", db_path, "--alloc", *extra, "-o", out])
    c.no_sanitizer_report(res)
    if not c.check(res.status == 0 and os.path.isfile(out),
                   f"{where}: pprof --alloc {' '.join(extra)} exited {res.status}: {res.stderr.strip()}"):
        return None
    top = gmtest.run(["go", "tool", "pprof", "-top", out])
    c.check(top.status == 0, f"{where}: go tool pprof -top {out} exited {top.status}: {top.stderr.strip()}")
    return read_profile(out)


def check_same_samples(c, where, ours, theirs):
    mine, runtime = nonzero(sample_stacks(ours)), nonzero(sample_stacks(theirs))
    c.check(mine == runtime, f"{where}: --alloc differs from the runtime's heap.pb.gz: ours only "
            f"{[s for s in mine if s not in runtime][:2]}, runtime's only {[s for s in runtime if s not in mine][:2]}")
    s = ours["strings"]
    c.check(s[ours["period_type"][0]] == "space" and ours["period"] == theirs["period"],
            f"{where}: period {ours['period']} (runtime's {theirs['period']})")
    types = [(s[t], s[u]) for t, u in ours["sample_type"]]
    c.check(types == [("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse_objects", "count"),
                      ("inuse_space", "bytes")], f"{where}: sample types {types}")
    return len(runtime)


def has_frame(samples, func):
    return [v for st, v, _l in samples if any(f == func for f, _line in st) and any(v)]


def check_rate1(c, where, db, truth):
    rate = db.execute("SELECT value FROM meta WHERE key = 'mem_profile_rate'").fetchone()
    c.check(rate and int(rate[0]) == truth["params"]["mem_profile_rate"] == 1, f"{where}: mem_profile_rate {rate}")
    live = {(f, t): (n, b) for f, t, n, b in db.execute(LIVE_BY_SITE)}
    for site in truth["params"]["alloc_sites"]:
        fn, typ, count, size = site["function"], site["type"], site["count"], site["bytes"]
        c.check(live.get((fn, typ)) == (count, size),
                f"{where}: live {typ} from {fn}: {live.get((fn, typ))}, truth {(count, size)}")
        total, untied = db.execute(UNTIED, (fn, typ)).fetchone()
        c.check(total == count and untied == 0, f"{where}: {untied} of {total} live {typ} lack site {fn}")
        published, now, sampled = db.execute(SITE_COUNTS, (fn,)).fetchone()
        after_gc = fn == truth["params"]["after_last_gc"]
        c.check((published, now, sampled) == (0 if after_gc else count, count, count),
                f"{where}: {fn} in use published {published}, now {now}, sampled objects {sampled}; "
                f"want {0 if after_gc else count}, {count}, {count}")


SUSPECT_SITES = """
SELECT COALESCE(SUM(f.sampled_objects), 0) FROM leak_suspects l
JOIN suspect_alloc_sites_by_frame f ON f.suspect_id = l.id WHERE l.top_type = ? AND f.func = ?"""


def check_suspects(c, where, db, truth):
    for site in truth["params"]["alloc_sites"]:
        fn, typ, count = site["function"], site["type"], site["count"]
        if not db.execute("SELECT 1 FROM leak_suspects WHERE top_type = ?", (typ,)).fetchone():
            continue
        got = db.execute(SUSPECT_SITES, (typ, fn)).fetchone()[0]
        c.check(got == count, f"{where}: the suspect accumulating {typ} keeps {got} sampled objects from {fn}, "
                f"truth {count}")


def check_report(c, gm, where, db_path, truth):
    res = gmtest.run([gm, "report", db_path, "--format", "md"])
    c.no_sanitizer_report(res)
    text = res.stdout
    section = text[text.find("## Allocation sites"):]
    section = section[:section.find("\n## ", 3)]
    if not c.check(res.status == 0 and section, f"{where}: report exited {res.status}, no Allocation sites section"):
        return
    if truth["params"]["mem_profile_rate"] == 1:
        for site in truth["params"]["alloc_sites"]:
            want = f"| `{site['type']}` | `{site['function']} (main.go:"
            rows = [line for line in section.splitlines() if line.startswith(want)]
            c.check(rows and f"| {site['count']:,} |" in rows[0],
                    f"{where}: report row for {site['type']} at {site['function']}: {rows[:1]}")
    lag = [line for line in section.splitlines() if line.startswith("Not yet in the process's own heap profile")]
    c.check(lag and f"the most at {truth['params']['after_last_gc']} (main.go:" in lag[0],
            f"{where}: report on the unpublished cycles: {lag[:1]}")


def check_burst(c, where, db, truth, published, now):
    """The burst after the last GC: absent from the published profiles, in --now."""
    burst = truth["params"]["after_last_gc"]
    c.check(not has_frame(published, burst), f"{where}: the published profile shows {burst}")
    shown = has_frame(now, burst)
    pub, unpublished, sampled = db.execute(SITE_COUNTS, (burst,)).fetchone()
    c.check(shown and unpublished > 0 and pub == 0,
            f"{where}: --now shows {burst} in {len(shown)} samples; buckets: published {pub}, now {unpublished}")
    c.check(sampled == unpublished, f"{where}: {unpublished} sampled {burst} allocations, {sampled} objects "
            "with its profile special")
    return unpublished


PROFILE_TABLES = ("alloc_sites", "alloc_site_frames", "alloc_site_cycles", "object_alloc_sites")


def check_layout_tables(c, gm, where, sdir, tmp, db):
    """The memory profile read through the generated layout tables is the DWARF one."""
    other = gmtest.analyze(c, gm, where + " --ignore-dwarf", sdir, os.path.join(tmp, "t.db"), ("--ignore-dwarf",))
    if other is None:
        return
    for table in PROFILE_TABLES:
        rows = db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
        c.check(rows and rows == other.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall(),
                f"{where}: {table} differs under --ignore-dwarf ({len(rows)} rows with DWARF)")
    other.close()


def check_version(c, gm, version, sdir, tmp, stats):
    where = f"{version}/{os.path.basename(sdir)}"
    truth = gmtest.load_truth(sdir)
    db_path = os.path.join(tmp, "a.db")
    db = gmtest.analyze(c, gm, where, sdir, db_path)
    if db is None:
        return
    if truth["params"]["mem_profile_rate"] == 1:
        check_rate1(c, where, db, truth)
        check_suspects(c, where, db, truth)
    check_report(c, gm, where, db_path, truth)
    check_layout_tables(c, gm, where, sdir, tmp, db)
    published = write_profile(c, gm, where, db_path, os.path.join(tmp, "a.pb.gz"))
    now = write_profile(c, gm, where, db_path, os.path.join(tmp, "n.pb.gz"), "--now")
    runtime = read_profile(os.path.join(sdir, truth["params"]["heap_profile"]))
    if published is None or now is None:
        return
    same = check_same_samples(c, where, published, runtime)
    burst = check_burst(c, where, db, truth, sample_stacks(published), sample_stacks(now))
    c.check(not has_frame(sample_stacks(runtime), truth["params"]["after_last_gc"]),
            f"{where}: the runtime's own profile shows the burst")
    stats.append(f"{where}: {same} samples equal to the runtime's, burst {burst} samples in --now only")
    db.close()


def check_bad_uses(c, gm, sdir, tmp):
    db_path = os.path.join(tmp, "bad.db")
    if gmtest.analyze(c, gm, "bad uses", sdir, db_path) is None:
        return
    out = os.path.join(tmp, "bad.pb.gz")
    for extra, why in ((["--now"], "--now without --alloc"), (["--alloc", "--sample", "inuse_space"], "--sample")):
        res = gmtest.run([gm, "pprof", db_path, *extra, "-o", out])
        c.no_sanitizer_report(res)
        c.check(res.status == 2 and not os.path.exists(out), f"{why}: exit {res.status}, want 2")
    with sqlite3.connect(db_path) as db:
        db.execute("UPDATE meta SET value = 'absent' WHERE key = 'mem_profile'")
    res = gmtest.run([gm, "pprof", db_path, "--alloc", "-o", out])
    c.no_sanitizer_report(res)
    c.check(res.status == 2 and "no memory profile" in res.stderr and not os.path.exists(out),
            f"--alloc without a memory profile: exit {res.status} {res.stderr.strip()}, want 2")


def check_damaged_buckets(c, gm, sdir, tmp):
    """A damaged bucket list ends with a warning; analyze still succeeds."""
    import random
    import struct
    sys.path.insert(0, os.path.join(HERE, "..", "bad_input"))
    from test_analyze_bad import field_offset, file_offset, patch
    core, exe = os.path.join(sdir, "core"), os.path.join(sdir, "exe")
    good = gmtest.analyze(c, gm, "damage", sdir, os.path.join(tmp, "good.db"))
    if good is None:
        return
    buckets = good.execute("SELECT bucket_addr, depth FROM alloc_sites ORDER BY id").fetchall()
    good.close()
    bad, out = os.path.join(tmp, "damaged.core"), os.path.join(tmp, "damaged.db")
    shutil.copy(core, bad)
    first, _depth = buckets[0]
    allnext = file_offset(bad, first + field_offset(gm, exe, "runtime.bucket", "allnext"))
    nstk = file_offset(bad, buckets[1][0] + field_offset(gm, exe, "runtime.bucket", "nstk"))
    cases = [("a list looping back", allnext, first, "loops", 1),
             ("a stack of 2^40 pcs", nstk, 1 << 40, "pcs", 1)]
    for what, at, word, needle, want_sites in cases:
        with open(bad, "rb") as f:
            f.seek(at)
            saved = f.read(8)
        patch(bad, at, struct.pack("<Q", word))
        res = gmtest.run([gm, "analyze", bad, "--exe", exe, "-o", out, "--quiet"])
        c.no_sanitizer_report(res)
        patch(bad, at, saved)
        if not c.check(res.status == 0, f"{what}: analyze exited {res.status}: {res.stderr.strip()[:300]}"):
            continue
        with sqlite3.connect(out) as db:
            sites = db.execute("SELECT COUNT(*) FROM alloc_sites").fetchone()[0]
            warned = [m for (m,) in db.execute("SELECT message FROM warnings WHERE stage = 'mprof'")]
        c.check(sites == want_sites and any(needle in m for m in warned),
                f"{what}: {sites} sites (want {want_sites}), warnings {warned[:3]}")
        os.unlink(out)
    rng = random.Random(18)
    for _ in range(12):
        addr, depth = rng.choice(buckets)
        at = file_offset(bad, addr + rng.randrange(48 + 8 * depth + 32) // 8 * 8)
        with open(bad, "rb") as f:
            f.seek(at)
            saved = f.read(8)
        patch(bad, at, struct.pack("<Q", rng.choice([0, 0xdead0000, (1 << 64) - 1, rng.getrandbits(64)])))
        res = gmtest.run([gm, "analyze", bad, "--exe", exe, "-o", out, "--quiet"])
        c.no_sanitizer_report(res)
        patch(bad, at, saved)
        c.check(res.status == 0, f"a damaged word at offset {at}: analyze exited {res.status}")
        if os.path.exists(out):
            os.unlink(out)


def main():
    gm = gmtest.gomortem()
    root = gmtest.corpus_dir()
    if not shutil.which("go"):
        gmtest.skip("go not found (go tool pprof)")
    c = gmtest.Checker("alloc_sites")
    picks = [(v, s, d) for v, s, d in gmtest.scenarios(root) if s in ("allocs", "allocs-rate1")]
    if not picks:
        gmtest.skip("corpus lacks the allocs scenarios")
    stats = []
    with tempfile.TemporaryDirectory() as tmp:
        for version, _name, sdir in picks:
            check_version(c, gm, version, sdir, tmp, stats)
        check_bad_uses(c, gm, picks[0][2], tmp)
        check_damaged_buckets(c, gm, picks[-1][2], tmp)
    for line in stats:
        print(line)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
