import SwiftletSDK
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What each thread keeps for each ndb_redis instance: its connections, the named replies
/// of `redis_cmd`, the pending pipeline, and the failure counts (all per thread, as
/// Kamailio keeps them per process).
final class RedisThreadState {
    final class Instance {
        var connections: [String: RedisConnection] = [:]
        var replies: [String: RedisReply] = [:]
        /// `redis_pipe_cmd` commands per server, with the reply name of each.
        var pipelines: [String: [(arguments: [[UInt8]], reply: String)]] = [:]
        /// Commands of `RedisBatchAPI.enqueue` per server, not written yet.
        var queued: [String: RedisCommands] = [:]
        var consecutiveErrors: [String: Int] = [:]
        var disabledUntil: [String: Int] = [:]
        var dynamic: [String: RedisServerSpec] = [:]
    }

    private var instances: [Int: Instance] = [:]

    func instance(_ slot: Int) -> Instance {
        if let i = instances[slot] { return i }
        let i = Instance()
        instances[slot] = i
        return i
    }

    /// Forgets a stopped instance's state on this thread (its connections close).
    func remove(_ slot: Int) { instances[slot] = nil }

    nonisolated(unsafe) private static var key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { p in
            if let p { Unmanaged<RedisThreadState>.fromOpaque(p).release() }
        }
        return key
    }()

    private static let lastSlot = Atomic<Int>(0)

    /// A slot number for a new instance, never reused in the process.
    static func newSlot() -> Int { lastSlot.add(1, ordering: .relaxed).newValue }

    /// The calling thread's state.
    static var current: RedisThreadState {
        if let p = pthread_getspecific(key) { return Unmanaged<RedisThreadState>.fromOpaque(p).takeUnretainedValue() }
        let s = RedisThreadState()
        pthread_setspecific(key, Unmanaged.passRetained(s).toOpaque())
        return s
    }

    static func nowSeconds() -> Int {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return t.tv_sec
    }
}
