import SwiftletSDK

extension TMXModule {
    /// tmx's functions acting on transactions, through tm's `TransactionInspectionAPI`
    /// (Kamailio's `tmx_mod.c`).
    var transactionFunctions: [ScriptFunction] {
        [
            ScriptFunction("t_cancel_branches", parameters: 1, routes: .onReply) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let which: BranchCancelSelection
                switch try args[0].constantString().lowercased() {
                case "all": which = .all
                case "others": which = .others
                case "this": which = .this
                case let other:
                    throw FixupError("t_cancel_branches: invalid param \"\(other)\"", at: args[0].location)
                }
                return { ctx in self.inspect?.cancelBranches(ctx, which) == true ? 1 : -1 }
            },
            ScriptFunction("t_cancel_callid", parameters: 3...4, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let callID = try args[0].stringFormat()
                let cseq = try args[1].stringFormat()
                let flag = try args[2].intParameter()
                let reason = try args.count > 3 ? args[3].intParameter() : nil
                return { ctx in
                    guard let api = self.inspect, let fl = flag.value(ctx) else { return -1 }
                    let code = reason?.value(ctx).flatMap { (100...699).contains($0) ? $0 : nil }
                    guard let id = api.find(callID: callID.render(ctx), cseq: cseq.render(ctx)) else { return -1 }
                    // Kamailio sets only flags 1-31 this way.
                    if fl > 0, fl < 32 { _ = api.setFlag(fl, of: id) }
                    return api.cancel(id, reasonCode: code) ? 1 : -1
                }
            },
            ScriptFunction("t_reply_callid", parameters: 4, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let callID = try args[0].stringFormat()
                let cseq = try args[1].stringFormat()
                let code = try args[2].intParameter()
                let reason = try args[3].stringFormat()
                return { ctx in
                    guard let api = self.inspect, let c = code.value(ctx),
                        let id = api.find(callID: callID.render(ctx), cseq: cseq.render(ctx))
                    else { return -1 }
                    return api.reply(to: id, code: c, reason: reason.render(ctx)) ? 1 : -1
                }
            },
            flush("t_flush_flags", extended: false), flush("t_flush_xflags", extended: true),
            ScriptFunction("t_suspend", parameters: 0, routes: [.request, .failure, .tmOnReply]) { _ in
                { ctx in
                    guard let id = self.inspect?.suspend(ctx) else {
                        Log.error("tmx", "t_suspend: failed to suspend the processing")
                        return -1
                    }
                    Log.debug("tmx", "transaction suspended [\(id.index):\(id.label)]")
                    return 1
                }
            },
            ScriptFunction("t_continue", parameters: 3, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let index = try args[0].intParameter()
                let label = try args[1].intParameter()
                let route = try args[2].stringFormat()
                return { ctx in
                    guard let api = self.inspect, let i = index.value(ctx), let l = label.value(ctx) else {
                        Log.error("tmx", "t_continue: cannot get the transaction index and label")
                        return -1
                    }
                    return api.resume(TransactionIdentity(index: i, label: l), route: route.render(ctx)) > 0 ? 1 : -1
                }
            },
            ScriptFunction("t_drop", parameters: 0...1, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let code = try args.first?.intParameter()
                return { ctx in
                    let c = code.map { $0.value(ctx) ?? 500 } ?? 500
                    guard self.inspect?.drop(ctx, code: c) == true else {
                        Log.error("tmx", "t_drop: no transaction")
                        return -1
                    }
                    return 0
                }
            },
        ]
    }

    /// `t_flush_flags()`/`t_flush_xflags()`: the message's (extended) flags go to its
    /// transaction's request; -1 without a transaction.
    func flush(_ name: String, extended: Bool) -> ScriptFunction {
        ScriptFunction(name, parameters: 0, routes: .any) { _ in
            { ctx in
                guard self.inspect?.flushFlags(ctx, extended: extended) == true else {
                    Log.error("tmx", "\(name): failed to flush flags - no transaction found")
                    return -1
                }
                return 1
            }
        }
    }
}
