import Foundation
import Testing

/// The dialog module in the running binary with SIPp on both sides: calls tracked by
/// `dlg_manage()` with a profile that empties when they end, a callee that never hangs up
/// (the dialog timeout sends the BYEs), `dlg.end_dlg` over the RPC socket.
@Suite(.serialized) struct SIPpDialogTests {
    static func config(uasPort: Int, socket: String, params: String = "") -> String {
        """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=2
        listen=udp:127.0.0.1:PORT
        loadmodule "pv.so"
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "rr.so"
        loadmodule "maxfwd.so"
        loadmodule "textops.so"
        loadmodule "siputils.so"
        loadmodule "xlog.so"
        loadmodule "kex.so"
        loadmodule "jsonrpcs.so"
        loadmodule "dialog.so"
        modparam("jsonrpcs", "dgram_socket", "\(socket)")
        modparam("jsonrpcs", "transport", 4)
        modparam("dialog", "profiles_no_value", "calls")
        \(params)
        request_route {
            if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
            if (has_totag()) {
                if (loose_route()) { t_relay(); exit; }
                if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
                sl_send_reply("404", "Not here");
                exit;
            }
            if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
            t_check_trans();
            remove_hf("Route");
            record_route();
            if (is_method("INVITE")) {
                dlg_manage();
                set_dlg_profile("calls");
                get_profile_size("calls", "$var(n)");
                xlog("L_INFO", "profile calls size $var(n)\\n");
            }
            $du = "sip:127.0.0.1:\(uasPort)";
            t_relay();
        }
        event_route[dialog:end] { xlog("L_INFO", "dialog end $dlg(callid)\\n"); }
        """
    }

    static func start(uasPort: Int, params: String = "") throws -> (TestServer, ([String]) throws -> [String: Any]) {
        let dir = TemporaryDirectory()
        let socket = dir.path + "/rpc.sock"
        let server = try TestServer(config: config(uasPort: uasPort, socket: socket, params: params))
        let call = { (args: [String]) throws -> [String: Any] in
            _ = dir
            return try CountersRPCTests.call(socket, args)
        }
        for _ in 0..<50 where (try call(["core.version"]))["result"] == nil { usleep(50_000) }
        return (server, call)
    }

    static func stat(_ call: ([String]) throws -> [String: Any], _ name: String) throws -> Int? {
        let r = try call(["stats.get_statistics", name])
        guard let list = r["result"] as? [String], let line = list.first else { return nil }
        return Int(line.split(separator: "=").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "")
    }

    @Test(.enabled(if: sippPath != nil, "sipp is not installed (apt-get install sip-tester)"))
    func callsAreTrackedAndTheProfileEmpties() throws {
        let calls = 20
        let uasPort = freeUDPPort()
        let (server, call) = try Self.start(uasPort: uasPort)
        let (uac, uas) = try SIPpStatelessCallTests.call(
            uas: [
                "-sf", scenariosDirectory + "/stateful/uas.xml", "-i", "127.0.0.1", "-p", String(uasPort), "-m",
                String(calls),
            ],
            uac: [
                "-sf", scenariosDirectory + "/stateful/uac.xml", "-i", "127.0.0.1", "-p", String(freeUDPPort()),
                "-m", String(calls), "-r", "10", "127.0.0.1:\(server.port)",
            ])
        #expect(uac.status == 0, "UAC: \(uac.text.suffix(1200)) server: \(server.log.suffix(1500))")
        #expect(uas.status == 0, "UAS: \(uas.text.suffix(1200))")
        // While its INVITE was routed, each call was in the profile (1 at a rate of 10/s).
        #expect(server.log.components(separatedBy: "profile calls size 1").count - 1 >= 1)
        #expect(server.log.components(separatedBy: "dialog end ").count - 1 == calls)
        let size = try call(["dlg.profile_get_size", "calls"])
        #expect(size["result"] as? Int == 0, "\(size)")
        #expect(try Self.stat(call, "processed_dialogs") == calls)
        #expect(try Self.stat(call, "active_dialogs") == 0)
        #expect(server.stop() == 0)
    }

    @Test(.enabled(if: sippPath != nil, "sipp is not installed (apt-get install sip-tester)"))
    func theDialogTimeoutSendsByeToBothSides() throws {
        let calls = 3
        let uasPort = freeUDPPort()
        let (server, call) = try Self.start(
            uasPort: uasPort,
            params: """
                modparam("dialog", "default_timeout", 2)
                modparam("dialog", "send_bye", 1)
                """)
        let (uac, uas) = try SIPpStatelessCallTests.call(
            uas: [
                "-sf", scenariosDirectory + "/stateful/uas.xml", "-i", "127.0.0.1", "-p", String(uasPort), "-m",
                String(calls),
            ],
            uac: [
                "-sf", scenariosDirectory + "/dialog/uac_receives_bye.xml", "-i", "127.0.0.1", "-p",
                String(freeUDPPort()), "-m", String(calls), "-r", "10", "127.0.0.1:\(server.port)",
            ])
        #expect(uac.status == 0, "UAC: \(uac.text.suffix(1200)) server: \(server.log.suffix(1500))")
        #expect(uas.status == 0, "UAS: \(uas.text.suffix(1200))")
        #expect(try Self.stat(call, "expired_dialogs") == calls)
        #expect(try Self.stat(call, "active_dialogs") == 0)
        #expect(server.stop() == 0)
    }

    @Test(.enabled(if: sippPath != nil, "sipp is not installed (apt-get install sip-tester)"))
    func endDialogRPCEndsTheCall() throws {
        let uasPort = freeUDPPort()
        let (server, call) = try Self.start(uasPort: uasPort)
        let (uas, uasOut) = try SIPpStatelessCallTests.sipp([
            "-sf", dialogScenario("stateful/uas.xml"), "-i", "127.0.0.1", "-p", String(uasPort), "-m", "1",
        ])
        usleep(300_000)
        let (uac, uacOut) = try SIPpStatelessCallTests.sipp([
            "-sf", dialogScenario("dialog/uac_receives_bye.xml"), "-i", "127.0.0.1", "-p", String(freeUDPPort()),
            "-m", "1", "127.0.0.1:\(server.port)",
        ])
        var entry: Int?
        var id: Int?
        for _ in 0..<50 {
            if let list = try call(["dlg.list"])["result"] as? [[String: Any]], let d = list.first,
                d["state"] as? Int == 4
            {
                entry = d["h_entry"] as? Int
                id = d["h_id"] as? Int
                break
            }
            usleep(100_000)
        }
        let e = try #require(entry)
        let i = try #require(id)
        let missing = try call(["dlg.end_dlg", String(e), String(i + 1)])
        #expect((missing["error"] as? [String: Any])?["code"] as? Int == 404)
        _ = try call(["dlg.end_dlg", String(e), String(i)])
        let uacStatus = uac.waitForExit(timeout: 10)
        let uasStatus = uas.waitForExit(timeout: 10)
        let uacText = String(decoding: uacOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let uasText = String(decoding: uasOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(uacStatus == 0, "UAC: \(uacText.suffix(800)) server: \(server.log.suffix(1500))")
        #expect(uasStatus == 0, "UAS: \(uasText.suffix(800))")
        #expect(server.stop() == 0)
    }
}

private func dialogScenario(_ name: String) -> String { scenariosDirectory + "/" + name }
