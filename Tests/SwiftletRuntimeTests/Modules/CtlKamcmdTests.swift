import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

private let kamcmdPath = "/usr/sbin/kamcmd"

/// A free TCP port on 127.0.0.1 (bound once, then released).
private func freeTCPPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp in
            _ = bind(fd, sp, len)
            _ = getsockname(fd, sp, &len)
        }
    }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// The ctl module against Debian's `kamcmd` (Kamailio 5.6.3's binrpc client): the outputs
/// are those kamcmd prints for Kamailio's ctl (checked against Debian's kamailio with ctl).
@Suite(
    .serialized,
    .enabled(if: FileManager.default.fileExists(atPath: kamcmdPath), "needs kamcmd (apt-get install kamailio)"))
struct CtlKamcmdTests {
    let dir = TemporaryDirectory()
    let unixSocket: String
    let tcpPort = freeTCPPort()
    let udpPort = freeUDPPort()
    let server: TestServer

    init() throws {
        unixSocket = dir.path + "/ctl/swiftlet_ctl"
        server = try TestServer(
            config: """
                log_stderror=yes
                children=1
                listen=udp:127.0.0.1:PORT
                loadmodule "sl.so"
                loadmodule "kex.so"
                loadmodule "ctl.so"
                loadmodule "jsonrpcs.so"
                modparam("ctl", "binrpc", "unix:\(unixSocket)")
                modparam("ctl", "binrpc", "tcp:127.0.0.1:\(tcpPort)")
                modparam("ctl", "binrpc", "udp:127.0.0.1:\(udpPort)")
                modparam("ctl", "mode", 0660)
                modparam("jsonrpcs", "dgram_socket", "\(dir.path)/rpc.sock")
                modparam("jsonrpcs", "transport", 4)
                request_route { sl_send_reply("200", "OK"); }
                """)
        // The serving thread starts once the main process ran child_init(0).
        for _ in 0..<100 where (try? kamcmd("unix:" + unixSocket, ["core.version"]))?.out.isEmpty ?? true {
            usleep(50_000)
        }
    }

    /// Runs kamcmd against `socket`; its standard output and exit status.
    func kamcmd(_ socket: String, _ args: [String]) throws -> (out: String, status: Int32) {
        let p = SpawnedProcess()
        p.executableURL = URL(fileURLWithPath: kamcmdPath)
        p.arguments = ["-s", socket] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (String(decoding: data, as: UTF8.self), p.terminationStatus)
    }

    var unix: String { "unix:" + unixSocket }

    @Test func valuesStringsAndFaultsOverTheUnixSocket() throws {
        #expect(try kamcmd(unix, ["core.version"]).out == "swiftlet 0.1.0 (x86_64/linux)\n")
        // Each value a command adds is one line; kamcmd sends 1 as an int.
        #expect(try kamcmd(unix, ["core.echo", "a", "1"]).out == "a\n1\n")
        #expect(try kamcmd(unix, ["core.echo"]).out == "")
        let methods = try kamcmd(unix, ["system.listMethods"]).out.split(separator: "\n").map(String.init)
        #expect(methods.starts(with: ["system.listMethods", "system.methodHelp", "core.version", "core.echo"]))
        #expect(methods.contains("ctl.who") && methods.contains("ctl.listen") && methods.contains("stats.fetch"))
        // Kamailio's wording for an unknown method, and a command's own fault.
        let missing = try kamcmd(unix, ["no.such.method"])
        #expect(missing.out == "error: 500 - command no.such.method not found\n")
        #expect(missing.status == 0)
        #expect(try kamcmd(unix, ["system.methodHelp", "x.y"]).out == "error: 400 - command not found\n")
        #expect(try kamcmd(unix, ["system.methodHelp", "core.echo"]).out == "Returns its parameters.\n")
    }

    @Test func structsPrintAsKamailios() throws {
        let uptime = try kamcmd(unix, ["core.uptime"]).out.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(uptime.count == 6, "\(uptime)")
        #expect(uptime.first == "{" && uptime[4] == "}" && uptime[5] == "")
        #expect(uptime[1].hasPrefix("\tnow: ") && uptime[2].hasPrefix("\tup_since: "))
        #expect(uptime[3].wholeMatch(of: /\tuptime: \d+/) != nil)
        let shm = try kamcmd(unix, ["core.shmmem"]).out
        #expect(
            shm.wholeMatch(
                of:
                    /\{\n\ttotal: \d+\n\tfree: \d+\n\tused: \d+\n\treal_used: \d+\n\tmax_used: \d+\n\tfragments: \d+\n\}\n/
            )
                != nil, "\(shm)")
        // A struct inside a struct is indented one more tab.
        let sockets = try kamcmd(unix, ["core.sockets_list"]).out
        #expect(sockets.hasPrefix("{\n\tsocket: {\n\t\tproto: udp\n\t\taddress: 127.0.0.1\n\t\tport: \(server.port)\n"))
        #expect(sockets.hasSuffix("\t}\n}\n"))
        // Several structs, one after the other.
        let psx = try kamcmd(unix, ["core.psx"]).out
        #expect(psx.hasPrefix("{\n\tIDX: 0\n\tPID: "))
        #expect(psx.contains("\tDSC: main process - attendant\n}\n{\n\tIDX: 1\n"))
    }

    @Test func kexStatistics() throws {
        let client = UDPClient()
        client.send(sipRequest(optionsRequest(), clientPort: client.port), to: server.port)
        _ = client.receive()
        let lines = try kamcmd(unix, ["stats.get_statistics", "all"]).out.split(separator: "\n")
        #expect(lines.count > 20)
        #expect(lines.allSatisfy { $0.wholeMatch(of: /[a-z0-9_]+:[A-Za-z0-9_]+ = \d+/) != nil })
        #expect(lines.contains("sl:200_replies = 1"))
        #expect(lines.contains("core:rcv_requests = 1"))
        let fetched = try kamcmd(unix, ["stats.fetch", "sl:"]).out
        #expect(fetched.hasPrefix("{\n\tsl."))
        #expect(fetched.contains("\n\tsl.200_replies: 1\n"))
    }

    @Test func tcpAndUDPAndTheCtlCommands() throws {
        let tcp = "tcp:127.0.0.1:\(tcpPort)"
        let udp = "udp:127.0.0.1:\(udpPort)"
        #expect(try kamcmd(tcp, ["core.version"]).out == "swiftlet 0.1.0 (x86_64/linux)\n")
        #expect(try kamcmd(udp, ["core.echo", "x", "s:7"]).out == "x\n7\n")
        #expect(try kamcmd(tcp, ["no.such"]).out == "error: 500 - command no.such not found\n")
        #expect(
            try kamcmd(unix, ["ctl.listen"]).out
                == "binrpc\nunix_stream\n\(unixSocket)\n\nbinrpc\ntcp\n127.0.0.1\n\(tcpPort)\n"
                + "binrpc\nudp\n127.0.0.1\n\(udpPort)\n")
        #expect(try kamcmd(unix, ["ctl.connections"]).out == "1\n")
        #expect(try kamcmd(udp, ["ctl.connections"]).out == "0\n")
        #expect(
            try kamcmd(unix, ["ctl.who"]).out
                == "binrpc\nunix_stream\n<anonymous unix socket>\n\n\(unixSocket)\n\n")
        let who = try kamcmd(tcp, ["ctl.who"]).out
        #expect(
            who.wholeMatch(of: /binrpc\ntcp\n127\.0\.0\.1\n\d+\n127\.0\.0\.1\n(\d+)\n/)?.1 == "\(tcpPort)", "\(who)")
        let udpWho = try kamcmd(udp, ["ctl.who"]).out
        #expect(udpWho == "error: 400 - no open stream connection\n", "\(udpWho)")
        // The socket file has the configured mode (0660).
        var st = stat()
        #expect(stat(unixSocket, &st) == 0 && st.st_mode & 0o777 == 0o660)
    }

    /// ctl's connection commands answer only over ctl, as in Kamailio (jsonrpcs gets 606).
    @Test func connectionCommandsFailThroughJsonrpcs() throws {
        let p = SpawnedProcess()
        p.executableURL = URL(fileURLWithPath: productsDirectory + "/swiftletctl")
        p.arguments = ["-s", dir.path + "/rpc.sock", "ctl.who"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let error = json?["error"] as? [String: Any]
        #expect(error?["code"] as? Int == 606)
        #expect(error?["message"] as? String == "rpc available only over binrpc (ctl)")
    }

    /// The socket file is removed at exit.
    @Test func socketRemovedAtExit() throws {
        #expect(FileManager.default.fileExists(atPath: unixSocket))
        server.stop()
        #expect(!FileManager.default.fileExists(atPath: unixSocket))
    }
}

/// Without `binrpc`, ctl listens on `swiftlet_ctl` in the runtime directory (`-Y`), as
/// Kamailio on `kamailio_ctl` in its own; a reply larger than `binrpc_max_body_size` KiB is
/// Kamailio's overflow fault.
@Test(.enabled(if: FileManager.default.fileExists(atPath: kamcmdPath), "needs kamcmd (apt-get install kamailio)"))
func ctlDefaultSocketAndBodyLimit() throws {
    let run = TemporaryDirectory()
    let server = try TestServer(
        config: """
            log_stderror=yes
            children=1
            listen=udp:127.0.0.1:PORT
            loadmodule "ctl.so"
            modparam("ctl", "binrpc_max_body_size", 1)
            request_route { drop; }
            """, extraArguments: ["-Y", run.path + "/rt"])
    let socket = run.path + "/rt/swiftlet_ctl"
    func kamcmd(_ args: [String]) throws -> String {
        let p = SpawnedProcess()
        p.executableURL = URL(fileURLWithPath: kamcmdPath)
        p.arguments = ["-s", "unix:" + socket] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
    var version = ""
    for _ in 0..<100 where version.isEmpty {
        version = (try? kamcmd(["core.version"])) ?? ""
        if version.isEmpty { usleep(50_000) }
    }
    #expect(version == "swiftlet 0.1.0 (x86_64/linux)\n")
    // Kamailio names the command's formatting character (`S` for core.echo); strings are `s` here.
    let long = String(repeating: "x", count: 600)
    #expect(try kamcmd(["core.echo", long]) == long + "\n")
    #expect(
        try kamcmd(["core.echo", long, long])
            == "error: 500 - Internal server error processing 's': buffer too small (overflow) (-2)\n")
    // The default mode is 0600.
    var st = stat()
    #expect(stat(socket, &st) == 0 && st.st_mode & 0o777 == 0o600)
    server.stop()
}
