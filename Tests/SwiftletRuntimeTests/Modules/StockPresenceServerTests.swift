import Foundation
import Testing

@testable import SwiftletRuntime

extension DatabaseSuites {
    /// The running server with Kamailio's stock configuration, WITH_MYSQL and WITH_PRESENCE
    /// (its DBURL pointed at the private MariaDB): alice subscribes to bob's presence over UDP,
    /// bob publishes, alice gets the NOTIFY with his PIDF; an unknown ETag gets 412, the
    /// `dialog` event 489 (the stock configuration loads no presence_dialoginfo).
    @Suite(.serialized) struct StockPresenceServerTests {
        static let stock = "/etc/kamailio/kamailio.cfg"
        static let ready = FileManager.default.fileExists(atPath: stock) && DatabaseEngine.mysql.isInstalled
        typealias T = PresenceModuleTests

        @Test(.enabled(if: ready, "needs \(stock) and MariaDB"))
        func twoUsersThroughTheStockConfiguration() throws {
            let engine = DatabaseEngine.mysql
            try T.core(engine).shutdown()  // fresh tables and version rows
            var text = try String(contentsOfFile: Self.stock, encoding: .utf8)
            text = text.replacingOccurrences(of: "#!KAMAILIO\n", with: "#!KAMAILIO\nlisten=udp:127.0.0.1:PORT\n")
            let server = try TestServer(
                config: text,
                extraArguments: [
                    "-A", "WITH_MYSQL", "-A", "WITH_PRESENCE", "-A", "DBURL=\"\(try engine.url())\"",
                ])
            defer { server.stop() }
            let alice = SIPSocketParty(user: "alice")
            let bob = SIPSocketParty(user: "bob")
            let proxy = "127.0.0.1:\(server.port)"
            alice.send(
                [
                    "SUBSCRIBE sip:bob@\(proxy) SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:\(alice.port);branch=z9hG4bK-as1",
                    "Max-Forwards: 70", "From: <sip:alice@\(proxy)>;tag=as", "To: <sip:bob@\(proxy)>",
                    "Call-ID: stock-sub", "CSeq: 1 SUBSCRIBE", "Contact: <\(alice.contact)>", "Event: presence",
                    "Expires: 300", "Content-Length: 0",
                ], to: server.port)
            var got = [try #require(alice.next()), try #require(alice.next())]
            got.sort { $0.firstLine.hasPrefix("SIP/2.0") && !$1.firstLine.hasPrefix("SIP/2.0") }
            #expect(got[0].firstLine == "SIP/2.0 200 OK")
            #expect(got[0].headers("Expires") == ["300"])
            #expect(got[1].firstLine == "NOTIFY \(alice.contact) SIP/2.0")
            #expect(got[1].headers("Subscription-State") == ["active;expires=300"])
            alice.reply(got[1], "200 OK", toTag: "")

            let pidf = T.pidf
            bob.sendRaw(
                [
                    "PUBLISH sip:bob@\(proxy) SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:\(bob.port);branch=z9hG4bK-bp1",
                    "Max-Forwards: 70", "From: <sip:bob@\(proxy)>;tag=bp", "To: <sip:bob@\(proxy)>",
                    "Call-ID: stock-pub", "CSeq: 1 PUBLISH", "Event: presence", "Expires: 300",
                    "Content-Type: application/pidf+xml", "Content-Length: \(pidf.utf8.count)",
                ], body: pidf, to: server.port)
            let published = try bob.expect("SIP/2.0 200")
            #expect(published.headers("SIP-ETag").count == 1)
            let notify = try alice.expect("NOTIFY ")
            #expect(notify.headers("Content-Type") == ["application/pidf+xml"])
            #expect(T.body(notify.text) == pidf + "\n")
            alice.reply(notify, "200 OK", toTag: "")

            bob.send(
                [
                    "PUBLISH sip:bob@\(proxy) SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:\(bob.port);branch=z9hG4bK-bp2",
                    "Max-Forwards: 70", "From: <sip:bob@\(proxy)>;tag=bp2", "To: <sip:bob@\(proxy)>",
                    "Call-ID: stock-pub2", "CSeq: 1 PUBLISH", "Event: presence", "SIP-If-Match: a.0.0.0.0",
                    "Content-Length: 0",
                ], to: server.port)
            #expect(try bob.expect("SIP/2.0 ").firstLine == "SIP/2.0 412 Conditional request failed")
            alice.send(
                [
                    "SUBSCRIBE sip:bob@\(proxy) SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:\(alice.port);branch=z9hG4bK-as2",
                    "Max-Forwards: 70", "From: <sip:alice@\(proxy)>;tag=as2", "To: <sip:bob@\(proxy)>",
                    "Call-ID: stock-sub2", "CSeq: 1 SUBSCRIBE", "Contact: <\(alice.contact)>", "Event: dialog",
                    "Expires: 300", "Content-Length: 0",
                ], to: server.port)
            let bad = try alice.expect("SIP/2.0 ")
            #expect(bad.firstLine == "SIP/2.0 489 Bad Event")
            #expect(bad.headers("Allow-Events") == ["xcap-diff, presence.winfo, presence"])
        }

        /// The stock configuration with `loadmodule "presence_dialoginfo.so"` added after
        /// presence_xml: alice subscribes to bob's `dialog` event, bob publishes a dialog-info
        /// document over UDP, alice's NOTIFY carries Kamailio's aggregate of it.
        @Test(.enabled(if: ready, "needs \(stock) and MariaDB"))
        func dialogEventWithPresenceDialogInfo() throws {
            let engine = DatabaseEngine.mysql
            try T.core(engine).shutdown()  // fresh tables and version rows
            var text = try String(contentsOfFile: Self.stock, encoding: .utf8)
            text = text.replacingOccurrences(of: "#!KAMAILIO\n", with: "#!KAMAILIO\nlisten=udp:127.0.0.1:PORT\n")
            text = text.replacingOccurrences(
                of: "loadmodule \"presence_xml.so\"\n",
                with: "loadmodule \"presence_xml.so\"\nloadmodule \"presence_dialoginfo.so\"\n")
            let server = try TestServer(
                config: text,
                extraArguments: [
                    "-A", "WITH_MYSQL", "-A", "WITH_PRESENCE", "-A", "DBURL=\"\(try engine.url())\"",
                ])
            defer { server.stop() }
            let alice = SIPSocketParty(user: "alice")
            let bob = SIPSocketParty(user: "bob")
            let proxy = "127.0.0.1:\(server.port)"
            alice.send(
                [
                    "SUBSCRIBE sip:bob@\(proxy) SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:\(alice.port);branch=z9hG4bK-ad1",
                    "Max-Forwards: 70", "From: <sip:alice@\(proxy)>;tag=ad", "To: <sip:bob@\(proxy)>",
                    "Call-ID: stock-dlg", "CSeq: 1 SUBSCRIBE", "Contact: <\(alice.contact)>", "Event: dialog",
                    "Expires: 300", "Content-Length: 0",
                ], to: server.port)
            var got = [try #require(alice.next()), try #require(alice.next())]
            got.sort { $0.firstLine.hasPrefix("SIP/2.0") && !$1.firstLine.hasPrefix("SIP/2.0") }
            #expect(got[0].firstLine == "SIP/2.0 200 OK")
            #expect(got[1].firstLine == "NOTIFY \(alice.contact) SIP/2.0")
            #expect(got[1].headers("Event") == ["dialog"])
            #expect(got[1].headers("Subscription-State") == ["active;expires=300"])
            #expect(got[1].headers("Content-Type").isEmpty)
            alice.reply(got[1], "200 OK", toTag: "")

            let body = PresenceDialogInfoTests.trying
            bob.sendRaw(
                [
                    "PUBLISH sip:bob@\(proxy) SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:\(bob.port);branch=z9hG4bK-bd1",
                    "Max-Forwards: 70", "From: <sip:bob@\(proxy)>;tag=bd", "To: <sip:bob@\(proxy)>",
                    "Call-ID: stock-dlg-pub", "CSeq: 1 PUBLISH", "Event: dialog", "Expires: 300",
                    "Content-Type: application/dialog-info+xml", "Content-Length: \(body.utf8.count)",
                ], body: body, to: server.port)
            let published = try bob.expect("SIP/2.0 200")
            #expect(published.headers("SIP-ETag").count == 1)
            let notify = try alice.expect("NOTIFY ")
            #expect(notify.headers("Content-Type") == ["application/dialog-info+xml"])
            #expect(notify.headers("CSeq") == ["3 NOTIFY"])
            #expect(
                T.body(notify.text)
                    == PresenceDialogInfoTests.body(version: 2, [PresenceDialogInfoTests.d1Trying])
                    .replacingOccurrences(of: "sip:bob@example.com", with: "sip:bob@127.0.0.1"))
            alice.reply(notify, "200 OK", toTag: "")
        }
    }
}
