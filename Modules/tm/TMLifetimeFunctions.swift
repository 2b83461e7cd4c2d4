import SwiftletSDK

extension TMModule {
    /// `t_set_max_lifetime(inv, noninv)`, `t_reset_max_lifetime()`, `t_on_branch_failure(name)`.
    var lifetimeFunctions: [ScriptFunction] {
        let m = manager
        let routes: RouteTypes = [.request, .failure, .tmOnReply, .branch]
        return [
            ScriptFunction("t_set_max_lifetime", parameters: 2, routes: routes) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let inv = try args[0].intParameter()
                let nonInv = try args[1].intParameter()
                return { ctx in
                    guard let i = inv.value(ctx), let n = nonInv.value(ctx), i >= 0, n >= 0 else { return -1 }
                    let s = TMThreadState.thread
                    if let tx = s.current {
                        tx.locked { m.setMaxLifetime(tx, inv: i, nonInv: n) }
                    } else {
                        if i > 0 { s.options.maxInvLifetime = i }
                        if n > 0 { s.options.maxNonInvLifetime = n }
                    }
                    return 1
                }
            },
            ScriptFunction("t_reset_max_lifetime", parameters: 0, routes: routes) { _ in
                { _ in
                    let s = TMThreadState.thread
                    if let tx = s.current {
                        tx.locked {
                            tx.options.maxInvLifetime = nil
                            tx.options.maxNonInvLifetime = nil
                            if !tx.finished { m.startLifetime(tx) }
                        }
                    } else {
                        s.options.maxInvLifetime = nil
                        s.options.maxNonInvLifetime = nil
                    }
                    return 1
                }
            },
            ScriptFunction("t_on_branch_failure", parameters: 1, routes: routes) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let name = try args[0].constantString()
                return { _ in
                    let s = TMThreadState.thread
                    if let tx = s.current {
                        tx.locked { tx.onBranchFailure = name }
                    } else {
                        s.options.onBranchFailure = name
                    }
                    return 1
                }
            },
        ]
    }
}
