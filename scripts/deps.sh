#!/usr/bin/env bash
# Installs the Debian packages Swiftlet needs, when they are missing:
#   scripts/deps.sh build   the C libraries some modules link (hiredis for ndb_redis, libpq
#                           for db_postgres, MariaDB Connector/C for db_mysql, OpenSSL for tls,
#                           libcurl for the HTTP clients, libnats for nats, libsecsipid,
#                           PCRE2 for regex, libsctp for sctp, libwebsockets for lwsc)
#   scripts/deps.sh test    those, plus what the tests run against: SIPp, Kamailio (its stock
#                           configuration and the interop tests), its Redis modules,
#                           redis-server, PostgreSQL and MariaDB servers (the tests start
#                           private ones; the packages' own services are not needed),
#                           rtpengine-daemon (the rtpengine tests run it in user space),
#                           chromium (the headless-browser tests), Kamailio's tls and
#                           websocket modules (the TLS/WebSocket benchmark's reference)
#   scripts/deps.sh install those of build, plus what scripts/install uses: patchelf (the
#                           installed files' RUNPATH) and help2man (the man pages)
#   scripts/deps.sh package those of install, plus what scripts/package-deb uses: dpkg-dev
#                           (dpkg-shlibdeps) and lintian
# As root it runs apt-get itself; otherwise through sudo when there is one, or it prints
# the command to run and fails.
set -euo pipefail
mode=${1:-build}
need=()
pkg-config --exists hiredis 2>/dev/null || need+=(libhiredis-dev)
pkg-config --exists libpq 2>/dev/null || need+=(libpq-dev)
pkg-config --exists libmariadb 2>/dev/null || need+=(libmariadb-dev)
pkg-config --exists openssl 2>/dev/null || need+=(libssl-dev)
pkg-config --exists libcurl 2>/dev/null || need+=(libcurl4-openssl-dev)
pkg-config --exists libnats 2>/dev/null || need+=(libnats-dev)
pkg-config --exists secsipid-1 2>/dev/null || need+=(libsecsipid-dev)
pkg-config --exists libpcre2-8 2>/dev/null || need+=(libpcre2-dev)
[ -f /usr/include/netinet/sctp.h ] || need+=(libsctp-dev)
pkg-config --exists libwebsockets 2>/dev/null || need+=(libwebsockets-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
if [ "$mode" = install ] || [ "$mode" = package ]; then
    command -v patchelf >/dev/null 2>&1 || need+=(patchelf)
    command -v help2man >/dev/null 2>&1 || need+=(help2man)
fi
if [ "$mode" = package ]; then
    command -v dpkg-shlibdeps >/dev/null 2>&1 || need+=(dpkg-dev)
    command -v lintian >/dev/null 2>&1 || need+=(lintian)
fi
if [ "$mode" = test ]; then
    command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
    # curl (HTTP, JSON-RPC over HTTP and /metrics tests) and python3 (the WebSocket client).
    command -v curl >/dev/null 2>&1 || need+=(curl)
    command -v python3 >/dev/null 2>&1 || need+=(python3)
    # chromium: the real-browser tests (ChromiumBrowserTests) drive it headless over DevTools.
    command -v chromium >/dev/null 2>&1 || need+=(chromium)
    [ -f /etc/kamailio/kamailio.cfg ] || need+=(kamailio)
    command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
    [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
    # Kamailio's ndb_redis and topos_redis (the topos_redis interop test).
    compgen -G '/usr/lib/*/kamailio/modules/topos_redis.so' >/dev/null || need+=(kamailio-redis-modules)
    # Kamailio's db_postgres and db_mysql (the schema interop test runs Kamailio on our tables).
    compgen -G '/usr/lib/*/kamailio/modules/db_postgres.so' >/dev/null || need+=(kamailio-postgres-modules)
    compgen -G '/usr/lib/*/kamailio/modules/db_mysql.so' >/dev/null || need+=(kamailio-mysql-modules)
    # Kamailio's presence and presence_xml (what the presence module is compared with).
    compgen -G '/usr/lib/*/kamailio/modules/presence.so' >/dev/null || need+=(kamailio-presence-modules)
    # rtpengine: the rtpengine module's tests start it on loopback (user-space forwarding only).
    command -v rtpengine >/dev/null 2>&1 || need+=(rtpengine-daemon)
    # nats-server (the nats module's tests start a private one) and Kamailio's nats,
    # http_client, slack and secsipid modules (interop and benchmark comparisons).
    command -v nats-server >/dev/null 2>&1 || need+=(nats-server)
    compgen -G '/usr/lib/*/kamailio/modules/nats.so' >/dev/null || need+=(kamailio-nats-modules)
    compgen -G '/usr/lib/*/kamailio/modules/http_client.so' >/dev/null || need+=(kamailio-utils-modules)
    compgen -G '/usr/lib/*/kamailio/modules/secsipid.so' >/dev/null || need+=(kamailio-secsipid-modules)
    # Kamailio's tls and websocket modules (scripts/bench-tls-ws.sh runs Kamailio over TLS and
    # WebSocket as the reference).
    compgen -G '/usr/lib/*/kamailio/modules/tls.so' >/dev/null || need+=(kamailio-tls-modules)
    compgen -G '/usr/lib/*/kamailio/modules/websocket.so' >/dev/null || need+=(kamailio-websocket-modules)
fi
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing: ${need[*]}"
if [ "$(id -u)" -eq 0 ]; then
    apt=(apt-get)
elif command -v sudo >/dev/null 2>&1; then
    apt=(sudo apt-get)
else
    echo "missing Debian packages: ${need[*]} (run: apt-get install -y ${need[*]})" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${apt[@]}" update -qq
"${apt[@]}" install -y -qq "${need[@]}" >/dev/null
