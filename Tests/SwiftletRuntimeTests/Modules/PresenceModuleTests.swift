import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

extension DatabaseSuites {
    /// presence + presence_xml on the private PostgreSQL and MariaDB servers, with the stock
    /// configuration's WITH_PRESENCE route (t_newtran, handle_publish/handle_subscribe,
    /// t_release): alice subscribes to bob, bob publishes, alice gets the PIDF in a NOTIFY;
    /// 412, 489, 423, expiry with the terminating NOTIFY, and a PUBLISH storm.
    @Suite(.serialized) struct PresenceModuleTests {
        static let engines = DatabaseEngine.allCases.filter(\.isInstalled)

        static let pidf = """
            <?xml version="1.0" encoding="UTF-8"?>
            <presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:bob@example.com">
            <tuple id="t1"><status><basic>open</basic></status></tuple>
            </presence>
            """

        static func core(_ engine: DatabaseEngine) throws -> EmbeddedCore {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scripts/dbschema.sh")
                .path
            let version = try runProcess("/bin/bash", [script, engine.rawValue, "version"])
            try engine.sql(
                version.split(separator: "\n").filter { !$0.hasPrefix("INSERT") }.joined(separator: "\n")
                    .replacingOccurrences(of: "CREATE TABLE ", with: "CREATE TABLE IF NOT EXISTS "))
            try engine.createSchema(["presentity", "active_watchers", "watchers"])
            return try EmbeddedCore(
                config: """
                    listen=udp:127.0.0.1:5060
                    loadmodule "\(engine.module).so"
                    loadmodule "tm.so"
                    loadmodule "sl.so"
                    loadmodule "textops.so"
                    loadmodule "presence.so"
                    loadmodule "presence_xml.so"
                    modparam("presence", "db_url", "\(try engine.url())")
                    modparam("presence", "min_expires", 30)
                    modparam("presence_xml", "db_url", "\(try engine.url())")
                    modparam("presence_xml", "force_active", 1)
                    request_route {
                        if (!t_newtran()) {
                            sl_reply_error();
                            exit;
                        }
                        if(is_method("PUBLISH")) {
                            handle_publish();
                            t_release();
                        } else if(is_method("SUBSCRIBE")) {
                            handle_subscribe();
                            t_release();
                        }
                        exit;
                    }
                    """, modulePath: productsDirectory)
        }

        static func subscribe(
            event: String = "presence", expires: Int = 600, callID: String = "sub-1", cseq: Int = 1,
            toTag: String? = nil
        ) -> String {
            [
                "SUBSCRIBE sip:bob@example.com SIP/2.0",
                "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-s\(callID)-\(cseq)",
                "From: <sip:alice@example.com>;tag=a1",
                "To: <sip:bob@example.com>" + (toTag.map { ";tag=\($0)" } ?? ""),
                "Call-ID: \(callID)", "CSeq: \(cseq) SUBSCRIBE", "Max-Forwards: 70",
                "Contact: <sip:alice@192.0.2.10:5070>", "Event: \(event)", "Expires: \(expires)", "Content-Length: 0",
                "", "",
            ].joined(separator: "\r\n")
        }

        static func publish(body: String?, ifMatch: String? = nil, expires: Int = 600, n: Int = 1) -> String {
            var lines = [
                "PUBLISH sip:bob@example.com SIP/2.0", "Via: SIP/2.0/UDP 192.0.2.20:5080;branch=z9hG4bK-p\(n)",
                "From: <sip:bob@example.com>;tag=b\(n)", "To: <sip:bob@example.com>", "Call-ID: pub-\(n)",
                "CSeq: 1 PUBLISH", "Max-Forwards: 70", "Event: presence", "Expires: \(expires)",
            ]
            if let ifMatch { lines.append("SIP-If-Match: \(ifMatch)") }
            let b = body ?? ""
            if body != nil { lines.append("Content-Type: application/pidf+xml") }
            lines.append("Content-Length: \(b.utf8.count)")
            return lines.joined(separator: "\r\n") + "\r\n\r\n" + b
        }

        /// The value of header `name` in a message's text.
        static func header(_ text: String, _ name: String) -> String? {
            for line in text.components(separatedBy: "\r\n") where line.lowercased().hasPrefix(name.lowercased() + ":")
            {
                return String(line.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces)
            }
            return nil
        }

        /// A client's output with `|` between columns (psql's) instead of tabs (mariadb's).
        static func rows(_ text: String) -> String {
            text.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "\t", with: "|")
        }

        static func body(_ text: String) -> String {
            text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        }

        /// The watcher's 200 to a NOTIFY.
        static func ok(_ notify: String, code: Int = 200, reason: String = "OK") -> String {
            var lines = ["SIP/2.0 \(code) \(reason)"]
            for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
                if let v = header(notify, name) { lines.append("\(name): \(v)") }
            }
            lines.append("Content-Length: 0")
            return lines.joined(separator: "\r\n") + "\r\n\r\n"
        }

        @Test(arguments: engines)
        func aliceSeesBobsPublication(engine: DatabaseEngine) throws {
            let core = try Self.core(engine)
            defer { core.shutdown() }
            core.receive(Self.subscribe(), from: "192.0.2.10:5070")
            var sent = core.takeSent()
            let reply = try #require(sent.first { $0.firstLine.hasPrefix("SIP/2.0") })
            #expect(reply.firstLine == "SIP/2.0 200 OK")
            #expect(Self.header(reply.text, "Expires") == "600")
            #expect(Self.header(reply.text, "Contact") == "<sip:127.0.0.1:5060;transport=udp>")
            let toTag = try #require(Self.header(reply.text, "To")?.components(separatedBy: "tag=").last)
            let first = try #require(sent.first { $0.firstLine.hasPrefix("NOTIFY") })
            #expect(first.firstLine == "NOTIFY sip:alice@192.0.2.10:5070 SIP/2.0")
            #expect(first.destination.address.description == "192.0.2.10:5070")
            #expect(Self.header(first.text, "Subscription-State") == "active;expires=600")
            #expect(Self.header(first.text, "Event") == "presence")
            #expect(Self.header(first.text, "From") == "<sip:bob@example.com>;tag=\(toTag)")
            #expect(Self.header(first.text, "To") == "<sip:alice@example.com>;tag=a1")
            #expect(Self.header(first.text, "CSeq") == "2 NOTIFY")
            #expect(Self.header(first.text, "Content-Type") == nil)
            core.receive(Self.ok(first.text), from: "192.0.2.10:5070")
            _ = core.takeSent()
            let rows = try engine.sql("SELECT presentity_uri, watcher_username, status FROM watchers")
            #expect(Self.rows(rows) == "sip:bob@example.com|alice|1")

            core.receive(Self.publish(body: Self.pidf), from: "192.0.2.20:5080")
            sent = core.takeSent()
            let published = try #require(sent.first { $0.firstLine.hasPrefix("SIP/2.0") })
            #expect(published.firstLine == "SIP/2.0 200 OK")
            #expect(Self.header(published.text, "Expires") == "600")
            let etag = try #require(Self.header(published.text, "SIP-ETag"))
            #expect(etag.hasPrefix("a."))
            let notify = try #require(sent.first { $0.firstLine.hasPrefix("NOTIFY") })
            #expect(Self.header(notify.text, "Content-Type") == "application/pidf+xml")
            #expect(Self.body(notify.text) == Self.pidf + "\n")
            #expect(Self.header(notify.text, "CSeq") == "3 NOTIFY")
            core.receive(Self.ok(notify.text), from: "192.0.2.10:5070")
            _ = core.takeSent()
            let stored = try engine.sql("SELECT username, domain, event, etag FROM presentity")
            #expect(Self.rows(stored) == "bob|example.com|presence|\(etag)")
            let listed = try core.context.rpcs.call(RPCRequest(method: "presence.presentity_list", params: [])).get()
            #expect(String(describing: listed).contains(etag))

            // A refresh with the ETag gets a new one; an unknown ETag gets 412.
            core.receive(Self.publish(body: nil, ifMatch: etag, n: 2), from: "192.0.2.20:5080")
            sent = core.takeSent()
            let refreshed = try #require(sent.first { $0.firstLine.hasPrefix("SIP/2.0") })
            #expect(refreshed.firstLine == "SIP/2.0 200 OK")
            let etag2 = try #require(Self.header(refreshed.text, "SIP-ETag"))
            #expect(etag2 != etag && etag2.hasSuffix(".1"))
            let again = try #require(sent.first { $0.firstLine.hasPrefix("NOTIFY") })
            #expect(Self.body(again.text) == Self.pidf + "\n")
            core.receive(Self.ok(again.text), from: "192.0.2.10:5070")
            core.receive(Self.publish(body: nil, ifMatch: "a.1.2.3.4", n: 3), from: "192.0.2.20:5080")
            sent = core.takeSent()
            #expect(sent.map(\.firstLine) == ["SIP/2.0 412 Conditional request failed"])

            // The subscription ends after its expiry (600 s) at the next timer run (100 s).
            core.advance(milliseconds: 701_000)
            sent = core.takeSent()
            let last = try #require(sent.first { $0.firstLine.hasPrefix("NOTIFY") })
            #expect(Self.header(last.text, "Subscription-State") == "terminated;reason=timeout")
            #expect(Self.body(last.text).isEmpty)
            let left = try engine.sql("SELECT COUNT(*) FROM active_watchers")
            #expect(left.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        }

        @Test(arguments: engines)
        func refusals(engine: DatabaseEngine) throws {
            let core = try Self.core(engine)
            defer { core.shutdown() }
            core.receive(Self.subscribe(event: "dialog", callID: "bad-1"), from: "192.0.2.10:5070")
            var sent = core.takeSent()
            #expect(sent.map(\.firstLine) == ["SIP/2.0 489 Bad Event"])
            #expect(Self.header(sent[0].text, "Allow-Events") == "xcap-diff, presence.winfo, presence")
            core.receive(Self.subscribe(expires: 10, callID: "short-1"), from: "192.0.2.10:5070")
            sent = core.takeSent()
            #expect(sent.map(\.firstLine) == ["SIP/2.0 423 Interval Too Brief"])
            #expect(Self.header(sent[0].text, "Min-Expires") == "30")
            core.receive(Self.subscribe(callID: "gone-1", toTag: "nosuch"), from: "192.0.2.10:5070")
            #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 481 Subscription does not exist"])
            core.receive(Self.publish(body: "<presence><tuple>", n: 4), from: "192.0.2.20:5080")
            #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 415 Unsupported media type"])
            core.receive(Self.publish(body: nil), from: "192.0.2.20:5080")
            let last = core.takeSent()
            #expect(last.map(\.firstLine) == ["SIP/2.0 400 Invalid request"], "\(last.map(\.text))")
        }

        /// Unsubscribing (Expires: 0) gets 200 and the terminating NOTIFY at once.
        @Test(arguments: engines)
        func unsubscribe(engine: DatabaseEngine) throws {
            let core = try Self.core(engine)
            defer { core.shutdown() }
            core.receive(Self.subscribe(callID: "u-1"), from: "192.0.2.10:5070")
            let sent = core.takeSent()
            let reply = try #require(sent.first { $0.firstLine.hasPrefix("SIP/2.0") })
            let toTag = try #require(Self.header(reply.text, "To")?.components(separatedBy: "tag=").last)
            core.receive(
                Self.ok(try #require(sent.first { $0.firstLine.hasPrefix("NOTIFY") }).text), from: "192.0.2.10:5070")
            core.receive(Self.subscribe(expires: 0, callID: "u-1", cseq: 2, toTag: toTag), from: "192.0.2.10:5070")
            let after = core.takeSent()
            let ok = try #require(after.first { $0.firstLine.hasPrefix("SIP/2.0") })
            #expect(ok.firstLine == "SIP/2.0 200 OK")
            #expect(Self.header(ok.text, "Expires") == "0")
            let notify = try #require(after.first { $0.firstLine.hasPrefix("NOTIFY") })
            #expect(Self.header(notify.text, "Subscription-State") == "terminated;reason=timeout")
            #expect(Self.header(notify.text, "CSeq") == "3 NOTIFY")
        }

        /// 300 PUBLISHes with a watcher: every one is answered and NOTIFYed; the watcher
        /// answers a few NOTIFYs with 481 at the end, which removes it.
        @Test(arguments: engines)
        func publishStorm(engine: DatabaseEngine) throws {
            let core = try Self.core(engine)
            defer { core.shutdown() }
            core.receive(Self.subscribe(callID: "storm"), from: "192.0.2.10:5070")
            _ = core.takeSent()
            var replies = 0
            var notifies: [String] = []
            for n in 1...300 {
                core.receive(Self.publish(body: Self.pidf, n: n), from: "192.0.2.20:5080")
                for s in core.takeSent() {
                    if s.firstLine == "SIP/2.0 200 OK" { replies += 1 }
                    if s.firstLine.hasPrefix("NOTIFY") { notifies.append(s.text) }
                }
            }
            #expect(replies == 300)
            #expect(notifies.count == 300)
            #expect(Set(notifies.compactMap { Self.header($0, "CSeq") }).count == 300)
            let count = try engine.sql("SELECT COUNT(*) FROM presentity")
            #expect(count.trimmingCharacters(in: .whitespacesAndNewlines) == "300")
            // A 481 ends the subscription: the next PUBLISH notifies nobody.
            core.receive(
                Self.ok(notifies[299], code: 481, reason: "Call/Transaction Does Not Exist"), from: "192.0.2.10:5070")
            _ = core.takeSent()
            core.receive(Self.publish(body: Self.pidf, n: 301), from: "192.0.2.20:5080")
            #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 200 OK"])
        }
    }
}
