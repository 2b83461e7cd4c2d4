import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

extension DatabaseSuites {
    /// sqlops on the embedded core against the private PostgreSQL and MariaDB servers: each
    /// script runs SQL for an OPTIONS request and puts what it read into the reply's headers.
    @Suite struct SQLOpsModuleTests {
        static func config(_ engine: DatabaseEngine, url: String, extra: String = "", route: String) -> String {
            """
            log_stderror=yes
            debug=-1
            listen=udp:127.0.0.1:5060
            loadmodule "sl.so"
            loadmodule "textops.so"
            loadmodule "\(engine.module).so"
            loadmodule "sqlops.so"
            modparam("sqlops", "sqlcon", "ca=>\(url)")
            \(extra)
            request_route {
            \(route)
                sl_send_reply("200", "OK");
            }
            """
        }

        static let options =
            [
                "OPTIONS sip:sql@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-s1",
                "From: <sip:a@127.0.0.1>;tag=a1", "To: <sip:sql@127.0.0.1>", "Call-ID: sql-1", "CSeq: 1 OPTIONS",
                "Content-Length: 0",
            ].joined(separator: "\r\n") + "\r\n\r\n"

        /// A double, a bigint, a datetime, a binary string and a boolean.
        static func typesQuery(_ engine: DatabaseEngine) -> String {
            engine == .postgres
                ? "select 1.5::float8 as d, 12345678901::bigint as b, '2020-01-02 03:04:05'::timestamp as t, 'ab'::bytea as y, true as bo"
                : "select 1.5e0 as d, 12345678901 as b, cast('2020-01-02 03:04:05' as datetime) as t, cast('ab' as binary) as y, true as bo"
        }

        func headers(_ core: EmbeddedCore) -> [String] {
            core.receive(Self.options, from: "127.0.0.1:5070")
            return core.takeSent().last?.text.components(separatedBy: "\r\n").filter { $0.hasPrefix("X-") } ?? []
        }

        @Test(arguments: DatabaseDriverTests.engines)
        func queriesStoreResultsThatDbrReads(engine: DatabaseEngine) throws {
            try engine.createSchema(["version", "htable"])
            let core = try EmbeddedCore(
                config: Self.config(
                    engine, url: try engine.url(),
                    route: """
                        sql_query("ca", "delete from htable");
                        append_to_reply("X-Delete: $rc\\r\\n");
                        $var(k) = "k2";
                        sql_query("ca", "insert into htable (key_name, key_value, expires) values ('k1', 'it''s', 10)");
                        append_to_reply("X-Insert: $rc\\r\\n");
                        sql_query("ca", "insert into htable (key_name, key_value, expires) values ('$var(k)', 'v2', 20)");
                        sql_query("ca", "select key_name, expires, key_value, NULL as n from htable order by id", "ra");
                        append_to_reply("X-Select: $rc\\r\\n");
                        $var(i) = 1;
                        append_to_reply("X-Res: rows=$dbr(ra=>rows) cols=$dbr(ra=>cols) [0,0]=$dbr(ra=>[0,0]) [0,2]=$dbr(ra=>[0,2]) [i,1]=$dbr(ra=>[$var(i),1]) null=$dbr(ra=>[0,3]) out=$dbr(ra=>[2,0]) col=$dbr(ra=>colname[1])\\r\\n");
                        if ($dbr(ra=>[1,1]) == 20) { append_to_reply("X-Int: yes\\r\\n"); }
                        sql_result_free("ra");
                        append_to_reply("X-Freed: $dbr(ra=>rows) $dbr(ra=>[0,0])\\r\\n");
                        sql_query("ca", "select key_name from htable where expires > 100", "rb");
                        append_to_reply("X-Empty: $rc $dbr(rb=>rows)\\r\\n");
                        sql_query("ca", "select key_name from htable");
                        append_to_reply("X-NoResult: $rc\\r\\n");
                        sql_query("ca", "select * from no_such_table", "rc");
                        append_to_reply("X-Error: $rc\\r\\n");
                        sql_xquery("ca", "select key_name, expires, NULL as n from htable order by id", "xr");
                        append_to_reply("X-XQuery: $rc $xavp(xr=>key_name) $xavp(xr=>expires) $xavp(xr[1]=>key_name) $xavp(xr[1]=>expires) $xavp(xr=>n)\\r\\n");
                        sql_pvquery("ca", "select key_name, expires, NULL as n from htable order by id", "$var(pk),$avp(pe),$avp(pn)");
                        append_to_reply("X-PVQuery: $rc $var(pk) $avp(pe) $(avp(pe)[1]) $avp(pn)\\r\\n");
                        sql_pvquery("ca", "select key_name, expires from htable", "$var(only)");
                        append_to_reply("X-PVShort: $rc\\r\\n");
                        sql_query("ca", "\(Self.typesQuery(engine))", "rd");
                        append_to_reply("X-Types: $dbr(rd=>[0,0]) $dbr(rd=>[0,1]) $dbr(rd=>[0,2]) $dbr(rd=>[0,3]) $dbr(rd=>[0,4])\\r\\n");
                        """),
                modulePath: productsDirectory)
            defer { core.shutdown() }
            #expect(
                headers(core) == [
                    "X-Delete: 2", "X-Insert: 2", "X-Select: 1",
                    "X-Res: rows=2 cols=4 [0,0]=k1 [0,2]=it's [i,1]=20 null=<null> out=<null> col=expires",
                    "X-Int: yes", "X-Freed: 0 <null>", "X-Empty: 2 0", "X-NoResult: 3", "X-Error: -1",
                    "X-XQuery: 1 k1 10 k2 20 <null>", "X-PVQuery: 1 k1 10 20 <null>", "X-PVShort: -1",
                    // As Kamailio 5.6 shows them (checked with its sqlops and db_postgres/db_mysql),
                    // except the double, which Kamailio gives as <null>.
                    "X-Types: 1.5 12345678901 \(DatabaseValue.parseDateTime("2020-01-02 03:04:05")!) ab \(engine == .postgres ? "t" : "1")",
                ])
            // The rows are in the database.
            #expect(
                try engine.sql("SELECT key_value FROM htable ORDER BY id").split(separator: "\n") == ["it's", "v2"])
        }

        @Test(arguments: DatabaseDriverTests.engines)
        func connectionsAreCheckedAtStartUp(engine: DatabaseEngine) throws {
            let url = try engine.url()
            // An unknown connection name in a function is a start-up error.
            #expect(throws: (any Error).self) {
                try EmbeddedCore(
                    config: Self.config(engine, url: url, route: "sql_query(\"nosuch\", \"select 1\");"),
                    modulePath: productsDirectory)
            }
            // A server that cannot be reached stops start-up (connect_mode 0) ...
            let down = "\(engine.rawValue)://u:p@127.0.0.1:\(freeUDPPort())/kamailio"
            #expect(throws: (any Error).self) {
                try EmbeddedCore(config: Self.config(engine, url: down, route: ""), modulePath: productsDirectory)
            }
            // ... or, with connect_mode 1, makes the queries fail.
            let core = try EmbeddedCore(
                config: Self.config(
                    engine, url: down, extra: "modparam(\"sqlops\", \"connect_mode\", 1)",
                    route: "sql_query(\"ca\", \"select 1\", \"r\"); append_to_reply(\"X-Down: $rc\\r\\n\");"),
                modulePath: productsDirectory)
            defer { core.shutdown() }
            #expect(headers(core) == ["X-Down: -1"])
        }
    }
}
