import Foundation
import Testing

/// `sl_reply_error()` and `sl_forward_reply()` against the running binary. The expected status
/// lines are what Kamailio 5.6.3 sends for the same script on loopback.
@Suite(.serialized) struct SLErrorReplyTests {
    /// One case per Request-URI user: the status line Kamailio 5.6.3 answers with.
    static let errorCases: [(user: String, script: String, status: String)] = [
        (
            "a", "$du = \"sip:nonexistent.invalid\"; if (!forward()) sl_reply_error(); exit;",
            "SIP/2.0 478 Unresolvable destination (478/SL)"
        ),
        // Nothing failed before: ser_error is still E_UNSPEC.
        ("c", "sl_reply_error(); exit;", "SIP/2.0 500 I'm terribly sorry, server error occurred (1/SL)"),
        (
            "d", "$du = \"sip:nonexistent.invalid\"; forward(); sl_reply_error(); exit;",
            "SIP/2.0 478 Unresolvable destination (478/SL)"
        ),
        // Every action (an assignment too) resets the error: sl_reply_error sees E_UNSPEC.
        (
            "e", "$du = \"sip:nonexistent.invalid\"; forward(); $var(x) = 1; sl_reply_error(); exit;",
            "SIP/2.0 500 I'm terribly sorry, server error occurred (1/SL)"
        ),
        // The error of the last action of a route() survives it; a `return` resets it.
        (
            "f", "$du = \"sip:nonexistent.invalid\"; route(F); sl_reply_error(); exit;",
            "SIP/2.0 478 Unresolvable destination (478/SL)"
        ),
        (
            "g", "$du = \"sip:nonexistent.invalid\"; route(G); sl_reply_error(); exit;",
            "SIP/2.0 500 I'm terribly sorry, server error occurred (1/SL)"
        ),
        // No TCP listener: E_NO_SOCKET.
        (
            "h", "$du = \"sip:127.0.0.1:5999;transport=tcp\"; forward(); sl_reply_error(); exit;",
            "SIP/2.0 500 I'm terribly sorry, server error occurred (7/SL)"
        ),
        (
            "i", "$du = \"tel:+1234\"; forward(); sl_reply_error(); exit;",
            "SIP/2.0 478 Unresolvable destination (478/SL)"
        ),
        // The forward succeeded: E_OK.
        (
            "k", "$du = \"sip:127.0.0.1:SINK\"; forward(); sl_reply_error(); exit;",
            "SIP/2.0 500 No error (0/SL)"
        ),
    ]

    @Test func slReplyErrorAnswersWithTheLastCoreError() throws {
        let sink = UDPClient()
        let body = Self.errorCases.map { c in
            "    if ($rU == \"\(c.user)\") { \(c.script.replacingOccurrences(of: "SINK", with: String(sink.port))) }"
        }.joined(separator: "\n")
        let server = try TestServer(
            config: """
                debug=2
                log_stderror=yes
                children=1
                listen=udp:127.0.0.1:PORT
                loadmodule "sl.so"
                loadmodule "pv.so"
                request_route {
                \(body)
                    sl_send_reply("404", "Not Here");
                }
                route[F] { forward(); }
                route[G] { forward(); return; }
                """)
        let uac = UDPClient()
        for c in Self.errorCases {
            let request = sipRequest(
                [
                    "INVITE sip:\(c.user)@127.0.0.1:\(server.port) SIP/2.0",
                    "Via: SIP/2.0/UDP 127.0.0.1:CPORT;branch=z9hG4bK-\(c.user);rport",
                    "From: <sip:alice@example.com>;tag=f1",
                    "To: <sip:\(c.user)@example.com>",
                    "Call-ID: err-\(c.user)@test",
                    "CSeq: 1 INVITE",
                    "Max-Forwards: 70",
                    "Content-Length: 0",
                ], clientPort: uac.port)
            uac.send(request, to: server.port)
            let reply = try #require(uac.receive(), "no reply for \(c.user); log: \(server.log)")
            let lines = replyLines(reply)
            #expect(lines[0] == c.status, "case \(c.user)")
            #expect(
                lines[1]
                    == "Via: SIP/2.0/UDP 127.0.0.1:\(uac.port);branch=z9hG4bK-\(c.user);rport=\(uac.port);received=127.0.0.1"
            )
            #expect(lines[3].hasPrefix("To: <sip:\(c.user)@example.com>;tag="), "case \(c.user)")
            #expect(lines.last == "Content-Length: 0")
            #expect(server.waitForLog("stateless error reply used: \(c.status.dropFirst(12))"), "case \(c.user)")
        }
        // The forward of case k reached the sink.
        #expect(sink.receive()?.hasPrefix("INVITE sip:k@127.0.0.1:") == true)
    }

    static let forwardConfig = """
        debug=2
        log_stderror=yes
        children=1
        listen=udp:127.0.0.1:PORT
        loadmodule "sl.so"
        loadmodule "pv.so"
        request_route {
            $du = "sip:127.0.0.1:UAS";
            forward();
            exit;
        }
        onreply_route {
            if ($fU == "a") { sl_forward_reply("480", "Temporarily Unavailable"); drop; }
            if ($fU == "b") { sl_forward_reply("480"); drop; }
            if ($fU == "c") { sl_forward_reply(); drop; }
            if ($fU == "d") { sl_forward_reply("580"); drop; }
            if ($fU == "e") { sl_forward_reply("480", "Temporarily Unavailable"); }
            if ($fU == "g") { sl_forward_reply("", "Other Reason"); drop; }
            if ($fU == "h") { $var(c) = "4" + "81"; sl_forward_reply("$var(c)", "Gone $fU"); drop; }
        }
        """

    /// A UAS answers 486 Busy Here; the proxy's onreply_route forwards it with
    /// `sl_forward_reply`. Expected lines as Kamailio 5.6.3 sends them.
    @Test func slForwardReplyChangesTheStatusLine() throws {
        let uas = UDPClient()
        let server = try TestServer(
            config: Self.forwardConfig.replacingOccurrences(of: "UAS", with: String(uas.port)))
        let uac = UDPClient()
        let expected: [(user: String, statusLines: [String])] = [
            ("a", ["SIP/2.0 480 Temporarily Unavailable"]),
            ("b", ["SIP/2.0 480 Busy Here"]),
            ("c", ["SIP/2.0 486 Busy Here"]),
            // The class cannot change: nothing is sent (and the script drops the reply).
            ("d", []),
            // Without drop the core forwards the received reply as well.
            ("e", ["SIP/2.0 480 Temporarily Unavailable", "SIP/2.0 486 Busy Here"]),
            ("g", ["SIP/2.0 486 Other Reason"]),
            ("h", ["SIP/2.0 481 Gone h"]),
        ]
        for c in expected {
            let request = sipRequest(
                [
                    "INVITE sip:bob@127.0.0.1 SIP/2.0",
                    "Via: SIP/2.0/UDP 127.0.0.1:CPORT;branch=z9hG4bK-\(c.user)-1;rport",
                    "From: <sip:\(c.user)@127.0.0.1>;tag=f1",
                    "To: <sip:bob@127.0.0.1>",
                    "Call-ID: c-\(c.user)@x",
                    "CSeq: 1 INVITE",
                    "Max-Forwards: 70",
                    "Content-Length: 0",
                ], clientPort: uac.port)
            uac.send(request, to: server.port)
            let forwarded = try #require(uas.receive(), "not forwarded; log: \(server.log)")
            let vias = replyLines(forwarded).filter { $0.hasPrefix("Via: ") }
            let reply =
                (["SIP/2.0 486 Busy Here"] + vias + [
                    "From: <sip:\(c.user)@127.0.0.1>;tag=f1", "To: <sip:bob@127.0.0.1>;tag=t1",
                    "Call-ID: c-\(c.user)@x", "CSeq: 1 INVITE", "Content-Length: 0",
                ]).joined(separator: "\r\n") + "\r\n\r\n"
            uas.send(reply, to: server.port)
            var got: [String] = []
            while let r = uac.receive(timeout: got.count < c.statusLines.count ? 2 : 0.3) {
                let lines = replyLines(r)
                got.append(lines[0])
                // Only the status line changes; the top Via (ours) is gone.
                #expect(
                    Array(lines[1...])
                        == [
                            "Via: SIP/2.0/UDP 127.0.0.1:\(uac.port);received=127.0.0.1;branch=z9hG4bK-\(c.user)-1;rport=\(uac.port)",
                            "From: <sip:\(c.user)@127.0.0.1>;tag=f1", "To: <sip:bob@127.0.0.1>;tag=t1",
                            "Call-ID: c-\(c.user)@x", "CSeq: 1 INVITE", "Content-Length: 0",
                        ])
            }
            #expect(got == c.statusLines, "case \(c.user); log: \(server.log)")
        }
        #expect(server.log.contains("reply code class cannot be changed"))
    }

    @Test func slForwardReplyIsCheckedAtStartUp() {
        let errors = ScriptHarness.errors(
            ScriptHarness.prelude + """
                request_route {
                    sl_forward_reply();
                }
                onreply_route {
                    sl_forward_reply("48");
                    sl_forward_reply("4a0", "x");
                    sl_forward_reply("$rs", "$rr");
                    sl_forward_reply("", "Reason only");
                }
                """, file: "fr.cfg")
        #expect(
            errors == [
                "fr.cfg:7:5: error: function 'sl_forward_reply' (module sl) cannot be used in request_route",
                "fr.cfg:10:22: error: sl_forward_reply: invalid reply code '48' (three digits expected)",
                "fr.cfg:11:22: error: sl_forward_reply: invalid reply code '4a0' (three digits expected)",
            ])
    }
}
