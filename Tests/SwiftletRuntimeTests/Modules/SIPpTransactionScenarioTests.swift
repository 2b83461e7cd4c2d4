import Foundation
import Testing

/// tm and rr through the running binary, with SIPp callers and callees on loopback and the
/// scenarios of `Tests/Scenarios/transactions`: cancelled calls, no answer (408), serial
/// forking after a 503 and after a timeout, parallel forking, an absorbed INVITE
/// retransmission, UDP to TCP with a double Record-Route, and loops (the runs of many calls
/// are in SIPpLoadScenarioTests). Each SIPp exits 0 only when its scenario completed with
/// its checks (`<ereg check_it>`, `<strcmp check_it>`); the tests also read the message
/// traces of both sides. The outcomes are those of Kamailio 5.6.3 with the same
/// configuration, except for the loop (482 at once; Kamailio loops until Max-Forwards runs
/// out and answers 483).
@Suite(.serialized, .enabled(if: sippPath != nil, "sipp is not installed (apt-get install sip-tester)"))
struct SIPpTransactionScenarioTests {
    static let scenarios = scenariosDirectory + "/transactions/"

    /// A tm + rr proxy with Kamailio's stock request handling in short (maxfwd,
    /// in-dialog requests by `loose_route()`, CANCEL and retransmissions by `t_check_trans()`,
    /// `record_route()` for INVITEs); `target` chooses the next hop(s) of a new request.
    static func config(target: String, failureRoute: String = "", modparams: String = "") -> String {
        """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=2
        tcp_children=2
        listen=udp:127.0.0.1:PORT
        listen=tcp:127.0.0.1:PORT
        loadmodule "tm.so"
        loadmodule "tmx.so"
        loadmodule "sl.so"
        loadmodule "rr.so"
        loadmodule "maxfwd.so"
        loadmodule "textops.so"
        loadmodule "siputils.so"
        loadmodule "corex.so"
        loadmodule "pv.so"
        loadmodule "xlog.so"
        \(modparams)
        request_route {
            if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
            if (has_totag()) {
                if (loose_route()) {
                    xlog("L_INFO", "in-dialog $rm via loose_route\\n");
                    route(RELAY);
                }
                if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
                sl_send_reply("404", "Not here");
                exit;
            }
            if (is_method("CANCEL")) { if (t_check_trans()) { route(RELAY); } exit; }
            if (!is_method("ACK")) { t_check_trans(); }
            remove_hf("Route");
            if (is_method("INVITE")) { record_route(); }
            route(TARGET);
            route(RELAY);
        }
        route[RELAY] {
            if (!t_relay()) { sl_reply_error(); }
            exit;
        }
        route[TARGET] {
            \(target)
        }
        \(failureRoute)
        """
    }

    /// A UAS on a free port running `scenario` once.
    static func uas(_ scenario: String, port: Int, tcp: Bool = false) -> [String] {
        ["-sf", scenarios + scenario, "-i", "127.0.0.1", "-p", String(port), "-m", "1"] + (tcp ? ["-t", "t1"] : [])
    }

    /// The UAC running `scenario` once against the server.
    static func uac(_ scenario: String, _ server: TestServer, _ extra: [String] = []) -> [String] {
        ["-sf", scenarios + scenario, "-i", "127.0.0.1", "-p", String(freeUDPPort()), "-m", "1"] + extra
            + ["127.0.0.1:\(server.port)"]
    }

    /// The received messages that are replies to the INVITE with `code`.
    static func inviteReplies(_ run: SIPpParties.Run, _ code: Int) -> Int {
        run.receivedMessages(startingWith: "SIP/2.0 \(code) ").filter { $0.contains("CSeq: 1 INVITE") }.count
    }

    /// The first `name:` header line of a message from a trace.
    static func header(_ name: String, in message: String?) -> String? {
        message?.components(separatedBy: "\n").first { $0.hasPrefix(name + ": ") }
    }

    /// The caller cancels a ringing call: the proxy answers the CANCEL 200 and the caller
    /// gets the callee's 487; the callee gets the CANCEL on the INVITE's branch, answers 487
    /// and gets the proxy's hop-by-hop ACK (the scenarios compare the branches).
    @Test func cancelOfARingingCall() throws {
        let uasPort = freeUDPPort()
        let server = try TestServer(config: Self.config(target: #"$du = "sip:127.0.0.1:\#(uasPort)";"#))
        let (caller, callees) = try SIPpParties.run(
            uases: [Self.uas("uas-ring-cancelled.xml", port: uasPort)], uac: Self.uac("uac-cancel.xml", server))
        let callee = callees[0]
        #expect(caller.status == 0, "UAC: \(caller.summary)\nserver: \(server.log.suffix(1500))")
        #expect(callee.status == 0, "UAS: \(callee.summary)")
        #expect(caller.received.contains { $0.hasPrefix("SIP/2.0 200 canceling") }, "\(caller.received)")
        #expect(Self.inviteReplies(caller, 487) >= 1)
        #expect(callee.received.filter { $0.hasPrefix("CANCEL ") }.count == 1, "\(callee.received)")
        #expect(callee.received.filter { $0.hasPrefix("ACK ") }.count == 1, "\(callee.received)")
        // The proxy's CANCEL and ACK have the Max-Forwards of its INVITE (as Kamailio's).
        let mf = Self.header("Max-Forwards", in: callee.receivedMessages(startingWith: "INVITE ").first)
        #expect(mf == "Max-Forwards: 69")
        #expect(Self.header("Max-Forwards", in: callee.receivedMessages(startingWith: "CANCEL ").first) == mf)
        #expect(Self.header("Max-Forwards", in: callee.receivedMessages(startingWith: "ACK ").first) == mf)
        #expect(server.stop() == 0)
    }

    /// The caller cancels before the callee rings: the proxy has no branch to cancel yet;
    /// the callee's late 180 brings the CANCEL and is not relayed (Kamailio's neither), the
    /// callee's 487 reaches the caller.
    @Test func cancelBeforeTheCalleeRings() throws {
        let uasPort = freeUDPPort()
        let server = try TestServer(config: Self.config(target: #"$du = "sip:127.0.0.1:\#(uasPort)";"#))
        let (caller, callees) = try SIPpParties.run(
            uases: [Self.uas("uas-ring-late-cancelled.xml", port: uasPort)],
            uac: Self.uac("uac-cancel-early.xml", server))
        let callee = callees[0]
        #expect(caller.status == 0, "UAC: \(caller.summary)\nserver: \(server.log.suffix(1500))")
        #expect(callee.status == 0, "UAS: \(callee.summary)")
        #expect(Self.inviteReplies(caller, 180) == 0, "\(caller.received)")
        #expect(Self.inviteReplies(caller, 487) >= 1, "\(caller.received)")
        #expect(callee.received.filter { $0.hasPrefix("CANCEL ") }.count == 1, "\(callee.received)")
        #expect(server.stop() == 0)
    }

    /// The callee answers the CANCEL only after 1.3 s: the proxy retransmits its CANCEL over
    /// UDP meanwhile (T1), as Kamailio's does, and the call ends as before.
    @Test func theCancelIsRetransmittedUntilAnswered() throws {
        let uasPort = freeUDPPort()
        let server = try TestServer(config: Self.config(target: #"$du = "sip:127.0.0.1:\#(uasPort)";"#))
        let (caller, callees) = try SIPpParties.run(
            uases: [Self.uas("uas-ring-cancelled-slowly.xml", port: uasPort)], uac: Self.uac("uac-cancel.xml", server))
        let callee = callees[0]
        #expect(caller.status == 0, "UAC: \(caller.summary)\nserver: \(server.log.suffix(1500))")
        #expect(callee.status == 0, "UAS: \(callee.summary)")
        let cancels = callee.timedReceived.filter { $0.text.hasPrefix("CANCEL ") }
        #expect(cancels.count >= 2, "\(callee.received)")
        // At T1 (500 ms; the clocks of the timers and of SIPp give some slack), not at once.
        if cancels.count >= 2 { #expect(cancels[1].time - cancels[0].time >= 0.3) }
        #expect(Set(cancels.map(\.text)).count == 1)  // the same CANCEL again
        #expect(server.stop() == 0)
    }

    /// Nobody answers: the caller gets 408 when the proxy's timer runs out. A callee that
    /// rang (fr_inv_timer set with `t_set_fr`) is cancelled; one that never answered
    /// (fr_timer as a modparam) is just given up.
    @Test(arguments: ["ringing", "silent"]) func noAnswerGives408(_ callee: String) throws {
        let uasPort = freeUDPPort()
        let ringing = callee == "ringing"
        let server = try TestServer(
            config: Self.config(
                target: #"$du = "sip:127.0.0.1:\#(uasPort)";"# + (ringing ? " t_set_fr(1000, 500);" : ""),
                modparams: ringing ? "" : #"modparam("tm", "fr_timer", 1000)"#))
        let started = Date()
        let (caller, callees) = try SIPpParties.run(
            uases: [Self.uas(ringing ? "uas-ring-cancelled.xml" : "uas-silent.xml", port: uasPort)],
            uac: Self.uac("uac-408.xml", server))
        #expect(caller.status == 0, "UAC: \(caller.summary)\nserver: \(server.log.suffix(1500))")
        #expect(callees[0].status == 0, "UAS: \(callees[0].summary)")
        #expect(Self.inviteReplies(caller, 408) >= 1)
        #expect(Date().timeIntervalSince(started) > 1.0, "the 408 came before the timer ran out")
        let cancels = callees[0].received.filter { $0.hasPrefix("CANCEL ") }.count
        #expect(cancels == (ringing ? 1 : 0), "\(callees[0].received)")
        // A CANCEL for a timeout says no Reason (Kamailio's neither).
        #expect(Self.header("Reason", in: callees[0].receivedMessages(startingWith: "CANCEL ").first) == nil)
        #expect(server.stop() == 0)
    }

    /// Serial forking: the first callee answers 503 (or nothing until fr_timer), the
    /// failure route sends the INVITE to the second, which takes the call; the caller sees
    /// neither the 503 nor a 408, and its ACK and BYE reach the second callee.
    @Test(arguments: ["503", "timeout"]) func serialForkingInFailureRoute(_ firstFails: String) throws {
        let (first, second) = (freeUDPPort(), freeUDPPort())
        let server = try TestServer(
            config: Self.config(
                target: #"$du = "sip:127.0.0.1:\#(first)"; t_on_failure("NEXT");"#,
                failureRoute: #"""
                    failure_route[NEXT] {
                        if (t_is_canceled()) { exit; }
                        if (t_check_status("503") || t_branch_timeout()) {
                            xlog("L_INFO", "serial fork after $T_reply_code\n");
                            $du = "sip:127.0.0.1:\#(second)";
                            t_relay();
                        }
                    }
                    """#,
                modparams: #"modparam("tm", "fr_timer", 1000)"#))
        let (caller, callees) = try SIPpParties.run(
            uases: [
                Self.uas(firstFails == "503" ? "uas-reject-503.xml" : "uas-silent.xml", port: first),
                Self.uas("uas-answer.xml", port: second),
            ],
            uac: Self.uac("uac-call.xml", server))
        #expect(caller.status == 0, "UAC: \(caller.summary)\nserver: \(server.log.suffix(1500))")
        #expect(callees[0].status == 0, "first UAS: \(callees[0].summary)")
        #expect(callees[1].status == 0, "second UAS: \(callees[1].summary)")
        #expect(server.log.contains("serial fork after \(firstFails == "503" ? 503 : 408)"))
        #expect(Self.inviteReplies(caller, 200) == 1)
        #expect(!caller.received.contains { $0.hasPrefix("SIP/2.0 5") || $0.hasPrefix("SIP/2.0 408") })
        #expect(callees[1].received.filter { $0.hasPrefix("INVITE ") }.count == 1)
        #expect(server.stop() == 0)
    }

    /// Parallel forking: the INVITE goes to two callees (`append_branch`); the first answers
    /// at once, the other rings and gets a CANCEL (answered 487, ACKed by the proxy); the
    /// caller sees one 200 and no 487.
    @Test func parallelForkingFirst200Wins() throws {
        let (a, b) = (freeUDPPort(), freeUDPPort())
        let server = try TestServer(
            config: Self.config(target: #"$ru = "sip:a@127.0.0.1:\#(a)"; append_branch("sip:b@127.0.0.1:\#(b)");"#))
        let (caller, callees) = try SIPpParties.run(
            uases: [Self.uas("uas-answer.xml", port: a), Self.uas("uas-ring-cancelled.xml", port: b)],
            uac: Self.uac("uac-call.xml", server))
        #expect(caller.status == 0, "UAC: \(caller.summary)\nserver: \(server.log.suffix(1500))")
        #expect(callees[0].status == 0, "answering UAS: \(callees[0].summary)")
        #expect(callees[1].status == 0, "cancelled UAS: \(callees[1].summary)")
        #expect(Self.inviteReplies(caller, 200) == 1, "\(caller.received)")
        #expect(Self.inviteReplies(caller, 487) == 0, "\(caller.received)")
        #expect(callees[0].received.first?.hasPrefix("INVITE sip:a@") == true)
        #expect(callees[1].received.first?.hasPrefix("INVITE sip:b@") == true)
        let cancel = callees[1].receivedMessages(startingWith: "CANCEL ").first
        #expect(Self.header("Reason", in: cancel) == #"Reason: SIP;cause=200;text="Call completed elsewhere""#)
        #expect(server.stop() == 0)
    }

    /// The caller sends its INVITE again 50 ms after the proxy's 100: the proxy answers the
    /// copy with its last reply (the 100) and the callee, which answers 100 at once and 180
    /// after 300 ms, sees one INVITE.
    @Test func inviteRetransmissionIsAbsorbed() throws {
        let uasPort = freeUDPPort()
        let server = try TestServer(config: Self.config(target: #"$du = "sip:127.0.0.1:\#(uasPort)";"#))
        let (caller, callees) = try SIPpParties.run(
            uases: [Self.uas("uas-slow-answer.xml", port: uasPort)],
            uac: Self.uac("uac-invite-twice.xml", server, ["-nr"]))
        #expect(caller.status == 0, "UAC: \(caller.summary)\nserver: \(server.log.suffix(1500))")
        #expect(callees[0].status == 0, "UAS: \(callees[0].summary)")
        #expect(caller.sent.filter { $0.hasPrefix("INVITE ") }.count == 2)
        #expect(Self.inviteReplies(caller, 100) == 2, "\(caller.received)")
        // The caller's copy came 50 ms after the first; a copy the proxy itself retransmits
        // (T1, 500 ms, only if the callee's 100 came late on a loaded machine) is no fault.
        let invites = callees[0].timedReceived.filter { $0.text.hasPrefix("INVITE ") }
        let early = invites.filter { $0.time - (invites.first?.time ?? 0) < 0.4 }
        #expect(early.count == 1, "\(callees[0].received)")
        #expect(server.stop() == 0)
    }

    /// A UDP caller and a TCP callee: the callee's INVITE has two Record-Route headers
    /// (transport=tcp on top, both r2=on, checked by uas-rr2.xml) and the ACK and BYE pass
    /// the proxy (loose_route) over TCP with no Route left.
    @Test func udpToTCPWithDoubleRecordRoute() throws {
        let uasPort = freeUDPPort()
        let server = try TestServer(
            config: Self.config(target: #"$du = "sip:127.0.0.1:\#(uasPort);transport=tcp";"#))
        let (caller, callees) = try SIPpParties.run(
            uases: [Self.uas("uas-rr2.xml", port: uasPort, tcp: true)], uac: Self.uac("uac-call.xml", server))
        #expect(caller.status == 0, "UAC: \(caller.summary)\nserver: \(server.log.suffix(1500))")
        #expect(callees[0].status == 0, "UAS: \(callees[0].summary)")
        // The callee copied both entries into its 200 (SIPp joins them in one header).
        let ok = caller.receivedMessages(startingWith: "SIP/2.0 200 ").first { $0.contains("CSeq: 1 INVITE") } ?? ""
        let rr = ok.components(separatedBy: "\n").filter { $0.hasPrefix("Record-Route:") }.joined()
        #expect(rr.components(separatedBy: ";r2=on").count - 1 == 2, "\(ok)")
        #expect(callees[0].messages.contains("TCP message received"))
        #expect(server.log.contains("in-dialog ACK via loose_route"))
        #expect(server.log.contains("in-dialog BYE via loose_route"))
        #expect(server.stop() == 0)
    }

    /// The same call ended by the TCP callee: its BYE goes through its route set (the two
    /// Record-Route entries) to the proxy, which takes both off and sends it to the caller
    /// over UDP (as Kamailio does, byte for byte but for tags and branches).
    @Test func udpToTCPCalleeHangsUp() throws {
        let uasPort = freeUDPPort()
        let server = try TestServer(
            config: Self.config(target: #"$du = "sip:127.0.0.1:\#(uasPort);transport=tcp";"#))
        let (caller, callees) = try SIPpParties.run(
            uases: [Self.uas("uas-rr2-hangs-up.xml", port: uasPort, tcp: true)],
            uac: Self.uac("uac-call-callee-hangs-up.xml", server))
        #expect(caller.status == 0, "UAC: \(caller.summary)\nserver: \(server.log.suffix(1500))")
        #expect(callees[0].status == 0, "UAS: \(callees[0].summary)")
        let bye = caller.receivedMessages(startingWith: "BYE ").first
        #expect(Self.header("Via", in: bye)?.hasPrefix("Via: SIP/2.0/UDP 127.0.0.1:\(server.port);") == true)
        #expect(server.log.contains("in-dialog BYE via loose_route"))
        #expect(server.stop() == 0)
    }

    /// A request routed back to the proxy itself, statelessly (`forward()`) and statefully
    /// (`t_relay()`): the caller gets 482 Loop Detected at once (Kamailio sends it to itself
    /// until Max-Forwards runs out and answers 483; README, "Differences").
    @Test(arguments: ["forward", "t_relay"]) func loopGives482(_ function: String) throws {
        let server = try TestServer(
            config: function == "forward"
                ? """
                #!KAMAILIO
                debug=2
                log_stderror=yes
                children=2
                listen=udp:127.0.0.1:PORT
                loadmodule "pv.so"
                loadmodule "maxfwd.so"
                loadmodule "sl.so"
                request_route {
                    if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
                    $du = "sip:127.0.0.1:PORT";
                    forward();
                    exit;
                }
                """ : Self.config(target: #"$du = "sip:127.0.0.1:PORT";"#))
        let (caller, _) = try SIPpParties.run(uases: [], uac: Self.uac("uac-482.xml", server))
        #expect(caller.status == 0, "UAC: \(caller.summary)\nserver: \(server.log.suffix(1500))")
        #expect(Self.inviteReplies(caller, 482) == 1, "\(caller.received)")
        #expect(caller.received.allSatisfy { $0.hasPrefix("SIP/2.0 482 ") || $0.hasPrefix("SIP/2.0 100 ") })
        #expect(server.log.contains("(a loop)"), "\(server.log.suffix(1500))")
        #expect(server.stop() == 0)
    }
}
