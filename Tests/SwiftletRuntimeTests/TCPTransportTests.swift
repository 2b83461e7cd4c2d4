import Foundation
import Testing

/// SIP over TCP through the running binary: replies on the same connection, stream framing
/// (split and coalesced segments), Content-Length rules, and forwarding between UDP and TCP.
@Suite(.serialized) struct TCPTransportTests {
    static let config = """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=1
        tcp_children=2
        listen=udp:127.0.0.1:PORT
        listen=tcp:127.0.0.1:PORT
        loadmodule "sl.so"
        request_route {
            if ($rm == "OPTIONS") {
                sl_send_reply("200", "OK $pr");
                exit;
            }
            if ($rm == "INVITE") {
                $du = $hdr(X-Next);
                forward();
                exit;
            }
        }
        """

    static func options(_ n: Int, port: Int, transport: String = "TCP") -> String {
        sipRequest(
            [
                "OPTIONS sip:ping@127.0.0.1 SIP/2.0",
                "Via: SIP/2.0/\(transport) 127.0.0.1:\(port);branch=z9hG4bK-t\(n)",
                "From: <sip:t@test>;tag=\(n)", "To: <sip:ping@127.0.0.1>", "Call-ID: tcp-\(n)@test",
                "CSeq: \(n) OPTIONS", "Content-Length: 0",
            ], clientPort: port)
    }

    @Test func aRequestOverTCPIsAnsweredOnTheSameConnection() throws {
        let server = try TestServer(config: Self.config)
        let client = try TCPClient(port: server.port)
        client.send(Self.options(1, port: client.localPort))
        let reply = replyLines(try #require(client.receiveMessage(), "no reply; log: \(server.log)"))
        #expect(reply[0] == "SIP/2.0 200 OK tcp")
        #expect(reply[1] == "Via: SIP/2.0/TCP 127.0.0.1:\(client.localPort);branch=z9hG4bK-t1")
    }

    @Test func repliesStayInOrderWhileTheSocketIsFull() throws {
        // The client sends every request before it reads, through a small receive buffer:
        // the server's socket fills, so a reply its loop writes goes partly to the socket and
        // the rest to NIO's queue, and the replies after it must wait behind it.
        let server = try TestServer(config: Self.config)
        let client = try TCPClient(port: server.port, receiveBuffer: 4096)
        let count = 20000
        var all = ""
        for n in 1...count { all += Self.options(n, port: client.localPort) }
        client.send(all)
        var vias: [String] = []
        for _ in 1...count {
            guard let reply = client.receiveMessage(timeout: 30) else { break }
            vias.append(replyLines(reply)[1])
        }
        #expect(vias.count == count, "log: \(server.log)")
        let expected = (1...count).map { "Via: SIP/2.0/TCP 127.0.0.1:\(client.localPort);branch=z9hG4bK-t\($0)" }
        #expect(vias == Array(expected.prefix(vias.count)))
        // Once NIO wrote what it held, the loop writes to the socket again: still in order.
        client.send(Self.options(count + 1, port: client.localPort))
        let last = replyLines(try #require(client.receiveMessage(), "log: \(server.log)"))
        #expect(last[1].hasSuffix("-t\(count + 1)"))
    }

    @Test func aMessageSplitAcrossSegmentsAndTwoInOneSegment() throws {
        let server = try TestServer(config: Self.config)
        let client = try TCPClient(port: server.port)
        let first = Self.options(1, port: client.localPort)
        let cut = first.index(first.startIndex, offsetBy: 40)
        client.send(String(first[..<cut]))
        usleep(150_000)
        client.send(String(first[cut...]))
        #expect(replyLines(try #require(client.receiveMessage(), "log: \(server.log)"))[1].hasSuffix("-t1"))
        // Two messages in one write, the second with a body whose length is counted.
        let second = Self.options(2, port: client.localPort)
        let withBody = Self.options(3, port: client.localPort).replacingOccurrences(
            of: "Content-Length: 0\r\n\r\n", with: "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
        client.send(second + withBody)
        #expect(replyLines(try #require(client.receiveMessage()))[1].hasSuffix("-t2"))
        #expect(replyLines(try #require(client.receiveMessage()))[1].hasSuffix("-t3"))
    }

    @Test func aMessageWithoutContentLengthClosesTheConnectionUnlessAccepted() throws {
        let noCL = Self.options(1, port: 5999).replacingOccurrences(of: "Content-Length: 0\r\n", with: "")
        do {
            let server = try TestServer(config: Self.config)
            let client = try TCPClient(port: server.port)
            client.send(noCL)
            #expect(client.isClosedByPeer())
        }
        do {
            let server = try TestServer(
                config: Self.config.replacingOccurrences(of: "children=1", with: "children=1\ntcp_accept_no_cl=yes"))
            let client = try TCPClient(port: server.port)
            client.send(noCL)
            #expect(replyLines(try #require(client.receiveMessage(), "log: \(server.log)"))[0] == "SIP/2.0 200 OK tcp")
        }
    }

    @Test func idleConnectionsCloseAfterTheirLifetimeAndTheLimitIsKept() throws {
        let server = try TestServer(
            config: Self.config.replacingOccurrences(
                of: "children=1", with: "children=1\ntcp_connection_lifetime=1\ntcp_max_connections=1"))
        let first = try TCPClient(port: server.port)
        first.send(Self.options(1, port: first.localPort))
        #expect(replyLines(try #require(first.receiveMessage(), "log: \(server.log)"))[0] == "SIP/2.0 200 OK tcp")
        // A second connection is over tcp_max_connections: closed at once.
        let second = try TCPClient(port: server.port)
        #expect(second.isClosedByPeer(timeout: 1))
        #expect(server.log.contains("maximum number of connections exceeded"))
        // The first, idle for tcp_connection_lifetime (1 s), is closed by the server.
        #expect(first.isClosedByPeer(timeout: 3))
        // Its slot is free again.
        let third = try TCPClient(port: server.port)
        third.send(Self.options(3, port: third.localPort))
        #expect(replyLines(try #require(third.receiveMessage(), "log: \(server.log)"))[0] == "SIP/2.0 200 OK tcp")
    }

    @Test func forwardingFromUDPToTCPAndTheReplyBack() throws {
        let server = try TestServer(config: Self.config)
        let uas = TCPAcceptor()
        let uac = UDPClient()
        uac.send(
            sipRequest(
                [
                    "INVITE sip:bob@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:CPORT;branch=z9hG4bK-u1",
                    "From: <sip:a@test>;tag=1", "To: <sip:bob@test>", "Call-ID: u2t@test", "CSeq: 1 INVITE",
                    "X-Next: sip:127.0.0.1:\(uas.port);transport=tcp", "Content-Length: 0",
                ], clientPort: uac.port), to: server.port)
        let fd = try #require(uas.accept(), "no connection; log: \(server.log)")
        let conn = TCPClient(accepted: fd)
        let request = replyLines(try #require(conn.receiveMessage()))
        #expect(request[0] == "INVITE sip:bob@127.0.0.1 SIP/2.0")
        #expect(request[1].hasPrefix("Via: SIP/2.0/TCP 127.0.0.1:\(server.port);branch=z9hG4bK"))
        #expect(request[2] == "Via: SIP/2.0/UDP 127.0.0.1:\(uac.port);branch=z9hG4bK-u1")
        // The UAS answers on the connection the request came on.
        conn.send(
            ([
                "SIP/2.0 200 OK", request[1], request[2], "From: <sip:a@test>;tag=1", "To: <sip:bob@test>;tag=2",
                "Call-ID: u2t@test", "CSeq: 1 INVITE", "Content-Length: 0",
            ] as [String]).joined(separator: "\r\n") + "\r\n\r\n")
        let back = replyLines(try #require(uac.receive(), "reply not forwarded; log: \(server.log)"))
        #expect(back[0] == "SIP/2.0 200 OK")
        #expect(back[1] == "Via: SIP/2.0/UDP 127.0.0.1:\(uac.port);branch=z9hG4bK-u1")
    }

    /// A request read over TCP runs the script on its connection's reader; forwarding it over
    /// a new TCP connection connects asynchronously there. A refused connection is logged,
    /// and the same reader goes on answering (nothing waits for the connect).
    @Test func forwardingFromTCPOverANewTCPConnectionAndARefusedOne() throws {
        let server = try TestServer(
            config: Self.config.replacingOccurrences(of: "tcp_children=2", with: "tcp_children=1"))
        let client = try TCPClient(port: server.port)
        func invite(_ n: Int, next: String) -> String {
            sipRequest(
                [
                    "INVITE sip:bob@127.0.0.1 SIP/2.0",
                    "Via: SIP/2.0/TCP 127.0.0.1:\(client.localPort);branch=z9hG4bK-tt\(n)",
                    "From: <sip:a@test>;tag=\(n)", "To: <sip:bob@test>", "Call-ID: t2t-\(n)@test", "CSeq: 1 INVITE",
                    "X-Next: \(next)", "Content-Length: 0",
                ], clientPort: client.localPort)
        }
        // A port nobody listens on: the connect is refused.
        let refusedPort = TCPAcceptor().port  // closed again when released
        client.send(invite(1, next: "sip:127.0.0.1:\(refusedPort);transport=tcp"))
        client.send(Self.options(2, port: client.localPort))
        #expect(replyLines(try #require(client.receiveMessage(), "log: \(server.log)"))[1].hasSuffix("-t2"))
        var logged = false
        for _ in 0..<50 where !logged {
            logged = server.log.contains("cannot connect to")
            if !logged { usleep(100_000) }
        }
        #expect(logged, "log: \(server.log)")
        // A listening UAS: the request arrives on a new connection, its reply comes back.
        let uas = TCPAcceptor()
        client.send(invite(3, next: "sip:127.0.0.1:\(uas.port);transport=tcp"))
        let fd = try #require(uas.accept(), "no connection; log: \(server.log)")
        let conn = TCPClient(accepted: fd)
        let request = replyLines(try #require(conn.receiveMessage()))
        #expect(request[0] == "INVITE sip:bob@127.0.0.1 SIP/2.0")
        #expect(request[1].hasPrefix("Via: SIP/2.0/TCP 127.0.0.1:\(server.port);branch=z9hG4bK"))
        #expect(request[2] == "Via: SIP/2.0/TCP 127.0.0.1:\(client.localPort);branch=z9hG4bK-tt3")
        conn.send(
            ([
                "SIP/2.0 180 Ringing", request[1], request[2], "From: <sip:a@test>;tag=3", "To: <sip:bob@test>;tag=9",
                "Call-ID: t2t-3@test", "CSeq: 1 INVITE", "Content-Length: 0",
            ] as [String]).joined(separator: "\r\n") + "\r\n\r\n")
        let back = replyLines(try #require(client.receiveMessage(), "reply not forwarded; log: \(server.log)"))
        #expect(back[0] == "SIP/2.0 180 Ringing")
        #expect(back[1] == "Via: SIP/2.0/TCP 127.0.0.1:\(client.localPort);branch=z9hG4bK-tt3")
    }

    @Test func ipv6ListenersServeUDPAndTCP() throws {
        let server = try TestServer(
            config: Self.config.replacingOccurrences(
                of: "listen=udp:127.0.0.1:PORT\nlisten=tcp:127.0.0.1:PORT", with: "listen=[::1]:PORT"))
        let client = try TCPClient(port: server.port, ipv6: true)
        client.send(Self.options(1, port: client.localPort).replacingOccurrences(of: "127.0.0.1:", with: "[::1]:"))
        let reply = replyLines(try #require(client.receiveMessage(), "log: \(server.log)"))
        #expect(reply[0] == "SIP/2.0 200 OK tcp")
        #expect(reply[1] == "Via: SIP/2.0/TCP [::1]:\(client.localPort);branch=z9hG4bK-t1")
        #expect(server.log.contains("udp: [::1]:\(server.port)"))
    }
}
