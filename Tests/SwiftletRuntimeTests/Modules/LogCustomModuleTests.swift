import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// log_custom: `log_udp` on the embedded core and the `udp` log engine of the running server,
/// both received on a real UDP socket.
@Suite struct LogCustomModuleTests {
    static func config(engine: Int?, route: String) -> String {
        """
        log_stderror=yes
        debug=-1
        \(engine.map { "log_engine_type=\"udp\"\nlog_engine_data=\"127.0.0.1:\($0)\"" } ?? "")
        listen=udp:127.0.0.1:5060
        loadmodule "sl.so"
        loadmodule "textops.so"
        loadmodule "log_custom.so"
        request_route {
        \(route)
            sl_send_reply("200", "OK");
        }
        """
    }

    static let options = sipRequest(
        [
            "OPTIONS sip:log@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:CPORT;branch=z9hG4bK-l1",
            "From: <sip:a@127.0.0.1>;tag=a1", "To: <sip:log@127.0.0.1>", "Call-ID: log-1", "CSeq: 1 OPTIONS",
            "Content-Length: 0",
        ], clientPort: 5070)

    func rc(_ core: EmbeddedCore) -> String? {
        core.receive(Self.options, from: "127.0.0.1:5070")
        let lines = core.takeSent().last?.text.components(separatedBy: "\r\n") ?? []
        return lines.first { $0.hasPrefix("X-RC: ") }.map { String($0.dropFirst(6)) }
    }

    @Test func logUDPSendsTheTextAndReturnsItsLength() throws {
        let server = UDPClient()
        let core = try EmbeddedCore(
            config: Self.config(
                engine: server.port,
                route: #"    log_udp("hello $rm from $fU"); append_to_reply("X-RC: $rc\r\n");"#),
            modulePath: productsDirectory)
        #expect(rc(core) == "20")
        #expect(server.receive() == "hello OPTIONS from a")
    }

    @Test func withoutTheUDPEngineLogUDPDoesNothing() throws {
        let server = UDPClient()
        let core = try EmbeddedCore(
            config: Self.config(engine: nil, route: #"    log_udp("hello"); append_to_reply("X-RC: $rc\r\n");"#),
            modulePath: productsDirectory)
        #expect(rc(core) == "1")
        #expect(server.receive(timeout: 0.3) == nil)
    }

    @Test func aBadEngineAddressStopsStartUp() {
        #expect(throws: (any Error).self) {
            try EmbeddedCore(
                config: Self.config(engine: nil, route: "").replacingOccurrences(
                    of: "log_stderror=yes", with: "log_engine_type=\"udp\"\nlog_engine_data=\"127.0.0.1:99999\""),
                modulePath: productsDirectory)
        }
    }

    /// The server logging to "syslog" with the udp engine: each line arrives as
    /// `(pid) LEVEL: origin: text`, and `log_udp` leaves from the SIP socket.
    @Test func theServerSendsItsLogLinesOverUDP() throws {
        let logServer = UDPClient()
        let port = freeUDPPort()
        let dir = TemporaryDirectory()
        let cfg = dir.write(
            "swiftlet.cfg",
            """
            debug=2
            log_stderror=no
            log_engine_type="udp"
            log_engine_data="127.0.0.1:\(logServer.port)"
            listen=udp:127.0.0.1:\(port)
            loadmodule "sl.so"
            loadmodule "xlog.so"
            loadmodule "log_custom.so"
            request_route {
                xinfo("request $rm $ci\\n");
                log_udp("raw $ci");
                sl_send_reply("200", "OK");
            }
            """)
        let process = SpawnedProcess()
        process.executableURL = URL(fileURLWithPath: swiftletBinary)
        process.arguments = ["-f", cfg, "-DD", "-L", productsDirectory]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            kill(process.processIdentifier, SIGTERM)
            _ = process.waitForExit(timeout: 10)
        }
        let client = UDPClient()
        var reply: String?
        for _ in 0..<100 where reply == nil {
            client.send(
                sipRequest(
                    [
                        "OPTIONS sip:log@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:CPORT;branch=z9hG4bK-l2",
                        "From: <sip:a@127.0.0.1>;tag=a1", "To: <sip:log@127.0.0.1>", "Call-ID: udp-log-1",
                        "CSeq: 1 OPTIONS", "Content-Length: 0",
                    ], clientPort: client.port), to: port)
            reply = client.receive(timeout: 0.2)
        }
        #expect(reply?.hasPrefix("SIP/2.0 200 OK") == true)
        var lines: [String] = []
        while let line = logServer.receive(timeout: 1) { lines.append(line) }
        let pid = process.processIdentifier
        #expect(lines.contains("(\(pid)) INFO: <script>: request OPTIONS udp-log-1\n"))
        #expect(lines.contains("raw udp-log-1"))
    }
}
