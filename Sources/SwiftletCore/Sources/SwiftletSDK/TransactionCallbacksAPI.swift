/// The events of a transaction other modules can follow (Kamailio's `TMCB_*` types, with
/// its bit values).
public struct TransactionCallbackTypes: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// A transaction was created for a received request (`TMCB_REQUEST_IN`; global only).
    public static let requestIn = TransactionCallbackTypes(rawValue: 1 << 0)
    /// A reply arrived for the transaction, before its onreply route (`TMCB_RESPONSE_IN`).
    public static let responseIn = TransactionCallbackTypes(rawValue: 1 << 1)
    /// The ACK for the transaction's 2xx arrived (`TMCB_E2EACK_IN`; INVITE transactions).
    public static let e2eAckIn = TransactionCallbackTypes(rawValue: 1 << 2)
    /// All branches failed, before the failure route runs (`TMCB_ON_FAILURE`).
    public static let onFailure = TransactionCallbackTypes(rawValue: 1 << 7)
    /// A reply was sent upstream, relayed or local (`TMCB_RESPONSE_OUT`).
    public static let responseOut = TransactionCallbackTypes(rawValue: 1 << 9)
    /// The transaction is removed (`TMCB_DESTROY`).
    public static let destroy = TransactionCallbackTypes(rawValue: 1 << 17)

    /// The types that may be registered per transaction.
    public static let perTransaction: TransactionCallbackTypes = [
        .responseIn, .e2eAckIn, .onFailure, .responseOut, .destroy,
    ]
}

/// What a transaction callback receives (Kamailio's `struct tmcb_params` with the cell).
public struct TransactionEvent {
    /// The one type this call is for.
    public let type: TransactionCallbackTypes
    /// The transaction's request (with the script's state).
    public let request: MessageContext
    /// `responseIn`: the reply received; `responseOut`: the reply sent;
    /// `onFailure`: the chosen branch's reply (nil for a timeout); otherwise nil.
    public let reply: SIPMessage?
    /// `responseIn`: the reply's context; edits made to it (`replyContext.edits`) are in
    /// the reply tm relays. Otherwise nil.
    public let replyContext: MessageContext?
    /// `e2eAckIn`: the ACK; otherwise nil.
    public let ack: MessageContext?
    /// The status code of the reply (0 when there is none).
    public let code: Int
    /// The branch the reply belongs to, when there is one.
    public let branch: Int?
    /// The transaction's index and label (`tm.list`'s `tindex` and `tlabel`).
    public let transactionIndex: String
    public let transactionLabel: String

    public init(
        type: TransactionCallbackTypes, request: MessageContext, reply: SIPMessage?,
        replyContext: MessageContext? = nil,
        ack: MessageContext?, code: Int, branch: Int?, transactionIndex: String, transactionLabel: String
    ) {
        self.type = type
        self.request = request
        self.reply = reply
        self.replyContext = replyContext
        self.ack = ack
        self.code = code
        self.branch = branch
        self.transactionIndex = transactionIndex
        self.transactionLabel = transactionLabel
    }
}

/// tm's callbacks for other modules (Kamailio's `register_tmcb`, as the dialog module uses
/// them). Callbacks run on the thread of the event (a worker, or the timer thread), under
/// the transaction's lock: they must be quick and must not wait for other transactions.
/// Register global ones in `mod_init`; per-transaction ones from the script functions.
public protocol TransactionCallbacksAPI: AnyObject {
    /// Calls `callback` for every transaction created for a received request
    /// (`TMCB_REQUEST_IN`), in the worker that created it, right after creation. Only
    /// before workers run (mod_init).
    func registerRequestIn(_ callback: @escaping (TransactionEvent) -> Void)
    /// Calls `callback` for the `types` events (of `TransactionCallbackTypes.perTransaction`)
    /// of the transaction of the request in `context`: its transaction when it has one,
    /// otherwise the one the script creates for it later (Kamailio's early callbacks).
    /// False for types that cannot be registered per transaction.
    @discardableResult
    func register(
        _ types: TransactionCallbackTypes, for context: MessageContext,
        _ callback: @escaping (TransactionEvent) -> Void
    ) -> Bool
}
