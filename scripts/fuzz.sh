#!/usr/bin/env bash
# Fuzzes the SIP message layer (Sources/SwiftletCore/Sources/SwiftletSIP) with libFuzzer.
# See Tests/Fuzz/README.md.
#
#   scripts/fuzz.sh [SECONDS] [-- LIBFUZZER-FLAGS...]   build, then fuzz for SECONDS (default 600)
#   scripts/fuzz.sh --replay FILE...                     build, then run each input once
#   scripts/fuzz.sh --minimize FILE                      build, then minimise a crashing input
#   scripts/fuzz.sh --build                              only build
#
# Everything generated goes to .build-fuzz/ (git-ignored), or to $FUZZ_OUT:
#   fuzz-sip           the fuzzer binary
#   corpus/            the work corpus (grows across runs; Tests/Fuzz/corpus holds the seeds)
#   seeds-torture/     the RFC 4475 messages from Tests/Fixtures/torture, used as extra seeds
#   artifacts/         crash-*, timeout-*, oom-* inputs found
#   fuzz.log           the output of the last fuzzing run
# Exit status: 0 when nothing was found; 1 when a crash, hang or OOM was found (or a replayed
# input still fails); 2 on a usage or build error.
#
# SIPFUZZ_IGNORE=id[,id...] steps over known, reported defects so a run can look for new
# ones (ids: empty-header-name, editor-empty-line, via-space-before-comma, to-tag-flag; see
# the README). Flags after `--` go to libFuzzer, e.g.
#   scripts/fuzz.sh 3600 -- -fork=1 -ignore_crashes=1
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${FUZZ_OUT:-$ROOT/.build-fuzz}
SWIFTC=${SWIFTC:-swiftc}
BIN=$OUT/fuzz-sip
SIP_SOURCES=(Sources/SwiftletCore/Sources/SwiftletSIP/*.swift)
HARNESS=Tests/Fuzz/FuzzSIPMessage.swift

# Swift's runtime keeps metadata caches alive until exit: leak reports would be noise.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}
# Swift's own crash backtracer would attach to the crashing fuzzer and never return; libFuzzer
# and ASan print the stack themselves.
export SWIFT_BACKTRACE=enable=no

build() {
    mkdir -p "$OUT"
    echo "== building $BIN"
    if ! "$SWIFTC" -sanitize=fuzzer,address -parse-as-library -O -g -use-ld=lld -module-name FuzzSIP \
        "${SIP_SOURCES[@]}" "$HARNESS" -o "$BIN"; then
        echo "error: the fuzzer does not build" >&2
        exit 2
    fi
}

usage() {
    sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

case "${1:-}" in
-h | --help)
    usage
    ;;
--build)
    build
    exit 0
    ;;
--replay)
    shift
    [ $# -gt 0 ] || usage
    build
    status=0
    for f in "$@"; do
        echo "== replaying $f"
        if ! "$BIN" -runs=1 "$f"; then
            echo "FAILED: $f" >&2
            status=1
        fi
    done
    [ $status -eq 0 ] && echo "== all $# inputs pass"
    exit $status
    ;;
--minimize)
    shift
    [ $# -eq 1 ] || usage
    build
    min="$OUT/artifacts/minimized-$(basename "$1")"
    mkdir -p "$OUT/artifacts"
    "$BIN" -minimize_crash=1 -runs=20000 -max_total_time=120 -timeout=5 -exact_artifact_path="$min" "$1"
    echo "== minimised input: $min ($(wc -c <"$min") bytes)"
    exit 0
    ;;
esac

SECONDS_TO_RUN=600
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
    case "$1" in
    '' | *[!0-9]*) usage ;;
    esac
    SECONDS_TO_RUN=$1
    shift
fi
[ "${1:-}" = "--" ] && shift
EXTRA=("$@")

build
mkdir -p "$OUT/corpus" "$OUT/artifacts" "$OUT/seeds-torture"
cp Tests/Fixtures/torture/*.sip "$OUT/seeds-torture/" 2>/dev/null || true
marker=$(mktemp)
echo "== fuzzing for ${SECONDS_TO_RUN}s (work corpus $OUT/corpus, seeds Tests/Fuzz/corpus + RFC 4475)"
[ -n "${SIPFUZZ_IGNORE:-}" ] && echo "== SIPFUZZ_IGNORE=$SIPFUZZ_IGNORE (known defects skipped)"
"$BIN" -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -timeout=5 -rss_limit_mb=4096 \
    -print_final_stats=1 -error_exitcode=77 -timeout_exitcode=78 \
    -artifact_prefix="$OUT/artifacts/" "${EXTRA[@]}" \
    "$OUT/corpus" Tests/Fuzz/corpus "$OUT/seeds-torture" 2>&1 | tee "$OUT/fuzz.log"
rc=${PIPESTATUS[0]}

echo
echo "== final stats (log: $OUT/fuzz.log)"
grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^Done [0-9]+ runs|^stat::|^INFO: exiting' "$OUT/fuzz.log" || true
grep -E '^#[0-9]+: cov:' "$OUT/fuzz.log" | tail -1 || true  # -fork mode progress
echo "corpus: $(find "$OUT/corpus" -type f | wc -l) files in $OUT/corpus"
found=$(find "$OUT/artifacts" -type f -newer "$marker" \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | sort)
rm -f "$marker"
if [ -n "$found" ] || [ "$rc" -ne 0 ]; then
    echo "== FOUND A PROBLEM (libFuzzer exit status $rc). Inputs:"
    for f in $found; do echo "  $f"; done
    echo "Replay with: scripts/fuzz.sh --replay FILE; minimise with: scripts/fuzz.sh --minimize FILE"
    exit 1
fi
echo "== no crash, hang or invariant violation found"
exit 0
