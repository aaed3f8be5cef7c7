"""Parse the goroutine dump Go prints on a crash (GOTRACEBACK=crash, or
SIGQUIT with GOTRACEBACK=all): the oracle for goroutines and frames."""
import re

HEADER = re.compile(r"^goroutine (\d+)(?: gp=\S+)?(?: m=\S+)?(?: mp=\S+)? \[([^\]]*)\]:$")
FILE_LINE = re.compile(r"^\t(.+):(\d+)(?: \+0x[0-9a-f]+)?(?: fp=(0x[0-9a-f]+) sp=(0x[0-9a-f]+) pc=(0x[0-9a-f]+))?$")
CREATED = re.compile(r"^created by (\S+)(?: in goroutine (\d+))?$")


class Goroutine:
    def __init__(self, goid, bracket):
        self.goid = goid
        self.bracket = bracket
        # The status is what precedes ", N minutes" / ", locked to thread".
        self.status = bracket.split(",")[0].strip()
        self.locked = "locked to thread" in bracket
        self.frames = []          # (func, file, line, pc or None); inlined frames have no pc
        # (fp, sp) of each frame, as frames; None where the dump printed no
        # pc (inlined frames; GOTRACEBACK=all prints none at all)
        self.frame_bounds = []
        self.created_by = None
        self.created_at = None    # "file:line"
        self.parent_goid = None
        self.elided = False


def _func_name(line):
    """'main.f(0x1, ...)' -> 'main.f'; method names keep their receivers."""
    if line.endswith(")"):
        depth = 0
        for i in range(len(line) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(line[i], 0)
            if depth == 0:
                return line[:i]
    return line


def parse(text):
    """Return {goid: Goroutine}, the first dump of each goroutine (a crash
    prints some twice), goroutine 0 (the scheduler) left out."""
    out = {}
    cur = None
    pending = None
    for line in text.splitlines():
        m = HEADER.match(line)
        if m:
            goid = int(m.group(1))
            cur = None if goid == 0 or goid in out else Goroutine(goid, m.group(2))
            if cur:
                out[goid] = cur
            pending = None
            continue
        if cur is None:
            continue
        if not line:
            cur = None
            continue
        m = CREATED.match(line)
        if m:
            cur.created_by = m.group(1)
            cur.parent_goid = int(m.group(2)) if m.group(2) else None
            pending = "created"
            continue
        m = FILE_LINE.match(line)
        if m and pending == "created":
            cur.created_at = f"{m.group(1)}:{m.group(2)}"
            pending = None
            continue
        if m and pending:
            pc = int(m.group(5), 16) if m.group(5) else None
            cur.frames.append((pending, m.group(1), int(m.group(2)), pc))
            cur.frame_bounds.append((int(m.group(3), 16), int(m.group(4), 16)) if m.group(3) else None)
            pending = None
            continue
        if line.startswith("...") and "frames elided" in line:
            cur.elided = True
            continue
        if not line.startswith("\t"):
            pending = _func_name(line)
    return out


def parse_file(path):
    with open(path, errors="replace") as f:
        return parse(f.read())
