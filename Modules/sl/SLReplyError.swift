import SwiftletSDK

extension SLModule {
    /// `sl_reply_error()` (Kamailio's `sl_reply_error`): a stateless reply whose code and
    /// reason come from the core error the previous action left (`prev_ser_error`), as
    /// `err2reason_phrase` maps it: `478 Unresolvable destination (478/SL)` after a
    /// `forward()` to a name that does not resolve. Returns 1 once the reply is tried.
    func replyError(_ ctx: MessageContext) -> Int {
        let (code, reason) = ctx.coreError.previous.reply(signature: "SL")
        if sendReply(ctx, code: code, reason: reason) > 0 { stats.countErrorReply() }
        Log.error("sl", "stateless error reply used: \(reason)")
        return 1
    }
}
