import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where Debian's nats-server is (apt-get install nats-server), if installed.
let natsServerPath: String? = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

/// A nats-server of the test's own on a free loopback port; stopped, paused (SIGSTOP: a
/// server that accepts but never reads) and restarted on the same port by the test.
final class NATSTestServer {
    let port: Int
    private var process: SpawnedProcess?

    init(port: Int = freeNATSPort(), start: Bool = true) throws {
        self.port = port
        if start { try self.start() }
    }

    var url: String { "nats://127.0.0.1:\(port)" }

    func start() throws {
        let p = SpawnedProcess()
        p.executableURL = URL(fileURLWithPath: natsServerPath ?? "/usr/sbin/nats-server")
        p.arguments = ["-a", "127.0.0.1", "-p", String(port)]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        for _ in 0..<200 {
            if RedisTestServer.accepts(port) { return }
            usleep(25_000)
        }
        throw TestFailure("nats-server did not start on port \(port)")
    }

    /// SIGKILL (see RedisTestServer.stop: the server would not see a SIGTERM).
    func stop() {
        guard let p = process else { return }
        kill(p.processIdentifier, SIGCONT)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    /// Freezes the server (it keeps its connections but reads nothing), or thaws it.
    func pause() { if let p = process { kill(p.processIdentifier, SIGSTOP) } }
    func resume() { if let p = process { kill(p.processIdentifier, SIGCONT) } }

    deinit { stop() }
}

/// A free TCP port on 127.0.0.1 for a nats-server (bound once, then released).
func freeNATSPort() -> Int {
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

/// A NATS client speaking the text protocol over TCP (CONNECT, SUB, PUB, PING; MSG, PING
/// answered): enough to see what the server under test publishes and to publish to it.
final class NATSTestClient {
    private let tcp: TCPClient
    private var pending: [UInt8] = []

    /// Connects, and returns once the server answered a PING (CONNECT and SUBs are done).
    init(port: Int, subscribe subjects: [String] = []) throws {
        tcp = try TCPClient(port: port)
        tcp.send("CONNECT {\"verbose\":false,\"pedantic\":false}\r\n")
        for (i, s) in subjects.enumerated() { tcp.send("SUB \(s) \(i + 1)\r\n") }
        try flush()
    }

    /// Publishes `payload` to `subject` and waits until the server has it.
    func publish(_ subject: String, _ payload: String) throws {
        tcp.send("PUB \(subject) \(payload.utf8.count)\r\n\(payload)\r\n")
        try flush()
    }

    /// PING, then waits for the PONG (the server processed everything sent before).
    func flush(timeout: Double = 5) throws {
        tcp.send("PING\r\n")
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard let line = nextLine(deadline: deadline) else { break }
            if line == "PONG" { return }
            if line.hasPrefix("MSG ") { _ = readPayload(header: line, deadline: deadline) }
        }
        throw TestFailure("no PONG from the nats server")
    }

    /// The messages (subject, payload) received within `timeout` seconds, stopping early
    /// once `count` have come.
    func messages(count: Int, timeout: Double = 5) -> [(subject: String, payload: String)] {
        var out: [(String, String)] = []
        let deadline = Date().addingTimeInterval(timeout)
        while out.count < count, let line = nextLine(deadline: deadline) {
            if line.hasPrefix("MSG "), let m = readPayload(header: line, deadline: deadline) { out.append(m) }
        }
        return out
    }

    /// `MSG <subject> <sid> [reply-to] <#bytes>` then the payload line.
    private func readPayload(header: String, deadline: Date) -> (String, String)? {
        let parts = header.split(separator: " ")
        guard parts.count >= 4, let size = Int(parts[parts.count - 1]) else { return nil }
        while pending.count < size + 2 {
            guard receive(deadline: deadline) else { return nil }
        }
        let payload = String(decoding: pending[0..<size], as: UTF8.self)
        pending.removeFirst(size + 2)
        return (String(parts[1]), payload)
    }

    /// The next protocol line (PINGs from the server are answered and skipped).
    private func nextLine(deadline: Date) -> String? {
        while true {
            if let end = findCRLF() {
                let line = String(decoding: pending[0..<end], as: UTF8.self)
                pending.removeFirst(end + 2)
                if line == "PING" {
                    tcp.send("PONG\r\n")
                    continue
                }
                if line.hasPrefix("INFO ") || line == "+OK" { continue }
                return line
            }
            guard receive(deadline: deadline) else { return nil }
        }
    }

    private func findCRLF() -> Int? {
        guard pending.count >= 2 else { return nil }
        for i in 0..<(pending.count - 1) where pending[i] == 13 && pending[i + 1] == 10 { return i }
        return nil
    }

    private func receive(deadline: Date) -> Bool {
        let left = deadline.timeIntervalSinceNow
        guard left > 0 else { return false }
        var pfd = pollfd(fd: tcp.fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(left * 1000)) == 1 else { return false }
        var buf = [UInt8](repeating: 0, count: 65536)
        let n = recv(tcp.fd, &buf, buf.count, 0)
        guard n > 0 else { return false }
        pending += buf[0..<n]
        return true
    }
}
