import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

extension DatabaseSuites {
    /// auth_db against Kamailio's subscriber table on PostgreSQL and MariaDB (each when installed),
    /// created with scripts/dbschema.sh; HA1 values computed here from RFC 2617.
    @Suite struct AuthDBModuleTests {
        static let engines = DatabaseEngine.allCases.filter(\.isInstalled)

        static func ha1(_ user: String, _ realm: String, _ password: String) -> String {
            MD5.hex(Array("\(user):\(realm):\(password)".utf8))
        }

        /// A fresh subscriber table: alice (password "secret"), carol (ha1b only, for
        /// carol@example.com), dave in another domain, and an rpid column to load.
        static func subscribers(_ engine: DatabaseEngine) throws {
            try engine.createSchema(["version", "subscriber"])
            // An extra column for load_credentials (Kamailio's documentation uses rpid).
            try engine.sql("ALTER TABLE subscriber ADD COLUMN rpid VARCHAR(128) DEFAULT '' NOT NULL;")
            let rows: [(String, String, String, String, String)] = [
                ("alice", "example.com", "secret", ha1("alice", "example.com", "secret"), "<sip:+4912345@example.com>"),
                ("carol", "example.com", "pw", "", ""),
                ("dave", "other.org", "secret", ha1("dave", "example.com", "secret"), ""),
            ]
            for (u, d, p, h, rpid) in rows {
                let ha1b = u == "carol" ? ha1("carol@example.com", "example.com", "pw") : ""
                try engine.sql(
                    "INSERT INTO subscriber (username, domain, password, ha1, ha1b, rpid) VALUES ('\(u)', '\(d)', '\(p)', '\(h)', '\(ha1b)', '\(rpid)');"
                )
            }
        }

        static func harness(_ engine: DatabaseEngine, params: String = "", route: String) throws -> AuthHarness {
            try AuthHarness(
                params: """
                    loadmodule "\(engine.module).so"
                    loadmodule "auth_db.so"
                    modparam("auth_db", "db_url", "\(try engine.url())")
                    modparam("auth_db", "load_credentials", "rpid")

                    """ + params, route: route)
        }

        static let checkRoute = """
            if (!auth_check("$fd", "subscriber", "1")) {
                $avp(rc) = $rc;
                auth_challenge("$fd", "0");
                exit;
            }
            $avp(rc) = $rc;
            consume_credentials();
            sl_send_reply("200", "OK");
            """

        @Test(arguments: engines) func authCheckAgainstTheSubscriberTable(_ engine: DatabaseEngine) throws {
            try Self.subscribers(engine)
            let h = try Self.harness(engine, route: Self.checkRoute)
            let nonce = try h.nonce()
            func run(_ client: DigestClient, method: String = "REGISTER") throws -> (Int?, MessageContext) {
                let auth = client.header(
                    method == "REGISTER" ? "Authorization" : "Proxy-Authorization", method: method,
                    uri: "sip:example.com",
                    nonce: nonce)
                let ctx = try h.run(AuthHarness.request(method: method, headers: [auth], from: client.username)).ctx
                return (AuthHarness.rc(ctx), ctx)
            }
            let (ok, ctx) = try run(h.client)
            #expect(ok == 1)
            #expect(ctx.avps["rpid"] == [.string("<sip:+4912345@example.com>")])
            var wrong = h.client
            wrong.password = "guess"
            #expect(try run(wrong).0 == -2)
            var nobody = h.client
            nobody.username = "mallory"
            #expect(try run(nobody).0 == -3)
            // use_domain 0: dave is found whatever his domain (his HA1 is for example.com).
            var dave = h.client
            dave.username = "dave"
            #expect(try run(dave).0 == 1)
            // A username with a domain uses ha1b.
            var carol = h.client
            carol.username = "carol@example.com"
            carol.password = "pw"
            let auth = carol.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce)
            let r = try h.run(AuthHarness.request(headers: [auth], from: "carol"))
            #expect(AuthHarness.rc(r.ctx) == 1)
        }

        @Test(arguments: engines) func sqlInjectionInTheUsernameFindsNoUser(_ engine: DatabaseEngine) throws {
            try Self.subscribers(engine)
            let h = try Self.harness(engine, route: Self.checkRoute)
            let nonce = try h.nonce()
            for name in ["alice' OR '1'='1", "x'; DELETE FROM subscriber; --", "alice\\' OR 1=1 -- ", "al%"] {
                var evil = h.client
                evil.username = name
                let auth = evil.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce)
                let r = try h.run(AuthHarness.request(headers: [auth], from: "alice"))
                #expect(AuthHarness.rc(r.ctx) == -3, "\(name)")
            }
            // The table is intact: alice still authenticates.
            let auth = h.client.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce)
            #expect(AuthHarness.rc(try h.run(AuthHarness.request(headers: [auth])).ctx) == 1)
            #expect(try engine.sql("SELECT count(*) FROM subscriber;").contains("3"))
        }

        @Test(arguments: engines) func wwwAuthorizeCalculatedHA1AndDomains(_ engine: DatabaseEngine) throws {
            try Self.subscribers(engine)
            let route = """
                if (!www_authorize("$fd", "subscriber")) { $avp(rc) = $rc; www_challenge("$fd", "0"); exit; }
                $avp(rc) = $rc;
                sl_send_reply("200", "OK");
                """
            // The password column holds plain text; use_domain compares the realm.
            let h = try Self.harness(
                engine,
                params: """
                    modparam("auth_db", "calculate_ha1", 1)
                    modparam("auth_db", "password_column", "password")
                    modparam("auth_db", "use_domain", 1)

                    """, route: route)
            let nonce = try h.nonce()
            let auth = h.client.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce)
            #expect(AuthHarness.rc(try h.run(AuthHarness.request(headers: [auth])).ctx) == 1)
            var dave = h.client
            dave.username = "dave"
            let daveAuth = dave.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce)
            #expect(AuthHarness.rc(try h.run(AuthHarness.request(headers: [daveAuth], from: "dave")).ctx) == -3)
        }

        @Test(arguments: engines) func isSubscriber(_ engine: DatabaseEngine) throws {
            try Self.subscribers(engine)
            let route = """
                is_subscriber("sip:alice@example.com", "subscriber", "1"); $avp(r) = $rc;
                is_subscriber("sip:alice@other.org", "subscriber", "1"); $avp(r) = $rc;
                is_subscriber("sip:alice@other.org", "subscriber", "2"); $avp(r) = $rc;
                is_subscriber("sip:zoe@example.com", "subscriber", "0"); $avp(r) = $rc;
                sl_send_reply("200", "OK");
                """
            let h = try Self.harness(engine, route: route)
            let ctx = try h.run(AuthHarness.request()).ctx
            #expect(ctx.avps["r"] == [.int(-2), .int(1), .int(-2), .int(1)])
            #expect(ctx.avps["rpid"] == [.string("<sip:+4912345@example.com>")])
        }

        @Test(arguments: engines) func tableVersionIsChecked(_ engine: DatabaseEngine) throws {
            try Self.subscribers(engine)
            try engine.sql("UPDATE version SET table_version = 6 WHERE table_name = 'subscriber';")
            let route = "if (!www_authorize(\"$fd\", \"subscriber\")) { www_challenge(\"$fd\", \"0\"); exit; }"
            #expect(throws: (any Error).self) { try Self.harness(engine, route: route) }
            _ = try Self.harness(engine, params: "modparam(\"auth_db\", \"version_table\", 0)\n", route: route)
        }
    }
}

extension DatabaseSuites {
    /// auth_db in Swiftlet and in Kamailio 5.6.3 on the same subscriber table and secret: the
    /// same credentials get the same `$rc` from `auth_check()` in both.
    @Suite struct AuthDBKamailioInteropTests {
        static let engines = DatabaseKamailioInteropTests.engines

        static let route = """
            auth_check("$fd", "subscriber", "1");
            append_to_reply("X-RC: $rc\\r\\n");
            sl_send_reply("200", "Checked");
            """

        @Test(arguments: engines) func sameReturnCodesAsKamailio(_ engine: DatabaseEngine) throws {
            try AuthDBModuleTests.subscribers(engine)
            let url = try engine.url()
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
                    loadmodule "auth.so"
                    loadmodule "auth_db.so"
                    modparam("auth", "secret", "\(AuthHarness.secret)")
                    modparam("auth_db", "db_url", "\(url)")
                    request_route {
                    \(Self.route)
                    }
                    """)
            defer { kamailio.stop() }
            let swiftlet = try AuthDBModuleTests.harness(
                engine, params: "loadmodule \"textops.so\"\n", route: Self.route)
            // A nonce with the shared secret, made after both started.
            let now = Int(Date().timeIntervalSince1970)
            let nonce = kamailioNonce(since: now, expires: now + 300, secret: AuthHarness.secret)
            let party = SIPSocketParty(user: "alice")
            // (username, password, From/To user): 1, -2, -3, -3, 1 (ha1b), 1, -3, -8.
            let cases: [(String, String, String)] = [
                ("alice", "secret", "alice"), ("alice", "guess", "alice"), ("mallory", "secret", "mallory"),
                ("alice' OR '1'='1", "secret", "alice"), ("carol@example.com", "pw", "carol"),
                ("dave", "secret", "dave"), ("bob", "secret", "alice"), ("alice", "secret", "bob"),
            ]
            var codes: [String] = []
            for (user, password, from) in cases {
                var client = swiftlet.client
                client.username = user
                client.password = password
                let auth = client.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce)
                let ours = try swiftlet.run(AuthHarness.request(headers: [auth], from: from)).reply ?? ""
                party.send(
                    [
                        "REGISTER sip:example.com SIP/2.0",
                        "Via: SIP/2.0/UDP 127.0.0.1:\(party.port);branch=z9hG4bK-\(UUID().uuidString)",
                        "From: <sip:\(from)@example.com>;tag=1", "To: <sip:\(from)@example.com>",
                        "Call-ID: \(UUID().uuidString)", "CSeq: 1 REGISTER", "Max-Forwards: 70", auth,
                        "Content-Length: 0",
                    ], to: kamailio.port)
                let theirs = try party.expect("SIP/2.0 200 Checked")
                let ourRC = ours.components(separatedBy: "\r\n").first { $0.hasPrefix("X-RC:") }
                codes.append(ourRC ?? "none")
                #expect(ourRC == theirs.headerLines.first { $0.hasPrefix("X-RC:") }, "\(user)/\(password) from \(from)")
            }
            #expect(codes == ["1", "-2", "-3", "-3", "1", "1", "-3", "-8"].map { "X-RC: \($0)" })
        }
    }
}
