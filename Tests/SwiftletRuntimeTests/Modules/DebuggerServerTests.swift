import Foundation
import Testing

/// The debugger module on the running binary: `cfgtrace` logs Kamailio's `*** cfgtrace:`
/// line before each action of the script, `dbg.trace` turns it off and on, per-module levels
/// change what a module logs, and the stock configuration's WITH_DEBUG block loads.
@Suite struct DebuggerServerTests {
    /// Lines numbered as in the file (the first line is 1).
    static let script = """
        debug=2
        children=1
        listen=udp:127.0.0.1:PORT
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "xlog.so"
        loadmodule "textops.so"
        loadmodule "jsonrpcs.so"
        loadmodule "debugger.so"
        modparam("jsonrpcs", "dgram_socket", "SOCKET")
        modparam("jsonrpcs", "transport", 4)
        modparam("debugger", "cfgtrace", 1)
        modparam("debugger", "log_level_name", "exec")
        modparam("debugger", "mod_hash_size", 4)
        modparam("debugger", "mod_level_mode", 1)
        modparam("debugger", "mod_level", "xlog=1")
        request_route {
        	$var(x) = 1;
        	xlog("L_NOTICE", "notice $var(x)\\n");
        	xlog("L_INFO", "info $var(x)\\n");
        	while ($var(x) < 3) { $var(x) = $var(x) + 1; }
        	route(R1);
        	if (is_method("OPTIONS")) sl_send_reply("200", "OK");
        	exit;
        }
        route[R1] {
        	append_hf("X: y\\r\\n");
        	return 1;
        }
        """

    /// The trace lines Kamailio 5.6.3 logs for an OPTIONS through `script` (checked with
    /// Debian's kamailio and the same script), after `c=[file] `, but for the `if`: Kamailio
    /// prints the line after the statement (25), Swiftlet the line it starts on.
    static let expectedTrace = [
        "request_route=[DEFAULT_ROUTE] l=18 a=63 n=assign",
        "request_route=[DEFAULT_ROUTE] l=19 a=26 n=xlog",
        "request_route=[DEFAULT_ROUTE] l=20 a=26 n=xlog",
        "request_route=[DEFAULT_ROUTE] l=21 a=23 n=while",
        "request_route=[DEFAULT_ROUTE] l=21 a=63 n=assign",
        "request_route=[DEFAULT_ROUTE] l=21 a=63 n=assign",
        "request_route=[DEFAULT_ROUTE] l=22 a=5 n=route",
        "request_route=[R1] l=27 a=25 n=append_hf",
        "request_route=[R1] l=28 a=2 n=return",
        "request_route=[DEFAULT_ROUTE] l=23 a=16 n=if",
        "request_route=[DEFAULT_ROUTE] l=23 a=25 n=is_method",
        "request_route=[DEFAULT_ROUTE] l=23 a=26 n=sl_send_reply",
        "request_route=[DEFAULT_ROUTE] l=24 a=2 n=exit",
    ]

    static func options(_ port: Int, _ n: Int, from client: Int) -> String {
        "OPTIONS sip:a@127.0.0.1:\(port) SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:\(client);branch=z9hG4bKdbg\(n)\r\n"
            + "From: <sip:b@x>;tag=\(n)\r\nTo: <sip:a@x>\r\nCall-ID: dbg-\(n)\r\nCSeq: 1 OPTIONS\r\n"
            + "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    }

    /// The trace lines of the log, each from `request_route=` on without the `c=[...] ` part,
    /// after checking that part names the configuration file.
    static func traceLines(_ log: String, file: String) -> [String] {
        log.split(separator: "\n").compactMap { line -> String? in
            guard let r = line.range(of: " exec: *** cfgtrace:dbg_cfg_trace(): ") else { return nil }
            let rest = String(line[r.upperBound...])
            return rest.replacingOccurrences(of: "c=[\(file)] ", with: "")
        }
    }

    @Test func cfgtraceLogsEachActionAndDbgTraceTurnsItOff() throws {
        let dir = TemporaryDirectory()
        let socket = dir.path + "/rpc.sock"
        let server = try TestServer(config: Self.script.replacingOccurrences(of: "SOCKET", with: socket))
        let file = server.directory.path + "/swiftlet.cfg"
        let client = UDPClient()
        client.send(Self.options(server.port, 1, from: client.port), to: server.port)
        #expect(client.receive(timeout: 5)?.hasPrefix("SIP/2.0 200 OK") == true)
        #expect(server.waitForLog("n=exit"))
        #expect(Self.traceLines(server.log, file: file) == Self.expectedTrace, "\(server.log)")
        // mod_level xlog=1 (notice): xlog's info line is not printed though debug=2 is info.
        #expect(server.log.contains("NOTICE: <script>: notice 1"))
        #expect(!server.log.contains("info 1"))

        let ctl = productsDirectory + "/swiftletctl"
        func call(_ args: [String]) throws -> String { try runProgram(ctl, ["-s", socket] + args).stdout }
        var listed = ""
        for _ in 0..<100 where !listed.contains("\"set\"") {
            listed = try call(["dbg.ls"])
            usleep(50_000)
        }
        #expect(listed.contains("\"set\":\t1"), "\(listed)")
        #expect(try call(["dbg.trace", "off"]).contains("\"result\":\t\"200 ok\""))
        #expect(try call(["dbg.ls"]).contains("\"set\":\t0"))
        #expect(try call(["dbg.trace", "bad"]).contains("\"message\":\t\"Unknown trace command\""))
        #expect(try call(["dbg.trace", "on", "1"]).contains("\"message\":\t\"No such pid\""))
        // xlog's level raised to info: its info line comes out now; no trace lines.
        #expect(try call(["dbg.set_mod_level", "xlog", "2"]).contains("200 ok"))
        #expect(try call(["dbg.get_mod_level", "xlog"]).contains("\"result\":\t2"))
        #expect(try call(["dbg.get_mod_facility", "xlog"]).contains("\"result\":\t\"LOG_DAEMON\""))
        client.send(Self.options(server.port, 2, from: client.port), to: server.port)
        #expect(client.receive(timeout: 5)?.hasPrefix("SIP/2.0 200 OK") == true)
        #expect(server.waitForLog("INFO: <script>: info 1"))
        #expect(Self.traceLines(server.log, file: file).count == Self.expectedTrace.count)
        // On again.
        #expect(try call(["dbg.trace", "on"]).contains("200 ok"))
        client.send(Self.options(server.port, 3, from: client.port), to: server.port)
        #expect(client.receive(timeout: 5)?.hasPrefix("SIP/2.0 200 OK") == true)
        let deadline = Date().addingTimeInterval(5)
        while Self.traceLines(server.log, file: file).count < 2 * Self.expectedTrace.count, Date() < deadline {
            usleep(20_000)
        }
        #expect(Self.traceLines(server.log, file: file) == Self.expectedTrace + Self.expectedTrace)
    }

    /// `swiftlet -c` on the stock configuration with WITH_DEBUG (and the database defines the
    /// file documents with it) passes.
    @Test(.enabled(if: StockConfigTests.present, "\(StockConfigTests.stock) is not installed"))
    func stockConfigWithDebugPassesTheCheck() throws {
        let r = try runSwiftlet(
            [
                "-c", "-f", StockConfigTests.stock, "-L", productsDirectory, "-A", "WITH_MYSQL", "-A", "WITH_AUTH",
                "-A",
                "WITH_DEBUG",
            ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("debugger"), "\(r.stderr)")
    }

    /// Parameters Swiftlet's debugger cannot honour stop start-up with the reason.
    @Test func unsupportedParametersAreRefused() throws {
        for (name, value) in [("breakpoint", "1"), ("cfgtest", "1"), ("mod_level", "\"tm=3\"")] {
            let dir = TemporaryDirectory()
            let cfg = dir.write(
                "s.cfg",
                "listen=udp:127.0.0.1:5999\nloadmodule \"debugger.so\"\nmodparam(\"debugger\", \"\(name)\", \(value))\nrequest_route { exit; }\n"
            )
            let r = try runSwiftlet(["-c", "-f", cfg, "-L", productsDirectory])
            #expect(r.status != 0, "\(name)")
            #expect(r.stderr.contains("modparam \"debugger\" \"\(name)\""), "\(r.stderr)")
        }
    }
}
