import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

extension DatabaseSuites {
    /// presence.winfo (presence_xml's watcher-info event) on the private PostgreSQL and
    /// MariaDB servers: bob watches who subscribes to his presence; alice subscribes,
    /// refreshes and unsubscribes; bob's NOTIFYs carry Kamailio's watcherinfo documents.
    @Suite(.serialized) struct PresenceWatcherInfoTests {
        typealias T = PresenceModuleTests
        static let engines = DatabaseEngine.allCases.filter(\.isInstalled)

        /// bob's SUBSCRIBE to his own `presence.winfo`.
        static func winfoSubscribe(callID: String = "wi-1", expires: Int = 600) -> String {
            T.subscribe(event: "presence.winfo", expires: expires, callID: callID)
                .replacingOccurrences(
                    of: "From: <sip:alice@example.com>;tag=a1", with: "From: <sip:bob@example.com>;tag=b1"
                )
                .replacingOccurrences(of: "sip:alice@192.0.2.10:5070", with: "sip:bob@192.0.2.30:5090")
                .replacingOccurrences(of: "192.0.2.10:5070", with: "192.0.2.30:5090")
        }

        /// The SUBSCRIBE `request` as carol's.
        static func carol(_ request: String) -> String {
            request.replacingOccurrences(of: "sip:alice@example.com>;tag=a1", with: "sip:carol@example.com>;tag=c1")
        }

        /// Kamailio's watcherinfo document (`create_winfo_xml` written by libxml2).
        static func body(version: Int, full: Bool, _ watchers: [(id: String, status: String, uri: String)]) -> String {
            var text =
                "<?xml version=\"1.0\"?>\n<watcherinfo xmlns=\"urn:ietf:params:xml:ns:watcherinfo\" version=\"\(version)\" state=\"\(full ? "full" : "partial")\">\n"
            text += "  <watcher-list resource=\"sip:bob@example.com\" package=\"presence\""
            if watchers.isEmpty { return text + "/>\n</watcherinfo>\n" }
            text += ">\n"
            for w in watchers {
                text += "    <watcher id=\"\(w.id)\" event=\"subscribe\" status=\"\(w.status)\">\(w.uri)</watcher>\n"
            }
            return text + "  </watcher-list>\n</watcherinfo>\n"
        }

        /// Sends `request` and answers every NOTIFY with 200; returns what was sent.
        static func exchange(_ core: EmbeddedCore, _ request: String, from: String) -> [MemoryTransport.Sent] {
            core.receive(request, from: from)
            let sent = core.takeSent()
            for s in sent where s.firstLine.hasPrefix("NOTIFY") {
                core.receive(T.ok(s.text), from: s.destination.address.description)
            }
            _ = core.takeSent()
            return sent
        }

        @Test(arguments: engines)
        func bobSeesAliceSubscribe(engine: DatabaseEngine) throws {
            let core = try T.core(engine)
            defer { core.shutdown() }
            var sent = Self.exchange(core, Self.winfoSubscribe(), from: "192.0.2.30:5090")
            #expect(sent.first { $0.firstLine.hasPrefix("SIP/2.0") }?.firstLine == "SIP/2.0 200 OK")
            var n = try #require(sent.first { $0.firstLine.hasPrefix("NOTIFY") })
            #expect(n.firstLine == "NOTIFY sip:bob@192.0.2.30:5090 SIP/2.0")
            #expect(T.header(n.text, "Event") == "presence.winfo")
            #expect(T.header(n.text, "Subscription-State") == "active;expires=600")
            #expect(T.header(n.text, "Content-Type") == "application/watcherinfo+xml")
            #expect(T.body(n.text) == Self.body(version: 1, full: true, []))

            // alice subscribes: bob learns of her first (partial), then alice gets her NOTIFY.
            sent = Self.exchange(core, T.subscribe(callID: "wa-1"), from: "192.0.2.10:5070")
            let reply = try #require(sent.first { $0.firstLine.hasPrefix("SIP/2.0") })
            let toTag = try #require(T.header(reply.text, "To")?.components(separatedBy: "tag=").last)
            var notifies = sent.filter { $0.firstLine.hasPrefix("NOTIFY") }
            #expect(
                notifies.map(\.firstLine) == [
                    "NOTIFY sip:bob@192.0.2.30:5090 SIP/2.0", "NOTIFY sip:alice@192.0.2.10:5070 SIP/2.0",
                ])
            n = notifies[0]
            #expect(T.header(n.text, "CSeq") == "3 NOTIFY")
            #expect(T.body(n.text) == Self.body(version: 2, full: false, [("wa-1", "active", "sip:alice@example.com")]))

            // A refresh tells bob again.
            sent = Self.exchange(
                core, T.subscribe(expires: 300, callID: "wa-1", cseq: 2, toTag: toTag), from: "192.0.2.10:5070")
            notifies = sent.filter { $0.firstLine.hasPrefix("NOTIFY") }
            #expect(notifies.count == 2)
            #expect(
                T.body(notifies[0].text)
                    == Self.body(version: 3, full: false, [("wa-1", "active", "sip:alice@example.com")]))

            // carol subscribes too, then alice leaves: bob gets the full list with carol only.
            sent = Self.exchange(
                core,
                Self.carol(T.subscribe(callID: "wc-1")),
                from: "192.0.2.10:5070")
            #expect(
                T.body(sent.filter { $0.firstLine.hasPrefix("NOTIFY") }[0].text)
                    == Self.body(version: 4, full: false, [("wc-1", "active", "sip:carol@example.com")]))
            sent = Self.exchange(
                core, T.subscribe(expires: 0, callID: "wa-1", cseq: 3, toTag: toTag), from: "192.0.2.10:5070")
            notifies = sent.filter { $0.firstLine.hasPrefix("NOTIFY") }
            #expect(
                notifies.map(\.firstLine) == [
                    "NOTIFY sip:bob@192.0.2.30:5090 SIP/2.0", "NOTIFY sip:alice@192.0.2.10:5070 SIP/2.0",
                ])
            #expect(
                T.body(notifies[0].text)
                    == Self.body(version: 5, full: true, [("wc-1", "active", "sip:carol@example.com")]))
            #expect(T.header(notifies[1].text, "Subscription-State") == "terminated;reason=timeout")

            // A new winfo subscription gets the full list.
            sent = Self.exchange(core, Self.winfoSubscribe(callID: "wi-2"), from: "192.0.2.30:5090")
            n = try #require(sent.first { $0.firstLine.hasPrefix("NOTIFY") })
            #expect(T.body(n.text) == Self.body(version: 1, full: true, [("wc-1", "active", "sip:carol@example.com")]))
        }
    }
}
