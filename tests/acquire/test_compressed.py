"""Compressed and piped cores (stage 0, analyzer/acquire): a core compressed
with zstd, lz4 and xz (by their own command-line tools, the oracle of the
format), or piped on standard input, gives the same database as the plain
core, table by table.  systemd-coredump's user.coredump.* attributes fill
meta and lead to the executable.  A truncated or unsupported compressed core
is a clear error that leaves nothing behind."""
import os
import shutil
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import gmtest  # noqa: E402

COMPRESSORS = {
    "zstd": ["zstd", "-q", "-c"],
    "lz4": ["lz4", "-q", "-c"],
    "xz": ["xz", "-T1", "-1", "-c"],
}
# Facts about the run, not about the core.
RUN_META = {"analyzed_at", "core_path", "core_compression"}


def compress(core, tool, out):
    with open(core, "rb") as src, open(out, "wb") as dst:
        subprocess.run(COMPRESSORS[tool], stdin=src, stdout=dst, check=True)


def table_rows(db_path):
    """Every table's rows, sorted, meta without the facts of the run."""
    db = sqlite3.connect(db_path)
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    rows = {}
    for t in tables:
        got = db.execute(f'SELECT * FROM "{t}"').fetchall()
        if t == "meta":
            got = [r for r in got if r[0] not in RUN_META]
        rows[t] = sorted(got, key=repr)
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    db.close()
    return rows, meta


def same_database(c, where, plain, other):
    for table, rows in plain.items():
        got = other.get(table)
        c.check(got == rows, f"{where}: table {table} differs from the plain core's "
                f"({len(got or [])} rows, plain {len(rows)})")


def analyze(c, gm, where, args, db, stdin=None, tmpdir=None):
    cmd = [gm, "analyze", *args, "-o", db, "--quiet"] + (["--tmpdir", tmpdir] if tmpdir else [])
    proc = subprocess.run(cmd, stdin=stdin, capture_output=True, text=True, timeout=600)
    res = gmtest.Run(cmd, proc)
    c.no_sanitizer_report(res)
    return c.check(res.status == 0, f"{where}: {' '.join(cmd)} exited {res.status}: {res.stderr.strip()}")


def check_compressed(c, gm, where, sdir, tmp, plain):
    core, exe = os.path.join(sdir, "core"), os.path.join(sdir, "exe")
    scratch = os.path.join(tmp, "scratch")
    os.makedirs(scratch, exist_ok=True)
    for tool in COMPRESSORS:
        # A name that does not say the format: it is told by its magic.
        packed = os.path.join(tmp, f"core-{tool}.bin")
        compress(core, tool, packed)
        db = os.path.join(tmp, f"{tool}.db")
        if analyze(c, gm, f"{where} {tool}", [packed, "--exe", exe], db, tmpdir=scratch):
            rows, meta = table_rows(db)
            same_database(c, f"{where} {tool}", plain, rows)
            c.check(meta.get("core_compression") == tool, f"{where} {tool}: meta.core_compression "
                    f"{meta.get('core_compression')!r}")
        c.check(os.listdir(scratch) == [], f"{where} {tool}: left {os.listdir(scratch)} in --tmpdir")
    # Standard input: a zstd stream piped in, and the plain core piped in.
    for label, path in (("zstd on stdin", os.path.join(tmp, "core-zstd.bin")), ("plain on stdin", core)):
        db = os.path.join(tmp, "stdin.db")
        producer = subprocess.Popen(["cat", path], stdout=subprocess.PIPE)
        ok = analyze(c, gm, f"{where} {label}", ["-", "--exe", exe], db, stdin=producer.stdout, tmpdir=scratch)
        producer.stdout.close()
        producer.wait()
        if ok:
            same_database(c, f"{where} {label}", plain, table_rows(db)[0])
        c.check(os.listdir(scratch) == [], f"{where} {label}: left {os.listdir(scratch)} in --tmpdir")


def check_truncated(c, gm, where, sdir, tmp):
    scratch = os.path.join(tmp, "scratch-truncated")
    os.makedirs(scratch, exist_ok=True)
    for tool in COMPRESSORS:
        packed = os.path.join(tmp, f"core-{tool}.bin")
        cut = os.path.join(tmp, f"cut-{tool}.bin")
        with open(packed, "rb") as f:
            data = f.read()
        with open(cut, "wb") as f:
            f.write(data[:len(data) // 2])
        db = os.path.join(tmp, "cut.db")
        res = gmtest.run([gm, "analyze", cut, "-o", db, "--quiet", "--tmpdir", scratch])
        c.no_sanitizer_report(res)
        c.check(res.status == 4, f"{where} truncated {tool}: exit {res.status}, want 4 (bad core)")
        c.check(cut in res.stderr and "truncated" in res.stderr and tool in res.stderr,
                f"{where} truncated {tool}: message does not name the file, the format and the "
                f"truncation: {res.stderr.strip()}")
        c.check(not os.path.exists(db) and os.listdir(tmp).count("cut.db") == 0,
                f"{where} truncated {tool}: a database was left")
        c.check(os.listdir(scratch) == [], f"{where} truncated {tool}: left {os.listdir(scratch)}")
    # Corrupt in the middle (a checksum or block error), and well-formed but not a core.
    for tool in COMPRESSORS:
        with open(os.path.join(tmp, f"core-{tool}.bin"), "rb") as f:
            data = bytearray(f.read())
        for i in range(len(data) // 2, len(data) // 2 + 64):
            data[i] ^= 0x5a
        bad = os.path.join(tmp, f"corrupt-{tool}.bin")
        with open(bad, "wb") as f:
            f.write(data)
        res = gmtest.run([gm, "info", bad, "--tmpdir", scratch])
        c.no_sanitizer_report(res)
        c.check(res.status == 4 and bad in res.stderr, f"{where} corrupt {tool}: exit {res.status}: "
                f"{res.stderr.strip()}")
        c.check(os.listdir(scratch) == [], f"{where} corrupt {tool}: left {os.listdir(scratch)}")
    text = os.path.join(tmp, "text")
    with open(text, "w") as f:
        f.write("not a core\n" * 1000)
    compress(text, "zstd", text + ".zst")
    res = gmtest.run([gm, "info", text + ".zst", "--tmpdir", scratch])
    c.no_sanitizer_report(res)
    c.check(res.status == 4 and "not an ELF file" in res.stderr and text + ".zst" in res.stderr,
            f"{where} zstd of a text file: exit {res.status}: {res.stderr.strip()}")
    gz = os.path.join(tmp, "core.gz")
    with open(os.path.join(sdir, "core"), "rb") as src, open(gz, "wb") as dst:
        subprocess.run(["gzip", "-1", "-c"], stdin=src, stdout=dst, check=True)
    res = gmtest.run([gm, "info", gz])
    c.no_sanitizer_report(res)
    c.check(res.status == 4 and "gzip" in res.stderr and gz in res.stderr,
            f"{where} gzip: exit {res.status}: {res.stderr.strip()}")


def check_coredump_attrs(c, gm, where, sdir, tmp):
    """A core file as systemd-coredump leaves it: compressed, with the
    attributes, and its NT_FILE path to the executable gone."""
    found = gmtest.run([gm, "info", os.path.join(sdir, "core"), "--json"])
    if not c.check(found.status == 0, f"{where}: info exited {found.status}: {found.stderr.strip()}"):
        return
    exe = found.json()["executable"]    # the NT_FILE path (the corpus's exe is a hard link)
    with open(os.path.join(sdir, "core"), "rb") as f:
        data = f.read()
    # Same length, so the notes stay well formed; the path no longer exists.
    gone = exe[:-1] + ("X" if exe[-1] != "X" else "Y")
    c.check(exe.encode() in data, f"{where}: the executable's path is not in the core")
    moved = os.path.join(tmp, "moved-core")
    with open(moved, "wb") as f:
        f.write(data.replace(exe.encode(), gone.encode()))
    attrs = {"exe": exe, "pid": "4242", "signal": "6", "timestamp": "1733300000123456",
             "comm": "zoo", "uid": "0"}
    packed = os.path.join(tmp, "core.zoo.0.boot.4242.1733300000123456.zst")
    compress(moved, "zstd", packed)
    try:
        for name, value in attrs.items():
            os.setxattr(packed, f"user.coredump.{name}", value.encode())
    except OSError as e:
        gmtest.skip(f"cannot set user.* extended attributes here: {e}")
    res = gmtest.run([gm, "info", packed, "--json"])
    c.no_sanitizer_report(res)
    if c.check(res.status == 0, f"{where} coredump attrs: info exited {res.status}: {res.stderr.strip()}"):
        info = res.json()
        c.check(info["executable_from_coredump"] and os.path.samefile(info["executable"], exe),
                f"{where}: user.coredump.exe did not lead to the executable: {info['executable']}")
        c.check(info["coredump"] == attrs, f"{where}: info coredump {info['coredump']} != {attrs}")
    db = os.path.join(tmp, "attrs.db")
    if analyze(c, gm, f"{where} coredump attrs", [packed], db):
        meta = table_rows(db)[1]
        for name, value in attrs.items():
            c.check(str(meta.get(f"coredump_{name}")) == value,
                    f"{where}: meta.coredump_{name} = {meta.get(f'coredump_{name}')!r}, want {value!r}")


def main():
    gm = gmtest.gomortem()
    root = gmtest.corpus_dir()
    for tool in ["zstd", "lz4", "xz", "gzip"]:
        if not shutil.which(tool):
            gmtest.skip(f"{tool} is not installed")
    c = gmtest.Checker("acquire_compressed")
    import tempfile
    seen = 0
    # The newest toolchain's crash and live cores: the format work does not
    # depend on the Go version, and each core takes a dozen analyses.
    # (amd64: the arm64 column has no live cores, and the format is the same)
    found = [(v, n, d) for v, n, d in gmtest.scenarios(root, lambda d: os.path.basename(d) in ("zoo", "goroutines-live"))
             if gmtest.folder_arch(v) == "amd64"]
    newest = max((v for v, _, _ in found), key=lambda v: [int(x) for x in v[2:].split(".")], default=None)
    for version, name, sdir in found:
        if version != newest:
            continue
        seen += 1
        where = f"{version}/{name}"
        with tempfile.TemporaryDirectory(prefix="gomortem-test-") as tmp:
            db = os.path.join(tmp, "plain.db")
            if not analyze(c, gm, where, [os.path.join(sdir, "core"), "--exe", os.path.join(sdir, "exe")], db):
                continue
            plain = table_rows(db)[0]
            c.check(len(plain["objects_packed"]) > 0 and len(plain["edges_packed"]) > 0 and len(plain["goroutines"]) > 0,
                    f"{where}: the plain core's database is empty")
            check_compressed(c, gm, where, sdir, tmp, plain)
            check_truncated(c, gm, where, sdir, tmp)
            check_coredump_attrs(c, gm, where, sdir, tmp)
    if not seen:
        gmtest.skip(f"no zoo or goroutines-live cores under {root}")
    c.finish()


if __name__ == "__main__":
    main()
