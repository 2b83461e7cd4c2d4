import SwiftletSDK

/// `t_suspend()` in tm's onreply route and `t_continue()` of the reply (Kamailio's
/// `t_suspend` for a SIP reply, `t_continue_helper` for `TM_ONREPLY_ROUTE`): the reply stops
/// after the route (not relayed, its branch unchanged, later replies of the transaction run
/// their onreply route and go no further either); `t_continue()` runs the route on the
/// reply, as an onreply route, and then handles the reply as if it had just arrived (relayed
/// upstream, the branch's end, the failure route).
extension TMInspection {
    func suspendReply(_ context: MessageContext) -> TransactionIdentity? {
        let state = TMThreadState.thread
        guard context.routeType == .tmOnReply, let tx = state.current, let index = state.branchIndex,
            let code = context.message.statusCode
        else {
            Log.error("tm", "transaction has not been created yet")
            return nil
        }
        return tx.locked {
            // Kamailio: a cancelled transaction is not suspended, t_suspend() is still true.
            if tx.canceled { return Self.identity(of: tx) }
            guard tx.lastReplyCode < 200, !tx.finished, index < tx.branches.count else { return nil }
            tx.suspendedReply = (index, context)
            // As Kamailio on receipt: an INVITE is not retransmitted any more; a final reply
            // stops the branch's timers.
            let b = tx.branches[index]
            if tx.isInvite || code >= 200 { tx.stop(b.retransmission) }
            if code >= 200 { tx.stop(b.finalResponseTimer) }
            return Self.identity(of: tx)
        }
    }

    /// `t_continue()` of a suspended reply. Lock held.
    func resumeReply(_ tx: Transaction, route: String, routes: ScriptRoutes) -> Int {
        guard let (index, rctx) = tx.suspendedReply else { return -1 }
        tx.suspendedReply = nil
        // Cancelled meanwhile: nothing to continue (Kamailio returns 1).
        if tx.canceled { return 1 }
        guard let code = rctx.message.statusCode, index < tx.branches.count else { return -1 }
        let b = tx.branches[index]
        let state = TMThreadState.thread
        let saved = (state.current, state.replyCode, state.branchIndex)
        (state.current, state.replyCode, state.branchIndex) = (tx, code, index)
        defer { (state.current, state.replyCode, state.branchIndex) = saved }
        // The route runs on the reply with the transaction's AVPs, XAVPs and flags, as
        // tm's onreply route.
        rctx.avps = tx.ctx.avps
        rctx.avpFlags = tx.ctx.avpFlags
        rctx.xavps = tx.ctx.xavps
        rctx.flags = tx.ctx.flags
        rctx.exitRequested = false
        _ = routes.runRoute(route, rctx, as: .tmOnReply)
        tx.ctx.avps = rctx.avps
        tx.ctx.avpFlags = rctx.avpFlags
        tx.ctx.xavps = rctx.xavps
        tx.ctx.flags = rctx.flags
        // Suspended again in that route: it waits for the next t_continue().
        if tx.suspendedReply != nil { return 1 }
        manager.processAfterReplyRoute(tx, b, rctx, code: code, relay: true)
        return 1
    }
}
