import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// corex's send functions seen by sockets of the test (bytes and source port), forward_reply,
/// the socket functions' effect on forwarding, and the socket/alias RPC commands with
/// Kamailio 5.6.3's result shapes.
@Suite(.serialized) struct CorexSendTests {
    /// The next datagram on `fd` and the port it came from.
    static func receiveFrom(_ fd: Int32, timeout: Double = 2) -> (text: String, port: Int)? {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(timeout * 1000)) == 1 else { return nil }
        var buf = [UInt8](repeating: 0, count: 65536)
        var from = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let n = withUnsafeMutablePointer(to: &from) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buf, buf.count, 0, $0, &len) }
        }
        guard n > 0 else { return nil }
        return (String(decoding: buf[0..<n], as: UTF8.self), Int(UInt16(bigEndian: from.sin_port)))
    }

    struct Setup {
        let server: TestServer
        let port2: Int
        let target: UDPClient
        let tcpTarget: TCPAcceptor
        let socket: String
    }

    static func start(_ dir: TemporaryDirectory) throws -> Setup {
        let port2 = freeUDPPort()
        let target = UDPClient()
        let tcpTarget = TCPAcceptor()
        let socket = dir.path + "/rpc.sock"
        let config = """
            log_stderror=yes
            debug=2
            children=1
            listen=127.0.0.1:PORT name "main"
            listen=udp:127.0.0.1:\(port2) name "second"
            auto_aliases=no
            alias=tcp:foo.org
            alias=example.com:5060
            loadmodule "sl.so"
            loadmodule "xlog.so"
            loadmodule "pv.so"
            loadmodule "jsonrpcs.so"
            loadmodule "corex.so"
            modparam("jsonrpcs", "dgram_socket", "\(socket)")
            modparam("jsonrpcs", "transport", 4)
            request_route {
                if ($rU == "udp") { send_udp("127.0.0.1:\(target.port)"); }
                else if ($rU == "udp0") { $du = "sip:127.0.0.1:\(target.port);transport=tcp"; send_udp(); }
                else if ($rU == "data") { send_data("sip:127.0.0.1:\(target.port)", "PING $ci"); }
                else if ($rU == "sendx") { sendx("sip:127.0.0.1:\(target.port)", "udp:127.0.0.1:\(port2)", "X $ci"); }
                else if ($rU == "sock") { set_send_socket("udp:127.0.0.1:\(port2)"); send_udp("127.0.0.1:\(target.port)"); }
                else if ($rU == "name") { set_send_socket_name("second"); $du = "sip:127.0.0.1:\(target.port)"; forward(); }
                else if ($rU == "nosock") {
                    if (set_send_socket("udp:127.0.0.1:9")) { xlog("L_INFO", "unknown socket: true\\n"); }
                    send_udp("127.0.0.1:\(target.port)");
                }
                else if ($rU == "tcp") { send_tcp("127.0.0.1:\(tcpTarget.port)"); }
                sl_send_reply("200", "OK");
            }
            reply_route {
                if ($rs == "180") { forward_reply(); drop; }
            }
            """
        let server = try TestServer(config: config)
        return Setup(server: server, port2: port2, target: target, tcpTarget: tcpTarget, socket: socket)
    }

    @Test func sendFunctionsSendTheMessageAsItIs() throws {
        let dir = TemporaryDirectory()
        let s = try Self.start(dir)
        let uac = UDPClient()
        func request(_ user: String) -> String {
            sipRequest(
                CorexModuleTests.request(user, port: s.server.port, callID: "send-\(user)"), clientPort: uac.port)
        }
        for user in ["udp", "udp0"] {
            let sent = request(user)
            uac.send(sent, to: s.server.port)
            let got = try #require(Self.receiveFrom(s.target.fd), "\(user): \(s.server.log)")
            #expect(got.text == sent)
            #expect(got.port == s.server.port)
            #expect(uac.receive().map { replyLines($0)[0] } == "SIP/2.0 200 OK")
        }
        uac.send(request("data"), to: s.server.port)
        #expect(
            Self.receiveFrom(s.target.fd).map { [$0.text, String($0.port)] } == ["PING send-data", "\(s.server.port)"])
        _ = uac.receive()
        uac.send(request("sendx"), to: s.server.port)
        #expect(Self.receiveFrom(s.target.fd).map { [$0.text, String($0.port)] } == ["X send-sendx", "\(s.port2)"])
        _ = uac.receive()
        // set_send_socket() chooses the socket send_udp() leaves from.
        let sock = request("sock")
        uac.send(sock, to: s.server.port)
        #expect(Self.receiveFrom(s.target.fd).map { [$0.text, String($0.port)] } == [sock, "\(s.port2)"])
        _ = uac.receive()
        // An unknown socket is a warning; the function is still true (Kamailio).
        uac.send(request("nosock"), to: s.server.port)
        #expect(Self.receiveFrom(s.target.fd)?.port == s.server.port)
        #expect(s.server.waitForLog("unknown socket: true"))
        #expect(s.server.log.contains("no socket found to match [udp:127.0.0.1:9]"))
        _ = uac.receive()
        // set_send_socket_name() applies to forward(): the Via names the chosen socket.
        uac.send(request("name"), to: s.server.port)
        let forwarded = try #require(Self.receiveFrom(s.target.fd), "\(s.server.log)")
        #expect(forwarded.port == s.port2)
        #expect(forwarded.text.contains("Via: SIP/2.0/UDP 127.0.0.1:\(s.port2);branch=z9hG4bK"))
        _ = uac.receive()
        // send_tcp() opens a connection and writes the request.
        let tcp = request("tcp")
        uac.send(tcp, to: s.server.port)
        let fd = try #require(s.tcpTarget.accept(), "\(s.server.log)")
        let conn = TCPClient(accepted: fd)
        #expect(conn.receiveMessage() == tcp)
    }

    @Test func forwardReplySendsTheReplyToTheSecondVia() throws {
        let dir = TemporaryDirectory()
        let s = try Self.start(dir)
        let uas = UDPClient()
        let reply = sipRequest(
            [
                "SIP/2.0 180 Ringing",
                "Via: SIP/2.0/UDP 127.0.0.1:\(s.server.port);branch=z9hG4bK-top",
                "Via: SIP/2.0/UDP 127.0.0.1:\(s.target.port);branch=z9hG4bK-second",
                "From: <sip:a@example.com>;tag=1", "To: <sip:b@example.com>;tag=2", "Call-ID: fr-1",
                "CSeq: 1 INVITE", "Content-Length: 0",
            ], clientPort: 0)
        uas.send(reply, to: s.server.port)
        let got = try #require(Self.receiveFrom(s.target.fd), "\(s.server.log)")
        #expect(replyLines(got.text)[0] == "SIP/2.0 180 Ringing")
        #expect(!got.text.contains("z9hG4bK-top"))
        #expect(got.text.contains("Via: SIP/2.0/UDP 127.0.0.1:\(s.target.port);branch=z9hG4bK-second"))
        // drop after forward_reply(): sent once.
        #expect(Self.receiveFrom(s.target.fd, timeout: 0.5) == nil)
    }

    /// Calls an RPC command with swiftletctl and returns the reply without the pretty
    /// printing (member order kept).
    static func rpc(_ socket: String, _ method: String) throws -> String {
        for _ in 0..<50 {
            let p = SpawnedProcess()
            p.executableURL = URL(fileURLWithPath: productsDirectory + "/swiftletctl")
            p.arguments = ["-s", socket, method]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            if p.terminationStatus == 0 {
                // jsonrpcs prints `"name":\tvalue` and arrays as `[a, b]` (as Kamailio's srjson).
                return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\n", with: "")
                    .replacingOccurrences(of: "\t", with: "").replacingOccurrences(of: "\":", with: "\": ")
                    .replacingOccurrences(of: "}, {", with: "},{")
            }
            usleep(50_000)
        }
        throw TestFailure("\(method) failed")
    }

    @Test func socketAndAliasRPCsHaveKamailiosShapes() throws {
        let dir = TemporaryDirectory()
        let s = try Self.start(dir)
        let p = s.server.port
        func corexSocket(_ proto: String, _ port: Int, _ name: String) -> String {
            "{\"PROTO\": \"\(proto)\",\"NAME\": \"127.0.0.1\",\"ADDRLIST\": {\"ADDR\": \"127.0.0.1\"},"
                + "\"PORT\": \"\(port)\",\"MCAST\": \"no\",\"MHOMED\": \"no\",\"VIRTUAL\": \"no\","
                + "\"SOCKNAME\": \"\(name)\",\"ADVERTISE\": \"-\"}"
        }
        #expect(
            try Self.rpc(s.socket, "corex.list_sockets")
                == "{\"jsonrpc\": \"2.0\",\"result\": [\(corexSocket("udp", p, "main")),"
                + "\(corexSocket("udp", s.port2, "second")),\(corexSocket("tcp", p, "main"))],\"id\": 1}")
        #expect(
            try Self.rpc(s.socket, "corex.list_aliases")
                == "{\"jsonrpc\": \"2.0\",\"result\": [{\"PROTO\": \"*\",\"ADDR\": \"example.com\",\"PORT\": 5060},"
                + "{\"PROTO\": \"tcp\",\"ADDR\": \"foo.org\",\"PORT\": 0}],\"id\": 1}")
        func coreSocket(_ proto: String, _ port: Int) -> String {
            "{\"socket\": {\"proto\": \"\(proto)\",\"address\": \"127.0.0.1\",\"port\": \"\(port)\","
                + "\"mcast\": \"no\",\"mhomed\": \"no\",\"virtual\": \"no\"}}"
        }
        #expect(
            try Self.rpc(s.socket, "core.sockets_list")
                == "{\"jsonrpc\": \"2.0\",\"result\": [\(coreSocket("udp", p)),\(coreSocket("udp", s.port2)),"
                + "\(coreSocket("tcp", p))],\"id\": 1}")
        #expect(
            try Self.rpc(s.socket, "core.aliases_list")
                == "{\"jsonrpc\": \"2.0\",\"result\": {\"myself_callbacks\": \"no\",\"aliases\": ["
                + "{\"alias\": {\"proto\": \"*\",\"address\": \"example.com\",\"port\": 5060}},"
                + "{\"alias\": {\"proto\": \"tcp\",\"address\": \"foo.org\",\"port\": \"*\"}}]},\"id\": 1}")
    }
}
