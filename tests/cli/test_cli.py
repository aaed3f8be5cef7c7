"""Small things of the command line:
- `gomortem help --help`, `help -h` and `help help` print the usage (the
  hint of an unknown help topic once pointed back at itself); the usage
  lists --version, which prints the version;
- analyze run from the core's directory with relative paths stores
  meta.core_path and exe_path absolute (the files' real paths), so that
  go_value() reads the core from any other directory;
- `cmake --install` puts the man page and the bash completion, made from
  the built program's --help, under the prefix: the page renders with man
  and holds every command's usage line, the completion completes commands
  and each command's options;
- info, objects and analyze parse the core options one way (one parser):
  each takes --exe, --runtime-from, --allow-truncated, --tmpdir and
  --force-version with the same effect (a truncated copy refused without
  --allow-truncated and read with it), its own option only (--json, --pointers, -o), a bad option or a missing CORE
  gives the usage status 2 naming the command."""
import os
import sqlite3
import subprocess
import sys
import tempfile

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import gmtest  # noqa: E402


def check_help(c, gm):
    for args in (["help", "--help"], ["help", "-h"], ["help", "help"], ["--help"]):
        res = gmtest.run([gm, *args])
        c.no_sanitizer_report(res)
        c.check(res.status == 0 and res.stdout.startswith("usage: gomortem COMMAND") and "--version" in res.stdout,
                f"gomortem {' '.join(args)}: exit {res.status}, {res.stdout[:60]!r}")
    res = gmtest.run([gm, "help", "nope"])
    c.check(res.status == 2 and "unknown command 'nope'" in res.stderr and "help --help" not in res.stderr,
            f"help nope: exit {res.status}, {res.stderr!r}")
    res = gmtest.run([gm, "--version"])
    c.check(res.status == 0 and res.stdout.startswith("gomortem "), f"--version: {res.stdout!r}")


def check_paths(c, gm, sdir, tmp):
    db = os.path.join(tmp, "rel.db")
    proc = subprocess.run([gm, "analyze", "core", "--exe", "exe", "-o", db, "--quiet"], cwd=sdir,
                          capture_output=True, text=True)
    if not c.check(proc.returncode == 0, f"analyze with relative paths: {proc.stderr}"):
        return
    con = sqlite3.connect(db)
    meta = dict(con.execute("SELECT key, value FROM meta"))
    con.close()
    for key, name in (("core_path", "core"), ("exe_path", "exe")):
        want = os.path.realpath(os.path.join(sdir, name))
        c.check(meta.get(key) == want, f"meta.{key} {meta.get(key)!r}, want {want!r}")
    res = subprocess.run([gm, "sql", db, "SELECT COUNT(v) FROM (SELECT go_value(id) AS v FROM objects "
                          "WHERE reachable = 1 AND type_id IS NOT NULL LIMIT 100)", "--csv"],
                         cwd=tmp, capture_output=True, text=True)
    c.check(res.returncode == 0 and res.stdout.split()[-1] not in ("0", "COUNT(v)"),
            f"go_value() from another directory: {res.returncode} {res.stdout!r} {res.stderr!r}")


CORE_COMMANDS = {"info": ["--json"], "objects": ["--pointers"], "analyze": ["--quiet", "-o"]}


def core_command(command, core, exe, tmp, *extra):
    args = [command, core, "--exe", exe, *extra]
    if command == "analyze":
        args += ["-o", os.path.join(tmp, f"opt-{len(os.listdir(tmp))}.db"), "--quiet"]
    return args


def check_core_options(c, gm, sdir, tmp):
    core, exe = os.path.join(sdir, "core"), os.path.join(sdir, "exe")
    truncated = os.path.join(tmp, "truncated.core")
    with open(core, "rb") as src, open(truncated, "wb") as dst:
        dst.write(src.read(os.path.getsize(core) - 4096 * 16))
    shared = ["--runtime-from", exe, "--tmpdir", tmp, "--force-version"]
    for command, own in CORE_COMMANDS.items():
        res = gmtest.run([gm, *core_command(command, core, exe, tmp, *shared)])
        c.no_sanitizer_report(res)
        c.check(res.status == 0, f"{command} with the shared core options: exit {res.status}: {res.stderr[-200:]}")
        res = gmtest.run([gm, *core_command(command, truncated, exe, tmp)])
        c.check(res.status != 0 and "truncated.core" in res.stderr,
                f"{command} of a truncated core without --allow-truncated: exit {res.status}: {res.stderr[-200:]}")
        res = gmtest.run([gm, *core_command(command, truncated, exe, tmp, "--allow-truncated")])
        c.check(res.status == 0, f"{command} --allow-truncated: exit {res.status}: {res.stderr[-200:]}")
        others = [o for cmd, opts in CORE_COMMANDS.items() if cmd != command for o in opts if o not in own]
        for bad in [o for o in others if o != "--quiet"] + ["--nope"]:
            res = gmtest.run([gm, command, core, bad] + (["x"] if bad == "-o" else []))
            c.check(res.status == 2 and command in res.stderr, f"{command} {bad}: exit {res.status}, {res.stderr!r}")
        res = gmtest.run([gm, command])
        c.check(res.status == 2 and "expected one CORE argument" in res.stderr,
                f"{command} without CORE: exit {res.status}, {res.stderr!r}")
    listed = gmtest.run([gm, "objects", core, "--exe", exe]).stdout.count("\n")
    res = gmtest.run([gm, "info", core, "--exe", exe, "--json", "--tmpdir", tmp])
    c.check(res.status == 0 and res.stdout.lstrip().startswith("{") and listed > 0,
            f"info --json: exit {res.status}; objects listed {listed}")


def complete(script, words):
    """What bash completion SCRIPT offers for the command line WORDS."""
    line = " ".join(words)
    prog = (f"source {script}; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; "
            "_gomortem; printf '%s\\n' \"${COMPREPLY[@]}\"")
    res = subprocess.run(["bash", "-c", prog], capture_output=True, text=True)
    return res.stdout.split()


def check_install(c, gm, tmp):
    build = os.path.dirname(os.path.abspath(gm))
    prefix = os.path.join(tmp, "prefix")
    res = subprocess.run(["cmake", "--install", build, "--prefix", prefix], capture_output=True, text=True)
    if not c.check(res.returncode == 0, f"cmake --install {build}: {res.stderr.strip()}"):
        return
    page = os.path.join(prefix, "share", "man", "man1", "gomortem.1")
    script = os.path.join(prefix, "share", "bash-completion", "completions", "gomortem")
    if not c.check(os.path.isfile(page) and os.path.isfile(script), f"installed: {os.listdir(prefix)}"):
        return
    shown = subprocess.run(["man", "-l", page], capture_output=True, text=True,
                           env=dict(os.environ, MANWIDTH="100", MAN_KEEP_FORMATTING=""))
    c.check(shown.returncode == 0 and "EXIT STATUS" in shown.stdout, f"man -l {page}: {shown.stderr[:300]}")
    for command in ("info", "analyze", "report", "pprof", "diff", "sql", "capture", "watch", "dwarf", "path"):
        usage = gmtest.run([gm, command, "--help"]).stdout.splitlines()[0]
        c.check(usage.split(" [")[0] in shown.stdout, f"man page lacks {usage!r}")
    c.check("analyze" in complete(script, ["gomortem", "ana"]), "completion of 'gomortem ana'")
    c.check(complete(script, ["gomortem", "analyze", "--ig"]) == ["--ignore-dwarf"],
            f"completion of 'analyze --ig': {complete(script, ['gomortem', 'analyze', '--ig'])}")
    c.check(complete(script, ["gomortem", "sql", "--js"]) == ["--json"], "completion of 'sql --js'")


def main():
    gm = gmtest.gomortem()
    c = gmtest.Checker("cli")
    check_help(c, gm)
    with tempfile.TemporaryDirectory(prefix="gomortem-test-") as tmp:
        check_install(c, gm, tmp)
    root = os.environ.get("GOMORTEM_CORPUS")
    zoo = [sdir for _v, name, sdir in gmtest.scenarios(root) if name == "zoo"] if root and os.path.isdir(root) else []
    if zoo:
        with tempfile.TemporaryDirectory(prefix="gomortem-test-") as tmp:
            check_paths(c, gm, zoo[0], tmp)
            check_core_options(c, gm, zoo[0], tmp)
    else:
        print("note: no corpus: the path checks did not run")
    c.finish()


if __name__ == "__main__":
    main()
