import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

extension DatabaseSuites {
    /// alias_db's `alias_db_lookup` and `alias_db_find` against Kamailio's dbaliases table on
    /// PostgreSQL and MariaDB.
    @Suite struct AliasDBDatabaseTests {
        static let engines = DatabaseEngine.allCases.filter(\.isInstalled)

        /// The rows the tests use (also by the Kamailio interop test).
        static let rows = """
            INSERT INTO dbaliases (alias_username, alias_domain, username, domain) VALUES
            ('sales', 'example.com', 'alice', 'example.com'),
            ('sales', 'example.com', 'bob', 'example.org'),
            ('support', 'other.org', 'carol', 'other.org');
            """

        static func table(_ engine: DatabaseEngine) throws {
            try engine.createSchema(["version", "dbaliases"])
            try engine.sql(rows)
        }

        static let route = """
            if ($rU == "find") {
                alias_db_find("dbaliases", "$fu", "$avp(alias)", "r");
                $var(rc) = $rc;
                append_to_reply("X-Alias: $(avp(alias)[*])\\r\\n");
            } else if ($rU == "findvar") {
                alias_db_find("dbaliases", "$fu", "$var(alias)");
                $var(rc) = $rc;
                append_to_reply("X-Alias: $var(alias)\\r\\n");
            } else if ($hdr(X-Flags) == "d") {
                alias_db_lookup("dbaliases", "d");
                $var(rc) = $rc;
            } else {
                alias_db_lookup("dbaliases");
                $var(rc) = $rc;
            }
            append_to_reply("X-RC: $var(rc)\\r\\n");
            append_to_reply("X-RU: $ru\\r\\n");
            append_to_reply("X-Branches: $bR\\r\\n");
            """

        @Test(arguments: engines) func lookupAndFind(_ engine: DatabaseEngine) throws {
            try Self.table(engine)
            let c = try DBModuleTestCore(
                engine, module: "alias_db",
                params: """
                    modparam("alias_db", "use_domain", 1)
                    modparam("alias_db", "append_branches", 1)
                    """, route: Self.route)
            defer { c.shutdown() }
            // Two aliases: the first rewrites the R-URI, the other is a new branch.
            var h = c.run(DBModuleTestCore.request(uri: "sip:sales@example.com"))
            #expect(h["X-RC"] == ["1"])
            // The branch has q=0 (append_branch with MIN_Q).
            let ru = h["X-RU"]?.first ?? ""
            let other = ru == "sip:alice@example.com" ? "sip:bob@example.org" : "sip:alice@example.com"
            #expect(["sip:alice@example.com", "sip:bob@example.org"].contains(ru))
            #expect(h["X-Branches"] == ["<\(other)>;q=0"])
            // use_domain: another domain has no alias.
            h = c.run(DBModuleTestCore.request(uri: "sip:sales@other.org"))
            #expect(h["X-RC"] == ["-1"])
            #expect(h["X-RU"] == ["sip:sales@other.org"])
            h = c.run(DBModuleTestCore.request(uri: "sip:support@other.org"))
            #expect(h["X-RC"] == ["1"])
            #expect(h["X-RU"] == ["sip:carol@other.org"])
            // Reverse lookup into an AVP: every alias of carol.
            h = c.run(DBModuleTestCore.request(uri: "sip:find@example.com", from: "sip:carol@other.org"))
            #expect(h["X-RC"] == ["1"])
            #expect(h["X-Alias"] == ["sip:support@other.org"])
            h = c.run(DBModuleTestCore.request(uri: "sip:find@example.com", from: "sip:nobody@other.org"))
            #expect(h["X-RC"] == ["-1"])
            // Into a $var: the alias of sales@example.com (the last of them, with append_branches).
            h = c.run(DBModuleTestCore.request(uri: "sip:findvar@example.com", from: "sip:support@other.org"))
            #expect(h["X-RC"] == ["1"])
            #expect(h["X-Alias"] == ["sip:carol@other.org"])
        }

        @Test(arguments: engines) func flagsAndDomainPrefix(_ engine: DatabaseEngine) throws {
            try Self.table(engine)
            let c = try DBModuleTestCore(
                engine, module: "alias_db",
                params: """
                    modparam("alias_db", "use_domain", 1)
                    modparam("alias_db", "domain_prefix", "sip.")
                    """, route: Self.route)
            defer { c.shutdown() }
            // domain_prefix is stripped; without append_branches only the first alias is used.
            var h = c.run(DBModuleTestCore.request(uri: "sip:support@sip.other.org"))
            #expect(h["X-RC"] == ["1"])
            #expect(h["X-RU"] == ["sip:carol@other.org"])
            h = c.run(DBModuleTestCore.request(uri: "sip:sales@example.com"))
            #expect(h["X-RC"] == ["1"])
            #expect(h["X-Branches"] == ["<null>"])
            // Flag d: the domain is not compared.
            var r = DBModuleTestCore.request(uri: "sip:support@example.net")
            #expect(c.run(r)["X-RC"] == ["-1"])
            r = r.replacingOccurrences(of: "Max-Forwards: 70", with: "Max-Forwards: 70\r\nX-Flags: d")
            h = c.run(r)
            #expect(h["X-RC"] == ["1"])
            #expect(h["X-RU"] == ["sip:carol@other.org"])
        }

        @Test func unknownFlagIsRefused() throws {
            let errors = ScriptHarness.errors(
                """
                loadmodule "db_postgres.so"
                loadmodule "alias_db.so"
                modparam("alias_db", "db_url", "postgres://u:p@127.0.0.1/k")
                request_route { alias_db_lookup("dbaliases", "x"); }
                """)
            #expect(errors.contains { $0.contains("unsupported flag 'x'") }, "\(errors)")
        }
    }
}
