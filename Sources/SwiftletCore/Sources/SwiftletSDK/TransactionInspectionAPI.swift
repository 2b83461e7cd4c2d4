/// A transaction's identity as Kamailio shows it (`$T(id_index)`, `$T(id_label)`) and as
/// `t_continue(tindex, tlabel, route)` takes it back: the index of its hash bucket and its
/// label, unique while the process runs.
public struct TransactionIdentity: Hashable, Sendable {
    public let index: Int
    public let label: Int

    public init(index: Int, label: Int) {
        self.index = index
        self.label = label
    }
}

/// Which branches `cancelBranches` cancels (tmx's `t_cancel_branches("all"|"others"|"this")`).
public enum BranchCancelSelection: Sendable {
    /// Every pending branch (all but the reply's own branch when the reply is final).
    case all
    /// Every pending branch but the reply's.
    case others
    /// The reply's branch, when the reply is provisional.
    case this
}

/// One client branch of a transaction, as `$T_branch(...)` and `$T_reply_ruid` show it
/// (Kamailio's `struct ua_client`).
public struct TransactionBranchInfo: Sendable, Equatable {
    /// 0 for the first branch.
    public let index: Int
    /// The Request-URI the branch was sent with.
    public let uri: String
    /// The record id of the contact the branch goes to (registrar's lookup); empty when the
    /// branch was not built from a location record.
    public let ruid: String
    /// The branch flags (`setbflag` for that branch) when it was created.
    public let flags: UInt64
    /// The highest status code received on the branch (0: none yet; a timeout counts as 408).
    public let lastReceived: Int
    /// The branch ended without a received final reply (a timeout, or a suspended request's
    /// placeholder branch): its reply is one tm made up (Kamailio's `FAKED_REPLY`).
    public let replyIsLocal: Bool
    /// The registered contact the branch was built from (its `ruid` is `ruid` above).
    public let binding: ContactBinding

    public init(
        index: Int, uri: String, ruid: String, flags: UInt64, lastReceived: Int, replyIsLocal: Bool,
        binding: ContactBinding = ContactBinding()
    ) {
        self.index = index
        self.uri = uri
        self.ruid = ruid
        self.flags = flags
        self.lastReceived = lastReceived
        self.replyIsLocal = replyIsLocal
        self.binding = binding
    }
}

/// tm's transaction statistics (Kamailio's `struct t_proc_stats`, shown by tmx as
/// `tmx:UAS_transactions`, `tmx:rpl_sent`, ...).
public struct TransactionStatistics: Sendable, Equatable {
    /// Transactions created for received requests (`UAS_transactions`).
    public var serverTransactions = 0
    /// Transactions of locally originated requests (`UAC_transactions`).
    public var clientTransactions = 0
    /// Transactions in the table now, including those waiting to be removed (`inuse_transactions`).
    public var inUse = 0
    /// Transactions in the table that are not finished yet (`active_transactions`).
    public var active = 0
    /// Final replies sent upstream by class: index 0 for 2xx ... 4 for 6xx (`2xx_transactions` ...).
    public var completed: [Int] = [0, 0, 0, 0, 0]
    /// Replies received that matched a transaction (`rpl_received`).
    public var repliesReceived = 0
    /// Replies tm generated and sent upstream, 100 Trying and timeouts included (`rpl_generated`).
    public var repliesGenerated = 0
    /// Replies sent upstream, relayed or generated (`rpl_sent`).
    public var repliesSent = 0

    public init() {}
}

/// What tm lets other modules see and do with its transactions beyond `TransactionAPI`
/// (Kamailio's `tm_binds` as tmx and uac use them: `t_gett`, `t_lookup_callid`,
/// `t_lookup_ident`, `prepare_to_cancel`/`cancel_uacs`, `t_reply_trans`, `t_suspend`,
/// `t_continue`, `t_release_transaction`, `get_stats`). Looked up with
/// `core.apis.lookup(TransactionInspectionAPI.self)`; provided by tm.
///
/// "The transaction of `context`" is the one the current failure, branch or onreply route
/// runs for, else the one of the request in `context` (created by `t_newtran()`,
/// `t_relay()`, `t_reply()` or a retransmission's).
public protocol TransactionInspectionAPI: AnyObject {
    /// The identity of the transaction of `context` (`$T(id_index)`, `$T(id_label)`); with
    /// `create`, a request without one gets it first (`$T(id_label_n)`, as `t_newtran()`).
    func identity(_ context: MessageContext, create: Bool) -> TransactionIdentity?

    /// The transaction with this Call-ID and CSeq number, the number alone (Kamailio's
    /// `t_lookup_callid`; the oldest one when an INVITE and its CANCEL both match).
    func find(callID: String, cseq: String) -> TransactionIdentity?

    /// True while the transaction with this identity is in the table.
    func exists(_ id: TransactionIdentity) -> Bool

    /// The transaction's request as received, in a new context of its own (the script's
    /// message flags copied, none of its edits): `$T_req(pv)` evaluates `pv` on it.
    func request(_ context: MessageContext) -> MessageContext?

    /// For a CANCEL in `context`: the request of the INVITE transaction it cancels, in a new
    /// context as `request(_:)` (`$T_inv(pv)`); nil for other requests or without one.
    func cancelledInvite(_ context: MessageContext) -> MessageContext?

    /// The reply the current route runs for: the reply itself in an onreply route, the chosen
    /// one (the winning branch's) in a failure route, in a new context; nil when that reply
    /// was generated by tm (a timeout) or outside those routes (`$T_rpl(pv)`, uac's
    /// `uac_auth()` reading the 401/407 challenge).
    func reply(_ context: MessageContext) -> MessageContext?

    /// The reason phrase of that reply; for a reply tm generated, the standard phrase of its
    /// code (`$T_reply_reason`).
    func replyReason(_ context: MessageContext) -> String?

    /// The branch that reply belongs to: the reply's branch in an onreply route, the chosen
    /// one in a failure route, the branch being created in a branch route.
    func replyBranch(_ context: MessageContext) -> TransactionBranchInfo?

    /// How many branches the transaction of `context` has (Kamailio's `nr_of_outgoings`).
    func branchCount(_ context: MessageContext) -> Int?

    /// The status of the last reply sent upstream for the transaction of `context`, 0 before
    /// any (Kamailio's `t->uas.status`).
    func lastSentCode(_ context: MessageContext) -> Int?

    /// `t_cancel_branches`: in an onreply route, CANCELs the selected pending branches of an
    /// INVITE transaction. False when there was nothing to cancel.
    func cancelBranches(_ context: MessageContext, _ which: BranchCancelSelection) -> Bool

    /// CANCELs every pending branch of the transaction (`t_cancel_callid`); `reasonCode`
    /// (100-699) adds `Reason: SIP;cause=<code>` to the CANCELs (with Kamailio's text for
    /// 200, `;text="Call completed elsewhere"`). False when it is gone.
    func cancel(_ id: TransactionIdentity, reasonCode: Int?) -> Bool

    /// Sends a stateful reply to the transaction's request (`t_reply_callid`); false when it
    /// is gone or has its final reply already.
    func reply(to id: TransactionIdentity, code: Int, reason: String) -> Bool

    /// Sets message flag `flag` (0-63) on the transaction's request (what its failure and
    /// reply routes see).
    func setFlag(_ flag: Int, of id: TransactionIdentity) -> Bool

    /// Copies the message flags (`t_flush_flags`) or the extended flags (`t_flush_xflags`)
    /// of `context` to its transaction's request. False without a transaction.
    func flushFlags(_ context: MessageContext, extended: Bool) -> Bool

    /// `t_suspend()` as Kamailio's: the transaction (created if needed) waits, answered
    /// `100 Trying` when it is an INVITE, with a placeholder branch whose final-response timer
    /// runs (on timeout the transaction fails with 408, its failure route runs). For a reply
    /// in tm's onreply route: the reply is held (not relayed, its branch unchanged) until
    /// `resume`. Returns the identity to continue it with, nil when it cannot be suspended
    /// (a final reply was sent, no transaction).
    func suspend(_ context: MessageContext) -> TransactionIdentity?

    /// `t_continue(tindex, tlabel, route)`: runs `route[route]` (as a failure route, on the
    /// transaction's request) for a suspended transaction, from any thread; afterwards a
    /// transaction without a final reply and without pending branches is answered 500. A
    /// suspended reply: the route runs on it as an onreply route, then the reply is handled
    /// as if it had just arrived.
    /// 1 when it ran (or the transaction was cancelled meanwhile), -1 when the transaction is
    /// gone or not suspended, or the route is not defined.
    func resume(_ id: TransactionIdentity, route: String) -> Int

    /// `t_drop([rcode])`: the transaction ends without a reply (its status set to `code`);
    /// retransmissions are absorbed until it leaves the table. False without a transaction.
    func drop(_ context: MessageContext, code: Int) -> Bool

    /// tm's statistics now.
    var statistics: TransactionStatistics { get }
}
