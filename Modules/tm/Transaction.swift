import SwiftletSDK
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A message a transaction sends after its lock is released.
struct PendingSend {
    let message: OutboundMessage
    let context: MessageContext?
}

/// One outgoing branch of a transaction (Kamailio's `struct ua_client`): where it went,
/// the bytes sent (kept in shared memory for retransmissions), and what came back.
final class ClientBranch {
    let index: Int
    /// Where the branch's Request-URI is kept.
    enum RequestURI {
        case text(String)
        /// The received request's own, unchanged (made into a string when asked for).
        case received(SIPMessage)
    }
    private let storedURI: RequestURI
    /// The Request-URI the branch was sent with.
    var uri: String {
        switch storedURI {
        case .text(let text): text
        case .received(let message): message.requestURI ?? ""
        }
    }
    let destination: Destination
    /// The request as sent (retransmissions, and the source of its CANCEL and ACK).
    let request: SharedBytes
    /// The highest status code received, 0 before any reply; a local timeout sets 408.
    var lastCode = 0
    /// Some reply came back on this branch (`t_branch_replied()`).
    var replied = false
    /// The final reply received (the context it was processed in), nil for a timeout or a
    /// local final. Released once a proxied transaction's 2xx went upstream
    /// (`releaseFinalReply()`): only failure routes and tm's own requests read it later, and
    /// neither follows a 2xx; `receivedFinal` still tells that one came.
    var finalReply: MessageContext? {
        get { storedFinalReply }
        set {
            storedFinalReply = newValue
            receivedFinal = newValue != nil
        }
    }
    private var storedFinalReply: MessageContext?
    /// A final reply was received on this branch (false for a timeout or a local final).
    private(set) var receivedFinal = false
    var retransmission: TimerHandle?
    /// The interval of the next retransmission (ms; kept here rather than in a box the timer
    /// closure captures).
    var retransmissionInterval = 0
    var finalResponseTimer: TimerHandle?
    /// A CANCEL was sent on this branch.
    var cancelSent = false
    /// Retransmissions of that CANCEL (UDP), and whether a reply to it came.
    var cancelRetransmission: TimerHandle?
    var cancelAnswered = false
    /// The branch must be cancelled as soon as it answers (CANCEL arrived before any reply).
    var cancelPending = false
    /// `event_route[tm:branch-failure:NAME]` armed for this branch when it was created.
    var onBranchFailure: String?
    /// The next hop's addresses not tried yet (DNS failover).
    var alternatives: [Destination] = []
    /// Its reply no longer counts for the final reply (`t_drop_replies()`,
    /// `failure_reply_mode`).
    var dropped = false
    /// The branch flags it was sent with (`$T_branch(flags)`).
    var flags: UInt64 = 0
    /// The registered contact it goes to (`+sip.instance`, reg-id, ruid, UA).
    var binding = ContactBinding()

    init(index: Int, uri: String, destination: Destination, request: SharedBytes) {
        self.index = index
        self.storedURI = .text(uri)
        self.destination = destination
        self.request = request
    }

    init(index: Int, uri: RequestURI, destination: Destination, request: SharedBytes) {
        self.index = index
        self.storedURI = uri
        self.destination = destination
        self.request = request
    }

    var isFinal: Bool { lastCode >= 200 }
    var isReliable: Bool { destination.proto != .udp }
    /// The branch's final reply was made here (a timeout, a cancelled or suspended branch).
    var hasLocalFinal: Bool { isFinal && !receivedFinal }

    /// Frees the received final reply (its message, buffer and context) while keeping
    /// `receivedFinal`: the reply's memory goes back on the worker that processed it instead
    /// of waiting `wt_timer` with the transaction. Lock held.
    func releaseFinalReply() { storedFinalReply = nil }
}

/// A transaction: the server transaction of a received request and its client branches
/// (Kamailio's `struct cell`). Every field is guarded by `lock` (recursive: a failure route
/// run under it may call `t_relay()` again).
final class Transaction {
    /// The request's key in the table: an RFC 3261 key as its parts (branch and sent-by in
    /// `clone`, port, method class: no string made), else its text (the RFC 2543 fields, a
    /// local request's).
    let key: TransactionKey.Stored
    /// `key` hashed for the table (`TransactionKey.Probe.hash`), once.
    let keyHash: UInt64
    /// The id in the branches of our requests: `z9hG4bK<label>.<id>.<branch>`. Made from
    /// `number` when asked for (`TransactionKey.id`) unless it is irregular (a local
    /// request's): no string kept per transaction.
    var id: String { irregularID ?? TransactionKey.id(number) }
    /// A local request's id (not `TransactionKey.id(number)`), else nil.
    private let irregularID: String?
    let label: String
    /// The number the label is written from (hex); `id` is `TransactionKey.id(number)` when
    /// `hasNumberedID` (every transaction but tm's local requests).
    let number: UInt64
    let hasNumberedID: Bool
    let isInvite: Bool
    /// The request as received, with the script's state (flags, AVPs, edits): what failure,
    /// branch and reply routes run on.
    let ctx: MessageContext
    /// The received request's bytes in shared memory (bounds tm's memory by `-m`).
    let clone: SharedBytes
    var branches: [ClientBranch] = []
    /// The last reply sent upstream (re-sent when the request is retransmitted).
    var lastReply: [UInt8]?
    var lastReplyCode = 0
    /// The To-tag of replies tm generates for this request.
    var localTag: String?
    var onFailure: String?
    var onReply: String?
    var onBranch: String?
    var onBranchFailure: String?
    /// `t_set_fr()` values for this transaction, in ms (nil: the module's).
    var frTimeout: Int?
    var frInvTimeout: Int?
    /// `t_set_disable_6xx()` and `t_set_no_e2e_cancel_reason()` for this transaction (nil:
    /// the module parameter).
    var disable6xxBlock: Bool?
    var noE2ECancelReason: Bool?
    /// A target of `t_relay()` was this server itself.
    var loopDetected = false
    /// CANCEL received for it (`t_is_canceled()`).
    var canceled = false
    /// An ACK for its negative final reply arrived.
    var acked = false
    var finished = false
    /// Set while the failure route runs (a `t_relay()` there forks serially).
    var inFailureRoute = false
    /// The first branch whose reply counts for the final reply (`failure_reply_mode` 3:
    /// The first branch of the last set of branches (those of the request route, then those
    /// of the last failure route): `t_drop_replies("l")` drops the replies from there.
    var failureBranchStart = 0
    /// Retransmission of a negative final reply until the ACK (UDP, RFC 3261 Timer G/H).
    var replyRetransmission: TimerHandle?
    var waitTimer: TimerHandle?
    /// The reason of the last CANCEL (`Reason:` header to copy into the CANCELs we send).
    var cancelReason: String?
    /// The script's switches for this transaction (`t_relay_to()` flags, lifetimes, ...).
    var options = TransactionOptions()
    /// Ends the pending branches at `max_inv_lifetime`/`max_noninv_lifetime`.
    var lifetimeTimer: TimerHandle?
    /// When the lifetime ends, in timer ticks (Kamailio's `end_of_life`; `tm.clean`).
    var endOfLife = UInt64.max
    /// The maximum lifetime passed: a new branch times out at once.
    var expired = false
    /// `t_relay()` failed with `t_relay_to()` flag 0x02: the script may still reply; at the
    /// end of its lifetime the transaction is released silently.
    var releaseWhenExpired = false
    /// `t_relay()` failed in the request route: the error to reply with when the route ends
    /// (Kamailio's `REQ_ERR_DELAYED`).
    var delayedError: CoreError?
    /// Created by `t_replicate()`: replies are not relayed upstream.
    var replicated = false
    /// `t_drop_replies()` mode of the failure route running (0 none, 1 all, 2 the last set;
    /// nil: `failure_reply_mode`).
    var dropReplies: Int?
    /// The request's changes as the failure route's branches start from (`t_save_lumps()`,
    /// or the first `t_relay()`).
    var savedEdits: MessageEditor?
    /// Other modules' callbacks (TMCallbacks.swift).
    var callbacks: [TMCallbackEntry] = []
    /// Set for a request tm sent itself (LocalRequests.swift).
    var localUAC: LocalUAC?
    /// The branch `t_relay()` sends once the lock is released and its request's bytes
    /// (TransactionManager+BranchSend).
    var unsentBranch: ClientBranch?
    var unsentBytes: [UInt8] = []
    /// A reply `t_suspend()` suspended in the onreply route (its branch and context), until
    /// `t_continue()` (TMReplySuspend.swift).
    var suspendedReply: (branch: Int, context: MessageContext)?

    /// The manager its timers call (`TimerTarget`), set when the first is armed and cleared
    /// when the transaction leaves the table.
    var timerManager: TransactionManager?
    /// Set once the transaction left the table (after its `destroy` callbacks): a worker's
    /// `TMThreadState.current` no longer finds it.
    let released = Atomic<Bool>(false)
    /// The transaction buried before this one (`TransactionGraveyard`), as an address.
    var nextInGrave: UInt = 0
    /// Handed to the graveyard already.
    var buried = false
    /// The next transaction in its bucket of the table by key hash and by number
    /// (`TransactionTable`, whose bucket locks guard them; the table holds the references).
    var nextByKey: Unmanaged<Transaction>?
    var nextByNumber: Unmanaged<Transaction>?

    /// A recursive mutex, from the thread's spares when it has one (`TransactionMutexes`).
    private let mutex = TransactionMutexes.take()
    private var depth = 0
    /// Messages to send once the lock is released, in order (`send(_:context:)`).
    private var outbox: [PendingSend] = []
    /// A thread is sending the outbox (others queued meanwhile leave theirs to it).
    private var flushing = false

    /// `id` is used only when `numberedID` is false (a numbered transaction's is made from
    /// `number`).
    init(
        key: TransactionKey.Probe, id: String, number: UInt64, numberedID: Bool, isInvite: Bool, ctx: MessageContext,
        clone: SharedBytes
    ) {
        self.key = key.stored
        self.keyHash = key.hash
        self.irregularID = numberedID ? nil : id
        self.label = Self.hex(number)
        self.number = number
        self.hasNumberedID = numberedID
        self.isInvite = isInvite
        self.ctx = ctx
        self.clone = clone
    }

    /// `String(n, radix: 16)`, written in one go (a label is made for every transaction).
    static func hex(_ n: UInt64) -> String {
        let digits = max(1, (64 - n.leadingZeroBitCount + 3) / 4)
        return String(unsafeUninitializedCapacity: digits) { out in
            var v = n
            for i in stride(from: digits - 1, through: 0, by: -1) {
                let d = UInt8(truncatingIfNeeded: v & 0xf)
                out[i] = d < 10 ? 0x30 + d : 0x57 + d
                v >>= 4
            }
            return digits
        }
    }

    deinit { TransactionMutexes.give(mutex) }

    /// Runs `body` under the transaction's lock. Messages queued meanwhile
    /// (`send(_:context:)`) go out after the outermost unlock, as Kamailio sends relayed
    /// replies after `UNLOCK_REPLIES`: another worker waiting for the lock does not wait for
    /// `sendto`.
    func locked<R>(_ body: () -> R) -> R {
        enter()
        let result = body()
        leave()
        return result
    }

    /// `locked` without a closure, for the paths every message takes: a closure's captured
    /// references are retained and released around the call, these need not be. Each `enter()`
    /// is followed by one `leave()` on the same thread, with nothing in between that returns
    /// or throws past it.
    @inline(__always) func enter() {
        pthread_mutex_lock(mutex)
        depth += 1
    }

    /// Ends a section begun with `enter()`: unlocks, and after the outermost one sends what
    /// was queued meanwhile.
    func leave() {
        depth -= 1
        guard depth == 0, !outbox.isEmpty, !flushing else {
            pthread_mutex_unlock(mutex)
            return
        }
        flushing = true
        var sends: [PendingSend] = []
        swap(&sends, &outbox)
        pthread_mutex_unlock(mutex)
        flush(&sends)
    }

    /// Sends `message` through `ctx.core`'s send path when the outermost `locked` section
    /// ends, after what was queued before it (the transaction's messages keep their order
    /// whichever worker sends them). Call with the lock held; without it, sends at once.
    /// `message` and `context` are taken (consumed): queued without a copy of their references.
    func send(_ message: consuming OutboundMessage, context: consuming MessageContext?) {
        guard depth > 0 else {
            _ = ctx.core.send(message, context: context)
            return
        }
        if outbox.capacity == 0 { outbox.reserveCapacity(4) }
        outbox.append(PendingSend(message: message, context: context))
    }

    /// Sends the messages of `sends` in order and empties it, keeping its buffer: each is
    /// moved out of the array (no copy of its references, which a `for` loop would make).
    private func sendAll(_ sends: inout [PendingSend]) {
        if sends.count > 1 { sends.reverse() }
        while let s = sends.popLast() { _ = ctx.core.send(s.message, context: s.context) }
    }

    /// Sends what the queue held (`sends`), then what other workers queued meanwhile, until
    /// it is empty. The emptied buffer becomes the queue again (no allocation for the next
    /// locked section's messages).
    private func flush(_ sends: inout [PendingSend]) {
        while true {
            sendAll(&sends)
            pthread_mutex_lock(mutex)
            if outbox.isEmpty {
                // A finished transaction sends little more (the replies it absorbs again): its
                // buffer is freed now rather than kept for the `wt_timer` wait.
                if finished {
                    outbox = []
                } else if outbox.capacity == 0 {
                    swap(&sends, &outbox)
                }
                flushing = false
                pthread_mutex_unlock(mutex)
                return
            }
            swap(&sends, &outbox)
            pthread_mutex_unlock(mutex)
        }
    }

    /// Sends what is queued now, under the lock: before a message whose outcome the caller
    /// needs (a branch's request), so that the transaction's messages keep their order.
    func sendQueuedNow() {
        guard !outbox.isEmpty, !flushing else { return }
        // Taken out of `outbox` while they go (a send never finds the queue being emptied).
        var sends: [PendingSend] = []
        swap(&sends, &outbox)
        sendAll(&sends)
        if outbox.isEmpty { swap(&sends, &outbox) }  // the buffer stays the queue's
    }

    /// Stops a timer (lock held). A timer callback running now, waiting for this lock, is
    /// not waited for (that would deadlock): it runs once it has the lock, sees the
    /// transaction as this section left it, and is not re-armed.
    func stop(_ timer: TimerHandle?) {
        timer?.stop()
    }

    /// True when `bytes` are this transaction's id; for a numbered transaction, `bytes` are
    /// an id whose first half gave its number (`TransactionKey.number(ofID:)`).
    func hasID(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard var id = irregularID else { return TransactionKey.isID(bytes, ofNumberFromFirstHalf: number) }
        return id.withUTF8 { u in
            u.count == bytes.count && (u.isEmpty || memcmp(u.baseAddress!, bytes.baseAddress!, u.count) == 0)
        }
    }

    /// The branches still waiting for a final reply.
    var pendingBranches: [ClientBranch] { branches.filter { !$0.isFinal } }
}
