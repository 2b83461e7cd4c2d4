import Foundation
import Testing

/// Full calls (INVITE/100/180/200/ACK/BYE/200) from a SIPp UAC through tm + rr to a SIPp UAS,
/// with the configuration of the shared benchmark's `stateful` scenario (Kamailio's stock
/// routing in short): the proxy record-routes, the UAC keeps the route set and sends the ACK
/// and BYE to the callee's Contact through it, and the proxy's `loose_route()` takes them on.
/// UDP to UDP, and UDP to TCP with a double Record-Route. sipp exits 0 only when every call
/// succeeded.
@Suite(.serialized) struct SIPpStatefulCallTests {
    static func config(uasPort: Int, transport: String) -> String {
        """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=2
        tcp_children=2
        listen=udp:127.0.0.1:PORT
        listen=tcp:127.0.0.1:PORT
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "rr.so"
        loadmodule "maxfwd.so"
        loadmodule "textops.so"
        loadmodule "siputils.so"
        loadmodule "xlog.so"
        request_route {
            if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
            if (has_totag()) {
                if (loose_route()) {
                    xlog("L_INFO", "in-dialog $rm via loose_route to $du$ru\\n");
                    route(RELAY);
                }
                if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
                sl_send_reply("404", "Not here");
                exit;
            }
            if (is_method("CANCEL")) { if (t_check_trans()) { route(RELAY); } exit; }
            if (!is_method("ACK")) { t_check_trans(); }
            remove_hf("Route");
            if (is_method("INVITE|SUBSCRIBE")) { record_route(); }
            $du = "sip:127.0.0.1:\(uasPort);transport=\(transport)";
            route(RELAY);
        }
        route[RELAY] {
            if (!t_relay()) { sl_reply_error(); }
            exit;
        }
        """
    }

    @Test(
        .enabled(if: sippPath != nil, "sipp is not installed (apt-get install sip-tester)"),
        arguments: ["udp", "tcp"])
    func recordRoutedCallsGoThrough(_ calleeTransport: String) throws {
        let calls = 200
        let uasPort = freeUDPPort()
        let server = try TestServer(config: Self.config(uasPort: uasPort, transport: calleeTransport))
        let (uac, uas) = try SIPpStatelessCallTests.call(
            uas: [
                "-sf", scenariosDirectory + "/stateful/uas.xml", "-i", "127.0.0.1", "-p", String(uasPort), "-m",
                String(calls),
            ] + (calleeTransport == "tcp" ? ["-t", "t1"] : []),
            uac: [
                "-sf", scenariosDirectory + "/stateful/uac.xml", "-i", "127.0.0.1", "-p", String(freeUDPPort()),
                "-m", String(calls), "-r", "50", "127.0.0.1:\(server.port)",
            ])
        #expect(uac.status == 0, "UAC: \(uac.text.suffix(1200)) server: \(server.log.suffix(1500))")
        #expect(
            uac.text.range(of: #"Successful call\s+\|\s+\d+\s+\|\s+\#(calls)"#, options: .regularExpression) != nil)
        #expect(uas.status == 0, "UAS: \(uas.text.suffix(1200))")
        // The ACKs and BYEs were routed by loose_route() (the UAC sent them to the callee's
        // Contact through the proxy's Record-Route).
        let log = server.log
        #expect(log.components(separatedBy: "in-dialog BYE via loose_route").count - 1 == calls)
        #expect(log.components(separatedBy: "in-dialog ACK via loose_route").count - 1 == calls)
        #expect(server.stop() == 0)
    }
}
