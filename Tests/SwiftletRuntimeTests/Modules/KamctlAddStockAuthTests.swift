import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `kamctl add` (Debian's kamctl, MYSQL engine) creates a subscriber in a kamailio database
/// made by scripts/dbschema.sh, and Swiftlet running the stock configuration with WITH_MYSQL
/// and WITH_AUTH (only the listen address and the DB URL changed) authenticates a REGISTER
/// with that password: 401 first, 200 with the right credentials, 401 again with a wrong one.
@Suite(
    .serialized,
    .enabled(
        if: FileManager.default.fileExists(atPath: "/usr/sbin/kamctl") && StockConfigTests.present
            && DatabaseEngine.mysql.isInstalled && mariadbClientPath != nil,
        "needs kamctl, the stock configuration and MariaDB"))
struct KamctlAddStockAuthTests {
    @Test func kamctlAddedUserRegistersThroughTheStockConfig() throws {
        let db = try SharedDatabaseServers.mariadb()
        let name = "kamctl_ops"
        _ = try db.sql("DROP DATABASE IF EXISTS \(name); CREATE DATABASE \(name) CHARACTER SET utf8mb4", database: nil)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scripts/dbschema.sh").path
        _ = try db.sql(try runProcess("/bin/bash", [script, "mysql"]), database: name)

        let mysqlDir = TemporaryDirectory()
        // kamctl calls `mysql`: Debian's client may be named mariadb only.
        let client = mysqlDir.path + "/mysql"
        try FileManager.default.createSymbolicLink(atPath: client, withDestinationPath: mariadbClientPath!)
        let env = [
            "DBENGINE=MYSQL", "DBHOST=127.0.0.1", "DBPORT=\(db.port)", "DBNAME=\(name)", "DBRWUSER=kamailio",
            "DBRWPW=secret", "DBROUSER=kamailio", "DBROPW=secret", "SIP_DOMAIN=127.0.0.1",
            "PATH=\(mysqlDir.path):/usr/sbin:/usr/bin:/sbin:/bin",
        ]
        let added = try runProgram("/usr/bin/env", env + ["/usr/sbin/kamctl", "add", "alice", "wonderland"])
        #expect(added.status == 0, "\(added.stdout)\(added.stderr)")
        let row = try db.sql("SELECT username, domain, password FROM subscriber", database: name)
        #expect(row.contains("alice") && row.contains("127.0.0.1") && row.contains("wonderland"), "\(row)")

        let run = TemporaryDirectory()
        let port = freeUDPPort()
        let stock = try String(contentsOfFile: StockConfigTests.stock, encoding: .utf8)
        let server = try TestServer(
            config: stock, port: port,
            extraArguments: [
                "-l", "udp:127.0.0.1:\(port)", "-Y", run.path, "-A", "WITH_MYSQL", "-A", "WITH_AUTH", "-A",
                "DBURL=\"mysql://kamailio:secret@127.0.0.1:\(db.port)/\(name)\"",
            ])
        let ua = UDPClient()
        func register(_ cseq: Int, _ authorization: String?) -> String? {
            var lines = [
                "REGISTER sip:127.0.0.1:\(port) SIP/2.0",
                "Via: SIP/2.0/UDP 127.0.0.1:\(ua.port);rport;branch=z9hG4bKkamctl\(cseq)",
                "From: <sip:alice@127.0.0.1>;tag=k1", "To: <sip:alice@127.0.0.1>", "Call-ID: kamctl-add-1",
                "CSeq: \(cseq) REGISTER", "Contact: <sip:alice@127.0.0.1:\(ua.port)>;expires=300", "Max-Forwards: 70",
            ]
            if let authorization { lines.append(authorization) }
            ua.send((lines + ["Content-Length: 0"]).joined(separator: "\r\n") + "\r\n\r\n", to: port)
            return ua.receive(timeout: 5)
        }
        let challenge = try #require(register(1, nil), "\(server.log)")
        #expect(challenge.hasPrefix("SIP/2.0 401"), "\(challenge)")
        let line = try #require(challenge.components(separatedBy: "\r\n").first { $0.hasPrefix("WWW-Authenticate:") })
        let nonce = try #require(digestParameter(line, "nonce"))
        let digest = DigestClient(username: "alice", realm: "127.0.0.1", password: "wonderland")
        let uri = "sip:127.0.0.1:\(port)"
        let ok = register(2, digest.header(method: "REGISTER", uri: uri, nonce: nonce))
        #expect(ok?.hasPrefix("SIP/2.0 200") == true, "\(ok ?? "")\n\(server.log)")
        var wrong = digest
        wrong.password = "looking-glass"
        let refused = register(3, wrong.header(method: "REGISTER", uri: uri, nonce: nonce))
        #expect(refused?.hasPrefix("SIP/2.0 401") == true, "\(refused ?? "")")
    }
}
