#!/usr/bin/env bash
# End-to-end test of the Debian packages on this machine (as root; .ci/run runs it after the
# run command, reusing its release build). Arguments go to scripts/package-deb (--no-build).
#   1. scripts/package-deb builds the .debs (lintian: no errors) and apt-get installs them all;
#   2. the installed server checks its default configuration with no -f and no -L;
#   3. examples/hello-module is built against the installed SDK (swiftlet-dev); a module
#      built for another core version (Tests/Fixtures/abi_mismatch) is refused naming both;
#   4. the systemd unit (systemd-analyze verify) and its ExecStart command line, run with
#      no systemd: its Environment=, EnvironmentFile=, User=/Group=, AmbientCapabilities=,
#      CapabilityBoundingSet=, RuntimeDirectory=, UMask= and LimitNOFILE= applied by hand
#      (the other sandboxing settings need systemd), on a configuration the test
#      writes into the conffile: loopback UDP, jsonrpcs, ndb_redis + topos_redis
#      (swiftlet-redis-modules) against a private redis-server, and the hello module;
#   5. SIPp OPTIONS are answered (a Redis counter counts them), swiftletctl core.version;
#   6. SIGTERM stops it; apt-get purge; nothing is left: no file of the packages' dpkg -L
#      lists, no new file named *swiftlet* under /etc /usr /lib /var /run, no user, no
#      dpkg entry, and the packages apt pulled in for them are purged too.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
[ "$(id -u)" -eq 0 ] || { echo "scripts/package-test.sh installs packages: run it as root" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
scripts/deps.sh test >/dev/null # sipp, redis-server

fail() { echo "package test: $*" >&2; exit 1; }
# A port no TCP or UDP socket of this machine uses (/proc/net: local address column).
free_port() {
    local port hex
    while :; do
        port=$(shuf -i 20000-60999 -n 1)
        hex=$(printf '%04X' "$port")
        if ! grep -qE "^ *[0-9]+: [0-9A-F]+:$hex " /proc/net/tcp /proc/net/udp /proc/net/tcp6 /proc/net/udp6 2>/dev/null; then
            echo "$port"
            return
        fi
    done
}
installed_swiftlet() { { dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' 'swiftlet*' 2>/dev/null || true; } | awk '$1 != "un" { print $2 }'; }

# Leftovers of an interrupted run.
left=$(installed_swiftlet)
[ -z "$left" ] || { echo "purging leftover packages: $left"; apt-get purge -y -qq $left >/dev/null; }

out=.build/debian
if [ "${1:-}" = --reuse-debs ]; then # while working on this test: the .debs of the last run
    shift
else
    echo "== scripts/package-deb"
    rm -rf "$out"
    scripts/package-deb --out "$out" "$@" | tail -20
fi
mapfile -t debs < <(ls "$out"/*.deb)
[ ${#debs[@]} -ge 5 ] || fail "expected swiftlet, swiftlet-dev and three module packages: ${debs[*]}"

tmp=$(mktemp -d)
chmod 755 "$tmp" # the server reads the test's module as the swiftlet user
server= redis=
cleanup() {
    [ -z "$server" ] || kill "$server" 2>/dev/null || true
    [ -z "$redis" ] || kill "$redis" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

snapshot() { find /etc /usr /lib /var /run -xdev -name '*swiftlet*' 2>/dev/null | LC_ALL=C sort; }
snapshot >"$tmp/before.files"
# The packages' paths that exist already (/usr, /lib, /etc/default, ...).
for deb in "${debs[@]}"; do dpkg-deb --fsys-tarfile "$deb" | tar -t; done | sed 's|^\./|/|; s|\(.\)/$|\1|' | LC_ALL=C sort -u |
    while IFS= read -r path; do [ -z "$path" ] || [ ! -e "$path" ] || echo "$path"; done >"$tmp/before.existing"
dpkg-query -W -f '${Package}\n' | LC_ALL=C sort >"$tmp/before.packages"

echo "== apt-get install ${debs[*]##*/}"
apt-get install -y -qq "${debs[@]/#/$repo/}" >"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log"; fail "apt-get install failed"; }
packages=$(installed_swiftlet)
for p in $packages; do dpkg -L "$p"; done | sed 's|^/\.$|/|' | LC_ALL=C sort -u >"$tmp/installed.files"
for path in /usr/bin/swiftlet /usr/bin/swiftletctl /usr/lib/swiftlet/libSwiftletCore.so \
    /usr/lib/swiftlet/modules/sl.so /usr/lib/swiftlet/modules/tm.so /etc/swiftlet/swiftlet.cfg \
    /etc/default/swiftlet /lib/systemd/system/swiftlet.service /usr/share/man/man1/swiftlet.1.gz \
    /usr/share/man/man1/swiftletctl.1.gz /usr/share/doc/swiftlet/modules.md.gz /usr/lib/swiftlet/sdk/SwiftletSDK.swiftmodule; do
    grep -qx "$path" "$tmp/installed.files" || fail "$path is not in the packages"
done
[ "$(dpkg -S /usr/lib/swiftlet/modules/ndb_redis.so | cut -d: -f1)" = swiftlet-redis-modules ] || fail "ndb_redis is not in swiftlet-redis-modules"
[ "$(dpkg -S /usr/lib/swiftlet/modules/topos_redis.so | cut -d: -f1)" = swiftlet-redis-modules ] || fail "topos_redis is not in swiftlet-redis-modules"
[ "$(dpkg -S /usr/lib/swiftlet/modules/db_postgres.so | cut -d: -f1)" = swiftlet-postgres-modules ] || fail "db_postgres is not in swiftlet-postgres-modules"
[ "$(dpkg -S /usr/lib/swiftlet/modules/db_mysql.so | cut -d: -f1)" = swiftlet-mysql-modules ] || fail "db_mysql is not in swiftlet-mysql-modules"
dpkg-query -W -f '${Depends}\n' swiftlet-redis-modules | grep -q 'libhiredis' || fail "swiftlet-redis-modules does not depend on libhiredis"
# secsipid opens libsecsipid with dlopen (packaging/module-dlopen): its package still depends on it.
[ "$(dpkg -S /usr/lib/swiftlet/modules/secsipid.so | cut -d: -f1)" = swiftlet-secsipid-modules ] || fail "secsipid is not in swiftlet-secsipid-modules"
dpkg-query -W -f '${Depends}\n' swiftlet-secsipid-modules | grep -q 'libsecsipid1' || fail "swiftlet-secsipid-modules does not depend on libsecsipid1"
getent passwd swiftlet >/dev/null || fail "postinst did not create the swiftlet user"
# The installed files use no library of the build tree or of the toolchain.
if ldd /usr/bin/swiftlet /usr/bin/swiftletctl /usr/lib/swiftlet/modules/*.so | grep -E "not found|$repo|/opt/swift|\.build/"; then
    fail "installed files resolve libraries outside the packages and the system"
fi
# The unit as systemd reads it (no systemd runs here: offline), when systemd is installed.
if command -v systemd-analyze >/dev/null 2>&1; then
    systemd-analyze verify --man=no /lib/systemd/system/swiftlet.service >"$tmp/verify.log" 2>&1 ||
        { cat "$tmp/verify.log"; fail "systemd-analyze verify swiftlet.service failed"; }
    [ ! -s "$tmp/verify.log" ] || { cat "$tmp/verify.log"; fail "systemd-analyze verify found problems"; }
else
    echo "note: systemd is not installed: swiftlet.service is not checked with systemd-analyze verify"
fi
echo "installed: $(echo $packages); $(wc -l <"$tmp/installed.files") paths"

echo "== swiftlet -c (the default configuration and module path: no -f, no -L)"
(cd / && swiftlet -c) >"$tmp/check.log" 2>&1 || { cat "$tmp/check.log"; fail "swiftlet -c failed"; }
swiftlet -V | head -1

echo "== examples/hello-module against the installed SDK (swiftlet-dev)"
cp -r /usr/share/doc/swiftlet-dev/examples/hello-module "$tmp/hello"
SWIFTLET_SDK=/usr/lib/swiftlet/sdk swift build -c release --package-path "$tmp/hello" >"$tmp/hello.log" 2>&1 ||
    { cat "$tmp/hello.log"; fail "hello-module does not build against the installed SDK"; }
hello=$tmp/hello/.build/release/libhello.so
# A module built for another core version (the test fixture, which says 9.9.9) is refused
# by the installed server, naming both versions. (A module records the version of the SDK it
# is compiled against: registerSwiftletModule is emitted into the module.)
build_dir=$(scripts/release-build.sh --show-bin-path)
cp "$build_dir/libswiftlet_test_abi_mismatch.so" "$tmp/old.so"
printf 'loadmodule "%s"\nrequest_route { exit; }\n' "$tmp/old.so" >"$tmp/old.cfg"
if swiftlet -c -f "$tmp/old.cfg" >"$tmp/old.log" 2>&1; then fail "a module built for core 9.9.9 was accepted"; fi
version=$(sed -n 's/^#define SWIFTLET_CORE_VERSION "\(.*\)"/\1/p' /usr/lib/swiftlet/sdk/CSwiftletABI/swiftlet_module_abi.h)
grep -q "core 9.9.9; this core is swiftlet $version" "$tmp/old.log" || { cat "$tmp/old.log"; fail "the refusal does not name both versions"; }
grep -o "was built for .*" "$tmp/old.log"

echo "== redis-server on loopback"
redis_port=$(free_port)
mkdir -p "$tmp/redis"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp/redis" >"$tmp/redis.log" 2>&1 &
redis=$!
for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG && break; sleep 0.2; done
redis-cli -p "$redis_port" ping | grep -q PONG || fail "redis-server did not start"

echo "== the service's command line (ExecStart of swiftlet.service)"
sip_port=$(free_port)
# The operator's configuration, in the conffile.
cat >/etc/swiftlet/swiftlet.cfg <<EOF
#!KAMAILIO
debug=2
children=2
listen=udp:127.0.0.1:$sip_port
loadmodule "sl.so"
loadmodule "xlog.so"
loadmodule "jsonrpcs.so"
loadmodule "ndb_redis.so"
loadmodule "topos.so"
loadmodule "topos_redis.so"
loadmodule "$hello"
modparam("ndb_redis", "server", "name=srv;addr=127.0.0.1;port=$redis_port")
modparam("topos", "storage", "redis")
modparam("topos_redis", "serverid", "srv")
request_route {
    if (\$rU == "hello") {
        hello_reply();
        xlog("L_INFO", "hello replies: \$hello(count)\n");
        exit;
    }
    redis_cmd("srv", "INCR swiftlet_package_test", "r");
    sl_send_reply("200", "OK \$redis(r=>value)");
    exit;
}
EOF
unit=/lib/systemd/system/swiftlet.service
rundir=$tmp/run # systemd's %t
install -d -m 755 "$rundir"
install -d -m 750 -o swiftlet -g swiftlet "$rundir/swiftlet"
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
user=$(sed -n 's/^User=//p' "$unit")
group=$(sed -n 's/^Group=//p' "$unit")
nofile=$(sed -n 's/^LimitNOFILE=//p' "$unit")
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$nofile" -gt "$hard" ]; then
    echo "note: LimitNOFILE=$nofile is above this machine's hard limit $hard (no CAP_SYS_RESOURCE here): using $hard"
    nofile=$hard
fi
caps=$(sed -n 's/^AmbientCapabilities=//p' "$unit" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
bounding=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
command=$(
    set -a
    while IFS= read -r line; do
        case $line in Environment=*) eval "${line#Environment=}" ;; esac
    done <"$unit"
    env_file=$(sed -n 's/^EnvironmentFile=-\{0,1\}//p' "$unit")
    [ ! -f "$env_file" ] || . "$env_file"
    eval "echo ${exec_start//%t/$rundir}"
)
echo "$command"
umask_value=$(sed -n 's/^UMask=//p' "$unit")
# shellcheck disable=SC2086
(umask "${umask_value:-0022}" && exec prlimit --nofile="$nofile:$nofile" -- setpriv --reuid="$user" --regid="$group" \
    --init-groups --inh-caps="$caps" --ambient-caps="$caps" --bounding-set=-all,"$bounding" -- $command) \
    >"$tmp/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
    grep -q "Listening on" "$tmp/server.log" && break
    kill -0 "$server" 2>/dev/null || { cat "$tmp/server.log"; fail "the server exited at start-up"; }
    sleep 0.2
done
grep -q "Listening on" "$tmp/server.log" || { cat "$tmp/server.log"; fail "the server did not start"; }
[ "$(awk '/^Uid:/ { print $2 }' "/proc/$server/status")" = "$(id -u "$user")" ] || fail "the server does not run as $user"

echo "== SIPp OPTIONS"
sipp_port=$(free_port)
sipp -sf Tests/Scenarios/options/uac.xml -m 5 -r 10 -i 127.0.0.1 -p "$sipp_port" -timeout 20s -nostdin \
    "127.0.0.1:$sip_port" >"$tmp/sipp.log" 2>&1 || { tail -20 "$tmp/server.log"; fail "SIPp OPTIONS failed"; }
[ "$(redis-cli -p "$redis_port" GET swiftlet_package_test)" = 5 ] || fail "ndb_redis did not count 5 OPTIONS in Redis"
sipp -sf Tests/Scenarios/options/uac.xml -s hello -m 1 -i 127.0.0.1 -p "$sipp_port" -timeout 20s -nostdin \
    "127.0.0.1:$sip_port" >"$tmp/sipp.log" 2>&1 || { tail -20 "$tmp/server.log"; fail "SIPp OPTIONS to hello failed"; }
grep -q "hello replies: 1" "$tmp/server.log" || { tail -20 "$tmp/server.log"; fail "the hello module did not reply"; }
echo "5 OPTIONS answered through Redis (ndb_redis, topos_redis loaded), 1 by the hello module"

echo "== swiftletctl core.version"
swiftletctl -Y "$rundir/swiftlet" -o text core.version | tee "$tmp/version.txt"
grep -q "$version" "$tmp/version.txt" || fail "core.version does not name $version"

kill -TERM "$server"
wait "$server" || fail "the server exited with status $?"
server=
grep -q "shutting down" "$tmp/server.log" || fail "no clean shutdown"
kill "$redis" && wait "$redis" 2>/dev/null || true
redis=

echo "== apt-get purge"
# shellcheck disable=SC2086
apt-get purge -y -qq $packages >"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log"; fail "apt-get purge failed"; }
[ -z "$(installed_swiftlet)" ] || fail "still known to dpkg after purge: $(installed_swiftlet)"
# What apt installed for them goes too.
pulled=$(comm -13 "$tmp/before.packages" <(dpkg-query -W -f '${Package}\n' | LC_ALL=C sort))
[ -z "$pulled" ] || apt-get purge -y -qq $pulled >/dev/null
left=()
while IFS= read -r path; do
    [ -e "$path" ] || [ -L "$path" ] || continue
    grep -qxF "$path" "$tmp/before.existing" && continue
    left+=("$path")
done <"$tmp/installed.files"
mapfile -t -O ${#left[@]} left < <(comm -13 "$tmp/before.files" <(snapshot))
getent passwd swiftlet >/dev/null && left+=("user swiftlet")
getent group swiftlet >/dev/null && left+=("group swiftlet")
[ ${#left[@]} -eq 0 ] || fail "left behind after purge: ${left[*]}"
echo "package test: OK (installed, served, purged: nothing left behind)"
