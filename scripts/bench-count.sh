#!/usr/bin/env bash
# Counts what Swiftlet spends per call, independent of how busy the machine is:
#   instructions  user-space instructions per call (valgrind --tool=callgrind; this VM has no
#                 hardware counters for `perf stat -e instructions`), with a profile to read
#                 with callgrind_annotate
#   syscalls      system calls, context switches, page faults, CPU migrations and task-clock
#                 (ms of CPU) per call (perf stat; EXTRA_EVENTS=<list> adds events)
#   threads       the same per server thread: task-clock (µs of CPU), context switches and
#                 page faults per call of each thread (perf stat --per-thread), e.g. how much
#                 of a call's CPU tm's timer thread spends ending transactions
#
#   scripts/bench-count.sh instructions [scenario [rate [duration]]]   (default: stateful 30 10)
#   scripts/bench-count.sh syscalls     [scenario [rate [duration]]]   (default: stateful 300 20)
#   scripts/bench-count.sh threads      [scenario [rate [duration]]]   (default: stateful 300 20)
#
# Scenarios and configurations are those of Benchmarks/load (options, jwt-hs256, jwt-rs256,
# stateless, stateful, dialog, dispatcher, topos-redis, register, auth-register, register-pgsql;
# {cfgdir} in a configuration becomes Benchmarks/load/cfg, or for dispatcher the run's
# directory with a copy of dispatcher.list whose ports are rewritten), on ports BASE (server),
# BASE+10 (SIPp UAS; dispatcher: a second UAS on BASE+11, the list's two targets), BASE+20
# (SIPp UAC), BASE+30 (a private redis-server for topos-redis, emptied; its commands per call
# are counted too), BASE+40 (a private PostgreSQL for
# register-pgsql, made by Benchmarks/load/start-postgres.sh and removed at the end; {dburl}
# becomes its URL);
# BASE=25060 unless set. Uses the release build (BIN=<dir> for another one). Callgrind runs
# the server ~50x slower: keep the rate low (30 calls/s is fine). Each run keeps its files in a
# temporary directory (printed).
# CFG=<file> runs the scenario's SIPp calls against another configuration of the same
# scenario (its ports 5060/5070 are rewritten as the scenario's own), e.g. an external
# harness's variant of `stateful`.
# WARMUP=<calls> first runs that many calls uncounted (users w<n> instead of l<n>, so the counted
# calls still register new AoRs): the count is then the steady state, without the one-time
# work of the first requests (Swift metadata, lazy statics, first-use allocations).
# Needs: sipp, valgrind (instructions), perf (syscalls, threads).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mode=${1:-instructions}
scenario=${2:-stateful}
case "$mode" in
instructions) rate=${3:-30}; duration=${4:-10} ;;
syscalls | threads) rate=${3:-300}; duration=${4:-20} ;;
*) echo "usage: $0 instructions|syscalls|threads [scenario [rate [duration]]]" >&2; exit 2 ;;
esac
base=${BASE:-25060}
sp=$base; up=$((base + 10)); cp=$((base + 20)); rp=$((base + 30)); pp=$((base + 40))
load=$root/Benchmarks/load
case "$scenario" in
options) uac=(-sf "$load/scenarios/options-uac.xml"); uas=() ;;
jwt-hs256 | jwt-rs256) uac=(-sf "$load/scenarios/options-jwt-uac.xml"); uas=() ;;
stateless | stateful | dialog | dispatcher | topos-redis) uac=(-sf "$load/scenarios/call-uac.xml"); uas=(-sf "$load/scenarios/call-uas.xml") ;;
register | register-pgsql) uac=(-sf "$load/scenarios/register-uac.xml"); uas=() ;;
auth-register)
    uac=(-sf "$load/scenarios/auth-register-uac.xml" -au 'l[call_number]' -ap 'loadpw-0123456789-l[call_number]')
    uas=()
    ;;
*)
    echo "unknown scenario $scenario (options, jwt-hs256, jwt-rs256, stateless, stateful, dialog, dispatcher, topos-redis," \
        "register, auth-register, register-pgsql)" >&2
    exit 2
    ;;
esac
bin=${BIN:-$(scripts/release-build.sh --show-bin-path)}
dir=$(mktemp -d "/tmp/swiftlet-count-$scenario-XXXX")
pg_dir=""
dburl=""
if [ "$scenario" = register-pgsql ]; then
    pg_dir=$(mktemp -u /tmp/swiftlet-count-pg-XXXX) # outside $dir: the server runs as postgres
    dburl=$("$load/start-postgres.sh" start "$pg_dir" "$pp")
fi
# A list beside the configuration (dispatcher.list) names the SIPp UAS's port too: the run
# uses a copy with the ports rewritten.
cfgdir=$load/cfg
if [ -f "$load/cfg/$scenario.list" ]; then
    sed -e "s/5060/$sp/g" -e "s/5070/$up/g" -e "s/5071/$((up + 1))/g" "$load/cfg/$scenario.list" > "$dir/$scenario.list"
    cfgdir=$dir
    # dispatcher runs two UAS: the list must name both, or the count is of another call path
    if [ "$scenario" = dispatcher ]; then
        for port in "$up" "$((up + 1))"; do
            grep -q "^[0-9]* sip:127.0.0.1:$port\b" "$dir/$scenario.list" ||
                { echo "$load/cfg/$scenario.list names no target on UAS port $port" >&2; exit 2; }
        done
    fi
fi
sed -e "s/5060/$sp/g" -e "s/5070/$up/g" -e "s/6379/$rp/g" -e "s|{cfgdir}|$cfgdir|g" -e "s|{dburl}|$dburl|g" \
    "${CFG:-$load/cfg/$scenario.cfg}" > "$dir/$scenario.cfg"
redis_pid=""
if [ "$scenario" = topos-redis ]; then
    redis-server --port "$rp" --bind 127.0.0.1 --save "" --appendonly no > "$dir/redis.log" 2>&1 &
    redis_pid=$!
    for _ in $(seq 50); do redis-cli -p "$rp" ping > /dev/null 2>&1 && break; sleep 0.1; done
fi
if [ "$mode" = instructions ]; then
    # valgrind 3.19 cannot read the DWARF 5 of a Swift build: use copies without debug info.
    mkdir "$dir/bin"
    cp "$bin/swiftlet" "$bin"/*.so "$dir/bin/"
    strip --strip-debug "$dir/bin/"*
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$dir/callgrind.%p" \
        "$dir/bin/swiftlet" -f "$dir/$scenario.cfg" -DD -E -L "$dir/bin" > "$dir/server.log" 2>&1 &
else
    "$bin/swiftlet" -f "$dir/$scenario.cfg" -DD -E -L "$bin" > "$dir/server.log" 2>&1 &
fi
server=$!
uas_pid=""
uas2_pid=""
cleanup() {
    kill "$server" 2>/dev/null || true
    [ -n "$uas_pid" ] && kill "$uas_pid" 2>/dev/null || true
    [ -n "$uas2_pid" ] && kill "$uas2_pid" 2>/dev/null || true
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    [ -n "$pg_dir" ] && "$load/start-postgres.sh" stop "$pg_dir" || true
}
trap cleanup EXIT
for _ in $(seq 300); do ss -uln | grep -q "127.0.0.1:$sp " && break; sleep 0.2; done
sleep 1
if [ ${#uas[@]} -gt 0 ]; then
    sipp -i 127.0.0.1 -nostdin -buff_size 4194304 -p "$up" "${uas[@]}" > /dev/null 2>&1 &
    uas_pid=$!
    # The dispatcher's round robin goes over two UAS (cfg/dispatcher.list names both).
    if [ "$scenario" = dispatcher ]; then
        sipp -i 127.0.0.1 -nostdin -buff_size 4194304 -p "$((up + 1))" "${uas[@]}" > /dev/null 2>&1 &
        uas2_pid=$!
    fi
    sleep 0.5
fi
if [ "${WARMUP:-0}" -gt 0 ]; then
    warm=()
    for a in "${uac[@]}"; do
        if [ -f "$a" ]; then
            sed 's/l\[call_number\]/w[call_number]/g' "$a" > "$dir/warmup-$(basename "$a")"
            warm+=("$dir/warmup-$(basename "$a")")
        else
            warm+=("${a//l\[call_number\]/w[call_number]}")
        fi
    done
    sipp "127.0.0.1:$sp" "${warm[@]}" -i 127.0.0.1 -nostdin -buff_size 4194304 -p "$cp" -r "$rate" -rp 1000 \
        -m "$WARMUP" -recv_timeout 20000 -timeout $((WARMUP / rate * 3 + 60))s > /dev/null 2> "$dir/warmup.err" || true
fi
if [ "$mode" = instructions ]; then
    callgrind_control -i on "$server" > /dev/null 2>&1
elif [ "$mode" = threads ]; then
    perf stat --per-thread -x, -e task-clock,context-switches,page-faults -p "$server" -o "$dir/perf.txt" &
    perf_pid=$!
    sleep 0.3
else
    events=raw_syscalls:sys_enter,context-switches,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto
    events+=,syscalls:sys_enter_futex,syscalls:sys_enter_mprotect,syscalls:sys_enter_read,syscalls:sys_enter_write
    events+=,page-faults,cpu-migrations,task-clock${EXTRA_EVENTS:+,$EXTRA_EVENTS}
    perf stat -x, -e "$events" -p "$server" -o "$dir/perf.txt" &
    perf_pid=$!
    sleep 0.3
fi
calls=$((rate * duration))
[ -n "$redis_pid" ] && redis-cli -p "$rp" config resetstat > /dev/null
sipp "127.0.0.1:$sp" "${uac[@]}" -i 127.0.0.1 -nostdin -buff_size 4194304 -p "$cp" -r "$rate" -rp 1000 \
    -m "$calls" -l $((3 * rate)) -recv_timeout 20000 -timeout $((duration * 3 + 60))s \
    -trace_stat -stf "$dir/stat.csv" > /dev/null 2> "$dir/uac.err" || true
sleep 6 # tm's wait timer (5 s) frees the last transactions
column() { awk -F';' -v c="$1" 'NR==1{for(i=1;i<=NF;i++) if($i==c) k=i} END{print $k}' "$dir/stat.csv"; }
ok=$(column 'SuccessfulCall(C)')
failed=$(column 'FailedCall(C)')
echo "scenario=$scenario cfg=${CFG:-$load/cfg/$scenario.cfg} rate=$rate calls=$calls warmup=${WARMUP:-0} successful=$ok failed=$failed files=$dir"
[ "${ok:-0}" -gt 0 ] || exit 1
if [ -n "$redis_pid" ]; then
    redis-cli -p "$rp" info commandstats | awk -F'[:=,]' -v n="$ok" \
        '/^cmdstat_/ {sub("cmdstat_", "", $1); printf "redis %-23s %8.2f per call\n", $1, $3 / n}'
fi
if [ "$mode" = instructions ]; then
    callgrind_control -d "$server" > /dev/null 2>&1
    sleep 1
    total=$(grep -h "^totals:" "$dir"/callgrind.*.1 | awk '{s += $2} END {print s}')
    echo "instructions (user space): $((total / ok)) per call"
    echo "profile: callgrind_annotate --inclusive=yes $(ls "$dir"/callgrind.*.1)"
else
    kill -INT "$perf_pid"
    wait "$perf_pid" 2>/dev/null || true
    if [ "$mode" = threads ]; then
        # thread-tid,value,unit,event,...: threads that ran during the calls, busiest first
        printf "%-20s %12s %14s %12s\n" thread "CPU us/call" "switches/call" "faults/call"
        awk -F, -v n="$ok" '$2 ~ /^[0-9.]+$/ {
                t = $1; sub(/-[0-9]+$/, "", t)
                if ($4 == "task-clock") { cpu[t] += $2 * 1000 / n } else { v[t, $4] += $2 / n }
            } END {
                for (t in cpu) if (cpu[t] > 0)
                    printf "%-20s %12.2f %14.3f %12.3f\n", t, cpu[t], v[t, "context-switches"], v[t, "page-faults"]
            }' "$dir/perf.txt" | sort -k2 -rn
    else
        awk -F, -v n="$ok" '$3 != "" {printf "%-30s %8.2f per call\n", $3, $1 / n}' "$dir/perf.txt"
    fi
fi
