import Foundation
import Testing

@testable import SwiftletSDK

@Suite(.serialized) struct RPCTests {
    /// The binary with jsonrpcs: swiftletctl calls core and module commands over the
    /// datagram socket and gets JSON-RPC 2.0 replies.
    @Test func swiftletctlTalksToJsonrpcs() throws {
        let dir = TemporaryDirectory()
        let socket = dir.path + "/rpc.sock"
        let server = try TestServer(
            config: """
                log_stderror=yes
                children=1
                listen=udp:127.0.0.1:PORT
                loadmodule "sl.so"
                loadmodule "xlog.so"
                loadmodule "jsonrpcs.so"
                loadmodule "kex.so"
                modparam("jsonrpcs", "dgram_socket", "\(socket)")
                modparam("jsonrpcs", "transport", 4)
                request_route { sl_send_reply("200", "OK"); }
                """)
        let ctl = productsDirectory + "/swiftletctl"
        func call(_ args: [String]) throws -> (Int32, Any?) {
            let p = SpawnedProcess()
            p.executableURL = URL(fileURLWithPath: ctl)
            p.arguments = ["-s", socket] + args
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, try? JSONSerialization.jsonObject(with: data))
        }
        // core.uptime counts from start-up, not from the first RPC: it is the first call here,
        // made two seconds after the server started.
        sleep(2)
        var uptime: [String: Any]? = nil
        for _ in 0..<50 where uptime == nil {
            let (status, json) = try call(["core.uptime"])
            if status == 0 {
                uptime = (json as? [String: Any])?["result"] as? [String: Any]
            } else {
                usleep(50_000)
            }
        }
        #expect((uptime?["uptime"] as? Int ?? 0) >= 2, "\(String(describing: uptime))")
        #expect(uptime?["up_since"] as? String != uptime?["now"] as? String)
        // The socket appears once the main process ran child_init(0).
        var methods: [String] = []
        for _ in 0..<50 where methods.isEmpty {
            let (status, json) = try call(["system.listMethods"])
            if status == 0 {
                methods = ((json as? [String: Any])?["result"] as? [String]) ?? []
            } else {
                usleep(50_000)
            }
        }
        #expect(
            methods.starts(with: [
                "system.listMethods", "system.methodHelp", "core.version", "core.echo", "core.uptime", "core.modules",
            ]))
        #expect(methods.contains("jsonrpc.echo"))
        #expect(methods.contains("sl.stats"))

        let (s1, version) = try call(["core.version"])
        #expect(s1 == 0)
        #expect((version as? [String: Any])?["result"] as? String == "swiftlet 0.1.0 (x86_64/linux)")
        #expect((version as? [String: Any])?["jsonrpc"] as? String == "2.0")

        let (_, echo) = try call(["core.echo", "text", "42", "s:7"])
        let echoed = (echo as? [String: Any])?["result"] as? [Any]
        #expect(echoed?.count == 3)
        #expect(echoed?[0] as? String == "text")
        #expect(echoed?[1] as? Int == 42)
        #expect(echoed?[2] as? String == "7")

        let (_, modules) = try call(["core.modules"])
        #expect((modules as? [String: Any])?["result"] as? [String] == ["sl", "xlog", "jsonrpcs", "kex"])

        let (s2, missing) = try call(["no.such.method"])
        #expect(s2 == 1)
        let error = (missing as? [String: Any])?["error"] as? [String: Any]
        #expect(error?["code"] as? Int == -32601)
        #expect(error?["message"] as? String == "Method Not Found")

        // sl.stats counts the stateless replies by class, as Kamailio's.
        let client = UDPClient()
        client.send(sipRequest(optionsRequest(), clientPort: client.port), to: server.port)
        _ = client.receive()
        client.send(sipRequest(optionsRequest(callID: "s2"), clientPort: client.port), to: server.port)
        _ = client.receive()
        let (_, slStats) = try call(["sl.stats"])
        let stats = (slStats as? [String: Any])?["result"] as? [String: Any]
        #expect(stats?["200"] as? Int == 2)
        #expect(stats?["404"] as? Int == 0)
        #expect(stats?.count == 19)

        // The threads that stand in for Kamailio's processes, with its descriptions.
        let (_, psx) = try call(["core.psx"])
        let processes = ((psx as? [String: Any])?["result"] as? [[String: Any]]) ?? []
        // The main thread registers before it starts the others; they register as they start.
        #expect(processes.first?["DSC"] as? String == "main process - attendant")
        #expect(
            Set(processes.map { $0["DSC"] as? String ?? "" }) == [
                "main process - attendant", "udp receiver child=0 sock=127.0.0.1:\(server.port)", "timer",
            ])
        #expect(processes.map { $0["IDX"] as? Int ?? -1 } == [0, 1, 2])
        #expect(Set(processes.compactMap { $0["PID"] as? Int }).count == 3, "each thread has its own id")
        let (_, ps) = try call(["core.ps"])
        let flat = ((ps as? [String: Any])?["result"] as? [Any]) ?? []
        #expect(flat.count == 6)
        #expect(flat.first as? Int == processes.first?["PID"] as? Int)
        #expect(flat.dropFirst().first as? String == "main process - attendant")
        let (_, info) = try call(["core.info"])
        let infoResult = (info as? [String: Any])?["result"] as? [String: Any]
        #expect(infoResult?["version"] as? String == "swiftlet 0.1.0")
        #expect(Set(infoResult?.keys.map { $0 } ?? []) == ["version", "id", "compiler", "compiled", "flags"])
        let (tcpStatus, tcpInfo) = try call(["core.tcp_info"])
        #expect(tcpStatus == 1)
        #expect(
            ((tcpInfo as? [String: Any])?["error"] as? [String: Any])?["message"] as? String == "tcp support disabled")
        // kex's shmem: group reads the shared memory pool.
        let (_, shmem) = try call(["stats.get_statistics", "shmem:"])
        let shmemLines = ((shmem as? [String: Any])?["result"] as? [String]) ?? []
        #expect(
            shmemLines.map { $0.split(separator: " ").first.map(String.init) ?? "" } == [
                "shmem:fragments", "shmem:free_size", "shmem:max_used_size", "shmem:real_used_size", "shmem:total_size",
                "shmem:used_size",
            ])
        #expect(shmemLines.contains { $0.hasPrefix("shmem:total_size = ") && $0 != "shmem:total_size = 0" })

        // Text output, as kamcmd prints values; errors as "error: code - message".
        func callText(_ args: [String]) throws -> (Int32, String) {
            let p = SpawnedProcess()
            p.executableURL = URL(fileURLWithPath: ctl)
            p.arguments = ["-s", socket, "-o", "text"] + args
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: data, as: UTF8.self))
        }
        #expect(try callText(["core.echo", "text", "42"]) == (0, "text\n42\n"))
        #expect(try callText(["core.shmmem", "m"]).1.hasPrefix("{\n\tfragments: "))
        #expect(try callText(["no.such.method"]) == (1, "error: -32601 - Method Not Found\n"))
        let ctlVersion = try runProgram(ctl, ["-V"]).stdout
        let coreVersion = try runSwiftlet(["-V"]).stdout
        #expect(
            ctlVersion.split(separator: " ").dropFirst().first == coreVersion.split(separator: " ").dropFirst(2).first)
        #expect(try runProgram(ctl, ["-h"]).stdout.contains("-Y dir"))

        let (_, help) = try call(["system.methodHelp", "core.version"])
        #expect((help as? [String: Any])?["result"] as? String == "Returns the version string of the server.")
        #expect(server.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: socket), "the socket is removed at shutdown")
    }

    /// `swiftletctl -Y dir` finds jsonrpcs' default socket under the server's runtime directory.
    @Test func swiftletctlFindsTheSocketUnderTheRuntimeDirectory() throws {
        let run = TemporaryDirectory()
        let server = try TestServer(
            config: """
                log_stderror=yes
                children=1
                listen=udp:127.0.0.1:PORT
                loadmodule "sl.so"
                loadmodule "jsonrpcs.so"
                request_route { sl_send_reply("200", "OK"); }
                """, extraArguments: ["-Y", run.path])
        let ctl = productsDirectory + "/swiftletctl"
        var answer = (status: Int32(1), stdout: "", stderr: "")
        for _ in 0..<50 where answer.status != 0 {
            answer = try runProgram(ctl, ["-Y", run.path, "-o", "text", "core.version"])
            if answer.status != 0 { usleep(50_000) }
        }
        #expect(answer.status == 0, "\(answer.stderr)")
        #expect(answer.stdout == "swiftlet 0.1.0 (x86_64/linux)\n")
        #expect(server.stop() == 0)
    }

    @Test func registryRefusesDuplicatesAndReportsHandlerErrors() throws {
        let registry = RPCRegistry()
        try registry.register(
            RPCCommand("t.one", "one") { (r: RPCRequest) throws(RPCError) -> RPCValue in .int(try r.int(0) + 1) })
        do {
            try registry.register(RPCCommand("t.one", "again") { _ in .null })
            Issue.record("a duplicate RPC name was accepted")
        } catch {
            #expect(error.message == "RPC command 't.one' is already registered")
        }
        #expect(try registry.call(RPCRequest(method: "t.one", params: [.string("41")])).get() == .int(42))
        #expect(throws: RPCError.self) { try registry.call(RPCRequest(method: "t.one", params: [.string("x")])).get() }
        #expect(throws: RPCError.methodNotFound) { try registry.call(RPCRequest(method: "t.two", params: [])).get() }
    }
}
