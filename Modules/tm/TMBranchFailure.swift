import SwiftletSDK

extension TransactionManager {
    /// The prefix of the event routes `t_on_branch_failure(NAME)` arms.
    static let branchFailurePrefix = "tm:branch-failure:"

    /// Runs `event_route[tm:branch-failure:NAME]` for a branch that ended negatively (a
    /// reply >= 300 or a timeout), before tm decides whether the transaction is complete
    /// (Kamailio's `run_branch_failure_handlers`): the route sees the branch's reply code and
    /// Request-URI, `t_relay()` there adds branches to the transaction, and the route is
    /// disarmed for the branches created afterwards unless `t_on_branch_failure()` arms it
    /// again. Lock held.
    func runBranchFailure(_ tx: Transaction, _ b: ClientBranch) {
        guard let name = b.onBranchFailure, tx.lastReplyCode < 200, let routes = core.routes else { return }
        let route = Self.branchFailurePrefix + name
        guard routes.eventRouteNames.contains(route) else { return }
        tx.onBranchFailure = nil
        let ctx = tx.ctx
        let state = TMThreadState.thread
        let saved = (state.current, state.replyCode, state.failedBranch, state.branchIndex)
        (state.current, state.replyCode, state.failedBranch, state.branchIndex) = (tx, b.lastCode, b, b.index)
        // The route runs on the transaction's request (its Request-URI as `t_relay()` saw
        // it, not the branch's: `t_reuse_branch()` takes the branch's) with the branch's
        // flags as branch flags; what it changes there does not stay (Kamailio runs it on a
        // faked copy, `fake_req`).
        let savedURI = ctx.newRequestURI
        let savedDU = ctx.destinationURI
        let savedEdits = ctx.edits
        let savedFlags = ctx.branchFlags
        let savedBinding = ctx.binding
        ctx.branchFlags = b.flags
        ctx.requestURIIsNew = false
        _ = routes.runEventRoute(route, ctx, as: .branchFailure)
        ctx.newRequestURI = savedURI
        ctx.destinationURI = savedDU
        ctx.edits = savedEdits
        ctx.branchFlags = savedFlags
        ctx.binding = savedBinding
        (state.current, state.replyCode, state.failedBranch, state.branchIndex) = saved
    }
}
