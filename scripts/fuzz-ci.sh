#!/usr/bin/env bash
# The fuzzing step of CI (.ci/run), through scripts/fuzz.sh (see Tests/Fuzz/README.md):
#   1. builds the libFuzzer harness and replays every input in Tests/Fuzz/regressions once
#      (fails when any of them crashes or violates an invariant again);
#   2. fuzzes the SIP message layer for a fixed time, 60 s (FUZZ_CI_SECONDS), from the seeds
#      (fails on any crash, hang, OOM or invariant violation).
# Prints one summary line at the end. Exit status: 0 when both steps pass, 1 when one found a
# problem, 2 when the fuzzer does not build.
# Work files go to .build-fuzz-ci/ (git-ignored; a fresh corpus per run), or to $FUZZ_OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
export FUZZ_OUT=${FUZZ_OUT:-$PWD/.build-fuzz-ci}
SECONDS_TO_RUN=${FUZZ_CI_SECONDS:-60}
unset SIPFUZZ_IGNORE  # CI steps over nothing
start=$(date +%s)

summary() {
    echo "fuzz-ci: $1 ($(($(date +%s) - start)) s in all, build included)"
}

regressions=(Tests/Fuzz/regressions/*)
[ -e "${regressions[0]}" ] || { summary "FAILED: no regression inputs in Tests/Fuzz/regressions"; exit 1; }
echo "== replaying the ${#regressions[@]} regression inputs of Tests/Fuzz/regressions"
scripts/fuzz.sh --replay "${regressions[@]}"
rc=$?
if [ $rc -ne 0 ]; then
    [ $rc -eq 2 ] && summary "FAILED: the fuzzer does not build" || summary "FAILED: a regression input fails again"
    exit $rc
fi

# A fresh work corpus: the run starts from the seeds every time.
rm -rf "$FUZZ_OUT/corpus"
echo "== fuzzing for ${SECONDS_TO_RUN}s"
scripts/fuzz.sh "$SECONDS_TO_RUN"
rc=$?
log=$FUZZ_OUT/fuzz.log
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" 2>/dev/null | tail -1)
speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" 2>/dev/null | tail -1)
cov=$(grep -E '^#[0-9]+[[:space:]]+(DONE|INITED)' "$log" 2>/dev/null | tail -1 | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
case $rc in
0) summary "OK: ${#regressions[@]} regression inputs pass; ${SECONDS_TO_RUN} s of fuzzing: ${runs:-?} runs (${speed:-?}/s), ${cov:-?} edges, no crash, hang or invariant violation" ;;
2) summary "FAILED: the fuzzer does not build" ;;
*) summary "FAILED: fuzzing found a problem after ${runs:-?} runs (inputs in $FUZZ_OUT/artifacts, log $log)" ;;
esac
exit $rc
