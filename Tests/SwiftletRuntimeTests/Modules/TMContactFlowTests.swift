import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// tm's `+sip.instance` handling on the embedded core (virtual clock): `t_next_contacts()`
/// sends one branch per instance and keeps the other flows in `contact_flows_avp`, and
/// `t_next_contact_flow()` in `event_route[tm:branch-failure:NAME]` tries the next flow of
/// the failed branch's instance. The contacts come from the script's `contacts_avp` XAVP, as
/// Kamailio allows (the registrar's `lookup()` fills the same fields from usrloc).
@Suite struct TMContactFlowTests {
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
        modparam("tm", "contacts_avp", "tm_contacts")
        modparam("tm", "contact_flows_avp", "tm_flows")
        request_route {
            if (is_method("ACK")) { t_check_trans(); exit; }
            if (!t_next_contact_flow()) { append_hf("X-Flow-Here: no\\r\\n"); }
            # The XAVP lists the newest item first: the last contact of the class goes in first.
            $xavp(tm_contacts=>uri) = "sip:a2@127.0.0.4:5080";
            $xavp(tm_contacts[0]=>instance) = "<urn:uuid:A>";
            $xavp(tm_contacts[0]=>flags) = 0;
            $xavp(tm_contacts[0]=>q_flag) = 1;
            $xavp(tm_contacts=>uri) = "sip:b@127.0.0.3:5080";
            $xavp(tm_contacts[0]=>instance) = "<urn:uuid:B>";
            $xavp(tm_contacts[0]=>flags) = 0;
            $xavp(tm_contacts[0]=>q_flag) = 0;
            $xavp(tm_contacts=>uri) = "sip:a1@127.0.0.2:5080";
            $xavp(tm_contacts[0]=>instance) = "<urn:uuid:A>";
            $xavp(tm_contacts[0]=>ruid) = "ruid-a1";
            $xavp(tm_contacts[0]=>flags) = 0;
            $xavp(tm_contacts[0]=>q_flag) = 0;
            t_next_contacts();
            append_hf("X-Flow: $xavp(tm_flows=>uri) $xavp(tm_flows=>instance)\\r\\n");
            t_on_branch_failure("flow");
            t_on_failure("F");
            t_relay();
        }
        event_route[tm:branch-failure:flow] {
            if (t_check_status("430")) {
                if (t_next_contact_flow()) { t_relay(); } else { $avp(noflow) = "yes"; }
            }
        }
        failure_route[F] { t_reply("599", "$T_reply_code $T_reply_ruid noflow=$avp(noflow)"); }

        """

    func lines(_ sent: [MemoryTransport.Sent]) -> [String] {
        sent.map { "\($0.firstLine) -> \($0.destination.address)" }
    }

    @Test func aFailedFlowIsRetriedOnTheNextFlowOfItsInstance() throws {
        let core = try EmbeddedCore(config: Self.config, modulePath: productsDirectory)
        core.receive(T.invite(), from: T.caller)
        let sent = core.takeSent()
        // One branch per instance: a1 (A) and b (B); a2, A's other flow, waits.
        #expect(
            lines(sent) == [
                "SIP/2.0 100 trying -- your call is important to us -> 127.0.0.1:5070",
                "INVITE sip:a1@127.0.0.2:5080 SIP/2.0 -> 127.0.0.2:5080",
                "INVITE sip:b@127.0.0.3:5080 SIP/2.0 -> 127.0.0.3:5080",
            ])
        #expect(sent[1].text.contains("X-Flow: sip:a2@127.0.0.4:5080 <urn:uuid:A>\r\n"))
        // Outside the branch-failure route t_next_contact_flow() is refused.
        #expect(sent[1].text.contains("X-Flow-Here: no\r\n"))
        // a1's flow failed: only A's next flow goes (the Request-URI is not sent again).
        core.receive(T.reply(to: sent[1], 430, "Flow Failed", toTag: "a1"), from: "127.0.0.2:5080")
        let retry = core.takeSent()
        #expect(
            lines(retry) == [
                "ACK sip:a1@127.0.0.2:5080 SIP/2.0 -> 127.0.0.2:5080",
                "INVITE sip:a2@127.0.0.4:5080 SIP/2.0 -> 127.0.0.4:5080",
            ])
        // B has no other flow: t_next_contact_flow() fails there.
        core.receive(T.reply(to: sent[2], 430, "Flow Failed", toTag: "b"), from: "127.0.0.3:5080")
        _ = core.takeSent()
        core.receive(T.reply(to: retry[1], 486, "Busy Here", toTag: "a2"), from: "127.0.0.4:5080")
        // The picked branch (430 of a1) keeps the ruid of its contact.
        #expect(lines(core.takeSent()).last == "SIP/2.0 599 430 ruid-a1 noflow=yes -> 127.0.0.1:5070")
    }
}
