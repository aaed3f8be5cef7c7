"""Goroutines of every corpus core against the goroutine dump Go printed
(the crash traceback, or for gcore cores the SIGQUIT dump taken right
after): the same goroutine ids, each with the same status."""
import os
import sqlite3
import sys
import tempfile

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import gmtest  # noqa: E402
import traceback as gotraceback  # noqa: E402


def check_scenario(c, gm, where, sdir, tmp):
    db_path = os.path.join(tmp, "g.db")
    res = gmtest.run([gm, "analyze", os.path.join(sdir, "core"), "--exe", os.path.join(sdir, "exe"),
                      "-o", db_path, "--quiet"])
    c.no_sanitizer_report(res)
    if not c.check(res.status == 0, f"{where}: analyze exited {res.status}: {res.stderr.strip()}"):
        return
    db = sqlite3.connect(db_path)
    got = {goid: (status, locked) for goid, status, locked in
           db.execute("SELECT goid, status, locked FROM goroutines")}
    db.close()
    os.unlink(db_path)
    want = gotraceback.parse_file(os.path.join(sdir, "traceback.txt"))
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


def main():
    gm = gmtest.gomortem()
    root = gmtest.corpus_dir()
    c = gmtest.Checker("test_goroutines")
    seen = 0
    with tempfile.TemporaryDirectory(prefix="gomortem-goroutines-") as tmp:
        for version, name, sdir in gmtest.scenarios(root):
            if name.endswith("-nodwarf"):
                continue
            seen += 1
            check_scenario(c, gm, f"{version}/{name}", sdir, tmp)
    if not seen:
        gmtest.skip(f"no cores under {root}")
    c.finish()


if __name__ == "__main__":
    main()
