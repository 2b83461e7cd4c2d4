import Foundation
import Testing

/// Full calls (INVITE/100/180/200/ACK/BYE/200) from a SIPp UAC through the running server
/// with tm, rr and topos to a SIPp UAS. The scenarios (Tests/Scenarios/topos) fail a call
/// when the callee sees more than one Via, a Record-Route, a Route or the caller's Contact,
/// or the caller sees the callee's Contact or a Record-Route: without topos the same calls
/// fail.
@Suite(.serialized) struct SIPpToposCallTests {
    static func config(uasPort: Int, topos: Bool) -> String {
        """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=2
        listen=udp:127.0.0.1:PORT
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "rr.so"
        loadmodule "textops.so"
        loadmodule "siputils.so"
        \(topos ? "loadmodule \"topos.so\"\nmodparam(\"topos\", \"storage\", \"memory\")" : "")
        request_route {
            if (has_totag()) {
                if (loose_route()) { t_relay(); exit; }
                if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
                sl_send_reply("404", "Not here");
                exit;
            }
            if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
            t_check_trans();
            record_route();
            $du = "sip:127.0.0.1:\(uasPort)";
            t_relay();
        }
        """
    }

    func run(topos: Bool, calls: Int) throws -> (uac: SIPpStatelessCallTests.Run, uas: SIPpStatelessCallTests.Run) {
        let uasPort = freeUDPPort()
        let server = try TestServer(config: Self.config(uasPort: uasPort, topos: topos))
        defer { _ = server.stop() }
        return try SIPpStatelessCallTests.call(
            uas: [
                "-sf", scenariosDirectory + "/topos/uas.xml", "-i", "127.0.0.1", "-p", String(uasPort), "-m",
                String(calls),
            ],
            uac: [
                "-sf", scenariosDirectory + "/topos/uac.xml", "-i", "127.0.0.1", "-p", String(freeUDPPort()),
                "-m", String(calls), "-r", "50", "127.0.0.1:\(server.port)",
            ])
    }

    @Test(.enabled(if: sippPath != nil, "sipp is not installed (apt-get install sip-tester)"))
    func callsThroughToposShowEachSideOnlyTheProxy() throws {
        let calls = 100
        let (uac, uas) = try run(topos: true, calls: calls)
        #expect(uac.status == 0, "UAC: \(uac.text.suffix(1500))")
        #expect(
            uac.text.range(of: #"Successful call\s+\|\s+\d+\s+\|\s+\#(calls)"#, options: .regularExpression) != nil)
        #expect(uas.status == 0, "UAS: \(uas.text.suffix(1500))")
    }

    @Test(.enabled(if: sippPath != nil, "sipp is not installed (apt-get install sip-tester)"))
    func withoutToposTheScenariosFailTheirChecks() throws {
        let (uac, uas) = try run(topos: false, calls: 3)
        // Every message went through (the BYE got its 200), but the checks failed the calls.
        #expect(uac.status != 0)
        #expect(uas.status != 0)
        #expect(uac.text.range(of: #"Failed call\s+\|\s+\d+\s+\|\s+3"#, options: .regularExpression) != nil)
        #expect(uac.text.range(of: #"BYE ---------->\s+3"#, options: .regularExpression) != nil)
        #expect(uas.text.range(of: #"Failed call\s+\|\s+\d+\s+\|\s+3"#, options: .regularExpression) != nil)
    }
}
