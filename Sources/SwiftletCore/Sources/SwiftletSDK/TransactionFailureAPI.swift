/// The branch a failure route runs for, as tm shows it to other modules (what uac's
/// `uac_auth()` reads of Kamailio's `t->uac[t_get_picked_branch()]`).
public struct FailedBranch {
    /// The branch index.
    public let index: Int
    /// The Request-URI the branch was sent with.
    public let requestURI: String
    /// Its final status code (408 for a timeout).
    public let code: Int
    /// The reply received on it; nil when there was none (a timeout, Kamailio's FAKED_REPLY).
    public let reply: SIPMessage?

    public init(index: Int, requestURI: String, code: Int, reply: SIPMessage?) {
        self.index = index
        self.requestURI = requestURI
        self.code = code
        self.reply = reply
    }
}

/// tm's view of the failed branch for other modules, looked up with
/// `core.apis.lookup(TransactionFailureAPI.self)`.
public protocol TransactionFailureAPI: AnyObject {
    /// In a failure route: the branch whose reply was picked (`t_get_picked_branch()`);
    /// nil elsewhere.
    func failedBranch(_ context: MessageContext) -> FailedBranch?
}
