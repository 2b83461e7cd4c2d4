import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// tm on the embedded core: transactions with no sockets and a virtual clock, so that
/// retransmissions and timeouts are checked at their exact times.
@Suite struct TMModuleTests {
    static let caller = "127.0.0.1:5070"
    static let callee = "127.0.0.2:5080"

    static func config(_ extra: String = "", failure: String = "") -> String {
        """
        log_stderror=yes
        debug=-1
        listen=udp:127.0.0.1:5060
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "textops.so"
        loadmodule "corex.so"
        \(extra)
        request_route {
            if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
            if (is_method("ACK")) {
                if (t_check_trans()) { t_relay(); exit; }
                $du = "sip:127.0.0.2:5080"; t_relay(); exit;  # an ACK for a 2xx: stateless
            }
            t_check_trans();
            if ($rU == "fork") { append_branch("sip:fork@127.0.0.3:5080"); }
            $du = "sip:127.0.0.2:5080";
            if ($rU == "loop") { $du = "sip:127.0.0.1:5060"; }
            t_on_failure("MISSED");
            if (!t_relay()) { sl_reply_error(); }
            if ($rU == "noreason") { t_set_no_e2e_cancel_reason(1); }
        }
        failure_route[MISSED] {
        \(failure)
        }

        """
    }

    func core(_ extra: String = "", failure: String = "") throws -> EmbeddedCore {
        try EmbeddedCore(config: Self.config(extra, failure: failure), modulePath: productsDirectory)
    }

    static func invite(_ user: String = "bob", callID: String = "tm-1", branch: String = "z9hG4bK-c1") -> String {
        [
            "INVITE sip:\(user)@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=\(branch);rport",
            "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:\(user)@127.0.0.1>", "Call-ID: \(callID)",
            "CSeq: 1 INVITE", "Max-Forwards: 70", "Contact: <sip:alice@127.0.0.1:5070>", "Content-Length: 0",
        ].joined(separator: "\r\n") + "\r\n\r\n"
    }

    /// A reply to a request as the core sent it: its Vias, From, To (tagged), Call-ID, CSeq.
    static func reply(to request: MemoryTransport.Sent, _ code: Int, _ reason: String, toTag: String? = "b1") -> String
    {
        var lines = ["SIP/2.0 \(code) \(reason)"]
        for line in request.text.components(separatedBy: "\r\n") {
            let name = line.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            switch name {
            case "Via", "From", "Call-ID", "CSeq": lines.append(line)
            case "To": lines.append(toTag.map { line + ";tag=\($0)" } ?? line)
            default: break
            }
        }
        lines.append("Content-Length: 0")
        return lines.joined(separator: "\r\n") + "\r\n\r\n"
    }

    func lines(_ sent: [MemoryTransport.Sent]) -> [String] {
        sent.map { "\($0.firstLine) -> \($0.destination.address)" }
    }

    @Test func anInviteGets100AndGoesOnWithATransactionBranch() throws {
        let core = try core()
        core.receive(Self.invite(), from: Self.caller)
        let sent = core.takeSent()
        #expect(
            lines(sent) == [
                "SIP/2.0 100 trying -- your call is important to us -> 127.0.0.1:5070",
                "INVITE sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080",
            ])
        let via = sent[1].text.components(separatedBy: "\r\n").first { $0.hasPrefix("Via: ") } ?? ""
        // z9hG4bK<label>.<32 hex id>.<branch index>
        #expect(
            via.range(
                of: #"^Via: SIP/2\.0/UDP 127\.0\.0\.1;branch=z9hG4bK[0-9a-f]+\.[0-9a-f]{32}\.0$"#,
                options: .regularExpression) != nil)
    }

    @Test func udpRetransmissionsRunAtT1And2T1UntilAProvisionalArrives() throws {
        let core = try core()
        core.receive(Self.invite(), from: Self.caller)
        let invite = core.takeSent()[1]
        core.advance(milliseconds: 499)
        #expect(core.takeSent().isEmpty)
        core.advance(milliseconds: 1)
        #expect(lines(core.takeSent()) == ["INVITE sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080"])
        core.advance(milliseconds: 999)
        #expect(core.takeSent().isEmpty)
        core.advance(milliseconds: 1)  // 1500 ms: the second retransmission (2·T1 later)
        let again = core.takeSent()
        #expect(again.map(\.text) == [invite.text])  // the same bytes, the same branch
        core.receive(Self.reply(to: invite, 180, "Ringing"), from: Self.callee)
        let ringing = core.takeSent()
        #expect(lines(ringing) == ["SIP/2.0 180 Ringing -> 127.0.0.1:5070"])
        #expect(ringing.first?.text.components(separatedBy: "\r\n").filter { $0.hasPrefix("Via:") }.count == 1)
        core.advance(milliseconds: 20_000)
        #expect(core.takeSent().isEmpty)  // no more retransmissions after the 180
    }

    @Test func aRetransmittedInviteIsAbsorbedAndTheLastReplySentAgain() throws {
        let core = try core()
        core.receive(Self.invite(), from: Self.caller)
        _ = core.takeSent()
        core.receive(Self.invite(), from: Self.caller)
        #expect(lines(core.takeSent()) == ["SIP/2.0 100 trying -- your call is important to us -> 127.0.0.1:5070"])
    }

    @Test func aCallWith200AckAndByePassesTheProxy() throws {
        let core = try core()
        core.receive(Self.invite(), from: Self.caller)
        let invite = core.takeSent()[1]
        core.receive(Self.reply(to: invite, 200, "OK"), from: Self.callee)
        #expect(lines(core.takeSent()) == ["SIP/2.0 200 OK -> 127.0.0.1:5070"])
        // The ACK for the 2xx has a new branch: it goes on statelessly.
        let ack = Self.invite().replacingOccurrences(of: "INVITE sip:", with: "ACK sip:")
            .replacingOccurrences(of: "CSeq: 1 INVITE", with: "CSeq: 1 ACK")
            .replacingOccurrences(of: "z9hG4bK-c1", with: "z9hG4bK-c2")
            .replacingOccurrences(of: "To: <sip:bob@127.0.0.1>", with: "To: <sip:bob@127.0.0.1>;tag=b1")
        core.receive(ack, from: Self.caller)
        #expect(lines(core.takeSent()) == ["ACK sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080"])
        let bye = ack.replacingOccurrences(of: "ACK sip:", with: "BYE sip:")
            .replacingOccurrences(of: "CSeq: 1 ACK", with: "CSeq: 2 BYE")
            .replacingOccurrences(of: "z9hG4bK-c2", with: "z9hG4bK-c3")
        core.receive(bye, from: Self.caller)
        let sentBye = core.takeSent()
        #expect(lines(sentBye) == ["BYE sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080"])
        core.receive(Self.reply(to: sentBye[0], 200, "OK", toTag: nil), from: Self.callee)
        #expect(lines(core.takeSent()) == ["SIP/2.0 200 OK -> 127.0.0.1:5070"])
    }

    /// After a 2xx went up (tm frees its reply context then), the transaction still answers a
    /// retransmitted INVITE with that 2xx and relays the callee's 2xx retransmission and a
    /// second fork's 2xx.
    @Test func after200TheTransactionStillAnswersRetransmissionsAndLateForks() throws {
        let core = try core()
        core.receive(Self.invite("fork"), from: Self.caller)
        let sent = core.takeSent()
        core.receive(Self.reply(to: sent[1], 200, "OK"), from: Self.callee)
        let first = core.takeSent()
        // The other fork has not answered yet: its CANCEL waits for a provisional reply.
        #expect(lines(first) == ["SIP/2.0 200 OK -> 127.0.0.1:5070"])
        // The caller's INVITE again: the 200 it got, byte for byte.
        core.receive(Self.invite("fork"), from: Self.caller)
        let again = core.takeSent()
        #expect(lines(again) == ["SIP/2.0 200 OK -> 127.0.0.1:5070"])
        #expect(again.first?.bytes == first.first?.bytes)
        // The callee's 200 again (it did not see the ACK yet) goes up again.
        core.receive(Self.reply(to: sent[1], 200, "OK"), from: Self.callee)
        #expect(lines(core.takeSent()) == ["SIP/2.0 200 OK -> 127.0.0.1:5070"])
        // The other fork answers 200 too before its CANCEL: it goes up as well (RFC 3261 16.7).
        core.receive(Self.reply(to: sent[2], 200, "OK", toTag: "c2"), from: "127.0.0.3:5080")
        let late = core.takeSent()
        #expect(lines(late).first == "SIP/2.0 200 OK -> 127.0.0.1:5070")
        #expect(late.first?.text.contains(";tag=c2") == true)
    }

    @Test func noAnswerEndsWith408AfterFrTimer() throws {
        let core = try core("modparam(\"tm\", \"fr_timer\", 2000)")
        core.receive(Self.invite(), from: Self.caller)
        _ = core.takeSent()
        core.advance(milliseconds: 1_999)
        #expect(!core.takeSent().contains { $0.firstLine.hasPrefix("SIP/2.0 408") })
        core.advance(milliseconds: 1)
        let sent = core.takeSent()
        #expect(lines(sent).last == "SIP/2.0 408 Request Timeout -> 127.0.0.1:5070")
        // The 408 carries tm's To-tag.
        #expect(sent.last?.text.contains("To: <sip:bob@127.0.0.1>;tag=") == true)
    }

    @Test func aNegativeReplyIsAckedAndRelayedAndRetransmittedUntilTheAck() throws {
        let core = try core()
        core.receive(Self.invite(), from: Self.caller)
        let invite = core.takeSent()[1]
        core.receive(Self.reply(to: invite, 486, "Busy Here"), from: Self.callee)
        let sent = core.takeSent()
        #expect(
            lines(sent) == [
                "ACK sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080", "SIP/2.0 486 Busy Here -> 127.0.0.1:5070",
            ])
        let ack = sent[0].text
        #expect(ack.contains("CSeq: 1 ACK\r\n"))
        #expect(ack.contains("To: <sip:bob@127.0.0.1>;tag=b1\r\n"))
        // The hop-by-hop ACK has the INVITE branch's Via.
        let inviteVia = invite.text.components(separatedBy: "\r\n").first { $0.hasPrefix("Via: ") }!
        #expect(ack.contains(inviteVia + "\r\n"))
        // The 486 goes up again at T1 until the caller's ACK.
        core.advance(milliseconds: 500)
        #expect(lines(core.takeSent()) == ["SIP/2.0 486 Busy Here -> 127.0.0.1:5070"])
        let callerAck = Self.invite().replacingOccurrences(of: "INVITE sip:", with: "ACK sip:")
            .replacingOccurrences(of: "CSeq: 1 INVITE", with: "CSeq: 1 ACK")
            .replacingOccurrences(of: "To: <sip:bob@127.0.0.1>", with: "To: <sip:bob@127.0.0.1>;tag=b1")
        core.receive(callerAck, from: Self.caller)
        core.advance(milliseconds: 10_000)
        #expect(core.takeSent().isEmpty)  // absorbed; no more retransmissions
    }

    @Test func serialForkingInFailureRouteAfter503AndAfterATimeout() throws {
        let core = try core(
            "modparam(\"tm\", \"fr_timer\", 1000)",
            failure: """
                if (t_branch_timeout()) { append_hf("X-Leg: timeout\\r\\n"); }
                if (t_branch_replied()) { append_hf("X-Leg: replied\\r\\n"); }
                if (t_check_status("503|408")) { $du = "sip:127.0.0.3:5080"; t_relay(); }
                """)
        core.receive(Self.invite(), from: Self.caller)
        let first = core.takeSent()[1]
        core.receive(Self.reply(to: first, 503, "Service Unavailable"), from: Self.callee)
        let sent = core.takeSent()
        #expect(
            lines(sent) == [
                "ACK sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080", "INVITE sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.3:5080",
            ])
        #expect(sent[1].text.contains(".1\r\n"))  // branch index 1
        #expect(sent[1].text.contains("X-Leg: replied\r\n") && !sent[1].text.contains("X-Leg: timeout"))
        core.receive(Self.reply(to: sent[1], 200, "OK"), from: "127.0.0.3:5080")
        #expect(lines(core.takeSent()) == ["SIP/2.0 200 OK -> 127.0.0.1:5070"])

        // A timeout on the first leg forks the same way.
        core.receive(Self.invite(callID: "tm-2", branch: "z9hG4bK-t2"), from: Self.caller)
        _ = core.takeSent()
        core.advance(milliseconds: 1_000)
        let afterTimeout = core.takeSent().filter { $0.destination.address.description == "127.0.0.3:5080" }
        #expect(afterTimeout.map(\.firstLine) == ["INVITE sip:bob@127.0.0.1 SIP/2.0"])
        #expect(afterTimeout.first?.text.contains("X-Leg: timeout\r\n") == true)
        #expect(afterTimeout.first?.text.contains("X-Leg: replied") == false)
    }

    @Test func cancelOfARingingCallGives487AndACancelToTheCallee() throws {
        let core = try core()
        core.receive(Self.invite(), from: Self.caller)
        let invite = core.takeSent()[1]
        core.receive(Self.reply(to: invite, 180, "Ringing"), from: Self.callee)
        _ = core.takeSent()
        let cancel = Self.invite().replacingOccurrences(of: "INVITE sip:", with: "CANCEL sip:")
            .replacingOccurrences(of: "CSeq: 1 INVITE", with: "CSeq: 1 CANCEL")
        core.receive(cancel, from: Self.caller)
        let sent = core.takeSent()
        #expect(
            lines(sent) == [
                "SIP/2.0 200 canceling -> 127.0.0.1:5070", "CANCEL sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080",
            ])
        let inviteVia = invite.text.components(separatedBy: "\r\n").first { $0.hasPrefix("Via: ") }!
        #expect(sent[1].text.contains(inviteVia + "\r\n"))
        #expect(sent[1].text.contains("CSeq: 1 CANCEL\r\n"))
        core.receive(Self.reply(to: sent[1], 200, "OK", toTag: nil), from: Self.callee)  // absorbed
        core.receive(Self.reply(to: invite, 487, "Request Terminated"), from: Self.callee)
        #expect(
            lines(core.takeSent()) == [
                "ACK sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080", "SIP/2.0 487 Request Terminated -> 127.0.0.1:5070",
            ])
    }

    @Test func parallelForkingFirst200WinsTheOtherBranchIsCancelled() throws {
        let core = try core()
        core.receive(Self.invite("fork"), from: Self.caller)
        let sent = core.takeSent()
        #expect(
            lines(sent) == [
                "SIP/2.0 100 trying -- your call is important to us -> 127.0.0.1:5070",
                "INVITE sip:fork@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080",
                "INVITE sip:fork@127.0.0.3:5080 SIP/2.0 -> 127.0.0.3:5080",
            ])
        core.receive(Self.reply(to: sent[2], 180, "Ringing", toTag: "c1"), from: "127.0.0.3:5080")
        core.receive(Self.reply(to: sent[1], 200, "OK"), from: Self.callee)
        #expect(
            lines(core.takeSent()) == [
                "SIP/2.0 180 Ringing -> 127.0.0.1:5070", "SIP/2.0 200 OK -> 127.0.0.1:5070",
                "CANCEL sip:fork@127.0.0.3:5080 SIP/2.0 -> 127.0.0.3:5080",
            ])
    }

    @Test func aFullTransactionTableAnswers503AndLogsTheCause() throws {
        let core = try core("modparam(\"tm\", \"max_transactions\", 1)")
        core.receive(Self.invite(), from: Self.caller)
        _ = core.takeSent()
        core.receive(Self.invite(callID: "tm-3", branch: "z9hG4bK-c9"), from: Self.caller)
        #expect(lines(core.takeSent()) == ["SIP/2.0 503 Service Unavailable -> 127.0.0.1:5070"])
        // Once the first transaction is gone (wt_timer after its final reply), there is room.
        core.advance(milliseconds: 200_000)
        _ = core.takeSent()
        core.receive(Self.invite(callID: "tm-4", branch: "z9hG4bK-c10"), from: Self.caller)
        #expect(lines(core.takeSent()).first == "SIP/2.0 100 trying -- your call is important to us -> 127.0.0.1:5070")
    }

    @Test func aRequestRoutedBackToThisServerGets482() throws {
        let core = try core()
        core.receive(Self.invite("loop"), from: Self.caller)
        #expect(
            lines(core.takeSent()) == [
                "SIP/2.0 100 trying -- your call is important to us -> 127.0.0.1:5070",
                "SIP/2.0 482 Loop Detected -> 127.0.0.1:5070",
            ])
    }

    @Test func sendReplyUsesTheTransactionInAFailureRoute() throws {
        let core = try core(failure: "send_reply(\"404\", \"Not Here\");")
        core.receive(Self.invite(), from: Self.caller)
        let invite = core.takeSent()[1]
        core.receive(Self.reply(to: invite, 480, "Temporarily Unavailable"), from: Self.callee)
        let sent = core.takeSent()
        #expect(
            lines(sent) == [
                "ACK sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080", "SIP/2.0 404 Not Here -> 127.0.0.1:5070",
            ])
        // A stateful reply: tm's To-tag, and it is retransmitted until the ACK.
        #expect(sent[1].text.contains("To: <sip:bob@127.0.0.1>;tag="))
        core.advance(milliseconds: 500)
        #expect(lines(core.takeSent()) == ["SIP/2.0 404 Not Here -> 127.0.0.1:5070"])
    }

    @Test func tmxPseudoVariablesAndRouteChecks() throws {
        let core = try EmbeddedCore(
            config: """
                log_stderror=yes
                debug=-1
                listen=udp:127.0.0.1:5060
                loadmodule "tm.so"
                loadmodule "tmx.so"
                loadmodule "sl.so"
                loadmodule "textops.so"
                request_route {
                    if (t_precheck_trans()) { t_check_trans(); exit; }
                    t_check_trans();
                    if (t_is_request_route()) { append_hf("X-Route: request\\r\\n"); }
                    $du = "sip:127.0.0.2:5080";
                    t_on_branch("B");
                    t_on_failure("F");
                    t_relay();
                }
                branch_route[B] { append_hf("X-Branch: $T_branch_idx\\r\\n"); }
                failure_route[F] {
                    if (t_is_failure_route()) { t_reply("599", "code $T_reply_code on branch $T_branch_idx"); }
                }

                """, modulePath: productsDirectory)
        core.receive(Self.invite(), from: Self.caller)
        let sent = core.takeSent()
        #expect(sent.count == 2)
        #expect(sent[1].text.contains("X-Route: request\r\n"))
        #expect(sent[1].text.contains("X-Branch: 0\r\n"))
        core.receive(Self.reply(to: sent[1], 486, "Busy Here"), from: Self.callee)
        // In a failure route $T_branch_idx is the index the next branch gets (Kamailio's
        // nr_of_outgoings + nr_branches).
        #expect(lines(core.takeSent()).last == "SIP/2.0 599 code 486 on branch 1 -> 127.0.0.1:5070")
        // A second copy of the same request within 2 s counts as in progress: t_check_trans()
        // answers it (the transaction's last reply), and the script ends.
        core.receive(Self.invite(), from: Self.caller)
        #expect(lines(core.takeSent()) == ["SIP/2.0 599 code 486 on branch 1 -> 127.0.0.1:5070"])
    }

    @Test func tmxWithoutTmIsRefusedNamingBothModules() {
        do {
            _ = try EmbeddedCore(
                config: "listen=udp:127.0.0.1:5060\nloadmodule \"tmx.so\"\nrequest_route { exit; }\n",
                modulePath: productsDirectory)
            Issue.record("tmx loaded without tm")
        } catch {
            #expect(
                "\(error)".contains(
                    "module 'tmx' needs the TransactionAPI API of module 'tm': add loadmodule \"tm.so\""))
        }
    }

    /// The shared memory pool fills on purpose: new requests get 500 and a log line names
    /// the cause; the server keeps serving, and once transactions end there is room again.
    @Test func aFullSharedMemoryPoolAnswers500AndTheCoreKeepsServing() throws {
        let pool = try #require(SharedMemory(size: 8 * 1024, logsFailures: false))
        let core = try EmbeddedCore(config: Self.config(), modulePath: productsDirectory, memory: pool)
        var refused = 0
        for i in 0..<40 {
            core.receive(Self.invite(callID: "shm-\(i)", branch: "z9hG4bK-shm\(i)"), from: Self.caller)
            let sent = lines(core.takeSent())
            if sent == ["SIP/2.0 500 Server Internal Error - No Shared Memory -> 127.0.0.1:5070"] { refused += 1 }
        }
        #expect(refused > 0)
        #expect(refused < 40)
        // The transactions end (fr_timer, the 408's retransmissions, wt_timer) and free the pool.
        core.advance(milliseconds: 200_000)
        _ = core.takeSent()
        #expect(pool.statistics.used == 0)
        core.receive(Self.invite(callID: "shm-after", branch: "z9hG4bK-shm-after"), from: Self.caller)
        #expect(lines(core.takeSent()).first == "SIP/2.0 100 trying -- your call is important to us -> 127.0.0.1:5070")
    }

    @Test func a6xxCancelsTheOtherBranchesUnlessDisabled() throws {
        for disabled in [false, true] {
            let core = try core(disabled ? "modparam(\"tm\", \"disable_6xx_block\", 1)" : "")
            core.receive(Self.invite("fork"), from: Self.caller)
            let sent = core.takeSent()
            core.receive(Self.reply(to: sent[2], 180, "Ringing", toTag: "c1"), from: "127.0.0.3:5080")
            _ = core.takeSent()
            core.receive(Self.reply(to: sent[1], 603, "Decline"), from: Self.callee)
            let cancels = core.takeSent().filter { $0.firstLine.hasPrefix("CANCEL") }
            #expect(cancels.count == (disabled ? 0 : 1), "disable_6xx_block \(disabled)")
        }
    }

    @Test func theCancelsReasonIsCopiedUnlessSwitchedOff() throws {
        for user in ["bob", "noreason"] {
            let core = try core()
            let invite = Self.invite(user)
            core.receive(invite, from: Self.caller)
            let sentInvite = core.takeSent()[1]
            core.receive(Self.reply(to: sentInvite, 180, "Ringing"), from: Self.callee)
            _ = core.takeSent()
            let cancel = invite.replacingOccurrences(of: "INVITE sip:", with: "CANCEL sip:")
                .replacingOccurrences(of: "CSeq: 1 INVITE", with: "CSeq: 1 CANCEL")
                .replacingOccurrences(
                    of: "Content-Length",
                    with: "Reason: SIP;cause=200;text=\"Call completed elsewhere\"\r\nContent-Length")
            core.receive(cancel, from: Self.caller)
            let sentCancel = try #require(core.takeSent().first { $0.firstLine.hasPrefix("CANCEL") })
            let copied = sentCancel.text.contains("Reason: SIP;cause=200;text=\"Call completed elsewhere\"\r\n")
            #expect(copied == (user == "bob"), "\(user)")
        }
    }

    /// AVPs and flags set in the request route are there in tm's onreply route and in the
    /// failure route, and what the onreply route sets reaches the failure route.
    @Test func avpsAndFlagsTravelWithTheTransaction() throws {
        let core = try EmbeddedCore(
            config: """
                log_stderror=yes
                debug=-1
                listen=udp:127.0.0.1:5060
                loadmodule "tm.so"
                loadmodule "sl.so"
                loadmodule "textops.so"
                request_route {
                    $avp(caller) = "alice";
                    setflag(5);
                    $du = "sip:127.0.0.2:5080";
                    t_on_reply("R");
                    t_on_failure("F");
                    t_relay();
                }
                onreply_route[R] {
                    if ($avp(caller) == "alice" && isflagset(5)) { $avp(seen) = $rs; }
                }
                failure_route[F] {
                    t_reply("480", "seen $avp(seen) by $avp(caller)");
                }

                """, modulePath: productsDirectory)
        core.receive(Self.invite(), from: Self.caller)
        let invite = core.takeSent()[1]
        core.receive(Self.reply(to: invite, 183, "Session Progress"), from: Self.callee)
        _ = core.takeSent()
        core.receive(Self.reply(to: invite, 486, "Busy Here"), from: Self.callee)
        #expect(lines(core.takeSent()).last == "SIP/2.0 480 seen 486 by alice -> 127.0.0.1:5070")
    }

    @Test func rpcListsAndCancelsTransactions() throws {
        let core = try core()
        core.receive(Self.invite(), from: Self.caller)
        let invite = core.takeSent()[1]
        core.receive(Self.reply(to: invite, 180, "Ringing"), from: Self.callee)
        _ = core.takeSent()
        let rpcs = core.context.rpcs
        guard case .success(.array(let list)) = rpcs.call(RPCRequest(method: "tm.list", params: [])) else {
            Issue.record("tm.list failed")
            return
        }
        #expect(list.count == 1)
        #expect("\(list)".contains("tm-1") && "\(list)".contains("INVITE"))
        let missing = rpcs.call(RPCRequest(method: "tm.cancel", params: [.string("nope"), .string("1")]))
        #expect("\(missing)".contains("Transaction not found"))
        #expect(
            "\(rpcs.call(RPCRequest(method: "tm.cancel", params: [.string("tm-1"), .string("1 INVITE")])))".contains(
                "200 ok"))
        #expect(lines(core.takeSent()) == ["CANCEL sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080"])
    }

    /// Serial forking by q: the highest q class first, the next one in the failure route.
    @Test func contactsAreTriedByQValue() throws {
        let core = try EmbeddedCore(
            config: """
                log_stderror=yes
                debug=-1
                listen=udp:127.0.0.1:5060
                loadmodule "tm.so"
                loadmodule "sl.so"
                loadmodule "corex.so"
                modparam("tm", "contacts_avp", "tm_contacts")
                request_route {
                    $ru = "sip:bob@127.0.0.2:5080";
                    append_branch("sip:b@127.0.0.3:5080", "1.0");
                    append_branch("sip:c@127.0.0.4:5080", "0.5");
                    append_branch("sip:d@127.0.0.5:5080", "0.5");
                    t_load_contacts();
                    t_next_contacts();
                    t_on_failure("NEXT");
                    t_relay();
                }
                failure_route[NEXT] {
                    if (t_next_contacts() == 1) { t_on_failure("NEXT"); t_relay(); }
                }

                """, modulePath: productsDirectory)
        core.receive(Self.invite(), from: Self.caller)
        var sent = core.takeSent()
        #expect(lines(sent).dropFirst() == ["INVITE sip:b@127.0.0.3:5080 SIP/2.0 -> 127.0.0.3:5080"])
        core.receive(Self.reply(to: sent[1], 486, "Busy Here"), from: "127.0.0.3:5080")
        sent = core.takeSent().filter { $0.firstLine.hasPrefix("INVITE") }
        // The q=0.5 class in parallel, the one appended last first (as Kamailio orders them).
        #expect(
            lines(sent) == [
                "INVITE sip:d@127.0.0.5:5080 SIP/2.0 -> 127.0.0.5:5080",
                "INVITE sip:c@127.0.0.4:5080 SIP/2.0 -> 127.0.0.4:5080",
            ])
        core.receive(Self.reply(to: sent[0], 480, "Temporarily Unavailable"), from: "127.0.0.5:5080")
        core.receive(Self.reply(to: sent[1], 480, "Temporarily Unavailable"), from: "127.0.0.4:5080")
        sent = core.takeSent().filter { $0.firstLine.hasPrefix("INVITE") }
        // Then the Request-URI (no q: the lowest).
        #expect(lines(sent) == ["INVITE sip:bob@127.0.0.2:5080 SIP/2.0 -> 127.0.0.2:5080"])
        core.receive(Self.reply(to: sent[0], 404, "Not Found"), from: Self.callee)
        // Nothing left: the best reply of the last leg goes upstream.
        #expect(lines(core.takeSent()).last == "SIP/2.0 404 Not Found -> 127.0.0.1:5070")
    }

    /// async_route: the request waits in its transaction (retransmissions answered) and goes
    /// on in the named route after the delay, on the virtual clock.
    @Test func asyncRouteContinuesTheRequestLater() throws {
        let core = try EmbeddedCore(
            config: """
                log_stderror=yes
                debug=-1
                listen=udp:127.0.0.1:5060
                loadmodule "tm.so"
                loadmodule "async.so"
                loadmodule "sl.so"
                loadmodule "textops.so"
                request_route {
                    if (t_check_trans()) { exit; }
                    $avp(started) = "yes";
                    async_ms_route("RESUME", 2000);
                    sl_send_reply("500", "not reached");
                }
                route[RESUME] {
                    append_hf("X-Resumed: $avp(started)\\r\\n");
                    $du = "sip:127.0.0.2:5080";
                    t_relay();
                }

                """, modulePath: productsDirectory)
        let trying = "SIP/2.0 100 trying -- your call is important to us -> 127.0.0.1:5070"
        core.receive(Self.invite(), from: Self.caller)
        #expect(lines(core.takeSent()) == [trying])  // as Kamailio's t_suspend
        core.receive(Self.invite(), from: Self.caller)  // a retransmission while suspended
        #expect(lines(core.takeSent()) == [trying])
        core.advance(milliseconds: 1_999)
        #expect(core.takeSent().isEmpty)
        core.advance(milliseconds: 1)
        let sent = core.takeSent()
        #expect(lines(sent) == ["INVITE sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080"])
        #expect(sent.first?.text.contains("X-Resumed: yes\r\n") == true)
    }

    @Test func relayToTcpAndUdpForceTheProtocol() throws {
        let core = try EmbeddedCore(
            config: """
                log_stderror=yes
                debug=-1
                listen=udp:127.0.0.1:5060
                listen=tcp:127.0.0.1:5060
                loadmodule "tm.so"
                loadmodule "sl.so"
                request_route {
                    if ($rU == "tcp") { $du = "sip:127.0.0.2:5080"; t_relay_to_tcp(); exit; }
                    t_relay_to_udp("127.0.0.3", "5090");
                }

                """, modulePath: productsDirectory)
        core.receive(Self.invite("tcp"), from: Self.caller)
        #expect(
            core.takeSent().last.map { "\($0.destination) from \($0.socket)" }
                == "tcp:127.0.0.2:5080 from tcp:127.0.0.1:5060")
        core.receive(Self.invite("udp", callID: "tm-udp", branch: "z9hG4bK-u1"), from: Self.caller)
        #expect(
            core.takeSent().last.map { "\($0.destination) from \($0.socket)" }
                == "udp:127.0.0.3:5090 from udp:127.0.0.1:5060")
    }
}
