"""gm_read and gm_read_u64 return an allocated error: a caller that tests
the result as a boolean leaks it on every failed read (issue 19).  This
check refuses any call whose result is not kept (assigned, returned, or
handed to gm_error_prefix); such callers use gm_try_read instead.

  check_reads.py SOURCE_ROOT            check, exit 1 on a finding
  check_reads.py --fix SOURCE_ROOT      rewrite boolean uses to gm_try_read*
"""
import os
import re
import sys

CALL = re.compile(r"\bgm_read(_u64)?\(")
KEPT = re.compile(r"(\berr\s*=|\breturn|gm_error_prefix\(|=\s*|\?)\s*$")


def call_end(text, start):
    """Index just past the parenthesis closing the call opened at START."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i + 1
    raise ValueError("unbalanced call")


def boolean_uses(text):
    """(start, end, is_u64) of every call whose result is not kept."""
    for m in CALL.finditer(text):
        end = call_end(text, m.end() - 1)
        before = text[max(0, m.start() - 80):m.start()]
        after = text[end:].lstrip()[:1]
        if KEPT.search(before) and after in (";", ":", ")", ","):
            continue
        yield m.start(), end, bool(m.group(1))


def fix(text):
    out, last = [], 0
    for start, end, u64 in boolean_uses(text):
        name = "gm_try_read_u64" if u64 else "gm_try_read"
        args = text[text.index("(", start):end]
        rest = text[end:]
        negated = text[:start].endswith("!")
        if re.match(r"\s*!=\s*NULL", rest):
            skip = re.match(r"\s*!=\s*NULL", rest).end()
            new, drop_before = f"!{name}{args}", 0
        elif re.match(r"\s*==\s*NULL", rest):
            skip = re.match(r"\s*==\s*NULL", rest).end()
            new, drop_before = f"{name}{args}", 0
        elif negated:
            skip, new, drop_before = 0, f"{name}{args}", 1
        else:
            skip, new, drop_before = 0, f"!{name}{args}", 0
        out.append(text[last:start - drop_before])
        out.append(new)
        last = end + skip
    out.append(text[last:])
    return "".join(out)


def sources(root):
    for top in ("analyzer", "dwarf"):
        for dirpath, _dirs, files in os.walk(os.path.join(root, top)):
            for name in files:
                if name.endswith(".c") and name != "address_space.c":
                    yield os.path.join(dirpath, name)


def main():
    args = sys.argv[1:]
    do_fix = args[:1] == ["--fix"]
    root = args[-1]
    found = 0
    for path in sources(root):
        with open(path) as f:
            text = f.read()
        if do_fix:
            fixed = fix(text)
            if fixed != text:
                with open(path, "w") as f:
                    f.write(fixed)
            continue
        for start, _end, _u64 in boolean_uses(text):
            line = text.count("\n", 0, start) + 1
            print(f"{path}:{line}: gm_read's error tested as a boolean (leaks it): use gm_try_read")
            found += 1
    if not do_fix:
        print(f"check_reads: {found} boolean uses of gm_read")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
