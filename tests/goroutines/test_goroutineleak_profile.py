"""Leaked goroutines against the runtime's own goroutine leak detector: the
leaks scenario built with Go 1.27 (GOMORTEM_LEAK_PROFILE_GO, default
go1.27.3), whose pprof has a goroutineleak profile, writes that profile
(goroutineleak.txt, asked by GOMORTEM_LEAK_PROFILE=1) before it crashes; gomortem's leaked goroutines of the
core, counted by their innermost frame of package main, equal the profile's
counts, and truth's.  Skipped (77) when that toolchain cannot be had here."""
import collections
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(__file__)
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import gmtest  # noqa: E402

VERSION = os.environ.get("GOMORTEM_LEAK_PROFILE_GO", "go1.27.3")


def profile_counts(path):
    """Per block of a debug=1 profile ("N @ pcs" then "#\tpc\tfunc+off\tfile:line"
    lines, innermost first): N under the block's first function of package main."""
    counts = collections.Counter()
    n = None
    with open(path) as f:
        for line in f:
            m = re.match(r"^(\d+) @ ", line)
            if m:
                n = int(m.group(1))
                continue
            m = re.match(r"^#\t0x[0-9a-f]+\t(\S+?)\+0x[0-9a-f]+\t", line)
            if m and n is not None and m.group(1).startswith("main."):
                counts[m.group(1)] += n
                n = None
    return dict(counts)


def main():
    gm = gmtest.gomortem()
    probe = subprocess.run(["go", "version"], env={**os.environ, "GOTOOLCHAIN": VERSION}, cwd=REPO,
                           capture_output=True, text=True)
    if probe.returncode != 0:
        gmtest.skip(f"cannot run {VERSION}: {probe.stderr.strip()[-200:]}")
    c = gmtest.Checker("goroutineleak_profile")
    with tempfile.TemporaryDirectory(prefix="gomortem-test-") as tmp:
        gen = subprocess.run([os.path.join(REPO, "corpora", "generate"), "--out", tmp, "--versions", VERSION,
                              "--scenarios", "leaks"], capture_output=True, text=True,
                             env={**os.environ, "GOMORTEM_LEAK_PROFILE": "1"})
        sdirs = [os.path.join(tmp, v, "leaks") for v in os.listdir(tmp) if v.startswith("go")]
        if not c.check(gen.returncode == 0 and sdirs, f"generate: {gen.stdout[-500:]} {gen.stderr[-500:]}"):
            c.finish()
        sdir = sdirs[0]
        profile = os.path.join(sdir, "goroutineleak.txt")
        if not c.check(os.path.isfile(profile), f"{VERSION}: the scenario wrote no goroutineleak profile"):
            c.finish()
        want = profile_counts(profile)
        truth = gmtest.load_truth(sdir)["params"]["leaked_goroutines"]["by_function"]
        c.check(want == truth, f"the runtime's profile {want} differs from truth {truth}")
        db = gmtest.analyze(c, gm, VERSION, sdir, os.path.join(tmp, "l.db"))
        if db is not None:
            got = collections.Counter(
                f for (f,) in db.execute(
                    "SELECT (SELECT f.func FROM frames f WHERE f.goid = l.goid AND f.func GLOB 'main.*' "
                    "ORDER BY f.idx LIMIT 1) FROM leaked_goroutines l"))
            c.check(dict(got) == want, f"{VERSION}: gomortem's leaked goroutines {dict(got)}, the runtime's "
                    f"goroutineleak profile {want}")
            db.close()
    c.finish()


if __name__ == "__main__":
    main()
