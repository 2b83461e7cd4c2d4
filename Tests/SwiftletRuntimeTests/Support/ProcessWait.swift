import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension SpawnedProcess {
    /// Waits at most `timeout` seconds for the process to end and returns its exit status
    /// (128 + signal when killed). Unlike `waitUntilExit()` it cannot hang: a child that the
    /// runner did not get to reap (a zombie, seen under heavy load) is reaped here, and one
    /// still running at the deadline is killed with SIGKILL (children inherit the test runner's
    /// blocked SIGTERM, so `terminate()` may not stop them).
    func waitForExit(timeout: TimeInterval) -> Int32 {
        let pid = processIdentifier
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning {
            if Self.isZombie(pid) {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid {
                    let signal = status & 0x7f
                    return signal == 0 ? (status >> 8) & 0xff : 128 + signal
                }
            }
            if Date() >= deadline {
                kill(pid, SIGKILL)
                usleep(100_000)
                return isRunning ? -1 : terminationStatus
            }
            usleep(20_000)
        }
        return terminationStatus
    }

    static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first == "Z"
    }
}
