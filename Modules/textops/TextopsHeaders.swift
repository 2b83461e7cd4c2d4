import SwiftletSDK

/// Adding, removing and finding header fields (Kamailio's `append_hf`, `insert_hf`,
/// `remove_hf*`, `is_present_hf*`, `search_hf`). Header names are matched as Kamailio does
/// (`HeaderMatcher`); the text added is used as given, so it normally ends with `\r\n`.
extension TextopsModule {
    /// `append_hf(text[, after])`: adds `text` at the end of the header block, or after the
    /// last header named `after` (at the end when there is none).
    func fixupAppendHeader(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let text = try args[0].stringFormat()
        let anchor = args.count > 1 ? try HeaderMatcher(argument: args[1]) : nil
        return { ctx in
            let msg = ctx.message
            var offset = msg.headersEnd
            if let anchor, let last = msg.headers.last(where: { anchor.matches($0, in: msg.buffer) }) {
                offset = last.lineRange.upperBound
            }
            return Self.addHeader(ctx, text, at: offset)
        }
    }

    /// `insert_hf(text[, before])`: adds `text` before the first header, or before the first
    /// header named `before` (before the first header when there is none).
    func fixupInsertHeader(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let text = try args[0].stringFormat()
        let anchor = args.count > 1 ? try HeaderMatcher(argument: args[1]) : nil
        return { ctx in
            let msg = ctx.message
            var offset = msg.headers.first?.lineRange.lowerBound ?? msg.headersEnd
            if let anchor, let first = msg.headers.first(where: { anchor.matches($0, in: msg.buffer) }) {
                offset = first.lineRange.lowerBound
            }
            return Self.addHeader(ctx, text, at: offset)
        }
    }

    static func addHeader(_ ctx: MessageContext, _ text: StringFormat, at offset: Int) -> Int {
        let bytes = Array(text.render(ctx).utf8)
        guard !bytes.isEmpty else {
            Log.info("textops", "nothing to add")
            return -1
        }
        ctx.edits.insert(bytes, at: offset)
        return 1
    }

    /// `remove_hf(name)`: removes every header of that name; -1 when there is none.
    func fixupRemoveHeader(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let name = try HeaderMatcher(argument: args[0])
        return { ctx in
            let fields = name.fields(ctx.message)
            for f in fields { ctx.edits.removeHeader(f) }
            return fields.isEmpty ? -1 : 1
        }
    }

    /// `remove_hf_re(re)`: removes every header whose name matches the regex.
    func fixupRemoveHeaderRegex(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let re = try Self.regex(args[0])
        return { ctx in
            let msg = ctx.message
            let fields = msg.headers.filter { re.matches(msg.buffer[$0.nameRange]) }
            for f in fields { ctx.edits.removeHeader(f) }
            return fields.isEmpty ? -1 : 1
        }
    }

    /// `remove_hf_idx(name, index)`: removes the header of that name at `index` (0 the first,
    /// -1 the last). 1 when removed, 2 when there is no such header (index >= 0 or -n within
    /// range), 1 when a negative index is beyond the count (Kamailio's return values).
    func fixupRemoveHeaderIndex(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let name = try args[0].stringFormat()
        let index = try args[1].intParameter()
        return { ctx in
            guard let idx = index.value(ctx) else {
                Log.error("textops", "failed to get header index")
                return -1
            }
            let text = name.render(ctx)
            guard !text.isEmpty else { return -1 }
            let fields = HeaderMatcher(text).fields(ctx.message)
            let position = idx >= 0 ? idx : fields.count + idx
            if idx < 0 && position < 0 { return 1 }
            guard position < fields.count else { return 2 }
            ctx.edits.removeHeader(fields[position])
            return 1
        }
    }

    /// `is_present_hf(name)`: 1 when the message has a header of that name.
    func fixupIsPresent(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let name = try HeaderMatcher(argument: args[0])
        return { ctx in
            let msg = ctx.message
            return msg.headers.contains { name.matches($0, in: msg.buffer) } ? 1 : -1
        }
    }

    /// `is_present_hf_re(re)`: 1 when a header name matches the regex.
    func fixupIsPresentRegex(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let re = try Self.regex(args[0])
        return { ctx in
            let msg = ctx.message
            return msg.headers.contains { re.matches(msg.buffer[$0.nameRange]) } ? 1 : -1
        }
    }

    /// `search_hf(name, re, flags)`: 1 when the value of a header of that name matches: any of
    /// them (no flag), the first one only (`f`), or the last one only (`l`).
    func fixupSearchHeader(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let name = try HeaderMatcher(argument: args[0])
        let re = try Self.regex(args[1])
        let flag = try args[2].constantString().utf8.first
        return { ctx in
            let msg = ctx.message
            let fields = name.fields(msg)
            switch flag {
            case UInt8(ascii: "l"):
                guard let last = fields.last else { return -1 }
                return re.matches(msg.buffer[last.valueRange]) ? 1 : -1
            case UInt8(ascii: "f"):
                guard let first = fields.first else { return -1 }
                return re.matches(msg.buffer[first.valueRange]) ? 1 : -1
            default:
                return fields.contains { re.matches(msg.buffer[$0.valueRange]) } ? 1 : -1
            }
        }
    }
}
