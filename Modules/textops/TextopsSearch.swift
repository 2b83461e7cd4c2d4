import SwiftletSDK

/// Regular-expression search, replace and `subst` over the message (Kamailio's `search`,
/// `replace*`, `subst*`). The text searched is the message as received: `search` from the
/// first byte, the others from the first header on (the request line is left alone), the
/// body variants from the body to the end of the datagram.
extension TextopsModule {
    /// The offset just after the first line (Kamailio's `get_header()`).
    static func headerStart(_ msg: SIPMessage) -> Int {
        msg.buffer.firstIndex(of: 10).map { $0 + 1 } ?? msg.buffer.count
    }

    /// The bytes from `start` to the end of the message.
    static func tail(_ msg: SIPMessage, from start: Int) -> [UInt8] { Array(msg.buffer[start...]) }

    /// The body start, or nil when the body is empty (Kamailio: "message body has zero length").
    static func bodyStart(_ msg: SIPMessage) -> Int? {
        let s = min(msg.bodyRange.lowerBound, msg.buffer.count)
        return s < msg.buffer.count ? s : nil
    }

    // MARK: search

    /// `search(re)`: 1 when the regex matches anywhere in the message (first line included).
    func fixupSearch(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let re = try Self.regex(args[0])
        return { ctx in re.firstMatch(in: ctx.message.buffer) != nil ? 1 : -1 }
    }

    /// `search_body(re)`: 1 when the regex matches in the body.
    func fixupSearchBody(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let re = try Self.regex(args[0])
        return { ctx in
            guard let start = Self.bodyStart(ctx.message) else { return -1 }
            return re.firstMatch(in: Self.tail(ctx.message, from: start)) != nil ? 1 : -1
        }
    }

    /// `search_append(re, text)`: inserts `text` after the first match (headers and body).
    func fixupSearchAppend(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let re = try Self.regex(args[0])
        let text = Array(try args[1].constantString().utf8)
        return { ctx in
            let start = Self.headerStart(ctx.message)
            guard let m = re.firstMatch(in: Self.tail(ctx.message, from: start)) else { return -1 }
            ctx.edits.insert(text, at: start + m.upperBound)
            return 1
        }
    }

    // MARK: replace

    /// `replace(re, text)`: replaces the first match after the first line.
    func fixupReplace(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let re = try Self.regex(args[0])
        let text = Array(try args[1].constantString().utf8)
        return { ctx in
            let start = Self.headerStart(ctx.message)
            guard let m = re.firstMatch(in: Self.tail(ctx.message, from: start)) else { return -1 }
            ctx.edits.replace((start + m.lowerBound)..<(start + m.upperBound), with: text)
            return 1
        }
    }

    /// `replace_all(re, text)`: replaces every match after the first line.
    func fixupReplaceAll(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let re = try Self.regex(args[0])
        let text = Array(try args[1].constantString().utf8)
        return { ctx in Self.replaceAll(ctx, re, text, from: Self.headerStart(ctx.message)) }
    }

    /// `replace_body(re, text)`: replaces the first match in the body.
    func fixupReplaceBody(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let re = try Self.regex(args[0])
        let text = Array(try args[1].constantString().utf8)
        return { ctx in
            guard let start = Self.bodyStart(ctx.message),
                let m = re.firstMatch(in: Self.tail(ctx.message, from: start))
            else { return -1 }
            ctx.edits.replace((start + m.lowerBound)..<(start + m.upperBound), with: text)
            return 1
        }
    }

    /// `replace_body_all(re, text)`: replaces every match in the body.
    func fixupReplaceBodyAll(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let re = try Self.regex(args[0])
        let text = Array(try args[1].constantString().utf8)
        return { ctx in
            guard let start = Self.bodyStart(ctx.message) else { return -1 }
            return Self.replaceAll(ctx, re, text, from: start)
        }
    }

    static func replaceAll(_ ctx: MessageContext, _ re: POSIXRegex, _ text: [UInt8], from start: Int) -> Int {
        guard let matches = re.allMatches(in: tail(ctx.message, from: start)) else {
            Log.error("textops", "matched string is empty... invalid regexp?")
            return -1
        }
        for m in matches { ctx.edits.replace((start + m.lowerBound)..<(start + m.upperBound), with: text) }
        return matches.isEmpty ? -1 : 1
    }

    // MARK: subst

    /// `subst('/re/repl/flags')`: sed-style substitution over the headers and body.
    func fixupSubst(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let se = try Self.subst(args[0])
        return { ctx in Self.substitute(ctx, se, from: Self.headerStart(ctx.message)) }
    }

    /// `subst_body('/re/repl/flags')`: the same over the body.
    func fixupSubstBody(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let se = try Self.subst(args[0])
        return { ctx in
            guard let start = Self.bodyStart(ctx.message) else { return -1 }
            return Self.substitute(ctx, se, from: start)
        }
    }

    static func substitute(_ ctx: MessageContext, _ se: SubstExpression, from start: Int) -> Int {
        guard let list = se.run(tail(ctx.message, from: start), ctx) else {
            Log.error("textops", "subst_run failed")
            return -1
        }
        for r in list {
            ctx.edits.replace((start + r.range.lowerBound)..<(start + r.range.upperBound), with: r.bytes)
        }
        return list.isEmpty ? -1 : 1
    }

    /// `subst_uri('/re/repl/flags')`: substitution over the Request-URI in effect, which
    /// becomes the new Request-URI.
    func fixupSubstURI(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let se = try Self.subst(args[0])
        return { ctx in
            guard let uri = ctx.requestURI, case .replaced(let new) = se.apply(uri, ctx) else { return -1 }
            ctx.newRequestURI = new
            return 1
        }
    }

    /// `subst_user('/re/repl/flags')`: substitution over the user part of the Request-URI
    /// in effect (an empty string when it has none); the result replaces the user.
    func fixupSubstUser(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let se = try Self.subst(args[0])
        return { ctx in
            guard let uri = ctx.requestURI else { return -1 }
            let b = Array(uri.utf8)
            guard let parsed = try? URIComponents.parse(b, 0..<b.count) else { return -1 }
            let user = parsed.user.map { String(decoding: b[$0], as: UTF8.self) } ?? ""
            guard case .replaced(let new) = se.apply(user, ctx) else { return -1 }
            guard let rewritten = try? URIRewrite.apply(.user(new), to: uri) else { return -1 }
            ctx.newRequestURI = rewritten
            return 1
        }
    }
}
