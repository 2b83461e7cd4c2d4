import SwiftletSDK
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What `sip_trace(..., "t")` and `sip_trace(..., "d")` keep tracing after the current
/// message: the messages of one transaction (same Call-ID and CSeq number: the request's
/// retransmissions, its CANCEL and ACK, the requests relayed for it and every reply), or of
/// one dialog (same Call-ID, until the BYE is answered). Kamailio hangs these on tm and dialog
/// callbacks; here they are matched on the wire bytes the core shows siptrace, so relayed
/// requests and replies are traced as they were really sent.
struct TraceSession {
    enum Scope: Equatable {
        case transaction(cseq: UInt32)
        case dialog
    }
    var scope: Scope
    var destination: Destination?
    var correlationID: String?
    /// Seconds since the epoch after which it is forgotten.
    var expires: Int
}

/// The sessions by Call-ID, shared by every worker. The count is read without the lock so
/// that a server with no session pays nothing per message.
final class TraceSessions: Sendable {
    private let table = Mutex([String: [TraceSession]]())
    private let count = Atomic<Int>(0)
    /// How long a transaction is followed (Kamailio's `max_inv_lifetime` 180 s plus `wt_timer`).
    static let transactionLifetime = 185
    /// How long a dialog is followed at most (the dialog module's default timeout, 12 h).
    static let dialogLifetime = 43200
    /// At most this many sessions; more are refused with a log line.
    static let capacity = 100_000

    var isEmpty: Bool { count.load(ordering: .relaxed) == 0 }

    static func now() -> Int { Int(time(nil)) }

    /// Starts following `session` for `callID`; false when the table is full.
    func add(_ callID: String, _ session: TraceSession) -> Bool {
        let now = Self.now()
        return table.withLock { t in
            if count.load(ordering: .relaxed) >= Self.capacity { purge(&t, now) }
            guard count.load(ordering: .relaxed) < Self.capacity else { return false }
            if let existing = t[callID], existing.contains(where: { $0.scope == session.scope }) { return true }
            t[callID, default: []].append(session)
            count.add(1, ordering: .relaxed)
            return true
        }
    }

    /// The sessions `message` belongs to; a final reply to a BYE (dialog) or the end of the
    /// time ends them.
    func match(_ message: SIPMessage) -> [TraceSession] {
        guard let callID = message.callID, let cseq = try? message.cseq() else { return [] }
        let now = Self.now()
        return table.withLock { t in
            guard var list = t[callID] else { return [] }
            let before = list.count
            list.removeAll { $0.expires < now }
            let found = list.filter {
                switch $0.scope {
                case .dialog: true
                case .transaction(let n): n == cseq.number
                }
            }
            if cseq.method == .bye, let code = message.statusCode, code >= 200 {
                // The dialog is over: its session follows only the BYE's retransmissions.
                for i in list.indices where list[i].scope == .dialog { list[i].expires = min(list[i].expires, now + 5) }
            }
            if list.isEmpty { t[callID] = nil } else { t[callID] = list }
            if list.count != before { count.subtract(before - list.count, ordering: .relaxed) }
            return found
        }
    }

    private func purge(_ t: inout [String: [TraceSession]], _ now: Int) {
        var removed = 0
        for (k, v) in t {
            let kept = v.filter { $0.expires >= now }
            removed += v.count - kept.count
            t[k] = kept.isEmpty ? nil : kept
        }
        count.subtract(removed, ordering: .relaxed)
    }
}
