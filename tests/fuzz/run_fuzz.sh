#!/usr/bin/env bash
# run_fuzz.sh FUZZER CORPUS_DIR WORK_DIR SECONDS
# Seed a libFuzzer run with the ELF headers and notes of real cores (the
# part the parser reads; the segment data is cut off), then fuzz for SECONDS.
set -euo pipefail
fuzzer=$1 corpus=$2 work=$3 seconds=$4
mkdir -p "$work/seeds" "$work/found"
seeds=0
# seed_from MAX PATH-PATTERN: the first MAX cores whose path matches.
seed_from() {
	local max=$1 pattern=$2 taken=0 core off filesz end
	while IFS= read -r -d '' core; do
		# Keep the bytes up to the end of the PT_NOTE segment.
		read -r off filesz < <(readelf -lW "$core" | awk '$1 == "NOTE" { print $2, $5; exit }') || continue
		[ -n "${filesz:-}" ] || continue
		end=$((off + filesz))
		head -c "$end" "$core" > "$work/seeds/seed$seeds"
		seeds=$((seeds + 1))
		taken=$((taken + 1))
		[ "$taken" -ge "$max" ] && break
	done < <(find "$corpus" -name core -type f -path "$pattern" -print0 2>/dev/null)
}
# x86_64 cores and AArch64 ones (the arm64 column): both register layouts.
seed_from 6 '*/go*[0-9]/*'
seed_from 4 '*-arm64/*'
if [ "$seeds" -eq 0 ]; then
	echo "SKIP: no cores under $corpus to seed the fuzzer"
	exit 77
fi
echo "fuzzing the core parser for ${seconds}s from $seeds seeds"
"$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=1048576 \
	-artifact_prefix="$work/found/" "$work/found" "$work/seeds"
