import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// STIR/SHAKEN certificates made with the openssl CLI in a temporary directory: a root CA, an
/// intermediate CA it signed and a leaf (EC P-256) the intermediate signed, plus a leaf of
/// another ("rogue") root that no CA list trusts.
///
/// Files: `ca.pem`, `inter.pem`, `leaf.pem` (the leaf alone), `chain.pem` (leaf then
/// intermediate), `leaf.key`, `rogue.pem` (leaf of the rogue root), `rogue.key`, and those of
/// `issueWithCA`.
final class SecSIPIDTestPKI {
    let directory = TemporaryDirectory()
    var path: String { directory.path }
    func file(_ name: String) -> String { path + "/" + name }

    init() throws {
        let ext = directory.write(
            "ext.cnf",
            """
            [ca]
            basicConstraints=critical,CA:TRUE
            keyUsage=critical,keyCertSign,cRLSign
            subjectKeyIdentifier=hash
            authorityKeyIdentifier=keyid
            [leaf]
            basicConstraints=critical,CA:FALSE
            keyUsage=critical,digitalSignature
            subjectKeyIdentifier=hash
            authorityKeyIdentifier=keyid
            """)
        for name in ["ca", "inter", "leaf", "rogueca", "rogue"] { try key(name) }
        try selfSigned("ca", subject: "/CN=Swiftlet Test STI-CA")
        try selfSigned("rogueca", subject: "/CN=Rogue CA")
        try sign("inter", subject: "/CN=Swiftlet Test Intermediate", by: "ca", section: "ca", ext: ext)
        try sign("leaf", subject: "/CN=Swiftlet Test SP", by: "inter", section: "leaf", ext: ext)
        try sign("rogue", subject: "/CN=Rogue SP", by: "rogueca", section: "leaf", ext: ext)
        _ = directory.write("chain.pem", try pem("leaf.pem") + pem("inter.pem"))
        try issueWithCA()
    }

    /// The certificate blocks of a PEM file (`openssl ca` writes a text dump before them).
    func pem(_ name: String) throws -> String {
        let text = try String(contentsOfFile: file(name), encoding: .utf8)
        guard let start = text.range(of: "-----BEGIN") else { return text }
        return String(text[start.lowerBound...])
    }

    /// With `openssl ca` as the intermediate: `expired-chain.pem` (a leaf valid in January
    /// 2020, `expired.key`), `revoked-chain.pem` (a leaf revoked in `crl.pem`, `revoked.key`).
    private func issueWithCA() throws {
        let db = path + "/ca"
        try FileManager.default.createDirectory(atPath: db + "/new", withIntermediateDirectories: true)
        _ = directory.write("ca/index.txt", "")
        _ = directory.write("ca/serial", "1000\n")
        let cnf = directory.write(
            "ca/ca.cnf",
            """
            [ca]
            default_ca = inter
            [inter]
            database = \(db)/index.txt
            new_certs_dir = \(db)/new
            certificate = \(file("inter.pem"))
            private_key = \(file("inter.key"))
            serial = \(db)/serial
            default_md = sha256
            policy = any
            default_days = 30
            default_crl_days = 30
            x509_extensions = leaf
            [any]
            commonName = supplied
            [leaf]
            basicConstraints = critical,CA:FALSE
            keyUsage = critical,digitalSignature
            """)
        for name in ["expired", "revoked"] {
            try key(name)
            try openssl([
                "req", "-new", "-key", file(name + ".key"), "-subj", "/CN=\(name)", "-out", file(name + ".csr"),
            ])
        }
        let ca = ["ca", "-batch", "-config", cnf]
        try openssl(
            ca + [
                "-in", file("expired.csr"), "-out", file("expired.pem"), "-startdate", "20200101000000Z", "-enddate",
                "20200201000000Z",
            ])
        try openssl(ca + ["-in", file("revoked.csr"), "-out", file("revoked.pem")])
        try openssl(ca + ["-revoke", file("revoked.pem")])
        try openssl(ca + ["-gencrl", "-out", file("crl.pem")])
        for name in ["expired", "revoked"] {
            _ = directory.write(name + "-chain.pem", try pem(name + ".pem") + pem("inter.pem"))
        }
    }

    private func openssl(_ args: [String]) throws {
        let r = try runProgram("/usr/bin/openssl", args)
        guard r.status == 0 else { throw TestFailure("openssl \(args.joined(separator: " ")): \(r.stderr)") }
    }

    private func key(_ name: String) throws {
        try openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", file(name + ".key")])
    }

    private func selfSigned(_ name: String, subject: String) throws {
        try openssl([
            "req", "-x509", "-new", "-key", file(name + ".key"), "-subj", subject, "-days", "30", "-sha256",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-out", file(name + ".pem"),
        ])
    }

    private func sign(_ name: String, subject: String, by issuer: String, section: String, ext: String) throws {
        try openssl(["req", "-new", "-key", file(name + ".key"), "-subj", subject, "-out", file(name + ".csr")])
        try openssl([
            "x509", "-req", "-in", file(name + ".csr"), "-CA", file(issuer + ".pem"), "-CAkey", file(issuer + ".key"),
            "-CAcreateserial", "-days", "30", "-sha256", "-extfile", ext, "-extensions", section, "-out",
            file(name + ".pem"),
        ])
    }
}

/// `python3 -m http.server` serving a directory on a free loopback TCP port; its request log
/// tells which paths were fetched.
final class TestHTTPFileServer {
    let port: Int
    let process = SpawnedProcess()
    let logPath: String

    init(directory: String) throws {
        port = freeLoopbackTCPPort()
        logPath = directory + "/../http-\(port).log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: logPath)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", directory]
        process.standardOutput = log
        process.standardError = log
        try process.run()
        for _ in 0..<200 {
            if loopbackTCPAccepts(port: port) { return }
            usleep(25_000)
        }
        throw TestFailure("http.server did not start")
    }

    /// The URL of `name` on this server.
    func url(_ name: String) -> String { "http://127.0.0.1:\(port)/\(name)" }

    /// How many GET requests for `/name` the server answered.
    func fetches(_ name: String) -> Int {
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return log.components(separatedBy: "\n").filter { $0.contains("\"GET /\(name) ") }.count
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        _ = process.waitForExit(timeout: 10)
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: logPath)
    }
}

/// A loopback TCP socket that listens but never accepts or answers: an HTTP fetch from it
/// connects (the kernel completes the handshake) and then waits until its timeout.
final class SilentTCPListener {
    let fd: Int32
    let port: Int

    init() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
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
        listen(fd, 16)
        port = Int(UInt16(bigEndian: addr.sin_port))
    }

    deinit { close(fd) }
}

/// A free TCP port on 127.0.0.1 (bound once, then released).
func freeLoopbackTCPPort() -> Int {
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

/// Whether a TCP connection to 127.0.0.1:`port` succeeds.
func loopbackTCPAccepts(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
}
