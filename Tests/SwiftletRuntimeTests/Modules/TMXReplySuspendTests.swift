import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// tmx's `t_suspend()` in tm's onreply route and `t_continue()` of the reply on the embedded
/// core (virtual clock): the reply waits, then runs the continue route as an onreply route
/// and is relayed as if it had just arrived.
@Suite struct TMXReplySuspendTests {
    typealias T = TMModuleTests

    static let config = """
        log_stderror=yes
        debug=-1
        listen=udp:127.0.0.1:5060
        loadmodule "tm.so"
        loadmodule "tmx.so"
        loadmodule "sl.so"
        loadmodule "textops.so"
        loadmodule "pv.so"
        request_route {
            if (is_method("ACK")) { t_check_trans(); exit; }
            if ($rU == "go") {
                if (t_continue("$shv(idx)", "$shv(lbl)", "RESUME")) { sl_send_reply("200", "continued"); }
                else { sl_send_reply("404", "not suspended"); }
                exit;
            }
            $du = "sip:127.0.0.2:5080";
            t_on_reply("R");
            t_on_failure("F");
            t_relay();
        }
        onreply_route[R] {
            if (t_check_status("183")) {
                if (!t_suspend()) { exit; }
                $shv(idx) = $T(id_index);
                $shv(lbl) = $T(id_label);
                $avp(state) = "suspended";
            }
        }
        route[RESUME] {
            if (t_is_reply_route()) { $avp(state) = $avp(state) + " continued " + $rs; }
        }
        failure_route[F] { t_reply("599", "$avp(state)"); }

        """

    func lines(_ sent: [MemoryTransport.Sent]) -> [String] {
        sent.map { "\($0.firstLine) -> \($0.destination.address)" }
    }

    static func go(_ callID: String) -> String {
        T.invite("go", callID: callID, branch: "z9hG4bK-\(callID)").replacingOccurrences(
            of: "INVITE sip:", with: "MESSAGE sip:"
        ).replacingOccurrences(of: "CSeq: 1 INVITE", with: "CSeq: 1 MESSAGE")
    }

    @Test func aSuspendedReplyIsRelayedWhenContinued() throws {
        let core = try EmbeddedCore(config: Self.config, modulePath: productsDirectory)
        core.receive(T.invite(), from: T.caller)
        let invite = core.takeSent()[1]
        core.receive(T.reply(to: invite, 183, "Session Progress"), from: T.callee)
        // Suspended: not relayed, and the INVITE is not retransmitted meanwhile.
        #expect(core.takeSent().isEmpty)
        core.advance(milliseconds: 2_000)
        #expect(core.takeSent().isEmpty)
        core.receive(Self.go("go-1"), from: T.caller)
        #expect(
            lines(core.takeSent()) == [
                "SIP/2.0 183 Session Progress -> 127.0.0.1:5070",
                "SIP/2.0 200 continued -> 127.0.0.1:5070",
            ])
        // Continued once: a second t_continue() finds nothing suspended.
        core.receive(Self.go("go-2"), from: T.caller)
        #expect(lines(core.takeSent()) == ["SIP/2.0 404 not suspended -> 127.0.0.1:5070"])
        core.receive(T.reply(to: invite, 486, "Busy Here"), from: T.callee)
        #expect(
            lines(core.takeSent()) == [
                "ACK sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080",
                "SIP/2.0 599 suspended continued 183 -> 127.0.0.1:5070",
            ])
    }

    @Test func aSuspendedFinalReplyCompletesTheTransactionWhenContinued() throws {
        let core = try EmbeddedCore(
            config: Self.config.replacingOccurrences(of: "t_check_status(\"183\")", with: "t_check_status(\"486\")"),
            modulePath: productsDirectory)
        core.receive(T.invite(), from: T.caller)
        let invite = core.takeSent()[1]
        core.receive(T.reply(to: invite, 486, "Busy Here"), from: T.callee)
        // The negative reply is ACKed on receipt (as Kamailio) and waits: no failure route yet.
        #expect(lines(core.takeSent()) == ["ACK sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080"])
        core.receive(Self.go("go-3"), from: T.caller)
        #expect(
            lines(core.takeSent()) == [
                "SIP/2.0 599 suspended continued 486 -> 127.0.0.1:5070",
                "SIP/2.0 200 continued -> 127.0.0.1:5070",
            ])
    }
}
