"""Bad input is normal input: every case gives a one-line error naming the
file and the problem, and its documented exit status (docs/exit-codes.md);
never a crash, a hang or a sanitizer report."""
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import gmtest  # noqa: E402

EXIT_USAGE, EXIT_IO, EXIT_BAD_CORE, EXIT_BAD_EXE, EXIT_NO_DWARF, EXIT_BAD_RUNTIME = 2, 3, 4, 5, 6, 9
KNOWN_VERSIONS = "go1.20-go1.27"


def expect(c, gm, args, status, *needles):
    res = gmtest.run([gm] + args)
    what = " ".join(["gomortem"] + args)
    c.no_sanitizer_report(res)
    c.check(res.status == status, f"{what}: exit {res.status}, want {status}; stderr: {res.stderr.strip()}")
    line = res.stderr.strip().splitlines()[0] if res.stderr.strip() else ""
    for needle in needles:
        c.check(needle in line, f"{what}: first stderr line {line!r} lacks {needle!r}")
    return res


def truncated_copy(src, dst, size):
    with open(src, "rb") as f, open(dst, "wb") as out:
        out.write(f.read(size))


def elf_layout(core):
    """(phoff, phnum, notes offset, notes size, first load offset) of a core, by readelf."""
    out = subprocess.run(["readelf", "-lW", core], capture_output=True, text=True, check=True).stdout
    phoff = phnum = None
    note = load = None
    for line in out.splitlines():
        words = line.split()
        if "program headers, starting at offset" in line:
            phnum = int(words[2])
            phoff = int(words[-1])
        elif words[:1] == ["NOTE"] and note is None:
            note = (int(words[1], 16), int(words[4], 16))
        elif words[:1] == ["LOAD"] and load is None and int(words[4], 16) > 0:
            load = (int(words[1], 16), int(words[4], 16))
    return phoff, phnum, note, load


def check_truncations(c, gm, core, exe, tmp):
    phoff, phnum, note, load = elf_layout(core)
    size = os.path.getsize(core)
    cuts = {
        "inside the ELF identification": 10,
        "inside the ELF header": 40,
        "inside the program headers": phoff + 56 * (phnum // 2) + 3,
        "inside the notes": note[0] + note[1] // 2,
        "inside the first saved segment": load[0] + load[1] // 2,
        "halfway": size // 2,
        "one byte short": size - 1,
    }
    for where, cut in cuts.items():
        part = os.path.join(tmp, f"core.cut{cut}")
        truncated_copy(core, part, cut)
        expect(c, gm, ["info", part, "--exe", exe], EXIT_BAD_CORE, part, "truncated")
        if cut > note[0] + note[1]:
            # Headers and notes are whole: partial analysis is allowed on request.
            res = gmtest.run([gm, "info", part, "--exe", exe, "--allow-truncated", "--json"])
            c.no_sanitizer_report(res)
            ok = res.status == 0 and res.json()["mappings"]["truncated_segments"] > 0
            c.check(ok, f"--allow-truncated on a core cut {where}: exit {res.status} {res.stderr.strip()}")
        os.unlink(part)


def check_corruptions(c, gm, core, exe, tmp):
    """Random byte flips in the headers and notes: any exit status but a crash."""
    _, _, note, _ = elf_layout(core)
    with open(core, "rb") as f:
        head = bytearray(f.read(note[0] + note[1]))
    rng = random.Random(1234)
    for i in range(40):
        mutated = bytearray(head)
        for _ in range(rng.randint(1, 16)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        path = os.path.join(tmp, "core.corrupt")
        with open(path, "wb") as out:
            out.write(mutated)
        res = gmtest.run([gm, "info", path, "--exe", exe, "--allow-truncated"], timeout=60)
        c.no_sanitizer_report(res)
        c.check(res.status in (0, EXIT_BAD_CORE, EXIT_BAD_EXE), f"corruption {i}: exit {res.status}")
        c.check(res.status >= 0, f"corruption {i}: killed by signal {-res.status}")
        os.unlink(path)


def c_program_core(tmp):
    """Build and crash a C program; returns its core path.  When core_pattern
    sends kernel cores elsewhere, gcore a live run instead."""
    src = os.path.join(os.path.dirname(__file__), "cprog.c")
    exe = os.path.join(tmp, "cprog")
    subprocess.run(["cc", "-o", exe, src], check=True)
    with open("/proc/sys/kernel/core_pattern") as f:
        pattern = f.read().strip()
    if pattern.startswith("|") or "/" in pattern:
        proc = subprocess.Popen([exe, "wait"])
        try:
            subprocess.run(["gcore", "-o", os.path.join(tmp, "core"), str(proc.pid)],
                           capture_output=True, timeout=120)
        finally:
            proc.kill()
            proc.wait()
        path = os.path.join(tmp, f"core.{proc.pid}")
        return path if os.path.exists(path) else None

    def allow_core():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    subprocess.run([exe], cwd=tmp, preexec_fn=allow_core)
    for name in os.listdir(tmp):
        if name.startswith("core"):
            return os.path.join(tmp, name)
    return None


def check_foreign_core(c, gm, ccore, go_dirs, tmp):
    """A C program's core with a Go executable (PIE or not) is refused before
    any analysis, saying the core does not belong to the executable; analyze
    leaves no database."""
    for sdir in filter(None, go_dirs):
        exe = os.path.join(sdir, "exe")
        expect(c, gm, ["info", ccore, "--exe", exe], EXIT_BAD_EXE, exe, "does not belong", "cprog")
        db = os.path.join(tmp, "foreign.db")
        expect(c, gm, ["analyze", ccore, "--exe", exe, "-o", db], EXIT_BAD_EXE, exe, "does not belong")
        c.check(not any(n.startswith("foreign.db") for n in os.listdir(tmp)),
                f"analyze of a foreign core left {os.listdir(tmp)}")


def renamed_version_exe(sdir, old, new, tmp):
    """A copy of the scenario's executable that says it is Go NEW (same length
    as OLD): every occurrence of the version string replaced, so the build
    info and runtime.buildVersion (read-only data, taken from the file since
    the core does not save it) agree."""
    with open(os.path.join(sdir, "exe"), "rb") as f:
        data = f.read()
    path = os.path.join(tmp, f"exe-{new}")
    with open(path, "wb") as f:
        f.write(data.replace(old.encode(), new.encode()))
    os.chmod(path, 0o755)
    return path


def check_unknown_versions(c, gm, root, tmp):
    """A Go version outside the known range is refused, naming it and the
    range; --force-version goes on and marks the database partial."""
    for version, scen, sdir in gmtest.scenarios(root):
        if scen != "zoo":
            continue
        minor = int(version.split(".")[1])
        fake = {27: "go1.28.0", 20: "go1.19.14"}.get(minor)
        if not fake or len(fake) != len(version):
            continue
        core = os.path.join(sdir, "core")
        exe = renamed_version_exe(sdir, version, fake, tmp)
        expect(c, gm, ["info", core, "--exe", exe], EXIT_BAD_RUNTIME, exe, fake, KNOWN_VERSIONS,
               "--force-version")
        db = os.path.join(tmp, "forced.db")
        expect(c, gm, ["analyze", core, "--exe", exe, "-o", db], EXIT_BAD_RUNTIME, fake, KNOWN_VERSIONS)
        res = expect(c, gm, ["info", core, "--exe", exe, "--force-version"], 0)
        c.check(fake in res.stdout, f"{version} as {fake}: info --force-version does not name {fake}")
        expect(c, gm, ["analyze", core, "--exe", exe, "-o", db, "--quiet", "--force-version"], 0)
        if os.path.exists(db):
            import sqlite3
            meta = dict(sqlite3.connect(db).execute("SELECT key, value FROM meta"))
            truth = gmtest.load_truth(sdir)
            c.check(meta.get("partial") == 1 and meta.get("version_forced") == 1,
                    f"{version} as {fake}: forced database not marked partial: {meta.get('partial')}, "
                    f"{meta.get('version_forced')}")
            c.check(meta.get("heap_objects") == truth["memstats"]["HeapObjects"],
                    f"{version} as {fake}: {meta.get('heap_objects')} objects, MemStats says "
                    f"{truth['memstats']['HeapObjects']}")
            os.unlink(db)
        os.unlink(exe)


def pick(root, name, arch="amd64"):
    for version, scen, sdir in sorted(gmtest.scenarios(root), reverse=True):
        if scen == name and gmtest.folder_arch(version) == arch:
            return sdir
    return None


def foreign_core(src, dst, machine, elf_class=2):
    """A copy of the ELF header of SRC (a core) claiming another architecture:
    e_machine MACHINE, EI_CLASS ELF_CLASS (1 = 32-bit)."""
    with open(src, "rb") as f:
        head = bytearray(f.read(4096))
    head[4] = elf_class
    head[18:20] = machine.to_bytes(2, "little")
    with open(dst, "wb") as out:
        out.write(head)


def check_architectures(c, gm, root, core, exe, tmp):
    """Cores of architectures gomortem does not read are refused with the
    architecture named; an arm64 core names what it lacks."""
    crafted = os.path.join(tmp, "crafted")
    os.mkdir(crafted)
    for machine, elf_class, name in ((243, 2, "riscv64"), (22, 2, "s390x"), (3, 1, "386"), (40, 1, "arm")):
        path = os.path.join(crafted, f"core.{name}")
        foreign_core(core, path, machine, elf_class)
        expect(c, gm, ["info", path], EXIT_BAD_CORE, path, "unsupported architecture", name)
        expect(c, gm, ["analyze", path, "--exe", exe, "-o", os.path.join(crafted, "x.db")], EXIT_BAD_CORE,
               "unsupported architecture", name)
    arm64 = pick(root, "zoo", "arm64")
    if not arm64:
        print("note: no arm64 zoo core: the arm64 cases are not run")
        return
    arm_core = os.path.join(arm64, "core")
    # qemu-user writes no NT_FILE note: the executable cannot be found from the core.
    expect(c, gm, ["info", arm_core], EXIT_BAD_EXE, arm_core, "no NT_FILE", "--exe")
    expect(c, gm, ["info", arm_core, "--exe", exe], EXIT_BAD_EXE, exe, "x86_64", "aarch64")
    expect(c, gm, ["info", core, "--exe", os.path.join(arm64, "exe")], EXIT_BAD_EXE, "aarch64", "x86_64")


def main():
    gm = gmtest.gomortem()
    root = gmtest.corpus_dir()
    c = gmtest.Checker("test_bad_input")
    zoo, other, nodwarf = pick(root, "zoo"), pick(root, "goroutines"), pick(root, "zoo-nodwarf")
    if not zoo or not other:
        gmtest.skip("corpus lacks zoo or goroutines cores")
    core, exe = os.path.join(zoo, "core"), os.path.join(zoo, "exe")
    tmp = tempfile.mkdtemp(prefix="gomortem-bad-")
    try:
        text = os.path.join(tmp, "notes.txt")
        with open(text, "w") as f:
            f.write("this is not a core dump\n")
        expect(c, gm, ["info", text], EXIT_BAD_CORE, text, "not an ELF file")
        expect(c, gm, ["info", exe], EXIT_BAD_CORE, exe, "not a core file")
        expect(c, gm, ["info", os.path.join(tmp, "missing")], EXIT_IO, "missing", "No such file")
        expect(c, gm, ["info", tmp], EXIT_IO, tmp, "not a regular file")
        expect(c, gm, ["info", core, "--exe", text], EXIT_BAD_EXE, text, "not an ELF file")
        expect(c, gm, ["info", core, "--exe", core], EXIT_BAD_EXE, core, "core file")
        expect(c, gm, ["info"], EXIT_USAGE, "expected one CORE")
        expect(c, gm, ["info", core, "--bogus"], EXIT_USAGE)
        expect(c, gm, ["nosuchcommand"], EXIT_USAGE, "unknown command")
        # The wrong executable: another program's, then the same program from another Go version.
        other_exe = os.path.join(other, "exe")
        expect(c, gm, ["info", core, "--exe", other_exe], EXIT_BAD_EXE, other_exe, "wrong executable")
        for version, scen, sdir in gmtest.scenarios(root):
            if scen == "zoo" and sdir != zoo and gmtest.folder_arch(version) == "amd64":
                expect(c, gm, ["info", core, "--exe", os.path.join(sdir, "exe")], EXIT_BAD_EXE,
                       "wrong executable")
        if nodwarf:
            # Without DWARF, info binds the runtime from the built-in layout table
            # (tests/dwarf/test_layout_tables.py checks what it reads).
            res = gmtest.run([gm, "info", os.path.join(nodwarf, "core"), "--exe", os.path.join(nodwarf, "exe")])
            c.check(res.status == 0 and "dwarf:        absent" in res.stdout and
                    "debug info:   symtab" in res.stdout and "layouts:      the layout table of" in res.stdout,
                    f"nodwarf: info exit {res.status}: {res.stderr.strip()}: {res.stdout}")
            expect(c, gm, ["info", os.path.join(nodwarf, "core"), "--exe", os.path.join(nodwarf, "exe"),
                           "--runtime-from", text], EXIT_BAD_EXE, text, "not an ELF file")
        else:
            c.check(False, "corpus lacks a zoo-nodwarf core")
        check_unknown_versions(c, gm, root, tmp)
        check_architectures(c, gm, root, core, exe, tmp)
        check_truncations(c, gm, core, exe, tmp)
        check_corruptions(c, gm, core, exe, tmp)
        ccore = c_program_core(tmp)
        if c.check(ccore is not None, "no core of the C program (neither kernel core nor gcore)"):
            expect(c, gm, ["info", ccore], EXIT_BAD_EXE, "not a Go program")
            check_foreign_core(c, gm, ccore, [zoo, pick(root, "zoo-pie")], tmp)
            # The executable the core's NT_FILE note names is gone.
            os.unlink(os.path.join(tmp, "cprog"))
            expect(c, gm, ["info", ccore], EXIT_BAD_EXE, "cannot be read", "--exe")
    finally:
        shutil.rmtree(tmp)
    c.finish()


if __name__ == "__main__":
    main()
