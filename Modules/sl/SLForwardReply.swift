import SwiftletSDK

extension SLModule {
    /// Fixup of `sl_forward_reply([code, [reason]])`: both are strings that may contain
    /// pseudo-variables; a constant code must be empty or three digits.
    func fixupForwardReply(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let code = args.count > 0 ? try args[0].stringFormat() : nil
        let reason = args.count > 1 ? try args[1].stringFormat() : nil
        if let code, code.isConstant, case .literal(let c) = code.parts[0], !c.isEmpty,
            c.utf8.count != 3 || !c.utf8.allSatisfy({ (48...57).contains($0) })
        {
            throw FixupError("invalid reply code '\(c)' (three digits expected)", at: args[0].location)
        }
        return { ctx in
            self.forwardReply(ctx, code: code?.render(ctx) ?? "", reason: reason?.render(ctx) ?? "")
        }
    }

    /// Kamailio's `w_sl_forward_reply`: forwards the received reply statelessly (the core's
    /// reply forwarding), with its status code and reason phrase replaced when `code`/`reason`
    /// are not empty. The code keeps its class (a 486 may become a 480, not a 580). The
    /// change applies to this copy only: the reply the core forwards after `onreply_route`
    /// (when the script does not `drop`) is the received one. Returns 1 when sent, else -1.
    func forwardReply(_ ctx: MessageContext, code: String, reason: String) -> Int {
        let msg = ctx.message
        guard case .response(_, let reasonRange) = msg.firstLine else {
            Log.error("sl", "invalid SIP message type")
            return -1
        }
        let codeRange = msg.versionRange.upperBound + 1..<msg.versionRange.upperBound + 4
        let newCode = Array(code.utf8)
        if !newCode.isEmpty {
            guard newCode.count == 3 else {
                Log.error("sl", "invalid reply code value \(code)")
                return -1
            }
            guard msg.buffer[codeRange.lowerBound] == newCode[0] else {
                Log.error("sl", "reply code class cannot be changed")
                return -1
            }
            guard newCode[1...].allSatisfy({ (48...57).contains($0) }) else {
                Log.error("sl", "invalid reply code value \(code)!")
                return -1
            }
        }
        let saved = ctx.edits
        defer { ctx.edits = saved }
        if !newCode.isEmpty { ctx.edits.replace(codeRange, with: newCode) }
        if !reason.isEmpty { ctx.edits.replace(reasonRange, with: Array(reason.utf8)) }
        return StatelessForwarding.forwardReply(ctx) ? 1 : -1
    }
}
