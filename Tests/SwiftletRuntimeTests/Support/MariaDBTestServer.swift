import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where Debian's MariaDB server and tools are (apt-get install mariadb-server), if installed.
let mariadbServerPath: String? = ["/usr/sbin/mariadbd", "/usr/sbin/mysqld"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}
let mariadbInstallPath: String? = ["/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}
let mariadbClientPath: String? = ["/usr/bin/mariadb", "/usr/bin/mysql"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

/// A private MariaDB server: `mariadb-install-db` in a temporary directory, `mariadbd` on a
/// free loopback port and its own socket, without grant tables (any user and password is
/// accepted), database `kamailio` created. As root it runs with `--user=root` (the test owns
/// the directory). Stopped and restartable on the same port and data by the test.
final class MariaDBTestServer {
    let port: Int
    let directory: String
    let database = "kamailio"
    private var process: SpawnedProcess?

    /// The URL of the test database for `db_url`.
    var url: String { "mysql://kamailio:secret@127.0.0.1:\(port)/\(database)" }

    init(port: Int = freeDatabasePort()) throws {
        guard let install = mariadbInstallPath, mariadbServerPath != nil, mariadbClientPath != nil else {
            throw TestServerError("mariadb-server is not installed")
        }
        self.port = port
        directory = try makeTestServerDirectory("swiftlet-mariadb", owner: nil)
        try runProcess(
            install,
            [
                "--no-defaults", "--datadir=\(directory)/data", "--user=\(Self.userName)",
                "--auth-root-authentication-method=normal", "--skip-test-db",
            ])
        try start()
        try sql("CREATE DATABASE \(database) CHARACTER SET utf8mb4", database: nil)
    }

    static var userName: String { String(cString: getpwuid(geteuid()).pointee.pw_name) }

    func start() throws {
        let p = SpawnedProcess()
        p.executableURL = URL(fileURLWithPath: mariadbServerPath!)
        p.arguments = [
            "--no-defaults", "--datadir=\(directory)/data", "--port=\(port)", "--bind-address=127.0.0.1",
            "--socket=\(directory)/mysqld.sock", "--pid-file=\(directory)/mysqld.pid", "--user=\(Self.userName)",
            "--skip-grant-tables", "--log-error=\(directory)/error.log", "--innodb-flush-log-at-trx-commit=0",
            "--innodb-buffer-pool-size=16M", "--skip-log-bin",
        ]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        for _ in 0..<600 {
            if RedisTestServer.accepts(port), (try? sql("SELECT 1", database: nil)) != nil { return }
            if !p.isRunning { break }
            usleep(25_000)
        }
        throw TestServerError(
            "mariadbd did not start: "
                + ((try? String(contentsOfFile: "\(directory)/error.log", encoding: .utf8)) ?? ""))
    }

    /// Stops the server (SIGTERM is a clean shutdown; SIGKILL if it does not end).
    func stop() {
        guard let p = process else { return }
        kill(p.processIdentifier, SIGTERM)
        for _ in 0..<400 where p.isRunning { usleep(25_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        process = nil
    }

    /// Runs SQL text with the mariadb client over TCP; throws when it fails.
    @discardableResult
    func sql(_ text: String, database: String? = "kamailio") throws -> String {
        var args = ["--no-defaults", "-h", "127.0.0.1", "-P", String(port), "-u", "root", "-N", "-B"]
        if let database { args += ["-D", database] }
        return try runProcess(mariadbClientPath!, args, input: text)
    }

    /// Removes the server's directory (after `stop()`).
    func removeDirectory() { try? FileManager.default.removeItem(atPath: directory) }

    deinit {
        stop()
        removeDirectory()
    }
}
