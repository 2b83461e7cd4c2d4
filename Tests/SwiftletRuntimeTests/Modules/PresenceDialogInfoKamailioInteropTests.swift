import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

extension DatabaseSuites {
    /// The `dialog` exchange of PresenceDialogInfoTests with Debian's Kamailio 5.6.3
    /// (presence, presence_xml and presence_dialoginfo on the same PostgreSQL tables, the
    /// stock configuration's database modes) and with Swiftlet's modules: the same status
    /// lines, presence headers and NOTIFY bodies, byte for byte.
    @Suite(.serialized) struct PresenceDialogInfoKamailioInteropTests {
        typealias T = PresenceModuleTests
        typealias D = PresenceDialogInfoTests
        static let available =
            kamailioPath != nil && FileManager.default.fileExists(atPath: kamailioModules + "presence_dialoginfo.so")
            && FileManager.default.fileExists(atPath: kamailioModules + "db_postgres.so")
            && DatabaseEngine.postgres.isInstalled

        /// Runs the exchange: `send` delivers a request and returns the replies and NOTIFYs it
        /// caused (NOTIFYs answered), `pause` lets a second pass (publications get distinct
        /// `received_time`s, so their order is the same in both).
        static func scenario(send: (String) -> [String], pause: () -> Void) -> [[String]] {
            var seen: [[String]] = []
            func run(_ request: String) -> String? {
                let got = send(request)
                seen.append(contentsOf: got.map(PresenceKamailioInteropTests.summary))
                return got.first { $0.hasPrefix("SIP/2.0") }.flatMap { T.header($0, "SIP-ETag") }
            }
            _ = run(T.subscribe(event: "dialog", callID: "ki-1"))
            pause()
            _ = run(D.publish(D.trying, n: 1))
            pause()
            let etag2 = run(D.publish(D.twoDialogs, n: 2)) ?? "none"
            pause()
            let etag3 = run(D.publish(D.terminated, n: 3)) ?? "none"
            _ = run(D.publish(D.trying, ifMatch: etag3, n: 4))
            _ = run(D.publish(nil, ifMatch: etag3, expires: 0, n: 5))
            _ = run(D.publish(nil, ifMatch: etag2, expires: 0, n: 6))
            _ = run(T.subscribe(event: "dialog", callID: "ki-2"))
            _ = run(T.subscribe(event: "dialogs", callID: "ki-3"))
            return seen
        }

        @Test(.enabled(if: available, "Kamailio's presence and postgres modules or PostgreSQL are not installed"))
        func sameNotifiesAsKamailio() throws {
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
                    loadmodule "presence_dialoginfo.so"
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
            let theirs = Self.scenario(
                send: { request in
                    let text = request.replacingOccurrences(of: "192.0.2.10:5070", with: "127.0.0.1:\(client.port)")
                        .replacingOccurrences(of: "192.0.2.20:5080", with: "127.0.0.1:\(client.port)")
                    client.send(text, to: kamailio.port)
                    var got: [String] = []
                    while let m = client.receive(timeout: 0.5) {
                        if m.hasPrefix("NOTIFY") {
                            client.send(T.ok(m), to: kamailio.port)
                            if got.contains(where: { $0.hasPrefix("NOTIFY") }) { continue }  // retransmission
                        }
                        got.append(m)
                    }
                    // Replies first (Kamailio may send the NOTIFY first over UDP).
                    return got.sorted { $0.hasPrefix("SIP/2.0") && !$1.hasPrefix("SIP/2.0") }
                }, pause: { Thread.sleep(forTimeInterval: 1.05) })
            kamailio.stop()

            let core = try D.core(.postgres)
            defer { core.shutdown() }
            let ours = Self.scenario(
                send: { request in
                    let text = request.replacingOccurrences(of: "192.0.2.10:5070", with: "127.0.0.1:5070")
                        .replacingOccurrences(of: "192.0.2.20:5080", with: "127.0.0.1:5070")
                    core.receive(text, from: "127.0.0.1:5070")
                    let sent = core.takeSent().map(\.text)
                    for s in sent where s.hasPrefix("NOTIFY") { core.receive(T.ok(s), from: "127.0.0.1:5070") }
                    _ = core.takeSent()
                    return sent.sorted { $0.hasPrefix("SIP/2.0") && !$1.hasPrefix("SIP/2.0") }
                }, pause: { core.advance(milliseconds: 1000) })
            #expect(ours.count == theirs.count, "\(ours)\n\(theirs)")
            for (a, b) in zip(ours, theirs) { #expect(a == b) }
        }
    }
}
