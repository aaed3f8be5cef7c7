"""Leaked goroutines against the truth, on every corpus core:
- leaks: exactly the goroutines main.startWorkers created are leaked
  (truth's count per function, named here by the traceback Go printed, not
  by the analyzer's frames), all created at main.startWorkers; main.waiter,
  blocked on a channel a global keeps, is not; the goroutines blocked on a
  sync.Mutex only they reach are leaked on every version (g.waiting names
  the mutex from Go 1.26, the runtime's semaphore table before), and no
  goroutine is undecided; the heap objects only they keep alive are
  truth's (the channels, the mutex's Guard and its Session);
- every other scenario (goroutines blocked on global channels and on a
  mutex main holds, sleepers, syscalls, cgo): no goroutine is called leaked;
- the Markdown report's "Leaked goroutines" section gives the count and the
  creator."""
import collections
import os
import sys

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import gmtest  # noqa: E402
import traceback as gotraceback  # noqa: E402


def is_runtime(func):
    return func.startswith(("runtime.", "internal/runtime/")) or ".runtime_" in func


def main_function(printed):
    """The traceback's innermost frame of package main: what truth names."""
    return next((f for f, _file, _line, _pc in printed.frames if f.startswith("main.")), None)


def check(c, gm, where, sdir, tmp):
    db_path = os.path.join(tmp, "l.db")
    db = gmtest.analyze(c, gm, where, sdir, db_path)
    if db is None:
        return
    truth = gmtest.load_truth(sdir)
    printed = gotraceback.parse_file(os.path.join(sdir, "traceback.txt"))
    leaked = [goid for (goid,) in db.execute("SELECT goid FROM leaked_goroutines")]
    meta = dict(db.execute("SELECT key, value FROM meta"))
    want = truth.get("params", {}).get("leaked_goroutines")
    if want is None:
        c.check(not leaked, f"{where}: goroutines called leaked in a scenario that leaks none: {leaked}")
    else:
        by_function = dict(want["by_function"])
        undecided = 0
        got = collections.Counter(main_function(printed[g]) if g in printed else None for g in leaked)
        c.check(dict(got) == by_function, f"{where}: leaked goroutines by function {dict(got)}, truth {by_function}")
        creators = {printed[g].created_by for g in leaked if g in printed}
        c.check(creators == {want["created_by"]}, f"{where}: leaked goroutines created by {creators}")
        c.check(int(meta.get("goroutines_undecided", -1)) == undecided,
                f"{where}: {meta.get('goroutines_undecided')} undecided, want {undecided}")
        c.check(int(meta.get("leaked_goroutine_objects", -1)) == want["only_objects"],
                f"{where}: {meta.get('leaked_goroutine_objects')} objects only leaked goroutines keep alive, "
                f"truth {want['only_objects']}")
        md = gmtest.run([gm, "report", db_path])
        section = md.stdout.split("## Leaked goroutines", 1)[-1].split("\n## ", 1)[0]
        c.check(f"{sum(by_function.values())} goroutines can never wake up" in section and
                want["created_by"] in section, f"{where}: the report's Leaked goroutines section: {section[:300]}")
    db.close()
    os.unlink(db_path)


if __name__ == "__main__":
    # Live cores are left out: their goroutines ran on after the traceback.
    gmtest.each_scenario(check, want=lambda version, name: not name.endswith(("-nodwarf", "-live")))
