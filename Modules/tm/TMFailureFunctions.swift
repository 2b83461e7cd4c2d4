import SwiftletSDK

extension TMModule {
    /// `t_drop_replies([mode])`, `t_save_lumps()`, `t_lookup_request()`.
    var failureFunctions: [ScriptFunction] {
        let m = manager
        return [
            ScriptFunction("t_drop_replies", parameters: 0...1, routes: .failure) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                // Kamailio reads the first letter: 'n' none, 'l' the last set, else all.
                let mode: Int =
                    switch try args.first?.constantString().first {
                    case "n": 0
                    case "l": 2
                    default: 1
                    }
                return { _ in
                    guard let tx = TMThreadState.thread.current else { return 1 }
                    tx.locked { tx.dropReplies = mode }
                    return 1
                }
            },
            ScriptFunction("t_save_lumps", parameters: 0, routes: .request) { _ in
                { ctx in
                    guard let tx = TMThreadState.thread.current, tx.ctx === ctx else {
                        Log.error("tm", "t_save_lumps: transaction has not been created yet")
                        return -1
                    }
                    tx.locked { tx.savedEdits = ctx.edits }
                    return 1
                }
            },
            ScriptFunction("t_lookup_request", parameters: 0, routes: .request) { _ in
                { ctx in
                    let cls: String? = ctx.message.method == .ack ? "INVITE" : nil
                    return m.lookup(ctx, methodClass: cls) != nil ? 1 : -1
                }
            },
        ]
    }
}
