/// The To-tag of the replies to a request (Kamailio's `get_reply_totag` of the sl API):
/// offered by sl, which asks tm when the request has a transaction. A module that answers a
/// dialog-creating request and then sends requests in that dialog (presence's NOTIFYs)
/// needs the tag its reply carries.
public protocol ReplyToTagAPI: AnyObject {
    /// The To-tag a reply (from 180 on) to the request in `context` carries; nil for an ACK or
    /// a reply.
    func replyToTag(_ context: MessageContext) -> String?
}

/// tm's part of `ReplyToTagAPI` (`t_get_reply_totag`): the To-tag of the transaction's
/// replies, made now if no reply carried it yet; nil when the request has no transaction.
public protocol TransactionReplyToTagAPI: AnyObject {
    func transactionReplyToTag(_ context: MessageContext) -> String?
}
