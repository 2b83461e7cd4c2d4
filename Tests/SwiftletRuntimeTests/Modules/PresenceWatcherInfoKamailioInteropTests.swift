import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

extension DatabaseSuites {
    /// The presence.winfo exchange of PresenceWatcherInfoTests with Debian's Kamailio 5.6.3
    /// (presence and presence_xml on the same PostgreSQL tables, the stock configuration's
    /// database modes) and with Swiftlet's modules: the same status lines, presence headers,
    /// Allow-Events and NOTIFY bodies, byte for byte.
    @Suite(.serialized) struct PresenceWatcherInfoKamailioInteropTests {
        typealias T = PresenceModuleTests
        typealias W = PresenceWatcherInfoTests
        static let available =
            kamailioPath != nil && FileManager.default.fileExists(atPath: kamailioModules + "presence_xml.so")
            && FileManager.default.fileExists(atPath: kamailioModules + "db_postgres.so")
            && DatabaseEngine.postgres.isInstalled

        /// Runs the exchange: `send` delivers a request and returns the replies and NOTIFYs it
        /// caused, replies first, NOTIFYs in the order sent (answered).
        static func scenario(send: (String) -> [String]) -> [[String]] {
            var seen: [[String]] = []
            func run(_ request: String) -> String? {
                let got = send(request)
                for m in got {
                    var summary = PresenceKamailioInteropTests.summary(m)
                    if let a = T.header(m, "Allow-Events") { summary.append("Allow-Events: " + a) }
                    seen.append(summary)
                }
                return got.first { $0.hasPrefix("SIP/2.0") }.flatMap { T.header($0, "To") }?
                    .components(separatedBy: "tag=").last
            }
            _ = run(W.winfoSubscribe(callID: "kw-0"))
            let toTag = run(T.subscribe(callID: "kw-1")) ?? "none"
            _ = run(T.subscribe(expires: 300, callID: "kw-1", cseq: 2, toTag: toTag))
            _ = run(W.carol(T.subscribe(callID: "kw-2")))
            _ = run(T.subscribe(expires: 0, callID: "kw-1", cseq: 3, toTag: toTag))
            _ = run(W.winfoSubscribe(callID: "kw-3"))
            _ = run(T.subscribe(event: "foo", callID: "kw-4"))
            return seen
        }

        @Test(.enabled(if: available, "Kamailio's presence and postgres modules or PostgreSQL are not installed"))
        func sameWatcherInfoAsKamailio() throws {
            try T.core(.postgres).shutdown()  // fresh tables with their versions
            let url = try DatabaseEngine.postgres.url()
            let kamailio = try KamailioTestServer(
                config: """
                    #!KAMAILIO
                    debug=2
                    log_stderror=yes
                    children=1
                    listen=udp:127.0.0.1:PORT
                    mpath="\(kamailioModules)"
                    loadmodule "db_postgres.so"
                    loadmodule "tm.so"
                    loadmodule "sl.so"
                    loadmodule "textops.so"
                    loadmodule "presence.so"
                    loadmodule "presence_xml.so"
                    modparam("presence", "db_url", "\(url)")
                    modparam("presence_xml", "db_url", "\(url)")
                    modparam("presence_xml", "force_active", 1)
                    request_route {
                        if (!t_newtran()) { sl_reply_error(); exit; }
                        if(is_method("PUBLISH")) { handle_publish(); t_release(); }
                        else if(is_method("SUBSCRIBE")) { handle_subscribe(); t_release(); }
                        exit;
                    }
                    """)
            let client = UDPClient()
            func local(_ request: String, port: Int) -> String {
                request.replacingOccurrences(of: "192.0.2.10:5070", with: "127.0.0.1:\(port)")
                    .replacingOccurrences(of: "192.0.2.30:5090", with: "127.0.0.1:\(port)")
            }
            let theirs = Self.scenario { request in
                client.send(local(request, port: client.port), to: kamailio.port)
                var got: [String] = []
                while let m = client.receive(timeout: 0.5) {
                    if m.hasPrefix("NOTIFY") {
                        client.send(T.ok(m), to: kamailio.port)
                        let key = (T.header(m, "Call-ID") ?? "") + (T.header(m, "CSeq") ?? "")
                        if got.contains(where: { (T.header($0, "Call-ID") ?? "") + (T.header($0, "CSeq") ?? "") == key }
                        ) {
                            continue  // a retransmission
                        }
                    }
                    got.append(m)
                }
                // Replies first (over UDP a NOTIFY may overtake the reply), NOTIFYs as sent.
                return got.filter { $0.hasPrefix("SIP/2.0") } + got.filter { !$0.hasPrefix("SIP/2.0") }
            }
            kamailio.stop()

            let core = try T.core(.postgres)
            defer { core.shutdown() }
            let ours = Self.scenario { request in
                core.receive(local(request, port: 5070), from: "127.0.0.1:5070")
                let sent = core.takeSent().map(\.text)
                for s in sent where s.hasPrefix("NOTIFY") { core.receive(T.ok(s), from: "127.0.0.1:5070") }
                _ = core.takeSent()
                return sent.filter { $0.hasPrefix("SIP/2.0") } + sent.filter { !$0.hasPrefix("SIP/2.0") }
            }
            #expect(ours.count == theirs.count, "\(ours)\n\(theirs)")
            for (a, b) in zip(ours, theirs) { #expect(a == b) }
        }
    }
}
