import Foundation
import Testing

/// cfg_rpc on the groups of modules (`tm`, `registrar`, `dbg`), as Kamailio 5.6 declares them:
/// read with `cfg.get`, changed with `cfg.set_now_int`, and the next transaction or REGISTER
/// uses the new value.
@Suite(.serialized) struct CfgRPCGroupsTests {
    @Test func tmAndRegistrarVariablesChangeWhileRunning() throws {
        let dir = TemporaryDirectory()
        let socket = dir.path + "/rpc.sock"
        let silent = UDPClient()  // a next hop that never answers
        let server = try TestServer(
            config: """
                children=1
                listen=udp:127.0.0.1:PORT
                loadmodule "sl.so"
                loadmodule "tm.so"
                loadmodule "pv.so"
                loadmodule "textops.so"
                loadmodule "usrloc.so"
                loadmodule "registrar.so"
                loadmodule "debugger.so"
                loadmodule "cfg_rpc.so"
                loadmodule "jsonrpcs.so"
                modparam("jsonrpcs", "dgram_socket", "\(socket)")
                modparam("jsonrpcs", "transport", 4)
                request_route {
                    if (is_method("REGISTER")) { save("location"); exit; }
                    $du = "sip:127.0.0.1:\(silent.port)";
                    t_relay();
                }
                """)
        func call(_ args: [String]) throws -> [String: Any] { try CountersRPCTests.call(socket, args) }
        for _ in 0..<50 where (try call(["core.version"]))["result"] == nil { usleep(50_000) }

        #expect(try call(["cfg.get", "tm", "fr_timer"])["result"] as? Int == 30000)
        #expect(try call(["cfg.get", "registrar", "max_expires"])["result"] as? Int == 0)
        #expect(try call(["cfg.get", "dbg", "mod_level_mode"])["result"] as? Int == 0)
        let tmList = try call(["cfg.list", "tm"])["result"] as? [String] ?? []
        #expect(tmList.starts(with: ["tm: fr_timer", "tm: fr_inv_timer", "tm: wt_timer"]), "\(tmList)")
        #expect(CfgRPCModuleTests.fault(try call(["cfg.set_now_int", "tm", "default_code", "300"])) != nil)
        #expect(CfgRPCModuleTests.fault(try call(["cfg.set_now_int", "registrar", "default_q", "2000"])) != nil)

        // fr_timer 1 s: the relayed OPTIONS times out with 408 after about a second.
        #expect(try call(["cfg.set_now_int", "tm", "fr_timer", "1000"])["result"] as? [String: Int] == [:])
        #expect(try call(["cfg.get", "tm", "fr_timer"])["result"] as? Int == 1000)
        let client = UDPClient()
        let start = Date()
        client.send(sipRequest(optionsRequest(callID: "fr-1"), clientPort: client.port), to: server.port)
        var reply: String? = nil
        while reply?.hasPrefix("SIP/2.0 408") != true, Date().timeIntervalSince(start) < 6 {
            reply = client.receive(timeout: 1)
        }
        #expect(reply?.hasPrefix("SIP/2.0 408") == true, "\(server.log)")
        #expect(Date().timeIntervalSince(start) < 5)

        // max_expires 60: a REGISTER asking 600 s gets 60.
        #expect(try call(["cfg.set_now_int", "registrar", "max_expires", "60"])["result"] as? [String: Int] == [:])
        client.send(
            "REGISTER sip:127.0.0.1:\(server.port) SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:\(client.port);branch=z9hG4bKcfg1\r\n"
                + "From: <sip:carol@127.0.0.1>;tag=c1\r\nTo: <sip:carol@127.0.0.1>\r\nCall-ID: cfg-reg-1\r\n"
                + "CSeq: 1 REGISTER\r\nContact: <sip:carol@127.0.0.1:5997>;expires=600\r\nMax-Forwards: 70\r\n"
                + "Content-Length: 0\r\n\r\n", to: server.port)
        var registered: String? = nil
        while registered?.contains("REGISTER") != true, let r = client.receive(timeout: 3) { registered = r }
        #expect(registered?.hasPrefix("SIP/2.0 200") == true)
        #expect(registered?.contains(";expires=60") == true, "\(registered ?? "")")
        #expect(registered?.contains(";expires=600") == false)
    }
}
