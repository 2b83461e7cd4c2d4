import Foundation
import Testing

/// Stateless forwarding through the running binary over UDP: a test socket plays the UAC,
/// another the UAS; every forwarded message is compared header by header.
@Suite(.serialized) struct StatelessForwardingTests {
    static func config(_ body: String, extra: String = "") -> String {
        """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=2
        listen=udp:127.0.0.1:PORT
        \(extra)
        request_route {
        \(body)
        }
        """
    }

    static func invite(via: String, ruri: String = "sip:bob@192.0.2.50") -> [String] {
        [
            "INVITE \(ruri) SIP/2.0",
            "Via: \(via)",
            "From: <sip:alice@example.com>;tag=f1",
            "To: <sip:bob@example.com>",
            "Call-ID: fwd-1@test",
            "CSeq: 1 INVITE",
            "Max-Forwards: 70",
            "Contact: <sip:alice@127.0.0.1:CPORT>",
            "Content-Length: 0",
        ]
    }

    @Test func aRequestGoesToDuWithOurViaAndTheReplyComesBack() throws {
        let uas = UDPClient()
        let server = try TestServer(config: Self.config("$du = \"sip:127.0.0.1:\(uas.port)\";\nforward();\nexit;"))
        let uac = UDPClient()
        let request = sipRequest(
            Self.invite(via: "SIP/2.0/UDP 127.0.0.1:CPORT;branch=z9hG4bK-a1", ruri: "sip:bob@127.0.0.1:\(server.port)"),
            clientPort: uac.port)
        uac.send(request, to: server.port)
        let forwarded = try #require(uas.receive(), "nothing forwarded; log: \(server.log)")
        let lines = replyLines(forwarded)
        #expect(lines[0] == "INVITE sip:bob@127.0.0.1:\(server.port) SIP/2.0")
        let ourVia = "Via: SIP/2.0/UDP 127.0.0.1:\(server.port);branch=z9hG4bK"
        #expect(lines[1].hasPrefix(ourVia))
        #expect(lines[1].count == ourVia.count + 32)
        // Same source address as the Via host, no rport: the received Via is untouched.
        #expect(lines[2] == "Via: SIP/2.0/UDP 127.0.0.1:\(uac.port);branch=z9hG4bK-a1")
        #expect(Array(lines[3...]) == Array(replyLines(request)[2...]))

        // A retransmission gets the same branch (RFC 3261 16.11).
        uac.send(request, to: server.port)
        let again = try #require(uas.receive())
        #expect(replyLines(again)[1] == lines[1])

        // The UAS answers to the top Via (the proxy); the proxy removes it and sends the
        // reply to the next Via.
        let branch = String(lines[1].dropFirst("Via: ".count))
        let reply =
            [
                "SIP/2.0 180 Ringing",
                "Via: \(branch), SIP/2.0/UDP 127.0.0.1:\(uac.port);branch=z9hG4bK-a1",
                "From: <sip:alice@example.com>;tag=f1",
                "To: <sip:bob@example.com>;tag=t9",
                "Call-ID: fwd-1@test",
                "CSeq: 1 INVITE",
                "Content-Length: 0",
            ].joined(separator: "\r\n") + "\r\n\r\n"
        uas.send(reply, to: server.port)
        let back = try #require(uac.receive(), "reply not forwarded; log: \(server.log)")
        let backLines = replyLines(back)
        #expect(backLines[0] == "SIP/2.0 180 Ringing")
        #expect(backLines[1] == "Via: SIP/2.0/UDP 127.0.0.1:\(uac.port);branch=z9hG4bK-a1")
        #expect(backLines[2] == "From: <sip:alice@example.com>;tag=f1")
        #expect(backLines.count == 7)
    }

    @Test func forwardedMessagesAreCounted() throws {
        let uas = UDPClient()
        let server = try TestServer(
            config: Self.config(
                """
                if ($rm == "OPTIONS") {
                    sl_send_reply("200", "fwd=$stat(fwd_requests) fwdr=$stat(fwd_replies) drop=$stat(drop_requests)");
                    exit;
                }
                $du = "sip:127.0.0.1:\(uas.port)";
                forward();
                """, extra: "loadmodule \"sl.so\"\nloadmodule \"pv.so\""))
        let uac = UDPClient()
        uac.send(
            sipRequest(Self.invite(via: "SIP/2.0/UDP 127.0.0.1:CPORT;branch=z9hG4bK-s1"), clientPort: uac.port),
            to: server.port)
        let forwarded = replyLines(try #require(uas.receive(), "log: \(server.log)"))
        let reply =
            [
                "SIP/2.0 180 Ringing", forwarded[1], forwarded[2], "From: <sip:alice@example.com>;tag=f1",
                "To: <sip:bob@example.com>;tag=t9", "Call-ID: fwd-1@test", "CSeq: 1 INVITE", "Content-Length: 0",
            ].joined(separator: "\r\n") + "\r\n\r\n"
        uas.send(reply, to: server.port)
        _ = try #require(uac.receive(), "log: \(server.log)")
        usleep(100_000)  // the counter is incremented just after the reply left
        uac.send(sipRequest(optionsRequest(), clientPort: uac.port), to: server.port)
        let status = replyLines(try #require(uac.receive()))[0]
        #expect(status == "SIP/2.0 200 fwd=1 fwdr=1 drop=0")
    }

    @Test func onsendRouteSeesTheDestinationAndCanDrop() throws {
        let uas = UDPClient()
        let blocked = UDPClient()
        let server = try TestServer(
            config: Self.config(
                """
                $du = "sip:127.0.0.1:" + $hdr(X-Port);
                if (!forward()) {
                    sl_send_reply("500", "not sent");
                }
                """,
                extra: """
                    loadmodule "sl.so"
                    loadmodule "xlog.so"
                    onsend_route {
                        $var(to) = to_ip;
                        $var(snd) = snd_ip;
                        xlog("L_INFO", "onsend from $si to_ip=$var(to) snd_ip=$var(snd)\\n");
                        if (to_port == \(blocked.port) && snd_port == \(0) + $Rp && snd_proto == UDP && snd_af == INET) {
                            drop;
                        }
                    }
                    """))
        let uac = UDPClient()
        for (callID, port) in [("ok", uas.port), ("blocked", blocked.port)] {
            var lines = Self.invite(via: "SIP/2.0/UDP 127.0.0.1:CPORT;branch=z9hG4bK-o\(callID)")
            lines.insert("X-Port: \(port)", at: 1)
            lines = lines.map { $0.replacingOccurrences(of: "fwd-1@test", with: "\(callID)@test") }
            uac.send(sipRequest(lines, clientPort: uac.port), to: server.port)
        }
        #expect(replyLines(try #require(uas.receive(), "log: \(server.log)"))[0].hasPrefix("INVITE"))
        #expect(replyLines(try #require(uac.receive(), "log: \(server.log)"))[0] == "SIP/2.0 500 not sent")
        #expect(blocked.receive(timeout: 0.2) == nil)
        #expect(server.log.contains("onsend from 127.0.0.1 to_ip=127.0.0.1 snd_ip=127.0.0.1"))
    }

    @Test func receivedAndRportAreAddedToTheForwardedRequest() throws {
        let uas = UDPClient()
        let server = try TestServer(
            config: Self.config("forward(\"127.0.0.1\", \(uas.port));\nexit;"))
        let uac = UDPClient()
        // The Via names another host and asks for rport: Kamailio puts received after
        // host:port and fills rport where it stands.
        uac.send(
            sipRequest(Self.invite(via: "SIP/2.0/UDP 192.0.2.7:5099;branch=z9hG4bK-b2;rport"), clientPort: uac.port),
            to: server.port)
        let lines = replyLines(try #require(uas.receive(), "log: \(server.log)"))
        #expect(
            lines[2]
                == "Via: SIP/2.0/UDP 192.0.2.7:5099;received=127.0.0.1;branch=z9hG4bK-b2;rport=\(uac.port)")

        // The reply goes to received:rport, not to the Via's sent-by.
        let reply =
            [
                "SIP/2.0 200 OK", "Via: \(lines[1].dropFirst(5))", "\(lines[2])",
                "From: <sip:alice@example.com>;tag=f1", "To: <sip:bob@example.com>;tag=t9", "Call-ID: fwd-1@test",
                "CSeq: 1 INVITE", "Content-Length: 0",
            ].joined(separator: "\r\n") + "\r\n\r\n"
        uas.send(reply, to: server.port)
        let back = replyLines(try #require(uac.receive(), "log: \(server.log)"))
        #expect(back[0] == "SIP/2.0 200 OK")
        #expect(back[1] == lines[2])
    }

    @Test func receivedIsAddedWhenTheViaHostIsNotTheSourceAddress() throws {
        let uas = UDPClient()
        let server = try TestServer(
            config: Self.config("forward(\"127.0.0.1\", \(uas.port));\nexit;"))
        let uac = UDPClient()
        // Kamailio's received_test: the sent-by host is compared with the source address (an
        // IPv4 literal as a number, anything else as text; a name never matches).
        for (host, received) in [
            ("127.0.0.1", false), ("192.0.2.7", true), ("127.0.0.01", true), ("uac.example.com", true),
        ] {
            uac.send(
                sipRequest(Self.invite(via: "SIP/2.0/UDP \(host):5099;branch=z9hG4bK-h\(host)"), clientPort: uac.port),
                to: server.port)
            let lines = replyLines(try #require(uas.receive(), "log: \(server.log)"))
            #expect(
                lines[2]
                    == "Via: SIP/2.0/UDP \(host):5099\(received ? ";received=127.0.0.1" : "");branch=z9hG4bK-h\(host)")
        }
    }

    @Test func forceRportAddLocalRportAndAdvertisedAddress() throws {
        let uas = UDPClient()
        let server = try TestServer(
            config: Self.config(
                """
                force_rport();
                add_local_rport();
                set_advertised_address("proxy.example.net");
                set_advertised_port(5999);
                $ru = "sip:carol@127.0.0.1:\(uas.port)";
                forward();
                """))
        let uac = UDPClient()
        uac.send(
            sipRequest(Self.invite(via: "SIP/2.0/UDP 127.0.0.1:CPORT;branch=z9hG4bK-c3"), clientPort: uac.port),
            to: server.port)
        let lines = replyLines(try #require(uas.receive(), "log: \(server.log)"))
        #expect(lines[0] == "INVITE sip:carol@127.0.0.1:\(uas.port) SIP/2.0")
        #expect(lines[1].hasPrefix("Via: SIP/2.0/UDP proxy.example.net:5999;branch=z9hG4bK"))
        #expect(lines[1].hasSuffix(";rport"))
        #expect(lines[2] == "Via: SIP/2.0/UDP 127.0.0.1:\(uac.port);rport=\(uac.port);branch=z9hG4bK-c3")
    }

    @Test func aReplyWithOneViaOrNotForUsIsDropped() throws {
        let server = try TestServer(config: Self.config("drop;", extra: "check_via=yes"))
        let uac = UDPClient()
        // Top Via is not this server: with check_via the reply is dropped.
        let reply =
            [
                "SIP/2.0 200 OK", "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-x",
                "Via: SIP/2.0/UDP 127.0.0.1:\(uac.port);branch=z9hG4bK-y", "From: <sip:a@b>;tag=1",
                "To: <sip:c@d>;tag=2",
                "Call-ID: x@y", "CSeq: 1 INVITE", "Content-Length: 0",
            ].joined(separator: "\r\n") + "\r\n\r\n"
        uac.send(reply, to: server.port)
        #expect(server.waitForLog("host in first via!=me"))
        #expect(uac.receive(timeout: 0.3) == nil)
    }

    /// A request routed back to this server is answered 482 (Kamailio would loop until
    /// Max-Forwards runs out); the caller does not retransmit into nothing.
    @Test func forwardingToItselfIsAnswered482() throws {
        let server = try TestServer(config: Self.config("forward(); exit;", extra: ""))
        let uac = UDPClient()
        uac.send(
            sipRequest(
                Self.invite(
                    via: "SIP/2.0/UDP 127.0.0.1:CPORT;branch=z9hG4bK-d4", ruri: "sip:bob@127.0.0.1:\(server.port)"),
                clientPort: uac.port), to: server.port)
        let reply = replyLines(try #require(uac.receive(), "log: \(server.log)"))
        #expect(reply[0] == "SIP/2.0 482 Loop Detected")
        #expect(server.log.contains("a loop): replying 482"))
        #expect(uac.receive(timeout: 0.3) == nil)  // one reply only
    }

    @Test func forwardArgumentsAreCheckedAtStartUp() throws {
        let errors = ScriptHarness.errors(
            """
            listen=udp:127.0.0.1:5999
            request_route {
                forward("10.0.0.1:99999");
                force_send_socket(udp:10.9.9.9:5060);
                set_advertised_port(0);
                force_send_socket(udp:127.0.0.1:5999);
            }
            """)
        #expect(
            errors == [
                "bad.cfg:3:13: error: forward(): bad destination '10.0.0.1:99999' (expected [proto:]host[:port])",
                "bad.cfg:4:23: error: force_send_socket(): udp:10.9.9.9:5060 is not a local socket (listen=)",
                "bad.cfg:5:25: error: set_advertised_port() needs a port 1-65535, not 0",
            ])
    }
}
