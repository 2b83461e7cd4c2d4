#!/usr/bin/env bash
# SIP over TLS and WebSocket: CPU per request of Kamailio 5.6.3 (A) and Swiftlet (B) on the
# same configuration (Benchmarks/load/cfg/options-stream.cfg), interleaved, and the memory
# each keeps per idle TLS connection. Driver: Benchmarks/load/streamload.py.
#
#   scripts/bench-tls-ws.sh compare [transport ...]   A, B, A, B ... per transport (tls ws;
#                                                     also wss), then a Markdown table B/A
#   scripts/bench-tls-ws.sh idle [count]              10,000 (or count) idle TLS connections
#                                                     to each server: bytes per connection
#
# Over tls the client is SIPp with -t l1 when SIPP names a SIPp built with OpenSSL
# (Debian's sip-tester is built without: then, and always over ws/wss, a python client).
# Environment: RATE (1000), DURATION (20), REPEAT (3), CONNECTIONS (10), SIPP.
# Output: one JSON object per run on stdout and in bench-results/streamload-*.jsonl.
# Needs: kamailio with its tls and websocket modules (kamailio-tls-modules,
# kamailio-websocket-modules), openssl, python3; ports 5060 (udp, tcp), 5061 and 5080 free;
# a quiet machine (each run waits until it is below 10 % busy).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
command -v kamailio >/dev/null || { echo "bench-tls-ws: kamailio is not installed" >&2; exit 1; }
driver=(python3 "$root/Benchmarks/load/streamload.py")
mode=${1:-compare}
[ $# -gt 0 ] && shift

scripts/release-build.sh >&2
bin=$(scripts/release-build.sh --show-bin-path)
printf -v qbin '%q' "$bin"
swiftlet="$qbin/swiftlet -f {cfg} -DD -E -L $qbin"
kamailio="kamailio -f {cfg} -DD -E -n 2 -m 1024 -Y {rundir}"
mkdir -p "$root/bench-results"
stamp=$(date +%Y-%m-%d-%H%M%S)
out="$root/bench-results/streamload-$stamp.jsonl"
sipp=()
[ -n "${SIPP:-}" ] && sipp=(--sipp "$SIPP")

case "$mode" in
compare)
    transports=("$@")
    [ ${#transports[@]} -eq 0 ] && transports=(tls ws)
    exec "${driver[@]}" compare --a "$kamailio" --label-a kamailio --b "$swiftlet" --label-b swiftlet \
        --transports "${transports[@]}" --rate "${RATE:-1000}" --duration "${DURATION:-20}" \
        --repeat "${REPEAT:-3}" --connections "${CONNECTIONS:-10}" "${sipp[@]}" --out "$out"
    ;;
idle)
    count=${1:-10000}
    "${driver[@]}" idle --server "$kamailio" --label kamailio --count "$count" --out "$out"
    "${driver[@]}" idle --server "$swiftlet" --label swiftlet --count "$count" --out "$out"
    ;;
*)
    echo "usage: scripts/bench-tls-ws.sh compare [tls|ws|wss ...] | idle [count]" >&2
    exit 2
    ;;
esac
