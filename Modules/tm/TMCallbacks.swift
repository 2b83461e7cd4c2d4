import SwiftletSDK
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One registered per-transaction callback.
struct TMCallbackEntry {
    let types: TransactionCallbackTypes
    let callback: (TransactionEvent) -> Void
}

/// tm's callbacks (Kamailio's `t_hooks.c`): the global request-in list, callbacks waiting
/// for the transaction of a request that has none yet (per worker thread, as Kamailio's
/// early callbacks belong to the message), and the INVITE transactions waiting for their
/// end-to-end ACK.
final class TMCallbacks: @unchecked Sendable {
    /// Set in mod_init, read-only afterwards.
    private(set) var requestIn: [(TransactionEvent) -> Void] = []

    /// Transactions with `e2eAckIn` callbacks by Call-ID, CSeq number and From tag.
    private var waitingForAck: [String: Transaction] = [:]
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() { pthread_mutex_init(mutex, nil) }
    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    private func locked<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    func addRequestIn(_ f: @escaping (TransactionEvent) -> Void) { requestIn.append(f) }

    /// Callbacks registered before the request's transaction existed (per thread).
    private final class Early {
        weak var ctx: MessageContext?
        var entries: [TMCallbackEntry] = []
    }
    private static let earlyKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { if let p = $0 { Unmanaged<Early>.fromOpaque(p).release() } }
        return key
    }()
    private static var early: Early {
        if let p = pthread_getspecific(earlyKey) { return Unmanaged<Early>.fromOpaque(p).takeUnretainedValue() }
        let e = Early()
        pthread_setspecific(earlyKey, Unmanaged.passRetained(e).toOpaque())
        return e
    }

    func addEarly(_ entry: TMCallbackEntry, for ctx: MessageContext) {
        let e = Self.early
        if e.ctx !== ctx {
            e.ctx = ctx
            e.entries = []
        }
        e.entries.append(entry)
    }

    /// The early callbacks registered for `ctx`, taken out.
    func takeEarly(for ctx: MessageContext) -> [TMCallbackEntry] {
        let e = Self.early
        guard e.ctx === ctx, !e.entries.isEmpty else { return [] }
        let entries = e.entries
        e.entries = []
        e.ctx = nil
        return entries
    }

    static func ackKey(_ m: SIPMessage) -> String? {
        guard let callID = m.callID, let cseq = try? m.cseq() else { return nil }
        return callID + "|" + String(cseq.number) + "|" + (m.fromTag ?? "")
    }

    func waitForAck(_ tx: Transaction) {
        guard let key = Self.ackKey(tx.ctx.message) else { return }
        locked { waitingForAck[key] = tx }
    }

    func stopWaitingForAck(_ tx: Transaction) {
        guard let key = Self.ackKey(tx.ctx.message) else { return }
        locked {
            if waitingForAck[key] === tx { waitingForAck.removeValue(forKey: key) }
        }
    }

    func waitingTransaction(forAck m: SIPMessage) -> Transaction? {
        locked { waitingForAck.isEmpty ? nil : Self.ackKey(m).flatMap { waitingForAck[$0] } }
    }
}

extension TransactionManager {
    /// Runs the callbacks of `type` of `tx`. Lock held.
    func runCallbacks(
        _ type: TransactionCallbackTypes, _ tx: Transaction, reply: SIPMessage? = nil,
        replyContext: MessageContext? = nil, ack: MessageContext? = nil, code: Int = 0, branch: Int? = nil
    ) {
        guard tx.callbacks.contains(where: { $0.types.contains(type) }) else { return }
        let event = TransactionEvent(
            type: type, request: tx.ctx, reply: reply, replyContext: replyContext, ack: ack, code: code, branch: branch,
            transactionIndex: tx.id,
            transactionLabel: tx.label)
        for entry in tx.callbacks where entry.types.contains(type) { entry.callback(event) }
    }

    /// A transaction was just created for a received request: the early callbacks move to
    /// it, then the global request-in callbacks run (Kamailio's `TMCB_REQUEST_IN`).
    func transactionCreated(_ tx: Transaction) {
        let early = callbacks.takeEarly(for: tx.ctx)
        let global = callbacks.requestIn
        guard !early.isEmpty || !global.isEmpty else { return }
        tx.locked {
            for entry in early { attach(entry, to: tx) }
            guard !global.isEmpty else { return }
            let event = TransactionEvent(
                type: .requestIn, request: tx.ctx, reply: nil, ack: nil, code: 0, branch: nil, transactionIndex: tx.id,
                transactionLabel: tx.label)
            for f in global { f(event) }
        }
    }

    /// Adds a callback to a transaction. Lock held.
    func attach(_ entry: TMCallbackEntry, to tx: Transaction) {
        tx.callbacks.append(entry)
        if entry.types.contains(.e2eAckIn), tx.isInvite { callbacks.waitForAck(tx) }
    }

    /// A reply sent upstream: `responseOut` callbacks, with the reply as received when it was
    /// relayed (Kamailio passes the branch's reply, `relayed_msg`), else the sent bytes parsed.
    /// Lock held.
    func replySentUpstream(_ tx: Transaction, _ bytes: [UInt8], code: Int, relayed: SIPMessage?) {
        guard tx.callbacks.contains(where: { $0.types.contains(.responseOut) }) else { return }
        runCallbacks(.responseOut, tx, reply: relayed ?? (try? SIPMessage(parsing: bytes)), code: code)
    }

    /// The transaction left the table: `destroy` callbacks (Kamailio's `TMCB_DESTROY`).
    func transactionDestroyed(_ tx: Transaction) {
        tx.locked { runDestroyCallbacks(tx) }
        tx.released.store(true, ordering: .relaxed)
    }

    /// The `destroy` callbacks of `transactionDestroyed`, lock held (the caller sets
    /// `released` after it).
    func runDestroyCallbacks(_ tx: Transaction) {
        guard !tx.callbacks.isEmpty else { return }
        // Only an INVITE with `e2eAckIn` callbacks waits (the key is built from the request).
        if tx.isInvite, tx.callbacks.contains(where: { $0.types.contains(.e2eAckIn) }) {
            callbacks.stopWaitingForAck(tx)
        }
        runCallbacks(.destroy, tx, code: tx.lastReplyCode)
        tx.callbacks = []
    }

    /// tm's request-in hook for ACKs: the ACK of a 2xx of an INVITE transaction with
    /// `e2eAckIn` callbacks runs them (Kamailio matches it when the script looks it up).
    func e2eAckFilter(_ ctx: MessageContext) -> Bool {
        guard ctx.message.method == .ack, let tx = callbacks.waitingTransaction(forAck: ctx.message) else {
            return true
        }
        tx.locked {
            guard (200..<300).contains(tx.lastReplyCode) else { return }
            runCallbacks(.e2eAckIn, tx, ack: ctx, code: tx.lastReplyCode)
        }
        return true
    }
}

extension TMModule: TransactionCallbacksAPI {
    func registerRequestIn(_ callback: @escaping (TransactionEvent) -> Void) {
        manager.callbacks.addRequestIn(callback)
    }

    @discardableResult
    func register(
        _ types: TransactionCallbackTypes, for context: MessageContext,
        _ callback: @escaping (TransactionEvent) -> Void
    ) -> Bool {
        guard !types.isEmpty, TransactionCallbackTypes.perTransaction.isSuperset(of: types) else { return false }
        let entry = TMCallbackEntry(types: types, callback: callback)
        if let tx = TMThreadState.thread.current, tx.ctx === context {
            tx.locked { manager.attach(entry, to: tx) }
        } else {
            manager.callbacks.addEarly(entry, for: context)
        }
        return true
    }
}

extension TMModule: TransactionFailureAPI {
    func failedBranch(_ context: MessageContext) -> FailedBranch? {
        let state = TMThreadState.thread
        guard let tx = state.current, tx.ctx === context, let b = state.failedBranch else { return nil }
        return tx.locked {
            FailedBranch(index: b.index, requestURI: b.uri, code: b.lastCode, reply: b.finalReply?.message)
        }
    }
}
