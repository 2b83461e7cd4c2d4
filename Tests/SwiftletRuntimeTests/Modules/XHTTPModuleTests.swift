import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// xhttp and jsonrpcs over HTTP on the embedded core: what an HTTP request received on a
/// TCP connection makes the core send, byte for byte.
@Suite struct XHTTPModuleTests {
    static let client = "127.0.0.1:40000"

    static func core(_ extra: String = "") throws -> EmbeddedCore {
        try EmbeddedCore(
            config: """
                log_stderror=yes
                debug=-1
                listen=tcp:127.0.0.1:5060
                loadmodule "sl.so"
                loadmodule "pv.so"
                loadmodule "textops.so"
                loadmodule "xhttp.so"
                loadmodule "jsonrpcs.so"
                modparam("jsonrpcs", "transport", 1)
                modparam("jsonrpcs", "pretty_format", 0)
                \(extra)
                request_route {
                    sl_send_reply("200", "SIP");
                }
                event_route[xhttp:request] {
                    if ($hu == "/RPC") {
                        jsonrpc_dispatch();
                        exit;
                    }
                    if ($hu == "/bad") {
                        if (!xhttp_reply("99", "Low", "text/plain", "x")) {
                            xhttp_reply("500", "Refused $rm", "", "");
                        }
                        exit;
                    }
                    append_to_reply("X-Seen: $hdr(User-Agent) $pr $si\\r\\n");
                    append_to_reply("X-URL: $(hu{url.path}) [$(hu{url.querystring})]\\r\\n");
                    xhttp_reply("200", "OK", "text/plain", "url=$hu");
                }
                """, modulePath: productsDirectory)
    }

    static let server = Core.serverHeader.map { $0 + "\r\n" } ?? ""

    @Test func aRequestRunsTheEventRouteAndTheReplyGoesBackOnItsConnection() throws {
        let core = try Self.core()
        core.receive(
            "GET /a?b=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: probe\r\n\r\n", from: Self.client, proto: .tcp,
            connectionID: 7)
        let sent = core.takeSent()
        #expect(sent.count == 1)
        let r = try #require(sent.first)
        #expect(
            r.text
                == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Seen: probe tcp 127.0.0.1\r\nX-URL: /a [b=1]\r\n\(Self.server)"
                + "Content-Length: 10\r\n\r\nurl=/a?b=1")
        #expect(r.destination.connectionID == 7)
        #expect(r.destination.proto == .tcp)
        #expect(r.destination.address.port == 40000)

        // HTTP/1.0 is answered in its version; a bad code makes xhttp_reply fail (-1).
        core.receive("GET /bad HTTP/1.0\r\n\r\n", from: Self.client, proto: .tcp, connectionID: 7)
        #expect(core.takeSent().map(\.text) == ["HTTP/1.0 500 Refused GET\r\n\(Self.server)Content-Length: 0\r\n\r\n"])
    }

    @Test func urlMatchAndSkipDecideWhatXHTTPTakes() throws {
        let core = try Self.core(#"modparam("xhttp", "url_match", "^/a") modparam("xhttp", "url_skip", "^/ab")"#)
        core.receive("GET /b HTTP/1.1\r\n\r\n", from: Self.client, proto: .tcp, connectionID: 3)
        core.receive("GET /abc HTTP/1.1\r\n\r\n", from: Self.client, proto: .tcp, connectionID: 3)
        #expect(core.takeSent().isEmpty)
        core.receive("GET /a HTTP/1.1\r\n\r\n", from: Self.client, proto: .tcp, connectionID: 3)
        let sent = core.takeSent()
        #expect(sent.map(\.firstLine) == ["HTTP/1.1 200 OK"])
        #expect(sent.first?.text.contains("\r\nX-URL: /a []\r\n") == true)
    }

    @Test func jsonRPCOverHTTP() throws {
        let core = try Self.core()
        let body = #"{"jsonrpc":"2.0","method":"core.echo","params":["a",1],"id":9}"#
        core.receive(
            "POST /RPC HTTP/1.1\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)", from: Self.client, proto: .tcp,
            connectionID: 4)
        let doc = #"{"jsonrpc":"2.0","result":["a",1],"id":9}"#
        #expect(
            core.takeSent().map(\.text) == [
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\(Self.server)Content-Length: \(doc.utf8.count)\r\n\r\n\(doc)"
            ])
        let bad = "{nope"
        core.receive(
            "POST /RPC HTTP/1.1\r\nContent-Length: \(bad.utf8.count)\r\n\r\n\(bad)", from: Self.client, proto: .tcp,
            connectionID: 4)
        let sent = core.takeSent().map(\.text)
        #expect(sent.first?.hasPrefix("HTTP/1.1 500 Parse Error\r\n") == true, "\(sent)")
        #expect(sent.first?.hasSuffix(#""error":{"code":-32700,"message":"Parse Error"},"id":null}"#) == true)
    }

    @Test func withoutTheEventRouteXHTTPDoesNotStart() {
        #expect(throws: (any Error).self) {
            _ = try EmbeddedCore(
                config: """
                    listen=tcp:127.0.0.1:5060
                    loadmodule "xhttp.so"
                    request_route { drop; }
                    """, modulePath: productsDirectory)
        }
    }
}
