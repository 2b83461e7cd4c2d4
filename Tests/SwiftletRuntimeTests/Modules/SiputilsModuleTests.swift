import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK
@testable import SwiftletSIP

/// The siputils module run on messages, and `options_reply()` over UDP (the reply compared
/// with the one Kamailio 5.6.3 sends on loopback).
@Suite(.serialized) struct SiputilsModuleTests {
    func codes(_ route: String, _ msg: String = ScriptHarness.request()) throws -> (ctx: MessageContext, rc: [Int]) {
        let (ctx, _) = try ScriptHarness.run("loadmodule \"siputils.so\"\nrequest_route {\n\(route)\n}\n", msg)
        return (ctx, (ctx.avps["r"] ?? []).reversed().map { if case .int(let i) = $0 { i } else { 99 } })
    }

    @Test func messageTests() throws {
        let route = "has_totag(); $avp(r) = $rc; is_request(); $avp(r) = $rc; is_reply(); $avp(r) = $rc;"
        #expect(try codes(route).rc == [-1, 1, -1])
        #expect(try codes(route, ScriptHarness.request(to: "<sip:a@b>;tag=xyz")).rc == [1, 1, -1])
        #expect(try codes(route, ScriptHarness.request(to: "<sip:a@b>;tag=")).rc == [-1, 1, -1])
    }

    @Test func isFirstHop() throws {
        let route = "is_first_hop(); $avp(r) = $rc;"
        #expect(try codes(route).rc == [1])
        let twoVias = ScriptHarness.request(
            via: "SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-1,SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-0")
        #expect(try codes(route, twoVias).rc == [-1])
        // Replies: the top Record-Route decides (the prelude listens on 127.0.0.1:5060).
        func reply(_ rr: String?, from ip: String, port: Int, mode: String = "") throws -> Int {
            var text = ScriptHarness.reply(code: 180, reason: "Ringing")
            if let rr {
                text = text.replacingOccurrences(of: "Content-Length", with: "Record-Route: \(rr)\r\nContent-Length")
            }
            let loaded = try ScriptHarness.load(
                ScriptHarness.prelude
                    + "loadmodule \"siputils.so\"\nonreply_route {\nis_first_hop(\(mode)); $avp(r) = $rc;\n}\n")
            let ctx = try ScriptHarness.context(text, sourceIP: ip, sourcePort: port, core: loaded.context)
            loaded.script.runReplyRoute(ctx)
            if case .int(let i) = ctx.avps["r"]?.first { return i }
            return 99
        }
        #expect(try reply(nil, from: "192.0.2.10", port: 5070) == 1)
        #expect(try reply("<sip:127.0.0.1;lr>", from: "192.0.2.10", port: 5070) == 1)
        #expect(try reply("<sip:192.0.2.99;lr>", from: "192.0.2.10", port: 5070) == -1)
        // From the Record-Route address itself: a local loop, unless mode 1.
        #expect(try reply("<sip:127.0.0.1;lr>", from: "127.0.0.1", port: 5060) == -1)
        #expect(try reply("<sip:127.0.0.1;lr>", from: "127.0.0.1", port: 5060, mode: "1") == 1)
        // A domain counts only in mode 1 (localhost is not an alias here: -1 either way).
        #expect(try reply("<sip:proxy.example.com;lr>", from: "192.0.2.10", port: 5070) == -1)
    }

    @Test func requestURIParameters() throws {
        let (ctx, rc) = try codes(
            """
            uri_param("lr"); $avp(r) = $rc;
            uri_param("transport", "udp"); $avp(r) = $rc;
            uri_param("transport", "UDP"); $avp(r) = $rc;
            uri_param("Transport"); $avp(r) = $rc;
            uri_param_any("TRANSPORT"); $avp(r) = $rc;
            uri_param("transport"); $avp(r) = $rc;
            uri_param_rm("Transport"); $avp(r) = $rc;
            add_uri_param("x=1"); $avp(r) = $rc;
            """, ScriptHarness.request(uri: "sip:alice@example.com;transport=udp;lr"))
        #expect(rc == [1, 1, -1, -1, 1, -1, 1, 1])
        #expect(ctx.newRequestURI == "sip:alice@example.com;lr;x=1")
        let (h, _) = try codes("add_uri_param(\"x=1\");", ScriptHarness.request(uri: "sip:alice@example.com;lr?h=v"))
        #expect(h.newRequestURI == "sip:alice@example.com;lr;x=1?h=v")
    }

    @Test func numberAndURITests() throws {
        let (_, rc) = try codes(
            """
            $var(n) = "+4912345"; is_e164("$var(n)"); $avp(r) = $rc;
            $var(n) = "4912345"; is_e164("$var(n)"); $avp(r) = $rc;
            $var(u) = "sip:+4912345@example.com"; is_uri_user_e164("$var(u)"); $avp(r) = $rc;
            $var(u) = "sip:alice@example.com"; is_uri_user_e164("$var(u)"); $avp(r) = $rc;
            is_uri("sip:a@b"); $avp(r) = $rc;
            is_uri("urn:service:sos"); $avp(r) = $rc;
            is_uri("http://x"); $avp(r) = $rc;
            is_numeric("0123"); $avp(r) = $rc;
            is_numeric("12a"); $avp(r) = $rc;
            is_alphanum("abc1"); $avp(r) = $rc;
            is_alphanum("ab-1"); $avp(r) = $rc;
            is_alphanumex("ab-1", "-_"); $avp(r) = $rc;
            is_tel_number("+4930"); $avp(r) = $rc;
            is_tel_number("+0930"); $avp(r) = $rc;
            is_tel_number("0930"); $avp(r) = $rc;
            """)
        #expect(rc == [1, -1, 1, -1, 1, 1, -1, 1, -2, 1, -3, 1, 1, -2, 1])
    }

    @Test func optionsReplyOverUDP() throws {
        let server = try TestServer(
            config: """
                listen=udp:127.0.0.1:PORT
                loadmodule "sl.so"
                loadmodule "siputils.so"
                modparam("siputils", "options_support", "100rel")
                request_route {
                    if (!options_reply()) { sl_send_reply("404", "Not For Us"); }
                }
                """)
        defer { server.stop() }
        let client = UDPClient()
        func ask(_ uri: String) throws -> [String] {
            client.send(
                sipRequest(
                    [
                        "OPTIONS \(uri) SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:CPORT;branch=z9hG4bK-o;rport",
                        "From: <sip:a@x>;tag=1", "To: <sip:b@y>", "Call-ID: o1", "CSeq: 1 OPTIONS", "Content-Length: 0",
                    ], clientPort: client.port), to: server.port)
            return replyLines(try #require(client.receive(timeout: 3)))
        }
        let lines = try ask("sip:127.0.0.1")
        #expect(lines[0] == "SIP/2.0 200 OK")
        let cseq = try #require(lines.firstIndex(of: "CSeq: 1 OPTIONS"))
        #expect(
            Array(lines[(cseq + 1)...(cseq + 4)]) == [
                "Accept: */*", "Accept-Encoding: ", "Accept-Language: en", "Supported: 100rel",
            ])
        #expect(lines[cseq + 5].hasPrefix("Server: "))
        #expect(try ask("sip:bob@127.0.0.1")[0] == "SIP/2.0 404 Not For Us", "a user part: -1")
    }
}
