import Foundation
import Testing

let curlPath = ["/usr/bin/curl", "/usr/local/bin/curl"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// HTTP on the SIP TCP listener through the running binary: xhttp's event route and
/// `xhttp_reply`, `$hu` and `$hdr` on HTTP requests, `url_skip`, jsonrpcs over HTTP
/// (`jsonrpc_dispatch()`, as the stock configuration's WITH_JSONRPC), and a request too
/// large to take.
@Suite(.serialized) struct XHTTPServerTests {
    static let config = """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=1
        tcp_children=2
        listen=udp:127.0.0.1:PORT
        listen=tcp:127.0.0.1:PORT
        tcp_accept_no_cl=yes
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "xhttp.so"
        loadmodule "jsonrpcs.so"
        modparam("jsonrpcs", "transport", 1)
        modparam("xhttp", "url_skip", "^/skipped")
        request_route {
            sl_send_reply("200", "OK $pr");
        }
        event_route[xhttp:request] {
            set_reply_close();
            set_reply_no_connect();
            if (src_ip!=127.0.0.1) {
                xhttp_reply("403", "Forbidden", "text/html", "<html><body>Not allowed from $si</body></html>");
                exit;
            }
            if ($hu =~ "^/RPC") {
                jsonrpc_dispatch();
                exit;
            }
            xhttp_reply("200", "OK", "text/html", "<html><body>Wrong URL $hu ua=$hdr(User-Agent) $rm</body></html>");
            exit;
        }
        """

    /// Runs curl; its output with `-i` (status line, headers, body).
    static func curl(_ args: [String]) throws -> String {
        let r = try runProgram(curlPath!, ["-s", "-i", "--max-time", "10"] + args)
        return r.stdout
    }

    static func body(_ response: String) -> String {
        guard let r = response.range(of: "\r\n\r\n") else { return "" }
        return String(response[r.upperBound...])
    }

    @Test(.enabled(if: curlPath != nil, "curl is not installed")) func xhttpRouteAnswersAndJSONRPCOverHTTP() throws {
        let server = try TestServer(config: Self.config)
        let url = "http://127.0.0.1:\(server.port)"
        let page = try Self.curl(["-A", "probe/1", "\(url)/foo?x=1"])
        #expect(page.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(page) log: \(server.log)")
        #expect(page.contains("Content-Type: text/html\r\n"))
        #expect(Self.body(page) == "<html><body>Wrong URL /foo?x=1 ua=probe/1 GET</body></html>")

        let version = try Self.curl(["-d", #"{"jsonrpc":"2.0","method":"core.version","id":1}"#, "\(url)/RPC"])
        #expect(version.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(version)")
        #expect(version.contains("Content-Type: application/json\r\n"))
        let v = try JSONSerialization.jsonObject(with: Data(Self.body(version).utf8)) as? [String: Any]
        #expect(v?["jsonrpc"] as? String == "2.0")
        #expect((v?["result"] as? String)?.hasPrefix("swiftlet ") == true, "\(version)")
        #expect((v?["id"] as? Int) == 1)

        let uptime = try Self.curl(["-d", #"{"jsonrpc":"2.0","method":"core.uptime","id":"u"}"#, "\(url)/RPC"])
        let u = try JSONSerialization.jsonObject(with: Data(Self.body(uptime).utf8)) as? [String: Any]
        let result = u?["result"] as? [String: Any]
        #expect(result?["uptime"] is Int, "\(uptime)")
        #expect(result?["now"] is String)
        #expect(result?["up_since"] is String)
        #expect(u?["id"] as? String == "u")

        // Kamailio answers an unknown method with HTTP 500 and the fault.
        let missing = try Self.curl(["-d", #"{"jsonrpc":"2.0","method":"no.such","id":3}"#, "\(url)/RPC"])
        #expect(missing.hasPrefix("HTTP/1.1 500 Method Not Found\r\n"), "\(missing)")
        let m = try JSONSerialization.jsonObject(with: Data(Self.body(missing).utf8)) as? [String: Any]
        #expect((m?["error"] as? [String: Any])?["message"] as? String == "Method Not Found")

        // url_skip: not for xhttp, so nothing answers and the connection closes at the end.
        let skipped = try runProgram(
            curlPath!, ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "3", "\(url)/skipped"])
        #expect(skipped.stdout == "000")

        // SIP on the same listener still works.
        let client = try TCPClient(port: server.port)
        client.send(TCPTransportTests.options(1, port: client.localPort))
        #expect(replyLines(try #require(client.receiveMessage(), "log: \(server.log)"))[0] == "SIP/2.0 200 OK tcp")
    }

    @Test(.enabled(if: curlPath != nil, "curl is not installed")) func aHugeHTTPBodyIsRefusedAndTheServerGoesOn() throws
    {
        let server = try TestServer(config: Self.config)
        let url = "http://127.0.0.1:\(server.port)"
        let big = server.directory.write("big.json", String(repeating: "a", count: 300_000))
        let r = try Self.curl(["--data-binary", "@\(big)", "\(url)/RPC"])
        #expect(r.hasPrefix("HTTP/1.1 413 Request Entity Too Large\r\n"), "\(r.prefix(200)) log: \(server.log)")
        let version = try Self.curl(["-d", #"{"jsonrpc":"2.0","method":"core.version","id":1}"#, "\(url)/RPC"])
        #expect(version.hasPrefix("HTTP/1.1 200 OK\r\n"))
    }

    /// The stock configuration with WITH_JSONRPC: xhttp loads and its event route,
    /// `xhttp_reply`, `$hu` and `jsonrpc_dispatch()` are understood, and the whole file passes.
    @Test(.enabled(if: StockConfigTests.present, "the stock configuration is not installed"))
    func stockConfigWithJSONRPCLoadsXHTTP() throws {
        let r = try runSwiftlet(["-c", "-f", StockConfigTests.stock, "-L", productsDirectory, "-A", "WITH_JSONRPC"])
        let errors = r.stderr.split(separator: "\n").map(String.init).filter {
            $0.hasPrefix(StockConfigTests.stock + ":")
        }
        // Every module of the stock configuration loads (acc and cfg_rpc included).
        #expect(errors.isEmpty, "\(errors)")
        #expect(r.status == 0, "\(r.stderr)")
        for word in ["xhttp", "jsonrpc", "$hu", "set_reply_close", "set_reply_no_connect"] {
            #expect(!errors.contains { $0.contains(word) }, "\(errors)")
        }
    }
}
