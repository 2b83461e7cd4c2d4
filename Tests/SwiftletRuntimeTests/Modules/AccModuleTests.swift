import Foundation
import Testing

/// The acc module's log backend with calls from SIPp through tm: the `transaction answered`
/// records of an answered INVITE and its BYE, the `call missed` and failed-transaction
/// records of a 486, and `acc_log_request`, each line as Kamailio 5.6.3 prints it with the
/// same configuration (recorded on loopback; only the timestamp, tags and Call-ID differ).
@Suite(.serialized) struct AccModuleTests {
    static func config(uasPort: Int, extra: String = "") -> String {
        """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=1
        listen=udp:127.0.0.1:PORT
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "rr.so"
        loadmodule "siputils.so"
        loadmodule "textops.so"
        loadmodule "xlog.so"
        loadmodule "pv.so"
        loadmodule "acc.so"
        modparam("acc", "log_flag", 1)
        modparam("acc", "log_missed_flag", 2)
        modparam("acc", "failed_transaction_flag", 3)
        modparam("acc", "log_extra", "src_user=$fU;src_domain=$fd;src_ip=$si;dst_ouser=$tU;dst_user=$rU;dst_domain=$rd")
        \(extra)
        request_route {
            if (has_totag()) {
                if (loose_route()) {
                    if (is_method("BYE")) { setflag(1); setflag(3); }
                    t_relay();
                    exit;
                }
                if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
                sl_send_reply("404", "Not here");
                exit;
            }
            if (is_method("OPTIONS")) {
                acc_log_request("200 pinged");
                acc_log_request("just a note $ci");
                sl_send_reply("200", "OK");
                exit;
            }
            t_check_trans();
            if (is_method("INVITE")) { record_route(); setflag(1); setflag(2); setflag(3); }
            $du = "sip:127.0.0.1:\(uasPort)";
            t_relay();
            exit;
        }
        """
    }

    static let extras =
        ";src_user=sipp;src_domain=127.0.0.1;src_ip=127.0.0.1;dst_ouser=service;dst_user=service;dst_domain=127.0.0.1"

    /// The acc lines of `log` (NOTICE, from acc) whose text after the timestamp matches `pattern`.
    static func lines(_ log: String, _ kind: String, _ pattern: String) -> [String] {
        let regex = try! Regex("^ACC: \(kind): timestamp=[0-9]+" + pattern + "$")
        return log.split(separator: "\n").compactMap { line in
            guard let r = line.range(of: "NOTICE: acc [") else { return nil }
            guard let f = line[r.upperBound...].range(of: "(): ") else { return nil }
            let text = String(line[f.upperBound...])
            return text.wholeMatch(of: regex) != nil ? text : nil
        }
    }

    static func escaped(_ s: String) -> String { s.replacingOccurrences(of: ".", with: "\\.") }

    func run(_ server: TestServer, uas: String, uac: String, uasPort: Int) throws {
        let (c, s) = try SIPpStatelessCallTests.call(
            uas: ["-sf", scenariosDirectory + "/" + uas, "-i", "127.0.0.1", "-p", String(uasPort), "-m", "1"],
            uac: [
                "-sf", scenariosDirectory + "/" + uac, "-i", "127.0.0.1", "-p", String(freeUDPPort()), "-m", "1",
                "127.0.0.1:\(server.port)",
            ])
        #expect(c.status == 0, "UAC: \(c.text.suffix(1200)) server: \(server.log.suffix(1500))")
        #expect(s.status == 0, "UAS: \(s.text.suffix(1200))")
    }

    @Test(.enabled(if: sippPath != nil, "sipp is not installed (apt-get install sip-tester)"))
    func answeredCallAndByeAreAccounted() throws {
        let uasPort = freeUDPPort()
        let server = try TestServer(config: Self.config(uasPort: uasPort))
        try run(server, uas: "stateful/uas.xml", uac: "stateful/uac.xml", uasPort: uasPort)
        let tags = ";from_tag=[0-9]+SIPpTag001;to_tag=[0-9]+SIPpTag011;call_id=1-[0-9]+@127\\.0\\.0\\.1"
        #expect(server.waitForLog("method=BYE"), "\(server.log)")
        let invite = Self.lines(
            server.log, "transaction answered",
            ";method=INVITE" + tags + ";code=200;reason=OK" + Self.escaped(Self.extras))
        #expect(invite.count == 1, "\(server.log)")
        // The BYE goes to the callee's Contact (no user part): dst_user is empty.
        let bye = Self.lines(
            server.log, "transaction answered",
            ";method=BYE" + tags + ";code=200;reason=OK"
                + Self.escaped(
                    ";src_user=sipp;src_domain=127.0.0.1;src_ip=127.0.0.1;dst_ouser=service;dst_user=;dst_domain=127.0.0.1"
                ))
        #expect(bye.count == 1, "\(server.log)")
        #expect(!server.log.contains("ACC: call missed"))
        #expect(logHasLine(server.log, "NOTICE", "acc", "ACC: transaction answered: timestamp="))

        // acc_log_request: the code from the comment, or none.
        let client = UDPClient()
        client.send(sipRequest(optionsRequest(callID: "opt-1"), clientPort: client.port), to: server.port)
        _ = try #require(client.receive(), "no reply; log: \(server.log)")
        #expect(server.waitForLog("reason=just a note opt-1"), "\(server.log)")
        let common = ";method=OPTIONS;from_tag=abc;to_tag=;call_id=opt-1"
        #expect(Self.lines(server.log, "request accounted", common + ";code=200;reason=pinged;.*").count == 1)
        #expect(Self.lines(server.log, "request accounted", common + ";code=;reason=just a note opt-1;.*").count == 1)
        #expect(server.stop() == 0)
    }

    @Test(.enabled(if: sippPath != nil, "sipp is not installed (apt-get install sip-tester)"))
    func busyCallIsMissedAndFailed() throws {
        let uasPort = freeUDPPort()
        let server = try TestServer(config: Self.config(uasPort: uasPort))
        try run(server, uas: "acc/uas-busy.xml", uac: "acc/uac-busy.xml", uasPort: uasPort)
        let tags = ";from_tag=[0-9]+SIPpTag001;to_tag=[0-9]+SIPpTag011;call_id=1-[0-9]+@127\\.0\\.0\\.1"
        let rest = ";method=INVITE" + tags + ";code=486;reason=Busy Here" + Self.escaped(Self.extras)
        #expect(server.waitForLog("ACC: transaction answered"), "\(server.log)")
        #expect(Self.lines(server.log, "call missed", rest).count == 1, "\(server.log)")
        #expect(Self.lines(server.log, "transaction answered", rest).count == 1, "\(server.log)")
        // The missed call comes first (failure), then the reply sent upstream.
        let log = server.log
        let missed = try #require(log.range(of: "ACC: call missed"))
        let answered = try #require(log.range(of: "ACC: transaction answered"))
        #expect(missed.lowerBound < answered.lowerBound)
        #expect(server.stop() == 0)
    }
}
