import SwiftletSDK

/// Body edits, reply lumps and `has_body` (Kamailio's `set_body`, `set_reply_body`,
/// `append_to_reply`, `has_body`).
extension TextopsModule {
    /// `set_body(body, content_type)`: replaces the body (Content-Length is rewritten, or
    /// added) and sets `Content-Type` unless it already has exactly that value.
    func fixupSetBody(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let body = try args[0].stringFormat()
        let type = try args[1].stringFormat()
        return { ctx in
            let b = body.render(ctx)
            let t = type.render(ctx)
            guard !b.isEmpty, !t.isEmpty else {
                Log.error("textops", b.isEmpty ? "invalid body parameter" : "invalid content-type parameter")
                return -1
            }
            let msg = ctx.message
            let current = msg.firstHeader(.contentType)
            if current == nil || msg.value(of: current!) != t {
                if let current { ctx.edits.removeHeader(current) }
                ctx.edits.insert(Array("Content-Type: \(t)\r\n".utf8), at: msg.headersEnd)
            }
            ctx.edits.setBody(Array(b.utf8))
            return 1
        }
    }

    /// `set_reply_body(body, content_type)`: the body and Content-Type of replies sent to
    /// this request (sl replies).
    func fixupSetReplyBody(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let body = try args[0].stringFormat()
        let type = try args[1].stringFormat()
        return { ctx in
            let b = body.render(ctx)
            let t = type.render(ctx)
            guard !b.isEmpty, !t.isEmpty else {
                Log.error("textops", b.isEmpty ? "invalid body parameter" : "invalid content-type parameter")
                return -1
            }
            ctx.replyLumps.appendHeader(Array("Content-Type: \(t)\r\n".utf8))
            guard ctx.replyLumps.setBody(Array(b.utf8)) else {
                Log.error("textops", "cannot add body lump")
                return -1
            }
            return 1
        }
    }

    /// `append_to_reply(text)`: header text (with its `\r\n`) for replies to this request.
    func fixupAppendToReply(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let text = try args[0].stringFormat()
        return { ctx in
            guard ctx.replyLumps.appendHeader(Array(text.render(ctx).utf8)) else {
                Log.error("textops", "unable to add lump_rl")
                return -1
            }
            return 1
        }
    }

    /// `has_body()` / `has_body(mime)`: 1 when Content-Length is present and not 0 (and the
    /// Content-Type, `application/sdp` when absent, has the given type/subtype).
    func fixupHasBody(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        var wanted: String? = nil
        if let arg = args.first {
            let text = try arg.constantString().trimmingCharacters().lowercased()
            if !text.isEmpty {
                let parts = text.split(separator: "/", omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
                    !text.contains(","), !text.contains(";"), !text.contains(" ")
                else { throw FixupError("unsupported mime <\(text)>", at: arg.location) }
                wanted = text
            }
        }
        return { ctx in
            let msg = ctx.message
            guard msg.firstHeader(.contentLength) != nil, let length = try? msg.contentLength(), length != 0 else {
                return -1
            }
            guard let wanted else { return 1 }
            var actual = "application/sdp"
            if let f = msg.firstHeader(.contentType) {
                let v = msg.value(of: f)
                let mime = v.split(separator: ";", maxSplits: 1).first.map(String.init) ?? v
                actual = mime.trimmingCharacters().lowercased()
            }
            return actual == wanted ? 1 : -1
        }
    }
}
