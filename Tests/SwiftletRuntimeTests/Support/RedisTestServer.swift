import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where Debian's redis-server is (apt-get install redis-server), if installed.
let redisServerPath: String? = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

/// Why a test's redis-server did not start: it exited (the port was taken) or did not accept
/// connections within 10 s.
struct RedisTestServerError: Error, CustomStringConvertible {
    let port: Int
    let exited: Bool
    var description: String {
        exited
            ? "redis-server exited at start-up on port \(port)"
            : "redis-server did not accept on port \(port) within 10 s"
    }
}

/// A redis-server of the test's own on a free loopback port, without persistence; stopped
/// (and restartable on the same port) by the test.
final class RedisTestServer {
    private(set) var port: Int
    let password: String?
    private var process: SpawnedProcess?

    /// Starts the server on `port`, or on a free port: a port free for UDP can still be taken
    /// for TCP by another test, so without a given port up to three ports are tried.
    init(port: Int? = nil, password: String? = nil) throws {
        self.port = port ?? freeUDPPort()
        self.password = password
        var attempt = 0
        while true {
            do {
                try start()
                return
            } catch let error as RedisTestServerError where port == nil && error.exited && attempt < 2 {
                attempt += 1
                self.port = freeUDPPort()
            }
        }
    }

    func start() throws {
        let p = SpawnedProcess()
        p.executableURL = URL(fileURLWithPath: redisServerPath ?? "/usr/bin/redis-server")
        var args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        if let password { args += ["--requirepass", password] }
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        // Ready when it accepts a TCP connection.
        for _ in 0..<400 {
            if Self.accepts(port) { return }
            if !p.isRunning {
                process = nil
                throw RedisTestServerError(port: port, exited: true)
            }
            usleep(25_000)
        }
        stop()
        throw RedisTestServerError(port: port, exited: false)
    }

    func stop() {
        guard let p = process else { return }
        // SIGKILL: the test process blocks SIGTERM in the threads that start children, and
        // redis-server inherits that mask (it would never see a SIGTERM).
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    deinit { stop() }

    static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
