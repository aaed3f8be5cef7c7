"""analyze on damaged input: a corrupt span descriptor or allocation bitmap
pointer is counted as a warning and the walk goes on; a truncated core is
refused (or, with --allow-truncated, analyzed and marked partial); a failed
run leaves neither the database nor its temporary file; a disk that fills up
(RLIMIT_FSIZE) at any point of the store, SQLite's part or the B-trees
gomortem writes itself, is an I/O error (exit 3) that leaves nothing; an
analysis interrupted by SIGTERM or SIGINT while it writes leaves nothing."""
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import gmtest  # noqa: E402

EXIT_IO, EXIT_BAD_CORE, EXIT_NO_DWARF = 3, 4, 6


def loads(core):
    """(vaddr, offset, filesz) of the core's PT_LOAD segments, by readelf."""
    out = subprocess.run(["readelf", "-lW", core], capture_output=True, text=True, check=True).stdout
    segs = []
    for line in out.splitlines():
        w = line.split()
        if w[:1] == ["LOAD"]:
            segs.append((int(w[2], 16), int(w[1], 16), int(w[4], 16)))
    return segs


def file_offset(core, addr):
    for vaddr, offset, filesz in loads(core):
        if vaddr <= addr < vaddr + filesz:
            return offset + addr - vaddr
    raise ValueError(f"0x{addr:x} not saved in {core}")


def field_offset(gm, exe, struct, field):
    out = gmtest.run([gm, "dwarf", exe, struct]).stdout
    for line in out.splitlines()[1:]:
        w = line.split()
        if len(w) >= 3 and w[2] == field:
            return int(w[0])
    raise ValueError(f"{struct}.{field} not in DWARF")


def analyze(gm, core, exe, db, *extra):
    res = gmtest.run([gm, "analyze", core, "--exe", exe, "-o", db, "--quiet", *extra])
    return res


def patch(path, offset, data):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def check_corrupt_spans(c, gm, core, exe, tmp):
    good_db = os.path.join(tmp, "good.db")
    res = analyze(gm, core, exe, good_db)
    if not c.check(res.status == 0, f"analyze of the intact core exited {res.status}: {res.stderr}"):
        return
    db = sqlite3.connect(good_db)
    spans = db.execute("SELECT mspan_addr, alloc_count FROM spans WHERE state = 'in_use' "
                       "AND size_class > 0 AND alloc_count > 1 ORDER BY alloc_count DESC LIMIT 2").fetchall()
    (total,) = db.execute("SELECT COUNT(*) FROM objects").fetchone()
    db.close()
    bad = os.path.join(tmp, "core.bad")
    shutil.copy(core, bad)
    npages = field_offset(gm, exe, "runtime.mspan", "npages")
    alloc_bits = field_offset(gm, exe, "runtime.mspan", "allocBits")
    freeindex = field_offset(gm, exe, "runtime.mspan", "freeindex")
    # Span 1: an absurd page count. Span 2: an allocation bitmap nowhere, freeindex 0.
    patch(bad, file_offset(bad, spans[0][0]) + npages, (1 << 62).to_bytes(8, "little"))
    patch(bad, file_offset(bad, spans[1][0]) + alloc_bits, (0xdead0000).to_bytes(8, "little"))
    patch(bad, file_offset(bad, spans[1][0]) + freeindex, (0).to_bytes(2, "little"))
    bad_db = os.path.join(tmp, "bad.db")
    res = analyze(gm, bad, exe, bad_db)
    c.no_sanitizer_report(res)
    if not c.check(res.status == 0, f"corrupt spans: analyze exited {res.status}: {res.stderr.strip()}"):
        return
    db = sqlite3.connect(bad_db)
    (warnings,) = db.execute("SELECT value FROM meta WHERE key = 'warnings'").fetchone()
    messages = [m for (m,) in db.execute("SELECT message FROM warnings")]
    (count,) = db.execute("SELECT COUNT(*) FROM objects").fetchone()
    db.close()
    c.check(warnings >= 2, f"corrupt spans: {warnings} warnings: {messages}")
    c.check(any("bad npages" in m for m in messages), f"no warning names the bad span: {messages}")
    c.check(any("allocation bitmap" in m for m in messages), f"no warning names the bitmap: {messages}")
    c.check(count == total - spans[0][1] - spans[1][1],
            f"corrupt spans: {count} objects, want {total} minus the two spans' {spans[0][1] + spans[1][1]}")


def check_truncated(c, gm, core, exe, tmp):
    # Cut inside the last saved segment: the runtime's structures before it
    # survive, so a partial analysis is possible.
    last = max((off, size) for _v, off, size in loads(core) if size > 0)
    cut = os.path.join(tmp, "core.cut")
    with open(core, "rb") as f, open(cut, "wb") as out:
        out.write(f.read(last[0] + last[1] // 2))
    db = os.path.join(tmp, "cut.db")
    res = analyze(gm, cut, exe, db)
    c.no_sanitizer_report(res)
    c.check(res.status == EXIT_BAD_CORE and "truncated" in res.stderr,
            f"truncated core: exit {res.status}: {res.stderr.strip()}")
    leftovers = [f for f in os.listdir(tmp) if f.startswith("cut.db")]
    c.check(not leftovers, f"a failed analyze left {leftovers}")
    res = analyze(gm, cut, exe, db, "--allow-truncated")
    c.no_sanitizer_report(res)
    if c.check(res.status == 0, f"--allow-truncated: exit {res.status}: {res.stderr.strip()}"):
        con = sqlite3.connect(db)
        (partial,) = con.execute("SELECT value FROM meta WHERE key = 'partial'").fetchone()
        c.check(partial == 1, "a truncated core's database is not marked partial")
        con.close()


def check_file_limit(c, gm, core, exe, tmp):
    """Writes beyond a file-size limit fail (EFBIG, SIGXFSZ ignored) as a
    full disk would, at several points of the database's growth."""
    full = os.path.join(tmp, "full.db")
    res = analyze(gm, core, exe, full)
    if not c.check(res.status == 0, f"analyze of the intact core exited {res.status}"):
        return
    size = os.path.getsize(full)
    os.unlink(full)

    def limited(limit):
        def apply():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        return apply

    for fraction in (0.05, 0.3, 0.6, 0.9, 0.99):
        for extra in ([], ["--heap-only"]):
            db = os.path.join(tmp, "limited.db")
            limit = int(size * fraction)
            proc = subprocess.run([gm, "analyze", core, "--exe", exe, "-o", db, "--quiet", *extra],
                                  capture_output=True, text=True, preexec_fn=limited(limit), timeout=600)
            res = gmtest.Run([gm, "analyze"], proc)
            c.no_sanitizer_report(res)
            what = f"file size limit {limit} ({fraction:.0%} of the database){' ' + extra[0] if extra else ''}"
            if extra and proc.returncode == 0:
                os.unlink(db)  # the heap-only database is smaller: it may fit
                continue
            c.check(proc.returncode == EXIT_IO and "limited.db" in proc.stderr,
                    f"{what}: exit {proc.returncode}: {proc.stderr.strip()}")
            leftovers = [f for f in os.listdir(tmp) if f.startswith("limited.db")]
            c.check(not leftovers, f"{what}: left {leftovers}")


def check_interrupted(c, gm, core, exe, tmp):
    """Interrupt analyze once its temporary file exists: the file goes with it."""
    import time
    for sig in (signal.SIGTERM, signal.SIGINT):
        db = os.path.join(tmp, "interrupted.db")
        proc = subprocess.Popen([gm, "analyze", core, "--exe", exe, "-o", db, "--quiet"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        tmp_file = f"{db}.tmp-{proc.pid}"
        deadline = time.monotonic() + 300
        while not os.path.exists(tmp_file) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        if proc.poll() is None:
            proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=300)
        if proc.returncode == 0:
            print(f"note: analyze finished before {sig.name} reached it; not checked")
            os.unlink(db)
            continue
        c.check(proc.returncode == -sig, f"{sig.name}: exit {proc.returncode}: {stderr.strip()}")
        leftovers = [f for f in os.listdir(tmp) if f.startswith("interrupted.db")]
        c.check(not leftovers, f"{sig.name} during analyze left {leftovers}")


def main():
    gm, c, picks = gmtest.zoo_driver("test_analyze_bad")
    zoo = picks["zoo"]
    core, exe = os.path.join(zoo, "core"), os.path.join(zoo, "exe")
    tmp = tempfile.mkdtemp(prefix="gomortem-analyze-bad-")
    try:
        check_corrupt_spans(c, gm, core, exe, tmp)
        check_truncated(c, gm, core, exe, tmp)
        check_file_limit(c, gm, core, exe, tmp)
        big = picks.get("growmap-big", zoo)
        check_interrupted(c, gm, os.path.join(big, "core"), os.path.join(big, "exe"), tmp)
        if "zoo-nodwarf" in picks:
            # Without DWARF and without a layout table for its Go version (a copy
            # of the -w executable claiming go1.29): refused, nothing left.
            nd = picks["zoo-nodwarf"]
            version = os.path.basename(os.path.dirname(nd))
            fake_exe, fake = gmtest.exe_claiming_version(nd, gmtest.go_version(version), tmp)
            db = os.path.join(tmp, "nodwarf.db")
            # --force-version: the claimed version is outside the known range too.
            res = analyze(gm, os.path.join(nd, "core"), fake_exe, db, "--force-version")
            c.check(res.status == EXIT_NO_DWARF and f"no runtime layout table for {fake}" in res.stderr and
                    "--runtime-from" in res.stderr, f"no DWARF, no table: exit {res.status}: {res.stderr.strip()}")
            c.check(not any(f.startswith("nodwarf.db") for f in os.listdir(tmp)),
                    "analyze without DWARF left a file")
        res = gmtest.run([gm, "analyze", core])
        c.check(res.status == 2 and "-o" in res.stderr, f"missing -o: exit {res.status}")
    finally:
        shutil.rmtree(tmp)
    c.finish()


if __name__ == "__main__":
    main()
