import SwiftletSDK
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What each thread keeps for each sqlops instance: the results `sql_query` stored, by
/// name (per thread, as Kamailio keeps them per process).
final class SQLThreadState {
    private var results: [Int: [String: DatabaseResult]] = [:]

    func result(_ slot: Int, _ name: String) -> DatabaseResult? { results[slot]?[name] }

    func store(_ slot: Int, _ name: String, _ result: DatabaseResult?) { results[slot, default: [:]][name] = result }

    /// Forgets a stopped instance's results on this thread.
    func remove(_ slot: Int) { results[slot] = nil }

    nonisolated(unsafe) private static var key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { p in
            if let p { Unmanaged<SQLThreadState>.fromOpaque(p).release() }
        }
        return key
    }()

    private static let lastSlot = Atomic<Int>(0)

    /// A slot number for a new instance, never reused in the process.
    static func newSlot() -> Int { lastSlot.add(1, ordering: .relaxed).newValue }

    /// The calling thread's state.
    static var current: SQLThreadState {
        if let p = pthread_getspecific(key) { return Unmanaged<SQLThreadState>.fromOpaque(p).takeUnretainedValue() }
        let s = SQLThreadState()
        pthread_setspecific(key, Unmanaged.passRetained(s).toOpaque())
        return s
    }
}
