#!/usr/bin/env bash
# Prints the SQL that creates Kamailio 5.6's tables (the schema of Kamailio's kamdbctl for
# the modules Swiftlet has or will have) for PostgreSQL or MySQL/MariaDB, with their rows in
# the `version` table that modules check at start-up (db_check_table_version).
#
#   scripts/dbschema.sh postgres|mysql [--drop] [TABLE...]   (default: every table below)
#
# e.g. scripts/dbschema.sh postgres | psql -h 127.0.0.1 -U kamailio kamailio
#      scripts/dbschema.sh mysql subscriber location | mariadb -h 127.0.0.1 -u kamailio kamailio
# The `version` table is created when it is asked for (or with all tables); each table's
# version row is inserted with it. --drop first drops the tables (and their version rows).
#
# Schema lines (one column a line, `id`, the auto-increment primary key, is implicit):
#   T|table|version            a table and its row in `version`
#   C|name|type|default|null   type: int, uint, smallint, usmallint, real, varchar(N), text,
#                              datetime, blob; default: SQL literal or empty; null: null or notnull
#   U|name|col,col             a unique constraint
#   I|name|col,col             an index
set -euo pipefail
engine=${1:-}
case "$engine" in
    postgres | postgresql | pgsql) engine=postgres ;;
    mysql | mariadb) engine=mysql ;;
    *)
        echo "usage: $0 postgres|mysql [--drop] [TABLE...]" >&2
        exit 2
        ;;
esac
shift
drop=0
if [ "${1:-}" = --drop ]; then
    drop=1
    shift
fi
tables=" $* "

schema() {
    cat <<'SCHEMA'
T|version|1
C|table_name|varchar(32)||notnull
C|table_version|uint|0|notnull
U|table_name_idx|table_name
T|subscriber|7
C|username|varchar(64)|''|notnull
C|domain|varchar(64)|''|notnull
C|password|varchar(64)|''|notnull
C|ha1|varchar(128)|''|notnull
C|ha1b|varchar(128)|''|notnull
U|account_idx|username,domain
I|username_idx|username
T|location|9
C|ruid|varchar(64)|''|notnull
C|username|varchar(64)|''|notnull
C|domain|varchar(64)|NULL|null
C|contact|varchar(512)|''|notnull
C|received|varchar(128)|NULL|null
C|path|varchar(512)|NULL|null
C|expires|datetime|'2030-05-28 21:32:15'|notnull
C|q|real|1.0|notnull
C|callid|varchar(255)|'Default-Call-ID'|notnull
C|cseq|int|1|notnull
C|last_modified|datetime|'2000-01-01 00:00:01'|notnull
C|flags|int|0|notnull
C|cflags|int|0|notnull
C|user_agent|varchar(255)|''|notnull
C|socket|varchar(64)|NULL|null
C|methods|int|NULL|null
C|instance|varchar(255)|NULL|null
C|reg_id|int|0|notnull
C|server_id|int|0|notnull
C|connection_id|int|0|notnull
C|keepalive|int|0|notnull
C|partition|int|0|notnull
U|ruid_idx|ruid
I|account_contact_idx|username,domain,contact
I|expires_idx|expires
I|tcpcon_idx|connection_id
I|connection_idx|server_id,connection_id
T|location_attrs|1
C|ruid|varchar(64)|''|notnull
C|username|varchar(64)|''|notnull
C|domain|varchar(64)|NULL|null
C|aname|varchar(64)|''|notnull
C|atype|int|0|notnull
C|avalue|varchar(512)|''|notnull
C|last_modified|datetime|'2000-01-01 00:00:01'|notnull
I|account_record_idx|username,domain,ruid
I|last_modified_idx|last_modified
T|acc|5
C|method|varchar(16)|''|notnull
C|from_tag|varchar(128)|''|notnull
C|to_tag|varchar(128)|''|notnull
C|callid|varchar(255)|''|notnull
C|sip_code|varchar(3)|''|notnull
C|sip_reason|varchar(128)|''|notnull
C|time|datetime||notnull
I|callid_idx|callid
T|acc_cdrs|2
C|start_time|datetime|'2000-01-01 00:00:00'|notnull
C|end_time|datetime|'2000-01-01 00:00:00'|notnull
C|duration|real|0|notnull
I|start_time_idx|start_time
T|missed_calls|4
C|method|varchar(16)|''|notnull
C|from_tag|varchar(128)|''|notnull
C|to_tag|varchar(128)|''|notnull
C|callid|varchar(255)|''|notnull
C|sip_code|varchar(3)|''|notnull
C|sip_reason|varchar(128)|''|notnull
C|time|datetime||notnull
I|callid_idx|callid
T|trusted|6
C|src_ip|varchar(50)||notnull
C|proto|varchar(4)||notnull
C|from_pattern|varchar(64)|NULL|null
C|ruri_pattern|varchar(64)|NULL|null
C|tag|varchar(64)||null
C|priority|int|0|notnull
I|peer_idx|src_ip
T|address|6
C|grp|uint|1|notnull
C|ip_addr|varchar(50)||notnull
C|mask|int|32|notnull
C|port|usmallint|0|notnull
C|tag|varchar(64)||null
T|domain|2
C|domain|varchar(64)||notnull
C|did|varchar(64)|NULL|null
C|last_modified|datetime|'2000-01-01 00:00:01'|notnull
U|domain_idx|domain
T|domain_attrs|1
C|did|varchar(64)||notnull
C|name|varchar(32)||notnull
C|type|uint||notnull
C|value|varchar(255)||notnull
C|last_modified|datetime|'2000-01-01 00:00:01'|notnull
I|domain_attrs_idx|did,name
T|dbaliases|1
C|alias_username|varchar(64)|''|notnull
C|alias_domain|varchar(64)|''|notnull
C|username|varchar(64)|''|notnull
C|domain|varchar(64)|''|notnull
I|alias_user_idx|alias_username
I|alias_idx|alias_username,alias_domain
I|target_idx|username,domain
T|speed_dial|2
C|username|varchar(64)|''|notnull
C|domain|varchar(64)|''|notnull
C|sd_username|varchar(64)|''|notnull
C|sd_domain|varchar(64)|''|notnull
C|new_uri|varchar(255)|''|notnull
C|fname|varchar(64)|''|notnull
C|lname|varchar(64)|''|notnull
C|description|varchar(64)|''|notnull
U|speed_dial_idx|username,domain,sd_domain,sd_username
T|htable|2
C|key_name|varchar(64)|''|notnull
C|key_type|int|0|notnull
C|value_type|int|0|notnull
C|key_value|varchar(128)|''|notnull
C|expires|int|0|notnull
T|usr_preferences|2
C|uuid|varchar(64)|''|notnull
C|username|varchar(255)|'0'|notnull
C|domain|varchar(64)|''|notnull
C|attribute|varchar(32)|''|notnull
C|type|int|0|notnull
C|value|varchar(128)|''|notnull
C|last_modified|datetime|'2000-01-01 00:00:01'|notnull
I|ua_idx|uuid,attribute
I|uda_idx|username,domain,attribute
T|dispatcher|4
C|setid|int|0|notnull
C|destination|varchar(192)|''|notnull
C|flags|int|0|notnull
C|priority|int|0|notnull
C|attrs|varchar(128)|''|notnull
C|description|varchar(64)|''|notnull
T|dialog|7
C|hash_entry|uint||notnull
C|hash_id|uint||notnull
C|callid|varchar(255)||notnull
C|from_uri|varchar(255)||notnull
C|from_tag|varchar(128)||notnull
C|to_uri|varchar(255)||notnull
C|to_tag|varchar(128)||notnull
C|caller_cseq|varchar(20)||notnull
C|callee_cseq|varchar(20)||notnull
C|caller_route_set|varchar(512)||null
C|callee_route_set|varchar(512)||null
C|caller_contact|varchar(255)||notnull
C|callee_contact|varchar(255)||notnull
C|caller_sock|varchar(64)||notnull
C|callee_sock|varchar(64)||notnull
C|state|uint||notnull
C|start_time|uint||notnull
C|timeout|uint|0|notnull
C|sflags|uint|0|notnull
C|iflags|uint|0|notnull
C|toroute_name|varchar(32)||null
C|req_uri|varchar(255)||notnull
C|xdata|varchar(512)||null
I|hash_idx|hash_entry,hash_id
T|dialog_vars|1
C|hash_entry|uint||notnull
C|hash_id|uint||notnull
C|dialog_key|varchar(128)||notnull
C|dialog_value|varchar(512)||notnull
I|hash_idx|hash_entry,hash_id
T|topos_d|2
C|rectime|datetime||notnull
C|x_context|varchar(64)|''|notnull
C|s_method|varchar(64)|''|notnull
C|s_cseq|varchar(64)|''|notnull
C|a_callid|varchar(255)|''|notnull
C|a_uuid|varchar(255)|''|notnull
C|b_uuid|varchar(255)|''|notnull
C|a_contact|varchar(512)|''|notnull
C|b_contact|varchar(512)|''|notnull
C|as_contact|varchar(512)|''|notnull
C|bs_contact|varchar(512)|''|notnull
C|a_tag|varchar(255)|''|notnull
C|b_tag|varchar(255)|''|notnull
C|a_rr|text||null
C|b_rr|text||null
C|s_rr|text||null
C|iflags|uint|0|notnull
C|a_uri|varchar(255)|''|notnull
C|b_uri|varchar(255)|''|notnull
C|r_uri|varchar(255)|''|notnull
C|a_srcaddr|varchar(128)|''|notnull
C|b_srcaddr|varchar(128)|''|notnull
C|a_socket|varchar(128)|''|notnull
C|b_socket|varchar(128)|''|notnull
I|rectime_idx|rectime
I|a_callid_idx|a_callid
I|a_uuid_idx|a_uuid
I|b_uuid_idx|b_uuid
T|topos_t|2
C|rectime|datetime||notnull
C|x_context|varchar(64)|''|notnull
C|s_method|varchar(64)|''|notnull
C|s_cseq|varchar(64)|''|notnull
C|a_callid|varchar(255)|''|notnull
C|a_uuid|varchar(255)|''|notnull
C|b_uuid|varchar(255)|''|notnull
C|direction|int|0|notnull
C|x_via|text||null
C|x_vbranch|varchar(255)|''|notnull
C|x_rr|text||null
C|y_rr|text||null
C|s_rr|text||null
C|x_uri|varchar(255)|''|notnull
C|a_contact|varchar(512)|''|notnull
C|b_contact|varchar(512)|''|notnull
C|as_contact|varchar(512)|''|notnull
C|bs_contact|varchar(512)|''|notnull
C|x_tag|varchar(255)|''|notnull
C|a_tag|varchar(255)|''|notnull
C|b_tag|varchar(255)|''|notnull
C|a_srcaddr|varchar(255)|''|notnull
C|b_srcaddr|varchar(255)|''|notnull
C|a_socket|varchar(128)|''|notnull
C|b_socket|varchar(128)|''|notnull
I|rectime_idx|rectime
I|a_callid_idx|a_callid
I|x_vbranch_idx|x_vbranch
I|a_uuid_idx|a_uuid
T|sip_trace|4
C|time_stamp|datetime|'2000-01-01 00:00:01'|notnull
C|time_us|uint|0|notnull
C|callid|varchar(255)|''|notnull
C|traced_user|varchar(255)|''|notnull
C|msg|text||notnull
C|method|varchar(50)|''|notnull
C|status|varchar(255)|''|notnull
C|fromip|varchar(64)|''|notnull
C|toip|varchar(64)|''|notnull
C|fromtag|varchar(128)|''|notnull
C|totag|varchar(128)|''|notnull
C|direction|varchar(4)|''|notnull
I|traced_user_idx|traced_user
I|date_idx|time_stamp
I|fromip_idx|fromip
I|callid_idx|callid
T|presentity|5
C|username|varchar(64)||notnull
C|domain|varchar(64)||notnull
C|event|varchar(64)||notnull
C|etag|varchar(128)||notnull
C|expires|int||notnull
C|received_time|int||notnull
C|body|blob||notnull
C|sender|varchar(255)||notnull
C|priority|int|0|notnull
C|ruid|varchar(64)||null
U|presentity_idx|username,domain,event,etag
U|ruid_idx|ruid
I|presentity_expires|expires
I|account_idx|username,domain,event
T|active_watchers|12
C|presentity_uri|varchar(255)||notnull
C|watcher_username|varchar(64)||notnull
C|watcher_domain|varchar(64)||notnull
C|to_user|varchar(64)||notnull
C|to_domain|varchar(64)||notnull
C|event|varchar(64)|'presence'|notnull
C|event_id|varchar(64)||null
C|to_tag|varchar(128)||notnull
C|from_tag|varchar(128)||notnull
C|callid|varchar(255)||notnull
C|local_cseq|int||notnull
C|remote_cseq|int||notnull
C|contact|varchar(255)||notnull
C|record_route|text||null
C|expires|int||notnull
C|status|int|2|notnull
C|reason|varchar(64)||null
C|version|int|0|notnull
C|socket_info|varchar(64)||notnull
C|local_contact|varchar(255)||notnull
C|from_user|varchar(64)||notnull
C|from_domain|varchar(64)||notnull
C|updated|int||notnull
C|updated_winfo|int||notnull
C|flags|int|0|notnull
C|user_agent|varchar(255)|''|null
U|active_watchers_idx|callid,to_tag,from_tag
I|active_watchers_expires|expires
I|active_watchers_pres|presentity_uri,event
I|updated_idx|updated
I|updated_winfo_idx|updated_winfo,presentity_uri
T|watchers|3
C|presentity_uri|varchar(255)||notnull
C|watcher_username|varchar(64)||notnull
C|watcher_domain|varchar(64)||notnull
C|event|varchar(64)|'presence'|notnull
C|status|int||notnull
C|reason|varchar(64)||null
C|inserted_time|int||notnull
U|watcher_idx|presentity_uri,watcher_username,watcher_domain,event
I|time_status_idx|inserted_time,status
SCHEMA
}

# Unknown table names are an error.
for t in $tables; do
    schema | grep -q "^T|$t|" || {
        echo "$0: unknown table '$t'" >&2
        exit 2
    }
done

schema | awk -F'|' -v engine="$engine" -v wanted="$tables" -v drop="$drop" '
function q(n) { return engine == "mysql" ? "`" n "`" : n }
function cols(list,   parts, i, s) {
    split(list, parts, ",")
    s = ""
    for (i = 1; i in parts; i++) s = s (i > 1 ? ", " : "") q(parts[i])
    return s
}
function sqltype(t) {
    if (engine == "mysql") {
        if (t == "int") return "INT(11)"
        if (t == "uint") return "INT(10) UNSIGNED"
        if (t == "smallint") return "SMALLINT(5)"
        if (t == "usmallint") return "SMALLINT(5) UNSIGNED"
        if (t == "real") return "FLOAT(10,2)"
        if (t == "datetime") return "DATETIME"
        if (t == "text") return "TEXT"
        if (t == "blob") return "BLOB"
        return toupper(t)
    }
    if (t == "blob") return "BYTEA"
    if (t == "int" || t == "uint") return "INTEGER"
    if (t == "smallint" || t == "usmallint") return "SMALLINT"
    if (t == "real") return "REAL"
    if (t == "datetime") return "TIMESTAMP WITHOUT TIME ZONE"
    if (t == "text") return "TEXT"
    return toupper(t)
}
function close_table() {
    if (table == "") return
    printf "%s\n)%s;\n\n", body, engine == "mysql" ? " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4" : ""
    if (indexes != "") printf "%s\n", indexes
    printf "INSERT INTO version (table_name, table_version) VALUES (%s%s%s, %s%s%s);\n\n", "\047", table, "\047", "\047", version, "\047"
    table = ""
}
BEGIN { all = (wanted ~ /^ *$/) }
$1 == "T" {
    close_table()
    selected = all || index(wanted, " " $2 " ")
    if (!selected) next
    table = $2; version = $3; indexes = ""
    if (drop) {
        printf "DROP TABLE IF EXISTS %s;\n", q(table)
        if (table != "version") printf "DELETE FROM version WHERE table_name = \047%s\047;\n", table
    }
    if (engine == "mysql") body = "CREATE TABLE " q(table) " (\n    `id` INT(10) UNSIGNED AUTO_INCREMENT PRIMARY KEY NOT NULL"
    else body = "CREATE TABLE " table " (\n    id SERIAL PRIMARY KEY NOT NULL"
    next
}
!selected { next }
$1 == "C" {
    line = "    " q($2) " " sqltype($3)
    if ($4 != "") line = line " DEFAULT " $4
    if ($5 == "notnull") line = line " NOT NULL"
    body = body ",\n" line
}
$1 == "U" {
    name = engine == "mysql" ? $2 : table "_" $2
    body = body ",\n    CONSTRAINT " name " UNIQUE (" cols($3) ")"
}
$1 == "I" {
    name = engine == "mysql" ? $2 : table "_" $2
    indexes = indexes "CREATE INDEX " name " ON " table " (" cols($3) ");\n"
}
END { close_table() }
'
