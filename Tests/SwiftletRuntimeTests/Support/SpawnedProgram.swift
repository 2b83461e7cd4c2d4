import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs `path` with `args` to its end through `posix_spawn` (killed with SIGKILL after
/// `timeout` seconds) and returns its exit status (128 + signal when a signal ended it) and
/// what it wrote to standard output and standard error.
///
/// Not Foundation's `Process`: the toolchain's `Process.run()` reads past glibc's buffer while
/// it lists `/proc/self/fd` and crashed the test process (SIGSEGV in `memcpy`; see
/// `runProcess`). The child starts with no signal blocked and SIGPIPE/SIGTERM at their
/// defaults, its standard input on /dev/null.
func spawnProgram(_ path: String, _ args: [String], timeout: TimeInterval) throws -> (
    status: Int32, stdout: String, stderr: String
) {
    var outFDs: [Int32] = [-1, -1]
    var errFDs: [Int32] = [-1, -1]
    guard pipe(&outFDs) == 0 else { throw TestServerError("pipe failed for \(path)") }
    guard pipe(&errFDs) == 0 else {
        for fd in outFDs { close(fd) }
        throw TestServerError("pipe failed for \(path)")
    }
    for fd in outFDs + errFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, outFDs[1], 1)
    posix_spawn_file_actions_adddup2(&actions, errFDs[1], 2)
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
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + args).map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
    close(outFDs[1])
    close(errFDs[1])
    guard spawned == 0 else {
        close(outFDs[0])
        close(errFDs[0])
        throw TestServerError("\(path): \(String(cString: strerror(spawned)))")
    }
    // Both pipes are drained while the program runs, so that it never blocks on a full one.
    let stderrReader = PipeReader(fd: errFDs[0])
    let stdoutReader = PipeReader(fd: outFDs[0])
    let deadline = Date().addingTimeInterval(timeout)
    var status: Int32 = 0
    while true {
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid { break }
        if r < 0, errno != EINTR { break }
        if Date() >= deadline {
            kill(pid, SIGKILL)
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            break
        }
        usleep(10_000)
    }
    let out = stdoutReader.finish()
    let err = stderrReader.finish()
    let signal = status & 0x7f
    return (signal == 0 ? (status >> 8) & 0xff : 128 + signal, out, err)
}

/// Reads a pipe to its end on its own thread.
private final class PipeReader: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var bytes: [UInt8] = []

    init(fd: Int32) {
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    lock.withLock { bytes.append(contentsOf: buffer[0..<n]) }
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            close(fd)
            done.signal()
        }
        thread.start()
    }

    /// What was read, once the writing end is closed everywhere (at most 10 s more: a
    /// daemon the program left behind may hold it open).
    func finish() -> String {
        _ = done.wait(timeout: .now() + 10)
        return lock.withLock { String(decoding: bytes, as: UTF8.self) }
    }
}
