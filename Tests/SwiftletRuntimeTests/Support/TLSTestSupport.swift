import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A test CA with server and client certificates, made with the openssl command (EC keys,
/// valid two days), plus a second CA nobody trusts and a client certificate it signed, and
/// a revocation list (`crl.pem`) on which the CA revoked client certificate `revoked`.
final class TestPKI {
    let directory = TemporaryDirectory()
    var path: String { directory.path }

    init() throws {
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
            file("ca.key"), "-out", file("ca.pem"), "-days", "2", "-subj", "/O=Swiftlet/CN=Swiftlet Test CA",
        ])
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
            file("rogue-ca.key"), "-out", file("rogue-ca.pem"), "-days", "2", "-subj", "/CN=Rogue CA",
        ])
        try issue("server", subject: "/O=Swiftlet/CN=server.test", san: "IP:127.0.0.1,DNS:server.test")
        try issue("other", subject: "/O=Swiftlet/CN=other.test", san: "DNS:other.test")
        try issue("client", subject: "/C=DE/O=Swiftlet/CN=alice", san: "email:alice@example.test")
        try issue("mallory", subject: "/CN=mallory", san: "DNS:mallory.test", ca: "rogue-ca")
        try issue("revoked", subject: "/O=Swiftlet/CN=bob", san: "email:bob@example.test")
        _ = directory.write("index.txt", "")
        _ = directory.write("crlnumber", "01\n")
        let ca = directory.write(
            "ca.cnf",
            "[ca]\ndefault_ca=d\n[d]\ndatabase=\(file("index.txt"))\ncrlnumber=\(file("crlnumber"))\n"
                + "default_md=sha256\ndefault_crl_days=2\n")
        try openssl([
            "ca", "-config", ca, "-revoke", file("revoked.pem"), "-keyfile", file("ca.key"), "-cert", file("ca.pem"),
        ])
        try openssl([
            "ca", "-config", ca, "-gencrl", "-keyfile", file("ca.key"), "-cert", file("ca.pem"), "-out",
            file("crl.pem"),
        ])
    }

    /// The path of a file of the PKI (`ca.pem`, `server.key`, ...).
    func file(_ name: String) -> String { path + "/" + name }

    private func issue(_ name: String, subject: String, san: String, ca: String = "ca") throws {
        try openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
            file(name + ".key"), "-out", file(name + ".csr"), "-subj", subject,
        ])
        let ext = directory.write(name + ".ext", "subjectAltName=\(san)\n")
        try openssl([
            "x509", "-req", "-in", file(name + ".csr"), "-CA", file(ca + ".pem"), "-CAkey", file(ca + ".key"),
            "-CAcreateserial", "-out", file(name + ".pem"), "-days", "2", "-extfile", ext,
        ])
    }

    private func openssl(_ args: [String]) throws {
        let r = try runProgram("/usr/bin/openssl", args)
        guard r.status == 0 else { throw TestFailure("openssl \(args.joined(separator: " ")): \(r.stderr)") }
    }
}

/// A long-running helper process (openssl s_client, a Python party) whose stdout and stderr
/// are collected, with a pipe to its stdin.
final class InteractiveProcess: @unchecked Sendable {
    let process = SpawnedProcess()
    private let input = Pipe()
    private let output = Pipe()
    private let lock = NSLock()
    private var collected = ""

    init(_ path: String, _ args: [String]) throws {
        signal(SIGPIPE, SIG_IGN)  // a write to the stdin of a process that ended
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = args
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        output.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self, !d.isEmpty else { return }
            self.lock.lock()
            self.collected += String(decoding: d, as: UTF8.self)
            self.lock.unlock()
        }
        try process.run()
    }

    /// Everything it printed so far.
    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return collected
    }

    /// Writes to its stdin (nothing once it has ended).
    func send(_ text: String) { try? input.fileHandleForWriting.write(contentsOf: Data(text.utf8)) }

    /// Closes its stdin (s_client without `-quiet` then ends).
    func closeInput() { try? input.fileHandleForWriting.close() }

    /// Waits until its output contains `text` (false once it ended without).
    func waitFor(_ text: String, timeout: TimeInterval = 5) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if self.text.contains(text) { return true }
            if !process.isRunning {
                usleep(100_000)  // the last output
                return self.text.contains(text)
            }
            usleep(20_000)
        }
        return false
    }

    /// Waits for it to end by itself; false when it still runs after `timeout`.
    func waitForExit(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        return !process.isRunning
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        _ = process.waitForExit(timeout: 5)
        output.fileHandleForReading.readabilityHandler = nil
    }

    deinit { stop() }
}

/// `openssl s_client` connected to the TLS port, trusting the test CA, with a client
/// certificate (`client`, `mallory`) and an SNI name when given.
func tlsClient(port: Int, pki: TestPKI, certificate: String? = nil, serverName: String? = nil) throws
    -> InteractiveProcess
{
    var args = ["s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", pki.file("ca.pem"), "-quiet"]
    if let c = certificate { args += ["-cert", pki.file(c + ".pem"), "-key", pki.file(c + ".key")] }
    if let n = serverName { args += ["-servername", n] } else { args += ["-noservername"] }
    return try InteractiveProcess("/usr/bin/openssl", args)
}

/// An OPTIONS for the server itself, as a client on `localPort` sends it over TLS.
func tlsOptions(port: Int, callID: String = UUID().uuidString) -> String {
    "OPTIONS sip:ping@127.0.0.1:\(port) SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-\(callID)\r\n"
        + "From: <sip:alice@client.test>;tag=1\r\nTo: <sip:ping@127.0.0.1:\(port)>\r\nCall-ID: \(callID)\r\n"
        + "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
}

/// A free TCP port on 127.0.0.1 (bound once, then released), for stream listeners.
func freeStreamPort() -> Int {
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
