import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

extension DatabaseSuites {
    /// speeddial's `sd_lookup` against Kamailio's speed_dial table on PostgreSQL and MariaDB.
    @Suite struct SpeeddialDatabaseTests {
        static let engines = DatabaseEngine.allCases.filter(\.isInstalled)

        /// The rows the tests use (also by the Kamailio interop test).
        static let rows = """
            INSERT INTO speed_dial (username, domain, sd_username, sd_domain, new_uri) VALUES
            ('alice', 'example.com', '1', 'example.com', 'sip:bob@example.org'),
            ('alice', 'example.com', '2', '', 'carol@example.net'),
            ('dave', 'other.org', '1', 'other.org', 'sip:eve@other.org');
            """

        static func table(_ engine: DatabaseEngine) throws {
            try engine.createSchema(["version", "speed_dial"])
            try engine.sql(rows)
        }

        static let route = """
            if ($fU == "owner") {
                sd_lookup("speed_dial", "sip:dave@other.org");
                $var(rc) = $rc;
            } else {
                sd_lookup("speed_dial");
                $var(rc) = $rc;
            }
            append_to_reply("X-RC: $var(rc)\\r\\n");
            append_to_reply("X-RU: $ru\\r\\n");
            """

        @Test(arguments: engines) func sdLookupRewritesTheRequestURI(_ engine: DatabaseEngine) throws {
            try Self.table(engine)
            let c = try DBModuleTestCore(engine, module: "speeddial", params: "", route: Self.route)
            defer { c.shutdown() }
            func run(_ uri: String, from: String = "sip:alice@example.com") -> [String] {
                let h = c.run(DBModuleTestCore.request(uri: uri, from: from))
                return [h["X-RC"]?.first ?? "", h["X-RU"]?.first ?? ""]
            }
            #expect(run("sip:1@example.com") == ["1", "sip:bob@example.org"])
            // `sip:` is put in front of a new_uri without it.
            #expect(run("sip:2@example.com") == ["1", "sip:carol@example.net"])
            #expect(run("sip:3@example.com") == ["-1", "sip:3@example.com"])
            // use_domain 0: the owner's domain does not matter.
            #expect(run("sip:1@x.org", from: "sip:dave@elsewhere.net") == ["1", "sip:eve@other.org"])
            #expect(run("sip:1@x.org", from: "sip:owner@x.org") == ["1", "sip:eve@other.org"])
            // A new row is used by the next request (no cache).
            try engine.sql(
                "INSERT INTO speed_dial (username, domain, sd_username, sd_domain, new_uri) VALUES ('alice', 'example.com', '3', '', 'sip:zoe@example.com');"
            )
            #expect(run("sip:3@example.com") == ["1", "sip:zoe@example.com"])
        }

        @Test(arguments: engines) func useDomainAndDomainPrefix(_ engine: DatabaseEngine) throws {
            try Self.table(engine)
            let c = try DBModuleTestCore(
                engine, module: "speeddial",
                params: """
                    modparam("speeddial", "use_domain", 2)
                    modparam("speeddial", "domain_prefix", "sip.")
                    """, route: Self.route)
            defer { c.shutdown() }
            func run(_ uri: String, from: String) -> String? {
                c.run(DBModuleTestCore.request(uri: uri, from: from))["X-RC"]?.first
            }
            #expect(run("sip:1@sip.example.com", from: "sip:alice@sip.example.com") == "1")
            #expect(run("sip:1@example.com", from: "sip:alice@example.com") == "1")
            // The owner's domain and the dialled domain are compared.
            #expect(run("sip:1@example.com", from: "sip:alice@other.org") == "-1")
            #expect(run("sip:2@example.com", from: "sip:alice@example.com") == "-1")
            #expect(run("sip:1@other.org", from: "sip:dave@other.org") == "1")
        }
    }
}
