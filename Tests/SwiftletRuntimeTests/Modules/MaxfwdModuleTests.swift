import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK
@testable import SwiftletSIP

/// The maxfwd module run on messages: return codes as Kamailio 5.6.3's, and the Max-Forwards
/// edit as the bytes the message editor produces.
@Suite(.serialized) struct MaxfwdModuleTests {
    static let config = """
        loadmodule "maxfwd.so"
        modparam("maxfwd", "max_limit", 16)
        request_route {
            mf_process_maxfwd_header("10");
            $avp(rc) = $rc;
            is_maxfwd_lt("5");
            $avp(lt) = $rc;
        }
        """

    func request(maxForwards: String?) -> String {
        var lines = ScriptHarness.request(method: "OPTIONS").components(separatedBy: "\r\n")
        lines.removeAll { $0.hasPrefix("Max-Forwards") }
        if let maxForwards { lines.insert("Max-Forwards: \(maxForwards)", at: 3) }
        return lines.joined(separator: "\r\n")
    }

    func run(_ maxForwards: String?) throws -> (rc: PVValue?, lt: PVValue?, out: String) {
        let (ctx, _) = try ScriptHarness.run(Self.config, request(maxForwards: maxForwards))
        let out = String(decoding: try ctx.edits.build(), as: UTF8.self)
        return (ctx.avps["rc"]?.first, ctx.avps["lt"]?.first, out)
    }

    @Test func decrementsInPlaceKeepingTheWidth() throws {
        let r = try run("10")
        #expect(r.rc == .int(1))
        #expect(r.lt == .int(-1), "9 is not below 5")
        #expect(r.out.contains("\r\nMax-Forwards:  9\r\n"), "Kamailio pads the digits with a space")
        let r2 = try run("6")
        #expect(r2.out.contains("\r\nMax-Forwards: 5\r\n"))
        #expect(r2.lt == .int(-1))
        let r3 = try run("5")
        #expect(r3.lt == .int(1), "the decremented value 4 is below 5")
    }

    @Test func aValueAboveMaxLimitIsLoweredToIt() throws {
        let r = try run("70")
        #expect(r.rc == .int(1))
        #expect(r.out.contains("\r\nMax-Forwards: 16\r\n"))
        let big = try run("300")
        #expect(big.out.contains("\r\nMax-Forwards:  16\r\n"))
    }

    @Test func aMissingHeaderIsAddedBeforeTheFirstHeader() throws {
        let r = try run(nil)
        #expect(r.rc == .int(2))
        #expect(r.lt == .int(-2), "is_maxfwd_lt: header not found (the added one is not parsed)")
        #expect(r.out.hasPrefix("OPTIONS sip:alice@example.com SIP/2.0\r\nMax-Forwards: 10\r\nVia: "))
    }

    @Test func zeroAndBadValues() throws {
        let zero = try run("0")
        #expect(zero.rc == .int(-1))
        #expect(zero.out.contains("\r\nMax-Forwards: 0\r\n"), "not changed")
        let empty = try run("")
        #expect(empty.rc == .int(-1), "str2s of an empty value is 0")
        let bad = try run("1x")
        #expect(bad.rc == .int(-2))
        #expect(bad.lt == .int(-3))
        let long = try run("123456")
        #expect(long.rc == .int(-2), "more than 5 digits")
    }

    @Test func aSecondCallDecrementsAgain() throws {
        let (ctx, _) = try ScriptHarness.run(
            """
            loadmodule "maxfwd.so"
            request_route {
                maxfwd_process("10"); process_maxfwd("10");
                maxfwd_at_least("9"); $avp(a) = $rc;
                mf_lowlimit("8"); $avp(b) = $rc;
            }
            """, request(maxForwards: "10"))
        #expect(String(decoding: try ctx.edits.build(), as: UTF8.self).contains("\r\nMax-Forwards:  8\r\n"))
        #expect(ctx.avps["a"] == [.int(1)])
        #expect(ctx.avps["b"] == [.int(-1)])
    }

    @Test func limitsOutsideTheRangeFailAtRunTime() throws {
        let (ctx, _) = try ScriptHarness.run(
            """
            loadmodule "maxfwd.so"
            request_route { $var(m) = 300; mf_process_maxfwd_header("$var(m)"); $avp(rc) = $rc; }
            """, request(maxForwards: "10"))
        #expect(ctx.avps["rc"] == [.int(-1)])
        #expect(
            ScriptHarness.errors("loadmodule \"maxfwd.so\"\nrequest_route { mf_process_maxfwd_header(\"ten\"); }\n")
                == [
                    "bad.cfg:2:42: error: mf_process_maxfwd_header: expected an integer or a pseudo-variable, found \"ten\""
                ])
    }

    /// Over UDP: Max-Forwards 0 gets the script's 483, as in Kamailio's default configuration.
    @Test func tooManyHopsOverUDP() throws {
        let server = try TestServer(
            config: """
                listen=udp:127.0.0.1:PORT
                loadmodule "sl.so"
                loadmodule "maxfwd.so"
                request_route {
                    if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
                    sl_send_reply("200", "OK");
                }
                """)
        defer { server.stop() }
        let client = UDPClient()
        for (mf, expected) in [("0", "SIP/2.0 483 Too Many Hops"), ("3", "SIP/2.0 200 OK")] {
            client.send(
                sipRequest(
                    [
                        "OPTIONS sip:a@127.0.0.1 SIP/2.0",
                        "Via: SIP/2.0/UDP 127.0.0.1:CPORT;branch=z9hG4bK-mf\(mf);rport",
                        "From: <sip:a@x>;tag=1", "To: <sip:b@y>", "Call-ID: mf\(mf)", "CSeq: 1 OPTIONS",
                        "Max-Forwards: \(mf)", "Content-Length: 0",
                    ], clientPort: client.port), to: server.port)
            let reply = try #require(client.receive(timeout: 3))
            #expect(replyLines(reply)[0] == expected)
        }
    }
}
