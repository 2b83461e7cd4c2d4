import SwiftletSDK

/// `hf_iterator_start/next/prev/end/rm/append/insert(name[, text])` and `$hfitname(name)`,
/// `$hfitbody(name)`: walking the header fields of the message by a named iterator.
extension TextopsxModule {
    var headerIteratorFunctions: [ScriptFunction] {
        [
            ScriptFunction("hf_iterator_start", parameters: 1, routes: .any, fixup: fixupHFStart),
            ScriptFunction("hf_iterator_next", parameters: 1, routes: .any, fixup: fixupHFNext),
            ScriptFunction("hf_iterator_prev", parameters: 1, routes: .any, fixup: fixupHFPrev),
            ScriptFunction("hf_iterator_end", parameters: 1, routes: .any, fixup: fixupHFEnd),
            ScriptFunction("hf_iterator_rm", parameters: 1, routes: .any, fixup: fixupHFRemove),
            ScriptFunction("hf_iterator_append", parameters: 2, routes: .any, fixup: fixupHFAppend),
            ScriptFunction("hf_iterator_insert", parameters: 2, routes: .any, fixup: fixupHFInsert),
        ]
    }

    /// An action on the iterator named by the first argument (a format).
    static func iteratorAction(
        _ args: [ScriptArgument], _ body: @escaping (MessageContext, String, String?) -> Int
    ) throws(FixupError) -> ScriptAction {
        let name = try args[0].stringFormat()
        let text = args.count > 1 ? try args[1].stringFormat() : nil
        return { ctx in body(ctx, name.render(ctx), text?.render(ctx)) }
    }

    func fixupHFStart(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        try Self.iteratorAction(args) { ctx, name, _ in Self.hfStart(ctx, name) }
    }

    static func hfStart(_ ctx: MessageContext, _ name: String) -> Int {
        let state = IteratorState.current
        guard let k = IteratorState.slot(for: name, names: state.headers.map(\.name)) else {
            Log.error("textopsx", "no iterator available - max number is \(IteratorState.slots)")
            return -1
        }
        if state.headers[k].name.isEmpty, name.utf8.count >= IteratorState.maxName {
            Log.error("textopsx", "iterator name is too big [\(name)] (max \(IteratorState.maxName))")
            return -1
        }
        state.headers[k] = IteratorState.HeaderIterator(name: name, owner: ctx)
        guard !ctx.message.headers.isEmpty else {
            Log.error("textopsx", "no headers for iterator [\(name)]")
            return -1
        }
        return 1
    }

    func fixupHFNext(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        try Self.iteratorAction(args) { ctx, name, _ in
            let state = IteratorState.current
            guard let k = state.header(name, ctx) else { return -1 }
            var h = state.headers[k]
            defer { state.headers[k] = h }
            if h.endOfHeaders { return -1 }
            if let it = h.it {
                h.prev = it
                h.it = it + 1
            } else {
                h.it = 0
            }
            if let it = h.it, it >= ctx.message.headers.count {
                h.it = nil
                h.endOfHeaders = true
                return -1
            }
            return 1
        }
    }

    /// Kamailio's `hf_iterator_prev`: back to the remembered previous header once; after that
    /// it finds the header two before by a walk that only works from the third header on (or
    /// on the last one), else starts the iterator again.
    func fixupHFPrev(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        try Self.iteratorAction(args) { ctx, name, _ in
            let state = IteratorState.current
            guard let k = state.header(name, ctx) else { return -1 }
            let h = state.headers[k]
            if h.endOfHeaders { return -1 }
            guard let prev = h.prev else { return Self.hfStart(ctx, name) }
            if prev != h.it {
                state.headers[k].it = prev
                return 1
            }
            let count = ctx.message.headers.count
            for i in 0..<count where i + 1 < count {
                if i + 2 < count {
                    if h.it == i + 2 {
                        state.headers[k].it = i + 1
                        state.headers[k].prev = i
                        return 1
                    }
                } else if h.it == i + 1 {
                    state.headers[k].it = i
                    state.headers[k].prev = nil
                    return 1
                }
            }
            return Self.hfStart(ctx, name)
        }
    }

    func fixupHFEnd(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        try Self.iteratorAction(args) { ctx, name, _ in
            let state = IteratorState.current
            guard let k = state.header(name, ctx) else { return -1 }
            state.headers[k].it = nil
            state.headers[k].endOfHeaders = false
            return 1
        }
    }

    /// The header the iterator `name` is on, or nil.
    static func currentHeader(_ ctx: MessageContext, _ name: String) -> HeaderField? {
        let state = IteratorState.current
        guard let k = state.header(name, ctx), let it = state.headers[k].it else { return nil }
        let headers = ctx.message.headers
        return headers.indices.contains(it) ? headers[it] : nil
    }

    func fixupHFRemove(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        try Self.iteratorAction(args) { ctx, name, _ in
            guard let h = Self.currentHeader(ctx, name) else { return -1 }
            ctx.edits.delete(h.lineRange)
            return 1
        }
    }

    func fixupHFAppend(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        try Self.iteratorAction(args) { ctx, name, text in
            guard let h = Self.currentHeader(ctx, name) else { return -1 }
            ctx.edits.insert(Array((text ?? "").utf8), at: h.lineRange.upperBound)
            return 1
        }
    }

    func fixupHFInsert(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        try Self.iteratorAction(args) { ctx, name, text in
            guard let h = Self.currentHeader(ctx, name) else { return -1 }
            ctx.edits.insert(Array((text ?? "").utf8), at: h.lineRange.lowerBound)
            return 1
        }
    }

    /// `$hfitname(name)` / `$hfitbody(name)`: the name or value of the current header, null
    /// when the iterator is not on one.
    static func iteratorVariable(_ pvName: String, body: Bool) -> PseudoVariableClass {
        PseudoVariableClass(pvName) { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            guard let name = pv.inner, !name.isEmpty else { throw FixupError("$\(pvName) needs an iterator name") }
            return PseudoVariable(text: pv.text) { ctx in
                guard let h = currentHeader(ctx, name) else { return .null }
                let b = ctx.message.buffer
                return .string(String(decoding: b[body ? HeaderValue.body(of: h, in: b) : h.nameRange], as: UTF8.self))
            }
        }
    }
}
