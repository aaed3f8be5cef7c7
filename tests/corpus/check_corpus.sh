#!/usr/bin/env bash
# tests/corpus/check_corpus.sh OUTDIR
#
# Checks every artifact produced by corpora/generate under OUTDIR
# (OUTDIR/<goversion>[-arm64]/<artifact>/; a folder without suffix is amd64):
#   * the files exe, core, heapdump, truth.json, traceback.txt, exitcode, done exist;
#   * core is an ELF core (ET_CORE) of the folder's architecture (truth.json's goarch)
#     with NT_PRSTATUS notes, and its pid is truth.json's pid;
#   * heapdump starts with "go1.7 heap dump\n"; when python3 works, the dump parses to
#     EOF and its memstats (Mallocs, Frees, HeapAlloc, HeapObjects, TotalAlloc) equal
#     truth.json's (= nothing was allocated between the truth file and the dump);
#   * truth.json parses, has the required fields, memstats_stable is true, its
#     go_version matches the folder and its mode matches the artifact (-live);
#   * traceback.txt: goroutine 1 has status goroutines.main, and the goroutines
#     created by main.* (deduplicated by id) have exactly the by_wait counts;
#     1 + their number == goroutines.total;
#   * exitcode is 134 (SIGABRT) for crash artifacts, 2 (SIGQUIT) for live ones;
#     no process with the truth pid is still running;
#   * exe: DWARF (.debug_info) present except in *-nodwarf and *-stripped, a
#     symbol table (.symtab) except in *-stripped; ELF type DYN for
#     *-pie, EXEC otherwise.
# Exit 0 if all pass, 1 otherwise (each failure is printed); 2 on usage error.
set -uo pipefail

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
OUTDIR="$1"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

for tool in jq readelf od; do
    command -v "$tool" >/dev/null || { echo "check_corpus: required tool not found: $tool" >&2; exit 2; }
done
PY=""
if command -v python3 >/dev/null && python3 -c 'import json' 2>/dev/null; then PY=python3; fi
NOTES=""
if command -v eu-readelf >/dev/null; then NOTES="eu-readelf -n"; else NOTES="readelf -n"; fi

FAILS=0
CHECKED=0
failmsg() { echo "FAIL $1: $2"; FAILS=$((FAILS + 1)); }

# goroutine statuses from a traceback: "id status" per goroutine (first occurrence),
# followed by " main" when it was created by main.*
tb_goroutines() {
    awk '
        function flush() { if (id != "" && !(id in seen)) { seen[id] = 1; print id, (bymain ? "main" : "other"), st } id = "" }
        /^goroutine [0-9]+ .*\]:$/ {
            flush()
            id = $2
            s = $0; sub(/^[^[]*\[/, "", s); sub(/\]:$/, "", s); sub(/,.*/, "", s)
            st = s; bymain = 0; next
        }
        /^created by main\./ { bymain = 1 }
        END { flush() }
    ' "$1"
}

release_of() { # "go1.27.3 X:nogreenteagc" / "go1.26.8-X:nogreenteagc" -> go1.27.3 / go1.26.8
    local v="${1%% *}"
    echo "${v%%-X:*}"
}

check_dir() {
    local d="$1" folder="$2" name="$3" tag="$2/$3"
    local gv="${folder%-arm64}" goarch=amd64 machine="X86-64"
    [ "$gv" = "$folder" ] || { goarch=arm64; machine=AArch64; }
    local f dump=heapdump
    # bigptr crashes without a heap dump on purpose (truth.json: "no_heapdump": true)
    grep -q '"no_heapdump": true' "$d/truth.json" 2>/dev/null && dump=""
    for f in exe core $dump truth.json traceback.txt exitcode done; do
        [ -e "$d/$f" ] || { failmsg "$tag" "missing $f"; return; }
    done

    # truth.json
    if ! jq -e . "$d/truth.json" >/dev/null 2>&1; then
        failmsg "$tag" "truth.json does not parse"; return
    fi
    local k
    for k in go_version goarch goos pid scenario mode memstats objects globals goroutines; do
        jq -e "has(\"$k\")" "$d/truth.json" >/dev/null || failmsg "$tag" "truth.json lacks $k"
    done
    [ "$(jq -r .memstats_stable "$d/truth.json")" = true ] || failmsg "$tag" "memstats_stable is not true"
    # (a GOEXPERIMENT build's runtime.Version() ends in " X:exp" or "-X:exp")
    local tv
    tv="$(jq -r .go_version "$d/truth.json")"
    [ "$(release_of "$tv")" = "$gv" ] || failmsg "$tag" "go_version $tv != folder $gv"
    case "$name" in
        zoo-exp-*) [[ "$tv" == *"X:${name#zoo-exp-}"* ]] || failmsg "$tag" "go_version $tv lacks X:${name#zoo-exp-}" ;;
    esac
    [ "$(jq -r .goarch "$d/truth.json")" = "$goarch" ] || failmsg "$tag" "goarch $(jq -r .goarch "$d/truth.json") != $goarch"
    local mode want_mode=crash
    mode="$(jq -r .mode "$d/truth.json")"
    case "$name" in *-live) want_mode=live ;; esac
    # (the generator may fall back to live mode when core_pattern is a pipe)
    if [ "$mode" != "$want_mode" ] && ! { [ "$want_mode" = crash ] && [ "$mode" = live ]; }; then
        failmsg "$tag" "mode $mode, expected $want_mode"
    fi
    local pid
    pid="$(jq -r .pid "$d/truth.json")"

    # core
    if [ "$(od -An -tx1 -N4 "$d/core" | tr -d ' \n')" != 7f454c46 ] ||
       [ "$(od -An -tx1 -j16 -N2 "$d/core" | tr -d ' \n')" != 0400 ]; then
        failmsg "$tag" "core is not an ELF core file"
    elif ! readelf -h "$d/core" | grep -q -E "Machine: .*$machine\$"; then
        failmsg "$tag" "core is not an $machine core: $(readelf -h "$d/core" | grep Machine:)"
    else
        local notes
        notes="$($NOTES "$d/core" 2>/dev/null | grep -a -E 'PRSTATUS|PRPSINFO|pid: ')"
        local nprs
        nprs="$(grep -a -c PRSTATUS <<<"$notes")"
        [ "$nprs" -ge 1 ] || failmsg "$tag" "core has no NT_PRSTATUS note"
        if [ "${NOTES%% *}" = eu-readelf ]; then
            grep -a -q -E "(^|[^p])pid: $pid," <<<"$notes" || failmsg "$tag" "core notes do not mention pid $pid"
        fi
    fi

    # heapdump
    if [ -z "$dump" ]; then
        [ ! -e "$d/heapdump" ] || failmsg "$tag" "a heap dump although truth.json says no_heapdump"
    elif [ "$(head -c 16 "$d/heapdump" | od -An -c | tr -d ' \n')" != 'go1.7heapdump\n' ]; then
        failmsg "$tag" "heapdump does not start with 'go1.7 heap dump\\n'"
    elif [ -n "$PY" ]; then
        local hd
        if ! hd="$($PY "$HERE/heapdump_memstats.py" "$d/heapdump" 2>&1)"; then
            failmsg "$tag" "heapdump does not parse: $hd"
        else
            local field a b
            for field in Mallocs Frees HeapAlloc HeapObjects TotalAlloc; do
                a="$(jq -r ".memstats.$field" <<<"$hd")"
                b="$(jq -r ".memstats.$field" "$d/truth.json")"
                [ "$a" = "$b" ] || failmsg "$tag" "memstats.$field: heapdump $a != truth.json $b"
            done
            [ "$(release_of "$(jq -r .params.version <<<"$hd")")" = "$gv" ] || failmsg "$tag" "heapdump params version != $gv"
            [ "$(jq -r .trailing_bytes <<<"$hd")" = 0 ] || failmsg "$tag" "heapdump has bytes after EOF record"
        fi
    fi

    # traceback
    local gs
    gs="$(tb_goroutines "$d/traceback.txt")"
    if [ -z "$gs" ]; then
        failmsg "$tag" "traceback.txt has no goroutine stacks"
    else
        local main_want main_got
        main_want="$(jq -r .goroutines.main "$d/truth.json")"
        main_got="$(awk '$1 == 1 { $1 = ""; $2 = ""; sub(/^  /, ""); print }' <<<"$gs")"
        [ "$main_got" = "$main_want" ] || failmsg "$tag" "goroutine 1 status '$main_got', truth says '$main_want'"
        local want got
        want="$(jq -r '.goroutines.by_wait | to_entries | map(select(.value > 0)) | sort_by(.key) | map("\(.key)=\(.value)") | join(";")' "$d/truth.json")"
        got="$(awk '$2 == "main" { $1 = ""; $2 = ""; sub(/^  /, ""); c[$0]++ } END { for (s in c) print s "=" c[s] }' <<<"$gs" | LC_ALL=C sort | paste -sd';' -)"
        want="$(tr ';' '\n' <<<"$want" | LC_ALL=C sort | paste -sd';' -)"
        [ "$got" = "$want" ] || failmsg "$tag" "traceback by_wait '$got' != truth '$want'"
        local nmain total
        nmain="$(awk '$2 == "main"' <<<"$gs" | wc -l)"
        total="$(jq -r .goroutines.total "$d/truth.json")"
        [ $((nmain + 1)) -eq "$total" ] || failmsg "$tag" "traceback has $((nmain + 1)) user goroutines, truth total $total"
    fi

    # exit code / process gone
    local rc want_rc=134
    rc="$(cat "$d/exitcode")"
    [ "$mode" = live ] && want_rc=2
    [ "$rc" = "$want_rc" ] || failmsg "$tag" "exitcode $rc, expected $want_rc"
    if [ -e "/proc/$pid" ] && [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$d/exe")" ]; then
        failmsg "$tag" "process $pid is still running"
    fi

    # exe
    local etype hasdwarf=0
    etype="$(readelf -hW "$d/exe" 2>/dev/null | awk '/Type:/ { print $2 }')"
    readelf -SW "$d/exe" 2>/dev/null | grep -E '\.z?debug_info' >/dev/null && hasdwarf=1
    case "$name" in
        *-pie) [ "$etype" = DYN ] || failmsg "$tag" "exe ELF type $etype, expected DYN (PIE)" ;;
        *) [ "$etype" = EXEC ] || failmsg "$tag" "exe ELF type $etype, expected EXEC" ;;
    esac
    local hassymtab=0
    readelf -SW "$d/exe" 2>/dev/null | grep -E '\.symtab' >/dev/null && hassymtab=1
    case "$name" in
        *-nodwarf|*-stripped) [ "$hasdwarf" = 0 ] || failmsg "$tag" "exe has DWARF but should not" ;;
        *) [ "$hasdwarf" = 1 ] || failmsg "$tag" "exe has no DWARF (.debug_info)" ;;
    esac
    case "$name" in
        *-stripped) [ "$hassymtab" = 0 ] || failmsg "$tag" "exe has a symbol table but should not" ;;
        *) [ "$hassymtab" = 1 ] || failmsg "$tag" "exe has no symbol table (.symtab)" ;;
    esac
    CHECKED=$((CHECKED + 1))
}

for vdir in "$OUTDIR"/go*/; do
    [ -d "$vdir" ] || continue
    gv="$(basename "$vdir")"
    for d in "$vdir"*/; do
        d="${d%/}"
        name="$(basename "$d")"
        case "$name" in
            *.tmp) failmsg "$gv/$name" "left-over temporary directory"; continue ;;
            bin) continue ;; # the executables the scenarios ran from (NT_FILE names them)
        esac
        check_dir "$d" "$gv" "$name"
    done
done

if [ "$CHECKED" -eq 0 ]; then
    echo "FAIL: no artifacts found under $OUTDIR"
    exit 1
fi
if [ "$FAILS" -ne 0 ]; then
    echo "check_corpus: $FAILS failure(s) in $CHECKED artifact(s)"
    exit 1
fi
[ -n "$PY" ] || echo "note: python3 unavailable, heapdump contents not parsed"
echo "check_corpus: $CHECKED artifact(s) OK"
exit 0
