import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The part of Foundation's `Process` that the tests use, started through `posix_spawn`.
///
/// Not Foundation's `Process`: the toolchain's `Process.run()` reads past glibc's buffer while
/// it lists `/proc/self/fd` to close the child's descriptors, and crashed the test process
/// (SIGSEGV in `memcpy`) in CI runs. Here the child's descriptors from 3 on are closed by
/// `posix_spawn_file_actions_addclosefrom_np`, its signal mask is empty and SIGPIPE/SIGTERM
/// are at their defaults (so `terminate()` stops it even though the test runner blocks
/// SIGTERM). As with `Process`, a `Pipe` given as standard input, output or error has its
/// child's end closed in the test process once the program runs; `FileHandle.nullDevice`
/// stands for /dev/null; nil inherits the test process's descriptor.
final class SpawnedProcess: @unchecked Sendable {
    var executableURL: URL?
    var arguments: [String]?
    var environment: [String: String]?
    var currentDirectoryURL: URL?
    var standardInput: Any?
    var standardOutput: Any?
    var standardError: Any?

    private let lock = NSLock()
    private var pid: pid_t = 0
    private var exitStatus: Int32?

    init() {}

    /// The child's process id (0 before `run()`).
    var processIdentifier: Int32 { lock.withLock { pid } }

    /// Starts the program.
    func run() throws {
        guard let path = executableURL?.path else { throw TestServerError("SpawnedProcess: no executableURL") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        try Self.redirect(standardInput, to: 0, reading: true, &actions)
        try Self.redirect(standardOutput, to: 1, reading: false, &actions)
        try Self.redirect(standardError, to: 2, reading: false, &actions)
        if let directory = currentDirectoryURL?.path {
            guard let addchdir = Self.addchdir, addchdir(&actions, directory) == 0 else {
                throw TestServerError("SpawnedProcess: cannot change to \(directory) for \(path)")
            }
        }
        if let closefrom = Self.closefrom { _ = closefrom(&actions, 3) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGINT)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + (arguments ?? [])).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        let environmentPairs = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let envp: [UnsafeMutablePointer<CChar>?] = environmentPairs.map { strdup($0) } + [nil]
        defer { for e in envp { free(e) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, path, &actions, &attributes, argv, envp)
        guard spawned == 0 else {
            throw TestServerError("\(path): \(String(cString: strerror(spawned)))")
        }
        lock.withLock { pid = child }
        // As Foundation's Process: the test process keeps only its own ends of the pipes.
        if let pipe = standardInput as? Pipe { try? pipe.fileHandleForReading.close() }
        if let pipe = standardOutput as? Pipe { try? pipe.fileHandleForWriting.close() }
        if let pipe = standardError as? Pipe { try? pipe.fileHandleForWriting.close() }
    }

    /// Whether the child still runs (reaps it once it has ended).
    var isRunning: Bool { lock.withLock { pid != 0 && reap(blocking: false) == nil } }

    /// Waits until the child has ended.
    func waitUntilExit() {
        while isRunning { usleep(2_000) }
    }

    /// The exit code, or the signal number when a signal ended the child (as `Process`).
    var terminationStatus: Int32 {
        lock.withLock {
            guard let status = exitStatus else { return 0 }
            let signal = status & 0x7f
            return signal == 0 ? (status >> 8) & 0xff : signal
        }
    }

    /// Sends SIGTERM.
    func terminate() { send(SIGTERM) }

    /// Sends SIGINT.
    func interrupt() { send(SIGINT) }

    private func send(_ number: Int32) {
        lock.withLock {
            if pid != 0, exitStatus == nil { kill(pid, number) }
        }
    }

    /// The raw wait status once the child has been reaped; called with `lock` held.
    private func reap(blocking: Bool) -> Int32? {
        if let status = exitStatus { return status }
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, blocking ? 0 : WNOHANG)
            if r == pid {
                exitStatus = status
                return status
            }
            if r < 0 && errno == EINTR { continue }
            if r < 0 && errno == ECHILD {
                // Reaped elsewhere (e.g. `waitForExit`): nothing is left to wait for.
                exitStatus = 0
                return 0
            }
            return nil
        }
    }

    private static func redirect(
        _ target: Any?, to fd: Int32, reading: Bool, _ actions: inout posix_spawn_file_actions_t
    ) throws {
        switch target {
        case nil:
            return
        case let pipe as Pipe:
            let handle = reading ? pipe.fileHandleForReading : pipe.fileHandleForWriting
            posix_spawn_file_actions_adddup2(&actions, handle.fileDescriptor, fd)
        case let handle as FileHandle:
            if handle === FileHandle.nullDevice {
                posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", reading ? O_RDONLY : O_WRONLY, 0)
            } else {
                posix_spawn_file_actions_adddup2(&actions, handle.fileDescriptor, fd)
            }
        default:
            throw TestServerError("SpawnedProcess: standard stream \(fd) must be a Pipe or a FileHandle")
        }
    }

    private typealias AddChdir =
        @convention(c) (
            UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>
        ) -> Int32
    private typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc's `posix_spawn_file_actions_addchdir_np` (2.29), which Swift's Glibc module hides.
    private static let addchdir: AddChdir? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np")
        else { return nil }
        return unsafeBitCast(symbol, to: AddChdir.self)
    }()

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34).
    private static let closefrom: AddClosefrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        else { return nil }
        return unsafeBitCast(symbol, to: AddClosefrom.self)
    }()
}
