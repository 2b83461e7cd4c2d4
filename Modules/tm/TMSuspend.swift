import SwiftletSDK

/// `t_suspend()` and `t_continue()` as Kamailio's `t_suspend.c`: a suspended transaction
/// gets a placeholder branch (Kamailio's blind UAC) that is never sent but runs the
/// final-response timer, so that a request never continued fails with 408 (its failure
/// route runs). The placeholder shares the transaction's request bytes (`tx.clone`), which
/// is how it is told from the branches that were sent.
extension TMInspection {
    /// The placeholder branch of the last `t_suspend()`, if any.
    func blindBranch(_ tx: Transaction) -> ClientBranch? { tx.branches.last { $0.request === tx.clone } }

    func suspend(_ context: MessageContext) -> TransactionIdentity? {
        if !context.message.isRequest { return suspendReply(context) }
        guard context.message.isRequest, [.request, .failure].contains(context.routeType) else { return nil }
        let tx: Transaction
        if let current = TMThreadState.thread.current, current.ctx === context {
            tx = current
        } else {
            switch manager.transaction(for: context) {
            case .created(let t): tx = t
            case .existing(let t):
                manager.absorbRetransmission(t)
                return nil
            case .refused: return nil
            }
        }
        return tx.locked {
            // Kamailio: an already cancelled transaction is not suspended, t_suspend() is still true.
            if tx.canceled { return Self.identity(of: tx) }
            guard tx.lastReplyCode < 200, !tx.finished else { return nil }
            let settings = manager.settings
            if tx.isInvite, settings.autoInv100, tx.lastReplyCode < 100,
                let trying = LocalMessages.reply(tx, code: 100, reason: settings.autoInv100Reason)
            {
                manager.stats.add(.local)
                manager.sendUpstream(tx, trying, code: 100)
            }
            let blind = ClientBranch(
                index: tx.branches.count, uri: tx.ctx.requestURI ?? "", destination: tx.ctx.replyDestination,
                request: tx.clone)
            tx.branches.append(blind)
            manager.armFinalResponseTimer(tx, blind, milliseconds: tx.frTimeout ?? settings.frTimer)
            return Self.identity(of: tx)
        }
    }

    func resume(_ id: TransactionIdentity, route: String) -> Int {
        guard let routes = manager.core.routes, routes.routeNames.contains(route) else {
            Log.error("tm", "t_continue: unable to find route block [\(route)]")
            return -1
        }
        guard let tx = transaction(id) else {
            Log.warning("tm", "t_continue: active transaction [\(id.index):\(id.label)] not found")
            return -1
        }
        return tx.locked {
            // A finished transaction (waiting to leave the table) is not active any more.
            if tx.finished {
                Log.warning("tm", "t_continue: active transaction [\(id.index):\(id.label)] not found")
                return -1
            }
            if tx.suspendedReply != nil { return resumeReply(tx, route: route, routes: routes) }
            // `cancelSent` marks a placeholder that was continued already.
            guard let blind = blindBranch(tx), !blind.cancelSent else {
                Log.warning("tm", "t_continue: transaction [\(id.index):\(id.label)] is not suspended")
                return -1
            }
            blind.cancelSent = true
            // Cancelled or timed out meanwhile: nothing to continue (Kamailio returns 1).
            if tx.canceled || blind.lastCode != 0 { return 1 }
            // The placeholder ends; it never counts as a reply (only later branches do).
            blind.lastCode = 500
            tx.stop(blind.finalResponseTimer)
            blind.dropped = true
            tx.failureBranchStart = tx.branches.count
            let state = TMThreadState.thread
            let saved = (state.current, state.replyCode, state.failedBranch, state.branchIndex)
            (state.current, state.replyCode, state.failedBranch, state.branchIndex) = (tx, nil, nil, nil)
            let ctx = tx.ctx
            let savedRouteType = ctx.routeType
            ctx.exitRequested = false
            tx.inFailureRoute = true
            // Kamailio runs the route as a failure route on the transaction's request.
            _ = routes.runRoute(route, ctx, as: .failure)
            tx.inFailureRoute = false
            ctx.routeType = savedRouteType
            (state.current, state.replyCode, state.failedBranch, state.branchIndex) = saved
            // No final reply and no branch left that could bring one: 500 (Kamailio's kill_transaction).
            if tx.lastReplyCode < 200, !tx.finished, tx.pendingBranches.isEmpty,
                let bytes = LocalMessages.reply(
                    tx, code: 500, reason: "I'm terribly sorry, server error occurred (1/TM)")
            {
                manager.stats.add(.local)
                manager.sendUpstream(tx, bytes, code: 500)
            }
            return 1
        }
    }
}

extension TransactionManager {
    /// A CANCEL for an INVITE with no branch on the wire (none yet, or only `t_suspend()`'s
    /// placeholder): the INVITE is answered `487 Request canceled` at once and its placeholder
    /// ends (Kamailio's `e2e_cancel` with nothing to cancel). False when there are branches to
    /// cancel or a final reply went already. Lock held.
    func terminateUnforwarded(_ invite: Transaction) -> Bool {
        guard invite.lastReplyCode < 200, !invite.finished,
            invite.pendingBranches.allSatisfy({ $0.request === invite.clone })
        else { return false }
        invite.canceled = true
        for b in invite.pendingBranches {
            b.lastCode = 487
            invite.stop(b.finalResponseTimer)
        }
        if let bytes = LocalMessages.reply(invite, code: 487, reason: "Request canceled") {
            stats.add(.local)
            sendUpstream(invite, bytes, code: 487)
        }
        return true
    }
}
