import Foundation
import Testing

/// A reply whose status `onreply_route` changes with textopsx, forwarded statelessly by the
/// running binary: the UAS socket sends it, the UAC socket receives it.
@Suite(.serialized) struct TextopsxReplyForwardingTests {
    static let config = """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=2
        listen=udp:127.0.0.1:PORT
        loadmodule "textopsx.so"
        loadmodule "textops.so"
        request_route { drop; }
        onreply_route {
            if ($rs == 486) { change_reply_status(600, "Busy Everywhere"); }
            if ($rs == 180) { change_reply_status_code(183); append_hf("X-Status: $rs\\r\\n"); }
        }
        """

    func reply(_ status: String, proxy: Int, uac: Int) -> String {
        [
            status,
            "Via: SIP/2.0/UDP 127.0.0.1:\(proxy);branch=z9hG4bKproxy1, SIP/2.0/UDP 127.0.0.1:\(uac);branch=z9hG4bK-a1",
            "From: <sip:alice@example.com>;tag=f1",
            "To: <sip:bob@example.com>;tag=t9",
            "Call-ID: tx-1@test",
            "CSeq: 1 INVITE",
            "Content-Length: 0",
        ].joined(separator: "\r\n") + "\r\n\r\n"
    }

    @Test func theForwardedReplyCarriesTheNewStatus() throws {
        let server = try TestServer(config: Self.config)
        let uas = UDPClient()
        let uac = UDPClient()
        uas.send(reply("SIP/2.0 486 Busy Here", proxy: server.port, uac: uac.port), to: server.port)
        let busy = try #require(uac.receive(), "reply not forwarded; log: \(server.log)")
        #expect(
            replyLines(busy) == [
                "SIP/2.0 600 Busy Everywhere",
                "Via: SIP/2.0/UDP 127.0.0.1:\(uac.port);branch=z9hG4bK-a1",
                "From: <sip:alice@example.com>;tag=f1",
                "To: <sip:bob@example.com>;tag=t9",
                "Call-ID: tx-1@test",
                "CSeq: 1 INVITE",
                "Content-Length: 0",
            ])
        uas.send(reply("SIP/2.0 180 Ringing", proxy: server.port, uac: uac.port), to: server.port)
        let ringing = try #require(uac.receive(), "reply not forwarded; log: \(server.log)")
        let lines = replyLines(ringing)
        #expect(lines[0] == "SIP/2.0 183 Ringing")
        #expect(lines.last == "X-Status: 183", "the script sees the new code")
        #expect(lines.count == 8)
    }
}
