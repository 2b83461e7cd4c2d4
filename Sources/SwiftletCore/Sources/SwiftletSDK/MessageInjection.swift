#if canImport(Glibc)
    import Glibc
#endif

/// The core's receive path for a message a module hands back to it (Kamailio's
/// `receive_msg` called with `RECV_F_INTERNAL`, as sworker does in an async task worker).
/// The core offers it in every configuration once its workers are about to run:
/// `core.apis.lookup(ReceivedMessageInjectionAPI.self)`.
public protocol ReceivedMessageInjectionAPI: AnyObject {
    /// Handles `bytes` on the calling thread as if received with `receive` — in-hooks,
    /// parsing and checks, `request_route` or `reply_route` — except that
    /// `event_route[core:pre-routing]` does not run for it.
    func receiveInternal(_ bytes: [UInt8], receive: ReceiveInfo)
}

/// Whether `event_route[core:pre-routing]` runs on this thread now (Kamailio's
/// `RECV_F_PREROUTING` flag of the received message).
public enum PreRouting {
    /// True while the core runs `event_route[core:pre-routing]` on this thread.
    public static var isRunning: Bool { pthread_getspecific(key) != nil }

    /// For the core: runs `body` (the pre-routing event route) with `isRunning` true.
    public static func run<R>(_ body: () -> R) -> R {
        let saved = pthread_getspecific(key)
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1))
        defer { pthread_setspecific(key, saved) }
        return body()
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
}
