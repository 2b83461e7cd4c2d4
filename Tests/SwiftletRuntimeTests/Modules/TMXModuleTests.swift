import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// tmx on the embedded core (tm's transactions through `TransactionInspectionAPI`): the
/// `$T_*` pseudo-variables, cancelling and replying by Call-ID, suspend/continue, `t_drop`;
/// and its statistics from the running binary.
@Suite struct TMXModuleTests {
    static let caller = "127.0.0.1:5070"
    static let callee = "127.0.0.2:5080"

    static func core(_ routes: String) throws -> EmbeddedCore {
        try EmbeddedCore(
            config: """
                log_stderror=yes
                debug=-1
                listen=udp:127.0.0.1:5060
                loadmodule "tm.so"
                loadmodule "tmx.so"
                loadmodule "sl.so"
                loadmodule "textops.so"
                loadmodule "pv.so"
                loadmodule "kex.so"
                loadmodule "corex.so"
                modparam("tm", "fr_timer", 2000)
                \(routes)

                """, modulePath: productsDirectory)
    }

    static func request(
        _ method: String = "INVITE", user: String = "bob", callID: String = "tmx-1", branch: String = "z9hG4bK-c1",
        extra: [String] = []
    ) -> String {
        (["\(method) sip:\(user)@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=\(branch);rport"]
            + ["From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:\(user)@127.0.0.1>", "Call-ID: \(callID)"]
            + ["CSeq: 1 \(method)", "Max-Forwards: 70"] + extra + ["Content-Length: 0"])
            .joined(separator: "\r\n") + "\r\n\r\n"
    }

    /// A reply to a request the core sent, with `extra` header lines.
    static func reply(to request: MemoryTransport.Sent, _ code: Int, _ reason: String, extra: [String] = []) -> String {
        var lines = ["SIP/2.0 \(code) \(reason)"]
        for line in request.text.components(separatedBy: "\r\n") {
            let name = line.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            switch name {
            case "Via", "From", "Call-ID", "CSeq": lines.append(line)
            case "To": lines.append(line + ";tag=b1")
            default: break
            }
        }
        return (lines + extra + ["Content-Length: 0"]).joined(separator: "\r\n") + "\r\n\r\n"
    }

    func lines(_ sent: [MemoryTransport.Sent]) -> [String] {
        sent.map { "\($0.firstLine) -> \($0.destination.address)" }
    }

    func header(_ name: String, in sent: MemoryTransport.Sent?) -> String? {
        sent?.text.components(separatedBy: "\r\n").first { $0.hasPrefix(name + ": ") }.map {
            String($0.dropFirst(name.count + 2))
        }
    }

    static let inspectingRoutes = """
        request_route {
            if (is_method("ACK")) { t_relay(); exit; }
            setbflag(3);
            $du = "sip:127.0.0.2:5080";
            t_on_reply("R");
            t_on_failure("F");
            t_relay();
        }
        onreply_route[R] {
            append_hf("X-T: req=$T_req($hdr(X-Orig)) ruri=$T_req($ru) reason=$T_reply_reason last=$T_reply_last uri=$T_branch(uri) flags=$T_branch(flags) code=$T(reply_code) idx=$T_branch_idx ruid=[$T_reply_ruid] rpl=$T_rpl($rs)\\r\\n");
        }
        failure_route[F] {
            pv_printf("$var(r)", "rpl=$T_rpl($rs) www=$T_rpl($hdr(WWW-Authenticate)) reason=$T_reply_reason type=$T(reply_type) code=$T_reply_code flags=$T_branch(flags) idx=$T_branch_idx req=$T_req($hdr(X-Orig))");
            t_reply("599", "$var(r)");
        }
        """

    @Test func onReplyRouteSeesTheRequestTheReplyAndItsBranch() throws {
        let core = try Self.core(Self.inspectingRoutes)
        core.receive(Self.request(extra: ["X-Orig: abc"]), from: Self.caller)
        let invite = try #require(core.takeSent().last)
        core.receive(Self.reply(to: invite, 180, "Ringing"), from: Self.callee)
        #expect(
            header("X-T", in: core.takeSent().first)
                == "req=abc ruri=sip:bob@127.0.0.1 reason=Ringing last=180 uri=sip:bob@127.0.0.1 flags=8 code=180 idx=0 "
                + "ruid=[] rpl=<null>")
        core.receive(Self.reply(to: invite, 183, "Session Progress"), from: Self.callee)
        // $T_reply_last: the highest code the branch received, this reply's included.
        #expect(header("X-T", in: core.takeSent().first)?.contains("reason=Session Progress last=183 ") == true)
    }

    @Test func failureRouteSeesTheChosenReplyOrTheTimeout() throws {
        let core = try Self.core(Self.inspectingRoutes)
        core.receive(Self.request(extra: ["X-Orig: abc"]), from: Self.caller)
        let invite = try #require(core.takeSent().last)
        core.receive(
            Self.reply(to: invite, 401, "Unauthorized", extra: ["WWW-Authenticate: Digest realm=\"x\""]),
            from: Self.callee)
        // $T_req only in reply routes (as Kamailio): null in the failure route.
        #expect(
            lines(core.takeSent()).last
                == "SIP/2.0 599 rpl=401 www=Digest realm=\"x\" reason=Unauthorized type=0 code=401 flags=8 idx=1 "
                + "req=<null> -> 127.0.0.1:5070")

        core.receive(Self.request(callID: "tmx-2", branch: "z9hG4bK-c2"), from: Self.caller)
        _ = core.takeSent()
        core.advance(milliseconds: 2000)  // fr_timer: the branch times out
        #expect(
            lines(core.takeSent()).last
                == "SIP/2.0 599 rpl=<null> www=<null> reason=Request Timeout type=1 code=408 flags=8 idx=1 "
                + "req=<null> -> 127.0.0.1:5070")
    }

    @Test func identityPVsCreateTheTransactionWithIdLabelN() throws {
        let core = try Self.core(
            """
            request_route {
                if (is_method("CANCEL")) { sl_send_reply("200", "inv=$T_inv($hdr(X-Orig)) m=$T_inv($rm)"); exit; }
                if ($rU == "plain") { sl_send_reply("200", "label=$T(id_label) idx=$T_branch_idx inv=$T_inv($rm) rl=$T_reply_last tb=$T_branch(uri) r=$T_req($rm)"); exit; }
                append_branch("sip:x@127.0.0.3");
                append_branch("sip:y@127.0.0.3");
                $var(label) = $T(id_label_n);
                $var(index) = $T(id_index_n);
                pv_printf("$var(r)", "label=$var(label) same=$T(id_label) index=$var(index) same=$T(id_index) code=$T(reply_code) idx=$T_branch_idx");
                t_reply("404", "$var(r)");
            }
            """)
        core.receive(Self.request("OPTIONS", user: "plain"), from: Self.caller)
        // As Kamailio 5.6.3 answers: $T_reply_last fails outside an onreply route (nothing printed).
        #expect(
            lines(core.takeSent()) == [
                "SIP/2.0 200 label=<null> idx=0 inv=<null> rl= tb=<null> r=<null> -> 127.0.0.1:5070"
            ])

        core.receive(Self.request(extra: ["X-Orig: first"]), from: Self.caller)
        let reason = try #require(core.takeSent().first?.firstLine)
        let fields = reason.dropFirst("SIP/2.0 404 ".count).split(separator: " ").map(String.init)
        #expect(fields.count == 6)
        let label = Int(fields[0].dropFirst("label=".count)) ?? 0
        let index = Int(fields[2].dropFirst("index=".count)) ?? -1
        #expect(label > 0)
        #expect((0...65535).contains(index))
        #expect(fields[1] == "same=\(label)" && fields[3] == "same=\(index)")
        #expect(Array(fields[4...]) == ["code=0", "idx=2"])

        // $T_inv: the INVITE transaction a CANCEL is for.
        core.receive(Self.request("CANCEL"), from: Self.caller)
        #expect(lines(core.takeSent()) == ["SIP/2.0 200 inv=first m=INVITE -> 127.0.0.1:5070"])
    }

    static let byCallIDRoutes = """
        request_route {
            if (is_method("ACK")) { t_relay(); exit; }
            if ($rU == "cancel") {
                if (t_cancel_callid("$hdr(X-CID)", "1", "5", "200")) { sl_send_reply("200", "cancelled"); }
                else { sl_send_reply("404", "no such transaction"); }
                exit;
            }
            if ($rU == "answer") {
                if (t_reply_callid("$hdr(X-CID)", "$hdr(X-CSeq)", "486", "Busy Now")) { sl_send_reply("200", "replied"); }
                else { sl_send_reply("404", "not replied"); }
                exit;
            }
            $du = "sip:127.0.0.2:5080";
            t_on_failure("F");
            t_relay();
        }
        failure_route[F] {
            if (isflagset(5)) { pv_printf("$var(r)", "flag 5 set, $T_reply_code"); t_reply("599", "$var(r)"); }
        }
        """

    @Test func tCancelCallidCancelsTheBranchesWithAReasonAndSetsTheFlag() throws {
        let core = try Self.core(Self.byCallIDRoutes)
        core.receive(Self.request(callID: "c-1"), from: Self.caller)
        let invite = try #require(core.takeSent().last)
        core.receive(Self.reply(to: invite, 180, "Ringing"), from: Self.callee)
        _ = core.takeSent()
        core.receive(
            Self.request("MESSAGE", user: "cancel", callID: "m-1", branch: "z9hG4bK-m1", extra: ["X-CID: c-1"]),
            from: Self.caller)
        let sent = core.takeSent()
        #expect(
            lines(sent) == [
                "CANCEL sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080", "SIP/2.0 200 cancelled -> 127.0.0.1:5070",
            ])
        #expect(header("Reason", in: sent.first) == "SIP;cause=200;text=\"Call completed elsewhere\"")
        core.receive(Self.reply(to: invite, 487, "Request Terminated"), from: Self.callee)
        #expect(
            lines(core.takeSent()) == [
                "ACK sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080", "SIP/2.0 599 flag 5 set, 487 -> 127.0.0.1:5070",
            ])
        core.receive(
            Self.request("MESSAGE", user: "cancel", callID: "m-2", branch: "z9hG4bK-m2", extra: ["X-CID: nope"]),
            from: Self.caller)
        #expect(lines(core.takeSent()) == ["SIP/2.0 404 no such transaction -> 127.0.0.1:5070"])
    }

    @Test func tReplyCallidAnswersTheTransactionOnce() throws {
        let core = try Self.core(Self.byCallIDRoutes)
        core.receive(Self.request(callID: "r-1"), from: Self.caller)
        let invite = try #require(core.takeSent().last)
        core.receive(Self.reply(to: invite, 180, "Ringing"), from: Self.callee)
        _ = core.takeSent()
        // The CSeq number alone, as Kamailio (it hashes the text given): "1 INVITE" finds nothing.
        core.receive(
            Self.request(
                "MESSAGE", user: "answer", callID: "m-2", branch: "z9hG4bK-m2",
                extra: ["X-CID: r-1", "X-CSeq: 1 INVITE"]),
            from: Self.caller)
        #expect(lines(core.takeSent()) == ["SIP/2.0 404 not replied -> 127.0.0.1:5070"])
        core.receive(
            Self.request(
                "MESSAGE", user: "answer", callID: "m-3", branch: "z9hG4bK-m3", extra: ["X-CID: r-1", "X-CSeq: 1"]),
            from: Self.caller)
        // The 486 goes up and the ringing branch is cancelled (in either order: Kamailio sends
        // the CANCEL first, tm's t_reply() the reply first), before the MESSAGE's 200.
        let sent = lines(core.takeSent())
        #expect(
            Set(sent.prefix(2)) == [
                "SIP/2.0 486 Busy Now -> 127.0.0.1:5070", "CANCEL sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080",
            ])
        #expect(sent.dropFirst(2) == ["SIP/2.0 200 replied -> 127.0.0.1:5070"])
        core.receive(
            Self.request(
                "MESSAGE", user: "answer", callID: "m-4", branch: "z9hG4bK-m4", extra: ["X-CID: r-1", "X-CSeq: 1"]),
            from: Self.caller)
        #expect(lines(core.takeSent()) == ["SIP/2.0 404 not replied -> 127.0.0.1:5070"])
    }

    @Test func tCancelBranchesOthersThisAndNothingToCancel() throws {
        let core = try Self.core(
            """
            request_route {
                if ($rU == "bob") { append_branch("sip:fork@127.0.0.3:5080"); }
                $du = "sip:127.0.0.2:5080";
                t_on_reply("R");
                t_relay();
            }
            onreply_route[R] {
                if ($rs == "181") { if (!t_cancel_branches("others")) { append_hf("X-Nothing: others\\r\\n"); } }
                if ($rs == "182") { if (!t_cancel_branches("this")) { append_hf("X-Nothing: this\\r\\n"); } }
                if ($rs == "183") { if (!t_cancel_branches("all")) { append_hf("X-Nothing: all\\r\\n"); } }
            }
            """)
        core.receive(Self.request(), from: Self.caller)
        let sent = core.takeSent()
        let first = try #require(sent.first { "\($0.destination.address)" == Self.callee })
        let second = try #require(sent.first { "\($0.destination.address)" == "127.0.0.3:5080" })
        core.receive(Self.reply(to: first, 180, "Ringing"), from: Self.callee)
        core.receive(Self.reply(to: second, 180, "Ringing"), from: "127.0.0.3:5080")
        _ = core.takeSent()
        core.receive(Self.reply(to: first, 181, "Forwarded"), from: Self.callee)
        #expect(
            lines(core.takeSent()) == [
                "CANCEL sip:fork@127.0.0.3:5080 SIP/2.0 -> 127.0.0.3:5080", "SIP/2.0 181 Forwarded -> 127.0.0.1:5070",
            ])
        core.receive(Self.reply(to: first, 182, "Queued"), from: Self.callee)
        #expect(
            lines(core.takeSent()) == [
                "CANCEL sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080", "SIP/2.0 182 Queued -> 127.0.0.1:5070",
            ])
        // One branch only: "others" has nothing to cancel (-1), the reply goes on.
        core.receive(Self.request(user: "carol", callID: "tmx-b2", branch: "z9hG4bK-b2"), from: Self.caller)
        let only = try #require(core.takeSent().last)
        core.receive(Self.reply(to: only, 181, "Forwarded"), from: Self.callee)
        let last = core.takeSent()
        #expect(lines(last) == ["SIP/2.0 181 Forwarded -> 127.0.0.1:5070"])
        #expect(header("X-Nothing", in: last.first) == "others")
    }

    static let suspendRoutes = """
        request_route {
            if (is_method("ACK")) { t_relay(); exit; }
            t_check_trans();
            if ($rU == "go") {
                if (t_continue("$shv(tmx_idx)", "$shv(tmx_lbl)", "$hdr(X-Route)")) { sl_send_reply("200", "continued"); }
                else { sl_send_reply("404", "not suspended"); }
                exit;
            }
            if (!t_suspend()) { sl_send_reply("500", "not suspended"); exit; }
            $shv(tmx_idx) = $T(id_index);
            $shv(tmx_lbl) = $T(id_label);
            exit;
        }
        route[RESUME] {
            if (t_is_failure_route()) { append_hf("X-Resumed: as failure route\\r\\n"); }
            $du = "sip:127.0.0.2:5080";
            t_relay();
        }
        route[IDLE] {
            $var(nothing) = 1;
        }
        """

    func go(_ core: EmbeddedCore, _ route: String, _ n: Int) {
        core.receive(
            Self.request(
                "MESSAGE", user: "go", callID: "go-\(n)", branch: "z9hG4bK-go\(n)", extra: ["X-Route: \(route)"]),
            from: Self.caller)
    }

    @Test func tSuspendThenTContinueRelaysFromTheRoute() throws {
        let core = try Self.core(Self.suspendRoutes)
        core.receive(Self.request(callID: "s-1"), from: Self.caller)
        #expect(lines(core.takeSent()) == ["SIP/2.0 100 trying -- your call is important to us -> 127.0.0.1:5070"])
        // A retransmission while suspended gets the 100 again.
        core.receive(Self.request(callID: "s-1"), from: Self.caller)
        #expect(lines(core.takeSent()) == ["SIP/2.0 100 trying -- your call is important to us -> 127.0.0.1:5070"])
        go(core, "RESUME", 1)
        let sent = core.takeSent()
        #expect(
            lines(sent) == [
                "INVITE sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080", "SIP/2.0 200 continued -> 127.0.0.1:5070",
            ])
        #expect(header("X-Resumed", in: sent.first) == "as failure route")
        // Continued once only.
        go(core, "RESUME", 2)
        #expect(lines(core.takeSent()) == ["SIP/2.0 404 not suspended -> 127.0.0.1:5070"])
        core.receive(Self.reply(to: sent[0], 200, "OK"), from: Self.callee)
        #expect(lines(core.takeSent()) == ["SIP/2.0 200 OK -> 127.0.0.1:5070"])
        go(core, "NO_SUCH_ROUTE", 3)
        #expect(lines(core.takeSent()) == ["SIP/2.0 404 not suspended -> 127.0.0.1:5070"])
    }

    @Test func aContinuationThatDoesNothingGets500AndOneNeverContinuedTimesOut() throws {
        let core = try Self.core(Self.suspendRoutes)
        core.receive(Self.request(callID: "s-2"), from: Self.caller)
        _ = core.takeSent()
        go(core, "IDLE", 1)
        #expect(
            lines(core.takeSent()) == [
                "SIP/2.0 500 I'm terribly sorry, server error occurred (1/TM) -> 127.0.0.1:5070",
                "SIP/2.0 200 continued -> 127.0.0.1:5070",
            ])
        core.receive(Self.request("ACK", callID: "s-2"), from: Self.caller)  // ends the 500's retransmissions

        core.receive(Self.request(callID: "s-3", branch: "z9hG4bK-s3"), from: Self.caller)
        _ = core.takeSent()
        core.advance(milliseconds: 1999)
        #expect(core.takeSent().isEmpty)
        core.advance(milliseconds: 1)
        #expect(lines(core.takeSent()) == ["SIP/2.0 408 Request Timeout -> 127.0.0.1:5070"])
        // Timed out, the 408 not ACKed yet: nothing to continue, t_continue() is still true
        // (as Kamailio's); once the ACK ended the transaction, it is not active any more.
        go(core, "RESUME", 2)
        #expect(lines(core.takeSent()) == ["SIP/2.0 200 continued -> 127.0.0.1:5070"])
        core.receive(Self.request("ACK", callID: "s-3", branch: "z9hG4bK-s3"), from: Self.caller)
        go(core, "RESUME", 3)
        #expect(lines(core.takeSent()) == ["SIP/2.0 404 not suspended -> 127.0.0.1:5070"])
    }

    @Test func aCancelledSuspendedInviteGets487AtOnce() throws {
        let core = try Self.core(
            """
            request_route {
                if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
            \(Self.suspendRoutes.components(separatedBy: "\n").dropFirst().joined(separator: "\n"))
            """)
        core.receive(Self.request(callID: "s-4", branch: "z9hG4bK-s4"), from: Self.caller)
        _ = core.takeSent()
        core.receive(Self.request("CANCEL", callID: "s-4", branch: "z9hG4bK-s4"), from: Self.caller)
        #expect(
            lines(core.takeSent()) == [
                "SIP/2.0 487 Request canceled -> 127.0.0.1:5070",
                "SIP/2.0 200 ok -- no more pending branches -> 127.0.0.1:5070",
            ])
        // Cancelled meanwhile: t_continue() is true and nothing runs.
        go(core, "RESUME", 1)
        #expect(lines(core.takeSent()) == ["SIP/2.0 200 continued -> 127.0.0.1:5070"])
    }

    @Test func aFailureRouteSuspendsAndTheContinuationAnswers() throws {
        let core = try Self.core(
            """
            request_route {
                if (is_method("ACK")) { t_relay(); exit; }
                t_check_trans();
                if ($rU == "go") {
                    if (t_continue("$shv(tmx_f_idx)", "$shv(tmx_f_lbl)", "LATER")) { sl_send_reply("200", "continued"); }
                    exit;
                }
                $du = "sip:127.0.0.2:5080";
                t_on_failure("F");
                t_relay();
            }
            failure_route[F] {
                if (!t_suspend()) { t_reply("500", "not suspended"); exit; }
                $shv(tmx_f_idx) = $T(id_index);
                $shv(tmx_f_lbl) = $T(id_label);
            }
            route[LATER] {
                pv_printf("$var(r)", "later, $T_branch_idx branches");
                t_reply("480", "$var(r)");
            }
            """)
        core.receive(Self.request(callID: "f-1"), from: Self.caller)
        let invite = try #require(core.takeSent().last)
        core.receive(Self.reply(to: invite, 486, "Busy Here"), from: Self.callee)
        // Only the ACK of the 486: the transaction waits.
        #expect(lines(core.takeSent()) == ["ACK sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080"])
        go(core, "LATER", 1)
        #expect(
            lines(core.takeSent()) == [
                "SIP/2.0 480 later, 2 branches -> 127.0.0.1:5070", "SIP/2.0 200 continued -> 127.0.0.1:5070",
            ])
    }

    @Test func eachBranchKeepsItsOwnBranchFlags() throws {
        let core = try Self.core(
            """
            request_route {
                setbflag(3);
                append_branch("sip:fork@127.0.0.3:5080");
                resetbflag(3);
                setbflag(1);
                $du = "sip:127.0.0.2:5080";
                t_on_branch("B");
                t_on_reply("R");
                t_relay();
            }
            branch_route[B] {
                if (isbflagset(3)) { append_hf("X-B: 3 $T_branch_idx\\r\\n"); } else { append_hf("X-B: not 3 $T_branch_idx\\r\\n"); }
            }
            onreply_route[R] {
                append_hf("X-F: $T_branch(flags) $T_branch_idx\\r\\n");
            }
            """)
        core.receive(Self.request(), from: Self.caller)
        let sent = core.takeSent()
        let first = try #require(sent.first { "\($0.destination.address)" == Self.callee })
        let second = try #require(sent.first { "\($0.destination.address)" == "127.0.0.3:5080" })
        #expect(header("X-B", in: first) == "not 3 0")
        #expect(header("X-B", in: second) == "3 1")
        core.receive(Self.reply(to: first, 180, "Ringing"), from: Self.callee)
        #expect(header("X-F", in: core.takeSent().first) == "2 0")
        core.receive(Self.reply(to: second, 180, "Ringing"), from: "127.0.0.3:5080")
        #expect(header("X-F", in: core.takeSent().first) == "8 1")
    }

    @Test func tDropEndsTheTransactionWithoutAReplyAndTFlushFlagsNeedsOne() throws {
        let core = try Self.core(
            """
            request_route {
                if ($rU == "flush") {
                    if (t_flush_flags()) { sl_send_reply("500", "flushed without a transaction"); exit; }
                    t_newtran();
                    setflag(4);
                    if (t_flush_flags() && t_flush_xflags()) { t_reply("200", "flushed"); }
                    exit;
                }
                if ($rU == "nothing") {
                    if (!t_drop()) { sl_send_reply("404", "no transaction to drop"); }
                    exit;
                }
                t_newtran();
                t_drop();
                sl_send_reply("500", "not dropped");
            }
            """)
        core.receive(Self.request("OPTIONS", user: "flush"), from: Self.caller)
        #expect(lines(core.takeSent()) == ["SIP/2.0 200 flushed -> 127.0.0.1:5070"])
        core.receive(Self.request("OPTIONS", user: "nothing", callID: "n-1", branch: "z9hG4bK-n1"), from: Self.caller)
        #expect(lines(core.takeSent()) == ["SIP/2.0 404 no transaction to drop -> 127.0.0.1:5070"])
        core.receive(Self.request(callID: "d-1", branch: "z9hG4bK-d1"), from: Self.caller)
        #expect(core.takeSent().isEmpty)
        // The dropped transaction still absorbs retransmissions, silently.
        core.receive(Self.request(callID: "d-1", branch: "z9hG4bK-d1"), from: Self.caller)
        #expect(core.takeSent().isEmpty)
    }
}

/// tmx's statistics (`tmx` group) read with `$stat(...)` from the running binary.
@Suite(.serialized) struct TMXStatisticsTests {
    @Test func transactionsAndRepliesAreCounted() throws {
        let callee = UDPClient()
        let server = try TestServer(
            config: """
                log_stderror=yes
                children=1
                listen=udp:127.0.0.1:PORT
                loadmodule "tm.so"
                loadmodule "tmx.so"
                loadmodule "sl.so"
                loadmodule "pv.so"
                loadmodule "textops.so"
                request_route {
                    if (is_method("OPTIONS")) {
                        sl_send_reply("200", "uas=$stat(UAS_transactions) uac=$stat(UAC_transactions) 4xx=$stat(4xx_transactions) 2xx=$stat(2xx_transactions) rcv=$stat(rpl_received) gen=$stat(rpl_generated) rel=$stat(rpl_relayed) sent=$stat(rpl_sent) abs=$stat(rpl_absorbed) inuse=$stat(inuse_transactions) active=$stat(active_transactions)");
                        exit;
                    }
                    if (is_method("ACK")) { t_relay(); exit; }
                    $du = "sip:127.0.0.1:\(callee.port)";
                    t_relay();
                }
                """)
        let caller = UDPClient()
        let invite = [
            "INVITE sip:bob@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:CPORT;rport;branch=z9hG4bK-st1",
            "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:bob@127.0.0.1>", "Call-ID: tmx-st-1", "CSeq: 1 INVITE",
            "Max-Forwards: 70", "Content-Length: 0",
        ]
        caller.send(sipRequest(invite, clientPort: caller.port), to: server.port)
        #expect(replyLines(try #require(caller.receive(), "log: \(server.log)"))[0].hasPrefix("SIP/2.0 100 "))
        let relayed = try #require(callee.receive())
        let kept = relayed.components(separatedBy: "\r\n").filter { line in
            ["Via:", "From:", "Call-ID:", "CSeq:"].contains { line.hasPrefix($0) }
        }
        let to = "To: <sip:bob@127.0.0.1>;tag=b1"
        for (code, reason) in [(180, "Ringing"), (486, "Busy Here")] {
            let reply = (["SIP/2.0 \(code) \(reason)"] + kept + [to, "Content-Length: 0"]).joined(separator: "\r\n")
            callee.send(reply + "\r\n\r\n", to: server.port)
            #expect(replyLines(try #require(caller.receive()))[0] == "SIP/2.0 \(code) \(reason)")
        }
        #expect(callee.receive()?.hasPrefix("ACK ") == true)
        let ack = [
            "ACK sip:bob@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:CPORT;rport;branch=z9hG4bK-st1",
            "From: <sip:alice@127.0.0.1>;tag=a1", to, "Call-ID: tmx-st-1", "CSeq: 1 ACK", "Max-Forwards: 70",
            "Content-Length: 0",
        ]
        caller.send(sipRequest(ack, clientPort: caller.port), to: server.port)
        usleep(100_000)
        caller.send(sipRequest(optionsRequest(callID: "tmx-st-2"), clientPort: caller.port), to: server.port)
        // 100 (generated), 180 and 486 (relayed); the transaction waits (wt_timer) after the ACK.
        #expect(
            replyLines(try #require(caller.receive()))[0]
                == "SIP/2.0 200 uas=1 uac=0 4xx=1 2xx=0 rcv=2 gen=1 rel=2 sent=3 abs=0 inuse=1 active=0")
    }
}
