import Foundation
import Testing

/// cfg_rpc over the jsonrpcs socket: the core's `debug` read and changed while the server
/// runs, with Kamailio 5.6.3's results and faults, and the new level applied to the next
/// message's log lines.
@Suite(.serialized) struct CfgRPCModuleTests {
    static let config = """
        log_stderror=yes
        debug=2
        children=1
        listen=udp:127.0.0.1:PORT
        loadmodule "sl.so"
        loadmodule "xlog.so"
        loadmodule "pv.so"
        loadmodule "cfg_rpc.so"
        loadmodule "jsonrpcs.so"
        modparam("jsonrpcs", "dgram_socket", "SOCKET")
        modparam("jsonrpcs", "transport", 4)
        request_route {
            xlog("L_DBG", "debug-line $ci\\n");
            sl_send_reply("200", "OK");
        }
        """

    static func start() throws -> (TestServer, (([String]) throws -> [String: Any])) {
        let dir = TemporaryDirectory()
        let socket = dir.path + "/rpc.sock"
        let server = try TestServer(config: config.replacingOccurrences(of: "SOCKET", with: socket))
        let call = { (args: [String]) throws -> [String: Any] in
            _ = dir
            return try CountersRPCTests.call(socket, args)
        }
        for _ in 0..<50 where (try call(["core.version"]))["result"] == nil { usleep(50_000) }
        return (server, call)
    }

    static func fault(_ reply: [String: Any]) -> String? {
        guard let e = reply["error"] as? [String: Any], e["code"] as? Int == 400 else { return nil }
        return e["message"] as? String
    }

    @Test func setCoreDebugChangesTheLogLevel() throws {
        let (server, call) = try Self.start()
        let client = UDPClient()
        client.send(sipRequest(optionsRequest(callID: "before"), clientPort: client.port), to: server.port)
        _ = try #require(client.receive(), "no reply; log: \(server.log)")
        #expect(try call(["cfg.get", "core", "debug"])["result"] as? Int == 2)
        #expect(try call(["cfg.set", "core", "debug", "3"])["result"] as? [String: Int] == [:])
        #expect(try call(["cfg.get", "core", "debug"])["result"] as? Int == 3)
        client.send(sipRequest(optionsRequest(callID: "after"), clientPort: client.port), to: server.port)
        _ = try #require(client.receive(), "no reply; log: \(server.log)")
        #expect(server.waitForLog("debug-line after"), "\(server.log)")
        #expect(!server.log.contains("debug-line before"))

        // seti / sets, with the value read back as set (levels above 3 log as 3).
        #expect(try call(["cfg.seti", "core", "debug", "4"])["result"] as? [String: Int] == [:])
        #expect(try call(["cfg.get", "core", "debug"])["result"] as? Int == 4)
        #expect(try call(["cfg.sets", "core", "debug", "s:1"])["result"] as? [String: Int] == [:])
        #expect(try call(["cfg.get", "core"])["result"] as? [String: Int] == ["debug": 1])
        client.send(sipRequest(optionsRequest(callID: "quiet"), clientPort: client.port), to: server.port)
        _ = try #require(client.receive(), "no reply; log: \(server.log)")
        usleep(200_000)
        #expect(!server.log.contains("debug-line quiet"))

        #expect(try call(["cfg.list", "core"])["result"] as? [String] == ["core: debug"])
        #expect(try call(["cfg.list", "nope"])["result"] as? [String] == [])
        #expect(try call(["cfg.help", "core", "debug"])["result"] as? String == "(parameter type is integer)")
        #expect(try call(["cfg.get", "nope"])["result"] as? [String: Int] == [:])
        #expect(Self.fault(try call(["cfg.set", "core", "nope", "1"])) == "Failed to set the variable")
        #expect(Self.fault(try call(["cfg.set", "nope", "debug", "1"])) == "Failed to set the variable")
        #expect(Self.fault(try call(["cfg.sets", "core", "debug", "abc"])) == "Failed to set the variable")
        #expect(Self.fault(try call(["cfg.get", "core", "nope"])) == "Failed to get the variable")
        #expect(Self.fault(try call(["cfg.get", "core[1]", "debug"])) == "Failed to get the variable")
        #expect(
            Self.fault(try call(["cfg.get", "core[x]", "debug"]))
                == "Wrong group syntax. Use either \"group\", or \"group[id]\"")
        #expect(Self.fault(try call(["cfg.help", "core", "nope"])) == "Failed to get the variable description")
        #expect(try call(["cfg.get", "core", "debug"])["result"] as? Int == 1)
    }
}
