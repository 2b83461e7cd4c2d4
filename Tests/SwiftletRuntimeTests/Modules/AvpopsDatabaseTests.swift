import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

extension DatabaseSuites {
    /// avpops' DB functions on the embedded core against the private PostgreSQL and MariaDB
    /// servers, on Kamailio's `usr_preferences` table.
    @Suite struct AvpopsDatabaseTests {
        static func config(_ engine: DatabaseEngine, url: String, route: String) -> String {
            """
            log_stderror=yes
            debug=-1
            listen=udp:127.0.0.1:5060
            loadmodule "sl.so"
            loadmodule "textops.so"
            loadmodule "\(engine.module).so"
            loadmodule "avpops.so"
            modparam("avpops", "db_url", "\(url)")
            modparam("avpops", "avp_table", "usr_preferences")
            modparam("avpops", "db_scheme", "pref:table=usr_preferences;uuid_col=uuid;value_col=value")
            request_route {
                $var(r) = "";
            \(route)
                append_to_reply("X-R:$var(r)\\r\\n");
                sl_send_reply("200", "OK");
            }
            """
        }

        static func rc(_ call: String) -> String { AvpopsModuleTests.rc(call) }
        static func show(_ format: String) -> String { AvpopsModuleTests.show(format) }

        func run(_ engine: DatabaseEngine, _ route: [String]) throws -> (String?, [String]) {
            let core = try EmbeddedCore(
                config: Self.config(engine, url: try engine.url(), route: route.joined(separator: "\n")),
                modulePath: productsDirectory)
            core.receive(ScriptHarness.request(), from: "127.0.0.1:5070")
            let lines = core.takeSent().last?.text.components(separatedBy: "\r\n") ?? []
            return (
                lines.first { $0.hasPrefix("X-R:") }.map { String($0.dropFirst(4)) },
                lines.filter { $0.hasPrefix("X-S: ") }.map { String($0.dropFirst(5)) }
            )
        }

        @Test(arguments: DatabaseDriverTests.engines)
        func storeLoadAndDeleteRoundTrip(engine: DatabaseEngine) throws {
            try engine.createSchema(["version", "usr_preferences"])
            let (r, shows) = try run(
                engine,
                [
                    "    $avp(email) = \"bob@mail.example\"; $avp(i:10) = 42; $avp(color) = \"blue\";",
                    Self.rc("avp_db_store(\"$fu\", \"$avp(email)\")"),
                    Self.rc("avp_db_store(\"$fu\", \"$avp(email)\")"),
                    Self.rc("avp_db_store(\"$fu/username\", \"$avp(i:10)\")"),
                    Self.rc("avp_db_store(\"uuid-7\", \"s\")"),
                    Self.rc("avp_delete(\"a\")"),
                    Self.rc("avp_db_load(\"$fu\", \"$avp(email)\")"), Self.rc("avp_db_load(\"$fu/username\", \"i\")"),
                    Self.rc("avp_db_load(\"uuid-7\", \"a\")"),
                    Self.show("$avp(email) $avp(i:10) $avp(color)"),
                    "    if ($avp(i:10) == 42) { $var(r) = $var(r) + \" int\"; }",
                    Self.rc("avp_db_load(\"$fu\", \"$avp(nothing)\")"),
                    Self.rc("avp_db_load(\"$ru\", \"$avp(email)\")"),
                    Self.rc("avp_db_load(\"uuid-7\", \"$avp(colors)/$pref\")"), Self.show("$avp(colors)"),
                    Self.rc("avp_db_delete(\"$fu\", \"$avp(email)\")"), "    avp_delete(\"$avp(email)/g\");",
                    Self.rc("avp_db_load(\"$fu\", \"$avp(email)\")"),
                ])
            #expect(r == " 1 -1 1 1 1 1 1 1 int -1 -1 1 1 -1")
            #expect(shows == ["bob@mail.example 42 blue", "blue"])
            // Kamailio's row for an integer name and value: type 3, the number as text.
            let row = try engine.sql("select type, value, username from usr_preferences where attribute='10'")
            #expect(row.contains("3") && row.contains("42") && row.contains("bob"))
        }

        @Test(arguments: DatabaseDriverTests.engines)
        func queryResultsBecomeAVPs(engine: DatabaseEngine) throws {
            try engine.createSchema(["version", "usr_preferences"])
            _ = try engine.sql(
                """
                insert into usr_preferences (uuid, username, domain, attribute, type, value) values
                ('u1', 'bob', '', 'a', 0, 'x'), ('u1', 'bob', '', 'b', 1, '7'), ('u2', 'eve', '', 'c', 0, 'y');
                """)
            let (r, shows) = try run(
                engine,
                [
                    "    $var(u) = \"u\";",
                    Self.rc(
                        "avp_db_query(\"select value, type from usr_preferences where uuid='$var(u)1' order by attribute\", \"$avp(v);$avp(t)\")"
                    ),
                    Self.show("$(avp(v)[*]) | $(avp(t)[*])"),
                    Self.rc("avp_db_query(\"select attribute, type from usr_preferences where uuid='u2'\")"),
                    Self.show("$avp(i:1) $avp(i:2)"),
                    Self.rc("avp_db_query(\"select value from usr_preferences where uuid='none'\")"),
                    Self.rc("avp_db_query(\"select value from no_such_table\")"),
                    Self.rc("avp_db_load(\"$fu/username\", \"a\")"), Self.show("$avp(a) $avp(b)"),
                ])
            #expect(r == " 1 1 -2 -1 1")
            #expect(shows == ["x, 7 | 0, 1", "c 0", "x 7"])
        }
    }
}
