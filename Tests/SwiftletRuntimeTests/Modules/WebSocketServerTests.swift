import Foundation
import Testing

/// SIP over WebSocket (RFC 7118) through the running binary, with the python3 client of
/// Tests/Fixtures/websocket: the handshake in `event_route[xhttp:request]`, REGISTER and a
/// call to a SIPp UAS over the stateful proxy, a SIPp call back to the WebSocket client
/// found through usrloc (its connection), and bad frames closed with RFC 6455's codes while
/// the server goes on serving.
@Suite(.serialized) struct WebSocketServerTests {
    static let client = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/websocket/ws_sip_client.py").path
    static let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    static func config(uasPort: Int) -> String {
        """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=1
        tcp_children=2
        listen=udp:127.0.0.1:PORT
        listen=tcp:127.0.0.1:PORT
        tcp_accept_no_cl=yes
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "usrloc.so"
        loadmodule "registrar.so"
        loadmodule "xhttp.so"
        loadmodule "websocket.so"
        loadmodule "jsonrpcs.so"
        loadmodule "xlog.so"
        loadmodule "textops.so"
        modparam("registrar", "received_avp", "$avp(RECEIVED)")
        modparam("jsonrpcs", "transport", 1)
        request_route {
            if ($pr == "ws" && is_method("MESSAGE")) {
                ws_close(4000, "bye from $rm");
                exit;
            }
            if (is_method("REGISTER")) {
                if ($pr == "ws") {
                    $avp(RECEIVED) = "sip:" + $si + ":" + $sp + ";transport=ws";
                }
                xlog("L_INFO", "REGISTER over $pr conid=$ws_conid\\n");
                save("location");
                exit;
            }
            if ($rU == "uas") {
                $du = "sip:127.0.0.1:\(uasPort)";
                t_relay();
                exit;
            }
            if (!lookup("location")) {
                sl_send_reply("404", "Not Found");
                exit;
            }
            t_relay();
        }
        event_route[xhttp:request] {
            if ($hdr(Upgrade) =~ "websocket" && $hdr(Connection) =~ "Upgrade" && $rm =~ "GET") {
                if (ws_handle_handshake()) {
                    exit;
                }
            }
            if ($hu =~ "^/RPC") {
                jsonrpc_dispatch();
                exit;
            }
            xhttp_reply("404", "Not Found", "text/plain", "none");
        }
        event_route[websocket:closed] {
            xlog("L_INFO", "WebSocket connection $ws_conid closed\\n");
        }
        """
    }

    /// Starts the python client; its stdout lines as they come.
    final class PythonClient {
        let process = SpawnedProcess()
        let out = Pipe()
        private var text = ""

        init(_ args: [String]) throws {
            process.executableURL = URL(fileURLWithPath: WebSocketServerTests.python!)
            process.arguments = [WebSocketServerTests.client] + args
            process.standardOutput = out
            process.standardError = out
            try process.run()
        }

        /// Waits for a line containing `marker`; the output so far.
        func wait(for marker: String, timeout: TimeInterval = 20) -> String {
            let fd = out.fileHandleForReading.fileDescriptor
            let deadline = Date().addingTimeInterval(timeout)
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !text.contains(marker), Date() < deadline {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, 200) > 0 else { continue }
                let n = read(fd, &buffer, buffer.count)
                if n <= 0 { break }
                text += String(decoding: buffer[0..<n], as: UTF8.self)
            }
            return text
        }

        func finish() -> String {
            _ = process.waitForExit(timeout: 20)
            return wait(for: "\u{0}", timeout: 0.5)
        }
    }

    @Test(.enabled(if: sippPath != nil && python != nil, "sipp or python3 is missing"))
    func registerAndCallOverWebSocketBothWays() throws {
        let uasPort = freeUDPPort()
        let server = try TestServer(config: Self.config(uasPort: uasPort))
        let (uas, uasOut) = try SIPpStatelessCallTests.sipp([
            "-sn", "uas", "-i", "127.0.0.1", "-p", "\(uasPort)", "-m", "1",
        ])
        usleep(300_000)
        let ws = try PythonClient(["call", "\(server.port)", "alice", "sip:uas@127.0.0.1:\(server.port)"])
        let first = ws.wait(for: "READY")
        #expect(first.contains("HANDSHAKE 101 sip"), "\(first) log: \(server.log)")
        #expect(first.contains("REGISTER 200"), "\(first) log: \(server.log)")
        #expect(first.contains("INVITE 200"), "\(first) log: \(server.log)")
        #expect(first.contains("BYE 200"), "\(first)")
        #expect(
            uas.waitForExit(timeout: 10) == 0,
            "\(String(decoding: uasOut.fileHandleForReading.availableData, as: UTF8.self))")
        #expect(server.waitForLog("REGISTER over ws conid="))

        // SIPp calls alice: lookup finds her WebSocket connection.
        let (uac, uacOut) = try SIPpStatelessCallTests.sipp([
            "-sn", "uac", "-s", "alice", "-i", "127.0.0.1", "-p", "\(freeUDPPort())", "-m", "1",
            "127.0.0.1:\(server.port)",
        ])
        let uacStatus = uac.waitForExit(timeout: 40)
        let uacText = String(decoding: uacOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let rest = ws.finish()
        #expect(rest.contains("INCOMING INVITE sip:alice@abcdef.invalid;transport=ws"), "\(rest) log: \(server.log)")
        #expect(rest.contains("INCOMING BYE"), "\(rest)")
        // The proxy's Via names the WebSocket transport (RFC 7118 section 5).
        #expect(rest.contains("INCOMING VIA SIP/2.0/WS 127.0.0.1:\(server.port);branch=z9hG4bK"), "\(rest)")
        #expect(uacStatus == 0, "\(uacText.suffix(1500)) log: \(server.log)")
        #expect(server.waitForLog("WebSocket connection "), "\(server.log)")
    }

    static let badFrames: [(kind: String, expected: String)] = [
        ("unmasked", "CLOSE 1002 Protocol error"),
        ("oversized", "CLOSE 1009 Message too big"),
        ("badutf8", "CLOSE 1007 Invalid frame payload data"),
        ("badutf8late", "CLOSE 1007 Invalid frame payload data"),
        ("utf8ok", "FRAME 1"),  // valid UTF-8 beyond ASCII: answered (in a text frame)
        ("opcode", "CLOSE 1008 Unsupported opcode"),
        ("close", "CLOSE 1000 Normal closure"),
        ("fragclose", "CLOSE 1000 Normal closure"),  // a Close between the fragments of a message
        ("ping", "PONG hello"),
        ("pieces", "CSEQ 1,2,3,4"),  // frames cut across reads: each answered, in order
        ("message", "CLOSE 4000 bye from MESSAGE"),  // ws_close(code, reason) in the script
    ]

    @Test(.enabled(if: python != nil, "python3 is missing"))
    func badFramesAreClosedWithTheirCodesAndTheServerGoesOn() throws {
        let server = try TestServer(config: Self.config(uasPort: freeUDPPort()))
        for (kind, expected) in Self.badFrames {
            let c = try PythonClient(["bad", "\(server.port)", kind])
            let text = c.finish()
            #expect(text.contains(expected), "\(kind): \(text) log: \(server.log)")
            if kind != "ping" && kind != "message" && kind != "utf8ok" && kind != "pieces" {
                #expect(text.contains("EOF"), "\(kind): \(text)")
            }
        }
        // Still serving: SIP over UDP and a new handshake.
        let udp = UDPClient()
        udp.send(
            sipRequest(
                [
                    "OPTIONS sip:nobody@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:\(udp.port);branch=z9hG4bK-w1",
                    "From: <sip:t@test>;tag=1", "To: <sip:nobody@127.0.0.1>", "Call-ID: ws-after@test",
                    "CSeq: 1 OPTIONS", "Content-Length: 0",
                ], clientPort: udp.port), to: server.port)
        #expect(udp.receive()?.hasPrefix("SIP/2.0 404") == true, "log: \(server.log)")
        let again = try PythonClient(["bad", "\(server.port)", "ping"])
        #expect(again.finish().contains("PONG hello"))
        // A client that goes away in the middle of a frame: the connection is cleaned up.
        let gone = try PythonClient(["bad", "\(server.port)", "partial"])
        #expect(gone.finish().contains("GONE"))
        let deadline = Date().addingTimeInterval(5)
        var open: [String]? = nil
        while Date() < deadline {
            open = try Self.rpc(server.port, "ws.dump").json.flatMap {
                ($0["result"] as? [String: Any])?["connections"] as? [String]
            }
            if open?.isEmpty == true { break }
            usleep(100_000)
        }
        #expect(open == [], "\(String(describing: open))")
    }

    @Test(.enabled(if: curlPath != nil && python != nil, "curl or python3 is missing"))
    func aHandshakeWithoutTheProtocolIsRefused() throws {
        let server = try TestServer(config: Self.config(uasPort: freeUDPPort()))
        let r = try runProgram(
            curlPath!,
            [
                "-s", "-i", "--max-time", "5", "-H", "Upgrade: websocket", "-H", "Connection: Upgrade",
                "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "-H", "Sec-WebSocket-Version: 13",
                "http://127.0.0.1:\(server.port)/",
            ])
        #expect(r.stdout.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(r.stdout) log: \(server.log)")
        #expect(r.stdout.contains("Sec-WebSocket-Protocol: sip\r\n"))
        #expect(r.stdout.contains("Sec-WebSocket-Version: 13\r\n"))

        // ws.disable: handshakes get 503 until ws.enable.
        #expect(try Self.rpc(server.port, "ws.disable").status == "HTTP/1.1 200 OK")
        let refused = try PythonClient(["hold", "\(server.port)", "1"])
        #expect(refused.finish().contains("HANDSHAKE 503"))
        #expect(try Self.rpc(server.port, "ws.enable").status == "HTTP/1.1 200 OK")
        let accepted = try PythonClient(["hold", "\(server.port)", "1"])
        #expect(accepted.finish().contains("HANDSHAKE 101 sip"))
    }

    static func rpc(_ port: Int, _ method: String, _ params: String = "[]") throws -> (
        status: String, json: [String: Any]?
    ) {
        let r = try XHTTPServerTests.curl([
            "-d", #"{"jsonrpc":"2.0","method":""# + method + #"","params":"# + params + #","id":1}"#,
            "http://127.0.0.1:\(port)/RPC",
        ])
        let status = r.components(separatedBy: "\r\n").first ?? ""
        return (status, try? JSONSerialization.jsonObject(with: Data(XHTTPServerTests.body(r).utf8)) as? [String: Any])
    }

    @Test(.enabled(if: python != nil && curlPath != nil, "python3 or curl is missing"))
    func rpcsDumpPingAndCloseConnections() throws {
        let config = Self.config(uasPort: freeUDPPort()).replacingOccurrences(
            of: "modparam(\"jsonrpcs\"",
            with: "modparam(\"websocket\", \"ping_application_data\", \"probe\")\nmodparam(\"jsonrpcs\"")
        let server = try TestServer(config: config)
        let c = try PythonClient(["hold", "\(server.port)", "8"])
        let opened = c.wait(for: "OPEN")
        let clientPort = try #require(
            opened.split(separator: "\n").first { $0.hasPrefix("OPEN ") }?.split(separator: " ").last)

        let dump = try Self.rpc(server.port, "ws.dump")
        let result = try #require(dump.json?["result"] as? [String: Any], "\(dump) log: \(server.log)")
        let lines = try #require(result["connections"] as? [String])
        #expect(lines.count == 1)
        let line = try #require(lines.first)
        let pattern = try Regex(
            #"^([0-9]+): ws:127\.0\.0\.1:"# + clientPort + #" -> ws:127\.0\.0\.1:"# + String(server.port)
                + #" \(state: OPEN,  last used [0-9]+s ago, sub-protocol: sip\)$"#)
        let match = try #require(line.firstMatch(of: pattern), "\(line)")
        let id = String(line[match.output[1].range!])
        let info = result["info"] as? [String: Any]
        #expect(info?["wscounter"] as? Int == 1)
        #expect(info?["truncated"] as? String == "no")
        #expect(
            try Self.rpc(server.port, "ws.dump", #"["sideways"]"#).status == "HTTP/1.1 400 Bad display order parameter")

        #expect(try Self.rpc(server.port, "ws.ping", "[\(id)]").status == "HTTP/1.1 200 OK")
        #expect(c.wait(for: "PING probe").contains("PING probe"))
        #expect(try Self.rpc(server.port, "ws.close", "[99999]").status == "HTTP/1.1 500 Unknown connection ID")
        #expect(try Self.rpc(server.port, "ws.close", "[\(id)]").status == "HTTP/1.1 200 OK")
        let closed = c.wait(for: "EOF")
        #expect(closed.contains("CLOSE 1000 Normal closure"), "\(closed)")
        #expect(closed.contains("EOF"), "\(closed)")
        #expect(server.waitForLog("WebSocket connection \(id) closed"), "\(server.log)")
        let after = try #require(try Self.rpc(server.port, "ws.dump").json?["result"] as? [String: Any])
        #expect((after["connections"] as? [String])?.isEmpty == true)
    }

    @Test(.enabled(if: python != nil, "python3 is missing")) func keepalivePingsAndClosesAPeerThatDoesNotAnswer() throws
    {
        let config = Self.config(uasPort: freeUDPPort()).replacingOccurrences(
            of: "modparam(\"jsonrpcs\"",
            with:
                "modparam(\"websocket\", \"keepalive_timeout\", 1)\nmodparam(\"websocket\", \"ping_application_data\", \"ka\")\nmodparam(\"jsonrpcs\""
        )
        let server = try TestServer(config: config)
        let c = try PythonClient(["hold", "\(server.port)", "10", "nopong"])
        let text = c.wait(for: "EOF", timeout: 12)
        #expect(text.contains("PING ka"), "\(text) log: \(server.log)")
        #expect(text.contains("EOF"), "\(text)")
        #expect(server.log.contains("forcibly closing connection"))
    }
}
