import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The threads that stand in for Kamailio's processes, for `core.ps`, `core.psx` and
/// `core.psa`: each registers itself (its kernel thread id, a rank as Kamailio's, and
/// Kamailio's description such as `udp receiver child=0 sock=127.0.0.1:5060`) when it starts,
/// and names itself for `top -H` / `ps -L`.
final class ProcessTable: @unchecked Sendable {
    struct Entry {
        let tid: Int32
        let rank: Int
        let description: String
    }

    static let shared = ProcessTable()

    private var lock = pthread_mutex_t()
    private var entries: [Entry] = []

    private init() { pthread_mutex_init(&lock, nil) }

    /// Registers the calling thread; `threadName` (at most 15 bytes kept) names it for the kernel.
    func registerCurrentThread(rank: Int, description: String, threadName: String) {
        let tid = Self.currentThreadID()
        Self.nameCurrentThread(threadName)
        pthread_mutex_lock(&lock)
        entries.removeAll { $0.tid == tid }
        entries.append(Entry(tid: tid, rank: rank, description: description))
        pthread_mutex_unlock(&lock)
    }

    /// Forgets every thread but the calling one (a server started again in the same process).
    func reset() {
        pthread_mutex_lock(&lock)
        entries.removeAll()
        pthread_mutex_unlock(&lock)
    }

    /// The registered threads in registration order (the main thread first).
    var all: [Entry] {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return entries
    }

    /// The kernel's id of the calling thread, from `/proc/thread-self` (`/proc/<pid>/task/<tid>`);
    /// the process id when that link is missing.
    static func currentThreadID() -> Int32 {
        var buf = [CChar](repeating: 0, count: 64)
        let n = readlink("/proc/thread-self", &buf, buf.count - 1)
        guard n > 0 else { return getpid() }
        let text = String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.split(separator: "/").last.flatMap { Int32($0) } ?? getpid()
    }

    /// Names the calling thread (the kernel keeps 15 bytes), as `pthread_setname_np` does.
    static func nameCurrentThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY)
        guard fd >= 0 else { return }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }
}
