import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// tm's `t_relay_to()` forms and flags, transaction lifetimes, branch-failure event routes,
/// `t_drop_replies()`, `t_save_lumps()` and `t_lookup_request()` on the embedded core
/// (virtual clock). Messages and replies come from `TMModuleTests`.
@Suite struct TMCoreFunctionTests {
    typealias T = TMModuleTests
    static let caller = T.caller
    static let callee = T.callee

    /// A configuration with tm, sl, textops and pv, and the given routes.
    func core(_ routes: String, params: String = "") throws -> EmbeddedCore {
        try EmbeddedCore(
            config: """
                log_stderror=yes
                debug=-1
                listen=udp:127.0.0.1:5060
                loadmodule "tm.so"
                loadmodule "sl.so"
                loadmodule "textops.so"
                loadmodule "pv.so"
                loadmodule "corex.so"
                \(params)
                \(routes)

                """, modulePath: productsDirectory)
    }

    func lines(_ sent: [MemoryTransport.Sent]) -> [String] {
        sent.map { "\($0.firstLine) -> \($0.destination.address)" }
    }

    static func register(callID: String = "r-1", branch: String = "z9hG4bK-r1") -> String {
        T.invite(callID: callID, branch: branch).replacingOccurrences(of: "INVITE sip:", with: "MESSAGE sip:")
            .replacingOccurrences(of: "CSeq: 1 INVITE", with: "CSeq: 1 MESSAGE")
    }

    // MARK: t_relay_to

    @Test func tRelayToFlag1SendsNoTryingAndAProxyFormGoesThere() throws {
        let core = try core(
            """
            request_route {
                if ($rU == "flags") { $du = "sip:127.0.0.2:5080"; t_relay_to("0x01"); exit; }
                if ($rU == "proxy") { t_relay_to("udp:127.0.0.3:5090"); exit; }
                if ($rU == "both") { t_relay_to("127.0.0.4:5070", "1"); exit; }
                $du = "sip:127.0.0.2:5080";
                t_relay_to();
            }
            """)
        core.receive(T.invite("flags"), from: Self.caller)
        #expect(lines(core.takeSent()) == ["INVITE sip:flags@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080"])
        core.receive(T.invite("proxy", callID: "p", branch: "z9hG4bK-p"), from: Self.caller)
        #expect(
            lines(core.takeSent()) == [
                "SIP/2.0 100 trying -- your call is important to us -> 127.0.0.1:5070",
                "INVITE sip:proxy@127.0.0.1 SIP/2.0 -> 127.0.0.3:5090",
            ])
        core.receive(T.invite("both", callID: "b", branch: "z9hG4bK-b"), from: Self.caller)
        #expect(lines(core.takeSent()) == ["INVITE sip:both@127.0.0.1 SIP/2.0 -> 127.0.0.4:5070"])
        core.receive(T.invite("plain", callID: "n", branch: "z9hG4bK-n"), from: Self.caller)
        #expect(
            lines(core.takeSent()) == [
                "SIP/2.0 100 trying -- your call is important to us -> 127.0.0.1:5070",
                "INVITE sip:plain@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080",
            ])
    }

    @Test func tRelayToFlag2Returns4AndLeavesTheReplyToTheScript() throws {
        let core = try core(
            """
            request_route {
                if ($rU == "flag2") {
                    if (!t_relay_to("tcp:127.0.0.1:1", "0x03")) { t_reply("503", "rc $rc"); }
                    exit;
                }
                $du = "sip:127.0.0.1:1;transport=tcp";
                if (!t_relay()) { sl_send_reply("500", "rc $rc"); }
            }
            """)
        core.receive(T.invite("flag2"), from: Self.caller)
        let sent = core.takeSent()
        #expect(lines(sent) == ["SIP/2.0 503 rc -4 -> 127.0.0.1:5070"])
        // A stateful reply (tm's To-tag), retransmitted until the ACK.
        #expect(sent.first?.text.contains("To: <sip:flag2@127.0.0.1>;tag=") == true)
        core.advance(milliseconds: 500)
        #expect(lines(core.takeSent()) == ["SIP/2.0 503 rc -4 -> 127.0.0.1:5070"])
        // Without the flag: the error code (E_NO_SOCKET), and tm's own error reply when the
        // route ends (after the script's stateless one, as Kamailio).
        core.receive(T.invite("other", callID: "o", branch: "z9hG4bK-o"), from: Self.caller)
        #expect(
            lines(core.takeSent()) == [
                "SIP/2.0 100 trying -- your call is important to us -> 127.0.0.1:5070",
                "SIP/2.0 500 rc -7 -> 127.0.0.1:5070",
                "SIP/2.0 500 I'm terribly sorry, server error occurred (7/TM) -> 127.0.0.1:5070",
            ])
    }

    @Test func tRelayToRefusesBadFlagsAtStartUp() throws {
        #expect(throws: (any Error).self) {
            try core("request_route { t_relay_to(\"127.0.0.2:5080\", \"0xzz\"); }")
        }
    }

    @Test func tSetAutoInv100BeforeTNewtranAndTRelayAfterTNewtranSendsTrying() throws {
        let core = try core(
            """
            request_route {
                if ($rU == "quiet") { t_set_auto_inv_100(0); }
                t_newtran();
                $du = "sip:127.0.0.2:5080";
                t_relay();
            }
            """)
        core.receive(T.invite("quiet"), from: Self.caller)
        #expect(lines(core.takeSent()) == ["INVITE sip:quiet@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080"])
        core.receive(T.invite("loud", callID: "l", branch: "z9hG4bK-l"), from: Self.caller)
        #expect(
            lines(core.takeSent()) == [
                "SIP/2.0 100 trying -- your call is important to us -> 127.0.0.1:5070",
                "INVITE sip:loud@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080",
            ])
    }

    // MARK: lifetimes

    @Test func maxInvLifetimeCancelsARingingBranchBeforeFrInvTimer() throws {
        let core = try core(
            """
            request_route {
                if (is_method("ACK")) { t_check_trans(); exit; }
                $du = "sip:127.0.0.2:5080";
                t_relay();
            }
            """, params: "modparam(\"tm\", \"max_inv_lifetime\", 5000)")
        core.receive(T.invite(), from: Self.caller)
        let invite = core.takeSent()[1]
        core.advance(milliseconds: 1_000)
        core.receive(T.reply(to: invite, 180, "Ringing"), from: Self.callee)
        _ = core.takeSent()
        core.advance(milliseconds: 3_900)
        #expect(core.takeSent().isEmpty)
        core.advance(milliseconds: 100)  // 5000 ms after the INVITE (fr_inv_timer is 120 s)
        #expect(
            lines(core.takeSent()) == [
                "CANCEL sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080",
                "SIP/2.0 408 Request Timeout -> 127.0.0.1:5070",
            ])
    }

    @Test func maxNoninvLifetimeEndsANonInviteBranch() throws {
        let core = try core(
            """
            request_route { $du = "sip:127.0.0.2:5080"; t_relay(); }
            """, params: "modparam(\"tm\", \"max_noninv_lifetime\", 3000)")
        core.receive(Self.register(), from: Self.caller)
        _ = core.takeSent()
        core.advance(milliseconds: 2_900)
        #expect(!lines(core.takeSent()).contains { $0.hasPrefix("SIP/2.0 408") })
        core.advance(milliseconds: 100)
        #expect(lines(core.takeSent()).last == "SIP/2.0 408 Request Timeout -> 127.0.0.1:5070")
    }

    @Test func tSetMaxLifetimeBeforeAndAfterTheTransactionExists() throws {
        // "before": 2 s for the next transaction; "after": 1 s from now on the transaction;
        // "zero": 0 leaves the INVITE lifetime as it is (180 s), so fr_timer (30 s) ends it.
        for (user, ends) in [("before", 2_000), ("after", 1_000), ("zero", 30_000)] {
            let core = try core(
                """
                request_route {
                    if (is_method("ACK")) { t_check_trans(); exit; }
                    if ($rU == "before") { t_set_max_lifetime(2000, 0); }
                    $du = "sip:127.0.0.2:5080";
                    t_relay();
                    if ($rU == "after") { t_set_max_lifetime(1000, 500); }
                    if ($rU == "zero") { t_set_max_lifetime(0, 500); }
                }
                """)
            core.receive(T.invite(user), from: Self.caller)
            core.advance(milliseconds: ends - 100)
            #expect(!lines(core.takeSent()).contains { $0.hasPrefix("SIP/2.0 408") }, "\(user)")
            core.advance(milliseconds: 100)
            #expect(lines(core.takeSent()).last == "SIP/2.0 408 Request Timeout -> 127.0.0.1:5070", "\(user)")
        }
    }

    @Test func aBranchAddedAfterTheLifetimeTimesOutAtOnce() throws {
        let core = try core(
            """
            request_route {
                if (is_method("ACK")) { t_check_trans(); exit; }
                $du = "sip:127.0.0.2:5080";
                t_on_failure("NEXT");
                t_relay();
            }
            failure_route[NEXT] { $du = "sip:127.0.0.3:5080"; t_relay(); }
            """, params: "modparam(\"tm\", \"max_inv_lifetime\", 2000)")
        core.receive(T.invite(), from: Self.caller)
        _ = core.takeSent()
        core.advance(milliseconds: 2_000)
        #expect(lines(core.takeSent()).last == "INVITE sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.3:5080")
        core.advance(milliseconds: 100)
        #expect(lines(core.takeSent()) == ["SIP/2.0 408 Request Timeout -> 127.0.0.1:5070"])
    }

    // MARK: branch failure

    static let branchFailureRoutes = """
        request_route {
            if (is_method("ACK")) { t_check_trans(); exit; }
            if ($rU == "fork") { append_branch("sip:fork@127.0.0.3:5080"); }
            $du = "sip:127.0.0.2:5080";
            t_on_branch_failure("retry");
            t_on_failure("F");
            t_relay();
        }
        event_route[tm:branch-failure:retry] {
            if (t_branch_timeout()) { $du = "sip:127.0.0.5:5080"; t_relay(); exit; }
            if (t_check_status("486")) { $du = "sip:127.0.0.4:5080"; t_relay(); }
        }
        failure_route[F] { t_reply("599", "failure route $T_reply_code"); }
        """

    @Test func branchFailureRouteRunsOnEachNegativeReplyAndCanAddABranch() throws {
        let core = try core(Self.branchFailureRoutes, params: "loadmodule \"tmx.so\"")
        core.receive(T.invite("fork"), from: Self.caller)
        let sent = core.takeSent()
        #expect(sent.count == 3)
        // Branch 0 is busy: the event route adds a branch while branch 1 still rings.
        core.receive(T.reply(to: sent[1], 486, "Busy Here"), from: Self.callee)
        let retry = core.takeSent()
        #expect(
            lines(retry) == [
                "ACK sip:fork@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080",
                "INVITE sip:fork@127.0.0.1 SIP/2.0 -> 127.0.0.4:5080",
            ])
        #expect(retry[1].text.contains(".2\r\n"))  // the third branch of the transaction
        // The route was disarmed for the new branch: its 486 is not retried.
        core.receive(T.reply(to: retry[1], 486, "Busy Here", toTag: "d1"), from: "127.0.0.4:5080")
        #expect(lines(core.takeSent()) == ["ACK sip:fork@127.0.0.1 SIP/2.0 -> 127.0.0.4:5080"])
        // Branch 1 (armed at its creation) gets its own run: 480 is not retried either; the
        // failure route then runs for the best reply (480 before 486, as Kamailio's get_prio).
        core.receive(T.reply(to: sent[2], 480, "Temporarily Unavailable", toTag: "c1"), from: "127.0.0.3:5080")
        #expect(
            lines(core.takeSent()) == [
                "ACK sip:fork@127.0.0.3:5080 SIP/2.0 -> 127.0.0.3:5080",
                "SIP/2.0 599 failure route 480 -> 127.0.0.1:5070",
            ])
    }

    @Test func branchFailureRouteRunsOnATimeout() throws {
        let core = try core(
            Self.branchFailureRoutes, params: "loadmodule \"tmx.so\"\nmodparam(\"tm\", \"fr_timer\", 1000)")
        core.receive(T.invite(), from: Self.caller)
        core.advance(milliseconds: 999)
        _ = core.takeSent()
        core.advance(milliseconds: 1)
        #expect(lines(core.takeSent()) == ["INVITE sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.5:5080"])
    }

    // MARK: t_drop_replies, t_save_lumps, t_lookup_request

    static func dropRoutes(_ failure: String) -> String {
        """
        request_route {
            if (is_method("ACK")) { t_check_trans(); exit; }
            $du = "sip:127.0.0.2:5080";
            t_on_failure("F");
            t_relay();
        }
        failure_route[F] { \(failure) }
        """
    }

    @Test func tDropRepliesWithoutANewBranchAnswers500() throws {
        let core = try core(Self.dropRoutes("t_drop_replies();"))
        core.receive(T.invite(), from: Self.caller)
        let invite = core.takeSent()[1]
        core.receive(T.reply(to: invite, 404, "Not Found"), from: Self.callee)
        #expect(
            lines(core.takeSent()) == [
                "ACK sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080",
                "SIP/2.0 500 I'm terribly sorry, server error occurred (1/TM) -> 127.0.0.1:5070",
            ])
    }

    @Test func tDropRepliesNoneKeepsTheEarlierReplyInTheChoice() throws {
        let failure = """
            if (t_check_status("404")) { if ($rU == "keep") { t_drop_replies("n"); } $du = "sip:127.0.0.3:5080"; t_relay(); }
            """
        let core = try core(Self.dropRoutes(failure))
        for user in ["keep", "drop"] {
            core.receive(T.invite(user, callID: user, branch: "z9hG4bK-" + user), from: Self.caller)
            let invite = core.takeSent()[1]
            core.receive(T.reply(to: invite, 404, "Not Found"), from: Self.callee)
            let second = core.takeSent()[1]
            core.receive(T.reply(to: second, 500, "Broken", toTag: "x"), from: "127.0.0.3:5080")
            let final = lines(core.takeSent()).last
            // "n": the 404 of the first leg is still there and wins (4xx before 5xx).
            #expect(final == (user == "keep" ? "SIP/2.0 404 Not Found" : "SIP/2.0 500 Broken") + " -> 127.0.0.1:5070")
        }
    }

    @Test func failureReplyMode0KeepsEveryReply() throws {
        let failure = "if (t_check_status(\"404\")) { $du = \"sip:127.0.0.3:5080\"; t_relay(); }"
        let core = try core(Self.dropRoutes(failure), params: "modparam(\"tm\", \"failure_reply_mode\", 0)")
        core.receive(T.invite(), from: Self.caller)
        let invite = core.takeSent()[1]
        core.receive(T.reply(to: invite, 404, "Not Found"), from: Self.callee)
        let second = core.takeSent()[1]
        core.receive(T.reply(to: second, 500, "Broken", toTag: "x"), from: "127.0.0.3:5080")
        #expect(lines(core.takeSent()).last == "SIP/2.0 404 Not Found -> 127.0.0.1:5070")
    }

    @Test func tSaveLumpsFixesWhatFailureRouteBranchesCarry() throws {
        let core = try core(
            """
            request_route {
                if (is_method("ACK")) { t_check_trans(); exit; }
                t_newtran();
                append_hf("X-One: 1\\r\\n");
                if ($rU == "save") { t_save_lumps(); }
                append_hf("X-Two: 2\\r\\n");
                $du = "sip:127.0.0.2:5080";
                t_on_failure("F");
                t_relay();
                append_hf("X-Late: 4\\r\\n");
            }
            failure_route[F] { append_hf("X-Three: 3\\r\\n"); $du = "sip:127.0.0.3:5080"; t_relay(); }
            """)
        for user in ["save", "nosave"] {
            core.receive(T.invite(user, callID: user, branch: "z9hG4bK-" + user), from: Self.caller)
            let first = core.takeSent()[1]
            #expect(first.text.contains("X-One: 1\r\n") && first.text.contains("X-Two: 2\r\n"))
            core.receive(T.reply(to: first, 486, "Busy Here"), from: Self.callee)
            let second = core.takeSent().last!
            #expect(second.firstLine == "INVITE sip:\(user)@127.0.0.1 SIP/2.0")
            #expect(second.text.contains("X-One: 1\r\n") && second.text.contains("X-Three: 3\r\n"))
            #expect(second.text.contains("X-Two: 2\r\n") == (user == "nosave"))
            #expect(!second.text.contains("X-Late"))
        }
    }

    @Test func tSaveLumpsWithoutATransactionFailsAndTLookupRequestFindsRetransmissions() throws {
        let core = try core(
            """
            request_route {
                if (t_lookup_request()) { sl_send_reply("299", "known"); exit; }
                if (!t_save_lumps()) { append_hf("X-No-Transaction: 1\\r\\n"); }
                $du = "sip:127.0.0.2:5080";
                t_relay();
            }
            """)
        core.receive(Self.register(), from: Self.caller)
        let sent = core.takeSent()
        #expect(lines(sent) == ["MESSAGE sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080"])
        #expect(sent[0].text.contains("X-No-Transaction: 1\r\n"))
        core.receive(Self.register(), from: Self.caller)
        #expect(lines(core.takeSent()) == ["SIP/2.0 299 known -> 127.0.0.1:5070"])
    }

    // MARK: reparse_invite

    /// The CANCEL tm sends on a ringing branch, with `reparse_invite` 1 or 0 (the header sets
    /// and orders Kamailio 5.6.3 sends for the same INVITE).
    @Test func reparseInviteBuildsTheCancelFromTheSentOrTheReceivedInvite() throws {
        for reparse in [1, 0] {
            let core = try core(
                """
                request_route {
                    if (is_method("CANCEL")) { t_relay(); exit; }
                    $du = "sip:127.0.0.2:5080";
                    t_relay();
                }
                """,
                params:
                    "modparam(\"tm\", \"ac_extra_hdrs\", \"x-extra\")\nmodparam(\"tm\", \"reparse_invite\", \(reparse))"
            )
            let invite =
                [
                    "INVITE sip:bob@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-x1",
                    "Route: <sip:127.0.0.2:5080;lr>", "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:bob@127.0.0.1>",
                    "Call-ID: rp1", "CSeq: 1 INVITE", "Max-Forwards: 70", "Require: 100rel", "X-Extra-1: a",
                    "Subject: s", "Contact: <sip:alice@127.0.0.1>", "Content-Length: 0",
                ].joined(separator: "\r\n") + "\r\n\r\n"
            core.receive(invite, from: Self.caller)
            let sent = core.takeSent()[1]
            core.receive(T.reply(to: sent, 180, "Ringing"), from: Self.callee)
            _ = core.takeSent()
            let cancel = invite.replacingOccurrences(of: "INVITE sip:", with: "CANCEL sip:")
                .replacingOccurrences(of: "CSeq: 1 INVITE", with: "CSeq: 1 CANCEL")
            core.receive(cancel, from: Self.caller)
            let out = try #require(core.takeSent().first { $0.firstLine.hasPrefix("CANCEL") })
            let via = try #require(sent.text.components(separatedBy: "\r\n").first { $0.hasPrefix("Via: ") })
            let expected =
                reparse == 1
                ? [
                    "CANCEL sip:bob@127.0.0.1 SIP/2.0", via, "Route: <sip:127.0.0.2:5080;lr>",
                    "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:bob@127.0.0.1>", "Call-ID: rp1", "CSeq: 1 CANCEL",
                    "Max-Forwards: 70", "X-Extra-1: a", "Content-Length: 0",
                ]
                : [
                    "CANCEL sip:bob@127.0.0.1 SIP/2.0", via, "From: <sip:alice@127.0.0.1>;tag=a1", "Call-ID: rp1",
                    "To: <sip:bob@127.0.0.1>", "CSeq: 1 CANCEL", "Max-Forwards: 70", "Route: <sip:127.0.0.2:5080;lr>",
                    "User-Agent: " + String(Core.serverHeader!.dropFirst(8)), "Content-Length: 0",
                ]
            #expect(out.text == expected.joined(separator: "\r\n") + "\r\n\r\n", "reparse_invite \(reparse)")
        }
    }

    // MARK: t_replicate

    @Test func tReplicateSendsACopyWhoseRepliesStayHere() throws {
        let core = try core(
            """
            request_route {
                if (is_method("ACK")) { t_check_trans(); exit; }
                if ($rU == "uri") { $var(p) = 5090; t_replicate("sip:127.0.0.3:$var(p)"); }
                if ($rU == "hostport") { t_replicate("127.0.0.4", "5070"); }
                if ($rU == "next") { $du = "sip:127.0.0.5:5080"; t_replicate(); }
                if ($rU == "to") { t_replicate_to("udp", "127.0.0.6:5060"); }
                if ($rU == "fail") { if (!t_replicate_tcp("127.0.0.1", "1")) { t_reply("500", "replication failed"); } exit; }
                if (is_method("MESSAGE")) { t_reply("202", "Accepted here"); }
            }
            """, params: "")
        core.receive(Self.register().replacingOccurrences(of: "sip:bob@", with: "sip:uri@"), from: Self.caller)
        let sent = core.takeSent()
        #expect(
            lines(sent) == [
                "MESSAGE sip:uri@127.0.0.1 SIP/2.0 -> 127.0.0.3:5090", "SIP/2.0 202 Accepted here -> 127.0.0.1:5070",
            ])
        core.receive(T.reply(to: sent[0], 200, "OK"), from: "127.0.0.3:5090")
        #expect(core.takeSent().isEmpty)  // the copy's reply stays here

        for (user, target) in [("hostport", "127.0.0.4:5070"), ("next", "127.0.0.5:5080"), ("to", "127.0.0.6:5060")] {
            core.receive(T.invite(user, callID: user, branch: "z9hG4bK-" + user), from: Self.caller)
            let out = core.takeSent()
            #expect(
                lines(out) == [
                    "SIP/2.0 100 trying -- your call is important to us -> 127.0.0.1:5070",
                    "INVITE sip:\(user)@127.0.0.1 SIP/2.0 -> \(target)",
                ])
            core.receive(T.reply(to: out[1], 180, "Ringing"), from: target)
            #expect(core.takeSent().isEmpty)
            core.receive(T.reply(to: out[1], 486, "Busy Here"), from: target)
            #expect(lines(core.takeSent()) == ["ACK sip:\(user)@127.0.0.1 SIP/2.0 -> \(target)"])
        }
        core.receive(T.invite("fail", callID: "f", branch: "z9hG4bK-f"), from: Self.caller)
        #expect(
            lines(core.takeSent()) == [
                "SIP/2.0 100 trying -- your call is important to us -> 127.0.0.1:5070",
                "SIP/2.0 500 replication failed -> 127.0.0.1:5070",
            ])
    }

    // MARK: t_load_contacts(1)

    /// Proportional loading: each contact with q > 0 rings alone, drawn by q (0.9 before 0.1
    /// nine times out of ten), then, in their order, the Request-URI (no q) and the q 0 one.
    @Test func tLoadContactsProportionalRingsOneAtATimeDrawnByQ() throws {
        let core = try core(
            """
            request_route {
                if (is_method("ACK")) { t_check_trans(); exit; }
                $ru = "sip:r@127.0.0.2:5080";
                append_branch("sip:zero@127.0.0.5:5080", "0");
                append_branch("sip:heavy@127.0.0.3:5080", "0.9");
                append_branch("sip:light@127.0.0.4:5080", "0.1");
                t_load_contacts("1");
                t_next_contacts();
                t_on_failure("NEXT");
                t_relay();
            }
            failure_route[NEXT] { if (t_next_contacts()) { t_on_failure("NEXT"); t_relay(); } }
            """, params: "modparam(\"tm\", \"contacts_avp\", \"tm_contacts\")")
        var heavyFirst = 0
        let runs = 100
        for i in 0..<runs {
            core.receive(T.invite("r", callID: "p\(i)", branch: "z9hG4bK-p\(i)"), from: Self.caller)
            var order: [String] = []
            var request = core.takeSent().last!
            for _ in 0..<4 {
                order.append(String(request.firstLine.split(separator: " ")[1]))
                core.receive(
                    T.reply(to: request, 486, "Busy Here", toTag: "t\(order.count)"),
                    from: request.destination.address.description)
                let next = core.takeSent().filter { $0.firstLine.hasPrefix("INVITE") }
                guard let n = next.last else { break }
                request = n
            }
            let drawn = Set(order.prefix(2))
            #expect(drawn == ["sip:heavy@127.0.0.3:5080", "sip:light@127.0.0.4:5080"])
            #expect(Array(order.dropFirst(2)) == ["sip:r@127.0.0.2:5080", "sip:zero@127.0.0.5:5080"])
            if order.first == "sip:heavy@127.0.0.3:5080" { heavyFirst += 1 }
        }
        // Binomial(100, 0.9): below 70 has a probability under 1e-7.
        #expect(heavyFirst >= 70 && heavyFirst < runs)
    }

    // MARK: choosing the final reply

    /// Kamailio's `t_pick_branch`: within a class the lowest code wins, 401/407/415/420/484
    /// before the other 4xx, 6xx before 3xx; `faked_reply_prio` moves a timeout's 408.
    @Test func theFinalReplyIsChosenByKamailiosPriorities() throws {
        let cases: [([Int], Int, String)] = [
            ([486, 480], 480, ""), ([486, 407], 407, ""), ([503, 500], 500, ""), ([302, 603], 603, ""),
            ([404, 301], 301, ""), ([0, 486], 408, ""), ([0, 486], 486, "modparam(\"tm\", \"faked_reply_prio\", 100)"),
        ]
        for (codes, expected, params) in cases {
            let core = try core(
                """
                request_route {
                    if (is_method("ACK")) { t_check_trans(); exit; }
                    append_branch("sip:two@127.0.0.3:5080");
                    $du = "sip:127.0.0.2:5080";
                    t_relay();
                }
                """, params: "modparam(\"tm\", \"fr_timer\", 1000)\n" + params)
            core.receive(T.invite(), from: Self.caller)
            let sent = core.takeSent().filter { $0.firstLine.hasPrefix("INVITE") }
            for (k, code) in codes.enumerated() where code > 0 {
                core.receive(
                    T.reply(to: sent[k], code, "Code \(code)", toTag: "t\(k)"),
                    from: sent[k].destination.address.description)
            }
            core.advance(milliseconds: 1_000)
            let final = core.takeSent().map(\.firstLine).first {
                $0.hasPrefix("SIP/2.0 ") && !$0.hasPrefix("SIP/2.0 1")
            }
            #expect(
                final?.hasPrefix("SIP/2.0 \(expected == 503 ? 500 : expected) ") == true,
                "\(codes) \(params): \(final ?? "-")")
        }
    }

    // MARK: CANCEL retransmissions

    /// The CANCEL tm sends over UDP goes again at T1, 2·T1, ... until a reply to it arrives.
    @Test func aCancelIsRetransmittedUntilItsReply() throws {
        let core = try core(
            """
            request_route {
                if (is_method("CANCEL")) { t_relay(); exit; }
                $du = "sip:127.0.0.2:5080";
                t_relay();
            }
            """)
        core.receive(T.invite(), from: Self.caller)
        let invite = core.takeSent()[1]
        core.receive(T.reply(to: invite, 180, "Ringing"), from: Self.callee)
        _ = core.takeSent()
        let cancel = T.invite().replacingOccurrences(of: "INVITE sip:", with: "CANCEL sip:")
            .replacingOccurrences(of: "CSeq: 1 INVITE", with: "CSeq: 1 CANCEL")
        core.receive(cancel, from: Self.caller)
        let sent = core.takeSent()
        #expect(lines(sent).last == "CANCEL sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080")
        core.advance(milliseconds: 500)
        #expect(core.takeSent().map(\.text) == [sent.last!.text])
        core.advance(milliseconds: 1_000)
        #expect(core.takeSent().map(\.text) == [sent.last!.text])
        core.receive(T.reply(to: sent.last!, 200, "OK", toTag: nil), from: Self.callee)
        core.advance(milliseconds: 10_000)
        #expect(core.takeSent().isEmpty)
    }

    // MARK: errors of a failed t_relay()

    /// A t_relay() that sends nothing leaves its error for sl_reply_error(), as Kamailio's
    /// ser_error (no socket: 7, an unresolvable name: 478), and tm answers with it when the
    /// request route ends unless the script replied statefully (Kamailio's delayed reply,
    /// which follows sl_reply_error()'s stateless one).
    @Test func aFailedTRelayIsAnsweredWithItsError() throws {
        let core = try core(
            """
            request_route {
                if ($rU == "tcp") { $du = "sip:127.0.0.2:5080;transport=tcp"; }
                if ($rU == "name" || $rU == "quiet" || $rU == "mine") { $du = "sip:nowhere.test"; }
                if ($rU == "quiet") { t_relay(); exit; }
                if ($rU == "mine") { if (!t_relay()) { t_reply("404", "Not Here"); } exit; }
                if (!t_relay()) { sl_reply_error(); }
            }
            """)
        core.context.install(resolver: TableResolver([:]))
        let cases: [(String, [String])] = [
            (
                "tcp",
                [
                    "SIP/2.0 500 I'm terribly sorry, server error occurred (7/SL)",
                    "SIP/2.0 500 I'm terribly sorry, server error occurred (7/TM)",
                ]
            ),
            (
                "name",
                ["SIP/2.0 478 Unresolvable destination (478/SL)", "SIP/2.0 478 Unresolvable destination (478/TM)"]
            ),
            ("quiet", ["SIP/2.0 478 Unresolvable destination (478/TM)"]),
            ("mine", ["SIP/2.0 404 Not Here"]),
        ]
        for (user, expected) in cases {
            core.receive(
                Self.register(callID: user, branch: "z9hG4bK-" + user).replacingOccurrences(
                    of: "sip:bob@", with: "sip:\(user)@"),
                from: Self.caller)
            #expect(core.takeSent().map(\.firstLine) == expected, "\(user)")
        }
    }
}
