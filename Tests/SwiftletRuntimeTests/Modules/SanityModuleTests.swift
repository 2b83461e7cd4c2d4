import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK
@testable import SwiftletSIP

/// The sanity module: each check's reply as Kamailio 5.6.3 sends it (captured on loopback
/// with `sanity_check("<bits>", "15")`: the same messages are used here), the silent
/// failures, `autodrop`, `noreply` with `sanity_reply()`, and the replies over UDP.
@Suite(.serialized) struct SanityModuleTests {
    /// A request, changed by `edit` (line index 0 = request line, 1 Via, 2 From, 3 To, 4 Call-ID, 5 CSeq).
    static func request(_ extra: [String] = [], edit: (inout [String]) -> Void = { _ in }) -> String {
        var lines = [
            "OPTIONS sip:b@x SIP/2.0", "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-1;rport",
            "From: <sip:a@x>;tag=1", "To: <sip:b@y>", "Call-ID: c1", "CSeq: 1 OPTIONS",
        ]
        lines += extra
        edit(&lines)
        return lines.joined(separator: "\r\n") + "\r\nContent-Length: 0\r\n\r\n"
    }

    /// The failing checks and Kamailio 5.6.3's reply to each (nil: no reply).
    static let cases: [(checks: Int, message: String, reply: String?)] = [
        (2, request { $0[0] = "OPTIONS http://x.org SIP/2.0" }, "400 Bad Request URI"),
        (64, request { $0[5] = "CSeq: 12a OPTIONS" }, "400 CSeq number is illegal"),
        (64, request { $0[5] = "CSeq: 4294967297 OPTIONS" }, "400 CSeq number is illegal"),
        (32, request { $0[5] = "CSeq: 1 INVITE" }, "400 CSeq method does not match request method"),
        (512, request(["Proxy-Require: foo, bar"]), "420 Bad Proxy Require Extension"),
        (256, request(["Expires: abc"]), "400 Expires value is illegal"),
        (4, request(["Call-ID: dup"]), nil),
        (4, request { $0.remove(at: 4) }, nil),
        (1024, request(["Contact: <http://x>"]) { $0[3] = "To: <http://y>" }, "400 Ivalid To Header"),
        (1024, request(["Contact: <http://x>"]), "400 Bad Contact URI"),
        (
            2048,
            request(["Authorization: Digest username=\"\", realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"r\""]),
            "400 Auth Empty User"
        ),
        (
            2048, request(["Authorization: Digest username=\"u\", realm=\"r\", uri=\"sip:x\", response=\"r\""]),
            "400 Bad Auth Credentials"
        ),
        (2048, request(["Authorization: Basic abc"]), nil),
        (4096, request { $0[2] = "From: <sip:a@x>;tag=1;tag=2" }, "400 Many From Tag Params"),
    ]

    static let config = """
        loadmodule "sanity.so"
        request_route {
            $var(c) = $(hdr(X-C){s.int});
            if (!sanity_check("$var(c)", "15")) { xlog("L_ERR", "not reached with autodrop\\n"); }
            $avp(passed) = 1;
        }
        """

    @Test func eachFailedCheckGetsKamailiosReply() throws {
        for c in Self.cases {
            let msg = c.message.replacingOccurrences(of: "\r\nVia:", with: "\r\nX-C: \(c.checks)\r\nVia:")
            let (ctx, replies) = try ScriptHarness.run(Self.config, msg)
            #expect(replies.statusLines == (c.reply.map { ["SIP/2.0 \($0)"] } ?? []), "checks \(c.checks)")
            #expect(ctx.avps["passed"] == nil, "autodrop stops the script (\(c.checks))")
        }
    }

    @Test func unsupportedExtensionsAreListed() throws {
        let (_, replies) = try ScriptHarness.run(
            "loadmodule \"sanity.so\"\nmodparam(\"sanity\", \"proxy_require\", \"foo\")\n"
                + "request_route { sanity_check(\"512\"); }\n",
            Self.request(["Proxy-Require: foo, bar"]))
        let text = try #require(replies.sent.first?.text)
        #expect(text.hasPrefix("SIP/2.0 420 Bad Proxy Require Extension\r\n"))
        #expect(text.contains("\r\nCSeq: 1 OPTIONS\r\nUnsupported: bar\r\n"))
    }

    @Test func passingMessagesAndDefaults() throws {
        let (ctx, replies) = try ScriptHarness.run(
            """
            loadmodule "sanity.so"
            request_route {
                sanity_check(); $avp(r) = $rc;
                sanity_check("17895", "7"); $avp(r) = $rc;
                sanity_check("0"); $avp(r) = $rc;
                sanity_check("1", "16"); $avp(r) = $rc;
            }
            """, Self.request())
        #expect(ctx.avps["r"] == [.int(-1), .int(-1), .int(1), .int(1)])
        #expect(replies.sent.isEmpty)
    }

    @Test func withoutAutodropTheScriptGoesOn() throws {
        let (ctx, replies) = try ScriptHarness.run(
            """
            loadmodule "sanity.so"
            modparam("sanity", "autodrop", 0)
            request_route { sanity_check("64"); $avp(r) = $rc; }
            """, Self.request { $0[5] = "CSeq: 1x OPTIONS" })
        #expect(ctx.avps["r"] == [.int(-1)])
        #expect(replies.statusLines == ["SIP/2.0 400 CSeq number is illegal"])
    }

    @Test func noreplyKeepsTheReplyForSanityReply() throws {
        let config = """
            loadmodule "sanity.so"
            modparam("sanity", "noreply", 1)
            modparam("sanity", "autodrop", 0)
            request_route {
                if (!sanity_check("64")) { xlog("L_INFO", "failed\\n"); }
                sanity_reply();
            }
            """
        let (_, failed) = try ScriptHarness.run(config, Self.request { $0[5] = "CSeq: 1x OPTIONS" })
        #expect(failed.statusLines == ["SIP/2.0 400 CSeq number is illegal"])
        let (_, passed) = try ScriptHarness.run(config, Self.request())
        #expect(passed.statusLines == ["SIP/2.0 500 Server Sanity Failure"])
        let (_, silent) = try ScriptHarness.run(
            config.replacingOccurrences(of: "sanity_check(\"64\")", with: "sanity_check(\"4\")"),
            Self.request { $0.remove(at: 4) })
        #expect(silent.statusLines == [], "a check that fails without a reply marks the message: no reply")
    }

    @Test func acksAreNotAnswered() throws {
        let (ctx, replies) = try ScriptHarness.run(
            "loadmodule \"sanity.so\"\nmodparam(\"sanity\", \"autodrop\", 0)\n"
                + "request_route { sanity_check(\"32\"); $avp(r) = $rc; }\n",
            Self.request().replacingOccurrences(of: "OPTIONS sip:b@x", with: "ACK sip:b@x"))
        #expect(ctx.avps["r"] == [.int(-1)], "CSeq OPTIONS does not match ACK")
        #expect(replies.sent.isEmpty, "no reply to an ACK")
    }

    /// Over UDP against the server binary: the replies Kamailio 5.6.3 sends for the same messages.
    @Test func repliesOverUDP() throws {
        let server = try TestServer(
            config: """
                listen=udp:127.0.0.1:PORT
                loadmodule "sl.so"
                loadmodule "sanity.so"
                loadmodule "xlog.so"
                request_route {
                    if (!sanity_check("$(hdr(X-C){s.int})", "15")) { exit; }
                    sl_send_reply("200", "Passed");
                }
                """)
        defer { server.stop() }
        let client = UDPClient()
        for c in Self.cases + [(3047, Self.request(), "200 Passed")] {
            let msg = c.message.replacingOccurrences(of: "\r\nVia:", with: "\r\nX-C: \(c.checks)\r\nVia:")
                .replacingOccurrences(of: "192.0.2.10:5070", with: "127.0.0.1:\(client.port)")
            client.send(msg, to: server.port)
            let reply = client.receive(timeout: c.reply == nil ? 0.5 : 3)
            #expect(reply.map { replyLines($0)[0] } == c.reply.map { "SIP/2.0 \($0)" }, "checks \(c.checks)")
        }
    }
}
