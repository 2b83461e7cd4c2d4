import SwiftletSDK
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The reply a failed check left for `sanity_reply()` and the "no reply" mark of the
/// message, per worker thread (Kamailio keeps them per process with the message id: only
/// the message that set them sees them).
final class PendingReplies: Sendable {
    private final class Entry: @unchecked Sendable {
        weak var ctx: MessageContext?
        var code = 0
        var reason = ""
        var noReply = false
        init(_ ctx: MessageContext) { self.ctx = ctx }
    }

    private let entries = Mutex<[UInt: Entry]>([:])

    private func entry(_ ctx: MessageContext, create: Bool) -> Entry? {
        let thread = UInt(bitPattern: Int(bitPattern: pthread_self()))
        return entries.withLock { table -> Entry? in
            if let e = table[thread], e.ctx === ctx { return e }
            guard create else { return nil }
            let e = Entry(ctx)
            table[thread] = e
            return e
        }
    }

    /// Forgets what this thread stored (Kamailio resets it at each `sanity_check` with noreply).
    func clear() {
        let thread = UInt(bitPattern: Int(bitPattern: pthread_self()))
        entries.withLock { table in
            if let e = table[thread] {
                e.code = 0
                e.reason = ""
            }
        }
    }

    func store(_ ctx: MessageContext, code: Int, reason: String) {
        guard let e = entry(ctx, create: true) else { return }
        e.code = code
        e.reason = reason
    }

    func markNoReply(_ ctx: MessageContext) { entry(ctx, create: true)?.noReply = true }

    func isNoReply(_ ctx: MessageContext) -> Bool { entry(ctx, create: false)?.noReply ?? false }

    func reply(for ctx: MessageContext) -> (Int, String)? {
        guard let e = entry(ctx, create: false), e.code != 0, !e.reason.isEmpty else { return nil }
        return (e.code, e.reason)
    }
}
