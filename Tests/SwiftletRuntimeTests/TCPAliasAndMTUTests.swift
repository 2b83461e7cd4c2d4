import Foundation
import Testing

/// `add_tcp_alias()` (a peer's Via port reached over its existing connection) and the
/// `udp_mtu` fallback (a request too large for UDP goes over TCP), through the binary.
@Suite(.serialized) struct TCPAliasAndMTUTests {
    static func request(_ method: String, via: String, extra: [String] = [], callID: String) -> String {
        sipRequest(
            [
                "\(method) sip:bob@127.0.0.1 SIP/2.0", "Via: \(via)", "From: <sip:a@test>;tag=1",
                "To: <sip:bob@test>", "Call-ID: \(callID)", "CSeq: 1 \(method)",
            ] + extra + ["Content-Length: 0"], clientPort: 0)
    }

    @Test func anAliasedConnectionCarriesRequestsForTheViaPort() throws {
        // A port where nothing listens: without the alias, forwarding there would fail.
        let unusedPort = freeUDPPort()
        let server = try TestServer(
            config: """
                log_stderror=yes
                children=1
                tcp_children=1
                listen=udp:127.0.0.1:PORT
                listen=tcp:127.0.0.1:PORT
                loadmodule "sl.so"
                request_route {
                    if ($rm == "REGISTER") {
                        add_tcp_alias();
                        sl_send_reply("200", "aliased");
                        exit;
                    }
                    $du = "sip:127.0.0.1:\(unusedPort);transport=tcp";
                    if (!forward()) { sl_send_reply("500", "not forwarded"); }
                }
                """)
        let tcp = try TCPClient(port: server.port)
        tcp.send(
            Self.request("REGISTER", via: "SIP/2.0/TCP 127.0.0.1:\(unusedPort);branch=z9hG4bK-r1", callID: "alias-1"))
        #expect(replyLines(try #require(tcp.receiveMessage(), "log: \(server.log)"))[0] == "SIP/2.0 200 aliased")
        let uac = UDPClient()
        uac.send(
            Self.request("MESSAGE", via: "SIP/2.0/UDP 127.0.0.1:\(uac.port);branch=z9hG4bK-m1", callID: "alias-2"),
            to: server.port)
        let forwarded = replyLines(
            try #require(tcp.receiveMessage(), "not on the aliased connection; log: \(server.log)"))
        #expect(forwarded[0] == "MESSAGE sip:bob@127.0.0.1 SIP/2.0")
        #expect(forwarded[1].hasPrefix("Via: SIP/2.0/TCP 127.0.0.1:\(server.port);branch=z9hG4bK"))
    }

    @Test func aRequestLargerThanTheUDPMTUGoesOverTCP() throws {
        let uas = TCPAcceptor()
        let server = try TestServer(
            config: """
                log_stderror=yes
                children=1
                tcp_children=1
                udp_mtu=600
                udp_mtu_try_proto=TCP
                listen=udp:127.0.0.1:PORT
                listen=tcp:127.0.0.1:PORT
                request_route {
                    $du = "sip:127.0.0.1:\(uas.port)";
                    forward();
                }
                """)
        let uac = UDPClient()
        let padding = (0..<8).map { "X-Pad-\($0): " + String(repeating: "p", count: 60) }
        uac.send(
            Self.request(
                "INVITE", via: "SIP/2.0/UDP 127.0.0.1:\(uac.port);branch=z9hG4bK-big", extra: padding, callID: "mtu-1"),
            to: server.port)
        let fd = try #require(uas.accept(), "no TCP connection; log: \(server.log)")
        let conn = TCPClient(accepted: fd)
        let forwarded = replyLines(try #require(conn.receiveMessage()))
        #expect(forwarded[0] == "INVITE sip:bob@127.0.0.1 SIP/2.0")
        #expect(forwarded[1].hasPrefix("Via: SIP/2.0/TCP 127.0.0.1:\(server.port);branch=z9hG4bK"))
        #expect(forwarded.contains(padding[7]))
    }

    @Test func badFallbackProtocolsAreConfigErrors() {
        let errors = ScriptHarness.errors(
            "udp_mtu_try_proto=FOO\nrequest_route {\n  udp_mtu_try_proto(BAR);\n}\n", file: "mtu.cfg")
        #expect(
            errors == [
                "mtu.cfg:1:19: error: 'udp_mtu_try_proto' takes UDP, TCP, TLS or SCTP",
                "mtu.cfg:3:21: error: udp_mtu_try_proto() takes a protocol: UDP, TCP, TLS or SCTP",
            ])
    }
}
