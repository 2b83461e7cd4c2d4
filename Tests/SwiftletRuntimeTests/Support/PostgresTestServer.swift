import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The bin directory of Debian's PostgreSQL server (apt-get install postgresql), if installed.
let postgresBinDirectory: String? = {
    let base = "/usr/lib/postgresql"
    let versions = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
    return versions.sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }.map { "\(base)/\($0)/bin" }.first {
        FileManager.default.isExecutableFile(atPath: "\($0)/initdb")
            && FileManager.default.isExecutableFile(atPath: "\($0)/postgres")
    }
}()

/// A private PostgreSQL cluster: `initdb` in a temporary directory, `postgres` on a free
/// loopback port with trust authentication (any password is accepted), database
/// `kamailio` created. As root (CI) the server runs as the `postgres` user, which Debian's
/// package creates, through `setpriv` (PostgreSQL refuses to run as root). Stopped and
/// restartable on the same port and data by the test; the directory goes with the object.
final class PostgresTestServer {
    let port: Int
    let directory: String
    let database = "kamailio"
    private var process: Process?
    private let bin: String

    /// The URL of the test database for `db_url`.
    var url: String { "postgres://kamailio:secret@127.0.0.1:\(port)/\(database)" }

    init(port: Int = freeUDPPort()) throws {
        guard let bin = postgresBinDirectory else { throw TestServerError("postgresql is not installed") }
        self.bin = bin
        self.port = port
        directory = try makeTestServerDirectory("swiftlet-pg", owner: geteuid() == 0 ? "postgres" : nil)
        try runAsServerUser(
            "\(bin)/initdb",
            [
                "-D", "\(directory)/data", "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync",
                "--locale=C.UTF-8",
            ],
            log: "\(directory)/initdb.log")
        try start()
        try psql("CREATE DATABASE \(database)", database: "postgres")
        try psql("CREATE ROLE kamailio LOGIN SUPERUSER PASSWORD 'secret'", database: "postgres")
    }

    func start() throws {
        let p = Process()
        let args = [
            "\(bin)/postgres", "-D", "\(directory)/data", "-p", String(port), "-h", "127.0.0.1", "-k", directory,
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
        ]
        configureAsServerUser(p, args)
        let log = FileHandle(forWritingAtPath: "\(directory)/postgres.log") ?? FileHandle.nullDevice
        p.standardOutput = log
        p.standardError = log
        try p.run()
        process = p
        for _ in 0..<400 {
            if RedisTestServer.accepts(port), (try? psql("SELECT 1", database: "postgres")) != nil { return }
            if !p.isRunning { break }
            usleep(25_000)
        }
        throw TestServerError(
            "postgres did not start: "
                + ((try? String(contentsOfFile: "\(directory)/postgres.log", encoding: .utf8)) ?? ""))
    }

    /// Stops the server (fast shutdown: open connections are closed).
    func stop() {
        guard let p = process else { return }
        kill(p.processIdentifier, SIGINT)
        for _ in 0..<400 where p.isRunning { usleep(25_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        process = nil
    }

    /// Runs SQL text with psql (as the postgres superuser); throws when psql fails.
    @discardableResult
    func psql(_ sql: String, database: String? = nil) throws -> String {
        try runProcess(
            "\(bin)/psql",
            [
                "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(port), "-U",
                "postgres",
                "-d", database ?? self.database, "-c", sql,
            ])
    }

    /// Removes the server's directory (after `stop()`).
    func removeDirectory() { try? FileManager.default.removeItem(atPath: directory) }

    deinit {
        stop()
        removeDirectory()
    }

    private func configureAsServerUser(_ p: Process, _ args: [String]) {
        if geteuid() == 0 {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            p.arguments = ["--reuid=postgres", "--regid=postgres", "--init-groups", "--"] + args
        } else {
            p.executableURL = URL(fileURLWithPath: args[0])
            p.arguments = Array(args.dropFirst())
        }
    }

    private func runAsServerUser(_ tool: String, _ args: [String], log: String) throws {
        let p = Process()
        configureAsServerUser(p, [tool] + args)
        FileManager.default.createFile(atPath: log, contents: nil)
        let h = FileHandle(forWritingAtPath: log) ?? FileHandle.nullDevice
        p.standardOutput = h
        p.standardError = h
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw TestServerError("\(tool) failed: " + ((try? String(contentsOfFile: log, encoding: .utf8)) ?? ""))
        }
    }
}

/// Why a test server could not be set up.
struct TestServerError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// A new temporary directory (mode 0700), owned by `owner` when given (the server's user).
func makeTestServerDirectory(_ prefix: String, owner: String?) throws -> String {
    var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
    guard let p = mkdtemp(&template) else { throw TestServerError("mkdtemp failed") }
    let path = String(cString: p)
    if let owner, let pw = getpwnam(owner) {
        chown(path, pw.pointee.pw_uid, pw.pointee.pw_gid)
    }
    return path
}

/// Runs a tool to its end; its standard output, or an error with its output when it failed.
@discardableResult
func runProcess(_ tool: String, _ args: [String], input: String? = nil) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: tool)
    p.arguments = args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    let inPipe = Pipe()
    if input != nil { p.standardInput = inPipe } else { p.standardInput = FileHandle.nullDevice }
    try p.run()
    if let input {
        inPipe.fileHandleForWriting.write(Data(input.utf8))
        try? inPipe.fileHandleForWriting.close()
    }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard p.terminationStatus == 0 else { throw TestServerError("\(tool) \(args.joined(separator: " ")): \(text)") }
    return text
}
