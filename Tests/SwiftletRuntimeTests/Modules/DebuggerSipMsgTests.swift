import Foundation
import Testing

/// debugger's `dbg_sip_msg()` on the running binary, next to Debian's Kamailio 5.6.3 with the
/// same script and request: the message as it would leave (the new Request-URI, the added
/// header, without the removed one), then the header edits (`- ` and the removed line, the
/// added line), in the same log lines.
@Suite(.serialized) struct DebuggerSipMsgTests {
    static func config(mpath: String?) -> String {
        """
        debug=2
        log_stderror=yes
        children=1
        listen=udp:127.0.0.1:PORT
        \(mpath.map { "mpath=\"\($0)\"" } ?? "")
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "textops.so"
        loadmodule "debugger.so"
        request_route {
            append_hf("X-A: 1\\r\\n");
            remove_hf("User-Agent");
            $ru = "sip:zed@10.0.0.1";
            if ($hdr(X-Level) == "err") { dbg_sip_msg("L_ERR", "LOG_LOCAL0"); } else { dbg_sip_msg(); }
            sl_send_reply("404", "Not here");
        }
        """
    }

    /// Sends two OPTIONS (the second with `X-Level: err`); the logged blocks, with the
    /// client's port and the process prefix replaced.
    func exchange(port: Int, log: () -> String) throws -> [String] {
        let client = UDPClient()
        for (n, extra) in [(1, ""), (2, "X-Level: err\r\n")] {
            client.send(
                "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:\(client.port);branch=z9hG4bKo\(n)\r\n"
                    + "From: <sip:a@127.0.0.1>;tag=o\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: opt\(n)\r\nCSeq: 1 OPTIONS\r\n"
                    + "User-Agent: tester\r\n\(extra)Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", to: port)
            #expect(client.receive(timeout: 5)?.hasPrefix("SIP/2.0 404 Not here") == true)
        }
        let text = log().replacingOccurrences(of: String(client.port), with: "CLIENT")
        // Each block: from its log line to the end marker and the empty line after it.
        var blocks: [String] = []
        var rest = Substring(text)
        while let start = rest.range(of: "w_dbg_sip_msg(): "),
            let end = rest.range(of: DebuggerSipMsgEnd, range: start.upperBound..<rest.endIndex)
        {
            let lineStart =
                rest[..<start.lowerBound].lastIndex(of: "\n").map { rest.index(after: $0) } ?? rest.startIndex
            let line = String(rest[lineStart..<end.upperBound])
            // " 1(1234) ERROR: debugger ..." without the rank and pid.
            blocks.append(line.replacingOccurrences(of: #"^ *\d+\(\d+\) "#, with: "", options: .regularExpression))
            rest = rest[end.upperBound...]
        }
        return blocks
    }

    @Test func logsWhatKamailioLogs() throws {
        let server = try TestServer(config: Self.config(mpath: nil))
        defer { _ = server.stop() }
        let ours = try exchange(port: server.port) { server.log }
        let expected = { (level: String, line: String, n: Int) in
            "\(level): debugger [debugger_mod.c:\(line == "unknown" ? 569 : 576)]: w_dbg_sip_msg(): CONFIG LINE \(line)\n"
                + "------------------------- START OF SIP message debug --------------------------\n"
                + "OPTIONS sip:zed@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:CLIENT;branch=z9hG4bKo\(n)\r\n"
                + "From: <sip:a@127.0.0.1>;tag=o\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: opt\(n)\r\nCSeq: 1 OPTIONS\r\n"
                + (n == 2 ? "X-Level: err\r\n" : "") + "Max-Forwards: 70\r\nContent-Length: 0\r\nX-A: 1\r\n\r\n"
                + "------------------------------ SIP header diffs -------------------------------\n"
                + "- User-Agent: tester\r\nX-A: 1\r\n"
                + "------------------------------- SIP body diffs --------------------------------\n"
                + DebuggerSipMsgEnd
        }
        // Without a level: the core's debug level (2, INFO).
        #expect(ours == [expected("INFO", "unknown", 1), expected("ERROR", "14", 2)], "\(server.log.suffix(3000))")

        guard kamailioPath != nil else { return }
        let kamailio = try KamailioTestServer(config: Self.config(mpath: kamailioModules))
        defer { kamailio.stop() }
        let theirs = try exchange(port: kamailio.port) { kamailio.log }
        // Kamailio keeps one line for every call, set by the last call in the script: here the
        // one without parameters, "unknown"; Swiftlet prints each call's own line.
        #expect(theirs == [expected("INFO", "unknown", 1), expected("ERROR", "unknown", 2)], "\(theirs)")
    }
}

private let DebuggerSipMsgEnd = "-------------------------- END OF SIP message debug ---------------------------\n\n"
