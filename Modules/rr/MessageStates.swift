import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// One Record-Route header this module put into a request: the bytes fixed when the script
/// called the function, and the parameters `add_rr_param()` appends afterwards. The header's
/// send-socket lump reads it when the request is built, so later changes still show.
final class InsertedRecordRoute {
    /// Parameters added by `add_rr_param()` after the header was inserted (they go just
    /// before the closing `>`).
    var laterParameters: [UInt8] = []
    /// Set by `remove_record_route()`: the header is left out.
    var removed = false
    /// `record_route()`'s header (the others' lumps keep their own): the bytes before the
    /// address and after it, whether it is the outbound one of a double pair, the
    /// `enable_double_rr` and `sockname_mode` in effect (`RRModule.recordRouteBytes`).
    let prefix: [UInt8]
    let suffix: [UInt8]
    let outbound: Bool
    let doubleRR: Int
    let sockname: Bool

    init(
        prefix: [UInt8] = [], suffix: [UInt8] = [], outbound: Bool = false, doubleRR: Int = 0, sockname: Bool = false
    ) {
        self.prefix = prefix
        self.suffix = suffix
        self.outbound = outbound
        self.doubleRR = doubleRR
        self.sockname = sockname
    }
}

/// Where `loose_route()` found the parameters of our own Route (Kamailio's `routed_params`):
/// the Request-URI after a strict router, else the top Route (found again on demand).
enum RoutedParameters {
    case requestURI(Range<Int>)
}

/// What rr keeps about the message a worker thread is processing, as Kamailio keeps it in
/// per-process statics tagged with the message id (`rr_param_buf`, `routed_params`, the
/// direction of `is_direction()`): only the message that set it sees it.
final class MessageState {
    /// `add_rr_param()` before any Record-Route (Kamailio's `rr_param_buf`).
    var pendingParameters: [UInt8] = []
    /// The Record-Route headers inserted for the message, in order (outbound first).
    var inserted: [InsertedRecordRoute] = []
    /// Set by `loose_route()` after a strict router.
    var routed: RoutedParameters?
    /// The flow direction once computed (`is_direction()` caches it per message).
    var direction: Direction?

    /// Forgets everything (a new message on the thread).
    func reset() {
        // Only what was set is cleared: most messages leave it all empty, and an assignment
        // releases the old value even then. The lists keep their storage for the next
        // message (a record-routed request adds one or two headers every time).
        if !pendingParameters.isEmpty { pendingParameters = [] }
        if !inserted.isEmpty { inserted.removeAll(keepingCapacity: true) }
        if routed != nil { routed = nil }
        if direction != nil { direction = nil }
    }
}

enum Direction {
    case downstream, upstream
}

/// The states per worker thread, each valid only for the message context that made it: a
/// later message on the thread starts afresh. Kept in thread-local storage (no lock, no
/// allocation per message); the entry holds the context it belongs to, so that a context
/// freed and another allocated at its address is never taken for it.
final class MessageStates: Sendable {
    private final class Entry {
        var ctx: MessageContext?
        let state = MessageState()
    }

    private let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { if let p = $0 { Unmanaged<Entry>.fromOpaque(p).release() } }
        return key
    }()

    deinit { pthread_key_delete(key) }

    /// The calling thread's entry.
    private var entry: Entry {
        if let p = pthread_getspecific(key) { return Unmanaged<Entry>.fromOpaque(p).takeUnretainedValue() }
        let e = Entry()
        pthread_setspecific(key, Unmanaged.passRetained(e).toOpaque())
        return e
    }

    /// The state of `ctx`, created (reset) when asked for.
    func state(_ ctx: MessageContext) -> MessageState {
        let e = entry
        if e.ctx !== ctx {
            e.ctx = ctx
            e.state.reset()
        }
        return e.state
    }

    /// The state of `ctx` if this thread has one.
    func existing(_ ctx: MessageContext) -> MessageState? {
        guard let p = pthread_getspecific(key) else { return nil }
        let e = Unmanaged<Entry>.fromOpaque(p).takeUnretainedValue()
        return e.ctx === ctx ? e.state : nil
    }
}
