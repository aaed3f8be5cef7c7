"""Goroutines of every corpus core against the goroutine dump Go printed
(the crash traceback, or for gcore cores the SIGQUIT dump taken right
after): the same goroutine ids, each with the same status, creator and
creation site, and the same frames (function, file, line) in the same
order for at least 99% of them (in fact all, so far).  Each goroutine's
wait_since equals the waitsince the runtime's own heap dump recorded; each
goroutine group names the innermost frame of the traceback outside the
runtime (not runtime.gopark) and the sample's creator and creation site."""
import os
import re
import sys

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "oracle"))
import gmtest  # noqa: E402
import heapdump  # noqa: E402
import traceback as gotraceback  # noqa: E402


def printed_name(name):
    """A function name as the traceback prints it: type arguments of shaped
    generic instances become [...], runtime.gopanic is printed as panic."""
    name = re.sub(r"\[[^\]]*\]", "[...]", name)
    return "panic" if name == "runtime.gopanic" else name


def frames_match(db, goid, printed):
    frames = [(printed_name(f), file, line) for f, file, line in
              db.execute("SELECT func, file, line FROM frames WHERE goid = ? ORDER BY idx", (goid,))]
    want = [(printed_name(f), file, line) for f, file, line, _pc in printed.frames]
    if printed.elided:
        frames = frames[:len(want)]
    return frames == want, frames, want


def is_runtime(func):
    return func.startswith(("runtime.", "internal/runtime/")) or ".runtime_" in func or func == "panic"


def check_groups(c, where, db, want, unknown):
    """goroutine_groups: the first frame outside the runtime, the creator."""
    for sample, function, created_by, created_at in db.execute(
            "SELECT sample_goid, function, created_by, created_at FROM goroutine_groups"):
        printed = want.get(sample)
        if printed is None or sample in unknown:
            continue
        user = [f for f, _file, _line, _pc in printed.frames if not is_runtime(f)]
        if user:
            c.check(printed_name(function or "") == user[0],
                    f"{where}: group of goroutine {sample}: function {function}, the traceback's first frame "
                    f"outside the runtime is {user[0]}")
        c.check((created_by, created_at) == (printed.created_by, printed.created_at),
                f"{where}: group of goroutine {sample}: created by {created_by} at {created_at}, traceback "
                f"{printed.created_by} at {printed.created_at}")


def check_wait_since(c, where, db, sdir):
    """g.waitsince against the heap dump's record of the same field, for the
    goroutines the dump saw waiting (_Gwaiting, status 4). One the dump saw
    runnable may run before the crash: execute() zeroes its waitsince and
    gopark does not set it again until the next GC's markroot (go1.27.3's
    background scavenger, goid 4 of leaks, is such a goroutine)."""
    dump = heapdump.parse(os.path.join(sdir, "heapdump"))
    theirs = {g["goid"]: g["waitsince"] for g in dump.goroutines if g["status"] == 4}
    ours = dict(db.execute("SELECT goid, COALESCE(wait_since, 0) FROM goroutines"))
    differ = [(goid, ours[goid], theirs[goid]) for goid in sorted(set(ours) & set(theirs))
              if ours[goid] != theirs[goid]]
    c.check(not differ, f"{where}: wait_since differs from the heap dump's waitsince (goid, ours, "
            f"theirs): {differ[:5]}")
    c.check(any(theirs.values()) == any(ours.values()), f"{where}: no waitsince to compare")


def bounds_match(db, goid, printed):
    """The frames whose pc the dump printed (GOTRACEBACK=crash) have the
    dump's pc, sp and fp: the unwinding itself, not only the names."""
    got = list(db.execute("SELECT pc, sp, fp FROM frames WHERE goid = ? ORDER BY idx", (goid,)))
    want = [(f[3], b[1], b[0]) for f, b in zip(printed.frames, printed.frame_bounds) if b is not None]
    mine = [g for g, b in zip(got, printed.frame_bounds) if b is not None]
    return mine == want, mine, want


def native_unknown(c, where, db):
    """Goroutines whose frames the analysis reports unknown because their
    thread sits in a C library with no Go signal frame in reach.  It happens
    only where native frames cannot be unwound (the arm64 column: qemu's
    crash path sometimes catches the crashing goroutine's thread inside
    libc's sigaction: 2 of the 7 arm64 cgo cores of one CI run) and only to
    a cgo program; such a goroutine must then have no frames at all (nothing
    guessed)."""
    unknown = {int(m.group(1)) for (msg,) in db.execute("SELECT message FROM warnings WHERE stage = 'stacks'")
               if (m := re.match(r"goroutine (\d+): frames unknown: its thread \d+ is on the signal stack", msg))}
    if unknown:
        c.check(gmtest.folder_arch(where.split("/")[0]) != "amd64" and where.endswith("/cgo") and len(unknown) == 1,
                f"{where}: frames unknown for goroutines {sorted(unknown)} (thread in native code)")
        for goid in unknown:
            (n,) = db.execute("SELECT COUNT(*) FROM frames WHERE goid = ?", (goid,)).fetchone()
            c.check(n == 0, f"{where}: goroutine {goid}: frames unknown, yet {n} frames stored")
    return unknown


def check_scenario(c, gm, where, sdir, tmp):
    db_path = os.path.join(tmp, "g.db")
    db = gmtest.analyze(c, gm, where, sdir, db_path)
    if db is None:
        return
    got = {goid: (status, locked, created_by, created_at) for goid, status, locked, created_by, created_at in
           db.execute("SELECT goid, status, locked, created_by, created_at FROM goroutines")}
    want = gotraceback.parse_file(os.path.join(sdir, "traceback.txt"))
    unknown = native_unknown(c, where, db)
    matched, total, with_bounds = 0, 0, 0
    for goid in sorted(set(want) & set(got) - unknown):
        ok, frames, printed = frames_match(db, goid, want[goid])
        total += 1
        matched += ok
        if not ok:
            print(f"note: {where}: goroutine {goid} frames differ:\n  got  {frames}\n  want {printed}")
        else:
            ok, mine, bounds = bounds_match(db, goid, want[goid])
            with_bounds += bool(bounds)
            c.check(ok, f"{where}: goroutine {goid}: (pc, sp, fp) {[tuple(map(hex, b)) for b in mine]}, "
                    f"the dump {[tuple(map(hex, b)) for b in bounds]}")
    c.check(total and matched >= 0.99 * total, f"{where}: frames match for {matched} of {total} goroutines")
    if gmtest.load_truth(sdir).get("mode") == "crash":
        c.check(with_bounds > 0, f"{where}: a crash dump without fp/sp/pc")
    check_groups(c, where, db, want, unknown)
    # A live process ran on after its heap dump; bigptr writes none on purpose.
    if not where.endswith("-live") and os.path.isfile(os.path.join(sdir, "heapdump")):
        check_wait_since(c, where, db, sdir)
    db.close()
    os.unlink(db_path)
    c.check(len(want) > 0, f"{where}: no goroutines in the traceback")
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    c.check(not missing, f"{where}: goroutines of the traceback missing: {missing}")
    c.check(not extra, f"{where}: goroutines not in the traceback: {extra}")
    for goid in sorted(set(want) & set(got)):
        c.check(got[goid][0] == want[goid].status,
                f"{where}: goroutine {goid} is {got[goid][0]!r}, the traceback says {want[goid].status!r}")
        c.check(bool(got[goid][1]) == want[goid].locked,
                f"{where}: goroutine {goid} locked={got[goid][1]}, traceback {want[goid].bracket!r}")
        c.check(got[goid][2] == want[goid].created_by and got[goid][3] == want[goid].created_at,
                f"{where}: goroutine {goid} created by {got[goid][2:]} , traceback says "
                f"{want[goid].created_by} at {want[goid].created_at}")


def main():
    gmtest.each_scenario(check_scenario)

if __name__ == "__main__":
    main()
