import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// `$avp`/`$xavp` live in the transaction (Kamailio's `t->uri_avps_*`, `t->xavps_list`): what
/// tm's onreply, branch-failure and failure routes set is there in the routes that run later
/// for the same transaction, on the embedded core (virtual clock).
@Suite struct TMTransactionAVPTests {
    typealias T = TMModuleTests

    func lines(_ sent: [MemoryTransport.Sent]) -> [String] {
        sent.map { "\($0.firstLine) -> \($0.destination.address)" }
    }

    @Test func avpsSetInReplyAndFailureRoutesReachTheLaterRoutes() throws {
        let core = try EmbeddedCore(
            config: """
                log_stderror=yes
                debug=-1
                listen=udp:127.0.0.1:5060
                loadmodule "tm.so"
                loadmodule "sl.so"
                loadmodule "pv.so"
                loadmodule "textops.so"
                loadmodule "tmx.so"
                request_route {
                    if (is_method("ACK")) { t_check_trans(); exit; }
                    $avp(a) = "req";
                    $du = "sip:127.0.0.2:5080";
                    t_on_reply("R");
                    t_on_branch_failure("BF");
                    t_on_failure("F");
                    t_relay();
                }
                onreply_route[R] { $xavp(rpl=>code) = $rs; $avp(r) = "onreply-" + $rs; }
                event_route[tm:branch-failure:BF] { $avp(bf) = "bf-" + $T_reply_code; }
                failure_route[F] {
                    if (t_check_status("486")) {
                        $avp(leg) = "second";
                        $du = "sip:127.0.0.3:5080";
                        t_on_failure("F");
                        t_relay();
                        exit;
                    }
                    t_reply("599", "$avp(a) $avp(r) $avp(bf) $xavp(rpl=>code) $xavp(rpl[1]=>code) $xavp(rpl[2]=>code) $avp(leg)");
                }

                """, modulePath: productsDirectory)
        core.receive(T.invite(), from: T.caller)
        let first = core.takeSent()[1]
        core.receive(T.reply(to: first, 180, "Ringing"), from: T.callee)
        _ = core.takeSent()
        core.receive(T.reply(to: first, 486, "Busy Here"), from: T.callee)
        let second = try #require(core.takeSent().last)
        #expect(second.firstLine == "INVITE sip:bob@127.0.0.1 SIP/2.0")
        #expect(second.destination.address.description == "127.0.0.3:5080")
        core.receive(T.reply(to: second, 480, "Temporarily Unavailable", toTag: "c1"), from: "127.0.0.3:5080")
        // The onreply route's AVP and XAVPs of both legs, the branch-failure route's AVP (the
        // first leg's: the new branch is not armed) and the failure route's own.
        #expect(
            lines(core.takeSent()).last
                == "SIP/2.0 599 req onreply-480 bf-486 480 486 180 second -> 127.0.0.1:5070")
    }
}
