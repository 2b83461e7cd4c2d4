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
    private var process: SpawnedProcess?
    private let bin: String

    /// The URL of the test database for `db_url`.
    var url: String { "postgres://kamailio:secret@127.0.0.1:\(port)/\(database)" }

    init(port: Int = freeDatabasePort()) throws {
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
        let p = SpawnedProcess()
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

    private func configureAsServerUser(_ p: SpawnedProcess, _ args: [String]) {
        // The server's user may not enter the test's working directory (/root in CI).
        p.currentDirectoryURL = URL(fileURLWithPath: directory)
        if geteuid() == 0 {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            p.arguments = ["--reuid=postgres", "--regid=postgres", "--init-groups", "--"] + args
        } else {
            p.executableURL = URL(fileURLWithPath: args[0])
            p.arguments = Array(args.dropFirst())
        }
    }

    private func runAsServerUser(_ tool: String, _ args: [String], log: String) throws {
        let p = SpawnedProcess()
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
///
/// Spawned with `posix_spawn` directly, not Foundation's `Process`: the toolchain's
/// `Process.run()` copies whole `dirent` records while it lists `/proc/self/fd`, which reads
/// past glibc's buffer and crashed the test process three times (SIGSEGV in `memcpy`, fixed in
/// later swift-corelibs-foundation). The database tests call this hundreds of times.
@discardableResult
func runProcess(_ tool: String, _ args: [String], input: String? = nil) throws -> String {
    var outFDs: [Int32] = [-1, -1]
    var inFDs: [Int32] = [-1, -1]
    func closeOnExecPipe(_ fds: inout [Int32]) -> Bool {
        guard pipe(&fds) == 0 else { return false }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return true
    }
    guard closeOnExecPipe(&outFDs) else { throw TestServerError("pipe failed for \(tool)") }
    if input != nil, !closeOnExecPipe(&inFDs) {
        close(outFDs[0])
        close(outFDs[1])
        throw TestServerError("pipe failed for \(tool)")
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if input != nil {
        posix_spawn_file_actions_adddup2(&actions, inFDs[0], 0)
    } else {
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    }
    posix_spawn_file_actions_adddup2(&actions, outFDs[1], 1)
    posix_spawn_file_actions_adddup2(&actions, outFDs[1], 2)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    // The child starts with no signal blocked and SIGPIPE/SIGTERM at their defaults.
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    sigaddset(&defaults, SIGPIPE)
    sigaddset(&defaults, SIGTERM)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    let argv: [UnsafeMutablePointer<CChar>?] = ([tool] + args).map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, tool, &actions, &attributes, argv, environ)
    close(outFDs[1])
    if input != nil { close(inFDs[0]) }
    guard spawned == 0 else {
        close(outFDs[0])
        if input != nil { close(inFDs[1]) }
        throw TestServerError("\(tool): \(String(cString: strerror(spawned)))")
    }
    // The input is written from another thread so that a tool answering while it reads never
    // blocks on a full pipe.
    let writer = input.map { text in
        let fd = inFDs[1]
        let thread = Thread {
            let bytes = Array(text.utf8)
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                offset += n
            }
            close(fd)
        }
        thread.start()
        return thread
    }
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(outFDs[0], $0.baseAddress, $0.count) }
        if n > 0 {
            output.append(contentsOf: buffer[0..<n])
        } else if n < 0 && errno == EINTR {
            continue
        } else {
            break
        }
    }
    close(outFDs[0])
    _ = writer
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let text = String(decoding: output, as: UTF8.self)
    // WIFEXITED and WEXITSTATUS: the low 7 bits are 0 and the exit code is in bits 8-15.
    guard status & 0x7f == 0 && (status >> 8) & 0xff == 0 else {
        throw TestServerError("\(tool) \(args.joined(separator: " ")): \(text)")
    }
    return text
}
