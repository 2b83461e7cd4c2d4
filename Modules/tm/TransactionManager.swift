import SwiftletSDK
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What the script armed for the transaction the current request will create
/// (`t_on_failure()` before `t_relay()`), and the transaction a route runs for. Per worker
/// thread, as Kamailio keeps them per process (`T`, `goto_on_failure`, ...); reset for every
/// request by tm's request-in hook.
final class TMThreadState {
    /// The transaction the current route runs for; nil once it left the table
    /// (`Transaction.released`), as a weak reference would be. Strong rather than weak: a weak
    /// reference gives every transaction a side table (an allocation, and atomic slow paths
    /// for each retain and release of it). Dropped at the end of the request route
    /// (`requestRouteFinished`) and by `reset()`, so that a finished transaction does not live
    /// on in a worker.
    var current: Transaction? {
        get {
            guard let tx = held else { return nil }
            if tx.released.load(ordering: .relaxed) {
                held = nil
                return nil
            }
            return tx
        }
        set { held = newValue }
    }
    private var held: Transaction?
    var onFailure: String?
    var onReply: String?
    var onBranch: String?
    var frTimeout: Int?
    var frInvTimeout: Int?
    /// The reply code a failure or reply route runs for (`$T_reply_code`).
    var replyCode: Int?
    /// The branch a failure route runs for (`t_branch_timeout()`, `t_branch_replied()`).
    var failedBranch: ClientBranch?
    /// The branch a branch, onreply or failure route runs for (`$T_branch_idx`).
    var branchIndex: Int?
    /// The per-transaction switches set before the transaction exists (`t_set_auto_inv_100()`,
    /// `t_relay_to()` flags, `t_set_max_lifetime()`, `t_on_branch_failure()`).
    var options = TransactionOptions()
    /// The last transaction key made on this thread and the request and method class it was
    /// made for: `t_check_trans()` then `t_relay()` on one request compute it once. Holds
    /// the request (not an address that a later context could reuse) until the next reset;
    /// the key itself stays until the next one is made. Three fields, not an optional tuple:
    /// an optional of a value this size is copied and destroyed through generic value
    /// witnesses.
    var lastKeyContext: MessageContext?
    var lastKeyClass = ""
    var lastKey = TransactionKey.Probe(text: "")
    /// Mutexes of transactions freed on this thread, for the next ones (`TransactionMutexes`).
    var spareMutexes: [UnsafeMutablePointer<pthread_mutex_t>] = []

    deinit { for m in spareMutexes { TransactionMutexes.destroy(m) } }

    func reset() {
        options = TransactionOptions()
        if lastKeyContext != nil { lastKeyContext = nil }
        held = nil
        // The route names are nearly always unset: assigning nil would release them anyway.
        if onFailure != nil { onFailure = nil }
        if onReply != nil { onReply = nil }
        if onBranch != nil { onBranch = nil }
        frTimeout = nil
        frInvTimeout = nil
        replyCode = nil
        if failedBranch != nil { failedBranch = nil }
        branchIndex = nil
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { if let p = $0 { Unmanaged<TMThreadState>.fromOpaque(p).release() } }
        return key
    }()

    /// The calling thread's state.
    static var thread: TMThreadState {
        if let p = pthread_getspecific(key) { return Unmanaged<TMThreadState>.fromOpaque(p).takeUnretainedValue() }
        let s = TMThreadState()
        pthread_setspecific(key, Unmanaged.passRetained(s).toOpaque())
        return s
    }
}

/// tm's counters (`tm.stats`): one atomic each (no lock for the workers to share, as
/// Kamailio's per-process counters need none).
final class TMStats: Sendable {
    enum Counter: Int, CaseIterable {
        case created, local, relayed, retransmissions, timeouts, refused
        case final1xx, final2xx, final3xx, final4xx, final5xx, final6xx
        /// Replies sent upstream (relayed or local), replies received for a transaction and
        /// transactions finished (tmx's `rpl_sent`, `rpl_received`, `active_transactions`).
        case sent, received, waiting
    }
    private let created = Atomic<Int>(0)
    private let local = Atomic<Int>(0)
    private let relayed = Atomic<Int>(0)
    private let retransmissions = Atomic<Int>(0)
    private let timeouts = Atomic<Int>(0)
    private let refused = Atomic<Int>(0)
    private let final1xx = Atomic<Int>(0)
    private let final2xx = Atomic<Int>(0)
    private let final3xx = Atomic<Int>(0)
    private let final4xx = Atomic<Int>(0)
    private let final5xx = Atomic<Int>(0)
    private let final6xx = Atomic<Int>(0)
    private let sent = Atomic<Int>(0)
    private let received = Atomic<Int>(0)
    private let waiting = Atomic<Int>(0)

    func add(_ c: Counter) {
        switch c {
        case .created: created.add(1, ordering: .relaxed)
        case .local: local.add(1, ordering: .relaxed)
        case .relayed: relayed.add(1, ordering: .relaxed)
        case .retransmissions: retransmissions.add(1, ordering: .relaxed)
        case .timeouts: timeouts.add(1, ordering: .relaxed)
        case .refused: refused.add(1, ordering: .relaxed)
        case .final1xx: final1xx.add(1, ordering: .relaxed)
        case .final2xx: final2xx.add(1, ordering: .relaxed)
        case .final3xx: final3xx.add(1, ordering: .relaxed)
        case .final4xx: final4xx.add(1, ordering: .relaxed)
        case .final5xx: final5xx.add(1, ordering: .relaxed)
        case .final6xx: final6xx.add(1, ordering: .relaxed)
        case .sent: sent.add(1, ordering: .relaxed)
        case .received: received.add(1, ordering: .relaxed)
        case .waiting: waiting.add(1, ordering: .relaxed)
        }
    }

    /// Counts a final reply sent upstream by its class.
    func addFinal(_ code: Int) { add(Counter(rawValue: Counter.final1xx.rawValue + min(max(code / 100, 1), 6) - 1)!) }

    func value(_ c: Counter) -> Int {
        switch c {
        case .created: created.load(ordering: .relaxed)
        case .local: local.load(ordering: .relaxed)
        case .relayed: relayed.load(ordering: .relaxed)
        case .retransmissions: retransmissions.load(ordering: .relaxed)
        case .timeouts: timeouts.load(ordering: .relaxed)
        case .refused: refused.load(ordering: .relaxed)
        case .final1xx: final1xx.load(ordering: .relaxed)
        case .final2xx: final2xx.load(ordering: .relaxed)
        case .final3xx: final3xx.load(ordering: .relaxed)
        case .final4xx: final4xx.load(ordering: .relaxed)
        case .final5xx: final5xx.load(ordering: .relaxed)
        case .final6xx: final6xx.load(ordering: .relaxed)
        case .sent: sent.load(ordering: .relaxed)
        case .received: received.load(ordering: .relaxed)
        case .waiting: waiting.load(ordering: .relaxed)
        }
    }
}

/// The transaction engine: creation and matching, sending on branches, replies and timers
/// (Kamailio's `t_funcs.c`, `t_fwd.c`, `t_reply.c`, `t_lookup.c`, `timer.c`).
final class TransactionManager: @unchecked Sendable {
    var settings = TMSettings()
    /// A constant (its limit is set in `start`): read without a retain on every message.
    let table = TransactionTable(maxTransactions: 0)
    /// The core, set in `mod_init`.
    var core: CoreContext = .current
    let stats = TMStats()
    /// The core's DNS failover switch and destination blocklist (read in mod_init).
    var destinationPolicy: (any DestinationPolicy)?
    let callbacks = TMCallbacks()
    /// Ended transactions waiting for a worker to free them (TransactionGraveyard.swift).
    let graveyard = TransactionGraveyard()
    private let labels = Atomic<UInt64>(1)

    /// Applies `max_transactions` once parameters are set (mod_init); the graveyard's idle
    /// look starts.
    func start(core: CoreContext) {
        self.core = core
        destinationPolicy = core.destinationPolicy
        table.limit = settings.maxTransactions
        let graveyard = graveyard
        graveyard.timers = core.timers
        core.timers.schedule(afterMilliseconds: 1000, name: "tm-graveyard") {
            graveyard.freeIfIdle()
            return .again
        }
    }

    var timers: any TimerScheduling { core.timers }

    // MARK: creating and finding transactions

    enum Creation {
        case created(Transaction)
        /// A retransmission of a request whose transaction exists.
        case existing(Transaction)
        /// Could not be created; the request was answered (500/503) and the cause logged.
        case refused
    }

    /// The transaction of the request in `ctx` for method class `cls`, if any.
    func lookup(_ ctx: MessageContext, methodClass cls: String? = nil, state: TMThreadState = .thread) -> Transaction? {
        let m = ctx.message
        let c = cls ?? TransactionKey.methodClass(m.method, text: m.methodText)
        guard makeKey(ctx, methodClass: c, state: state) else { return nil }
        return table.transaction(key: state.lastKey)
    }

    /// Makes the key of the request in `ctx` for method class `cls` (`TransactionKey.key`)
    /// into `state.lastKey`, once per request and class on this thread (`state`, the
    /// thread's). False when the request has no key (no parsable top Via). Not a returned
    /// optional key: an optional of a value this size is copied and destroyed through
    /// generic value witnesses.
    func makeKey(_ ctx: MessageContext, methodClass cls: String, state: TMThreadState = .thread) -> Bool {
        if state.lastKeyContext === ctx, state.lastKeyClass == cls { return true }
        guard ctx.via1 != nil else { return false }
        state.lastKey = TransactionKey.key(ctx, methodClass: cls)
        state.lastKeyContext = ctx
        state.lastKeyClass = cls
        return true
    }

    /// Finds or creates the transaction of the request in `ctx` (Kamailio's `t_newtran`).
    func transaction(for ctx: MessageContext, state: TMThreadState = .thread) -> Creation {
        let m = ctx.message
        let cls = TransactionKey.methodClass(m.method, text: m.methodText)
        guard makeKey(ctx, methodClass: cls, state: state) else {
            Log.error("tm", "cannot match the request: no parsable top Via")
            return .refused
        }
        if let tx = table.transaction(key: state.lastKey) { return .existing(tx) }
        guard let clone = SharedBytes(copyOf: m.buffer, in: core.memory) else {
            stats.add(.refused)
            Log.error(
                "tm", "no more shared memory for a new transaction (\(m.methodText) \(m.callID ?? "")): replying 500")
            replyStatelessly(ctx, 500, "Server Internal Error - No Shared Memory")
            return .refused
        }
        let n = labels.add(1, ordering: .relaxed).newValue
        let tx = Transaction(
            key: state.lastKey, id: "", number: n, numberedID: true, isInvite: m.method == .invite, ctx: ctx,
            clone: clone)
        tx.onFailure = state.onFailure
        tx.onReply = state.onReply
        tx.onBranch = state.onBranch
        tx.frTimeout = state.frTimeout
        tx.frInvTimeout = state.frInvTimeout
        tx.options = state.options
        tx.onBranchFailure = state.options.onBranchFailure
        if case .failure(let e) = table.insert(tx) {
            stats.add(.refused)
            Log.error("tm", "cannot create a transaction for \(m.methodText) \(m.callID ?? ""): \(e): replying 503")
            replyStatelessly(ctx, 503, "Service Unavailable")
            return .refused
        }
        stats.add(.created)
        state.current = tx
        startLifetime(tx)
        transactionCreated(tx)
        return .created(tx)
    }

    /// A reply without a transaction (when none could be created).
    func replyStatelessly(_ ctx: MessageContext, _ code: Int, _ reason: String) {
        var builder = StatelessReply(
            sourceIP: ctx.receive.sourceIP, sourcePort: ctx.receive.sourcePort, serverHeader: Core.serverHeader)
        builder.forceRport = ctx.forceRport
        let tag = TagHash.hex128(["SWIFTLET-TM/refused", ctx.message.callID ?? ""])
        if let bytes = try? builder.build(for: ctx.message, code: code, reason: reason, toTag: tag, topVia: ctx.via1) {
            _ = ctx.sendReply(bytes)
        }
    }

    /// A retransmitted request: the last reply goes out again (Kamailio's `t_retransmit_reply`).
    func absorbRetransmission(_ tx: Transaction) {
        tx.locked {
            guard let last = tx.lastReply else { return }
            stats.add(.retransmissions)
            tx.send(OutboundMessage(bytes: last, destination: tx.ctx.replyDestination, kind: .reply), context: nil)
        }
    }

    // MARK: replies upstream

    /// Sends `bytes` (a reply with status `code`) to the request's sender and remembers it;
    /// a final reply finishes the transaction (after the ACK of a negative INVITE reply over
    /// UDP, which is retransmitted until then). `relayed` is the received reply `bytes` were
    /// built from (for the `responseOut` callbacks). Call with the lock held.
    func sendUpstream(_ tx: Transaction, _ bytes: [UInt8], code: Int, relayed: SIPMessage? = nil) {
        guard tx.lastReplyCode < 200 else { return }  // a final reply went already
        if tx.localUAC != nil { return localReply(tx, bytes, code: code) }
        if code >= 200 { stats.addFinal(code) }
        stats.add(.sent)
        tx.lastReply = bytes
        tx.lastReplyCode = code
        tx.send(OutboundMessage(bytes: bytes, destination: tx.ctx.replyDestination, kind: .reply), context: tx.ctx)
        replySentUpstream(tx, bytes, code: code, relayed: relayed)
        guard code >= 200 else { return }
        for b in tx.pendingBranches { cancel(tx, b) }
        if tx.isInvite, code >= 300, tx.ctx.receive.proto == .udp {
            retransmitFinalReply(tx)
        } else {
            finish(tx)
        }
    }

    /// RFC 3261 Timer G/H: the negative final reply to an INVITE goes out again at T1,
    /// 2·T1, ... (capped at T2) until the ACK comes or 64·T1 passed.
    private func retransmitFinalReply(_ tx: Transaction) {
        var interval = settings.retrTimer1
        var elapsed = 0
        let limit = 64 * settings.retrTimer1
        tx.replyRetransmission = timers.schedule(afterMilliseconds: interval, name: "tm-reply-retr") {
            [self] in
            tx.locked {
                elapsed += interval
                guard !tx.acked, !tx.finished else { return .stop }
                guard elapsed < limit, let last = tx.lastReply else {
                    finish(tx)
                    return .stop
                }
                stats.add(.retransmissions)
                tx.send(OutboundMessage(bytes: last, destination: tx.ctx.replyDestination, kind: .reply), context: nil)
                interval = min(interval * 2, settings.retrTimer2)
                return .after(milliseconds: interval)
            }
        }
    }

    /// The ACK of a negative final reply arrived: it ends the transaction here.
    func absorbAck(_ tx: Transaction) {
        tx.locked {
            tx.acked = true
            tx.stop(tx.replyRetransmission)
            finish(tx)
        }
    }

    /// The transaction is done: its timers stop and it stays `wt_timer` ms to absorb
    /// retransmissions, then leaves the table. Call with the lock held.
    func finish(_ tx: Transaction) {
        guard !tx.finished else { return }
        tx.finished = true
        // Stopped and dropped here, on the worker: the wait timer has nothing left to stop.
        // The lifetime timer's handle becomes the wait timer when it can be moved (one
        // handle fewer per transaction).
        let lifetime = tx.lifetimeTimer
        tx.lifetimeTimer = nil
        stats.add(.waiting)
        // Given back to the scheduler, which hands the handles out again for the next
        // transaction's timers (no allocation there, none freed here).
        let timers = self.timers
        for b in tx.branches {
            timers.recycle(&b.retransmission)
            timers.recycle(&b.finalResponseTimer)
        }
        if let lifetime,
            lifetime.restart(afterMilliseconds: settings.wtTimer, name: "tm-wait", event: TMTimer.wait.event())
        {
            tx.waitTimer = lifetime
            return
        }
        tx.stop(lifetime)
        tx.waitTimer = schedule(tx, .wait, milliseconds: settings.wtTimer, name: "tm-wait")
    }
}
