import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// 2,000 idle TLS and 2,000 idle WebSocket connections held on the running binary
/// (Tests/Fixtures/websocket/idle_connections.py) while other clients over UDP, TLS and
/// WebSocket keep getting answers; afterwards every held connection is still open.
@Suite(.serialized) struct IdleConnectionTests {
    static let holder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/websocket/idle_connections.py").path
    static let count = 2000

    /// Raises this process's open-files soft limit to its hard limit (the server and the
    /// python holders inherit it); false when even that is too low for the test.
    static func raiseOpenFilesLimit(_ needed: Int) -> Bool {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return false }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return limit.rlim_max == rlim_t.max || limit.rlim_max >= rlim_t(needed)
    }

    static var canRun: Bool { WebSocketServerTests.python != nil && raiseOpenFilesLimit(2 * count + 1000) }

    static func config(tlsPort: Int, tlsConfig: String) -> String {
        """
        debug=2
        log_stderror=yes
        children=1
        tcp_children=2
        enable_tls=yes
        tcp_max_connections=6000
        listen=udp:127.0.0.1:PORT
        listen=tcp:127.0.0.1:PORT
        listen=tls:127.0.0.1:\(tlsPort)
        tcp_accept_no_cl=yes
        loadmodule "tls.so"
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "xhttp.so"
        loadmodule "websocket.so"
        loadmodule "xlog.so"
        modparam("tls", "config", "\(tlsConfig)")
        request_route {
            sl_send_reply("200", "OK $pr");
        }
        event_route[xhttp:request] {
            if ($hdr(Upgrade) =~ "websocket" && $hdr(Connection) =~ "Upgrade" && $rm =~ "GET") {
                if (ws_handle_handshake()) {
                    exit;
                }
            }
            xhttp_reply("404", "Not Found", "text/plain", "none");
        }
        """
    }

    /// The number of open file descriptors of a process.
    static func openFiles(_ pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    /// An OPTIONS over UDP gets its 200.
    static func udpAnswered(_ server: TestServer, _ id: String) -> Bool {
        let udp = UDPClient()
        udp.send(
            sipRequest(
                [
                    "OPTIONS sip:ping@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:CPORT;branch=z9hG4bK-\(id)",
                    "From: <sip:t@test>;tag=1", "To: <sip:ping@127.0.0.1>", "Call-ID: \(id)@idle",
                    "CSeq: 1 OPTIONS", "Content-Length: 0",
                ], clientPort: udp.port), to: server.port)
        return udp.receive(timeout: 5)?.hasPrefix("SIP/2.0 200 OK udp") == true
    }

    @Test(.enabled(if: canRun, "python3 is missing or the open-files hard limit is below 5000"))
    func thousandsOfIdleTLSAndWebSocketConnectionsWhileOthersAreServed() throws {
        let pki = try TestPKI()
        let tlsPort = freeStreamPort()
        let tlsConfig = pki.directory.write("tls.cfg", TLSModuleTests.serverProfile(pki))
        let server = try TestServer(config: Self.config(tlsPort: tlsPort, tlsConfig: tlsConfig))
        defer { server.stop() }
        let python = WebSocketServerTests.python!
        let baseline = Self.openFiles(server.process.processIdentifier)

        let tls = try InteractiveProcess(
            python, [Self.holder, "tls", "\(tlsPort)", "\(Self.count)", "--ca", pki.file("ca.pem")])
        defer { tls.stop() }
        #expect(tls.waitFor("HELD ", timeout: 180), "\(tls.text) log: \(server.log.suffix(2000))")
        #expect(tls.text.contains("HELD \(Self.count) failed=0"), "\(tls.text)")
        let ws = try InteractiveProcess(python, [Self.holder, "ws", "\(server.port)", "\(Self.count)"])
        defer { ws.stop() }
        #expect(ws.waitFor("HELD ", timeout: 180), "\(ws.text) log: \(server.log.suffix(2000))")
        #expect(ws.text.contains("HELD \(Self.count) failed=0"), "\(ws.text)")

        // The server holds them all (one descriptor each).
        let held = Self.openFiles(server.process.processIdentifier)
        #expect(held - baseline >= 2 * Self.count, "descriptors: \(baseline) before, \(held) with the idle ones")

        // Others are still served: UDP, a new TLS client, a new WebSocket client.
        #expect(Self.udpAnswered(server, "during"), "log: \(server.log.suffix(2000))")
        let c = try tlsClient(port: tlsPort, pki: pki)
        c.send(tlsOptions(port: tlsPort))
        #expect(c.waitFor("SIP/2.0 200 OK tls"), "\(c.text)")
        c.stop()
        let ping = try WebSocketServerTests.PythonClient(["bad", "\(server.port)", "ping"])
        #expect(ping.finish().contains("PONG hello"))

        // Every idle connection is still open when the holders look, then they close.
        tls.send("done\n")
        ws.send("done\n")
        #expect(tls.waitFor("CLOSED", timeout: 60))
        #expect(ws.waitFor("CLOSED", timeout: 60))
        #expect(tls.text.contains("ALIVE \(Self.count) of \(Self.count)"), "\(tls.text)")
        #expect(ws.text.contains("ALIVE \(Self.count) of \(Self.count)"), "\(ws.text)")

        // The server lets go of them and goes on.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, Self.openFiles(server.process.processIdentifier) > baseline + 50 {
            usleep(100_000)
        }
        #expect(Self.openFiles(server.process.processIdentifier) <= baseline + 50)
        #expect(Self.udpAnswered(server, "after"))
        #expect(server.process.isRunning)
    }
}
