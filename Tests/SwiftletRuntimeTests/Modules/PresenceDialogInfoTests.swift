import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

extension DatabaseSuites {
    /// presence + presence_xml + presence_dialoginfo on the private PostgreSQL and MariaDB
    /// servers with the stock configuration's WITH_PRESENCE route: alice subscribes to bob's
    /// `dialog` event, bob publishes dialog-info documents; every NOTIFY's headers and its
    /// aggregated body, field by field.
    @Suite(.serialized) struct PresenceDialogInfoTests {
        typealias T = PresenceModuleTests
        static let engines = DatabaseEngine.allCases.filter(\.isInstalled)

        /// A dialog-info document of bob with the given `<dialog>` elements.
        static func document(_ dialogs: String, declaration: Bool = true) -> String {
            (declaration ? "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" : "")
                + "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"1\" state=\"full\""
                + " entity=\"sip:bob@example.com\">\n\(dialogs)\n</dialog-info>"
        }

        static let trying = document(#"  <dialog id="d1" direction="initiator"><state>trying</state></dialog>"#)
        static let terminated = document(
            #"  <dialog id="d1" direction="initiator"><state>terminated</state></dialog>"#)
        /// Two dialogs on one line, single-quoted attribute, an entity, a comment and a
        /// character outside ASCII, as libxml2 rewrites them.
        static let twoDialogs = document(
            #"<dialog id='d2' call-id="c&amp;2"><state>confirmed</state><local><identity display="Bob é">sip:bob@example.com</identity></local></dialog><!-- x --><dialog id="d3"><state>early</state><remote><target uri="sip:carol@example.com"></target></remote></dialog>"#,
            declaration: false)

        /// The NOTIFY body Kamailio makes of these dialog elements (as written in it).
        static func body(version: Int, _ dialogs: [String]) -> String {
            "<?xml version=\"1.0\"?>\n"
                + "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"\(version)\" state=\"full\" entity=\"sip:bob@example.com\">\n"
                + dialogs.map { "  " + $0 + "\n" }.joined() + "</dialog-info>\n"
        }

        static let d1Trying = "<dialog id=\"d1\" direction=\"initiator\">\n    <state>trying</state>\n  </dialog>"
        static let d1Terminated =
            "<dialog id=\"d1\" direction=\"initiator\">\n    <state>terminated</state>\n  </dialog>"
        static let d2 =
            "<dialog id=\"d2\" call-id=\"c&amp;2\">\n    <state>confirmed</state>\n    <local>\n      <identity display=\"Bob &#xE9;\">sip:bob@example.com</identity>\n    </local>\n  </dialog>"
        static let d3 =
            "<dialog id=\"d3\">\n    <state>early</state>\n    <remote>\n      <target uri=\"sip:carol@example.com\"/>\n    </remote>\n  </dialog>"
        static let dummy =
            "<dialog id=\"615293b33c62dec073e05d9421e9f48b\" direction=\"recipient\">\t<state>terminated</state>\t</dialog>"

        static func core(_ engine: DatabaseEngine, params: String = "") throws -> EmbeddedCore {
            // PresenceModuleTests' schema and route, with presence_dialoginfo.
            try T.core(engine).shutdown()
            return try EmbeddedCore(
                config: """
                    listen=udp:127.0.0.1:5060
                    loadmodule "\(engine.module).so"
                    loadmodule "tm.so"
                    loadmodule "sl.so"
                    loadmodule "textops.so"
                    loadmodule "presence.so"
                    loadmodule "presence_xml.so"
                    loadmodule "presence_dialoginfo.so"
                    modparam("presence", "db_url", "\(try engine.url())")
                    modparam("presence_xml", "db_url", "\(try engine.url())")
                    modparam("presence_xml", "force_active", 1)
                    \(params)
                    request_route {
                        if (!t_newtran()) { sl_reply_error(); exit; }
                        if(is_method("PUBLISH")) { handle_publish(); t_release(); }
                        else if(is_method("SUBSCRIBE")) { handle_subscribe(); t_release(); }
                        exit;
                    }
                    """, modulePath: productsDirectory)
        }

        /// A PUBLISH of bob's `dialog` state.
        static func publish(_ body: String?, ifMatch: String? = nil, expires: Int = 600, n: Int) -> String {
            T.publish(body: body, ifMatch: ifMatch, expires: expires, n: n)
                .replacingOccurrences(of: "Event: presence", with: "Event: dialog")
                .replacingOccurrences(of: "application/pidf+xml", with: "application/dialog-info+xml")
        }

        /// Sends `request`, answers every NOTIFY with 200 and returns the reply and the NOTIFY.
        static func exchange(_ core: EmbeddedCore, _ request: String, from: String = "192.0.2.10:5070") -> (
            reply: String?, notify: String?
        ) {
            core.receive(request, from: from)
            let sent = core.takeSent()
            let notify = sent.first { $0.firstLine.hasPrefix("NOTIFY") }?.text
            if let notify { core.receive(T.ok(notify), from: "192.0.2.10:5070") }
            _ = core.takeSent()
            return (sent.first { $0.firstLine.hasPrefix("SIP/2.0") }?.text, notify)
        }

        @Test(arguments: engines)
        func aggregatesThePublishedDialogs(engine: DatabaseEngine) throws {
            let core = try Self.core(engine)
            defer { core.shutdown() }
            var (reply, notify) = Self.exchange(core, T.subscribe(event: "dialog", callID: "dlg-1"))
            #expect(reply.map { $0.components(separatedBy: "\r\n")[0] } == "SIP/2.0 200 OK")
            var n = try #require(notify)
            #expect(n.hasPrefix("NOTIFY sip:alice@192.0.2.10:5070 SIP/2.0\r\n"))
            #expect(T.header(n, "Event") == "dialog")
            #expect(T.header(n, "Subscription-State") == "active;expires=600")
            #expect(T.header(n, "CSeq") == "2 NOTIFY")
            #expect(T.header(n, "Content-Type") == nil)
            #expect(T.body(n).isEmpty)
            // No row in watchers: the dialog event needs no authorization.
            #expect(
                try engine.sql("SELECT COUNT(*) FROM watchers").trimmingCharacters(in: .whitespacesAndNewlines) == "0")

            core.advance(milliseconds: 1000)
            (reply, notify) = Self.exchange(core, Self.publish(Self.trying, n: 1), from: "192.0.2.20:5080")
            let etag1 = try #require(reply.flatMap { T.header($0, "SIP-ETag") })
            n = try #require(notify)
            #expect(T.header(n, "Content-Type") == "application/dialog-info+xml")
            #expect(T.header(n, "CSeq") == "3 NOTIFY")
            #expect(T.body(n) == Self.body(version: 2, [Self.d1Trying]))

            core.advance(milliseconds: 1000)
            (reply, notify) = Self.exchange(core, Self.publish(Self.twoDialogs, n: 2), from: "192.0.2.20:5080")
            let etag2 = try #require(reply.flatMap { T.header($0, "SIP-ETag") })
            #expect(etag2 != etag1)
            n = try #require(notify)
            #expect(T.body(n) == Self.body(version: 3, [Self.d1Trying, Self.d2, Self.d3]))

            // A new publication of dialog d1 replaces the stored one.
            core.advance(milliseconds: 1000)
            (reply, notify) = Self.exchange(core, Self.publish(Self.terminated, n: 3), from: "192.0.2.20:5080")
            let etag3 = try #require(reply.flatMap { T.header($0, "SIP-ETag") })
            n = try #require(notify)
            #expect(T.body(n) == Self.body(version: 4, [Self.d2, Self.d3, Self.d1Terminated]))
            #expect(
                try engine.sql("SELECT COUNT(*) FROM presentity").trimmingCharacters(in: .whitespacesAndNewlines) == "2"
            )

            // Refreshing a terminated dialog changes nothing: 200 with the stored ETag, no NOTIFY.
            (reply, notify) = Self.exchange(
                core, Self.publish(Self.trying, ifMatch: etag3, n: 4), from: "192.0.2.20:5080")
            #expect(reply.map { $0.components(separatedBy: "\r\n")[0] } == "SIP/2.0 200 OK")
            #expect(reply.flatMap { T.header($0, "SIP-ETag") } == etag3)
            #expect(notify == nil)

            // Removal: the watchers see the removed publication's last state once more.
            (reply, notify) = Self.exchange(
                core, Self.publish(nil, ifMatch: etag3, expires: 0, n: 5), from: "192.0.2.20:5080")
            #expect(reply.flatMap { T.header($0, "Expires") } == "0")
            n = try #require(notify)
            #expect(T.body(n) == Self.body(version: 5, [Self.d2, Self.d3, Self.d1Terminated]))
            (reply, notify) = Self.exchange(
                core, Self.publish(nil, ifMatch: etag2, expires: 0, n: 6), from: "192.0.2.20:5080")
            n = try #require(notify)
            #expect(T.body(n) == Self.body(version: 6, [Self.d2, Self.d3]))
            #expect(
                try engine.sql("SELECT COUNT(*) FROM presentity").trimmingCharacters(in: .whitespacesAndNewlines) == "0"
            )

            // Nothing published: a NOTIFY without body.
            (reply, notify) = Self.exchange(core, T.subscribe(event: "dialog", callID: "dlg-2"))
            n = try #require(notify)
            #expect(T.header(n, "Content-Type") == nil)
            #expect(T.body(n).isEmpty)
        }

        @Test(arguments: engines)
        func singleDialogAndDummy(engine: DatabaseEngine) throws {
            let core = try Self.core(
                engine,
                params: """
                    modparam("presence_dialoginfo", "force_single_dialog", 1)
                    modparam("presence_dialoginfo", "force_dummy_dialog", 1)
                    """)
            defer { core.shutdown() }
            var (_, notify) = Self.exchange(core, T.subscribe(event: "dialog", callID: "dlg-3"))
            var n = try #require(notify)
            #expect(T.header(n, "Content-Type") == "application/dialog-info+xml")
            #expect(T.body(n) == Self.body(version: 1, [Self.dummy]))

            core.advance(milliseconds: 1000)
            (_, notify) = Self.exchange(core, Self.publish(Self.trying, n: 1), from: "192.0.2.20:5080")
            n = try #require(notify)
            #expect(T.body(n) == Self.body(version: 2, [Self.d1Trying]))
            // trying, confirmed and early: the early dialog wins.
            core.advance(milliseconds: 1000)
            (_, notify) = Self.exchange(core, Self.publish(Self.twoDialogs, n: 2), from: "192.0.2.20:5080")
            n = try #require(notify)
            #expect(T.body(n) == Self.body(version: 3, [Self.d3]))
        }
    }
}
