import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Where SwiftPM put the built products (the test bundle lives beside them).
let productsDirectory: String = {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
    // On some layouts the runner sits inside a .xctest bundle directory.
    while dir.path != "/", !FileManager.default.fileExists(atPath: dir.appendingPathComponent("swiftlet").path) {
        dir = dir.deletingLastPathComponent()
    }
    return dir.path
}()

let swiftletBinary = productsDirectory + "/swiftlet"

/// A port free for UDP on 127.0.0.1 (bound once, then released) that is also free for TCP
/// there at that moment: tests start SIPp and servers over TCP on it too, and a UDP port
/// alone may be the local port of another test's TCP connection (SIPp then exits 254,
/// "cannot bind").
func freeUDPPort() -> Int {
    for _ in 0..<64 {
        let port = boundPort(type: SOCK_DGRAM, port: 0)
        if port > 0, boundPort(type: SOCK_STREAM, port: port) == port { return port }
    }
    return boundPort(type: SOCK_DGRAM, port: 0)
}

/// Binds a socket of `type` to 127.0.0.1:`port` (0: any) and returns the port it got, or
/// -1 when the bind fails; the socket is closed again.
private func boundPort(type: __socket_type, port: Int) -> Int {
    let fd = socket(AF_INET, Int32(type.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp in
            bind(fd, sp, len) == 0 && getsockname(fd, sp, &len) == 0
        }
    }
    return ok ? Int(UInt16(bigEndian: addr.sin_port)) : -1
}

/// A temporary directory removed at the end of the test.
final class TemporaryDirectory {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "swiftlet-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func write(_ name: String, _ text: String) -> String {
        let p = path + "/" + name
        _ = FileManager.default.createFile(atPath: p, contents: Data(text.utf8))
        return p
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs the swiftlet binary to completion (for -c, -V, bad configurations).
func runSwiftlet(_ args: [String], timeout: TimeInterval = 20) throws -> (status: Int32, stdout: String, stderr: String)
{
    try runProgram(swiftletBinary, args, timeout: timeout)
}

/// Runs a program to its end (killed after `timeout`): its status and output (through
/// `posix_spawn`, see `spawnProgram`).
func runProgram(_ path: String, _ args: [String], timeout: TimeInterval = 20) throws -> (
    status: Int32, stdout: String, stderr: String
) {
    try spawnProgram(path, args, timeout: timeout)
}

/// A swiftlet server process running a configuration, in the foreground, logging to a file.
final class TestServer {
    let directory = TemporaryDirectory()
    let port: Int
    let process = SpawnedProcess()
    let logPath: String

    /// Starts the server with `config`, where `PORT` is replaced by a free port; `environment`
    /// is added to the test's own.
    /// A port that was free for UDP may be taken for TCP (another test's client connection):
    /// when the server cannot bind it, it is started again on another port (3 tries).
    convenience init(config: String, extraArguments: [String] = [], environment: [String: String] = [:]) throws {
        var attempt = 0
        while true {
            do {
                try self.init(
                    config: config, port: freeUDPPort(), extraArguments: extraArguments, environment: environment)
                return
            } catch let failure as TestFailure
                where attempt < 2 && failure.description.contains("Address already in use")
            {
                attempt += 1
            }
        }
    }

    /// The same on `port` (a restart on the port of a stopped server).
    init(config: String, port: Int, extraArguments: [String] = [], environment: [String: String] = [:]) throws {
        self.port = port
        let cfg = directory.write("swiftlet.cfg", config.replacingOccurrences(of: "PORT", with: String(port)))
        logPath = directory.path + "/server.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: logPath)!
        process.executableURL = URL(fileURLWithPath: swiftletBinary)
        process.arguments = ["-f", cfg, "-DD", "-E", "-L", productsDirectory] + extraArguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while !log_().contains("Listening on") {
            guard process.isRunning, Date() < deadline else {
                throw TestFailure("server did not start: \(log_())")
            }
            usleep(20_000)
        }
    }

    private func log_() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// What the server has logged so far.
    var log: String { log_() }

    /// Waits until the log contains `text` (or the timeout passes).
    func waitForLog(_ text: String, timeout: TimeInterval = 5) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if log.contains(text) { return true }
            usleep(20_000)
        }
        return false
    }

    /// Sends SIGTERM and returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning, Date() < deadline { usleep(20_000) }
            if process.isRunning && !SpawnedProcess.isZombie(process.processIdentifier) {
                kill(process.processIdentifier, SIGKILL)
            }
        }
        // Not waitUntilExit(): it hangs on a child the runner did not reap (heavy load).
        return process.waitForExit(timeout: 10)
    }

    deinit { stop() }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// A UDP client bound to 127.0.0.1 on an ephemeral port.
final class UDPClient {
    let fd: Int32
    let port: Int

    init() {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
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
        port = Int(UInt16(bigEndian: addr.sin_port))
    }

    deinit { close(fd) }

    func send(_ text: String, to port: Int) {
        send(Array(text.utf8), to: port)
    }

    func send(_ bytes: [UInt8], to port: Int) {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        _ = bytes.withUnsafeBytes { buf in
            withUnsafePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, buf.baseAddress, buf.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    /// The next datagram, or nil after `timeout` seconds.
    func receive(timeout: Double = 2) -> String? {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(timeout * 1000)) == 1 else { return nil }
        var buf = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buf, buf.count, 0)
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n], as: UTF8.self)
    }
}

/// A request with CRLF line ends; `PORT` in `lines` is replaced by the client's port.
func sipRequest(_ lines: [String], clientPort: Int) -> String {
    lines.map { $0.replacingOccurrences(of: "CPORT", with: String(clientPort)) }.joined(separator: "\r\n") + "\r\n\r\n"
}

/// Splits a reply into its first line and header lines.
func replyLines(_ reply: String) -> [String] {
    Array(reply.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n"))
}

/// True when `log` has a line from `origin` (`<core>`, or a module's name) in Kamailio's form
/// `LEVEL: origin [file:line]: function(): text...` (any level when `level` is nil).
func logHasLine(_ log: String, _ level: String?, _ origin: String, _ text: String) -> Bool {
    let head = level.map { "\($0): \(origin) [" } ?? ": \(origin) ["
    return log.split(separator: "\n").contains { line in
        guard let start = line.range(of: head) else { return false }
        let rest = line[start.upperBound...]
        guard let location = rest.range(of: "]: "), location.lowerBound > rest.startIndex,
            rest[..<location.lowerBound].contains(":")
        else { return false }
        let afterLocation = rest[location.upperBound...]
        guard let function = afterLocation.range(of: "(): ") else { return false }
        return afterLocation[function.upperBound...].hasPrefix(text)
    }
}
