#if canImport(Glibc)
    import Glibc
#endif

/// Work that must wait until the script running on this thread is done with its message:
/// a request suspended by a function and continued on another thread (a task worker) must
/// not be touched by both. The core runs every top-level route inside `run`; `afterScript`
/// queues work to run when the outermost route of the thread returned.
public enum ScriptHandOff {
    /// Runs `body` now when no route runs on this thread, else when the outermost one returned.
    public static func afterScript(_ body: @escaping () -> Void) {
        let state = ScriptHandOffState.thread
        if state.depth == 0 { body() } else { state.waiting.append(body) }
    }

    /// For the core: runs a top-level route (`body`), then, if it was the outermost one on
    /// this thread, the work queued meanwhile.
    @inline(__always)
    public static func run<R>(_ body: () -> R) -> R {
        let state = ScriptHandOffState.thread
        state.depth += 1
        let result = body()
        state.depth -= 1
        if state.depth == 0, !state.waiting.isEmpty {
            let work = state.waiting
            state.waiting = []
            for w in work { w() }
        }
        return result
    }
}

/// The per-thread state of `ScriptHandOff`.
final class ScriptHandOffState {
    var depth = 0
    var waiting: [() -> Void] = []

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { raw in
            guard let raw else { return }
            Unmanaged<ScriptHandOffState>.fromOpaque(raw).release()
        }
        return key
    }()

    static var thread: ScriptHandOffState {
        if let raw = pthread_getspecific(key) {
            return Unmanaged<ScriptHandOffState>.fromOpaque(raw).takeUnretainedValue()
        }
        let state = ScriptHandOffState()
        pthread_setspecific(key, Unmanaged.passRetained(state).toOpaque())
        return state
    }
}

/// A gate a task on another thread waits at until the script that handed it over is done
/// with its message (`ScriptHandOff.afterScript` opens it): a request suspended and given
/// to a task worker at once must not be used by both threads.
public final class ScriptHandOffGate: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var isOpen = false

    /// A gate that opens when the script running on this thread is done (at once when
    /// none runs).
    public init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        ScriptHandOff.afterScript { self.open() }
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Waits until the gate is open.
    public func wait() {
        pthread_mutex_lock(mutex)
        while !isOpen { pthread_cond_wait(condition, mutex) }
        pthread_mutex_unlock(mutex)
    }

    private func open() {
        pthread_mutex_lock(mutex)
        isOpen = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }
}
