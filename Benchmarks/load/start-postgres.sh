#!/usr/bin/env bash
# Starts a private PostgreSQL server on 127.0.0.1 for the database scenarios (register-pgsql)
# and prints its URL for `sipload.py --db-url`. The cluster lives in DIR (made here, removed by
# `stop`); the database `kamailio` (user kamailio, password kamailio) gets the `version` and
# `location` tables of scripts/dbschema.sh. Uses Debian's server (apt-get install postgresql).
#
#   Benchmarks/load/start-postgres.sh start [DIR [PORT]]   (default /tmp/sipload-pg, 25432)
#   Benchmarks/load/start-postgres.sh stop  [DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
action=${1:-start}
dir=${2:-/tmp/sipload-pg}
port=${3:-25432}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL server not installed (apt-get install -y postgresql)" >&2; exit 2; }
# PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user.
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$action" in
stop)
    [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop > /dev/null || true
    rm -rf "$dir"
    exit 0
    ;;
start) ;;
*) echo "usage: $0 start|stop [DIR [PORT]]" >&2; exit 2 ;;
esac
[ -e "$dir" ] && { echo "$dir exists (stop it first: $0 stop $dir)" >&2; exit 2; }
mkdir -p "$dir"
[ "$(id -u)" = 0 ] && chown postgres "$dir"
as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync --locale=C.UTF-8 > "$dir/initdb.log"
as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w \
    -o "-p $port -h 127.0.0.1 -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start > /dev/null
psql=("$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres)
"${psql[@]}" -d postgres -c "CREATE ROLE kamailio LOGIN PASSWORD 'kamailio'" -c "CREATE DATABASE kamailio OWNER kamailio"
"$here/../../scripts/dbschema.sh" postgres version location | PGPASSWORD=kamailio "$bin/psql" -X -q -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$port" -U kamailio -d kamailio > /dev/null
echo "postgres://kamailio:kamailio@127.0.0.1:$port/kamailio"
