import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The recursive mutexes of transactions, kept for reuse by the thread that freed them
/// (`TMThreadState.spareMutexes`): workers create and free the transactions, so a new one
/// nearly always takes an initialised mutex instead of allocating one and running
/// `pthread_mutex_init` (and a freed one skips `free` and `pthread_mutex_destroy`). A
/// transaction frees its mutex unlocked, so it is ready for the next one as it is.
enum TransactionMutexes {
    /// Spares kept per thread at most (more are destroyed).
    static let limit = 256

    /// A recursive mutex, unlocked.
    static func take() -> UnsafeMutablePointer<pthread_mutex_t> {
        if let m = TMThreadState.thread.spareMutexes.popLast() { return m }
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(m, &attributes)
        pthread_mutexattr_destroy(&attributes)
        return m
    }

    /// Takes back the unlocked mutex of a freed transaction.
    static func give(_ m: UnsafeMutablePointer<pthread_mutex_t>) {
        let state = TMThreadState.thread
        if state.spareMutexes.count < limit {
            if state.spareMutexes.capacity == 0 { state.spareMutexes.reserveCapacity(16) }
            state.spareMutexes.append(m)
            return
        }
        destroy(m)
    }

    static func destroy(_ m: UnsafeMutablePointer<pthread_mutex_t>) {
        pthread_mutex_destroy(m)
        m.deallocate()
    }
}
