import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where Debian's rtpengine daemon is (apt-get install rtpengine-daemon), if installed.
let rtpengineDaemonPath: String? = ["/usr/bin/rtpengine", "/usr/sbin/rtpengine"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

/// An rtpengine of the test's own: ng control on a free loopback port, media ports in a
/// private range, user-space forwarding only (`--table=-1`), calls gone at `delete` (no
/// `--delete-delay`), stopped by the test.
final class RtpengineTestDaemon {
    let port: Int
    private var process: SpawnedProcess?

    init(port: Int = freeUDPPort()) throws {
        self.port = port
        let p = SpawnedProcess()
        p.executableURL = URL(fileURLWithPath: rtpengineDaemonPath ?? "/usr/bin/rtpengine")
        let media = 20000 + (port % 400) * 100
        p.arguments = [
            "--config-file=none", "--interface=127.0.0.1", "--listen-ng=127.0.0.1:\(port)", "--foreground",
            "--table=-1", "--delete-delay=0", "--log-stderr", "--port-min=\(media)", "--port-max=\(media + 99)",
        ]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        for _ in 0..<200 {
            if (try? NGTestClient(port: port).command("d7:command4:pinge"))?.contains("pong") == true { return }
            usleep(25_000)
        }
        throw CocoaError(.featureUnsupported)
    }

    func stop() {
        guard let p = process else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    deinit { stop() }
}

/// A minimal ng client for checks from the test side (raw bencode in, text out).
struct NGTestClient {
    let port: Int

    func command(_ bencode: String, timeoutMs: Int32 = 500) throws -> String? {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        // rtpengine answers a repeated cookie from its cache: a new one each time.
        let cookie = "t\(UInt32.random(in: 10_000_000...99_999_999))"
        let request = Array("\(cookie) \(bencode)".utf8)
        let sent = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, request, request.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard sent > 0 else { return nil }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, timeoutMs) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n > cookie.utf8.count + 1 else { return nil }
        return String(decoding: buffer[(cookie.utf8.count + 1)..<n], as: UTF8.self)
    }
}

/// An rtpengine that answers `ping` with `pong` and never answers anything else (an engine
/// that hangs on calls); records every request it gets.
final class SilentUDPPeer: @unchecked Sendable {
    let port: Int
    let fd: Int32
    private let lock = NSLock()
    private var received: [String] = []
    private var running = true
    private var thread: Thread?

    init() {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        _ = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        port = Int(UInt16(bigEndian: bound.sin_port))
        let t = Thread { [self] in serve() }
        thread = t
        t.start()
    }

    private func serve() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while lock.withLock({ running }) {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 20) == 1 else { continue }
            var from = sockaddr_storage()
            var fromLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = withUnsafeMutablePointer(to: &from) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(fd, &buffer, buffer.count, 0, $0, &fromLength)
                }
            }
            guard n > 0 else { continue }
            let text = String(decoding: buffer[0..<n], as: UTF8.self)
            lock.withLock { received.append(text) }
            guard text.hasSuffix("d7:command4:pinge"), let space = text.firstIndex(of: " ") else { continue }
            let reply = Array((text[...space] + "d6:result4:ponge").utf8)
            _ = withUnsafePointer(to: &from) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, reply, reply.count, 0, $0, fromLength)
                }
            }
        }
    }

    /// The requests received since the last call.
    func drain() -> [String] {
        lock.withLock {
            defer { received = [] }
            return received
        }
    }

    /// The requests other than pings.
    func commands() -> [String] { drain().filter { !$0.hasSuffix("d7:command4:pinge") } }

    deinit {
        lock.withLock { running = false }
        usleep(50_000)
        close(fd)
    }
}
