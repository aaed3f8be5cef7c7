"""gomortem capture on the live-mode corpus scenarios (zoo, goroutines), run
here as corpora/generate's run_live runs them: paused after writing their
heap dump.  The captured core is checked against the same oracles as the
corpus's gcore'd cores (heap dump and truth for the objects, the SIGQUIT
goroutine dump for the goroutines), and its database is compared with the
database of a gcore of the same process, table by table.  The process must
go on running (it answers SIGQUIT with its goroutine dump and exit status
2), and gdb must open the core and see every thread."""
import os
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(__file__)
for sub in ("lib", "heap", "goroutines"):
    sys.path.insert(0, os.path.join(HERE, "..", sub))
import gmtest  # noqa: E402
import test_goroutines  # noqa: E402
import test_heap_walk  # noqa: E402

# What a capture and a later gcore of the same idle process must agree on.
# The runtime's own per-M and per-P structures change while it idles
# (timers, netpoll), so their edges are left out, as tests/graph does.
SAME_QUERIES = {
    "objects": "SELECT o.addr, o.size, t.name FROM objects o LEFT JOIN types t ON t.id = o.type_id",
    "edges": "SELECT s.addr, e.src_off, d.addr FROM edges e JOIN objects s ON s.id = e.src "
             "JOIN objects d ON d.id = e.dst LEFT JOIN types t ON t.id = s.type_id "
             "WHERE coalesce(t.name, '') NOT IN ('runtime.p', 'runtime.m', 'runtime.mPadded')",
    "goroutines": "SELECT * FROM goroutines",
    "frames": "SELECT * FROM frames",
    "spans": "SELECT * FROM spans",
    "memstats": "SELECT * FROM memstats",
}


def start_live(exe, rundir):
    proc = subprocess.Popen([exe, "-out", ".", "-live"], cwd=rundir, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(rundir, "traceback.txt"), "w"),
                            env={**os.environ, "GOTRACEBACK": "all"})
    ready = os.path.join(rundir, "ready")
    for _ in range(1200):
        if os.path.exists(ready) and open(ready).read().strip() == "ready":
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    return None


def process_state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def rows(db_path, query):
    db = sqlite3.connect(db_path)
    got = sorted(db.execute(query).fetchall(), key=repr)
    db.close()
    return got


def check_gdb(c, where, exe, core, nthreads):
    out = subprocess.run(["gdb", "-batch", "-nx", "-ex", "info threads", exe, core],
                         capture_output=True, text=True, timeout=300).stdout
    lwps = set(re.findall(r"\bLWP (\d+)\b", out))
    c.check(len(lwps) == nthreads, f"{where}: gdb sees {len(lwps)} threads, the process had {nthreads}:\n{out[-800:]}")


def capture_scenario(c, gm, where, exe, tmp):
    rundir = os.path.join(tmp, "run")
    os.makedirs(rundir)
    proc = start_live(exe, rundir)
    if not c.check(proc is not None, f"{where}: the live program did not become ready"):
        return None
    try:
        nthreads = len(os.listdir(f"/proc/{proc.pid}/task"))
        core = os.path.join(rundir, "core")
        res = gmtest.run([gm, "capture", str(proc.pid), "-o", core])
        c.no_sanitizer_report(res)
        if not c.check(res.status == 0, f"{where}: capture exited {res.status}: {res.stderr.strip()}"):
            return None
        m = re.search(r"paused ([\d.]+) ms", res.stderr)
        c.check(m is not None, f"{where}: capture did not print the pause: {res.stderr.strip()}")
        print(f"{where}: {res.stderr.strip()}")
        # As gcore does it, without the snapshot: the same database is wanted.
        res = gmtest.run([gm, "capture", str(proc.pid), "-o", os.path.join(tmp, "stop-copy.core"), "--stop-copy"])
        c.no_sanitizer_report(res)
        c.check(res.status == 0 and "copied while stopped" in res.stderr,
                f"{where}: capture --stop-copy exited {res.status}: {res.stderr.strip()}")
        # --precopy: copied while running, the written pages again in a second
        # stop; the same database is wanted (compare_with_gcore).
        res = gmtest.run([gm, "capture", str(proc.pid), "-o", os.path.join(tmp, "precopy.core"), "--precopy"])
        c.no_sanitizer_report(res)
        c.check(res.status == 0 and ("copied again" in res.stderr or "no asynchronous write protection" in res.stderr),
                f"{where}: capture --precopy exited {res.status}: {res.stderr.strip()}")
        print(f"{where}: {res.stderr.strip()}")
        # --slim: the free heap pages left out, the analysis the same.
        res = gmtest.run([gm, "capture", str(proc.pid), "-o", os.path.join(tmp, "slim.core"), "--slim"])
        c.no_sanitizer_report(res)
        c.check(res.status == 0 and "--slim:" in res.stderr,
                f"{where}: capture --slim exited {res.status}: {res.stderr.strip()}")
        with open(os.path.join(tmp, "slim.core"), "rb") as f:
            c.check(b"gomortem capture --slim: " in f.read(1 << 20), f"{where}: --slim wrote no note")
        time.sleep(0.2)
        c.check(proc.poll() is None and process_state(proc.pid) not in ("T", "t"),
                f"{where}: the process is not running after the capture")
        gcored = subprocess.run(["gcore", "-o", os.path.join(tmp, "gcore"), str(proc.pid)],
                                capture_output=True, text=True, timeout=600)
        c.check(gcored.returncode == 0, f"{where}: gcore failed: {gcored.stderr[-500:]}")
        # The process answers SIGQUIT with its goroutine dump: it runs normally.
        proc.send_signal(signal.SIGQUIT)
        proc.wait(timeout=60)
        c.check(proc.returncode == 2, f"{where}: after SIGQUIT the process exited {proc.returncode}, want 2")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    check_gdb(c, where, exe, core, nthreads)
    if os.path.exists(os.path.join(tmp, "precopy.core")):
        check_gdb(c, f"{where} --precopy", exe, os.path.join(tmp, "precopy.core"), nthreads)
    os.symlink(exe, os.path.join(rundir, "exe"))
    return rundir, os.path.join(tmp, f"gcore.{proc.pid}")


def compare_with_gcore(c, gm, where, sdir, gcore, tmp):
    dbs = {}
    cores = {"capture": os.path.join(sdir, "core"), "stop-copy": os.path.join(tmp, "..", "stop-copy.core"),
             "slim": os.path.join(tmp, "..", "slim.core"), "precopy": os.path.join(tmp, "..", "precopy.core"),
             "gcore": gcore}
    for label, core in cores.items():
        dbs[label] = os.path.join(tmp, f"{label}.db")
        res = gmtest.run([gm, "analyze", core, "--exe", os.path.join(sdir, "exe"), "-o", dbs[label], "--quiet"])
        c.no_sanitizer_report(res)
        if not c.check(res.status == 0, f"{where}: analyze {label} exited {res.status}: {res.stderr.strip()}"):
            return
    for label in ("capture", "stop-copy", "slim", "precopy"):
        for table, query in SAME_QUERIES.items():
            a, b = rows(dbs[label], query), rows(dbs["gcore"], query)
            c.check(a == b, f"{where}: table {table}: {label} {len(a)} rows, gcore {len(b)}; "
                    f"first differences {sorted(set(a) ^ set(b), key=repr)[:3]}")
    size = {label: os.path.getsize(p) for label, p in cores.items()}
    print(f"{where}: core sizes {size}")


def check_bad_input(c, gm):
    with tempfile.TemporaryDirectory(prefix="gomortem-test-") as tmp:
        gone = subprocess.Popen(["true"])
        gone.wait()
        res = gmtest.run([gm, "capture", str(gone.pid), "-o", os.path.join(tmp, "x.core")])
        c.no_sanitizer_report(res)
        c.check(res.status == 3 and f"/proc/{gone.pid}" in res.stderr and os.listdir(tmp) == [],
                f"capture of a process that is gone: {res.status} {res.stderr.strip()} {os.listdir(tmp)}")
        sleeper = subprocess.Popen(["sleep", "60"])
        try:
            bad = os.path.join(tmp, "no", "such", "x.core")
            res = gmtest.run([gm, "capture", str(sleeper.pid), "-o", bad])
            c.check(res.status == 3 and bad in res.stderr, f"capture into a missing directory: {res.status} "
                    f"{res.stderr.strip()}")
            res = gmtest.run([gm, "capture", "abc", "-o", bad])
            c.check(res.status == 2, f"capture of 'abc': {res.status}")
            c.check(sleeper.poll() is None, "the process did not survive the failed captures")
        finally:
            sleeper.kill()
            sleeper.wait()


def core_reader(path):
    """A function reading N bytes at a virtual address of the ELF core PATH
    (its PT_LOAD segments; bytes past a segment's file size read as zeros)."""
    data = open(path, "rb").read()
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    loads = []
    for i in range(phnum):
        p_type, _, offset, vaddr, _, filesz, memsz = struct.unpack_from("<IIQQQQQ", data, phoff + i * phentsize)
        if p_type == 1:
            loads.append((vaddr, memsz, offset, filesz))

    def read(addr, n):
        for vaddr, memsz, offset, filesz in loads:
            if vaddr <= addr and addr + n <= vaddr + memsz:
                at = addr - vaddr
                return data[offset + at:offset + at + n] if at + n <= filesz else bytes(n)
        raise KeyError(f"{addr:#x} is in no segment of {path}")
    return read


def check_writer_core(c, where, core, addrs):
    """The invariant of page_writer.c: one instant of its sweep."""
    buf, gen_at, cursor_at, pages = addrs
    read = core_reader(core)
    u64 = lambda addr: struct.unpack("<Q", read(addr, 8))[0]  # noqa: E731
    gen, cursor = u64(gen_at), u64(cursor_at)
    vals = [u64(buf + i * 4096) for i in range(pages)]
    bad = [i for i, v in enumerate(vals)
           if not (v == gen + 1 if i < cursor else v == gen if i > cursor else v in (gen, gen + 1))]
    c.check(gen > 0 and not bad, f"{where}: gen {gen} cursor {cursor}: {len(bad)} pages of another instant, "
            f"first {[(i, vals[i]) for i in bad[:4]]}")


def check_precopy_while_writing(c, gm):
    """capture --precopy of a process that writes all the time: the core
    must be of one instant (page_writer.c), and so must the snapshot's."""
    if not shutil.which("cc"):
        print("SKIP part: no C compiler for page_writer.c")
        return
    with tempfile.TemporaryDirectory(prefix="gomortem-test-") as tmp:
        exe = os.path.join(tmp, "page_writer")
        subprocess.run(["cc", "-O1", "-o", exe, os.path.join(HERE, "page_writer.c")], check=True)
        info = os.path.join(tmp, "addrs")
        proc = subprocess.Popen([exe, info])
        try:
            for _ in range(1200):
                if os.path.exists(info) and open(info).read().endswith("\n"):
                    break
                time.sleep(0.05)
            words = open(info).read().split()
            addrs = (int(words[0], 16), int(words[1], 16), int(words[2], 16), int(words[3]))
            for label, extra, want in (("--precopy", ["--precopy"], "copied again"),
                                       ("snapshot", [], "copied from a snapshot")):
                core = os.path.join(tmp, f"{label}.core")
                res = gmtest.run([gm, "capture", str(proc.pid), "-o", core, *extra])
                c.no_sanitizer_report(res)
                if not c.check(res.status == 0 and want in res.stderr,
                               f"page_writer {label}: exited {res.status}: {res.stderr.strip()}"):
                    continue
                print(f"page_writer {label}: {res.stderr.strip()}")
                check_writer_core(c, f"page_writer {label}", core, addrs)
                os.unlink(core)
            c.check(proc.poll() is None, "page_writer did not survive the captures")
        finally:
            proc.kill()
            proc.wait()


def main():
    gm = gmtest.gomortem()
    root = gmtest.corpus_dir()
    if os.geteuid() != 0 and open("/proc/sys/kernel/yama/ptrace_scope").read().strip() != "0":
        gmtest.skip("ptrace of a non-child needs root or kernel.yama.ptrace_scope = 0")
    if not shutil.which("gcore"):
        gmtest.skip("gcore (gdb) is not installed")
    found = list(gmtest.scenarios(root, lambda d: os.path.basename(d).endswith("-live")))
    newest = max((v for v, _, _ in found), key=lambda v: [int(x) for x in v[2:].split(".")], default=None)
    c = gmtest.Checker("acquire_capture")
    check_bad_input(c, gm)
    check_precopy_while_writing(c, gm)
    for version, name, corpus_sdir in found:
        if version != newest:
            continue
        where = f"{version}/{name} captured"
        with tempfile.TemporaryDirectory(prefix="gomortem-test-") as tmp:
            got = capture_scenario(c, gm, where, os.path.realpath(os.path.join(corpus_sdir, "exe")), tmp)
            if not got:
                continue
            sdir, gcore = got
            work = os.path.join(tmp, "work")
            os.makedirs(work)
            test_heap_walk.check_scenario(c, gm, where, sdir, work)
            test_goroutines.check_scenario(c, gm, where, sdir, work)
            compare_with_gcore(c, gm, where, sdir, gcore, work)
    if newest is None:
        gmtest.skip(f"no live cores under {root}")
    c.finish()


if __name__ == "__main__":
    main()
