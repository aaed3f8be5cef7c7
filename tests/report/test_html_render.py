"""The HTML report renders: one scenario's report is drawn by headless
Chromium into a PNG screenshot, which must not be blank (enough non-white
pixels and distinct colours: text, tables and the SVG bar charts).  The PNG
is decoded here with zlib and struct (8-bit RGB or RGBA, no interlace, as
Chromium writes it).  Skips (77) when chromium is not installed."""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import gmtest  # noqa: E402

SCENARIO = "zoo"
MIN_NONWHITE_SHARE = 0.02
MIN_COLOURS = 16
MIN_CHART_PIXELS = 500  # pixels of the charts' first bar colour (#2f6fb3)


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def decode_png(data):
    """(width, height, rows of (r, g, b) tuples) of an 8-bit RGB/RGBA PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, colour, _comp, _filt, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG: depth {depth} colour type {colour} interlace {interlace}")
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        base = y * (stride + 1)
        ftype, line = raw[base], bytearray(raw[base + 1:base + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 0xff
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xff
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xff
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xff
        rows.append([tuple(line[i:i + 3]) for i in range(0, stride, bpp)])
        prev = line
    return width, height, rows


def main():
    gm = gmtest.gomortem()
    root = gmtest.corpus_dir()
    chromium = find_chromium()
    if not chromium:
        gmtest.skip("chromium is not installed (apt-get install chromium)")
    sdir = next((d for _v, n, d in gmtest.scenarios(root) if n == SCENARIO), None)
    if not sdir:
        gmtest.skip(f"no {SCENARIO} scenario in the corpus")
    c = gmtest.Checker("report_html_render")
    with tempfile.TemporaryDirectory() as tmp:
        db, page, shot = (os.path.join(tmp, n) for n in ("zoo.db", "report.html", "shot.png"))
        r = gmtest.run([gm, "analyze", os.path.join(sdir, "core"), "-o", db])
        if not c.check(r.status == 0, f"analyze: {r.stderr}"):
            c.finish()
        r = gmtest.run([gm, "report", db, "--format", "html", "-o", page])
        c.no_sanitizer_report(r)
        if not c.check(r.status == 0, f"report --format html: {r.stderr}"):
            c.finish()
        profile = os.path.join(tmp, "profile")
        os.mkdir(profile)
        args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                f"--user-data-dir={profile}", f"--screenshot={shot}", "--window-size=1200,2000",
                "file://" + page]
        try:
            proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            gmtest.skip("chromium did not finish within 120 s")
        if not os.path.isfile(shot):
            gmtest.skip(f"chromium made no screenshot (exit {proc.returncode}): {proc.stderr[-500:]}")
        keep = os.environ.get("REPORT_SCREENSHOT")
        if keep:
            shutil.copy(shot, keep)
        with open(shot, "rb") as f:
            width, height, rows = decode_png(f.read())
        c.check((width, height) == (1200, 2000), f"screenshot is {width}x{height}")
        pixels = [p for row in rows for p in row]
        nonwhite = sum(1 for p in pixels if p != (255, 255, 255))
        colours = len(set(pixels))
        bar = sum(1 for p in pixels if abs(p[0] - 0x2f) < 8 and abs(p[1] - 0x6f) < 8 and abs(p[2] - 0xb3) < 8)
        print(f"screenshot {width}x{height}: {nonwhite / len(pixels):.1%} non-white, {colours} colours, "
              f"{bar} chart-blue pixels")
        c.check(nonwhite >= MIN_NONWHITE_SHARE * len(pixels), f"screenshot nearly blank: {nonwhite} non-white")
        c.check(colours >= MIN_COLOURS, f"screenshot has only {colours} colours")
        c.check(bar >= MIN_CHART_PIXELS, f"no bar chart drawn: {bar} pixels of the bar colour")
    c.finish()


if __name__ == "__main__":
    main()
