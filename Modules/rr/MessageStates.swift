import SwiftletSDK
import Synchronization

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
}

enum Direction {
    case downstream, upstream
}

/// The states per worker thread, each valid only for the message context that made it
/// (held weakly: a later message on the thread starts afresh).
final class MessageStates: Sendable {
    private final class Entry: @unchecked Sendable {
        weak var ctx: MessageContext?
        let state = MessageState()
        init(_ ctx: MessageContext) { self.ctx = ctx }
    }

    private let entries = Mutex<[UInt: Entry]>([:])

    /// The state of `ctx`, created when asked for.
    func state(_ ctx: MessageContext) -> MessageState {
        let thread = UInt(bitPattern: Int(bitPattern: pthread_self()))
        return entries.withLock { table -> MessageState in
            if let e = table[thread], e.ctx === ctx { return e.state }
            let e = Entry(ctx)
            table[thread] = e
            return e.state
        }
    }

    /// The state of `ctx` if this thread has one.
    func existing(_ ctx: MessageContext) -> MessageState? {
        let thread = UInt(bitPattern: Int(bitPattern: pthread_self()))
        return entries.withLock { table -> MessageState? in
            guard let e = table[thread], e.ctx === ctx else { return nil }
            return e.state
        }
    }
}
