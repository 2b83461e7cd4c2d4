import SwiftletSDK

/// `change_reply_status(code, reason)` and `change_reply_status_code(code)`: the status line
/// of a received reply, changed before the reply is forwarded (onreply_route).
extension TextopsxModule {
    func fixupChangeReplyStatus(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let code = try args[0].intParameter()
        let reason = try args[1].stringFormat()
        return { ctx in
            guard let c = code.value(ctx) else {
                Log.error("textopsx", "cannot get parameters")
                return -1
            }
            let r = reason.render(ctx)
            guard !r.isEmpty else {
                Log.error("textopsx", "invalid reason parameter")
                return -1
            }
            return Self.changeStatus(ctx, code: c, reason: Array(r.utf8))
        }
    }

    func fixupChangeReplyStatusCode(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let code = try args[0].intParameter()
        return { ctx in
            guard let c = code.value(ctx) else {
                Log.error("textopsx", "cannot get parameters")
                return -1
            }
            return Self.changeStatus(ctx, code: c, reason: nil)
        }
    }

    /// Kamailio's rules: the code must be 100-699, and the class of a provisional or 2xx
    /// reply (or the class of a new 1xx/2xx code) cannot change — only a 3xx-6xx reply may
    /// become another 3xx-6xx one. The three digits are rewritten in the message itself, as
    /// Kamailio does (`$rs` and regular expressions see the new code); the new reason, when
    /// given, is an edit applied when the reply is sent on (`$rr` keeps the received one).
    static func changeStatus(_ ctx: MessageContext, code: Int, reason: [UInt8]?) -> Int {
        guard (100...699).contains(code) else {
            Log.error("textopsx", "wrong status code: \(code)")
            return -1
        }
        let msg = ctx.message
        guard case .response(let current, let reasonRange) = msg.firstLine,
            let digits = statusDigits(msg)
        else {
            Log.error("textopsx", "not a reply")
            return -1
        }
        if (code < 300 || current < 300) && code / 100 != current / 100 {
            Log.error("textopsx", "the class of provisional or positive final replies cannot be changed")
            return -1
        }
        let text = Array(String(code).utf8)
        // Record the edits on the editor of the received message first: the offsets are the
        // same in the rewritten one.
        ctx.edits.replace(digits, with: text)
        if let reason { ctx.edits.replace(reasonRange, with: reason) }
        var bytes = msg.buffer
        bytes.replaceSubrange(digits, with: text)
        guard let rewritten = try? SIPMessage(parsing: bytes) else {
            Log.error("textopsx", "cannot re-parse the reply")
            return -1
        }
        ctx.message = rewritten
        return 1
    }

    /// The range of the three status-code digits in the status line.
    static func statusDigits(_ msg: SIPMessage) -> Range<Int>? {
        let b = msg.buffer
        var i = msg.versionRange.upperBound
        while i < b.count, b[i] == UInt8(ascii: " ") || b[i] == UInt8(ascii: "\t") { i += 1 }
        guard i + 3 <= b.count, b[i..<(i + 3)].allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return i..<(i + 3)
    }
}
