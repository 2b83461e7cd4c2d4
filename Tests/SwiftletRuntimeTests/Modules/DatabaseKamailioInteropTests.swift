import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

extension DatabaseSuites {
    /// Kamailio 5.6 itself on the tables of scripts/dbschema.sh, on both engines: its modules
    /// accept the tables (each checks its `version` row at start-up), it reads rows the SDK's
    /// `Database` wrote (htable's `dbtable`), and the SDK reads rows Kamailio wrote (usrloc
    /// write-through, acc).
    @Suite struct DatabaseKamailioInteropTests {
        /// Engines whose Kamailio driver module is installed (kamailio-postgres-modules,
        /// kamailio-mysql-modules).
        static let engines = DatabaseDriverTests.engines.filter {
            kamailioPath != nil && FileManager.default.fileExists(atPath: kamailioModules + $0.module + ".so")
        }

        static func config(_ engine: DatabaseEngine, url: String) -> String {
            let modules = [
                ("usrloc", "modparam(\"usrloc\", \"db_mode\", 1)"), ("auth_db", ""), ("acc", ""),
                ("permissions", "modparam(\"permissions\", \"db_mode\", 1)"),
                ("domain", ""), ("alias_db", ""), ("speeddial", ""),
                ("htable", "modparam(\"htable\", \"htable\", \"t=>size=4;dbtable=htable;\")"), ("dispatcher", ""),
                ("dialog", "modparam(\"dialog\", \"db_mode\", 1)"),
            ]
            let lines = modules.map { m in
                "loadmodule \"\(m.0).so\"\nmodparam(\"\(m.0)\", \"db_url\", \"\(url)\")\n\(m.1)"
            }.joined(separator: "\n")
            return """
                debug=2
                log_stderror=yes
                children=1
                listen=udp:127.0.0.1:PORT
                mpath="\(kamailioModules)"
                loadmodule "\(engine.module).so"
                loadmodule "tm.so"
                loadmodule "rr.so"
                loadmodule "sl.so"
                loadmodule "pv.so"
                loadmodule "textops.so"
                loadmodule "auth.so"
                \(lines)
                loadmodule "registrar.so"
                request_route {
                    if (is_method("REGISTER")) {
                        acc_db_request("200 OK", "acc");
                        save("location");
                        exit;
                    }
                    append_to_reply("X-Ht: $sht(t=>k1) $sht(t=>k2)\\r\\n");
                    sl_send_reply("200", "OK");
                }
                """
        }

        @Test(arguments: engines)
        func kamailioRunsOnTheSchemaAndSharesRowsWithTheSDK(engine: DatabaseEngine) throws {
            try engine.createSchema()
            let (core, db) = try engine.open()
            defer { core.shutdown() }
            // Rows for Kamailio's htable: a string and an integer value.
            try db.insert(
                "htable",
                [
                    ("key_name", .string("k1")), ("key_type", .int(0)), ("value_type", .int(0)),
                    ("key_value", .string("v 1")),
                ])
            try db.insert(
                "htable",
                [
                    ("key_name", .string("k2")), ("key_type", .int(0)), ("value_type", .int(1)),
                    ("key_value", .string("42")),
                ])
            let kamailio = try KamailioTestServer(config: Self.config(engine, url: try engine.url()))
            defer { kamailio.stop() }
            let ua = SIPSocketParty(user: "alice")
            ua.send(
                [
                    "OPTIONS sip:k@127.0.0.1:\(kamailio.port) SIP/2.0",
                    "Via: SIP/2.0/UDP 127.0.0.1:\(ua.port);branch=z9hG4bK-o1", "From: <sip:alice@127.0.0.1>;tag=o1",
                    "To: <sip:k@127.0.0.1>", "Call-ID: db-o1", "CSeq: 1 OPTIONS", "Content-Length: 0",
                ], to: kamailio.port)
            let ok = try ua.expect("SIP/2.0 200", timeout: 5)
            #expect(ok.headers("X-Ht") == ["v 1 42"], "\(kamailio.log.suffix(1500))")

            let before = Int(Date().timeIntervalSince1970)
            ua.send(
                [
                    "REGISTER sip:127.0.0.1:\(kamailio.port) SIP/2.0",
                    "Via: SIP/2.0/UDP 127.0.0.1:\(ua.port);branch=z9hG4bK-r1", "From: <sip:alice@127.0.0.1>;tag=r1",
                    "To: <sip:alice@127.0.0.1>", "Call-ID: db-r1", "CSeq: 1 REGISTER",
                    "Contact: <\(ua.contact)>;expires=600", "User-Agent: db-test", "Content-Length: 0",
                ], to: kamailio.port)
            _ = try ua.expect("SIP/2.0 200", timeout: 5)
            let after = Int(Date().timeIntervalSince1970)
            let r = try db.query(
                "location", columns: ["contact", "expires", "q", "callid", "cseq", "user_agent", "ruid"],
                where: [.init("username", .equal, .string("alice"))])
            #expect(r.rows.count == 1, "\(kamailio.log.suffix(1500))")
            #expect(r[0, "contact"] == .string(ua.contact))
            guard case .datetime(let expires) = r[0, "expires"] else {
                Issue.record("expires is \(r[0, "expires"])")
                return
            }
            #expect(expires >= before + 600 - 1 && expires <= after + 600 + 1)
            #expect(r[0, "q"] == .double(-1))  // no q: Q_UNSPECIFIED
            #expect(r[0, "callid"] == .string("db-r1") && r[0, "cseq"] == .int(1))
            #expect(r[0, "user_agent"] == .string("db-test"))
            let acc = try db.query("acc", columns: ["method", "callid", "sip_code", "sip_reason", "time"])
            #expect(acc.rows.count == 1)
            #expect(acc[0, "method"] == .string("REGISTER") && acc[0, "callid"] == .string("db-r1"))
            #expect(acc[0, "sip_code"] == .string("200") && acc[0, "sip_reason"] == .string("OK"))
            if case .datetime(let t) = acc[0, "time"] {
                #expect(t >= before - 1 && t <= after + 1)
            } else {
                Issue.record("acc time is \(acc[0, "time"])")
            }
        }
    }
}
