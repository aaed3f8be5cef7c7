"""gomortem watch.

The real thing on cgroup v1 (the memory controller at /sys/fs/cgroup/memory):
corpora/leak, a Go program that leaks main.Session objects, runs in a child
group with a 200 MB limit, where the kernel's OOM killer ends it.  In
repeated runs, watch --analyze must capture it before that (the kernel's
own count, memory.oom_control oom_kill, says the killer acted afterwards),
and the analysis must name main.Session as the largest retainer.

The cgroup v2 reader on its file formats: a directory laid out as a v2
group (memory.current, memory.max, memory.high, memory.events,
cgroup.procs) whose numbers the test writes.  And exit status 13 when the
watched process ends first."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import gmtest  # noqa: E402

REPO = os.path.join(os.path.dirname(__file__), "..", "..")
V1_ROOT = "/sys/fs/cgroup/memory"
LIMIT = 200 << 20
RUNS = 3
MB = 1 << 20


def build_leak(tmp):
    exe = os.path.join(tmp, "leak")
    subprocess.run(["go", "build", "-o", exe, "./leak"], cwd=os.path.join(REPO, "corpora"), check=True,
                   env={**os.environ, "GOFLAGS": "-buildvcs=false"})
    return exe


def v1_oom_kills(group):
    with open(os.path.join(group, "memory.oom_control")) as f:
        return dict(line.split() for line in f).get("oom_kill")


def run_v1(c, gm, leak, tmp, run):
    group = os.path.join(V1_ROOT, f"gomortem-test-{os.getpid()}-{run}")
    os.mkdir(group)
    try:
        with open(os.path.join(group, "memory.limit_in_bytes"), "w") as f:
            f.write(str(LIMIT))
        if os.path.exists(os.path.join(group, "memory.memsw.limit_in_bytes")):
            with open(os.path.join(group, "memory.memsw.limit_in_bytes"), "w") as f:
                f.write(str(LIMIT))   # no swap to escape to
        out = os.path.join(tmp, f"run{run}")
        os.mkdir(out)
        # The shell joins the group, then becomes the leaking program.
        victim = subprocess.Popen(["sh", "-c", f'echo $$ > {group}/cgroup.procs && exec {leak} -rate 40'],
                                  stderr=subprocess.DEVNULL)
        for _ in range(200):   # until it is in the group
            with open(os.path.join(group, "cgroup.procs")) as f:
                if str(victim.pid) in f.read().split():
                    break
            time.sleep(0.01)
        res = gmtest.run([gm, "watch", "--cgroup", group, "--at", "75%", "-o", out, "--analyze",
                          "--poll", "0.02"], timeout=300)
        c.no_sanitizer_report(res)
        where = f"v1 run {run}"
        c.check(res.status == 0, f"{where}: watch exited {res.status}: {res.stderr.strip()}")
        print(f"{where}: {res.stderr.strip()}")
        # The kernel's count, read by watch as the capture was complete (the
        # analysis after it takes seconds, during which the leak meets the limit).
        m = re.search(r"OOM kills in the cgroup: (\d+) before the capture, (\d+) when it was complete", res.stderr)
        victim.wait(timeout=120)
        c.check(m is not None and m.groups() == ("0", "0"),
                f"{where}: the OOM killer acted before the capture was complete: {m.groups() if m else res.stderr}")
        c.check(victim.returncode == -9 and v1_oom_kills(group) == "1",
                f"{where}: the leak was not ended by the OOM killer (status {victim.returncode}, "
                f"oom_kill {v1_oom_kills(group)})")
        check_analysis(c, gm, where, out)
    finally:
        for _ in range(50):
            try:
                os.rmdir(group)
                break
            except OSError:
                time.sleep(0.1)


def check_analysis(c, gm, where, out):
    dbs = [f for f in os.listdir(out) if f.endswith(".db")]
    cores = [f for f in os.listdir(out) if f.startswith("core.") and not f.endswith(".db")]
    if not c.check(len(cores) == 1 and len(dbs) == 1, f"{where}: want one core and its database, got {os.listdir(out)}"):
        return
    db = os.path.join(out, dbs[0])
    top = gmtest.run([gm, "sql", db, "SELECT type, retained FROM top_retainers LIMIT 1"]).stdout.split("\n")
    reach = gmtest.run([gm, "sql", db, "SELECT value FROM meta WHERE key = 'reachable_bytes'"]).stdout.split()
    row = top[2].split() if len(top) > 2 else []
    c.check(row[:1] == ["main.Session"], f"{where}: the largest retainer is {row}, not main.Session")
    if row[:1] == ["main.Session"] and reach:
        share = int(row[1]) / int(reach[-1])
        c.check(share > 0.9, f"{where}: the top main.Session retains only {share:.0%} of the reachable bytes")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def check_v2_formats(c, gm, tmp):
    group = os.path.join(tmp, "v2")
    os.mkdir(group)
    sleeper = subprocess.Popen(["sleep", "600"])
    try:
        write(os.path.join(group, "cgroup.procs"), f"{sleeper.pid}\n")
        write(os.path.join(group, "memory.current"), f"{100 * MB}\n")
        write(os.path.join(group, "memory.max"), "max\n")
        write(os.path.join(group, "memory.high"), f"{400 * MB}\n")
        write(os.path.join(group, "memory.events"), "low 0\nhigh 7\nmax 0\noom 0\noom_kill 2\noom_group_kill 0\n")
        res = gmtest.run([gm, "watch", "--cgroup", group, "--at", "50%", "--show"])
        c.no_sanitizer_report(res)
        c.check(res.status == 0 and "(v2): 100 MB used, limit 400 MB (memory.high), 2 OOM kills so far; "
                "capture at 200 MB" in res.stdout, f"v2 show: {res.status} {res.stdout} {res.stderr}")
        write(os.path.join(group, "memory.max"), f"{300 * MB}\n")
        res = gmtest.run([gm, "watch", "--cgroup", group, "--at", "90%", "--show"])
        c.check("limit 300 MB (memory.max)" in res.stdout and "capture at 270 MB" in res.stdout,
                f"v2 show with memory.max below memory.high: {res.stdout} {res.stderr}")
        # Below the threshold: no capture; crossing it: one.
        out = os.path.join(tmp, "v2-cores")
        os.mkdir(out)
        watch = subprocess.Popen([gm, "watch", "--cgroup", group, "--at", "90%", "-o", out, "--poll", "0.02"],
                                 stderr=subprocess.PIPE, text=True)
        time.sleep(1)
        c.check(watch.poll() is None and os.listdir(out) == [], "v2: captured below the threshold")
        write(os.path.join(group, "memory.current"), f"{280 * MB}\n")
        _, err = watch.communicate(timeout=120)
        c.check(watch.returncode == 0, f"v2: watch exited {watch.returncode}: {err.strip()}")
        cores = os.listdir(out)
        c.check(cores == [f for f in cores if f.startswith(f"core.{sleeper.pid}.")] and len(cores) == 1,
                f"v2: cores {cores}")
        if len(cores) == 1:
            with open(os.path.join(out, cores[0]), "rb") as f:
                c.check(f.read(18)[:4] == b"\x7fELF", "v2: the capture is not an ELF file")
        c.check(sleeper.poll() is None, "v2: the captured process did not survive")
        write(os.path.join(group, "memory.max"), "max\n")
        write(os.path.join(group, "memory.high"), "max\n")
        res = gmtest.run([gm, "watch", "--cgroup", group, "--at", "50%", "--show"])
        c.check(res.status == 2 and "no memory limit" in res.stderr and group in res.stderr,
                f"v2 without a limit: {res.status} {res.stderr.strip()}")
    finally:
        sleeper.kill()
        sleeper.wait()


def check_target_gone(c, gm, tmp):
    short = subprocess.Popen(["sleep", "0.5"])
    res = gmtest.run([gm, "watch", "--pid", str(short.pid), "--at", "10G", "-o", tmp], timeout=60)
    short.wait()
    c.no_sanitizer_report(res)
    c.check(res.status == 13 and f"process {short.pid} ended" in res.stderr,
            f"watch of a process that ends: {res.status} {res.stderr.strip()}")
    res = gmtest.run([gm, "watch", "--cgroup", tmp, "--at", "50%"])
    c.check(res.status == 3 and tmp in res.stderr, f"watch of a directory that is no cgroup: {res.status} {res.stderr}")


def check_cgroup_namespace(c, gm):
    """--pid from another cgroup namespace (a container's view): the paths of
    /proc/PID/cgroup and the mount's root are then relative to the namespace
    ("/../../group"); the group is found where the mount shows it, and where
    no mount shows it the error says so (exit 3)."""
    if not shutil.which("unshare"):
        print("SKIP part: no unshare(1) for the cgroup namespace check")
        return
    name = f"gomortem-test-ns-{os.getpid()}"
    group = os.path.join(V1_ROOT, name)
    os.mkdir(group)
    sleeper = None
    try:
        write(os.path.join(group, "memory.limit_in_bytes"), f"{500 * MB}\n")
        sleeper = subprocess.Popen(["sh", "-c", f"echo $$ > {group}/cgroup.procs && exec sleep 600"])
        for _ in range(200):
            if os.path.realpath(f"/proc/{sleeper.pid}/exe").endswith("sleep"):
                break
            time.sleep(0.05)
        res = gmtest.run(["unshare", "-C", gm, "watch", "--pid", str(sleeper.pid), "--at", "90%", "--show"])
        c.no_sanitizer_report(res)
        c.check(res.status == 0 and f"cgroup {group} (v1)" in res.stdout and "limit 500 MB" in res.stdout,
                f"watch --pid from another cgroup namespace: {res.status} {res.stdout} {res.stderr.strip()}")
        with tempfile.TemporaryDirectory(prefix="gomortem-test-") as mnt:
            # A mount of the namespace's own subtree, as a container has: the group is not under it.
            script = (f"umount {V1_ROOT} && mount -t cgroup -o memory memory {mnt} && "
                      f"exec {gm} watch --pid {sleeper.pid} --at 90% --show")
            res = gmtest.run(["unshare", "-C", "-m", "--propagation", "private", "sh", "-c", script])
            c.no_sanitizer_report(res)
            c.check(res.status == 3 and f"/../{name} is not under a cgroup mount here" in res.stderr,
                    f"watch --pid of a group no mount shows: {res.status} {res.stderr.strip()}")
    finally:
        if sleeper:
            sleeper.kill()
            sleeper.wait()
        for _ in range(100):
            try:
                os.rmdir(group)
                break
            except OSError:
                time.sleep(0.05)


def main():
    gm = gmtest.gomortem()
    if os.geteuid() != 0:
        gmtest.skip("needs root (ptrace, cgroups)")
    if not shutil.which("go"):
        gmtest.skip("go is not installed")
    c = gmtest.Checker("acquire_watch")
    with tempfile.TemporaryDirectory(prefix="gomortem-test-") as tmp:
        check_v2_formats(c, gm, tmp)
        check_target_gone(c, gm, tmp)
        if os.path.exists(os.path.join(V1_ROOT, "memory.limit_in_bytes")):
            check_cgroup_namespace(c, gm)
            leak = build_leak(tmp)
            for run in range(RUNS):
                run_v1(c, gm, leak, tmp, run)
        else:
            print(f"SKIP part: no cgroup v1 memory controller at {V1_ROOT}")
    c.finish()


if __name__ == "__main__":
    main()
