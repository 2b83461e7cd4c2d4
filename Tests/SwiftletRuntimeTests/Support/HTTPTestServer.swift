import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The Python HTTP/1.1 server of Tests/Fixtures/http on a free loopback port (HTTP, HTTPS or a
/// CONNECT proxy), recording every request it gets.
final class HTTPTestServer {
    let directory = TemporaryDirectory()
    let process = SpawnedProcess()
    let port: Int
    let logPath: String

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/http/test_http_server.py").path

    /// `tls`: certificate and key files for HTTPS; `proxyTo`: a CONNECT proxy to that port.
    init(tls: (cert: String, key: String)? = nil, proxyTo: Int? = nil) throws {
        logPath = directory.path + "/requests.jsonl"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        var args = [Self.script, "--log", logPath]
        if let tls { args += ["--tls", tls.cert, tls.key] }
        if let proxyTo { args += ["--proxy-to", String(proxyTo)] }
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = args
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        let handle = out.fileHandleForReading
        while !line.contains(10) {
            let d = handle.availableData
            guard !d.isEmpty else { throw TestFailure("the HTTP test server did not start") }
            line.append(d)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("PORT "), let p = Int(text.dropFirst(5).prefix { $0.isNumber }) else {
            throw TestFailure("the HTTP test server said \(text)")
        }
        port = p
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            _ = process.waitForExit(timeout: 5)
        }
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// One request as the server got it.
    struct Request {
        let method: String
        let path: String
        let headers: [String: String]
        let body: String
        let connection: Int
    }

    /// Every request so far, in order.
    var requests: [Request] {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return Request(
                method: o["method"] as? String ?? "", path: o["path"] as? String ?? "",
                headers: o["headers"] as? [String: String] ?? [:], body: o["body"] as? String ?? "",
                connection: o["conn"] as? Int ?? 0)
        }
    }
}

/// A TCP port on 127.0.0.1 that takes connections (the kernel completes the handshake) and
/// never answers: an HTTP peer that hangs.
final class BlackHoleListener {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 1024) == 0 else { throw TestFailure("black hole listener: errno \(errno)") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        port = Int(UInt16(bigEndian: addr.sin_port))
    }

    deinit { close(fd) }
}

/// A loopback port nothing listens on (connections are refused).
func refusedTCPPort() -> Int {
    let l = try? BlackHoleListener()
    return l?.port ?? 9  // closed when `l` goes away
}

/// A CA, a server certificate it signed for 127.0.0.1, localhost and hooks.slack.com, and a
/// second CA that signed nothing of it (made with the openssl command).
final class HTTPTestPKI {
    let directory = TemporaryDirectory()

    init() throws {
        for ca in ["ca", "other-ca"] {
            try openssl([
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                file(ca + ".key"), "-out", file(ca + ".pem"), "-days", "2", "-subj", "/CN=Swiftlet HTTP \(ca)",
            ])
        }
        try openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
            file("server.key"), "-out", file("server.csr"), "-subj", "/CN=localhost",
        ])
        let ext = directory.write("server.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:hooks.slack.com\n")
        try openssl([
            "x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"),
            "-CAcreateserial", "-out", file("server.pem"), "-days", "2", "-extfile", ext,
        ])
    }

    func file(_ name: String) -> String { directory.path + "/" + name }

    private func openssl(_ args: [String]) throws {
        let r = try runProgram("/usr/bin/openssl", args)
        guard r.status == 0 else { throw TestFailure("openssl \(args.joined(separator: " ")): \(r.stderr)") }
    }
}
