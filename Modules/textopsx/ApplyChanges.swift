import SwiftletSDK

/// `msg_apply_changes()` (Kamailio's `sip_msg_apply_changes`): builds the message with the
/// edits recorded so far and makes the result the message the rest of the script sees.
extension TextopsxModule {
    func fixupApplyChanges(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        { ctx in Self.applyChanges(ctx) }
    }

    /// Applies `ctx.edits` (and, for a request, the new Request-URI) to the message and
    /// re-parses it: later checks, regular expressions and edits work on the changed
    /// message. As in Kamailio the edits, the reply lumps and the changed Request-URI (now
    /// part of the message) are reset; `$du`, flags and the send socket are kept. No Via is
    /// added or changed. Only in request_route or for a reply: -1 elsewhere. 0 (stop the
    /// script) when the changed message cannot be parsed.
    static func applyChanges(_ ctx: MessageContext) -> Int {
        let msg = ctx.message
        guard !msg.isRequest || ctx.routeType == .request else {
            Log.error("textopsx", "invalid usage - not in request route or a reply")
            return -1
        }
        var editor = ctx.edits
        if msg.isRequest, let ru = ctx.newRequestURI { editor.setRequestURI(ru) }
        let bytes: [UInt8]
        do {
            bytes = try editor.build()
        } catch {
            Log.error("textopsx", "couldn't update msg buffer content: \(error)")
            return -1
        }
        guard !bytes.isEmpty else {
            Log.error("textopsx", "invalid buffer parameter")
            return -1
        }
        return replaceMessage(ctx, with: bytes)
    }

    /// `msg_set_buffer(text)`: replaces the whole message with `text` (a format) and
    /// re-parses it; pending edits are dropped, not applied. Same places and results as
    /// `msg_apply_changes()`; -1 for an empty text or one of 65536 bytes or more.
    func fixupSetBuffer(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let text = try args[0].stringFormat()
        return { ctx in
            guard !ctx.message.isRequest || ctx.routeType == .request else {
                Log.error("textopsx", "invalid usage - not in request route or a reply")
                return -1
            }
            let bytes = Array(text.render(ctx).utf8)
            guard !bytes.isEmpty else {
                Log.error("textopsx", "invalid buffer parameter")
                return -1
            }
            guard bytes.count < 65536 else {
                Log.error("textopsx", "new buffer is too large (\(bytes.count))")
                return -1
            }
            return Self.replaceMessage(ctx, with: bytes)
        }
    }

    /// Makes `bytes` the message of `ctx` (Kamailio's `sip_msg_update_buffer`): 1, or 0 when
    /// they do not parse (the script must stop then).
    static func replaceMessage(_ ctx: MessageContext, with bytes: [UInt8]) -> Int {
        let parsed: SIPMessage
        do {
            parsed = try SIPMessage(parsing: bytes)
        } catch {
            Log.error("textopsx", "parsing new sip message failed [[\(String(decoding: bytes, as: UTF8.self))]]")
            return 0
        }
        ctx.message = parsed
        ctx.edits = MessageEditor(parsed)
        ctx.newRequestURI = nil
        ctx.replyLumps = ReplyLumps()
        return 1
    }
}
