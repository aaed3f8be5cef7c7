#!/usr/bin/env bash
# tests/corpus/test_fresh_toolchain.sh
#
# The corpus made as on a fresh machine: an empty Go module cache (where the go
# command keeps downloaded toolchains), so the toolchain of a non-local version
# is downloaded during the run and the go command prints "go: downloading ..."
# before anything else. The artifact must still land in OUT/go1.N.M/ (a folder
# named after the version alone) and pass tests/corpus/check_corpus.sh.
# Exit 0 pass, 1 fail, 77 skipped (the toolchain cannot be downloaded here).
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VERSION="${GOMORTEM_FRESH_VERSION:-go1.22.12}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/gomortem-fresh.XXXXXX")"
cleanup() { chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

export GOMODCACHE="$WORK/modcache" GOFLAGS="-modcacherw" GOTOOLCHAIN=local
mkdir -p "$GOMODCACHE"

# Can this machine download the toolchain at all? If not, skip with the reason.
if ! probe="$(cd "$WORK" && GOTOOLCHAIN="$VERSION" go version 2>&1 >/dev/null </dev/null)"; then
    echo "SKIP: cannot download $VERSION: $(tail -1 <<<"$probe")"
    exit 77
fi
chmod -R u+w "$GOMODCACHE"; rm -rf "$GOMODCACHE"; mkdir -p "$GOMODCACHE"

if ! "$REPO/corpora/generate" --out "$WORK/corpus" --versions "$VERSION" --scenarios zoo --arches amd64 \
        >"$WORK/generate.log" 2>&1; then
    echo "FAIL: corpora/generate with an empty module cache:"; cat "$WORK/generate.log"
    exit 1
fi
entries="$(cd "$WORK/corpus" && ls -1)"
if [ "$entries" != "$VERSION" ]; then
    echo "FAIL: expected one folder '$VERSION' in the corpus, found:"; printf '%q\n' $entries
    exit 1
fi
if [ ! -f "$WORK/corpus/$VERSION/zoo/done" ]; then
    echo "FAIL: $VERSION/zoo was not produced:"; cat "$WORK/generate.log"
    exit 1
fi
"$HERE/check_corpus.sh" "$WORK/corpus" || { echo "FAIL: check_corpus on the fresh corpus"; exit 1; }
echo "PASS: $VERSION downloaded into an empty module cache, corpus folder '$VERSION'"
