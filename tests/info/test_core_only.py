"""gomortem info without the executable, on every corpus core: what the core
alone tells (threads, notes, mappings, mapped files, pid, signal, the Go
version from the .go.buildinfo its memory holds, the build IDs and the load
bias from the ELF header and notes the kernel saved) against elfutils'
eu-readelf, the truth file and info with the executable; the exit status is
the executable's error (3: --exe names no file; 5: the file the core's
NT_FILE note names is gone), after the facts."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import gmtest  # noqa: E402

MISSING = "/nonexistent/gomortem-test-exe"


def readelf_notes(core):
    """(NT_PRSTATUS count, [(start, end, offset, path)] of NT_FILE) by eu-readelf."""
    out = subprocess.run(["eu-readelf", "-n", core], capture_output=True, text=True, check=True).stdout
    threads = len(re.findall(r"^\s+CORE\s+\d+\s+PRSTATUS$", out, re.M))
    files = [(int(a, 16), int(b, 16), p)
             for a, b, p in re.findall(r"^\s+([0-9a-f]+)-([0-9a-f]+) [0-9a-f]+ \d+\s+(\S.*)$", out, re.M)]
    return threads, files


def check_against_full(c, where, alone, full, arch):
    """What both runs tell must agree; what needs the ELF header is absent on arm64 (qemu-user)."""
    for key in ("arch", "page_size", "pid", "command", "signal", "signal_name", "signal_origin",
                "go_version", "go_experiments"):
        c.check(alone[key] == full[key], f"{where}: {key} {alone[key]!r}, with the executable {full[key]!r}")
    keep = lambda t: (t["tid"], t["pc"], t["sp"])  # noqa: E731
    c.check([keep(t) for t in alone["threads"]] == [keep(t) for t in full["threads"]],
            f"{where}: threads differ from info with the executable")
    for key in ("count", "bytes_mapped", "bytes_in_core", "truncated_segments"):
        c.check(alone["mappings"][key] == full["mappings"][key],
                f"{where}: mappings.{key} {alone['mappings'][key]}, with the executable {full['mappings'][key]}")
    m = alone["mappings"]
    c.check(m["bytes_in_core"] + m["bytes_unsaved"] == m["bytes_mapped"] and m["bytes_from_exe"] == 0,
            f"{where}: mappings do not add up without the executable: {m}")
    if arch == "amd64":
        # The kernel saves the first page of the executable: header, program headers, notes.
        for key in ("go_build_id", "pie", "load_bias"):
            c.check(alone[key] == full[key], f"{where}: {key} {alone[key]!r}, with the executable {full[key]!r}")
    else:
        c.check(alone["go_build_id"] is None and alone["pie"] is None and alone["load_bias"] is None,
                f"{where}: qemu-user saved no ELF header, yet go_build_id/pie/load_bias are known: {alone}")


def check_core_only(c, gm, version, name, sdir):
    core = os.path.join(sdir, "core")
    exe = os.path.join(sdir, "exe")
    where = f"{version}/{name}"
    truth = gmtest.load_truth(sdir)
    arch = gmtest.folder_arch(version)
    res = gmtest.run([gm, "info", core, "--exe", MISSING, "--json"])
    c.no_sanitizer_report(res)
    if not c.check(res.status == 3 and MISSING in res.stderr and res.stdout.startswith("{"),
                   f"{where}: info --exe {MISSING}: exit {res.status}, {res.stderr.strip()}"):
        return
    alone = res.json()
    c.check(alone["executable"] is None and MISSING in alone["executable_error"],
            f"{where}: executable {alone['executable']!r}, error {alone['executable_error']!r}")
    c.check(alone["go_version"] == truth["go_version"],
            f"{where}: go_version {alone['go_version']!r} from the core, truth {truth['go_version']!r}")
    c.check(alone["goarch"] == truth["goarch"], f"{where}: goarch {alone['goarch']!r}, truth {truth['goarch']!r}")
    c.check(alone["pid"] == truth["pid"], f"{where}: pid {alone['pid']}, truth {truth['pid']}")
    c.check(alone["goroutines"] is None and alone["needs_executable"],
            f"{where}: goroutines without the executable, or nothing said to need it")
    nthreads, files = readelf_notes(core)
    c.check(len(alone["threads"]) == nthreads and alone["notes"]["prstatus"] == nthreads,
            f"{where}: {len(alone['threads'])} threads, eu-readelf counts {nthreads}")
    got_files = [(int(f["start"], 16), int(f["end"], 16), f["path"]) for f in alone["files"]]
    c.check(got_files == files,
            f"{where}: NT_FILE {got_files[:3]}..., eu-readelf {files[:3]}...")
    if arch == "amd64":
        c.check(alone["executable_named_by_core"] and os.path.samefile(alone["executable_named_by_core"], exe),
                f"{where}: the core names {alone['executable_named_by_core']!r}, not {exe}")
    full = gmtest.run([gm, "info", core, "--exe", exe, "--json"])
    if c.check(full.status == 0, f"{where}: info with the executable exited {full.status}"):
        check_against_full(c, where, alone, full.json(), arch)
    text = gmtest.run([gm, "info", core, "--exe", MISSING])
    c.check(text.status == 3 and f"go version:   {truth['go_version']} (from .go.buildinfo" in text.stdout
            and "needs the executable" in text.stdout and f"pid:          {truth['pid']}" in text.stdout,
            f"{where}: text output without the executable: {text.stdout[:400]!r}")


def renamed_exe_core(sdir, tmp):
    """A copy of the core whose NT_FILE note names an executable that does not
    exist: the last letter of its path changed in the notes (the path keeps its
    length, so nothing else moves)."""
    _, files = readelf_notes(os.path.join(sdir, "core"))
    truth_exe = files[0][2]
    gone = truth_exe[:-1] + ("X" if truth_exe[-1] != "X" else "Y")
    out = subprocess.run(["readelf", "-lW", os.path.join(sdir, "core")], capture_output=True, text=True,
                         check=True).stdout
    note = re.search(r"^\s+NOTE\s+0x([0-9a-f]+) \S+ \S+ 0x([0-9a-f]+)", out, re.M)
    start, size = int(note.group(1), 16), int(note.group(2), 16)
    path = os.path.join(tmp, "core")
    shutil.copyfile(os.path.join(sdir, "core"), path)
    with open(path, "r+b") as f:
        f.seek(start)
        notes = f.read(size)
        old, new = truth_exe.encode() + b"\0", gone.encode() + b"\0"
        f.seek(start)
        f.write(notes.replace(old, new))
    return path, gone


def check_exe_gone(c, gm, version, sdir):
    """NT_FILE names an executable that is gone: status 5, the facts first."""
    where = f"{version}/zoo (NT_FILE executable gone)"
    truth = gmtest.load_truth(sdir)
    with tempfile.TemporaryDirectory() as tmp:
        core, gone = renamed_exe_core(sdir, tmp)
        res = gmtest.run([gm, "info", core, "--json"])
        c.no_sanitizer_report(res)
        if not c.check(res.status == 5 and gone in res.stderr and "--exe" in res.stderr,
                       f"{where}: exit {res.status}: {res.stderr.strip()}"):
            return
        info = res.json()
        c.check(info["executable_named_by_core"] == gone, f"{where}: named {info['executable_named_by_core']!r}")
        c.check(info["go_version"] == truth["go_version"] and info["pid"] == truth["pid"],
                f"{where}: go_version {info['go_version']!r}, pid {info['pid']}")
        c.check(info["go_build_id"] is not None, f"{where}: no build ID from the saved notes")


def main():
    gm = gmtest.gomortem()
    root = gmtest.corpus_dir()
    c = gmtest.Checker("test_core_only")
    seen = 0
    for version, name, sdir in gmtest.scenarios(root, stripped=True):
        check_core_only(c, gm, version, name, sdir)
        if name == "zoo" and gmtest.folder_arch(version) == "amd64":
            check_exe_gone(c, gm, version, sdir)
        seen += 1
    if not seen:
        gmtest.skip(f"no cores under {root}")
    c.finish()


if __name__ == "__main__":
    main()
