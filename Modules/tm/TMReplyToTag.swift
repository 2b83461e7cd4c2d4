import SwiftletSDK

/// `t_get_reply_totag` and `t_release()`.
extension TMModule: TransactionReplyToTagAPI {
    func transactionReplyToTag(_ context: MessageContext) -> String? {
        guard let tx = TMThreadState.thread.current, tx.ctx === context else { return nil }
        return tx.locked {
            if tx.localTag == nil { tx.localTag = LocalMessages.newToTag(tx) }
            return tx.localTag
        }
    }

    /// `t_release()`: the request's transaction is put on the wait timer now (Kamailio's
    /// `t_release_transaction`: it absorbs retransmissions for `wt_timer`, then goes); 1 also
    /// when the request has no transaction, -1 outside a request route.
    var releaseFunction: ScriptFunction {
        let m = manager
        return ScriptFunction("t_release", parameters: 0, routes: .request) { _ in
            { ctx in
                guard let tx = TMThreadState.thread.current, tx.ctx === ctx else { return 1 }
                tx.locked { m.finish(tx) }
                return 1
            }
        }
    }
}
