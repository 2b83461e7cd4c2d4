import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

extension DatabaseSuites {
    /// domain, permissions, alias_db and speeddial in Swiftlet and in Kamailio 5.6.3 on the
    /// same tables: the same requests get the same return codes and values.
    @Suite struct DBModulesKamailioInteropTests {
        static let engines = DatabaseKamailioInteropTests.engines

        static let route = """
            is_domain_local("$hdr(X-D)"); append_to_reply("X-Dom: $rc\\r\\n");
            lookup_domain("$hdr(X-D)", "d_"); append_to_reply("X-Lookup: $rc $avp(d_did) $avp(d_rate) $avp(d_label)\\r\\n");
            is_from_local(); append_to_reply("X-From: $rc\\r\\n");
            allow_address("1", "$hdr(X-IP)", "$(hdr(X-Port){s.int})"); append_to_reply("X-Addr: $rc $avp(tag)\\r\\n");
            allow_address_group("$hdr(X-IP)", "$(hdr(X-Port){s.int})"); append_to_reply("X-Group: $rc\\r\\n");
            allow_trusted("$hdr(X-IP)", "$hdr(X-Proto)"); append_to_reply("X-Trusted: $rc $avp(tag)\\r\\n");
            alias_db_find("dbaliases", "$ru", "$avp(alias)"); append_to_reply("X-Alias: $rc $avp(alias)\\r\\n");
            alias_db_lookup("dbaliases", "r"); append_to_reply("X-Reverse: $rc $ru\\r\\n");
            sd_lookup("speed_dial"); append_to_reply("X-SD: $rc $ru\\r\\n");
            sl_send_reply("200", "OK");
            """

        static let modules = """
            loadmodule "domain.so"
            loadmodule "permissions.so"
            loadmodule "alias_db.so"
            loadmodule "speeddial.so"
            modparam("domain", "db_url", "URL")
            modparam("permissions", "db_url", "URL")
            modparam("permissions", "db_mode", 1)
            modparam("permissions", "peer_tag_avp", "$avp(tag)")
            modparam("alias_db", "db_url", "URL")
            modparam("alias_db", "use_domain", 1)
            modparam("speeddial", "db_url", "URL")
            """

        /// (Request-URI, From URI, X-D, X-IP, X-Port, X-Proto)
        static let cases: [(String, String, String, String, Int, String)] = [
            ("sip:1@example.com", "sip:alice@example.com", "example.com", "192.0.2.10", 5060, "udp"),
            ("sip:sales@example.com", "sip:bob@other.org", "SIP.example.COM", "10.1.2.3", 5060, "tcp"),
            ("sip:support@other.org", "sip:carol@nowhere.net", "other.org", "198.51.100.7", 5070, "any"),
            ("sip:2@example.com", "sip:alice@example.com", "nowhere.net", "gw.example.com", 1, "udp"),
            ("sip:carol@other.org", "sip:alice@a.org", "x", "192.0.2.20", 5060, "tcp"),
            ("sip:x@example.com", "sip:alice@a.org", "example.com", "192.0.2.30", 5060, "any"),
            ("sip:x@example.org", "sip:alice@a.org", "example.com", "192.0.2.40", 5060, "any"),
            ("sip:x@example.org", "sip:alice@a.org", "example.com", "2001:db8::1", 0, "sctp"),
        ]

        @Test(arguments: engines) func sameAnswersAsKamailio(_ engine: DatabaseEngine) throws {
            try engine.createSchema([
                "version", "speed_dial", "dbaliases", "domain", "domain_attrs", "address", "trusted",
            ])
            for rows in [
                SpeeddialDatabaseTests.rows, AliasDBDatabaseTests.rows, DomainDatabaseTests.rows,
                PermissionsAddressTests.rows, PermissionsTrustedTests.rows,
            ] {
                try engine.sql(rows)
            }
            let url = try engine.url()
            let modules = Self.modules.replacingOccurrences(of: "URL", with: url)
            let rpcDirectory = TemporaryDirectory()
            let rpcSocket = rpcDirectory.path + "/kamailio.sock"
            let kamailio = try KamailioTestServer(
                config: """
                    debug=2
                    log_stderror=yes
                    children=1
                    listen=udp:127.0.0.1:PORT
                    mpath="\(kamailioModules)"
                    loadmodule "\(engine.module).so"
                    loadmodule "sl.so"
                    loadmodule "pv.so"
                    loadmodule "textops.so"
                    loadmodule "jsonrpcs.so"
                    modparam("jsonrpcs", "transport", 4)
                    modparam("jsonrpcs", "dgram_socket", "\(rpcSocket)")
                    \(modules)
                    request_route {
                    \(Self.route)
                    }
                    """)
            defer { kamailio.stop() }
            let swiftlet = try EmbeddedCore(
                config: """
                    listen=udp:127.0.0.1:5060
                    loadmodule "\(engine.module).so"
                    loadmodule "sl.so"
                    loadmodule "pv.so"
                    loadmodule "textops.so"
                    \(modules)
                    request_route {
                    \(Self.route)
                    }
                    """, modulePath: productsDirectory)
            defer { swiftlet.shutdown() }
            let ua = SIPSocketParty(user: "alice")
            let names = [
                "X-Dom", "X-Lookup", "X-From", "X-Addr", "X-Group", "X-Trusted", "X-Alias", "X-Reverse", "X-SD",
            ]
            for (n, c) in Self.cases.enumerated() {
                let lines = [
                    "OPTIONS \(c.0) SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:\(ua.port);branch=z9hG4bK-i\(n)",
                    "From: <\(c.1)>;tag=i\(n)", "To: <\(c.0)>", "Call-ID: dbmods-\(n)", "CSeq: 1 OPTIONS",
                    "X-D: \(c.2)", "X-IP: \(c.3)", "X-Port: \(c.4)", "X-Proto: \(c.5)", "Content-Length: 0",
                ]
                ua.send(lines, to: kamailio.port)
                let k = try ua.expect("SIP/2.0 200", timeout: 5)
                swiftlet.receive(lines.joined(separator: "\r\n") + "\r\n\r\n", from: "127.0.0.1:\(ua.port)")
                let sent = swiftlet.takeSent().first?.text ?? ""
                for name in names {
                    let mine = sent.split(separator: "\r\n").filter { $0.hasPrefix(name + ":") }.map {
                        String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces)
                    }
                    #expect(mine == k.headers(name), "case \(n) \(name)\n\(kamailio.log.suffix(1500))")
                }
            }
            // The dumps: the same JSON (members in the same order, hash buckets included).
            for method in [
                "permissions.addressDump", "permissions.subnetDump", "permissions.domainDump",
                "permissions.trustedDump", "domain.dump",
            ] {
                let theirs = try Self.kamailioRPC(rpcSocket, method)
                let mine = try swiftlet.context.rpcs.call(RPCRequest(method: method, params: [])).get()
                #expect(Self.json(mine) == theirs, "\(method)")
            }
        }

        /// The `result` of a Kamailio RPC through its jsonrpcs datagram socket (swiftletctl
        /// speaks that protocol), as compact JSON.
        static func kamailioRPC(_ socket: String, _ method: String) throws -> String {
            let r = try runProgram(productsDirectory + "/swiftletctl", ["-s", socket, method])
            // Kamailio separates array elements with ", " (no value here holds one).
            let text = r.stdout.replacingOccurrences(of: "\n", with: "").replacingOccurrences(of: "\t", with: "")
                .replacingOccurrences(of: ", ", with: ",")
            guard let start = text.range(of: "\"result\":"), let end = text.range(of: ",\"id\":", options: .backwards)
            else { return text }
            return String(text[start.upperBound..<end.lowerBound])
        }

        /// An RPC value as compact JSON (struct members in order, repeated names kept).
        static func json(_ v: RPCValue) -> String {
            switch v {
            case .null: "null"
            case .bool(let b): b ? "true" : "false"
            case .int(let i): String(i)
            case .double(let d): String(d)
            case .string(let s):
                "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                    + "\""
            case .array(let a): "[" + a.map(json).joined(separator: ",") + "]"
            case .object(let o): "{" + o.map { json(.string($0.0)) + ":" + json($0.1) }.joined(separator: ",") + "}"
            }
        }
    }
}
