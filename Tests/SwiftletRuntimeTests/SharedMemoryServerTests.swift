import Foundation
import Testing

/// The shared memory pool in the running server: its size from `-m` and `shm_mem_size`,
/// `core.shmmem` over RPC, and `$shv` string values failing cleanly when the pool is full.
@Suite(.serialized) struct SharedMemoryServerTests {
    static func config(socket: String, extra: String = "") -> String {
        """
        log_stderror=yes
        children=1
        listen=udp:127.0.0.1:PORT
        \(extra)
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "jsonrpcs.so"
        modparam("jsonrpcs", "dgram_socket", "\(socket)")
        modparam("jsonrpcs", "transport", 4)
        request_route {
            # A 16-byte string doubled X-Doublings times, stored in $shv(big).
            $var(s) = "0123456789abcdef";
            $var(i) = 0;
            while ($var(i) < $(hdr(X-Doublings){s.int})) {
                $var(s) = $var(s) + $var(s);
                $var(i) = $var(i) + 1;
            }
            $shv(big) = $var(s);
            sl_send_reply("200", "stored $(shv(big){s.len})");
        }
        """
    }

    /// Calls an RPC command with swiftletctl; the decoded JSON reply.
    static func rpc(_ socket: String, _ args: [String]) throws -> [String: Any]? {
        let p = SpawnedProcess()
        p.executableURL = URL(fileURLWithPath: productsDirectory + "/swiftletctl")
        p.arguments = ["-s", socket] + args
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    /// `core.shmmem` once the RPC socket is up.
    static func shmmem(_ socket: String, _ args: [String] = []) throws -> [String: Int] {
        for _ in 0..<50 {
            if let r = try rpc(socket, ["core.shmmem"] + args)?["result"] as? [String: Int] { return r }
            usleep(50_000)
        }
        throw TestFailure("no core.shmmem reply")
    }

    /// Sends an OPTIONS asking for a value of 16 × 2^doublings bytes; the reply's first line.
    static func store(_ doublings: Int, client: UDPClient, server: TestServer) -> String? {
        var lines = optionsRequest(callID: "shv-\(doublings)-\(UUID().uuidString)")
        lines.insert("X-Doublings: \(doublings)", at: lines.count - 1)
        client.send(sipRequest(lines, clientPort: client.port), to: server.port)
        return client.receive(timeout: 5).map { replyLines($0)[0] }
    }

    @Test func aFullPoolFailsTheAssignmentAndTheServerGoesOn() throws {
        let dir = TemporaryDirectory()
        let socket = dir.path + "/rpc.sock"
        // -m wins over shm_mem_size, as in Kamailio.
        let server = try TestServer(
            config: Self.config(socket: socket, extra: "shm_mem_size=8"), extraArguments: ["-m", "1"])
        let start = try Self.shmmem(socket)
        #expect(start["total"] == 1_048_576)
        #expect(Set(start.keys) == ["total", "free", "used", "real_used", "max_used", "fragments"])
        #expect(start["free"]! + start["real_used"]! == start["total"]!)
        #expect(start["used"]! <= start["real_used"]!)

        let client = UDPClient()
        #expect(Self.store(14, client: client, server: server) == "SIP/2.0 200 stored 262144")
        let stored = try Self.shmmem(socket)
        #expect(stored["used"]! >= start["used"]! + 262_144)
        #expect(stored["max_used"]! >= stored["real_used"]!)

        // 1 MB does not fit next to the 256 KB value: the assignment fails, the old value stays.
        #expect(Self.store(16, client: client, server: server) == "SIP/2.0 200 stored 262144")
        #expect(server.waitForLog("(): cannot set $shv(big): out of shared memory (1048576 bytes)"))
        #expect(logHasLine(server.log, "ERROR", "pv", "cannot set $shv(big): out of shared memory (1048576 bytes)"))
        #expect(logHasLine(server.log, "ERROR", "<core>", "shared memory is full: cannot allocate 1048576 bytes"))
        #expect(try Self.shmmem(socket)["used"] == stored["used"])

        // A small value replaces the large one and gives its memory back.
        #expect(Self.store(1, client: client, server: server) == "SIP/2.0 200 stored 32")
        let after = try Self.shmmem(socket)
        #expect(after["used"]! < stored["used"]! - 200_000)
        #expect(after["max_used"]! >= stored["real_used"]!)

        // Units: k, kb, M... as Kamailio; anything else is refused.
        #expect(try Self.shmmem(socket, ["k"])["total"] == 1024)
        #expect(try Self.shmmem(socket, ["MB"])["total"] == 1)
        let bad = try Self.rpc(socket, ["core.shmmem", "x"])?["error"] as? [String: Any]
        #expect(bad?["code"] as? Int == 500)
        #expect(bad?["message"] as? String == "bad param, (use b|k|m|g)")
        #expect(server.stop() == 0)
    }

    @Test func theConfigurationSetsThePoolSize() throws {
        let dir = TemporaryDirectory()
        let socket = dir.path + "/rpc.sock"
        let server = try TestServer(config: Self.config(socket: socket, extra: "shm_mem_size=2"))
        #expect(try Self.shmmem(socket)["total"] == 2 * 1_048_576)
        #expect(server.stop() == 0)
    }

    @Test func badSizesAreRefused() throws {
        let r = try runSwiftlet(["-m", "0", "-c", "-f", "/dev/null"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("bad shared memory size: -m 0"))
        let dir = TemporaryDirectory()
        let cfg = dir.write("bad.cfg", "shm_mem_size=0\nrequest_route { drop; }\n")
        let c = try runSwiftlet(["-c", "-f", cfg, "-L", productsDirectory])
        #expect(c.status == 1)
        #expect(c.stderr.contains("bad.cfg:1:14: error: 'shm_mem_size' must be at least 1 (MB)"))
    }
}
