import SwiftletRuntime
import SwiftletSDK
import Testing

/// tm's `t_relay_to_sctp`/`t_replicate_sctp`, `;transport=sctp` next hops and `$pr` over an
/// `sctp:` socket, on the embedded core (the sctp module is loaded as the server loads it;
/// nothing here needs kernel SCTP).
@Suite struct TMSCTPTests {
    static func request(_ method: String, _ user: String, callID: String, branch: String, via: String = "UDP")
        -> String
    {
        [
            "\(method) sip:\(user)@127.0.0.1 SIP/2.0", "Via: SIP/2.0/\(via) 127.0.0.1:5070;branch=\(branch)",
            "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:\(user)@127.0.0.1>", "Call-ID: \(callID)",
            "CSeq: 1 \(method)", "Max-Forwards: 70", "Contact: <sip:alice@127.0.0.1:5070>", "Content-Length: 0",
        ].joined(separator: "\r\n") + "\r\n\r\n"
    }

    @Test func relayAndReplicateOverSCTP() throws {
        let core = try EmbeddedCore(
            config: """
                log_stderror=yes
                debug=-1
                listen=udp:127.0.0.1:5060
                listen=sctp:(127.0.0.1, 127.0.0.9):5060
                loadmodule "tm.so"
                loadmodule "sl.so"
                request_route {
                    if ($rU == "relay") { t_relay_to_sctp("127.0.0.2", "5080"); exit; }
                    if ($rU == "du") { $du = "sip:127.0.0.3:5090"; t_relay_to_sctp(); exit; }
                    if ($rU == "uri") { $du = "sip:127.0.0.4:5091;transport=sctp"; t_relay(); exit; }
                    if ($rU == "rep") {
                        if (t_replicate_sctp("127.0.0.5", "5092")) { t_reply("200", "replicated"); }
                        exit;
                    }
                    if ($rU == "proto") { sl_send_reply("200", "proto $pr $proto"); exit; }
                }

                """, modulePath: productsDirectory)
        defer { core.shutdown() }
        func sentLine(_ user: String, _ n: Int) -> (String, String) {
            core.receive(
                Self.request("INVITE", user, callID: "sctp-\(user)", branch: "z9hG4bK-s\(n)"), from: "127.0.0.1:5070")
            let sent = core.takeSent().filter { $0.text.hasPrefix("INVITE") }
            guard let s = sent.last else { return ("nothing sent", "") }
            let via = s.text.components(separatedBy: "\r\n").first { $0.hasPrefix("Via: ") } ?? ""
            return ("\(s.destination) from \(s.socket)", via)
        }
        var (line, via) = sentLine("relay", 1)
        #expect(line == "sctp:127.0.0.2:5080 from sctp:127.0.0.1:5060")
        #expect(via.hasPrefix("Via: SIP/2.0/SCTP 127.0.0.1;branch=z9hG4bK"), "\(via)")
        (line, _) = sentLine("du", 2)
        #expect(line == "sctp:127.0.0.3:5090 from sctp:127.0.0.1:5060")
        (line, via) = sentLine("uri", 3)
        #expect(line == "sctp:127.0.0.4:5091 from sctp:127.0.0.1:5060")
        #expect(via.hasPrefix("Via: SIP/2.0/SCTP "))

        core.receive(
            Self.request("MESSAGE", "rep", callID: "sctp-rep", branch: "z9hG4bK-s4"), from: "127.0.0.1:5070")
        let sent = core.takeSent()
        #expect(
            sent.map { "\($0.text.components(separatedBy: "\r\n")[0]) -> \($0.destination)" } == [
                "MESSAGE sip:rep@127.0.0.1 SIP/2.0 -> sctp:127.0.0.5:5092",
                "SIP/2.0 200 replicated -> udp:127.0.0.1:5070",
            ])

        // A request received over SCTP: $pr, and the reply back over SCTP.
        core.receive(
            Self.request("OPTIONS", "proto", callID: "sctp-pr", branch: "z9hG4bK-s5", via: "SCTP"),
            from: "127.0.0.1:5070", proto: .sctp)
        let reply = core.takeSent()
        #expect(
            reply.map { "\($0.text.components(separatedBy: "\r\n")[0]) -> \($0.destination)" } == [
                "SIP/2.0 200 proto sctp sctp -> sctp:127.0.0.1:5070"
            ])
    }

    @Test func withoutAnSCTPSocketTheRelayFails() throws {
        let core = try EmbeddedCore(
            config: """
                log_stderror=yes
                debug=-1
                listen=udp:127.0.0.1:5060
                loadmodule "tm.so"
                loadmodule "sl.so"
                request_route {
                    if (!t_relay_to_sctp("127.0.0.2", "5080")) { sl_send_reply("500", "no sctp socket"); }
                }

                """, modulePath: productsDirectory)
        defer { core.shutdown() }
        core.receive(Self.request("INVITE", "bob", callID: "nosctp", branch: "z9hG4bK-n1"), from: "127.0.0.1:5070")
        let sent = core.takeSent()
        #expect(!sent.contains { $0.destination.description.hasPrefix("sctp:") })
        #expect(sent.contains { $0.text.hasPrefix("SIP/2.0 500 no sctp socket\r\n") }, "\(sent.map(\.text))")
    }
}
