import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

extension DatabaseSuites {
    /// permissions' `allow_trusted` on Kamailio's trusted table (PostgreSQL and MariaDB), with
    /// the cache (`db_mode` 1) and without (0), and the trusted RPCs.
    @Suite struct PermissionsTrustedTests {
        static let engines = DatabaseEngine.allCases.filter(\.isInstalled)
        static let cases = engines.flatMap { e in [(e, 0), (e, 1)] }

        /// The rows the tests use (also by the Kamailio interop test).
        static let rows = """
            INSERT INTO trusted (src_ip, proto, from_pattern, ruri_pattern, tag, priority) VALUES
            ('192.0.2.10', 'any', NULL, NULL, 'any-peer', 0),
            ('192.0.2.20', 'udp', '^sip:alice@', NULL, 'alice-only', 10),
            ('192.0.2.20', 'tcp', NULL, NULL, 'tcp-peer', 0),
            ('192.0.2.30', 'any', NULL, 'sip:.*@example[.]com', 'ruri', 0),
            ('192.0.2.40', 'none', NULL, NULL, 'skipped', 0);
            """

        static func table(_ engine: DatabaseEngine) throws {
            try engine.createSchema(["version", "trusted"])
            try engine.sql(rows)
        }

        static let route = """
            allow_trusted(); append_to_reply("X-T: $rc $avp(tag)\\r\\n");
            allow_trusted("$hdr(X-IP)", "$hdr(X-Proto)"); append_to_reply("X-T2: $rc\\r\\n");
            allow_trusted("$hdr(X-IP)", "any", "sip:bob@x"); append_to_reply("X-T3: $rc\\r\\n");
            """

        static func request(
            uri: String = "sip:x@example.com", from: String, ip: String = "0.0.0.0", proto: String = "udp"
        )
            -> String
        {
            DBModuleTestCore.request(uri: uri, from: from).replacingOccurrences(
                of: "Max-Forwards: 70", with: "Max-Forwards: 70\r\nX-IP: \(ip)\r\nX-Proto: \(proto)")
        }

        static func core(_ engine: DatabaseEngine, dbMode: Int, tagMode: Int = 0) throws -> DBModuleTestCore {
            try DBModuleTestCore(
                engine, module: "permissions",
                params: """
                    modparam("permissions", "db_mode", \(dbMode))
                    modparam("permissions", "peer_tag_avp", "$avp(tag)")
                    modparam("permissions", "peer_tag_mode", \(tagMode))
                    modparam("permissions", "reload_delta", 0)
                    modparam("permissions", "load_backends", 2)
                    """, route: route)
        }

        @Test(arguments: cases) func allowTrusted(_ engine: DatabaseEngine, _ dbMode: Int) throws {
            try Self.table(engine)
            let c = try Self.core(engine, dbMode: dbMode)
            defer { c.shutdown() }
            var h = c.run(Self.request(from: "sip:bob@a.org"), from: "192.0.2.10:5070")
            #expect(h["X-T"] == ["1 any-peer"])
            h = c.run(Self.request(from: "sip:alice@a.org"), from: "192.0.2.20:5070")
            #expect(h["X-T"] == ["1 alice-only"])
            h = c.run(Self.request(from: "sip:bob@a.org", ip: "192.0.2.20", proto: "tcp"), from: "192.0.2.20:5070")
            #expect(h["X-T"] == ["-1 <null>"])
            #expect(h["X-T2"] == ["1"])
            #expect(h["X-T3"] == ["1"])
            h = c.run(Self.request(from: "sip:bob@a.org", ip: "192.0.2.20", proto: "foo"), from: "192.0.2.30:5070")
            #expect(h["X-T"] == ["1 ruri"])
            #expect(h["X-T2"] == ["-1"])
            h = c.run(Self.request(uri: "sip:x@example.org", from: "sip:bob@a.org"), from: "192.0.2.30:5070")
            #expect(h["X-T"] == ["-1 <null>"])
            h = c.run(Self.request(from: "sip:bob@a.org", ip: "192.0.2.40", proto: "any"), from: "192.0.2.40:5070")
            #expect(h["X-T"] == ["-1 <null>"])
            #expect(h["X-T2"] == ["-1"])

            // A new row: read at once without the cache, after trustedReload with it.
            try engine.sql("INSERT INTO trusted (src_ip, proto, tag) VALUES ('192.0.2.50', 'udp', 'new');")
            h = c.run(Self.request(from: "sip:bob@a.org"), from: "192.0.2.50:5070")
            #expect(h["X-T"] == [dbMode == 0 ? "1 new" : "-1 <null>"])
            if dbMode == 0 {
                #expect(c.rpc("permissions.trustedReload") == .failure(RPCError(500, "Reload failed.")))
                #expect(c.rpc("permissions.trustedDump") == .failure(RPCError(500, "No trusted table")))
            } else {
                #expect(try c.rpc("permissions.trustedReload").get() == .string("Reload OK"))
                #expect(c.run(Self.request(from: "sip:bob@a.org"), from: "192.0.2.50:5070")["X-T"] == ["1 new"])
                let dump = try c.rpc("permissions.trustedDump").get()
                guard case .object(let members) = dump else {
                    Issue.record("trustedDump is not a struct")
                    return
                }
                let items = members.filter { $0.0 == "item" }.map(\.1)
                #expect(items.count == 5)
                // One bucket: priority 10 before 0.
                #expect(
                    items.filter { $0["ip"] == .string("192.0.2.20") }.map { $0["tag"] }
                        == [.string("alice-only"), .string("tcp-peer")])
                #expect(
                    items.first { $0["ip"] == .string("192.0.2.30") }
                        == .object([
                            ("ip", .string("192.0.2.30")), ("proto", .int(0)), ("pattern", .string("NULL")),
                            ("ruri_pattern", .string("sip:.*@example[.]com")), ("tag", .string("ruri")),
                            ("priority", .int(0)),
                        ]))
            }
        }

        @Test(arguments: engines) func startUpChecks(_ engine: DatabaseEngine) throws {
            try Self.table(engine)
            func starts(_ params: String) -> Bool {
                guard let c = try? DBModuleTestCore(engine, module: "permissions", params: params, route: "") else {
                    return false
                }
                c.shutdown()
                return true
            }
            #expect(starts("modparam(\"permissions\", \"load_backends\", 2)"))
            // The address table is missing, no backend, a db_mode that does not exist.
            #expect(!starts(""))
            #expect(!starts("modparam(\"permissions\", \"load_backends\", 0)"))
            #expect(
                !starts("modparam(\"permissions\", \"load_backends\", 2)\nmodparam(\"permissions\", \"db_mode\", 2)"))
            // An old trusted table version (with and without the cache).
            try engine.sql("UPDATE version SET table_version = 5 WHERE table_name = 'trusted';")
            #expect(!starts("modparam(\"permissions\", \"load_backends\", 2)"))
            #expect(
                !starts("modparam(\"permissions\", \"load_backends\", 2)\nmodparam(\"permissions\", \"db_mode\", 1)"))
        }

        @Test(arguments: engines) func peerTagModeCountsEveryMatch(_ engine: DatabaseEngine) throws {
            try Self.table(engine)
            let c = try Self.core(engine, dbMode: 1, tagMode: 1)
            defer { c.shutdown() }
            let route = c.run(Self.request(from: "sip:alice@a.org", ip: "192.0.2.20", proto: "any"))
            #expect(route["X-T2"] == ["2"])
            #expect(route["X-T3"] == ["1"])
        }
    }
}
