import Foundation
import Testing

/// Log lines as the server writes them on stderr: Kamailio's `log_prefix` (evaluated once per
/// message, or per line with `log_prefix_mode=1`), kex's `setdebug`, and the JSON engine
/// (`--log-engine=json:flags`, or `log_engine_type`/`log_engine_data`).
@Suite(.serialized) struct LogFormatTests {
    static func config(_ globals: String, _ route: String) -> String {
        """
        log_stderror=yes
        children=1
        listen=udp:127.0.0.1:PORT
        \(globals)
        loadmodule "sl.so"
        loadmodule "xlog.so"
        loadmodule "kex.so"
        request_route {
        \(route)
            sl_send_reply("200", "OK");
        }
        """
    }

    /// Sends one OPTIONS with `callID`, waits for the reply.
    static func send(_ server: TestServer, callID: String) throws {
        let client = UDPClient()
        client.send(sipRequest(optionsRequest(callID: callID), clientPort: client.port), to: server.port)
        _ = try #require(client.receive(), "no reply; log: \(server.log)")
    }

    /// The server's lines that contain `text`.
    static func lines(_ server: TestServer, _ text: String) -> [String] {
        server.log.split(separator: "\n").map(String.init).filter { $0.contains(text) }
    }

    /// xlog's parameters: `prefix` as a format (`prefix_mode`), `xlogl` with the line (and the
    /// file with `long_format`), `xlogm` with `methods_filter`, and `buf_size` (a longer line
    /// is refused: the function fails and nothing is printed).
    @Test(arguments: [(0, 1), (1, 512)])
    func xlogParameters(longFormat: Int, methodsFilter: Int) throws {
        let server = try TestServer(
            config: """
                log_stderror=yes
                children=1
                listen=udp:127.0.0.1:PORT
                debug=2
                loadmodule "sl.so"
                loadmodule "xlog.so"
                modparam("xlog", "buf_size", 40)
                modparam("xlog", "prefix", "[$rm] ")
                modparam("xlog", "prefix_mode", 1)
                modparam("xlog", "long_format", \(longFormat))
                modparam("xlog", "methods_filter", \(methodsFilter))
                request_route {
                    xlogl("L_INFO", "line mark\\n");
                    xlogm("L_INFO", "not filtered\\n");
                    if (xlog("L_INFO", "this text is far longer than forty bytes\\n")) {
                        xlog("L_INFO", "printed\\n");
                    } else {
                        xlog("L_INFO", "overflow refused\\n");
                    }
                    sl_send_reply("200", "OK");
                }
                """)
        try Self.send(server, callID: "xlog-params-\(longFormat)")
        #expect(server.waitForLog("overflow refused"))
        let cfg = server.directory.path + "/swiftlet.cfg"
        let mark = longFormat == 1 ? "\(cfg):13:line mark" : "13:line mark"
        #expect(Self.lines(server, "line mark").map { $0.hasSuffix("INFO: [OPTIONS] \(mark)") } == [true])
        #expect(Self.lines(server, "not filtered").count == (methodsFilter & 512 == 0 ? 1 : 0))
        #expect(Self.lines(server, "buffer overflow -- increase the buffer size").count == 1)
        #expect(Self.lines(server, "far longer").isEmpty)
        #expect(Self.lines(server, "[OPTIONS] overflow refused").count == 1)
        #expect(server.stop() == 0)
    }

    @Test func xlogColoursOnStderr() throws {
        let server = try TestServer(
            config: Self.config("debug=2", "    xlog(\"L_ERR\", \"$C(rx)red$C(Gs)bold$C(xx) plain\\n\");"))
        try Self.send(server, callID: "colour-1")
        #expect(server.waitForLog("plain"))
        #expect(
            Self.lines(server, "plain").first?.hasSuffix(
                "<script>: \u{1B}[0;31;49mred\u{1B}[1;32;40mbold\u{1B}[0;39;49m plain") == true,
            "\(Self.lines(server, "plain"))")
        let errors = ScriptHarness.errors(
            "loadmodule \"xlog.so\"\nrequest_route { xlog(\"$C(r)\\n\"); }", file: "c.cfg")
        #expect(errors.count == 1)
        #expect(errors.first?.contains("$C needs two colour letters") == true)
    }

    @Test func logPrefixIsEvaluatedOncePerMessage() throws {
        let server = try TestServer(
            config: Self.config(
                "debug=2\nlog_prefix=\"{$mt $hdr(CSeq) $ci} [$var(p)] \"",
                """
                    $var(p) = "a"; xlog("L_INFO", "first\\n");
                    $var(p) = "b"; xlog("L_INFO", "second\\n");
                    log(1, "core log\\n");
                """))
        try Self.send(server, callID: "cid-A")
        #expect(server.waitForLog("core log"))
        let pid = server.process.processIdentifier
        #expect(
            Self.lines(server, "cid-A") == [
                " 1(\(pid)) INFO: {1 7 OPTIONS cid-A} [0] <script>: first",
                " 1(\(pid)) INFO: {1 7 OPTIONS cid-A} [0] <script>: second",
                " 1(\(pid)) NOTICE: {1 7 OPTIONS cid-A} [0] <script>: core log",
            ], "\(server.log)")
        // The next message on the same worker: $var kept its value, the prefix follows.
        try Self.send(server, callID: "cid-B")
        #expect(server.waitForLog("INFO: {1 7 OPTIONS cid-B} [b] <script>: first"), "\(server.log)")
        // Lines outside a message have no prefix.
        #expect(server.log.contains(" 0(\(pid)) INFO: <core> [core/"))
        #expect(logHasLine(server.log, "INFO", "<core>", "swiftlet "))
    }

    @Test func logPrefixModeOneFollowsTheScript() throws {
        let server = try TestServer(
            config: Self.config(
                "debug=2\nlog_prefix=\"[$var(p)] \"\nlog_prefix_mode=1",
                """
                    $var(p) = "a"; xlog("L_INFO", "first\\n");
                    $var(p) = "b"; xlog("L_INFO", "second\\n");
                """))
        try Self.send(server, callID: "cid-1")
        #expect(server.waitForLog("second"))
        #expect(server.log.contains("INFO: [a] <script>: first"), "\(server.log)")
        #expect(server.log.contains("INFO: [b] <script>: second"))
    }

    @Test func setdebugRaisesTheWorkersLevel() throws {
        let server = try TestServer(
            config: Self.config(
                "debug=1",
                """
                    xinfo("before\\n");
                    setdebug(2); xinfo("during\\n");
                    resetdebug(); xinfo("after\\n");
                    xnotice("notice\\n");
                """))
        try Self.send(server, callID: "cid-1")
        #expect(server.waitForLog("notice"))
        #expect(server.log.contains("INFO: <script>: during"))
        #expect(!server.log.contains("before"))
        #expect(!server.log.contains("after"))
    }

    static func jsonLines(_ server: TestServer) -> [[String: Any]] {
        server.log.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    @Test func jsonLinesWithCallIDAndPrefix() throws {
        let server = try TestServer(
            config: Self.config("debug=2\nlog_prefix=\"[$rm] \"", "    xinfo(\"got \\\"$rm\\\"\\tok\\n\");"),
            extraArguments: ["--log-engine=json:c"])
        try Self.send(server, callID: "cid-json")
        #expect(server.waitForLog("cid-json\", \"logprefix\""))
        let pid = Int(server.process.processIdentifier)
        let lines = Self.jsonLines(server)
        let script = try #require(lines.first { $0["module"] as? String == "xlog" }, "\(server.log)")
        #expect(script["idx"] as? Int == 1)
        #expect(script["pid"] as? Int == pid)
        #expect(script["level"] as? String == "INFO")
        #expect(script["callid"] as? String == "cid-json")
        #expect(script["logprefix"] as? String == "[OPTIONS] ")
        #expect(script["message"] as? String == "got \"OPTIONS\"\tok\n")
        // The raw line: Kamailio's key order and spacing, the message escaped.
        #expect(
            server.log.contains(
                "{ \"idx\": 1, \"pid\": \(pid), \"level\": \"INFO\", \"module\": \"xlog\", \"file\": \"\", \"line\": 0,"
                    + " \"function\": \"\", \"callid\": \"cid-json\", \"logprefix\": \"[OPTIONS] \","
                    + " \"message\": \"got \\\"OPTIONS\\\"\\tok\\n\" }\n"))
        let core = try #require(lines.first { ($0["message"] as? String)?.hasPrefix("swiftlet ") == true })
        #expect(core["module"] as? String == "core")
        #expect(core["idx"] as? Int == 0)
        #expect(core["callid"] as? String == "")
        #expect(core["logprefix"] as? String == "")
        #expect((core["file"] as? String)?.hasSuffix("Server.swift") == true)
        #expect((core["line"] as? Int ?? 0) > 0)
    }

    @Test func jsonFromTheConfigurationWithFlags() throws {
        let server = try TestServer(
            config: Self.config(
                "debug=2\nlog_engine_type=\"json\"\nlog_engine_data=\"Mp\"", "    xinfo(\"hello\\n\");"))
        try Self.send(server, callID: "cid-1")
        #expect(server.waitForLog("hello"))
        let line = try #require(Self.lines(server, "\"hello\"").first, "\(server.log)")
        // M: no line break in the message; p: no "logprefix" when it is empty.
        #expect(line.hasSuffix("\"function\": \"\", \"message\": \"hello\" }"))
    }

    @Test func badLogPrefixIsAConfigurationError() throws {
        let dir = TemporaryDirectory()
        let cfg = dir.write("p.cfg", "debug=1\nlog_prefix=\"{$nosuch(x)} \"\nrequest_route { drop; }\n")
        let r = try runSwiftlet(["-c", "-f", cfg, "-L", productsDirectory])
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(cfg):2:12: error: log_prefix: "), "\(r.stderr)")
    }
}
