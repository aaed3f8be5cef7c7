"""gomortem info on every corpus core, against what the core's own notes
(readelf) and the program's truth file say."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import gmtest  # noqa: E402
import traceback as gotraceback  # noqa: E402


def prstatus_count(core):
    """Threads in the core, counted by binutils' readelf: an oracle independent of gomortem."""
    out = subprocess.run(["readelf", "-n", core], capture_output=True, text=True,
                         check=True).stdout
    return len(re.findall(r"\bNT_PRSTATUS\b", out))


def build_experiments(exe):
    """The GOEXPERIMENT build setting as the go command reads it (go version -m), None if unset."""
    out = subprocess.run(["go", "version", "-m", exe], capture_output=True, text=True, check=True).stdout
    m = re.search(r"^\s*build\s+GOEXPERIMENT=(\S*)$", out, re.M)
    return m.group(1) if m else None


def auxv_page_size(core):
    """AT_PAGESZ of the core's NT_AUXV note, by elfutils' eu-readelf; None if absent."""
    out = subprocess.run(["eu-readelf", "-n", core], capture_output=True, text=True, check=True).stdout
    m = re.search(r"^\s+PAGESZ: (\d+)$", out, re.M)
    return int(m.group(1)) if m else None


def exe_loads(exe):
    """[start, end) of the executable's PT_LOAD segments (link-time), by readelf."""
    out = subprocess.run(["readelf", "-lW", exe], capture_output=True, text=True, check=True).stdout
    loads = []
    for line in out.splitlines():
        words = line.split()
        if words[:1] == ["LOAD"]:
            loads.append((int(words[2], 16), int(words[2], 16) + int(words[5], 16)))
    return loads


def check_scenario(c, gm, version, name, sdir):
    core = os.path.join(sdir, "core")
    exe = os.path.join(sdir, "exe")
    truth = gmtest.load_truth(sdir)
    where = f"{version}/{name}"
    res = gmtest.run([gm, "info", core, "--exe", exe, "--json"])
    c.no_sanitizer_report(res)
    if not c.check(res.status == 0, f"{where}: info exited {res.status}: {res.stderr.strip()}"):
        return
    info = res.json()
    c.check(info["go_version"] == truth["go_version"],
            f"{where}: go_version {info['go_version']!r} != truth {truth['go_version']!r}")
    c.check(info["runtime_build_version"] == truth["go_version"],
            f"{where}: runtime.buildVersion {info['runtime_build_version']!r} != truth")
    want_exp = build_experiments(exe)
    c.check(info["go_experiments"] == want_exp,
            f"{where}: go_experiments {info['go_experiments']!r}, go version -m says {want_exp!r}")
    c.check(not name.startswith("zoo-exp-") or want_exp == name.removeprefix("zoo-exp-"),
            f"{where}: built with GOEXPERIMENT={want_exp!r}")
    c.check(info["version_forced"] is False, f"{where}: version_forced")
    c.check(len(info["threads"]) == prstatus_count(core),
            f"{where}: {len(info['threads'])} threads, readelf counts {prstatus_count(core)}")
    c.check(info["pid"] == truth["pid"], f"{where}: pid {info['pid']} != truth {truth['pid']}")
    c.check(info["pie"] == name.endswith("-pie"), f"{where}: pie is {info['pie']}")
    c.check(info["dwarf"] is True, f"{where}: DWARF not found")
    arch = gmtest.folder_arch(version)
    c.check(info["arch"] == {"amd64": "x86_64", "arm64": "aarch64"}[arch], f"{where}: arch {info['arch']}")
    c.check(info["page_size"] == auxv_page_size(core),
            f"{where}: page size {info['page_size']}, eu-readelf says {auxv_page_size(core)}")
    # qemu-user (the arm64 corpus) saves no byte of read-only file mappings: the
    # note holding the build ID is not in the core.
    want_check = "matches the core" if arch == "amd64" else "not saved in the core, not verified"
    c.check(info["build_id_check"] == want_check, f"{where}: build ID check: {info['build_id_check']}")
    if truth.get("mode") == "crash":
        c.check(info["signal_name"] == "SIGABRT", f"{where}: signal {info['signal_name']}")
        # The kernel leaves the unwritten text out; it must come from the executable.
        c.check(info["mappings"]["bytes_from_exe"] > 0, f"{where}: nothing taken from the executable")
    # A pc in a shared library is named through the file NT_FILE maps there;
    # without NT_FILE (arm64, qemu-user) only the executable's pcs can be.
    bias = int(info["load_bias"], 16)
    in_exe = lambda pc: any(lo + bias <= pc < hi + bias for lo, hi in exe_loads(exe))  # noqa: E731
    c.check(all(t["function"] != "?" or (arch != "amd64" and not in_exe(int(t["pc"], 16)))
                for t in info["threads"] if t["tid"] == truth["pid"]),
            f"{where}: main thread pc not symbolized: {[t for t in info['threads'] if t['tid'] == truth['pid']]}")
    # Goroutine counts by status, as the goroutine dump Go printed has them.
    dumped = gotraceback.parse_file(os.path.join(sdir, "traceback.txt"))
    by_status = {}
    for g in dumped.values():
        by_status[g.status] = by_status.get(g.status, 0) + 1
    c.check(info["goroutines"] and info["goroutines"]["by_status"] == by_status,
            f"{where}: goroutines by status {info['goroutines']}, the dump has {by_status}")
    # Without --exe the executable is found through the core's NT_FILE note,
    # which qemu-user does not write.
    found = gmtest.run([gm, "info", core, "--json"])
    c.no_sanitizer_report(found)
    if arch != "amd64":
        c.check(found.status == 5 and "no NT_FILE note" in found.stderr and "--exe" in found.stderr,
                f"{where}: info without --exe on a core without NT_FILE: exit {found.status}: {found.stderr}")
    elif c.check(found.status == 0, f"{where}: info without --exe exited {found.status}: {found.stderr.strip()}"):
        c.check(found.json()["executable_from_core"] and os.path.samefile(found.json()["executable"], exe),
                f"{where}: NT_FILE led to {found.json()['executable']}, not {exe}")
    text = gmtest.run([gm, "info", core, "--exe", exe])
    c.check(text.status == 0 and f"go version:   {truth['go_version']}" in text.stdout,
            f"{where}: text output lacks the Go version")
    c.check(f"experiments:  {want_exp or 'none'}" in text.stdout, f"{where}: text output lacks the experiments")


def main():
    gm = gmtest.gomortem()
    root = gmtest.corpus_dir()
    c = gmtest.Checker("test_info")
    versions = set()
    for version, name, sdir in gmtest.scenarios(root):
        if name.endswith("-nodwarf"):
            continue
        versions.add(version)
        check_scenario(c, gm, version, name, sdir)
    if not versions:
        gmtest.skip(f"no cores under {root}")
    print(f"Go versions covered: {' '.join(sorted(versions))}")
    c.finish()


if __name__ == "__main__":
    main()
