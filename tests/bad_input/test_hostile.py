"""Hostile input, round two (issue 19): what a corrupt-core and
crafted-database campaign found, each finding as a check.

- output paths: an -o that names a device or FIFO is streamed to (report,
  pprof) or refused (analyze), never replaced by a regular file; a SIGKILLed
  analyze leaves no temporary file, and stale ones of dead runs are removed;
- hangs: a FIFO as core, executable or database (or named in a database's
  meta) is refused at once; every run here has a time limit;
- crafted databases: a view in the database cannot call the heap functions,
  absurd values neither overflow nor hang;
- terminal injection: control characters from the core are escaped;
- errors name their file and carry the documented status.

GOMORTEM_HOSTILE_LONG=1 runs the longer mode (more random corruptions; see
docs/testing.md)."""
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
import gmtest  # noqa: E402

EXIT_IO, EXIT_BAD_CORE, EXIT_BAD_EXE, EXIT_SQL = 3, 4, 5, 11
LONG = os.environ.get("GOMORTEM_HOSTILE_LONG") == "1"
# No run on input this small may take longer (a hang is a failure, not a wait).
BOUND = 120


def run(c, gm, args, timeout=BOUND, stdin=None):
    what = " ".join(["gomortem"] + args)
    try:
        proc = subprocess.run([gm] + args, capture_output=True, text=True, timeout=timeout,
                              errors="replace", stdin=stdin)
    except subprocess.TimeoutExpired:
        c.check(False, f"{what}: still running after {timeout} s (a hang)")
        return None
    res = gmtest.Run([gm] + args, proc)
    c.no_sanitizer_report(res)
    return res


def expect(c, gm, args, status, *needles, timeout=BOUND):
    res = run(c, gm, args, timeout)
    if res is None:
        return None
    what = " ".join(["gomortem"] + args)
    c.check(res.status == status, f"{what}: exit {res.status}, want {status}; stderr: {res.stderr.strip()}")
    for needle in needles:
        c.check(needle in res.stderr, f"{what}: stderr {res.stderr.strip()!r} lacks {needle!r}")
    return res


def dead_pid():
    """The pid of a process that has ended."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


class Reader(threading.Thread):
    """Reads a FIFO to its end, as `cat FIFO` would."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.data = path, b""
        self.start()

    def run(self):
        with open(self.path, "rb") as f:
            self.data = f.read()


def same_node(c, path, kind, what):
    st = os.lstat(path)
    c.check(kind(st.st_mode), f"{what}: {path} is no longer what it was (mode {st.st_mode:o})")


# ---- output paths ----

def check_streamed_outputs(c, gm, db, tmp):
    """report and pprof stream to a FIFO with a reader and refuse one without."""
    fifo = os.path.join(tmp, "out.fifo")
    os.mkfifo(fifo)
    for cmd, magic in ((["report", db, "-o", fifo], b"#"), (["pprof", db, "-q", "-o", fifo], b"\x1f\x8b")):
        expect(c, gm, cmd, EXIT_IO, fifo, "nobody reads", timeout=30)
        same_node(c, fifo, stat.S_ISFIFO, f"{cmd[0]} -o FIFO without reader")
        reader = Reader(fifo)
        expect(c, gm, cmd, 0, timeout=60)
        reader.join(30)
        c.check(reader.data.startswith(magic), f"{cmd[0]} -o FIFO: the reader got {reader.data[:16]!r}")
        same_node(c, fifo, stat.S_ISFIFO, f"{cmd[0]} -o FIFO")
    expect(c, gm, ["analyze", "/nonexistent", "-o", fifo], EXIT_IO, fifo, "FIFO")
    same_node(c, fifo, stat.S_ISFIFO, "analyze -o FIFO")
    outdir = os.path.join(tmp, "outdir")
    os.mkdir(outdir)
    for cmd in (["report", db], ["pprof", db], ["analyze", "/nonexistent"]):
        expect(c, gm, cmd + ["-o", outdir], EXIT_IO, outdir, "directory")
    c.check(os.listdir(outdir) == [], f"a directory as -o got {os.listdir(outdir)}")


def check_device_outputs(c, gm, db, core, exe, tmp):
    """A character device made here (never the machine's /dev/null), and a
    symlink to it: streamed by report and pprof, refused by analyze."""
    if os.geteuid() != 0:
        print("note: not root: no device node made, the FIFO checks stand for devices")
        return
    null = os.path.join(tmp, "null")
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    link = os.path.join(tmp, "null-link")
    os.symlink(null, link)
    for out in (null, link):
        expect(c, gm, ["report", db, "-o", out], 0)
        expect(c, gm, ["pprof", db, "-q", "-o", out], 0)
        expect(c, gm, ["analyze", core, "--exe", exe, "--quiet", "-o", out], EXIT_IO, out, "character device")
        same_node(c, null, stat.S_ISCHR, f"-o {out}")
        same_node(c, link, stat.S_ISLNK, f"-o {out}")
    left = sorted(f for f in os.listdir(tmp) if f.startswith("null"))
    c.check(left == ["null", "null-link"], f"writes to a device left {left}")


def check_stale_and_killed(c, gm, core, exe, tmp):
    """A temporary whose process is gone is removed by the next run; a live
    one is left alone; SIGKILL during analyze leaves nothing behind."""
    db = os.path.join(tmp, "stale.db")
    stale, live = f"{db}.tmp-{dead_pid()}", f"{db}.tmp-{os.getpid()}"
    for path in (stale, live):
        with open(path, "wb") as f:
            f.write(b"left by a killed run")
    expect(c, gm, ["analyze", core, "--exe", exe, "--quiet", "-o", db], 0)
    c.check(not os.path.exists(stale), "analyze left a dead run's temporary file")
    c.check(os.path.exists(live), "analyze removed a live process's temporary file")
    os.unlink(live)
    killed = os.path.join(tmp, "killed.db")
    proc = subprocess.Popen([gm, "analyze", core, "--exe", exe, "-o", killed, "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tmp_file = f"{killed}.tmp-{proc.pid}"
    deadline = time.monotonic() + BOUND
    while not os.path.exists(tmp_file) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    if proc.poll() is not None:
        print("note: analyze finished before SIGKILL reached it; not checked")
        return
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while os.path.exists(tmp_file) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [f for f in os.listdir(tmp) if f.startswith("killed.db")]
    c.check(not left, f"SIGKILL during analyze left {left}")


# ---- hangs ----

def check_fifo_inputs(c, gm, core, exe, db, tmp):
    """A FIFO nobody writes to, as each input: refused at once (exit 3)."""
    fifo = os.path.join(tmp, "in.fifo")
    os.mkfifo(fifo)
    out = os.path.join(tmp, "fifo-in.db")
    for args in (["info", fifo], ["info", core, "--exe", fifo], ["analyze", fifo, "-o", out],
                 ["analyze", core, "--exe", fifo, "-o", out], ["dwarf", fifo, "runtime.g"],
                 ["sql", fifo, "SELECT 1"], ["report", fifo], ["pprof", fifo, "-o", out],
                 ["path", fifo, "0x1"], ["diff", fifo, db]):
        expect(c, gm, args, EXIT_IO, fifo, timeout=10)
    # A FIFO someone writes a core into is read as a stream (cores piped in).
    def write_core():
        with open(fifo, "wb") as w, open(core, "rb") as r:
            shutil.copyfileobj(r, w)
    writer = threading.Thread(target=write_core, daemon=True)
    writer.start()
    expect(c, gm, ["info", fifo, "--exe", exe], 0, timeout=60)
    writer.join(30)
    # A database whose meta names the FIFO as its core or executable.
    for key in ("core_path", "exe_path"):
        crafted = os.path.join(tmp, f"fifo-{key}.db")
        shutil.copy(db, crafted)
        con = sqlite3.connect(crafted)
        con.execute("UPDATE meta SET value = ? WHERE key = ?", (fifo, key))
        con.commit()
        con.close()
        expect(c, gm, ["sql", crafted, "SELECT go_value(id) FROM objects LIMIT 1"],
               EXIT_SQL, fifo, timeout=10)


# ---- crafted databases ----

def crafted(db, tmp, name, *statements):
    """A copy of DB changed by STATEMENTS (SQL), as someone could send it."""
    path = os.path.join(tmp, name)
    shutil.copy(db, path)
    con = sqlite3.connect(path)
    for sql in statements:
        con.execute(sql)
    con.commit()
    con.close()
    return path


RECURSIVE = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r)"


def check_crafted_databases(c, gm, db, tmp):
    # A view that reads heap memory when someone queries it: the heap
    # functions run only from SQL typed by the user.
    # gomortem's own views, compiled from its embedded schema, still may.
    sneaky = crafted(db, tmp, "sneaky.db", "DROP VIEW top_retainers",
                     "CREATE VIEW top_retainers AS SELECT go_value(id) AS v FROM objects LIMIT 3",
                     "CREATE VIEW secrets AS SELECT go_string(addr, 64) AS v FROM objects LIMIT 3")
    expect(c, gm, ["sql", sneaky, "SELECT * FROM secrets"], EXIT_SQL, "unsafe use of go_string")
    expect(c, gm, ["sql", sneaky, "SELECT go_value(id) IS NOT NULL FROM objects LIMIT 1"], 0)
    for view in ("top_retainers", "duplicate_strings"):
        want = run(c, gm, ["sql", "--csv", db, f"SELECT * FROM {view}"])
        got = expect(c, gm, ["sql", "--csv", sneaky, f"SELECT * FROM {view}"], 0)
        if want and got:
            c.check(got.stdout == want.stdout, f"{view} of the crafted database differs from gomortem's")
    # Views that never end, under the names report reads: report uses its own.
    endless = crafted(db, tmp, "endless.db", "DROP VIEW memory_breakdown", "DROP VIEW type_histogram",
                      f"CREATE VIEW memory_breakdown AS {RECURSIVE} "
                      "SELECT 'c' AS category, x AS bytes, 's' AS source FROM r",
                      f"CREATE VIEW type_histogram AS {RECURSIVE} SELECT x AS type FROM r")
    want = run(c, gm, ["report", db])
    got = expect(c, gm, ["report", endless], 0, timeout=60)
    if want and got:
        # All but the line naming the database (Markdown-escaped: a '_' of the path gets a '\\').
        def body(text):
            return [line for line in text.splitlines() if "report from" not in line]
        c.check(body(got.stdout) == body(want.stdout), "report of crafted views differs from the intact one")
    # gomortem's tables replaced by endless views: refused.  Its own views
    # (objects and edges, over the packed tables) replaced: its copies serve.
    table_view = crafted(db, tmp, "table-view.db", "DROP VIEW objects", "DROP TABLE objects_packed",
                         f"CREATE VIEW objects_packed AS {RECURSIVE} SELECT x AS id FROM r")
    for args in (["report", table_view], ["pprof", table_view, "-o", os.path.join(tmp, "p.pb.gz")],
                 ["path", table_view, "0x1"], ["diff", table_view, db]):
        expect(c, gm, args, EXIT_SQL, "objects_packed is a view", timeout=30)
    endless_objects = crafted(db, tmp, "endless-objects.db", "DROP VIEW objects", "DROP VIEW edges",
                              f"CREATE VIEW objects AS {RECURSIVE} SELECT x AS id, x AS addr FROM r",
                              f"CREATE VIEW edges AS {RECURSIVE} SELECT x AS src, x AS dst FROM r")
    for query in ("SELECT count(*), sum(addr) FROM objects", "SELECT count(*), sum(dst) FROM edges"):
        want = run(c, gm, ["sql", "--csv", db, query])
        got = expect(c, gm, ["sql", "--csv", endless_objects, query], 0, timeout=60)
        if want and got:
            c.check(got.stdout == want.stdout, f"{query} on crafted views differs from gomortem's")
    # The objects view's bases come from meta as integers only: text there
    # is never spliced into the view's SQL.
    spliced = crafted(db, tmp, "meta-text.db",
                      "UPDATE meta SET value = '0 AS addr FROM spans; --' WHERE key = 'objects_addr_base'")
    want = run(c, gm, ["sql", "--csv", db, "SELECT count(*), count(addr) FROM objects"])
    got = expect(c, gm, ["sql", "--csv", spliced, "SELECT count(*), count(addr) FROM objects"], 0)
    if want and got:
        c.check(got.stdout == want.stdout, f"objects over a meta with text bases: {got.stdout!r}")
    # Absurd array types: size * count must not wrap, a walk must end.
    con = sqlite3.connect(db)
    (leaf,) = con.execute("SELECT o.id FROM objects o JOIN types t ON t.id = o.type_id "
                          "WHERE t.name = 'main.Leaf' LIMIT 1").fetchone()
    con.close()
    for count in (2 ** 61, 2 ** 64 - 1):
        huge = crafted(db, tmp, f"huge-{count}.db",
                       f"UPDATE types SET name = '[{count}]main.Leaf' WHERE name = 'main.Leaf'")
        res = expect(c, gm, ["sql", "--json", huge, f"SELECT go_hash({leaf}) AS h, go_value({leaf}) AS v, "
                             f"(SELECT COUNT(*) FROM go_elems({leaf})) AS n"], 0, timeout=30)
        if res and res.status == 0:
            row = res.json()[0]
            c.check(row == {"h": None, "v": None, "n": 0}, f"[{count}]main.Leaf: {row}")
    # Extreme values: refused, no signed overflow.
    extreme = crafted(db, tmp, "extreme-stats.db",
                      "UPDATE type_stats SET reachable_bytes = 9223372036854775807 "
                      "WHERE rowid IN (SELECT rowid FROM type_stats LIMIT 2)")
    expect(c, gm, ["diff", db, extreme], EXIT_SQL, extreme, "not a database gomortem wrote")
    floats = crafted(db, tmp, "extreme-memstats.db",
                     "UPDATE memstats SET value = 1e300 WHERE name IN ('MSpanSys', 'MCacheSys')")
    expect(c, gm, ["report", floats], EXIT_SQL, floats, "not a database gomortem wrote")


# ---- terminal injection ----

PAYLOAD = b"\x1b]0;pwned\x07\x1b[2J\xc2\x9b31m"


def on_terminal(args, timeout=BOUND):
    """stdout of a run whose stdout is a terminal (a pty)."""
    import pty
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(args, stdout=slave, stderr=subprocess.PIPE, timeout=timeout)
    finally:
        os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return proc.returncode, out


def no_controls(c, what, data):
    bad = [b for b in (b"\x1b", b"\x07", b"\xc2\x9b") if b in data]
    c.check(not bad, f"{what}: control characters {bad} reach the terminal: {data[:200]!r}")


def check_terminal_injection(c, gm, core, exe, db, tmp):
    """A core whose command line holds escape sequences; errors quoting such
    a name; SQL text values: shown escaped, never raw."""
    res = run(c, gm, ["info", core, "--exe", exe, "--json"])
    command = res.json()["command"].encode() if res and res.status == 0 else b""
    with open(core, "rb") as f:
        head = f.read(1 << 20)
    at = head.find(command) if len(command) >= len(PAYLOAD) + 1 else -1
    if c.check(at >= 0, f"the core's command line {command!r} not found (or too short) to patch"):
        evil = os.path.join(tmp, "evil.core")
        shutil.copy(core, evil)
        with open(evil, "r+b") as f:
            f.seek(at)
            f.write(PAYLOAD + b"\0" * (len(command) - len(PAYLOAD)))
        proc = subprocess.run([gm, "info", evil, "--exe", exe], capture_output=True, timeout=BOUND)
        c.check(proc.returncode == 0, f"info on the patched core: exit {proc.returncode}: {proc.stderr!r}")
        no_controls(c, "info command line", proc.stdout + proc.stderr)
        c.check(b"\\x1b]0;pwned\\x07\\x1b[2J\\xc2\\x9b31m" in proc.stdout,
                f"info does not show the command line escaped: {proc.stdout[:600]!r}")
        proc = subprocess.run([gm, "info", evil, "--exe", exe, "--json"], capture_output=True, timeout=BOUND)
        no_controls(c, "info --json", proc.stdout)
    name = os.path.join(tmp, "\x1b[2Jno-such-core")
    proc = subprocess.run([gm, "info", name], capture_output=True, timeout=BOUND)
    c.check(proc.returncode == EXIT_IO, f"info on a missing core: exit {proc.returncode}")
    no_controls(c, "an error naming the file", proc.stderr)
    sql = "SELECT char(27) || ']0;pwned' || char(7) || char(155) AS t, 'a,b' AS u"
    for args in (["sql", db, sql], ["sql", "--csv", db, sql]):
        status, out = on_terminal([gm] + args)
        c.check(status == 0, f"{args[:2]} on a terminal: exit {status}")
        no_controls(c, " ".join(args[:2]) + " on a terminal", out)
    piped = subprocess.run([gm, "sql", "--csv", "--no-header", db, sql], capture_output=True, timeout=BOUND)
    c.check(piped.stdout == b'\x1b]0;pwned\x07\xc2\x9b,"a,b"\r\n',
            f"sql --csv into a pipe is not the raw value: {piped.stdout!r}")
    # Markdown: no live links from a core's text, no controls.
    links = crafted(db, tmp, "links.db", "UPDATE meta SET value = 'prog http://evil.example/x www.evil.example "
                    "a@evil.example ' || char(27) || '[2J' WHERE key = 'command'")
    res = expect(c, gm, ["report", links], 0)
    if res:
        import re
        md = res.stdout
        c.check("evil" in md, "the crafted type name is not in the report")
        # Code spans are never made links; the text outside them is checked.
        text = re.sub(r"(`+).*?\1", "", md)
        c.check("evil" in text, "the crafted type name is only in code spans (the check would test nothing)")
        for live in ("http://evil", "www.evil", "a@evil", "\x1b"):
            c.check(live not in text, f"the Markdown report holds {live!r} as it came")
        try:
            import cmarkgfm
        except ImportError:
            print("note: no cmarkgfm (pip): the Markdown checked as text only")
        else:
            html = cmarkgfm.github_flavored_markdown_to_html(md)
            c.check("evil.example" in html and 'href="http://evil' not in html and "mailto:" not in html
                    and 'href="http://www.evil' not in html, "GitHub's renderer makes a live link of the core's URL")


# ---- errors that name their file ----

def section(path, name):
    """(file offset, size) of section NAME, by readelf."""
    out = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if "]" in line and line.split("]")[1].split()[:1] == [name]:
            w = line.split("]")[1].split()
            return int(w[3], 16), int(w[4], 16)
    return None


def check_named_errors(c, gm, core, exe, tmp):
    import random
    import struct
    from test_analyze_bad import field_offset, file_offset, patch
    from test_bad_input import c_program_core
    # A fault in the runtime walk names the core: mheap_.allspans' array nowhere.
    syms = subprocess.run(["readelf", "-sW", exe], capture_output=True, text=True, check=True).stdout
    mheap = [int(w[1], 16) for w in (line.split() for line in syms.splitlines())
             if len(w) >= 8 and w[7] == "runtime.mheap_"]
    if c.check(mheap, "runtime.mheap_ not in the executable's symbols"):
        bad = os.path.join(tmp, "allspans.core")
        shutil.copy(core, bad)
        at = file_offset(bad, mheap[0] + field_offset(gm, exe, "runtime.mheap", "allspans"))
        patch(bad, at, struct.pack("<Q", 0xdead0000))
        expect(c, gm, ["analyze", bad, "--exe", exe, "--quiet", "-o", os.path.join(tmp, "a.db")], 8,
               f"{bad}: ", "allspans", "not saved")
    # Not a regular file as the executable: status 3 as for the core.
    for odd in ("/dev/zero", tmp):
        expect(c, gm, ["info", core, "--exe", odd], EXIT_IO, odd, "not a regular file")
        expect(c, gm, ["info", odd], EXIT_IO, odd, "not a regular file")
    # A C program's core with a Go executable: refused at once by info and analyze (5).
    cdir = os.path.join(tmp, "cprog")
    os.mkdir(cdir)
    ccore = c_program_core(cdir)
    if c.check(ccore is not None, "no core of the C program"):
        for cmd in (["info", ccore, "--exe", exe], ["analyze", ccore, "--exe", exe, "-o", os.path.join(tmp, "c.db")]):
            expect(c, gm, cmd, EXIT_BAD_EXE, exe, ccore, "does not belong to it")
    # Flipped bits in the executable's DWARF: the error says what is wrong.
    info = section(exe, ".debug_info")
    rng = random.Random(19)
    with open(exe, "rb") as f:
        data = f.read()
    flips = 40 if LONG else 12
    seen = 0
    for _ in range(flips):
        b = bytearray(data)
        b[info[0] + rng.randrange(min(info[1], 4096))] ^= 1 << rng.randrange(8)
        flipped = os.path.join(tmp, "flipped.exe")
        with open(flipped, "wb") as f:
            f.write(b)
        res = run(c, gm, ["info", core, "--exe", flipped])
        if res and "corrupt DWARF" in res.stderr:
            seen += 1
            c.check(res.status == EXIT_BAD_EXE and flipped in res.stderr and "no error" not in res.stderr,
                    f"flipped DWARF: exit {res.status}: {res.stderr.strip()}")
    c.check(seen > 0, "no flip made the DWARF corrupt (the check tested nothing)")


# ---- corrupt cores: leaks, statuses, time ----

def symbol(exe, name):
    """(address, size) of symbol NAME of EXE, by readelf."""
    out = subprocess.run(["readelf", "-sW", exe], capture_output=True, text=True, check=True).stdout
    for w in (line.split() for line in out.splitlines()):
        if len(w) >= 8 and w[7] == name:
            return int(w[1], 16), int(w[2])
    return None


def read_word(path, offset):
    import struct
    with open(path, "rb") as f:
        f.seek(offset)
        return struct.unpack("<Q", f.read(8))[0]


def check_corrupt_cores(c, gm, core, exe, db, tmp):
    """Faults walked past allocate nothing and leak nothing (LeakSanitizer
    would report it and turn the status into 1); damage anywhere in the
    runtime's structures gives 0 or a documented status naming the core."""
    import random
    import struct
    from test_analyze_bad import field_offset, file_offset, patch
    bad = os.path.join(tmp, "corrupt.core")
    shutil.copy(core, bad)
    out = os.path.join(tmp, "corrupt.db")
    # Every goroutine's m points nowhere: thread_of's read fails once per g.
    allgs, _ = symbol(exe, "runtime.allgs")
    array, length = read_word(core, file_offset(core, allgs)), read_word(core, file_offset(core, allgs + 8))
    m_off = field_offset(gm, exe, "runtime.g", "m")
    saved = []
    for i in range(length):
        g = read_word(core, file_offset(core, array + 8 * i))
        if g:
            at = file_offset(bad, g + m_off)
            saved.append((at, read_word(bad, at)))
            patch(bad, at, struct.pack("<Q", 0xdead0000))
    expect(c, gm, ["analyze", bad, "--exe", exe, "--quiet", "-o", out], 0)
    for at, word in saved:
        patch(bad, at, struct.pack("<Q", word))
    # A span of 2^26 pages (512 GiB; found by fuzz_runtime): skipped with a
    # warning, not indexed page by page until memory runs out.
    con = sqlite3.connect(db)
    (mspan,) = con.execute("SELECT mspan_addr FROM spans WHERE state = 'in_use' ORDER BY id LIMIT 1").fetchone()
    con.close()
    at = file_offset(bad, mspan + field_offset(gm, exe, "runtime.mspan", "npages"))
    word = read_word(bad, at)
    patch(bad, at, struct.pack("<Q", 1 << 26))
    if expect(c, gm, ["analyze", bad, "--exe", exe, "--quiet", "-o", out], 0):
        con = sqlite3.connect(out)
        warnings = [m for (m,) in con.execute("SELECT message FROM warnings")]
        con.close()
        c.check(any("outside the process" in m for m in warnings), f"a 512 GiB span: warnings {warnings[:5]}")
        os.unlink(out)
    patch(bad, at, struct.pack("<Q", word))
    # Random damage in the runtime's own structures.
    con = sqlite3.connect(db)
    mspans = [a for (a,) in con.execute("SELECT mspan_addr FROM spans ORDER BY mspan_addr")]
    con.close()
    targets = [symbol(exe, "runtime.mheap_"), symbol(exe, "runtime.allgs"), symbol(exe, "runtime.allp"),
               (array, 8 * length)] + [(a, 160) for a in mspans[:: max(1, len(mspans) // 16)]]
    targets += [(g, 456) for g in (read_word(core, file_offset(core, array + 8 * i)) for i in range(length)) if g]
    rng = random.Random(1919)
    runs = 200 if LONG else 24
    statuses = {}
    for n in range(runs):
        damaged = []  # three words of one structure
        base, size = rng.choice(targets)
        for _ in range(3):
            at = file_offset(bad, base + rng.randrange(max(1, size - 8)) // 8 * 8)
            word = read_word(bad, at)
            damage = rng.choice([word ^ (1 << rng.randrange(64)), 0, 0xdead0000, (1 << 64) - 1,
                                 word + 4096]) % (1 << 64)
            damaged.append((at, word, damage))
            patch(bad, at, struct.pack("<Q", damage))
        res = run(c, gm, ["analyze", bad, "--exe", exe, "--quiet", "-o", out])
        for at, word, _damage in reversed(damaged):
            patch(bad, at, struct.pack("<Q", word))
        if res is None:
            continue
        statuses[res.status] = statuses.get(res.status, 0) + 1
        what = "core with " + ", ".join(f"0x{d:x} at offset {a}" for a, _w, d in damaged)
        c.check(res.status in (0, 4, 8, 9), f"{what}: exit {res.status}: {res.stderr.strip()[:300]}")
        if res.status:
            c.check(bad in res.stderr, f"{what}: the error names no file: {res.stderr.strip()[:300]}")
        if os.path.exists(out):
            os.unlink(out)
    print(f"note: {runs} corrupt cores, exit statuses {dict(sorted(statuses.items()))}")


def main():
    gm, c, picks = gmtest.zoo_driver("test_hostile")
    zoo = picks["zoo"]
    core, exe = os.path.join(zoo, "core"), os.path.join(zoo, "exe")
    big = picks.get("growmap-big", zoo)
    tmp = tempfile.mkdtemp(prefix="gomortem-hostile-")
    try:
        db = os.path.join(tmp, "zoo.db")
        if not expect(c, gm, ["analyze", core, "--exe", exe, "--quiet", "-o", db], 0):
            c.finish()
        check_streamed_outputs(c, gm, db, tmp)
        check_device_outputs(c, gm, db, core, exe, tmp)
        check_stale_and_killed(c, gm, os.path.join(big, "core"), os.path.join(big, "exe"), tmp)
        check_fifo_inputs(c, gm, core, exe, db, tmp)
        check_crafted_databases(c, gm, db, tmp)
        check_terminal_injection(c, gm, core, exe, db, tmp)
        check_named_errors(c, gm, core, exe, tmp)
        check_corrupt_cores(c, gm, core, exe, db, tmp)
    finally:
        shutil.rmtree(tmp)
    c.finish()


if __name__ == "__main__":
    main()
