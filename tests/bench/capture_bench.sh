#!/usr/bin/env bash
# tests/bench/capture_bench.sh — the pause of `gomortem capture` next to gcore.
#
# Usage: tests/bench/capture_bench.sh [--objects "2200000 22000000"] [--runs 3]
#                                     [--modes "precopy snapshot stop-copy gcore"]
#                                     [--mechanisms "112 1024 4096"] [--out DIR]
#
# Builds gomortem (build/) and corpora/bigheap, runs bigheap live
# (`-objects N -no-heapdump -live`, ≈ 46 MB of heap per million objects, so
# the defaults give heaps of about 100 MB and 1 GB) and, on the same
# process, alternating, --runs times each:
#   gomortem capture PID -o CORE --precopy     (copy while running, written
#                                              pages again in a second stop)
#   gomortem capture PID -o CORE               (snapshot: the pause it prints)
#   gomortem capture PID -o CORE --stop-copy   (copied while stopped)
#   gcore -o CORE PID                          (stopped for all of its run)
# and prints a table per size: median pause, median total time, core size
# (apparent and on disk).  The pause of gomortem is what it prints (first
# thread stopped to last thread resumed); gcore's is its wall time, an upper
# bound (gdb attaches, reads symbols, copies, and detaches at its end).
# --mechanisms MBS instead runs tests/bench/pause_mechanisms.c (the kernel
# cost of fork, THP fork, userfaultfd write protection, PAGEMAP_SCAN) on
# anonymous regions of those sizes.  The load average is printed before and
# after.  OUT defaults to build/bench-capture; the cores are deleted once measured.
# Needs root (or ptrace rights) and gdb.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OBJECTS="2200000 22000000"
RUNS=3
MODES="precopy snapshot stop-copy gcore"
MECHANISMS=""
OUT="$REPO/build/bench-capture"

while [ $# -gt 0 ]; do
    case "$1" in
        --objects) OBJECTS="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        --modes) MODES="$2"; shift 2 ;;
        --mechanisms) MECHANISMS="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        -h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done

die() { echo "capture_bench: $*" >&2; exit 1; }
OUT=$(realpath -m "$OUT")
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "$MECHANISMS" ]; then
    mkdir -p "$OUT"
    cc -O2 -o "$OUT/pause_mechanisms" "$REPO/tests/bench/pause_mechanisms.c" || die "pause_mechanisms does not build"
    for mb in $MECHANISMS; do "$OUT/pause_mechanisms" "$mb" "$RUNS" || die "pause_mechanisms $mb failed"; done
    echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    exit 0
fi
command -v gcore >/dev/null || die "gcore (gdb) is not installed"
mkdir -p "$OUT"
cmake -S "$REPO" -B "$REPO/build" >/dev/null && cmake --build "$REPO/build" -j2 >/dev/null ||
    die "gomortem does not build"
GM="$REPO/build/gomortem"
(cd "$REPO/corpora" && go build -o "$OUT/bigheap" ./bigheap) || die "bigheap does not build"

LIVE_PID=""
cleanup() { [ -n "$LIVE_PID" ] && kill -KILL "$LIVE_PID" 2>/dev/null; rm -f "$OUT"/*.core "$OUT"/core.*; }
trap cleanup EXIT

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

start_bigheap() {
    local n=$1 dir="$OUT/run-$1"
    rm -rf "$dir"; mkdir -p "$dir"
    (cd "$dir" && exec "$OUT/bigheap" -objects "$n" -no-heapdump -live -out .) >/dev/null 2>&1 &
    LIVE_PID=$!
    for _ in $(seq 6000); do
        [ "$(cat "$dir/ready" 2>/dev/null)" = ready ] && return 0
        kill -0 "$LIVE_PID" 2>/dev/null || break
        sleep 0.1
    done
    die "bigheap -objects $n did not become ready"
}

# measure MODE: one run; prints "pause_ms total_s apparent_MB disk_MB stop_ms first_pause_ms".
measure() {
    local mode=$1 core="$OUT/$1.core" start end line
    rm -f "$core" "$OUT"/core.*
    start=$(date +%s.%N)
    case "$mode" in
        precopy) line=$("$GM" capture "$LIVE_PID" -o "$core" --precopy 2>&1) || die "capture failed: $line"
                 grep -q "copied again" <<<"$line" || die "no precopy: $line" ;;
        snapshot) line=$("$GM" capture "$LIVE_PID" -o "$core" 2>&1) || die "capture failed: $line" ;;
        stop-copy) line=$("$GM" capture "$LIVE_PID" -o "$core" --stop-copy 2>&1) || die "capture failed: $line" ;;
        gcore) gcore -o "$OUT/core" "$LIVE_PID" >/dev/null 2>&1 || die "gcore failed"
               mv "$OUT/core.$LIVE_PID" "$core" ;;
    esac
    end=$(date +%s.%N)
    local total pause stop=0 first=0
    total=$(echo "$end - $start" | bc -l)
    if [ "$mode" = gcore ]; then
        pause=$(echo "$total * 1000" | bc -l)
    else
        pause=$(sed -n 's/.*paused \([0-9.]*\) ms.*/\1/p' <<<"$line")
        stop=$(sed -n 's/.*stopping \([0-9.]*\) ms.*/\1/p' <<<"$line")
        first=$(sed -n 's/.*first pause of \([0-9.]*\) ms.*/\1/p' <<<"$line")
    fi
    sync "$core"
    printf '%.2f %.2f %d %d %.2f %.2f\n' "$pause" "$total" "$(( $(stat -c %s "$core") >> 20 ))" \
        "$(( $(stat -c %b "$core") * 512 >> 20 ))" "$stop" "${first:-0}"
    rm -f "$core"
}

echo "| heap (HeapAlloc) | RSS | method | pause (median) | of which stopping the threads | precopy's first pause | total (median) | core apparent | core on disk |"
echo "|---|---|---|---|---|---|---|---|---|"
for n in $OBJECTS; do
    start_bigheap "$n"
    heap=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['memstats']['HeapAlloc'] >> 20)" \
        "$OUT/run-$n/truth.json")
    rss=$(awk '/VmRSS/ { print int($2 / 1024) }' "/proc/$LIVE_PID/status")
    declare -A results=()
    for _ in $(seq "$RUNS"); do
        for mode in $MODES; do
            results[$mode]+="$(measure "$mode")"$'\n'
        done
    done
    for mode in $MODES; do
        rows=${results[$mode]}
        pause=$(awk 'NF { print $1 }' <<<"$rows" | median)
        total=$(awk 'NF { print $2 }' <<<"$rows" | median)
        apparent=$(awk 'NF { print $3 }' <<<"$rows" | median)
        disk=$(awk 'NF { print $4 }' <<<"$rows" | median)
        stop=$(awk 'NF { print $5 }' <<<"$rows" | median)
        first=$(awk 'NF { print $6 }' <<<"$rows" | median)
        [ "$mode" = gcore ] && stop="-" || stop="$stop ms"
        [ "$mode" = precopy ] && first="$first ms" || first="-"
        echo "| $heap MB | $rss MB | $mode | $pause ms | $stop | $first | $total s | $apparent MB | $disk MB |"
    done
    echo "raw runs (pause_ms total_s apparent_MB disk_MB stop_ms first_pause_ms), $n objects:" >&2
    for mode in $MODES; do printf '%s\n%s' "$mode" "${results[$mode]}" >&2; done
    unset results
    kill -KILL "$LIVE_PID" 2>/dev/null; wait "$LIVE_PID" 2>/dev/null; LIVE_PID=""
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
