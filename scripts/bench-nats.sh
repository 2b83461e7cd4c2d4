#!/usr/bin/env bash
# The nats module's cost per request: the Benchmarks/load `options` scenario without and with
# one nats_publish per request (cfg/options-nats.cfg), against a private nats-server on
# 127.0.0.1:4222 (the port that configuration names; started here unless one listens there,
# stopped by its process id at the end).
#
#   scripts/bench-nats.sh instructions [rate [duration]]   instructions per request
#                                                          (scripts/bench-count.sh, callgrind)
#   scripts/bench-nats.sh compare [rate [duration [repeat]]]
#                                                          CPU per request against Kamailio 5.6.3
#                                                          with its nats.so (Benchmarks/load/sipload.py)
#
# Uses the release build (BIN=<dir> for another one). Needs nats-server, sipp, valgrind
# (instructions), kamailio with kamailio-nats-modules (compare).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mode=${1:-instructions}
nats_pid=""
cleanup() { [ -n "$nats_pid" ] && kill "$nats_pid" 2>/dev/null || true; }
trap cleanup EXIT
if ! ss -tln | grep -q "127.0.0.1:4222 "; then
    nats-server -a 127.0.0.1 -p 4222 > /tmp/bench-nats-server.log 2>&1 &
    nats_pid=$!
    for _ in $(seq 50); do ss -tln | grep -q "127.0.0.1:4222 " && break; sleep 0.1; done
fi
case "$mode" in
instructions)
    rate=${2:-30}; duration=${3:-10}
    echo "== options"
    scripts/bench-count.sh instructions options "$rate" "$duration"
    echo "== options + nats_publish"
    CFG="$root/Benchmarks/load/cfg/options-nats.cfg" scripts/bench-count.sh instructions options "$rate" "$duration"
    ;;
compare)
    rate=${2:-500}; duration=${3:-20}; repeat=${4:-3}
    bin=${BIN:-$(scripts/release-build.sh --show-bin-path)}
    cd Benchmarks/load
    ./sipload.py compare --a "kamailio -f {cfg} -DD -E -n 2 -m 256 -Y {rundir}" --label-a kamailio \
        --b "$bin/swiftlet -f {cfg} -DD -E -L $bin" --label-b swiftlet \
        --scenarios options options-nats --rate "$rate" --duration "$duration" --repeat "$repeat" \
        --out "$root/Benchmarks/results/compare-nats-$(date -u +%Y-%m-%d-%H%M).jsonl"
    ;;
*) echo "usage: $0 instructions [rate [duration]] | compare [rate [duration [repeat]]]" >&2; exit 2 ;;
esac
