import SwiftletSDK

/// `remove_hf_value`, `assign_hf_value` (a value, or a `;param` of it) and
/// `remove_hf_value2`, `assign_hf_value2` (a whole header, or a `param=value` item of it).
extension TextopsxModule {
    /// What the four functions do.
    enum ValueOperation {
        case remove, assign, remove2, assign2
        var isValue2: Bool { self == .remove2 || self == .assign2 }
        var assigns: Bool { self == .assign || self == .assign2 }
    }

    /// The selector: `[*]` (every header; assignments need a param), `[n]`, none or `[]`
    /// meaning 1, a `.param`.
    static func operationSelector(_ arg: ScriptArgument, _ op: ValueOperation) throws(FixupError)
        -> HeaderValueSelector
    {
        var s = try HeaderValueSelector(argument: arg)
        if op.assigns, s.all, s.parameter.isEmpty {
            throw FixupError("asterisk not supported without param", at: arg.location)
        }
        if !s.hasIndex || s.index == 0 {
            s.index = 1
            s.hasIndex = true
        }
        if s.index < -10 { throw FixupError("index cannot be lower than -10", at: arg.location) }
        return s
    }

    func fixupRemoveValue(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        try Self.valueOperation(args, .remove)
    }
    func fixupAssignValue(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        try Self.valueOperation(args, .assign)
    }
    func fixupRemoveValue2(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        try Self.valueOperation(args, .remove2)
    }
    func fixupAssignValue2(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        try Self.valueOperation(args, .assign2)
    }

    static func valueOperation(_ args: [ScriptArgument], _ op: ValueOperation) throws(FixupError) -> ScriptAction {
        let selector = try operationSelector(args[0], op)
        let value = args.count > 1 ? try args[1].stringFormat() : nil
        return { ctx in
            let v = value.map { Array($0.render(ctx).utf8) }
            return Self.run(op, selector, v, ctx)
        }
    }

    static func run(_ op: ValueOperation, _ s: HeaderValueSelector, _ v: [UInt8]?, _ ctx: MessageContext) -> Int {
        let msg = ctx.message
        let b = msg.buffer
        let param = Array(s.parameter.lowercased().utf8)
        if s.all {
            var result = -1
            for field in s.fields(msg) {
                if param.isEmpty {
                    ctx.edits.delete(field.lineRange)
                    result = 1
                } else if op.isValue2 {
                    if processParameters2(ctx, s, v, HeaderValue.body(of: field, in: b)) > 0 { result = 1 }
                } else {
                    for hv in HeaderValue.values(of: field, in: b) where processParameters(ctx, s, v, hv.value) > 0 {
                        result = 1
                    }
                }
            }
            return result
        }
        if op.isValue2 {
            let fields = s.fields(msg)
            let position = s.index > 0 ? s.index - 1 : fields.count + s.index
            guard fields.indices.contains(position) else { return -1 }
            let field = fields[position]
            let body = HeaderValue.body(of: field, in: b)
            if !param.isEmpty { return processParameters2(ctx, s, v, body) }
            if op == .remove2 {
                ctx.edits.delete(field.lineRange)
            } else {
                replace(ctx, body, with: v ?? [])
            }
            return 1
        }
        guard let hv = HeaderValue.value(at: s.index, s, in: msg) else { return -1 }
        if !param.isEmpty { return processParameters(ctx, s, v, hv.value) }
        if op == .remove {
            ctx.edits.delete(hv.deletion)
        } else {
            replace(ctx, hv.value, with: v ?? [])
        }
        return 1
    }

    /// Kamailio's delete-then-insert of an assignment without param.
    static func replace(_ ctx: MessageContext, _ range: Range<Int>, with v: [UInt8]) {
        if !range.isEmpty { ctx.edits.delete(range) }
        if !v.isEmpty { ctx.edits.insert(v, at: range.lowerBound) }
    }

    /// `;param` of one value: assigned (replaced, or added at the end of the value), or
    /// removed (every occurrence). 1 when done, -1 when there was nothing to remove.
    static func processParameters(
        _ ctx: MessageContext, _ s: HeaderValueSelector, _ v: [UInt8]?, _ value: Range<Int>
    ) -> Int {
        let b = ctx.message.buffer
        let name = Array(s.parameter.lowercased().utf8)
        var area = HeaderParamScanner.parameters(b, value)
        var result = 0
        while true {
            let m = HeaderParamScanner.findParameter(name, b, area)
            let r = apply(ctx, s, v, m, delimiter: UInt8(ascii: ";"))
            if result == 0 { result = r }
            guard v == nil, m.found else { return result }
            area = m.delete.upperBound..<area.upperBound
        }
    }

    /// `param=value` item of a whole header value (value2 form).
    static func processParameters2(
        _ ctx: MessageContext, _ s: HeaderValueSelector, _ v: [UInt8]?, _ body: Range<Int>
    ) -> Int {
        let b = ctx.message.buffer
        let name = Array(s.parameter.lowercased().utf8)
        var area = body
        var result = 0
        while true {
            let m = HeaderParamScanner.findParameter2(name, b, area)
            let r = apply(ctx, s, v, m, delimiter: m.delimiter)
            if result == 0 { result = r }
            guard v == nil, m.found else { return result }
            area = m.delete.upperBound..<area.upperBound
        }
    }

    /// Kamailio's `assign_hf_do_lumping`: a found parameter gets `=value` (or loses its value
    /// when the new one is empty), or is removed; a missing one is added (`;param=value`).
    static func apply(
        _ ctx: MessageContext, _ s: HeaderValueSelector, _ v: [UInt8]?, _ m: ParamMatch, delimiter: UInt8?
    ) -> Int {
        if m.found {
            let r = v != nil ? m.update : m.delete
            if !r.isEmpty { ctx.edits.delete(r) }
            if let v, !v.isEmpty { ctx.edits.insert([UInt8(ascii: "=")] + v, at: m.update.lowerBound) }
            return 1
        }
        guard let v else { return -1 }
        var text: [UInt8] = delimiter.map { [$0] } ?? []
        text += Array(s.parameter.utf8)
        if !v.isEmpty { text += [UInt8(ascii: "=")] + v }
        ctx.edits.insert(text, at: m.delete.lowerBound)
        return 1
    }
}
