import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// What Kamailio keeps per process in `_secsipid_data` (`$secsipid(val)`, `$secsipid(ret)`):
/// here per worker thread, as each worker is one of Kamailio's processes.
final class SecSIPIDThreadState {
    /// The last value built by `secsipid_build_identity*` or `secsipid_sign`.
    var value: String?
    /// The library's return value of that call.
    var ret = 0

    nonisolated(unsafe) private static var key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { p in
            if let p { Unmanaged<SecSIPIDThreadState>.fromOpaque(p).release() }
        }
        return key
    }()

    /// The calling thread's state.
    static var current: SecSIPIDThreadState {
        if let p = pthread_getspecific(key) {
            return Unmanaged<SecSIPIDThreadState>.fromOpaque(p).takeUnretainedValue()
        }
        let s = SecSIPIDThreadState()
        pthread_setspecific(key, Unmanaged.passRetained(s).toOpaque())
        return s
    }
}
