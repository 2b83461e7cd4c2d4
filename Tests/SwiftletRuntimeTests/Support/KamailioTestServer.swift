import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Debian's Kamailio 5.6.3 (apt-get install kamailio), if installed.
let kamailioPath: String? = ["/usr/sbin/kamailio"].first { FileManager.default.isExecutableFile(atPath: $0) }
let kamailioModules = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"

/// A Kamailio process running a configuration (`PORT` in it is replaced by a free UDP port);
/// stopping it stops its children too.
final class KamailioTestServer {
    let directory = TemporaryDirectory()
    private(set) var port: Int
    private(set) var process = SpawnedProcess()
    let logPath: String

    /// Starts Kamailio on `port`, or on a free UDP port. A free port can be taken by another
    /// test between choosing it and Kamailio's bind: then Kamailio exits with "Address already
    /// in use" and it is started again on another free port (at most three times).
    init(config: String, port: Int? = nil) throws {
        logPath = directory.path + "/kamailio.log"
        self.port = port ?? freeUDPPort()
        for attempt in 1...3 {
            if try start(config) { return }
            guard port == nil, attempt < 3, log.contains("Address already in use") else { break }
            stop()
            process = SpawnedProcess()
            self.port = freeUDPPort()
        }
        throw KamailioFailed(log: self.log)
    }

    /// Runs Kamailio on `self.port`; true once it has bound the port, false if it exited or
    /// did not bind within 5 s.
    private func start(_ config: String) throws -> Bool {
        let cfg = directory.write("kamailio.cfg", config.replacingOccurrences(of: "PORT", with: String(port)))
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: kamailioPath ?? "/usr/sbin/kamailio")
        process.arguments = ["-f", cfg, "-DD", "-E", "-Y", directory.path, "-w", directory.path]
        let log = FileHandle(forWritingAtPath: logPath)
        process.standardOutput = log
        process.standardError = log
        try process.run()
        // Ready when its UDP port is taken.
        for _ in 0..<200 {
            if !process.isRunning { return false }
            if !Self.canBind(port) { return true }
            usleep(25_000)
        }
        return false
    }

    struct KamailioFailed: Error, CustomStringConvertible {
        let log: String
        var description: String { "kamailio did not start: \(log.suffix(2000))" }
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Stops Kamailio's children, then Kamailio, with SIGKILL: the test process blocks SIGTERM
    /// in the threads that start children, and they inherit that mask.
    func stop() {
        guard process.isRunning else { return }
        // Main first: a Kamailio main process that sees a child die signals its whole
        // process group (kill(0, SIGTERM)), which is the test runner's.
        let main = process.processIdentifier
        let children = Self.children(of: main)
        kill(main, SIGKILL)
        for child in children { kill(child, SIGKILL) }
        _ = process.waitForExit(timeout: 10)
    }

    /// The processes whose parent is `pid` (from /proc/<pid>/stat).
    static func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { name -> Int32? in
            guard let p = Int32(name), let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid ? p : nil
        }
    }

    deinit { stop() }

    static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
