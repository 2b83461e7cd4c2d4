import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A HEPv3 packet taken apart: its chunks by type (vendor 0), in order.
struct HEP3Packet {
    var chunks: [(type: Int, data: [UInt8])] = []

    init?(_ b: [UInt8]) {
        guard b.count >= 6, Array(b[0..<4]) == Array("HEP3".utf8), Int(b[4]) << 8 | Int(b[5]) == b.count else {
            return nil
        }
        var i = 6
        while i + 6 <= b.count {
            let type = Int(b[i + 2]) << 8 | Int(b[i + 3])
            let length = Int(b[i + 4]) << 8 | Int(b[i + 5])
            guard length >= 6, i + length <= b.count else { return nil }
            chunks.append((type, Array(b[(i + 6)..<(i + length)])))
            i += length
        }
        guard i == b.count else { return nil }
    }

    func data(_ type: Int) -> [UInt8]? { chunks.first { $0.type == type }?.data }
    func int(_ type: Int) -> Int? { data(type).map { $0.reduce(0) { $0 << 8 | Int($1) } } }
    func text(_ type: Int) -> String? { data(type).map { String(decoding: $0, as: UTF8.self) } }
    var payload: String { text(0x0f) ?? "" }
    var types: [Int] { chunks.map(\.type) }
}

/// A UDP listener on 127.0.0.1 that collects datagrams (a capture server, a duplicate peer).
final class DatagramCollector {
    let client = UDPClient()
    var port: Int { client.port }

    /// The datagrams that come within `timeout` seconds, until `count` arrived.
    func collect(_ count: Int, timeout: Double = 3) -> [[UInt8]] {
        var out: [[UInt8]] = []
        let deadline = Date().addingTimeInterval(timeout)
        while out.count < count, deadline.timeIntervalSinceNow > 0 {
            var pfd = pollfd(fd: client.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(deadline.timeIntervalSinceNow * 1000) + 1) == 1 else { break }
            var buf = [UInt8](repeating: 0, count: 65536)
            let n = recv(client.fd, &buf, buf.count, 0)
            if n > 0 { out.append(Array(buf[0..<n])) }
        }
        return out
    }
}

@Suite(.serialized) struct SiptraceTests {
    static func options(_ callID: String, clientPort: Int, serverPort: Int) -> String {
        sipRequest(
            [
                "OPTIONS sip:alice@127.0.0.1:\(serverPort) SIP/2.0",
                "Via: SIP/2.0/UDP 127.0.0.1:CPORT;branch=z9hG4bK-\(callID)", "Max-Forwards: 70",
                "From: <sip:bob@127.0.0.1>;tag=ft-\(callID)", "To: <sip:alice@127.0.0.1>", "Call-ID: \(callID)",
                "CSeq: 7 OPTIONS", "Content-Length: 0",
            ], clientPort: clientPort)
    }

    static func heptraceConfig(hep: Int, extra: String = "", route: String) -> String {
        """
        log_stderror=yes
        children=1
        listen=udp:127.0.0.1:PORT
        loadmodule "sl.so"
        loadmodule "xlog.so"
        loadmodule "textops.so"
        loadmodule "siptrace.so"
        modparam("siptrace", "duplicate_uri", "sip:127.0.0.1:\(hep)")
        modparam("siptrace", "hep_mode_on", 1)
        modparam("siptrace", "hep_version", 3)
        modparam("siptrace", "hep_capture_id", 234)
        modparam("siptrace", "trace_to_database", 0)
        modparam("siptrace", "trace_on", 1)
        \(extra)
        request_route { \(route) }
        """
    }

    /// `trace_mode=1`: every message in and out goes to the capture server as HEPv3, with
    /// both ends, the capture id, the auth key and the bytes as on the wire.
    @Test func coreTraceModeSendsEveryMessageAsHEP3() throws {
        let hep = DatagramCollector()
        let server = try TestServer(
            config: Self.heptraceConfig(
                hep: hep.port,
                extra: """
                    modparam("siptrace", "trace_mode", 1)
                    modparam("siptrace", "auth_key", "s3cret")
                    """, route: "sl_send_reply(\"200\", \"OK\");"))
        defer { server.stop() }
        let client = UDPClient()
        client.send(Self.options("hep-core-1", clientPort: client.port, serverPort: server.port), to: server.port)
        let reply = try #require(client.receive())
        #expect(reply.hasPrefix("SIP/2.0 200 OK"))
        let packets = hep.collect(2).compactMap(HEP3Packet.init)
        try #require(packets.count == 2, "\(server.log)")
        let (inbound, outbound) = (packets[0], packets[1])
        #expect(inbound.types == [0x01, 0x02, 0x03, 0x04, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0e, 0x0f])
        #expect(inbound.int(0x01) == Int(AF_INET))
        #expect(inbound.int(0x02) == 17)
        #expect(inbound.data(0x03) == [127, 0, 0, 1])
        #expect(inbound.int(0x07) == client.port)
        #expect(inbound.int(0x08) == server.port)
        #expect(inbound.int(0x0b) == 1)
        #expect(inbound.int(0x0c) == 234)
        #expect(inbound.text(0x0e) == "s3cret")
        #expect(inbound.payload == Self.options("hep-core-1", clientPort: client.port, serverPort: server.port))
        let now = Int(time(nil))
        #expect(abs((inbound.int(0x09) ?? 0) - now) < 5)
        #expect(outbound.int(0x07) == server.port)
        #expect(outbound.int(0x08) == client.port)
        #expect(outbound.payload == reply)
    }

    /// `sip_trace()` without HEP: a SIP copy of the received request to `duplicate_uri` with
    /// the `X-Siptrace-*` headers, and to the address given as its argument.
    @Test func sipTraceSendsADuplicateWithXHeaders() throws {
        let dup = DatagramCollector()
        let other = DatagramCollector()
        let server = try TestServer(
            config: """
                log_stderror=yes
                children=1
                listen=udp:127.0.0.1:PORT
                loadmodule "sl.so"
                loadmodule "siptrace.so"
                modparam("siptrace", "duplicate_uri", "sip:127.0.0.1:\(dup.port)")
                modparam("siptrace", "trace_to_database", 0)
                modparam("siptrace", "trace_on", 1)
                modparam("siptrace", "xheaders_write", 1)
                request_route {
                    if ($ci == "dup-2") { sip_trace("sip:127.0.0.1:\(other.port)"); } else { sip_trace(); }
                    sl_send_reply("200", "OK");
                }
                """)
        defer { server.stop() }
        let client = UDPClient()
        client.send(Self.options("dup-1", clientPort: client.port, serverPort: server.port), to: server.port)
        #expect(client.receive()?.hasPrefix("SIP/2.0 200") == true)
        let copy = try #require(dup.collect(1).first.map { String(decoding: $0, as: UTF8.self) })
        #expect(copy.hasPrefix("OPTIONS sip:alice@127.0.0.1:\(server.port) SIP/2.0\r\n"))
        #expect(copy.contains("\r\nX-Siptrace-Fromip: udp:127.0.0.1:\(client.port)\r\n"))
        #expect(copy.contains("\r\nX-Siptrace-Toip: udp:127.0.0.1:\(server.port)\r\n"))
        #expect(copy.contains("\r\nX-Siptrace-Method: OPTIONS\r\nX-Siptrace-Dir: in\r\n\r\n"))
        client.send(Self.options("dup-2", clientPort: client.port, serverPort: server.port), to: server.port)
        #expect(client.receive()?.hasPrefix("SIP/2.0 200") == true)
        let second = try #require(other.collect(1).first.map { String(decoding: $0, as: UTF8.self) })
        #expect(second.contains("Call-ID: dup-2\r\n"))
        #expect(dup.collect(1, timeout: 0.3).isEmpty)
    }

    /// `sip_trace(uri, cid, "t")` through tm: the INVITE in, the INVITE relayed, and every
    /// reply in and out reach the capture server with the correlation id.
    @Test func transactionModeTracesRelayedRequestsAndReplies() throws {
        let hep = DatagramCollector()
        let callee = SIPSocketParty(user: "callee")
        let caller = SIPSocketParty(user: "caller")
        let server = try TestServer(
            config: Self.heptraceConfig(
                hep: hep.port, extra: "loadmodule \"tm.so\"",
                route: """
                    if (is_method("INVITE")) { sip_trace("sip:127.0.0.1:\(hep.port)", "cid-$ci", "t"); }
                    $du = "sip:127.0.0.1:\(callee.port)";
                    t_relay();
                    """))
        defer { server.stop() }
        caller.request(
            "INVITE", "sip:callee@127.0.0.1", to: server.port, branch: "tr1", from: "<sip:caller@127.0.0.1>",
            fromTag: "c1", toHeader: "<sip:callee@127.0.0.1>", callID: "trans-1", cseq: 1)
        let invite = try callee.expect("INVITE ")
        callee.reply(invite, "180 Ringing", toTag: "t1")
        _ = try caller.expect("SIP/2.0 180")
        callee.reply(invite, "486 Busy Here", toTag: "t1")
        _ = try caller.expect("SIP/2.0 486")
        _ = try callee.expect("ACK ")
        // INVITE in, 100 out, INVITE out, 180 in, 180 out, 486 in, ACK out, 486 out.
        let packets = hep.collect(8).compactMap(HEP3Packet.init)
        let seen = packets.map { p -> String in
            let first = p.payload.components(separatedBy: "\r\n")[0]
            let toServer = p.int(0x08) == server.port
            return (toServer ? "in " : "out ") + first.components(separatedBy: " ").prefix(2).joined(separator: " ")
        }
        #expect(packets.allSatisfy { $0.text(0x11) == "cid-trans-1" }, "\(seen)")
        for expected in [
            "in INVITE sip:callee@127.0.0.1", "out INVITE sip:callee@127.0.0.1", "in SIP/2.0 180", "out SIP/2.0 180",
            "in SIP/2.0 486", "out SIP/2.0 486",
        ] {
            #expect(seen.contains(expected), "\(expected) missing from \(seen)")
        }
        // Another call without sip_trace() is not traced.
        caller.request(
            "OPTIONS", "sip:callee@127.0.0.1", to: server.port, branch: "tr2", from: "<sip:caller@127.0.0.1>",
            fromTag: "c2", toHeader: "<sip:callee@127.0.0.1>", callID: "trans-2", cseq: 1)
        let options = try callee.expect("OPTIONS ")
        callee.reply(options, "200 OK", toTag: "t2")
        _ = try caller.expect("SIP/2.0 200")
        #expect(
            hep.collect(1, timeout: 0.5).compactMap(HEP3Packet.init).filter { $0.payload.contains("trans-2") }.isEmpty)
    }

    /// `hlog()` sends a HEP log (type 100) with the Call-ID or the given correlation id, and
    /// `sip_trace_msg()` sends any text as HEP between the given addresses.
    @Test func hlogAndSipTraceMsg() throws {
        let hep = DatagramCollector()
        let server = try TestServer(
            config: Self.heptraceConfig(
                hep: hep.port,
                route: """
                    hlog("log for $ci");
                    hlog("corr-1", "second log");
                    sip_trace_msg("$mb", "udp:10.1.1.1:5070", "tcp:10.2.2.2:5080", "sip:127.0.0.1:\(hep.port)", "m-$ci");
                    sl_send_reply("200", "OK");
                    """))
        defer { server.stop() }
        let client = UDPClient()
        client.send(Self.options("hlog-1", clientPort: client.port, serverPort: server.port), to: server.port)
        #expect(client.receive()?.hasPrefix("SIP/2.0 200") == true)
        let packets = hep.collect(3).compactMap(HEP3Packet.init)
        try #require(packets.count == 3, "\(server.log)")
        #expect(packets[0].int(0x0b) == 100)
        #expect(packets[0].payload == "log for hlog-1")
        #expect(packets[0].text(0x11) == "hlog-1")
        #expect(packets[1].text(0x11) == "corr-1")
        #expect(packets[1].payload == "second log")
        #expect(packets[2].int(0x0b) == 1)
        #expect(packets[2].data(0x03) == [10, 1, 1, 1])
        #expect(packets[2].data(0x04) == [10, 2, 2, 2])
        #expect(packets[2].int(0x07) == 5070)
        #expect(packets[2].int(0x08) == 5080)
        #expect(packets[2].text(0x11) == "m-hlog-1")
        #expect(packets[2].payload.hasPrefix("OPTIONS sip:alice@"))
    }

    /// `event_route[siptrace:msg]` sees each message with `$siptrace(...)`; its `drop` keeps
    /// the message out of the trace. `trace_on=0` traces nothing.
    @Test func eventRouteFiltersAndTraceOnGates() throws {
        let hep = DatagramCollector()
        let server = try TestServer(
            config: Self.heptraceConfig(
                hep: hep.port, extra: "modparam(\"siptrace\", \"trace_mode\", 1)",
                route: "sl_send_reply(\"200\", \"OK\");")
                    + """

                    event_route[siptrace:msg] {
                        xlog("L_ERR", "siptrace $siptrace(direction) $siptrace(src_addr) -> $siptrace(dst_proto) $siptrace(dst_port) $rm\\n");
                        if ($ci == "drop-me") { drop; }
                    }
                    """)
        defer { server.stop() }
        let client = UDPClient()
        client.send(Self.options("drop-me", clientPort: client.port, serverPort: server.port), to: server.port)
        #expect(client.receive()?.hasPrefix("SIP/2.0 200") == true)
        #expect(hep.collect(1, timeout: 0.5).isEmpty)
        #expect(
            server.waitForLog("siptrace in udp:127.0.0.1:\(client.port) -> udp \(server.port) OPTIONS"),
            "\(server.log)")
        client.send(Self.options("keep-me", clientPort: client.port, serverPort: server.port), to: server.port)
        #expect(client.receive()?.hasPrefix("SIP/2.0 200") == true)
        #expect(hep.collect(2).count == 2)
    }

    /// Kamailio 5.6.3's siptrace and Swiftlet's send the same HEPv3 packet for the same
    /// received request: the same chunks in the same order with the same values (but the time).
    @Test(.enabled(if: kamailioPath != nil)) func hep3MatchesKamailio() throws {
        func capture(_ kamailio: Bool) throws -> (HEP3Packet, Int, Int) {
            let hep = DatagramCollector()
            let config =
                Self.heptraceConfig(
                    hep: hep.port,
                    extra: """
                        modparam("siptrace", "trace_mode", 1)
                        modparam("siptrace", "auth_key", "k")
                        """, route: "if (is_method(\"OPTIONS\")) { sl_send_reply(\"200\", \"OK\"); }"
                )
                .replacingOccurrences(
                    of: "children=1", with: kamailio ? "children=1\nmpath=\"\(kamailioModules)\"" : "children=1")
            let client = UDPClient()
            var port = 0
            var kam: KamailioTestServer?
            var ours: TestServer?
            if kamailio {
                kam = try KamailioTestServer(config: config)
                port = kam!.port
            } else {
                ours = try TestServer(config: config)
                port = ours!.port
            }
            defer {
                kam?.stop()
                ours?.stop()
            }
            client.send(Self.options("interop-1", clientPort: client.port, serverPort: port), to: port)
            _ = client.receive()
            let p = try #require(
                hep.collect(1).first.flatMap(HEP3Packet.init), "no HEP from \(kamailio ? "Kamailio" : "Swiftlet")")
            return (p, client.port, port)
        }
        let (k, kClient, kServer) = try capture(true)
        let (s, sClient, sServer) = try capture(false)
        #expect(k.types == s.types)
        for type in k.types where ![0x07, 0x08, 0x09, 0x0a, 0x0f].contains(type) {
            #expect(k.data(type) == s.data(type), "chunk \(type)")
        }
        #expect(k.int(0x07) == kClient && s.int(0x07) == sClient)
        #expect(k.int(0x08) == kServer && s.int(0x08) == sServer)
        #expect(
            k.payload.replacingOccurrences(of: String(kServer), with: "S").replacingOccurrences(
                of: String(kClient), with: "C")
                == s.payload.replacingOccurrences(of: String(sServer), with: "S").replacingOccurrences(
                    of: String(sClient), with: "C"))
    }
}
