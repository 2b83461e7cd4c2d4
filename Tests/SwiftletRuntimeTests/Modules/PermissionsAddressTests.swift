import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

extension DatabaseSuites {
    /// permissions' address functions and RPCs on Kamailio's address table (PostgreSQL and
    /// MariaDB): single addresses, subnets, names, groups, ports, tags, reload.
    @Suite struct PermissionsAddressTests {
        static let engines = DatabaseEngine.allCases.filter(\.isInstalled)

        /// The rows the tests use (also by the Kamailio interop test).
        static let rows = """
            INSERT INTO address (grp, ip_addr, mask, port, tag) VALUES
            (1, '192.0.2.10', 32, 0, 'peer-a'),
            (1, '10.0.0.0', 8, 5060, 'net-10'),
            (2, '198.51.100.7', 0, 5070, NULL),
            (3, 'gw.example.com', 0, 0, 'gw'),
            (2, '2001:db8::1', 128, 0, 'v6');
            """

        static func table(_ engine: DatabaseEngine) throws {
            try engine.createSchema(["version", "address"])
            try engine.sql(rows)
        }

        static let route = """
            allow_source_address(); append_to_reply("X-Src: $rc $avp(tag)\\r\\n");
            allow_source_address("2"); append_to_reply("X-Src2: $rc\\r\\n");
            allow_source_address_group(); append_to_reply("X-Group: $rc\\r\\n");
            allow_address("1", "$hdr(X-IP)", "$(hdr(X-Port){s.int})"); append_to_reply("X-Addr: $rc\\r\\n");
            allow_address_group("$hdr(X-IP)", "$(hdr(X-Port){s.int})"); append_to_reply("X-AddrGroup: $rc\\r\\n");
            """

        static func request(ip: String, port: Int) -> String {
            DBModuleTestCore.request(uri: "sip:bob@example.com").replacingOccurrences(
                of: "Max-Forwards: 70", with: "Max-Forwards: 70\r\nX-IP: \(ip)\r\nX-Port: \(port)")
        }

        @Test(arguments: engines) func addressFunctions(_ engine: DatabaseEngine) throws {
            try Self.table(engine)
            let c = try DBModuleTestCore(
                engine, module: "permissions",
                params: """
                    modparam("permissions", "peer_tag_avp", "$avp(tag)")
                    modparam("permissions", "load_backends", 1)
                    """,
                route: Self.route)
            defer { c.shutdown() }
            var h = c.run(Self.request(ip: "10.1.2.3", port: 5060), from: "192.0.2.10:5070")
            #expect(h["X-Src"] == ["1 peer-a"])
            #expect(h["X-Src2"] == ["-1"])
            #expect(h["X-Group"] == ["1"])
            #expect(h["X-Addr"] == ["1"])
            #expect(h["X-AddrGroup"] == ["1"])
            h = c.run(Self.request(ip: "gw.example.com", port: 5), from: "198.51.100.7:5070")
            #expect(h["X-Src"] == ["-1 <null>"])
            #expect(h["X-Src2"] == ["1"])
            #expect(h["X-Group"] == ["2"])
            #expect(h["X-Addr"] == ["-1"])
            #expect(h["X-AddrGroup"] == ["3"])
            // Ports: 5070 only for 198.51.100.7, 5060 only for 10/8.
            h = c.run(Self.request(ip: "10.1.2.3", port: 5061), from: "198.51.100.7:5071")
            #expect(h["X-Src2"] == ["-1"])
            #expect(h["X-Group"] == ["-1"])
            #expect(h["X-Addr"] == ["-1"])
            #expect(h["X-AddrGroup"] == ["-1"])
            h = c.run(Self.request(ip: "2001:db8:0::1", port: 9), from: "203.0.113.5:5060")
            #expect(h["X-AddrGroup"] == ["2"])
            #expect(h["X-Src"] == ["-1 <null>"])

            // The dumps.
            guard case .array(let addresses) = try c.rpc("permissions.addressDump").get() else {
                Issue.record("addressDump is not an array")
                return
            }
            func text(_ v: RPCValue?) -> String {
                switch v {
                case .string(let s)?: s
                case .int(let i)?: String(i)
                default: "?"
                }
            }
            #expect(
                Set(
                    addresses.map {
                        "\(text($0["group"])) \(text($0["item"]?["ip"])) \(text($0["item"]?["port"])) \(text($0["item"]?["tag"]))"
                    })
                    == ["1 192.0.2.10 0 peer-a", "2 198.51.100.7 5070 NULL", "2 2001:db8::1 0 v6"])
            #expect(
                try c.rpc("permissions.subnetDump").get()
                    == .array([
                        .object([
                            ("id", .int(0)), ("group", .int(1)),
                            (
                                "item",
                                .object([
                                    ("ip", .string("10.0.0.0")), ("mask", .int(8)), ("port", .int(5060)),
                                    ("tag", .string("net-10")),
                                ])
                            ),
                        ])
                    ]))
            let domains = try c.rpc("permissions.domainDump").get()
            #expect(domains["group"] == .int(3))
            #expect(
                domains["item"]
                    == .object([("domain_name", .string("gw.example.com")), ("port", .int(0)), ("tag", .string("gw"))]))

            // A new row counts after permissions.addressReload; a second reload within
            // reload_delta is refused.
            try engine.sql("INSERT INTO address (grp, ip_addr, mask, port) VALUES (1, '203.0.113.5', 32, 0);")
            #expect(c.run(Self.request(ip: "x", port: 0), from: "203.0.113.5:5060")["X-Src"] == ["-1 <null>"])
            #expect(try c.rpc("permissions.addressReload").get() == .string("Reload OK"))
            #expect(c.run(Self.request(ip: "x", port: 0), from: "203.0.113.5:5060")["X-Src"] == ["1 <null>"])
            #expect(c.rpc("permissions.addressReload") == .failure(RPCError(500, "ongoing reload")))
        }

        @Test(arguments: engines) func addressFileInsteadOfTheTable(_ engine: DatabaseEngine) throws {
            let dir = TemporaryDirectory()
            let file = dir.path + "/address.list"
            try """
            # group address mask port tag
            1 192.0.2.10
            2 10.0.0.0 8 0 lan
            3 gw.example.com 0 5060
            """.write(toFile: file, atomically: true, encoding: .utf8)
            try Self.table(engine)
            let c = try DBModuleTestCore(
                engine, module: "permissions",
                params: """
                    modparam("permissions", "address_file", "\(file)")
                    modparam("permissions", "load_backends", 1)
                    modparam("permissions", "peer_tag_avp", "$avp(tag)")
                    """, route: Self.route)
            defer { c.shutdown() }
            var h = c.run(Self.request(ip: "gw.example.com", port: 5060), from: "192.0.2.10:5070")
            #expect(h["X-Src"] == ["1 <null>"])
            #expect(h["X-AddrGroup"] == ["3"])
            h = c.run(Self.request(ip: "10.9.9.9", port: 1), from: "10.1.1.1:5070")
            #expect(h["X-Src"] == ["-1 <null>"])
            #expect(h["X-Group"] == ["2"])
            #expect(h["X-AddrGroup"] == ["2"])
        }
    }
}
