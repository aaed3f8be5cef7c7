#!/usr/bin/env bash
# tests/bench/bench.sh — time gomortem against its peers on big Go heaps.
#
# Usage: tests/bench/bench.sh [--sizes "1000000 5000000 20000000"] [--runs 3]
#                             [--grf-runs 1] [--out DIR] [--no-peers] [--delete-cores]
#
# Builds gomortem (build/, the project's release build), crashes
# corpora/bigheap into a kernel core per size (objects; reused when present),
# builds the peers (viewcore, goref's grf) from source snapshots with
# $PEERS_BUILD into OUT/peers, then runs on the same core, alternating, --runs
# times each (grf at most --grf-runs times, it is 20x slower):
#   gomortem analyze CORE --exe EXE -o OUT.db --progress   (graph stage time from it)
#   gomortem analyze CORE --exe EXE -o OUT.db --heap-only --quiet
#   viewcore CORE --exe EXE histogram
#   grf core EXE CORE -o grf.out
# under /usr/bin/time -f '%e %M' and prints a table per size (median wall
# time, median peak RSS, objects/s, RSS per object, ratios). OUT defaults to
# build/bench; --delete-cores removes each core once measured. Exits 0 when a peer fails (it says why); non-zero only when
# gomortem (or the core it needs) fails.
#
# Environment: PEERS_BUILD (default /work/shared/peers/build.sh), RUN_TIMEOUT
# (seconds per measured run, default 3600), GRF_TIMEOUT (seconds per grf run,
# default 600: a capped run is reported as "> CAP s"), GRF_MAX_VMEM_MB (an
# address-space cap for grf, unset by default: grf takes ~3.3 GB of RSS per
# million objects; over the cap it fails and is reported so), CORE_TIMEOUT (seconds
# to build+crash one scenario, default 1800).
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SELF="$REPO/tests/bench/bench.sh"

# ---- peers ------------------------------------------------------------------------
# Built from the source snapshots beside PEERS_BUILD (golang.org/x/debug's
# viewcore, cloudwego/goref's grf; `go install ...@latest` is refused by the
# module proxy here). Their versions are the snapshots' names.
PEERS_BUILD="${PEERS_BUILD:-/work/shared/peers/build.sh}"

SIZES="1000000 5000000 20000000"
RUNS=3
OUT="$REPO/build/bench"
PEERS=1
DELETE_CORES=0
RUN_TIMEOUT="${RUN_TIMEOUT:-3600}"
GRF_TIMEOUT="${GRF_TIMEOUT:-600}"
GRF_MAX_VMEM_MB="${GRF_MAX_VMEM_MB:-}"
GRF_RUNS=1
CORE_TIMEOUT="${CORE_TIMEOUT:-1800}"

usage() {
    awk 'NR > 1 && !/^#/ {exit} NR > 1' "$SELF" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

while [ $# -gt 0 ]; do
    case "$1" in
        --sizes) SIZES="$2"; shift 2 ;;
        --sizes=*) SIZES="${1#--sizes=}"; shift ;;
        --runs) RUNS="$2"; shift 2 ;;
        --runs=*) RUNS="${1#--runs=}"; shift ;;
        --grf-runs) GRF_RUNS="$2"; shift 2 ;;
        --grf-runs=*) GRF_RUNS="${1#--grf-runs=}"; shift ;;
        --out) OUT="$2"; shift 2 ;;
        --out=*) OUT="${1#--out=}"; shift ;;
        --no-peers) PEERS=0; shift ;;
        --delete-cores) DELETE_CORES=1; shift ;;
        -h|--help) usage 0 ;;
        *) echo "bench: unknown argument: $1" >&2; usage 2 >&2 ;;
    esac
done
case "$RUNS" in ''|*[!0-9]*|0) echo "bench: --runs must be a positive integer" >&2; exit 2 ;; esac
case "$GRF_RUNS" in ''|*[!0-9]*) echo "bench: --grf-runs must be a number" >&2; exit 2 ;; esac
for s in $SIZES; do
    case "$s" in ''|*[!0-9]*) echo "bench: bad size '$s' (a number of objects)" >&2; exit 2 ;; esac
done

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

mkdir -p "$OUT" || die "cannot create $OUT"
OUT="$(cd "$OUT" && pwd)"

# ---- tools --------------------------------------------------------------------
if [ ! -x /usr/bin/time ]; then
    log "/usr/bin/time missing: apt-get install -y time"
    { apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y time >/dev/null 2>&1; }; } ||
        die "cannot install the 'time' package (/usr/bin/time is needed for peak RSS)"
fi
for t in go cmake timeout; do
    command -v "$t" >/dev/null || die "required tool not found: $t"
done

# ---- gomortem -------------------------------------------------------------------
BUILD="$REPO/build"
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    log "configuring $BUILD (release build: the project's default RelWithDebInfo, -O2 -g)"
    cmake -S "$REPO" -B "$BUILD" -DGOMORTEM_WERROR=ON >"$OUT/cmake.log" 2>&1 ||
        { tail -20 "$OUT/cmake.log" >&2; die "cmake configure failed"; }
fi
log "building gomortem (cmake --build build)"
cmake --build "$BUILD" --target gomortem -j "$(nproc)" >"$OUT/build.log" 2>&1 ||
    { tail -30 "$OUT/build.log" >&2; die "gomortem build failed (log: $OUT/build.log)"; }
GOMORTEM="$BUILD/gomortem"
[ -x "$GOMORTEM" ] || die "no $GOMORTEM after the build"
BUILD_TYPE="$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD/CMakeCache.txt")"
GM_COMMIT="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git -C "$REPO" status --porcelain --untracked-files=no -- analyzer dwarf schema CMakeLists.txt 2>/dev/null)" ]; then
    GM_COMMIT="$GM_COMMIT+dirty"
fi

# ---- cores ------------------------------------------------------------------------
CORE_PATTERN="$(cat /proc/sys/kernel/core_pattern 2>/dev/null || echo '|unknown')"
CORE_MODE=file
case "$CORE_PATTERN" in '|'*|*/*|'') CORE_MODE=gcore ;; esac
CORE_GLOB="$(printf '%s' "$CORE_PATTERN" | sed -e 's/%%/\x01/g' -e 's/%./*/g' -e 's/\x01/%/g')*"
if [ "$CORE_MODE" = gcore ]; then
    command -v gcore >/dev/null || die "core_pattern '$CORE_PATTERN' is not a file in the cwd and gcore is missing"
    log "note: core_pattern '$CORE_PATTERN': cores are taken with gcore from a live process"
fi

BIGHEAP="$OUT/bin/bigheap"
mkdir -p "$OUT/bin"
log "building corpora/bigheap"
(cd "$REPO/corpora" && GOTOOLCHAIN=local go build -buildvcs=false -o "$BIGHEAP.new" ./bigheap) >"$OUT/bigheap-build.log" 2>&1 ||
    { cat "$OUT/bigheap-build.log" >&2; die "go build ./bigheap failed"; }
# Keep the old executable when unchanged: reused cores must match it.
if [ -f "$BIGHEAP" ] && cmp -s "$BIGHEAP" "$BIGHEAP.new"; then rm -f "$BIGHEAP.new"; else mv -f "$BIGHEAP.new" "$BIGHEAP"; fi

LIVE_PID=""
cleanup() {
    if [ -n "$LIVE_PID" ] && kill -0 "$LIVE_PID" 2>/dev/null; then
        kill -KILL "$LIVE_PID" 2>/dev/null; wait "$LIVE_PID" 2>/dev/null
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# make_core SIZE DIR: DIR/{exe,core,truth.json,done}
make_core() {
    local n="$1" dir="$2" tmp="$2.tmp" rc=0 f found=""
    rm -rf "$tmp"; mkdir -p "$tmp"
    ln -f "$BIGHEAP" "$tmp/exe" 2>/dev/null || cp "$BIGHEAP" "$tmp/exe"
    if [ "$CORE_MODE" = file ]; then
        ( cd "$tmp" && ulimit -c unlimited && exec env GOTRACEBACK=crash timeout "$CORE_TIMEOUT" ./exe -out . -objects "$n" -no-heapdump ) \
            </dev/null >"$tmp/stdout.txt" 2>"$tmp/traceback.txt" || rc=$?
        [ "$rc" -eq 134 ] || { log "bigheap exit code $rc, expected 134"; tail -5 "$tmp/traceback.txt" >&2; return 1; }
        for f in "$tmp"/$CORE_GLOB; do
            [ -f "$f" ] || continue
            case "$(basename "$f")" in exe|truth.json|traceback.txt|stdout.txt) continue ;; esac
            found="$f"
        done
        [ -n "$found" ] || { log "no core file matching '$CORE_GLOB' in $tmp"; return 1; }
        [ "$found" = "$tmp/core" ] || mv "$found" "$tmp/core"
    else
        ( cd "$tmp" && ulimit -c 0 && exec env GOTRACEBACK=all ./exe -out . -live -objects "$n" -no-heapdump ) \
            </dev/null >"$tmp/stdout.txt" 2>"$tmp/traceback.txt" &
        LIVE_PID=$!
        local i
        for ((i = 0; i < CORE_TIMEOUT * 10; i++)); do
            [ "$(cat "$tmp/ready" 2>/dev/null)" = ready ] && break
            kill -0 "$LIVE_PID" 2>/dev/null || break
            sleep 0.1
        done
        [ "$(cat "$tmp/ready" 2>/dev/null)" = ready ] || { log "bigheap never became ready"; cleanup; return 1; }
        gcore -o "$tmp/core" "$LIVE_PID" </dev/null >"$tmp/gcore.log" 2>&1 || { log "gcore failed"; cleanup; return 1; }
        mv "$tmp/core.$LIVE_PID" "$tmp/core"
        command -v fallocate >/dev/null && fallocate --dig-holes "$tmp/core" 2>/dev/null
        cleanup; LIVE_PID=""
    fi
    grep -q '"memstats_stable": true' "$tmp/truth.json" 2>/dev/null || { log "truth.json missing or memstats not stable"; return 1; }
    touch "$tmp/done"
    rm -rf "$dir"; mv "$tmp" "$dir"
}

heap_objects() { sed -n 's/^ *"HeapObjects": \([0-9]*\).*/\1/p' "$1/truth.json" | head -1; }

# ---- peers ----------------------------------------------------------------------
PEER_DIR="$OUT/peers"
declare -A PEER_OK PEER_WHY PEER_VER
if [ "$PEERS" = 1 ]; then
    log "building the peers ($PEERS_BUILD $PEER_DIR; skipped when built)"
    if (cd /tmp && "$PEERS_BUILD" "$PEER_DIR") >"$OUT/peers-build.log" 2>&1; then :; else
        log "peer build failed: $(tail -3 "$OUT/peers-build.log" | tr '\n' ' ')"
    fi
    snapshot() { basename "$(ls "$(dirname "$PEERS_BUILD")"/$1 2>/dev/null | head -n 1)" .tar.gz; }
    PEER_VER[viewcore]="$(snapshot 'golang-debug-*.tar.gz')"
    PEER_VER[goref]="$(snapshot 'goref-*.tar.gz')"
    for p in viewcore goref; do
        bin=viewcore; [ "$p" = goref ] && bin=grf
        if [ -x "$PEER_DIR/$bin" ]; then PEER_OK[$p]=1; else
            PEER_OK[$p]=0; PEER_WHY[$p]="not built by $PEERS_BUILD (log: $OUT/peers-build.log)"
            log "PEER $p unavailable: ${PEER_WHY[$p]}"
        fi
    done
else
    for p in viewcore goref; do PEER_OK[$p]=0; PEER_WHY[$p]="--no-peers"; PEER_VER[$p]="-"; done
fi
[ "$GRF_RUNS" = 0 ] && { PEER_OK[goref]=0; PEER_WHY[goref]="not run (--grf-runs 0)"; }

# ---- measuring --------------------------------------------------------------------
# measure TOOL DIR RUN: appends "tool run wall_s rss_kb" to DIR/results.tsv
measure() {
    local tool="$1" dir="$2" run="$3" tf="$2/time.$1.$3" rc=0 limit="$RUN_TIMEOUT"
    local -a cmd
    case "$tool" in
        gomortem) rm -f "$dir/gomortem.db"
                  cmd=("$GOMORTEM" analyze "$dir/core" --exe "$dir/exe" -o "$dir/gomortem.db" --progress) ;;
        gomortem-heap) rm -f "$dir/gomortem-heap.db"
                  cmd=("$GOMORTEM" analyze "$dir/core" --exe "$dir/exe" -o "$dir/gomortem-heap.db" --heap-only --quiet) ;;
        viewcore) cmd=("$PEER_DIR/viewcore" "$dir/core" --exe "$dir/exe" histogram) ;;
        goref)    rm -f "$dir/grf.out"
                  limit="$GRF_TIMEOUT"
                  cmd=("$PEER_DIR/grf" core "$dir/exe" "$dir/core" -o "$dir/grf.out")
                  # its address space capped too: it needs ~3.3 GB per million objects
                  [ -n "$GRF_MAX_VMEM_MB" ] && cmd=(bash -c 'ulimit -v "$0" && exec "$@"' "$((GRF_MAX_VMEM_MB * 1024))" "${cmd[@]}") ;;
    esac
    /usr/bin/time -f '%e %M %U %S' -o "$tf" timeout "$limit" "${cmd[@]}" \
        </dev/null >"$dir/$tool.stdout" 2>"$dir/$tool.stderr" || rc=$?
    if [ "$rc" -ne 0 ]; then
        local why="exit $rc"
        if [ "$rc" -eq 124 ]; then
            why="timed out after ${limit}s (the cap)"
            printf '%s\t%s\t%s\n' "$tool" "$limit" "$(tail -1 "$tf" | awk '{print $2}')" >>"$dir/capped.tsv"
        fi
        echo "$why: $(grep -v '^Command exited' "$dir/$tool.stderr" | grep -v '^\s*$' | tail -3 | tr '\n' ' ' | cut -c1-400)"
        return 1
    fi
    printf '%s\t%s\t%s\n' "$tool" "$run" "$(tail -1 "$tf" | awk '{printf "%s\t%s\t%.2f", $1, $2, $3 + $4}')" >>"$dir/results.tsv"
    # The graph stage (edges, marking, dominators, types) from the progress
    # lines' timestamps: "building the object graph" to "storing N objects".
    if [ "$tool" = gomortem ]; then
        awk '/building the object graph/ {s = $2 + 0} /storing [0-9]+ objects/ {e = $2 + 0}
             END {if (s && e) printf "%.2f\n", e - s}' "$dir/$tool.stderr" >>"$dir/graph.tsv"
    fi
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "NA"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

GM_FAILED=0
REPORT="$OUT/report.md"
{
    echo "# gomortem benchmark $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    echo "gomortem $GM_COMMIT (build type: ${BUILD_TYPE:-RelWithDebInfo (default)}), $(go version | awk '{print $3}'), $(nproc) CPUs,"
    echo "$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), runs per tool: $RUNS"
    echo "viewcore: golang.org/x/debug/cmd/viewcore, snapshot ${PEER_VER[viewcore]} (viewcore CORE --exe EXE histogram)"
    echo "goref: github.com/cloudwego/goref/cmd/grf, snapshot ${PEER_VER[goref]} (grf core EXE CORE -o grf.out; at most $GRF_RUNS runs, cap ${GRF_TIMEOUT}s each)"
} >"$REPORT"

for n in $SIZES; do
    dir="$OUT/bigheap-$n"
    if [ -f "$dir/done" ] && [ -s "$dir/core" ] && [ -f "$dir/truth.json" ]; then
        log "size $n: reusing $dir/core"
    else
        log "size $n: building the heap and crashing into a core"
        start=$SECONDS
        make_core "$n" "$dir" || { rm -rf "$dir.tmp"; log "FAIL: no core for size $n"; GM_FAILED=1; continue; }
        log "size $n: core $(du -h "$dir/core" | cut -f1) in $((SECONDS - start))s"
    fi
    objects="$(heap_objects "$dir")"
    core_bytes="$(stat -c %s "$dir/core")"
    : >"$dir/results.tsv"
    : >"$dir/graph.tsv"
    : >"$dir/capped.tsv"
    declare -A FAIL_WHY=()
    tools="gomortem gomortem-heap"
    for p in viewcore goref; do
        if [ "${PEER_OK[$p]}" = 1 ]; then tools="$tools $p"; else FAIL_WHY[$p]="${PEER_WHY[$p]}"; fi
    done
    cat "$dir/core" >/dev/null # same (warm) page cache for every tool
    for ((r = 1; r <= RUNS; r++)); do
        for tool in $tools; do
            [ -n "${FAIL_WHY[$tool]:-}" ] && continue
            [ "$tool" = goref ] && [ "$r" -gt "$GRF_RUNS" ] && continue
            log "size $n run $r/$RUNS: $tool"
            if ! why="$(measure "$tool" "$dir" "$r")"; then
                FAIL_WHY[$tool]="$why"
                log "$tool failed on $dir/core: $why"
                case "$tool" in gomortem*) GM_FAILED=1 ;; esac
            fi
        done
    done
    db_objects=NA db_bytes=0
    if [ -z "${FAIL_WHY[gomortem]:-}" ]; then
        db_objects="$("$GOMORTEM" sql --csv --no-header "$dir/gomortem.db" 'select count(*) from objects' 2>/dev/null | tr -d '\r')"
        db_bytes="$(stat -c %s "$dir/gomortem.db" 2>/dev/null || echo 0)"
    fi
    declare -A WALL=() RSS=() CPU=()
    for tool in gomortem gomortem-heap viewcore goref; do
        WALL[$tool]="$(awk -F'\t' -v t="$tool" '$1 == t {print $3}' "$dir/results.tsv" | median)"
        RSS[$tool]="$(awk -F'\t' -v t="$tool" '$1 == t {print $4}' "$dir/results.tsv" | median)"
        CPU[$tool]="$(awk -F'\t' -v t="$tool" '$1 == t {print $5}' "$dir/results.tsv" | median)"
    done
    {
        echo
        echo "## bigheap -objects $n"
        echo
        echo "HeapObjects (truth.json) $objects; gomortem objects table $db_objects;" \
             "core $(awk -v b="$core_bytes" 'BEGIN {printf "%.1f MB", b/1e6}');" \
             "gomortem OUT.db $(awk -v b="$db_bytes" -v c="$core_bytes" \
                 'BEGIN {printf "%.1f MB, %.3fx the core", b/1e6, c ? b/c : 0}') (MB = 10^6 bytes)"
        echo
        echo "| tool | runs ok | median wall s | median peak RSS MB | wall / gomortem | RSS / gomortem | median CPU s (user+sys) |"
        echo "|---|---|---|---|---|---|---|"
        for tool in gomortem gomortem-heap viewcore goref; do
            ok="$(awk -F'\t' -v t="$tool" '$1 == t' "$dir/results.tsv" | wc -l)"
            capped="$(awk -F'\t' -v t="$tool" '$1 == t {c = $2; m = $3} END {if (c) printf "> %s (capped) | > %.1f", c, m * 1024 / 1e6}' "$dir/capped.tsv" 2>/dev/null)"
            if [ "$ok" -eq 0 ] && [ -n "$capped" ]; then
                echo "| $tool | 0 | $capped | > $(awk -v c="${capped#> }" -v g="${WALL[gomortem]}" 'BEGIN {printf "%.0fx", (c + 0) / g}') | - | - |"
                continue
            elif [ "$ok" -eq 0 ]; then
                echo "| $tool | 0 | failed | failed | - | - | - |"
                continue
            fi
            awk -v t="$tool" -v ok="$ok" -v w="${WALL[$tool]}" -v m="${RSS[$tool]}" \
                -v gw="${WALL[gomortem]}" -v gm="${RSS[gomortem]}" -v cpu="${CPU[$tool]}" 'BEGIN {
                rw = (gw == "NA" || gw == 0) ? "-" : sprintf("%.2fx", w / gw)
                rm = (gm == "NA" || gm == 0) ? "-" : sprintf("%.2fx", m / gm)
                printf "| %s | %d | %.2f | %.1f | %s | %s | %s |\n", t, ok, w, m * 1024 / 1e6, rw, rm, cpu }'
        done
        echo
        if [ "${WALL[gomortem]}" != NA ]; then
            awk -v o="$objects" -v w="${WALL[gomortem]}" -v m="${RSS[gomortem]}" -v c="$core_bytes" \
                -v vw="${WALL[viewcore]}" -v vm="${RSS[viewcore]}" -v gw="${WALL[goref]}" -v gm="${RSS[goref]}" 'BEGIN {
                rss = m * 1024
                printf "gomortem: %.0f objects/s; peak RSS %.1f MB = %.1f B/object;", o / w, rss / 1e6, rss / o
                printf " peak RSS - core size = %.1f MB = %.1f B/object (its own memory if the whole core is resident; a lower bound otherwise, peak RSS the upper bound)\n", (rss - c) / 1e6, (rss - c) / o
                r = "ratios gomortem/viewcore:"
                if (vw != "NA" && vw > 0) r = r sprintf(" time %.3f, RSS %.3f", w / vw, m / vm); else r = r " n/a"
                r = r "; gomortem/goref:"
                if (gw != "NA" && gw > 0) r = r sprintf(" time %.3f, RSS %.3f", w / gw, m / gm); else r = r " n/a"
                print ""; print r }'
        fi
        if [ "${WALL[gomortem-heap]}" != NA ]; then
            awk -v o="$objects" -v w="${WALL[gomortem-heap]}" -v m="${RSS[gomortem-heap]}" -v c="$core_bytes" 'BEGIN {
                rss = m * 1024
                printf "\ngomortem --heap-only (the heap-walk stage: spans, objects, header types, memstats): %.0f objects/s;", o / w
                printf " peak RSS %.1f MB; peak RSS - core size = %.1f B/object\n", rss / 1e6, (rss - c) / o }'
        fi
        graph="$(median <"$dir/graph.tsv")"
        [ "$graph" != NA ] && echo && echo "graph stage (edges, marking, dominators, types; from --progress): median $graph s"
        for tool in gomortem gomortem-heap viewcore goref; do
            [ -n "${FAIL_WHY[$tool]:-}" ] && { echo; echo "**$tool failed**: ${FAIL_WHY[$tool]}"; }
        done
        true
    } >>"$REPORT"
    if [ "$db_objects" != NA ] && [ "$db_objects" != "$objects" ]; then
        echo "note: gomortem's objects table ($db_objects) differs from HeapObjects ($objects)" >>"$REPORT"
    fi
    rm -f "$dir/gomortem.db"
    [ "$DELETE_CORES" = 1 ] && rm -f "$dir/core"
    unset FAIL_WHY WALL RSS CPU
done

echo
cat "$REPORT"
echo
echo "(report: $REPORT; raw runs: $OUT/bigheap-*/results.tsv)"
if [ "$GM_FAILED" -ne 0 ]; then
    echo "bench: gomortem failed (see above)" >&2
    exit 1
fi
exit 0
