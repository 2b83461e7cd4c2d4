import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

extension DatabaseSuites {
    /// The domain module's functions and RPCs on Kamailio's domain and domain_attrs tables
    /// (PostgreSQL and MariaDB).
    @Suite struct DomainDatabaseTests {
        static let engines = DatabaseEngine.allCases.filter(\.isInstalled)

        /// The rows the tests use (also by the Kamailio interop test).
        static let rows = """
            INSERT INTO domain (domain, did) VALUES ('example.com', 'd1'), ('Sip.Example.com', 'd1');
            INSERT INTO domain (domain) VALUES ('other.org');
            INSERT INTO domain_attrs (did, name, type, value) VALUES
            ('d1', 'rate', 0, '5'), ('d1', 'label', 2, 'Example'), ('other.org', 'x', 2, 'y');
            """

        static func tables(_ engine: DatabaseEngine) throws {
            try engine.createSchema(["version", "domain", "domain_attrs"])
            try engine.sql(rows)
        }

        static let route = """
            is_from_local(); append_to_reply("X-From: $rc\\r\\n");
            is_uri_host_local(); append_to_reply("X-URI: $rc\\r\\n");
            is_domain_local("$hdr(X-D)"); append_to_reply("X-Dom: $rc\\r\\n");
            lookup_domain("$rd", "dom_"); append_to_reply("X-Lookup: $rc\\r\\n");
            append_to_reply("X-Did: $avp(dom_did)\\r\\n");
            append_to_reply("X-Rate: $avp(dom_rate)\\r\\n");
            append_to_reply("X-Label: $avp(dom_label)\\r\\n");
            lookup_domain("$fd"); append_to_reply("X-Plain: $rc $avp(did) $avp(x)\\r\\n");
            if (uri == myself) { append_to_reply("X-Myself: yes\\r\\n"); }
            """

        static func request(uri: String, from: String, domain: String) -> String {
            DBModuleTestCore.request(uri: uri, from: from).replacingOccurrences(
                of: "Max-Forwards: 70", with: "Max-Forwards: 70\r\nX-D: \(domain)")
        }

        @Test(arguments: engines) func functionsAndAttributes(_ engine: DatabaseEngine) throws {
            try Self.tables(engine)
            let c = try DBModuleTestCore(
                engine, module: "domain", params: "modparam(\"domain\", \"register_myself\", 1)", route: Self.route)
            defer { c.shutdown() }
            var h = c.run(
                Self.request(uri: "sip:bob@SIP.EXAMPLE.COM", from: "sip:alice@other.org", domain: "EXAMPLE.com"))
            #expect(h["X-From"] == ["1"])
            #expect(h["X-URI"] == ["1"])
            #expect(h["X-Dom"] == ["1"])
            #expect(h["X-Lookup"] == ["1"])
            #expect(h["X-Did"] == ["d1"])
            #expect(h["X-Rate"] == ["5"])
            #expect(h["X-Label"] == ["Example"])
            // No prefix: `did` and the attribute names themselves; a NULL did is the domain.
            #expect(h["X-Plain"] == ["1 other.org y"])
            #expect(h["X-Myself"] == ["yes"])
            h = c.run(Self.request(uri: "sip:bob@nowhere.net", from: "sip:alice@nowhere.net", domain: "new.net"))
            #expect(h["X-From"] == ["-1"])
            #expect(h["X-URI"] == ["-1"])
            #expect(h["X-Dom"] == ["-1"])
            #expect(h["X-Lookup"] == ["-1"])
            #expect(h["X-Did"] == ["<null>"])
            #expect(h["X-Myself"] == nil)

            // domain.dump: the domains and each did's attribute names (the last loaded first).
            let dump = try c.rpc("domain.dump").get()
            guard case .array(let domains)? = dump["domains"], case .array(let attributes)? = dump["attributes"] else {
                Issue.record("unexpected dump \(dump)")
                return
            }
            func text(_ v: RPCValue?) -> String { if case .string(let s)? = v { s } else { "?" } }
            #expect(
                Set(domains.map { text($0["domain"]) + "=" + text($0["did"]) })
                    == ["example.com=d1", "Sip.Example.com=d1", "other.org=other.org"])
            #expect(
                attributes.first { $0["did"] == .string("d1") }?["attrs"]
                    == .array([.string("label"), .string("rate")]))

            // A new row counts after domain.reload.
            try engine.sql("INSERT INTO domain (domain, did) VALUES ('new.net', 'd2');")
            #expect(
                c.run(Self.request(uri: "sip:bob@x.net", from: "sip:a@x.net", domain: "new.net"))["X-Dom"] == ["-1"])
            #expect(try c.rpc("domain.reload").get() == .null)
            #expect(c.run(Self.request(uri: "sip:bob@x.net", from: "sip:a@x.net", domain: "new.net"))["X-Dom"] == ["1"])
            // A bad row makes the reload fail and keeps the loaded domains.
            try engine.sql("INSERT INTO domain_attrs (did, name, type, value) VALUES ('d2', 'n', 0, 'notanumber');")
            #expect(c.rpc("domain.reload") == .failure(RPCError(400, "Reload of domain tables failed")))
            #expect(c.run(Self.request(uri: "sip:bob@x.net", from: "sip:a@x.net", domain: "new.net"))["X-Dom"] == ["1"])
        }

        @Test(arguments: engines) func tableVersionIsChecked(_ engine: DatabaseEngine) throws {
            try Self.tables(engine)
            try engine.sql("UPDATE version SET table_version = 1 WHERE table_name = 'domain';")
            #expect(throws: (any Error).self) {
                try DBModuleTestCore(engine, module: "domain", params: "", route: "")
            }
        }
    }
}
