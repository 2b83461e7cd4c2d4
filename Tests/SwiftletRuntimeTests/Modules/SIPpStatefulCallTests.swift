import Foundation
import Testing

/// Full calls (INVITE/100/180/200/ACK/BYE/200) from a SIPp UAC through tm to a SIPp UAS over
/// UDP: the proxy answers 100 Trying, relays the replies, forwards the ACK of the 2xx
/// statelessly and the BYE in a transaction of its own. sipp exits 0 only when every call
/// succeeded.
@Suite(.serialized) struct SIPpStatefulCallTests {
    @Test(.enabled(if: sippPath != nil, "sipp is not installed (apt-get install sip-tester)"))
    func statefulCallsGoThrough() throws {
        let calls = 500
        let uasPort = freeUDPPort()
        let server = try TestServer(
            config: """
                #!KAMAILIO
                debug=1
                log_stderror=yes
                children=2
                listen=udp:127.0.0.1:PORT
                loadmodule "tm.so"
                loadmodule "sl.so"
                loadmodule "textops.so"
                request_route {
                    if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
                    if (!is_method("ACK")) { t_check_trans(); }
                    $du = "sip:127.0.0.1:\(uasPort)";
                    if (!t_relay()) { sl_reply_error(); }
                    exit;
                }
                """)
        let (uas, uasOut) = try SIPpStatelessCallTests.sipp(
            ["-sn", "uas", "-i", "127.0.0.1", "-p", String(uasPort), "-m", String(calls)])
        usleep(300_000)
        let (uac, uacOut) = try SIPpStatelessCallTests.sipp([
            "-sf", scenariosDirectory + "/stateless/uac.xml", "-i", "127.0.0.1", "-p", String(freeUDPPort()),
            "-m", String(calls), "-r", "100", "127.0.0.1:\(server.port)",
        ])
        let uacText = String(decoding: uacOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        uac.waitUntilExit()
        let deadline = Date().addingTimeInterval(10)
        while uas.isRunning, Date() < deadline { usleep(50_000) }
        if uas.isRunning { uas.terminate() }
        let uasText = String(decoding: uasOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        uas.waitUntilExit()
        #expect(uac.terminationStatus == 0, "UAC: \(uacText.suffix(1200)) server: \(server.log.suffix(1500))")
        #expect(
            uacText.range(of: #"Successful call\s+\|\s+\d+\s+\|\s+\#(calls)"#, options: .regularExpression) != nil)
        #expect(uas.terminationStatus == 0, "UAS: \(uasText.suffix(1200))")
        #expect(server.stop() == 0)
    }
}
