"""gomortem sql on a small database this driver builds itself with Python's
sqlite3 module: the table, CSV and JSON outputs against what Python reads
from the same database, several statements, errors and exit statuses.
Needs no corpus."""
import csv
import io
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import gmtest  # noqa: E402

COLUMNS = ["id", "addr", "span_addr", "base", "limit", "address", "name", "size", "data"]
ROWS = [
    (1, 0xc000010000, 0x7f0000001000, 0xc000000000, 0xc004000000, 0xc000010000, "plain", 1.5,
     b"\x00\x01\xff"),
    (2, 0x7fffffffffffffff, -1, 0, 1, -1, 'with, comma "quote"\nand newline', 0.1, bytes(range(40))),
    (3, None, None, None, None, None, None, None, None),
    (-9223372036854775808, -9223372036854775808, 0, 16, 4096, 9223372036854775807, "", 2.0, b""),
    (5, 4096, 8192, 1, 2, 3, "héllo → ✓ 日本", 1e300, b"\x10" * 32),
    (6, 1, 2, 3, 4, 5, "x" * 100, -0.0, b"\x20" * 33),
    (7, 1, 2, 3, 4, 5, "é" * 90, 1 / 3, None),
    (8, 1, 2, 3, 4, 5, "tab\there cr\rlf\r\n bell\x07 del\x7f", -2.5e-10, None),
]
# The tables' other address columns (goroutines, frames, mappings, spans,
# edges), each given the addr value of its row.
ADDRESS_COLUMNS = ["pc", "sp", "fp", "stack_lo", "stack_hi", "start", "end", "first_object", "dst"]
COLUMNS += ADDRESS_COLUMNS
ROWS = [row + (row[1],) * len(ADDRESS_COLUMNS) for row in ROWS]
HEX_COLUMNS = {"addr", "span_addr", "base", "limit", *ADDRESS_COLUMNS}
TABLE_MAX_ROWS = 1000000


def make_database(path):
    db = sqlite3.connect(path)
    extra = "".join(f', "{name}" INTEGER' for name in ADDRESS_COLUMNS)
    db.execute('CREATE TABLE objects (id INTEGER, addr INTEGER, span_addr INTEGER, base INTEGER,'
               f' "limit" INTEGER, address INTEGER, name TEXT, size REAL, data BLOB{extra})')
    db.executemany(f"INSERT INTO objects VALUES ({','.join('?' * len(COLUMNS))})", ROWS)
    db.commit()
    db.close()


def python_rows(path, sql):
    db = sqlite3.connect(path)
    cur = db.execute(sql)
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    db.close()
    return names, rows


def run_bytes(args, timeout=600):
    """Run gomortem keeping stdout as bytes (CSV line ends must stay CRLF)."""
    proc = subprocess.run(args, capture_output=True, timeout=timeout)
    proc.stderr = proc.stderr.decode("utf-8", "replace")
    return gmtest.Run(args, proc)


# ---- the table as the usage text describes it ----

def real_text(v):
    """Shortest of %.15g..%.17g that reads back as v, ".0" added to integral values."""
    for precision in (15, 16, 17):
        text = "%.*g" % (precision, v)
        if float(text) == v:
            break
    if not any(ch in text for ch in ".eEnN"):
        text += ".0"
    return text


def escape_units(s):
    """(text, width) display units: control characters escaped, others one column."""
    for ch in s:
        o = ord(ch)
        if o < 0x20 or o == 0x7f:
            e = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(ch, "\\x%02x" % o)
            yield e, len(e)
        else:
            yield ch, 1


def display_text(s):
    units = list(escape_units(s))
    if sum(w for _, w in units) <= 80:
        return "".join(t for t, _ in units)
    out, width = [], 0
    for t, w in units:
        if width + w > 77:
            break
        out.append(t)
        width += w
    return "".join(out) + "..."


def display(value, column):
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return "0x%x" % (value & (2**64 - 1)) if column.lower() in HEX_COLUMNS or \
            column.lower().endswith("_addr") else str(value)
    if isinstance(value, float):
        return real_text(value)
    if isinstance(value, bytes):
        return "x'" + value[:32].hex() + "'" + ("..." if len(value) > 32 else "")
    return display_text(value)


def expected_table(names, rows, header=True):
    cells = [[display(v, names[i]) for i, v in enumerate(row)] for row in rows]
    heads = [display_text(n) for n in names]
    numeric = []
    for i in range(len(names)):
        kinds = {type(row[i]) for row in rows} - {type(None)}
        numeric.append(bool(kinds) and kinds <= {int, float})
    widths = [max([len(heads[i]) if header else 0] + [len(r[i]) for r in cells])
              for i in range(len(names))]

    def line(texts, rights):
        parts = []
        for i, (text, right) in enumerate(zip(texts, rights)):
            last = i == len(texts) - 1
            pad = " " * (widths[i] - len(text))
            parts.append(pad + text if right else (text if last else text + pad))
        return "  ".join(parts) + "\n"

    out = ""
    if header:
        out += line(heads, numeric)
        out += "  ".join("-" * w for w in widths) + "\n"
    for row, texts in zip(rows, cells):
        rights = [isinstance(v, (int, float)) or (v is None and numeric[i]) for i, v in enumerate(row)]
        out += line(texts, rights)
    return out


# ---- checks ----

def check_table(c, gm, db):
    sql = "SELECT * FROM objects ORDER BY id"
    names, rows = python_rows(db, sql)
    for header in (True, False):
        args = [gm, "sql", db, sql] + ([] if header else ["--no-header"])
        res = run_bytes(args)
        c.no_sanitizer_report(res)
        c.check(res.status == 0, f"table exited {res.status}: {res.stderr}")
        want = expected_table(names, rows, header)
        got = res.stdout.decode("utf-8", "replace")
        c.check(got == want, f"table (header={header}) differs:\n--- got\n{got}--- want\n{want}")
        c.check(res.stderr == "", f"table wrote to stderr: {res.stderr}")


def check_csv(c, gm, db):
    sql = "SELECT * FROM objects ORDER BY id"
    names, rows = python_rows(db, sql)
    res = run_bytes([gm, "sql", db, sql, "--csv"])
    c.no_sanitizer_report(res)
    if not c.check(res.status == 0, f"--csv exited {res.status}: {res.stderr}"):
        return
    c.check(res.stdout.endswith(b"\r\n") and res.stdout.count(b"\r\n") >= len(rows) + 1,
            "--csv: lines do not end in CRLF")
    parsed = list(csv.reader(io.StringIO(res.stdout.decode("utf-8"), newline="")))
    c.check(parsed[0] == names, f"--csv header {parsed[0]} != {names}")
    c.check(len(parsed) == len(rows) + 1, f"--csv: {len(parsed) - 1} rows, want {len(rows)}")
    for got, want in zip(parsed[1:], rows):
        for field, value, name in zip(got, want, names):
            if value is None:
                ok = field == ""
            elif isinstance(value, float):
                ok = float(field) == value and field == real_text(value)
            elif isinstance(value, int):
                ok = field == str(value)   # no hex in CSV
            elif isinstance(value, bytes):
                ok = field == value.hex()
            else:
                ok = field == value
            c.check(ok, f"--csv row {want[0]} column {name}: {field!r} for {value!r}")
    nohead = run_bytes([gm, "sql", db, sql, "--csv", "--no-header"])
    c.check(nohead.status == 0 and nohead.stdout == res.stdout.split(b"\r\n", 1)[1],
            "--csv --no-header is not the CSV without its first line")


def json_value(value):
    if isinstance(value, bytes):
        return value.hex()
    return value


def check_json(c, gm, db):
    sql = "SELECT * FROM objects ORDER BY id"
    names, rows = python_rows(db, sql)
    res = gmtest.run([gm, "sql", db, sql, "--json"])
    c.no_sanitizer_report(res)
    if not c.check(res.status == 0, f"--json exited {res.status}: {res.stderr}"):
        return
    try:
        got = json.loads(res.stdout)
    except ValueError as e:
        c.check(False, f"--json output is not JSON ({e}):\n{res.stdout}")
        return
    want = [{n: json_value(v) for n, v in zip(names, row)} for row in rows]
    c.check(got == want, f"--json differs:\n{got}\n!=\n{want}")
    for obj, row in zip(got, rows):
        for n, v in zip(names, row):
            if isinstance(v, int):
                c.check(type(obj[n]) is int, f"--json {n}={obj[n]!r}: integers must be numbers")
    empty = gmtest.run([gm, "sql", db, "SELECT * FROM objects WHERE id > 100", "--json"])
    c.check(empty.status == 0 and json.loads(empty.stdout) == [], f"--json of no rows: {empty.stdout!r}")
    # SQLite's JSON functions' results nest as JSON; text that only looks
    # like JSON stays a string.
    # A sort through SQLite's sorter drops the mark: json() in an outer
    # SELECT sets it again, as --help says.
    sql = ("SELECT json(obj) AS obj, text, json(ids) AS ids FROM (SELECT json_object('id', id, 'size', size) AS obj, "
           "'[1, 2]' AS text, (SELECT json_group_array(id) FROM (SELECT id FROM objects ORDER BY id LIMIT 3)) "
           "AS ids FROM objects ORDER BY id LIMIT 1)")
    res = gmtest.run([gm, "sql", db, sql, "--json"])
    c.no_sanitizer_report(res)
    first = [dict(zip(("id", "size"), r)) for r in sqlite3.connect(db).execute(
        "SELECT id, size FROM objects ORDER BY id LIMIT 3")]
    want = [{"obj": first[0], "text": "[1, 2]", "ids": [o["id"] for o in first]}]
    c.check(res.status == 0 and json.loads(res.stdout) == want, f"--json nesting: {res.stdout!r} != {want!r}")


MULTI = ("SELECT 1 AS a; CREATE TEMP TABLE t(x); ; INSERT INTO t VALUES (2), (3);"
         " -- a comment\n SELECT x, 'v' || x AS v FROM t ORDER BY x; /* trailing */ ")


def check_multiple(c, gm, db):
    res = run_bytes([gm, "sql", db, MULTI])
    c.no_sanitizer_report(res)
    want = "a\n-\n1\n\nx  v\n-  --\n2  v2\n3  v3\n"
    c.check(res.status == 0 and res.stdout.decode() == want,
            f"several statements, table: {res.status} {res.stdout!r} != {want!r}")
    res = run_bytes([gm, "sql", db, MULTI, "--csv"])
    want = b"a\r\n1\r\nx,v\r\n2,v2\r\n3,v3\r\n"
    c.check(res.status == 0 and res.stdout == want, f"several statements, CSV: {res.stdout!r}")
    res = gmtest.run([gm, "sql", db, MULTI, "--json"])
    c.no_sanitizer_report(res)
    c.check(res.status == 0 and json.loads(res.stdout) == [{"a": 1}, {"x": 2, "v": "v2"}, {"x": 3, "v": "v3"}],
            f"several statements, JSON: {res.stdout!r}")


def check_errors(c, gm, db, tmp):
    res = gmtest.run([gm, "sql", db, "SELECT * FROM nosuch"])
    c.no_sanitizer_report(res)
    c.check(res.status == 11 and res.stderr == "gomortem: SQL error: no such table: nosuch\n"
            and res.stdout == "", f"SQL error: {res.status} {res.stderr!r}")
    res = gmtest.run([gm, "sql", db, "SELECT 1 AS a; SELEC 2", "--csv"])
    c.check(res.status == 11 and res.stderr.startswith("gomortem: SQL error: near \"SELEC\""),
            f"error in a second statement: {res.status} {res.stderr!r}")
    res = gmtest.run([gm, "sql", db, "DELETE FROM objects"])
    c.no_sanitizer_report(res)
    c.check(res.status == 11 and "readonly" in res.stderr, f"write to the DB: {res.status} {res.stderr!r}")
    c.check(len(python_rows(db, "SELECT * FROM objects")[1]) == len(ROWS), "the DB was modified")

    missing = os.path.join(tmp, "missing.db")
    res = gmtest.run([gm, "sql", missing, "SELECT 1"])
    c.no_sanitizer_report(res)
    c.check(res.status == 3 and res.stderr.startswith(f"gomortem: {missing}: ")
            and res.stderr.count("\n") == 1, f"missing DB: {res.status} {res.stderr!r}")
    c.check(not os.path.exists(missing), "a missing DB was created")
    res = gmtest.run([gm, "sql", tmp, "SELECT 1"])
    c.check(res.status == 3, f"a directory as DB: {res.status} {res.stderr!r}")

    junk = os.path.join(tmp, "junk.db")
    with open(junk, "wb") as f:
        f.write(b"this is not an SQLite database\n" * 200)
    res = gmtest.run([gm, "sql", junk, "SELECT 1"])
    c.no_sanitizer_report(res)
    c.check(res.status == 11 and res.stderr == f"gomortem: {junk}: file is not a database\n",
            f"not a database: {res.status} {res.stderr!r}")

    empty = os.path.join(tmp, "empty.db")
    open(empty, "wb").close()
    res = gmtest.run([gm, "sql", empty, "SELECT count(*) AS n FROM sqlite_schema", "--csv"])
    c.check(res.status == 0 and res.stdout == "n\n0\n", f"empty file: {res.status} {res.stdout!r} {res.stderr!r}")


def check_usage(c, gm, db):
    res = gmtest.run([gm, "sql", "--help"])
    c.check(res.status == 0 and res.stdout.startswith("usage: gomortem sql DB SQL"), f"--help: {res.status}")
    res = gmtest.run([gm, "help", "sql"])
    c.check(res.status == 0 and "--no-header" in res.stdout, f"help sql: {res.status}")
    for args in ([], [db], [db, "SELECT 1", "extra"], [db, "SELECT 1", "--csv", "--json"],
                 [db, "SELECT 1", "--bogus"]):
        res = gmtest.run([gm, "sql"] + args)
        c.no_sanitizer_report(res)
        c.check(res.status == 2 and "gomortem sql: " in res.stderr and res.stdout == "",
                f"sql {args}: exit {res.status}, want 2: {res.stderr!r}")
    res = gmtest.run([gm, "sql", "--csv", "--", db, "-- leading comment\nSELECT 7 AS n"])
    c.check(res.status == 0 and res.stdout == "n\n7\n", f"SQL starting with '-' after --: {res.stdout!r}")


def check_terminal(c, gm, db):
    """On a terminal a "(N rows)" line follows the table; on a pipe it does not."""
    master, slave = os.openpty()
    proc = subprocess.Popen([gm, "sql", db, "SELECT id FROM objects WHERE id IN (1, 2) ORDER BY id"],
                            stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO once the child has closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    stderr = proc.stderr.read().decode("utf-8", "replace")
    proc.wait()
    out = b"".join(chunks).replace(b"\r\n", b"\n").decode()
    c.check(proc.returncode == 0 and out == "id\n--\n 1\n 2\n(2 rows)\n" and "Sanitizer" not in stderr,
            f"table on a terminal: {proc.returncode} {out!r} {stderr!r}")


def max_rss_kib(args):
    """Peak resident size of one run of ARGS (stdout to /dev/null), measured in a fresh child."""
    probe = ("import resource, subprocess, sys\n"
             "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
             "sys.stderr.write(p.stderr.decode('utf-8', 'replace'))\n"
             "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    # AddressSanitizer keeps 256 MB of freed memory in quarantine: keep it small
    # here so that only memory in use counts (no effect on other builds).
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "quarantine_size_mb=1"]))
    proc = subprocess.run([sys.executable, "-c", probe] + args, capture_output=True, text=True, env=env)
    status, rss = proc.stdout.split()
    return int(status), int(rss), proc.stderr


def big_query(rows):
    return ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT %d)"
            " SELECT x, printf('%%0200d', x) AS pad FROM c" % rows)


def check_large(c, gm, db):
    # --csv and --json stream: 1000000 rows of 200 bytes (200 MB) in bounded memory.
    for mode in ("--csv", "--json"):
        status, small, err = max_rss_kib([gm, "sql", db, big_query(1000), mode])
        c.check(status == 0 and "Sanitizer" not in err, f"{mode} small: {status} {err}")
        status, big, err = max_rss_kib([gm, "sql", db, big_query(1000000), mode])
        c.check(status == 0 and "Sanitizer" not in err, f"{mode} large: {status} {err}")
        c.check(big < small + 64 * 1024, f"{mode}: peak RSS {big} KiB for 1000000 rows, "
                f"{small} KiB for 1000: output is not streamed")
    # The table stops at TABLE_MAX_ROWS, says so on stderr, and exits 0.
    sql = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT %d)"
           " SELECT x FROM c" % (TABLE_MAX_ROWS + 5))
    res = run_bytes([gm, "sql", db, sql])
    c.no_sanitizer_report(res)
    lines = res.stdout.split(b"\n")
    c.check(res.status == 0 and len(lines) == TABLE_MAX_ROWS + 3 and lines[-2].strip() == b"1000000",
            f"table past {TABLE_MAX_ROWS} rows: exit {res.status}, {len(lines) - 3} rows")
    c.check(res.stderr == "gomortem: output truncated at 1000000 rows; use --csv for all\n",
            f"table past {TABLE_MAX_ROWS} rows: stderr {res.stderr!r}")


def main():
    gm = gmtest.gomortem()
    c = gmtest.Checker("test_sql")
    with tempfile.TemporaryDirectory(prefix="gomortem-sql-") as tmp:
        db = os.path.join(tmp, "test.db")
        make_database(db)
        check_table(c, gm, db)
        check_csv(c, gm, db)
        check_json(c, gm, db)
        check_multiple(c, gm, db)
        check_errors(c, gm, db, tmp)
        check_usage(c, gm, db)
        check_terminal(c, gm, db)
        check_large(c, gm, db)
    c.finish()


if __name__ == "__main__":
    main()
