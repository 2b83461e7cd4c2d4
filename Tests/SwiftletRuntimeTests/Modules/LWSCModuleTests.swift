import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// lwsc (Kamailio 5.6's WebSocket client over libwebsockets) against the python3 WebSocket
/// server of Tests/Fixtures/websocket, over ws:// and wss:// (certificates of a test CA):
/// answers in `$lwsc(rdata)`, subprotocols, notifications, and the return codes of a server
/// that never answers, one that never completes the handshake and a dead URL.
@Suite(.serialized) struct LWSCModuleTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/websocket/ws_test_server.py").path

    /// A running ws_test_server.py and its port.
    final class WSServer {
        let process: InteractiveProcess
        let port: Int

        init(_ mode: String, tls: (cert: String, key: String)? = nil) throws {
            var args = [LWSCModuleTests.script, mode]
            if let tls { args += ["--tls", tls.cert, tls.key] }
            process = try InteractiveProcess(WebSocketServerTests.python!, args)
            guard process.waitFor("LISTEN ", timeout: 10),
                let line = process.text.split(separator: "\n").first(where: { $0.hasPrefix("LISTEN ") }),
                let port = Int(line.dropFirst(7))
            else { throw TestFailure("ws_test_server.py did not start: \(process.text)") }
            self.port = port
        }

        deinit { process.stop() }
    }

    /// Runs `route` with lwsc loaded (after `params`); the request's context.
    func run(_ route: String, params: String = "") throws -> MessageContext {
        try HTTPScriptHarness.run(
            """
            loadmodule "lwsc.so"
            \(params)
            request_route {
            \(route)
            }
            """)
    }

    func avp(_ ctx: MessageContext, _ name: String) -> PVValue? { ctx.avps[name]?.first }

    @Test(.enabled(if: WebSocketServerTests.python != nil, "python3 is missing"))
    func requestGetsTheAnswerInRdata() throws {
        let server = try WSServer("echo")
        let url = "ws://127.0.0.1:\(server.port)/api/v1"
        let ctx = try run(
            """
            $avp(before) = $lwsc(rdata);
            $avp(rc) = lwsc_request("\(url)", "hello $fU");
            $avp(r) = $lwsc(rdata);
            $avp(st) = $lwsc(status);
            $avp(rc2) = lwsc_request_proto("\(url)", "sip", "second");
            $avp(r2) = $lwsc(rdata);
            """)
        #expect(avp(ctx, "before") == nil || avp(ctx, "before") == .null)
        #expect(avp(ctx, "rc") == .int(1), "\(server.process.text)")
        #expect(avp(ctx, "r") == .string("ECHO kmsg hello bob"), "the module's default subprotocol, kmsg")
        #expect(avp(ctx, "st") == .int(0))
        #expect(avp(ctx, "rc2") == .int(1))
        #expect(avp(ctx, "r2") == .string("ECHO sip second"), "a connection of its own for subprotocol sip")
        #expect(server.process.waitFor("GOT kmsg /api/v1 hello bob"), "\(server.process.text)")
        #expect(server.process.waitFor("OPEN sip /api/v1"), "\(server.process.text)")

        // The module parameter `protocol` changes the default.
        let other = try run(
            #"$avp(rc) = lwsc_request("\#(url)", "x"); $avp(r) = $lwsc(rdata);"#,
            params: #"modparam("lwsc", "protocol", "chat")"#)
        #expect(avp(other, "r") == .string("ECHO chat x"))
    }

    @Test(.enabled(if: WebSocketServerTests.python != nil, "python3 is missing"))
    func notifySendsWithoutWaiting() throws {
        let server = try WSServer("silent")
        let url = "ws://127.0.0.1:\(server.port)/events"
        let start = Date()
        let ctx = try run(
            """
            $avp(rc) = lwsc_notify("\(url)", "event $ci");
            $avp(rc2) = lwsc_notify_proto("\(url)", "events", "second");
            """)
        #expect(avp(ctx, "rc") == .int(1))
        #expect(avp(ctx, "rc2") == .int(1))
        #expect(Date().timeIntervalSince(start) < 2, "no answer awaited")
        #expect(server.process.waitFor("GOT kmsg /events event "), "\(server.process.text)")
        // Kamailio 5.6's lwsc_notify_proto ignores its subprotocol (README: Differences).
        #expect(server.process.waitFor("GOT events /events second"), "\(server.process.text)")
    }

    @Test(.enabled(if: WebSocketServerTests.python != nil, "python3 is missing"))
    func wssWithTheTestCA() throws {
        let pki = try TestPKI()
        // The server sends its certificate with the CA's: Kamailio's client options accept a
        // self-signed root in the chain (LCCSCF_ALLOW_SELFSIGNED).
        let chain = pki.directory.write(
            "chain.pem",
            try String(contentsOfFile: pki.file("server.pem"), encoding: .utf8)
                + String(contentsOfFile: pki.file("ca.pem"), encoding: .utf8))
        let server = try WSServer("echo", tls: (chain, pki.file("server.key")))
        let ctx = try run(
            #"$avp(rc) = lwsc_request("wss://127.0.0.1:\#(server.port)/secure", "over tls"); $avp(r) = $lwsc(rdata);"#)
        #expect(avp(ctx, "rc") == .int(1), "\(server.process.text)")
        #expect(avp(ctx, "r") == .string("ECHO kmsg over tls"))

        // Only the server's certificate: its issuer is unknown, the handshake fails.
        let leafOnly = try WSServer("echo", tls: (pki.file("server.pem"), pki.file("server.key")))
        let refused = try run(
            #"$avp(rc) = lwsc_request("wss://127.0.0.1:\#(leafOnly.port)/secure", "x");"#,
            params: #"modparam("lwsc", "timeout_init", 1000000)"#)
        #expect(avp(refused, "rc") == .int(-1))
        #expect(!leafOnly.process.text.contains("GOT "))
    }

    @Test(.enabled(if: WebSocketServerTests.python != nil, "python3 is missing"))
    func aServerThatNeverAnswersTimesOutWithMinus2() throws {
        let server = try WSServer("silent")
        let start = Date()
        let ctx = try run(
            #"""
            $avp(rc) = lwsc_request("ws://127.0.0.1:\#(server.port)/", "anyone?");
            if ($lwsc(rdata) == $null) { $avp(null) = 1; }
            """#,
            params: #"modparam("lwsc", "timeout_read", 500000)"#)
        let elapsed = Date().timeIntervalSince(start)
        #expect(avp(ctx, "rc") == .int(-2))
        #expect(avp(ctx, "null") == .int(1))
        #expect(elapsed >= 0.5 && elapsed < 3, "timeout_read is in microseconds: \(elapsed)")
        #expect(server.process.waitFor("GOT kmsg / anyone?"), "\(server.process.text)")
    }

    @Test(.enabled(if: WebSocketServerTests.python != nil, "python3 is missing"))
    func aHandshakeThatNeverCompletesAndADeadURLFailWithMinus1() throws {
        let hang = try WSServer("hang")
        var start = Date()
        let hung = try run(
            #"$avp(rc) = lwsc_request("ws://127.0.0.1:\#(hang.port)/", "x");"#,
            params: #"modparam("lwsc", "timeout_init", 300000)"#)
        var elapsed = Date().timeIntervalSince(start)
        #expect(avp(hung, "rc") == .int(-1))
        #expect(elapsed >= 0.3 && elapsed < 2.5, "timeout_init: \(elapsed)")

        // Nothing listens on the port: -1 once timeout_init (default 2 s) has passed.
        let dead = freeStreamPort()
        start = Date()
        let refused = try run(#"$avp(rc) = lwsc_request("ws://127.0.0.1:\#(dead)/", "x");"#)
        elapsed = Date().timeIntervalSince(start)
        #expect(avp(refused, "rc") == .int(-1))
        #expect(elapsed < 4, "\(elapsed)")
        let notified = try run(
            #"$avp(rc) = lwsc_notify("ws://127.0.0.1:\#(dead)/", "x");"#,
            params: #"modparam("lwsc", "timeout_init", 200000)"#)
        #expect(avp(notified, "rc") == .int(-1))

        // A URL libwebsockets cannot parse, and empty data.
        let bad = try run(
            #"$avp(rc) = lwsc_request("", "x"); $avp(rc2) = lwsc_request("ws://127.0.0.1:1/", "");"#)
        #expect(avp(bad, "rc") == .int(-1))
        #expect(avp(bad, "rc2") == .int(-1))
    }

    @Test func unknownRdataNameStopsTheStart() throws {
        #expect(throws: (any Error).self) { _ = try run(#"$avp(x) = $lwsc(body);"#) }
    }
}
