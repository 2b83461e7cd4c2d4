import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

extension DatabaseSuites {
    /// presence with `subs_db_mode` 3 (database only) on the private PostgreSQL and MariaDB
    /// servers: the subscription lives in `active_watchers` alone, so a second server on the
    /// same tables NOTIFYs it, refreshes and ends it.
    @Suite(.serialized) struct PresenceDatabaseOnlyTests {
        typealias T = PresenceModuleTests
        static let engines = DatabaseEngine.allCases.filter(\.isInstalled)

        static func core(_ engine: DatabaseEngine) throws -> EmbeddedCore {
            try EmbeddedCore(
                config: """
                    listen=udp:127.0.0.1:5060
                    loadmodule "\(engine.module).so"
                    loadmodule "tm.so"
                    loadmodule "sl.so"
                    loadmodule "textops.so"
                    loadmodule "presence.so"
                    loadmodule "presence_xml.so"
                    modparam("presence", "db_url", "\(try engine.url())")
                    modparam("presence", "subs_db_mode", 3)
                    modparam("presence_xml", "db_url", "\(try engine.url())")
                    modparam("presence_xml", "force_active", 1)
                    request_route {
                        if (!t_newtran()) { sl_reply_error(); exit; }
                        if(is_method("PUBLISH")) { handle_publish(); t_release(); }
                        else if(is_method("SUBSCRIBE")) { handle_subscribe(); t_release(); }
                        exit;
                    }
                    """, modulePath: productsDirectory)
        }

        static func row(_ engine: DatabaseEngine) throws -> String {
            T.rows(try engine.sql("SELECT callid, local_cseq, remote_cseq, version, status FROM active_watchers"))
        }

        @Test(arguments: engines)
        func subscriptionsLiveInTheDatabase(engine: DatabaseEngine) throws {
            try T.core(engine).shutdown()  // fresh tables and version rows
            let first = try Self.core(engine)
            defer { first.shutdown() }
            first.receive(T.subscribe(callID: "db-1"), from: "192.0.2.10:5070")
            var sent = first.takeSent()
            let reply = try #require(sent.first { $0.firstLine.hasPrefix("SIP/2.0") })
            #expect(reply.firstLine == "SIP/2.0 200 OK")
            let toTag = try #require(T.header(reply.text, "To")?.components(separatedBy: "tag=").last)
            var notify = try #require(sent.first { $0.firstLine.hasPrefix("NOTIFY") })
            #expect(T.header(notify.text, "CSeq") == "2 NOTIFY")
            first.receive(T.ok(notify.text), from: "192.0.2.10:5070")
            _ = first.takeSent()
            #expect(try Self.row(engine) == "db-1|2|1|1|1")

            // A second server on the same tables: bob's PUBLISH there NOTIFYs alice.
            let second = try Self.core(engine)
            defer { second.shutdown() }
            second.receive(T.publish(body: T.pidf), from: "192.0.2.20:5080")
            sent = second.takeSent()
            #expect(sent.first { $0.firstLine.hasPrefix("SIP/2.0") }?.firstLine == "SIP/2.0 200 OK")
            notify = try #require(sent.first { $0.firstLine.hasPrefix("NOTIFY") })
            #expect(notify.firstLine == "NOTIFY sip:alice@192.0.2.10:5070 SIP/2.0")
            #expect(T.header(notify.text, "CSeq") == "3 NOTIFY")
            #expect(T.header(notify.text, "To") == "<sip:alice@example.com>;tag=a1")
            #expect(T.body(notify.text) == T.pidf + "\n")
            second.receive(T.ok(notify.text), from: "192.0.2.10:5070")
            _ = second.takeSent()
            #expect(try Self.row(engine) == "db-1|3|1|2|1")

            // The refresh, on the first server, finds the subscription in the table.
            first.receive(T.subscribe(expires: 300, callID: "db-1", cseq: 2, toTag: toTag), from: "192.0.2.10:5070")
            sent = first.takeSent()
            #expect(sent.first { $0.firstLine.hasPrefix("SIP/2.0") }?.firstLine == "SIP/2.0 200 OK")
            notify = try #require(sent.first { $0.firstLine.hasPrefix("NOTIFY") })
            #expect(T.header(notify.text, "CSeq") == "4 NOTIFY")
            #expect(T.header(notify.text, "Subscription-State") == "active;expires=300")
            first.receive(T.ok(notify.text), from: "192.0.2.10:5070")
            _ = first.takeSent()
            #expect(try Self.row(engine) == "db-1|4|2|3|1")

            // Unsubscribing on the second one removes the row.
            second.receive(T.subscribe(expires: 0, callID: "db-1", cseq: 3, toTag: toTag), from: "192.0.2.10:5070")
            sent = second.takeSent()
            #expect(sent.first { $0.firstLine.hasPrefix("SIP/2.0") }?.firstLine == "SIP/2.0 200 OK")
            notify = try #require(sent.first { $0.firstLine.hasPrefix("NOTIFY") })
            #expect(T.header(notify.text, "Subscription-State") == "terminated;reason=timeout")
            #expect(T.header(notify.text, "CSeq") == "5 NOTIFY")
            #expect(
                try engine.sql("SELECT COUNT(*) FROM active_watchers").trimmingCharacters(in: .whitespacesAndNewlines)
                    == "0")
            second.receive(T.subscribe(callID: "db-1", cseq: 4, toTag: toTag), from: "192.0.2.10:5070")
            #expect(second.takeSent().map(\.firstLine) == ["SIP/2.0 481 Subscription does not exist"])
        }
    }
}
