import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

extension DatabaseSuites {
    /// The same exchange with Debian's Kamailio 5.6.3 (presence + presence_xml in memory mode,
    /// `force_active`) and with Swiftlet's modules: the status lines and the presence headers
    /// of the replies and of the NOTIFYs are the same.
    @Suite(.serialized) struct PresenceKamailioInteropTests {
        typealias T = PresenceModuleTests
        static let available =
            kamailioPath != nil && FileManager.default.fileExists(atPath: kamailioModules + "presence_xml.so")
            && DatabaseEngine.postgres.isInstalled

        /// The requests, each with the client's port in its Via and Contact.
        static func exchange(port: Int) -> [String] {
            func fix(_ s: String) -> String {
                s.replacingOccurrences(of: "192.0.2.10:5070", with: "127.0.0.1:\(port)")
                    .replacingOccurrences(of: "192.0.2.20:5080", with: "127.0.0.1:\(port)")
            }
            return [
                T.subscribe(callID: "i-1"), T.publish(body: T.pidf), T.publish(body: nil, ifMatch: "a.1.2.3.4", n: 3),
                T.subscribe(event: "dialog", callID: "i-2"), T.subscribe(expires: 10, callID: "i-3"),
                T.subscribe(callID: "i-4", toTag: "nosuch"), T.publish(body: "<presence><tuple>", n: 4),
                T.publish(body: nil, n: 5),
            ].map(fix)
        }

        /// What is compared of a message: its first line and these headers (the Contact's
        /// port and the ETag's numbers left out).
        static func summary(_ text: String) -> [String] {
            var out = [
                text.components(separatedBy: "\r\n")[0].replacingOccurrences(
                    of: #":\d+ SIP"#, with: " SIP", options: .regularExpression)
            ]
            for h in ["Expires", "Min-Expires", "Event", "Subscription-State", "Content-Type", "CSeq"] {
                if let v = T.header(text, h) {
                    out.append(
                        h + ": "
                            + v.replacingOccurrences(
                                of: #"expires=\d+"#, with: "expires=N", options: .regularExpression))
                }
            }
            if let c = T.header(text, "Contact") {
                out.append(
                    "Contact: " + c.replacingOccurrences(of: #":\d+;"#, with: ":P;", options: .regularExpression))
            }
            if T.header(text, "SIP-ETag") != nil { out.append("SIP-ETag") }
            if text.hasPrefix("NOTIFY") { out.append("body: " + T.body(text)) }
            return out
        }

        /// Runs the exchange over UDP against `port`, answering each NOTIFY with 200.
        static func run(port: Int) -> [[String]] {
            let client = UDPClient()
            var seen: [[String]] = []
            for request in exchange(port: client.port) {
                client.send(request, to: port)
                var got: [String] = []
                while let m = client.receive(timeout: 0.5) {
                    if m.hasPrefix("NOTIFY") {
                        client.send(T.ok(m), to: port)
                        if got.contains(where: { $0.hasPrefix("NOTIFY") }) { continue }  // retransmission
                    }
                    got.append(m)
                }
                // Replies first, then NOTIFYs (Kamailio may send the NOTIFY first over UDP).
                seen.append(contentsOf: got.sorted { $0.hasPrefix("SIP/2.0") && !$1.hasPrefix("SIP/2.0") }.map(summary))
            }
            return seen
        }

        @Test(.enabled(if: available, "Kamailio's presence modules or PostgreSQL are not installed"))
        func sameAnswersAsKamailio() throws {
            let kamailio = try KamailioTestServer(
                config: """
                    #!KAMAILIO
                    debug=2
                    log_stderror=yes
                    children=1
                    listen=udp:127.0.0.1:PORT
                    mpath="\(kamailioModules)"
                    loadmodule "tm.so"
                    loadmodule "sl.so"
                    loadmodule "textops.so"
                    loadmodule "presence.so"
                    loadmodule "presence_xml.so"
                    modparam("presence", "publ_cache", 2)
                    modparam("presence", "subs_db_mode", 0)
                    modparam("presence", "min_expires", 30)
                    modparam("presence_xml", "force_active", 1)
                    request_route {
                        if (!t_newtran()) { sl_reply_error(); exit; }
                        if(is_method("PUBLISH")) { handle_publish(); t_release(); }
                        else if(is_method("SUBSCRIBE")) { handle_subscribe(); t_release(); }
                        exit;
                    }
                    """)
            defer { kamailio.stop() }
            let theirs = Self.run(port: kamailio.port)

            let core = try T.core(.postgres)
            defer { core.shutdown() }
            var ours: [[String]] = []
            for request in Self.exchange(port: 5070) {
                core.receive(request, from: "127.0.0.1:5070")
                let sent = core.takeSent()
                for s in sent where s.firstLine.hasPrefix("NOTIFY") {
                    core.receive(T.ok(s.text), from: "127.0.0.1:5070")
                }
                _ = core.takeSent()
                ours.append(
                    contentsOf: sent.map(\.text).sorted { $0.hasPrefix("SIP/2.0") && !$1.hasPrefix("SIP/2.0") }.map(
                        Self.summary))
            }
            // Allow-Events is compared in PresenceWatcherInfoKamailioInteropTests.
            #expect(ours.count == theirs.count, "\(ours)\n\(theirs)")
            for (a, b) in zip(ours, theirs) { #expect(a == b) }
        }
    }
}
