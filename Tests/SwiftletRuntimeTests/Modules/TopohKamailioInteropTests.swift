import Foundation
import Testing

/// topoh in series with Kamailio's: SIPp UAC → Kamailio 5.6.3 (topoh) → Swiftlet (topoh) →
/// SIPp UAS, both with the same `mask_key`, and the same chain the other way round. Each proxy
/// masks what it sends on and unmasks the Request-URI of in-dialog requests that the other
/// masked in turn, so the ACK and BYE reach the callee only if each understands the other's
/// masking; the callee must never see the caller's address, nor the caller the callee's.
@Suite(.serialized) struct TopohKamailioInteropTests {
    /// One proxy's configuration, in the syntax both servers run; `NEXT` is the next hop.
    static func config(next: Int, mpath: String?) -> String {
        """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=2
        listen=udp:127.0.0.1:PORT
        \(mpath.map { "mpath=\"\($0)\"" } ?? "")
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "rr.so"
        loadmodule "siputils.so"
        loadmodule "textops.so"
        loadmodule "pv.so"
        loadmodule "topoh.so"
        modparam("topoh", "mask_key", "interop-test-key")
        modparam("topoh", "mask_callid", 1)
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
            $du = "sip:127.0.0.1:\(next)";
            if (!t_relay()) { sl_reply_error(); }
        }
        """
    }

    static let enabled = sippPath != nil && kamailioPath != nil

    @Test(
        .enabled(if: enabled, "needs sipp and kamailio (apt-get install sip-tester kamailio)"),
        arguments: ["kamailio first", "swiftlet first"])
    func callsGoThroughBothProxies(_ order: String) throws {
        let calls = 20
        let uasPort = freeUDPPort()
        let uacPort = freeUDPPort()
        let kamailioFirst = order == "kamailio first"
        // The second proxy is started first: it needs only the UAS's port.
        let first: (port: Int, log: () -> String, stop: () -> Void)
        let second: (log: () -> String, stop: () -> Void)
        if kamailioFirst {
            let s = try TestServer(config: Self.config(next: uasPort, mpath: nil))
            let k = try KamailioTestServer(config: Self.config(next: s.port, mpath: kamailioModules))
            first = (k.port, { k.log }, { k.stop() })
            second = ({ s.log }, { _ = s.stop() })
        } else {
            let k = try KamailioTestServer(config: Self.config(next: uasPort, mpath: kamailioModules))
            let s = try TestServer(config: Self.config(next: k.port, mpath: nil))
            first = (s.port, { s.log }, { _ = s.stop() })
            second = ({ k.log }, { k.stop() })
        }
        defer {
            first.stop()
            second.stop()
        }
        let traces = TemporaryDirectory()
        let uasTrace = traces.path + "/uas.log"
        let uacTrace = traces.path + "/uac.log"
        let (uac, uas) = try SIPpStatelessCallTests.call(
            uas: [
                "-sf", scenariosDirectory + "/stateful/uas.xml", "-i", "127.0.0.1", "-p", String(uasPort), "-m",
                String(calls), "-trace_msg", "-message_file", uasTrace,
            ],
            uac: [
                "-sf", scenariosDirectory + "/stateful/uac.xml", "-i", "127.0.0.1", "-p", String(uacPort), "-m",
                String(calls), "-r", "20", "-trace_msg", "-message_file", uacTrace, "127.0.0.1:\(first.port)",
            ])
        #expect(
            uac.status == 0,
            "UAC: \(uac.text.suffix(800))\nfirst: \(first.log().suffix(1500))\nsecond: \(second.log().suffix(1500))")
        #expect(uas.status == 0, "UAS: \(uas.text.suffix(800))")
        #expect(
            uac.text.range(of: #"Successful call\s+\|\s+\d+\s+\|\s+\#(calls)"#, options: .regularExpression) != nil)
        // What each side received: the other's address is in no Via, Contact, Record-Route or
        // Route (From and To are not topology: SIPp puts its port in its From).
        func topology(_ path: String) -> [String] {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            // Split on any line end: "\r\n" is one Character, which "\n" does not match.
            return text.split(whereSeparator: \.isNewline).map(String.init).filter { line in
                ["Via:", "Contact:", "Record-Route:", "Route:", "INVITE ", "ACK ", "BYE "].contains {
                    line.hasPrefix($0)
                }
            }
        }
        let atCallee = topology(uasTrace)
        let atCaller = topology(uacTrace)
        #expect(atCallee.contains { $0.hasPrefix("BYE sip:") })
        #expect(
            Array(atCallee.filter { $0.contains("127.0.0.1:\(uacPort)") }.prefix(3)) == [],
            "the callee saw the caller's address")
        #expect(atCaller.contains { $0.hasPrefix("Contact:") })
        #expect(
            Array(atCaller.filter { $0.contains("127.0.0.1:\(uasPort)") }.prefix(3)) == [],
            "the caller saw the callee's address")
    }
}
