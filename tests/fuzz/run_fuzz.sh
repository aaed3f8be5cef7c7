#!/usr/bin/env bash
# run_fuzz.sh TARGET FUZZER CORPUS_DIR WORK_DIR SECONDS [GOMORTEM]
# Seed a libFuzzer target and run it for SECONDS.  TARGET:
#   core      the core parser; seeds: the ELF header, program headers and notes
#             of up to 8 corpus cores (tests/fuzz/core_seed.py: a few KiB each,
#             even of a gcore core whose notes come after gigabytes of segments)
#   pclntab   the pclntab reader over a damaged .gopclntab of the zoo scenario
#   runtime   the runtime walk (heap, spans, goroutines, memstats) over damaged
#             runtime structures of the zoo core
#   sqlfuncs  the heap SQL functions over a changed database of the zoo
#             scenario (made with GOMORTEM analyze)
#   insn      the x86-64 instruction decoder over machine code; seeds: 4 KiB
#             pieces of the zoo executable's .text
set -euo pipefail
target=$1 fuzzer=$2 corpus=$3 work=$4 seconds=$5 gomortem=${6:-}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work/seeds" "$work/found"
skip() { echo "SKIP: $*"; exit 77; }
# The pclntab and runtime targets damage the newest amd64 zoo core and its
# executable: amd64 folders are named by the version alone (go1.N.M), arm64
# ones carry a suffix (go1.N.M-arm64) and would sort last.
zoo=$(find "$corpus" -path '*/zoo/core' -type f 2>/dev/null | { grep -E '/go[0-9.]+/zoo/core$' || true; } | sort -V | tail -n 1)
fuzz_zoo_core() {
	[ -n "$zoo" ] || skip "no zoo core under $corpus"
	export GOMORTEM_FUZZ_CORE=$zoo GOMORTEM_FUZZ_EXE=${zoo%/core}/exe
}
case $target in
core)
	seeds=0
	# seed_from MAX PATH-PATTERN: the first MAX cores whose path matches.
	seed_from() {
		local max=$1 pattern=$2 taken=0 core
		while IFS= read -r -d '' core; do
			python3 "$here/core_seed.py" "$core" "$work/seeds/seed$seeds" || continue
			seeds=$((seeds + 1))
			taken=$((taken + 1))
			[ "$taken" -ge "$max" ] && break
		done < <(find "$corpus" -name core -type f -path "$pattern" -print0 2>/dev/null)
	}
	# x86_64 cores and AArch64 ones (the arm64 column): both register layouts.
	seed_from 6 '*/go*[0-9]/*'
	seed_from 4 '*-arm64/*'
	[ "$seeds" -gt 0 ] || skip "no cores under $corpus to seed the fuzzer"
	max_len=1048576
	;;
pclntab)
	fuzz_zoo_core
	# Where to write (4 bytes, little-endian) and what: a few small damages.
	printf '\000\000\000\000\377\377\377\377' > "$work/seeds/magic"
	printf '\010\000\000\000\000\000\000\000\000\000\000\000' > "$work/seeds/header"
	printf '\100\000\000\000\377\377\377\177' > "$work/seeds/nfunc"
	max_len=4096
	;;
runtime)
	fuzz_zoo_core
	# Records [structure (0 mheap_, 1 allspans, 2 an mspan, 3 allgs, 4 a g), which,
	# offset (2 bytes), value (8 bytes)]: a few words set to nowhere or to extremes.
	printf '\002\003\040\000\377\377\377\377\377\377\377\177' > "$work/seeds/mspan"
	printf '\004\001\060\000\000\000\255\336\000\000\000\000' > "$work/seeds/g-m"
	printf '\001\000\010\000\000\000\000\000\000\000\000\000' > "$work/seeds/allspans"
	max_len=192
	;;
sqlfuncs)
	[ -n "$zoo" ] || skip "no zoo core under $corpus"
	[ -n "$gomortem" ] || skip "no gomortem to make the database"
	[ -s "$work/zoo.db" ] || "$gomortem" analyze "$zoo" --exe "${zoo%/core}/exe" -o "$work/zoo.db" --quiet
	export GOMORTEM_FUZZ_DB=$work/zoo.db
	# Change records: [change, object, kind (0 int, 1 text, 2 NULL), length, value].
	printf '\004\000\001\036[2305843009213693952]main.Leaf' > "$work/seeds/huge-array"
	printf '\001\001\000\010\377\377\377\377\377\377\377\177' > "$work/seeds/huge-size"
	printf '\007\002\000\010\000\000\000\000\000\000\000\200' > "$work/seeds/header-size"
	max_len=1024
	;;
insn)
	fuzz_zoo_core
	objcopy -O binary --only-section=.text "$GOMORTEM_FUZZ_EXE" "$work/text" || skip "objcopy cannot read $GOMORTEM_FUZZ_EXE"
	for piece in 0 64 256 1024; do
		dd if="$work/text" of="$work/seeds/text$piece" bs=4096 skip="$piece" count=1 status=none
	done
	rm -f "$work/text"
	max_len=4096
	;;
*)
	echo "run_fuzz.sh: unknown target $target" >&2
	exit 2
	;;
esac
echo "fuzzing $target for ${seconds}s from $(ls "$work/seeds" | wc -l) seeds ($(du -sh "$work/seeds" | cut -f1))"
# -len_control=0: inputs of any length from the start (the targets are slow,
# and libFuzzer would otherwise grow the length only by a few bytes an hour).
"$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len="$max_len" -len_control=0 -timeout=60 \
	-artifact_prefix="$work/found/" "$work/found" "$work/seeds"
