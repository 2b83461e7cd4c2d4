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
        // The route runs on the request as it went on this branch; what it changes there
        // does not stay (Kamailio runs it on a faked copy).
        let savedURI = ctx.newRequestURI
        let savedDU = ctx.destinationURI
        let savedEdits = ctx.edits
        if b.uri != ctx.message.requestURI { ctx.newRequestURI = b.uri }
        _ = routes.runEventRoute(route, ctx, as: .branchFailure)
        ctx.newRequestURI = savedURI
        ctx.destinationURI = savedDU
        ctx.edits = savedEdits
        (state.current, state.replyCode, state.failedBranch, state.branchIndex) = saved
    }
}
