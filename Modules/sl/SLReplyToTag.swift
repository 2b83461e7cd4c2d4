import SwiftletSDK

/// sl's `get_reply_totag`: tm's tag when the request has a transaction, else the tag of
/// sl's stateless replies.
extension SLModule: ReplyToTagAPI {
    func replyToTag(_ context: MessageContext) -> String? {
        let msg = context.message
        guard msg.isRequest, msg.method != .ack else { return nil }
        if let tm = context.core.apis.lookup(TransactionReplyToTagAPI.self),
            let tag = tm.transactionReplyToTag(context)
        {
            return tag
        }
        return tags.tag(for: msg)
    }
}
