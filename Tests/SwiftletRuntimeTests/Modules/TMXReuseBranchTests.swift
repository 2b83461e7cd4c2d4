import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// tmx's `t_reuse_branch()` in `event_route[tm:branch-failure:NAME]` on the embedded core
/// (virtual clock): the failed branch's Request-URI and branch flags become the request's
/// again, so that `t_relay()` retries the same contact.
@Suite struct TMXReuseBranchTests {
    typealias T = TMModuleTests

    func core(_ routes: String) throws -> EmbeddedCore {
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
                \(routes)

                """, modulePath: productsDirectory)
    }

    func lines(_ sent: [MemoryTransport.Sent]) -> [String] {
        sent.map { "\($0.firstLine) -> \($0.destination.address)" }
    }

    static let routes = """
        request_route {
            if (is_method("ACK")) { t_check_trans(); exit; }
            if (!t_reuse_branch()) { append_hf("X-Reuse: refused\\r\\n"); }
            $ru = "sip:bob@127.0.0.2:5080";
            setbflag(4);
            append_branch("sip:carol@127.0.0.3:5080");
            resetbflag(4);
            t_on_branch("B");
            t_on_branch_failure("retry");
            t_on_failure("F");
            t_relay();
        }
        branch_route[B] { if (isbflagset(4)) { append_hf("X-BFlag: 4\\r\\n"); } }
        event_route[tm:branch-failure:retry] {
            $avp(seen) = $ru + " " + $T_branch_idx;
            if (t_check_status("486")) {
                # Without t_reuse_branch() the Request-URI is consumed here: $du makes it new.
                if ($ci == "reuse") { t_reuse_branch(); } else { $du = "sip:127.0.0.2:5080"; }
                t_on_branch_failure("retry");
                t_relay();
            }
        }
        failure_route[F] { t_reply("599", "$avp(seen)"); }
        """

    @Test func reusedBranchGoesToTheFailedContactWithItsFlags() throws {
        let core = try core(Self.routes)
        core.receive(T.invite(callID: "reuse"), from: T.caller)
        let sent = core.takeSent()
        #expect(
            lines(sent) == [
                "SIP/2.0 100 trying -- your call is important to us -> 127.0.0.1:5070",
                "INVITE sip:bob@127.0.0.2:5080 SIP/2.0 -> 127.0.0.2:5080",
                "INVITE sip:carol@127.0.0.3:5080 SIP/2.0 -> 127.0.0.3:5080",
            ])
        // Outside a branch-failure route t_reuse_branch() is refused (-1).
        #expect(sent[1].text.contains("X-Reuse: refused\r\n"))
        #expect(!sent[1].text.contains("X-BFlag"))
        #expect(sent[2].text.contains("X-BFlag: 4\r\n"))
        // Carol is busy: the branch-failure route reuses her branch, with its flag.
        core.receive(T.reply(to: sent[2], 486, "Busy Here", toTag: "c1"), from: "127.0.0.3:5080")
        let retry = core.takeSent()
        #expect(
            lines(retry) == [
                "ACK sip:carol@127.0.0.3:5080 SIP/2.0 -> 127.0.0.3:5080",
                "INVITE sip:carol@127.0.0.3:5080 SIP/2.0 -> 127.0.0.3:5080",
            ])
        #expect(retry[1].text.contains("X-BFlag: 4\r\n"))
        #expect(retry[1].text.contains(".2\r\n"))  // the third branch of the transaction
    }

    @Test func withoutReuseTheRouteRunsOnTheRequestsURI() throws {
        let core = try core(Self.routes)
        core.receive(T.invite(callID: "plain"), from: T.caller)
        let sent = core.takeSent()
        #expect(sent.count == 3)
        // The route sees the transaction's Request-URI (bob), not the failed branch's (carol),
        // as Kamailio's faked request: t_relay() there (after `$du` is set) goes to bob again.
        core.receive(T.reply(to: sent[2], 486, "Busy Here", toTag: "c1"), from: "127.0.0.3:5080")
        let retry = core.takeSent()
        #expect(lines(retry).last == "INVITE sip:bob@127.0.0.2:5080 SIP/2.0 -> 127.0.0.2:5080")
        // The failed branch's flags are the route's branch flags (Kamailio's fake_req), so
        // the new branch has them.
        #expect(retry[1].text.contains("X-BFlag: 4\r\n"))
        core.receive(T.reply(to: sent[1], 480, "Temporarily Unavailable", toTag: "b1"), from: T.callee)
        core.receive(T.reply(to: retry[1], 480, "Temporarily Unavailable", toTag: "b2"), from: T.callee)
        #expect(lines(core.takeSent()).last == "SIP/2.0 599 sip:bob@127.0.0.2:5080 2 -> 127.0.0.1:5070")
    }
}
