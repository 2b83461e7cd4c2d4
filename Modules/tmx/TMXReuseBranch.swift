import SwiftletSDK

extension TMXModule {
    /// `t_reuse_branch()` (Kamailio's `ki_t_reuse_branch`): in
    /// `event_route[tm:branch-failure:NAME]`, makes the failed branch the request's next
    /// target: its Request-URI, branch flags and registered contact (`+sip.instance`,
    /// reg-id, ruid, UA), so that `t_relay()` there sends a new branch to the same contact.
    /// -1 in any other route (Kamailio exports it for event routes, which are checked as
    /// request routes, and refuses it at run time elsewhere) or without a transaction.
    var reuseBranchFunction: ScriptFunction {
        ScriptFunction("t_reuse_branch", parameters: 0, routes: .request) { _ in
            { ctx in
                guard ctx.routeType == .branchFailure else {
                    Log.error("tmx", "unsupported route_type \(ctx.routeType.rawValue)")
                    return -1
                }
                guard let b = self.inspect?.replyBranch(ctx) else {
                    Log.error("tmx", "no transaction")
                    return -1
                }
                ctx.newRequestURI = b.uri
                ctx.branchFlags = b.flags
                ctx.binding = b.binding
                return 1
            }
        }
    }
}
