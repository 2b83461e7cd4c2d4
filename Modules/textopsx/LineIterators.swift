import SwiftletSDK

/// `bl_iterator_start/next/end/rm/append/insert(name[, text])` and `$blitval(name)`: walking
/// the lines of the body (each with its line break) by a named iterator.
extension TextopsxModule {
    var lineIteratorFunctions: [ScriptFunction] {
        [
            ScriptFunction("bl_iterator_start", parameters: 1, routes: .any, fixup: fixupBLStart),
            ScriptFunction("bl_iterator_next", parameters: 1, routes: .any, fixup: fixupBLNext),
            ScriptFunction("bl_iterator_end", parameters: 1, routes: .any, fixup: fixupBLEnd),
            ScriptFunction("bl_iterator_rm", parameters: 1, routes: .any, fixup: fixupBLRemove),
            ScriptFunction("bl_iterator_append", parameters: 2, routes: .any, fixup: fixupBLAppend),
            ScriptFunction("bl_iterator_insert", parameters: 2, routes: .any, fixup: fixupBLInsert),
        ]
    }

    func fixupBLStart(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        try Self.iteratorAction(args) { ctx, name, _ in
            let state = IteratorState.current
            guard let k = IteratorState.slot(for: name, names: state.lines.map(\.name)) else {
                Log.error("textopsx", "no iterator available - max number is \(IteratorState.slots)")
                return -1
            }
            if state.lines[k].name.isEmpty, name.utf8.count >= IteratorState.maxName {
                Log.error("textopsx", "iterator name is too big [\(name)] (max \(IteratorState.maxName))")
                return -1
            }
            let msg = ctx.message
            state.lines[k] = IteratorState.LineIterator(
                name: name, body: msg.bodyRange.lowerBound..<msg.buffer.count, owner: ctx)
            return 1
        }
    }

    func fixupBLNext(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        try Self.iteratorAction(args) { ctx, name, _ in
            let state = IteratorState.current
            guard let k = state.line(name, ctx) else { return -1 }
            var l = state.lines[k]
            defer { state.lines[k] = l }
            guard !l.endOfBody, let body = l.body else { return -1 }
            let p = l.line?.upperBound ?? body.lowerBound
            if p >= body.upperBound {
                l.line = nil
                l.endOfBody = true
                return -1
            }
            let b = ctx.message.buffer
            var e = p
            while e < body.upperBound, b[e] != 10 { e += 1 }
            l.line = p..<min(e + 1, body.upperBound)
            return 1
        }
    }

    func fixupBLEnd(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        try Self.iteratorAction(args) { ctx, name, _ in
            let state = IteratorState.current
            guard let k = state.line(name, ctx) else { return -1 }
            state.lines[k].line = nil
            state.lines[k].body = nil
            state.lines[k].endOfBody = false
            return 1
        }
    }

    /// The body line the iterator `name` is on, or nil.
    static func currentLine(_ ctx: MessageContext, _ name: String) -> Range<Int>? {
        let state = IteratorState.current
        guard let k = state.line(name, ctx), let line = state.lines[k].line, !line.isEmpty,
            line.upperBound <= ctx.message.buffer.count
        else { return nil }
        return line
    }

    func fixupBLRemove(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        try Self.iteratorAction(args) { ctx, name, _ in
            guard let line = Self.currentLine(ctx, name) else { return -1 }
            ctx.edits.delete(line)
            Self.adjustContentLength(ctx)
            return 1
        }
    }

    func fixupBLAppend(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        try Self.iteratorAction(args) { ctx, name, text in
            guard let line = Self.currentLine(ctx, name) else { return -1 }
            ctx.edits.insert(Array((text ?? "").utf8), at: line.upperBound)
            Self.adjustContentLength(ctx)
            return 1
        }
    }

    func fixupBLInsert(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        try Self.iteratorAction(args) { ctx, name, text in
            guard let line = Self.currentLine(ctx, name) else { return -1 }
            ctx.edits.insert(Array((text ?? "").utf8), at: line.lowerBound)
            Self.adjustContentLength(ctx)
            return 1
        }
    }

    /// Kamailio rewrites Content-Length when edits change the body's length (`adjust_clen`):
    /// its value becomes the body length plus what the edits after the header block add or
    /// remove so far (none is added when absent, as for UDP).
    static func adjustContentLength(_ ctx: MessageContext) {
        let msg = ctx.message
        guard let length = msg.firstHeader(.contentLength) else { return }
        let delta = ctx.edits.lumps.filter { $0.range.lowerBound > msg.headersEnd }.reduce(0) {
            $0 + $1.bytes.count - $1.range.count
        }
        let value = msg.buffer.count - msg.bodyRange.lowerBound + delta
        ctx.edits.replace(length.valueRange, with: Array(String(value).utf8))
    }

    /// `$blitval(name)`: the current body line with its line break, null when none.
    static var lineVariable: PseudoVariableClass {
        PseudoVariableClass("blitval") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            guard let name = pv.inner, !name.isEmpty else { throw FixupError("$blitval needs an iterator name") }
            return PseudoVariable(text: pv.text) { ctx in
                guard let line = currentLine(ctx, name) else { return .null }
                return .string(String(decoding: ctx.message.buffer[line], as: UTF8.self))
            }
        }
    }
}
