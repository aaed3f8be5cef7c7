"""Shared helpers of gomortem's test drivers.

A test driver is a small Python program run by ctest.  It exits 0 on
success, 1 on failure (after printing every failed check) and 77 when it
cannot run here (ctest SKIP_RETURN_CODE), saying why.
"""
import json
import os
import re
import shutil
import subprocess
import sys

SKIP = 77


def gomortem():
    """Path of the gomortem binary under test (set by ctest)."""
    path = os.environ.get("GOMORTEM")
    if not path or not os.access(path, os.X_OK):
        skip("GOMORTEM is not set to an executable gomortem")
    return path


def corpus_dir():
    path = os.environ.get("GOMORTEM_CORPUS")
    if not path or not os.path.isdir(path):
        skip(f"corpus directory {path!r} missing: run corpora/generate first")
    return path


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(SKIP)


# Where corpora/generate's qemu-aarch64 found the arm64 libraries (-L).
ARM64_SYSROOT = "/usr/aarch64-linux-gnu"


def folder_arch(version):
    """The GOARCH of a corpus version folder: go1.26.8 is amd64, go1.26.8-arm64 arm64."""
    return version.rsplit("-", 1)[1] if "-" in version else "amd64"


def go_version(version):
    """The Go version of a corpus version folder (go1.26.8-arm64 -> go1.26.8)."""
    return version.rsplit("-", 1)[0] if "-" in version else version


def scenarios(root, want=lambda d: True, stripped=False):
    """Yield (version folder, scenario, dir) for every generated scenario with a
    core; the folder is the Go version, suffixed -arm64 for arm64 cores; the
    stripped builds (-s -w, which only info and the locators handle so far)
    only when STRIPPED."""
    for version in sorted(os.listdir(root)):
        vdir = os.path.join(root, version)
        if not os.path.isdir(vdir) or not version.startswith("go"):
            continue
        for name in sorted(os.listdir(vdir)):
            sdir = os.path.join(vdir, name)
            if name.endswith(".tmp") or not os.path.isfile(os.path.join(sdir, "core")):
                continue
            if name.endswith("-stripped") and not stripped:
                continue
            if want(sdir):
                yield version, name, sdir


def zoo_driver(name):
    """(gomortem, Checker NAME, {scenario: dir}) for a driver built around
    the zoo core of the newest amd64 version; skip (77) when the corpus has
    none. Picked by the folder's architecture, not by sort order: the arm64
    folders (go1.N.M-arm64) sort after their amd64 twins."""
    gm = gomortem()
    root = corpus_dir()
    c = Checker(name)
    picks = {scenario: sdir for version, scenario, sdir in sorted(scenarios(root))
             if folder_arch(version) == "amd64"}
    if "zoo" not in picks:
        skip("corpus lacks a zoo core")
    return gm, c, picks


def build_facts(sdir):
    """The corpus generator's build.txt of the scenario in SDIR (key -> value),
    found beside its executable when SDIR is a run folder of its own (a live
    capture links the scenario's exe)."""
    path = os.path.join(sdir, "build.txt")
    if not os.path.exists(path):
        path = os.path.join(os.path.dirname(os.path.realpath(os.path.join(sdir, "exe"))), "build.txt")
    facts = {}
    with open(path) as f:
        for line in f:
            key, sep, value = line.partition(":")
            if sep:
                facts[key.strip()] = value.strip()
    return facts


def load_truth(sdir):
    with open(os.path.join(sdir, "truth.json")) as f:
        return json.load(f)


class Run:
    """The result of one gomortem run."""

    def __init__(self, args, proc):
        self.args = args
        self.status = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    def json(self):
        return json.loads(self.stdout)


def run(args, timeout=600):
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                          errors="replace")
    return Run(args, proc)


def analyze(c, gm, where, sdir, db_path, extra=(), exe=None):
    """Analyze the scenario's core into DB_PATH (with the EXTRA options; with
    EXE instead of the scenario's executable); a sqlite3 connection, or None
    after recording why the analysis failed."""
    import sqlite3
    # arm64 cores: their libraries where the corpus ran them (qemu -L).
    if folder_arch(os.path.basename(os.path.dirname(os.path.abspath(sdir)))) == "arm64":
        extra = ("--sysroot", ARM64_SYSROOT, *extra)
    res = run([gm, "analyze", os.path.join(sdir, "core"), "--exe", exe or os.path.join(sdir, "exe"),
               "-o", db_path, "--quiet", *extra])
    c.no_sanitizer_report(res)
    if not c.check(res.status == 0, f"{where}: analyze exited {res.status}: {res.stderr.strip()}"):
        return None
    db = sqlite3.connect(db_path)
    # objects and edges are B-trees gomortem writes itself (btree_writer):
    # SQLite must find every database well formed.
    integrity = [r[0] for r in db.execute("PRAGMA integrity_check")]
    c.check(integrity == ["ok"], f"{where}: integrity_check: {integrity[:5]}")
    return db


def exe_claiming_version(sdir, version, tmp):
    """A copy of SDIR's executable claiming go1.29.P instead of VERSION (go1.N.P)
    everywhere (.go.buildinfo and runtime.buildVersion, which the core reads
    from the executable's rodata): a Go version without a layout table.
    Returns (path, fake version), or (None, None) if the lengths differ."""
    fake = "go1.29." + version.split(".")[2]
    if len(fake) != len(version):
        return None, None
    with open(os.path.join(sdir, "exe"), "rb") as f:
        data = f.read().replace(version.encode(), fake.encode())
    path = os.path.join(tmp, "exe-" + fake)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o755)
    return path, fake


def stripped_copy(exe, path):
    """PATH: EXE without its symbol table (objcopy --strip-all, the binutils of
    EXE's architecture), the data layout untouched; None if no objcopy can."""
    machine = subprocess.run(["readelf", "-h", exe], capture_output=True, text=True).stdout
    tool = "aarch64-linux-gnu-objcopy" if "AArch64" in machine else "objcopy"
    # llvm-objcopy is no substitute: it drops .gopclntab's section header.
    if shutil.which(tool) is None or subprocess.run([tool, "--strip-all", exe, path]).returncode != 0:
        return None
    return path


def has_heapdump(sdir):
    """Scenarios that crash without a heap dump on purpose (bigptr) have none."""
    return os.path.isfile(os.path.join(sdir, "heapdump"))


def each_scenario(check, want=lambda version, name: True, need_heapdump=False):
    """Run CHECK(c, gm, where, sdir, tmp) on every corpus scenario WANT
    accepts (and, with NEED_HEAPDUMP, that has a heap dump), in a temporary
    directory; skip (77) when there is none."""
    import tempfile
    gm = gomortem()
    root = corpus_dir()
    c = Checker(os.path.basename(sys.argv[0]).removesuffix(".py"))
    seen = 0
    with tempfile.TemporaryDirectory(prefix="gomortem-test-") as tmp:
        for version, name, sdir in scenarios(root):
            if want(version, name) and (not need_heapdump or has_heapdump(sdir)):
                seen += 1
                check(c, gm, f"{version}/{name}", sdir, tmp)
    if not seen:
        skip(f"no cores under {root}")
    c.finish()


class Checker:
    """Collects failed checks so one run reports all of them."""

    def __init__(self, name):
        self.name = name
        self.failures = []
        self.passes = 0

    def check(self, ok, what):
        if ok:
            self.passes += 1
        else:
            self.failures.append(what)
            print(f"FAIL: {what}")
        return ok

    def no_sanitizer_report(self, result):
        """A sanitizer report means memory misuse even when the exit status looks right."""
        bad = any(s in result.stderr for s in ("Sanitizer", "runtime error:"))
        return self.check(not bad, f"{' '.join(result.args)}: sanitizer report:\n{result.stderr}")

    def finish(self):
        print(f"{self.name}: {self.passes} checks passed, {len(self.failures)} failed")
        sys.exit(1 if self.failures else 0)


def collection(name):
    """The collection NAME is part of (the rule diff's --help states): a
    map's parts as map[K]V, a slice's backing arrays as []T, hchan<T> as
    chan T."""
    m = re.fullmatch(r"(\[\d+\])?\*?(map|hash|table|bucket)<(.*)>", name)
    if m and (m.group(1) or not name.startswith("*")):
        depth = 0
        for i, ch in enumerate(m.group(3)):
            depth += ch in "<[({"
            depth -= ch in ">])}"
            if ch == "," and depth == 0:
                return f"map[{m.group(3)[:i]}]{m.group(3)[i + 1:]}"
    m = re.fullmatch(r"(\[\d+\])?(noalg\.)?map\.group(\[.*)", name)
    if m:
        return "map" + m.group(3)
    m = re.fullmatch(r"hchan<(.*)>", name)
    if m:
        return f"chan {m.group(1)}"
    m = re.fullmatch(r"\[\d+\](.*)", name)
    return f"[]{m.group(1)}" if m else name
