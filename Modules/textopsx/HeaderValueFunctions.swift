import SwiftletSDK

/// `hf_value_exists`, `include_hf_value`, `exclude_hf_value`, `append_hf_value`,
/// `insert_hf_value`: work on the comma-separated values of headers, selected by a
/// `HeaderValueSelector`. Values are compared ignoring case.
extension TextopsxModule {
    /// The header-value functions may run in these routes.
    static let valueRoutes: RouteTypes = [.request, .onReply, .failure, .branch]

    /// The selector of `hf_value_exists`/`include_hf_value`/`exclude_hf_value`: a plain name.
    static func plainSelector(_ arg: ScriptArgument) throws(FixupError) -> HeaderValueSelector {
        let s = try HeaderValueSelector(argument: arg)
        guard !s.hasIndex, s.parameter.isEmpty else {
            throw FixupError(
                "neither index nor param may be specified in '\(try arg.constantString())'", at: arg.location)
        }
        return s
    }

    /// `hf_value_exists(name, value)`: 1 when a header `name` has `value` among its values.
    func fixupValueExists(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let selector = try Self.plainSelector(args[0])
        let value = try args[1].stringFormat()
        return { ctx in
            let v = Array(value.render(ctx).utf8)
            guard !v.isEmpty else { return -1 }
            return Self.firstEqual(v, selector, ctx.message) != nil ? 1 : -1
        }
    }

    /// `include_hf_value(name, value)`: nothing when the value is there; else appends it to
    /// the first header `name` (`,value`), or adds `name: value` at the end of the headers.
    func fixupIncludeValue(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let selector = try Self.plainSelector(args[0])
        let value = try args[1].stringFormat()
        return { ctx in
            let v = Array(value.render(ctx).utf8)
            guard !v.isEmpty else { return -1 }
            let msg = ctx.message
            if Self.firstEqual(v, selector, msg) != nil { return 1 }
            if let first = selector.fields(msg).first {
                ctx.edits.insert([UInt8(ascii: ",")] + v, at: HeaderValue.body(of: first, in: msg.buffer).upperBound)
            } else {
                ctx.edits.insert(Self.headerLine(selector.name, v), at: msg.headersEnd)
            }
            return 1
        }
    }

    /// `exclude_hf_value(name, value)`: removes every occurrence of the value (with its comma;
    /// the whole header when it is its only value). Always 1.
    func fixupExcludeValue(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let selector = try Self.plainSelector(args[0])
        let value = try args[1].stringFormat()
        return { ctx in
            let v = Array(value.render(ctx).utf8)
            guard !v.isEmpty else { return -1 }
            let msg = ctx.message
            var deleted = 0
            for hv in HeaderValue.values(selector, in: msg) where Self.equal(v, msg.buffer[hv.value]) {
                // Two neighbouring values share a comma: remove it once.
                var r = hv.deletion
                if r.lowerBound < deleted { r = deleted..<max(deleted, r.upperBound) }
                if !r.isEmpty { ctx.edits.delete(r) }
                deleted = r.upperBound
            }
            return 1
        }
    }

    static func equal(_ v: [UInt8], _ other: ArraySlice<UInt8>) -> Bool {
        !other.isEmpty && v.count == other.count
            && zip(v, other).allSatisfy { HeaderValueSelector.lower($0) == HeaderValueSelector.lower($1) }
    }

    static func firstEqual(_ v: [UInt8], _ selector: HeaderValueSelector, _ msg: SIPMessage) -> HeaderValue? {
        HeaderValue.values(selector, in: msg).first { equal(v, msg.buffer[$0.value]) }
    }

    /// `name: value\r\n`
    static func headerLine(_ name: String, _ value: [UInt8]) -> [UInt8] {
        Array((name + ": ").utf8) + value + [13, 10]
    }

    /// The selector of `append_hf_value`/`insert_hf_value`: an index (not `*`), no param;
    /// no index or `[]` means `defaultIndex`.
    static func indexedSelector(_ arg: ScriptArgument, defaultIndex: Int) throws(FixupError) -> HeaderValueSelector {
        var s = try HeaderValueSelector(argument: arg)
        if s.all { throw FixupError("asterisk not supported", at: arg.location) }
        if !s.hasIndex || s.index == 0 { s.index = defaultIndex }
        if s.index < -10 { throw FixupError("index cannot be lower than -10", at: arg.location) }
        if !s.parameter.isEmpty { throw FixupError("param not supported", at: arg.location) }
        return s
    }

    /// `append_hf_value(name[index], value)`: without an index adds `name: value` at the end
    /// of the headers; with one (`[]` the last value, `[n]`, `[-n]`) adds the value after that
    /// value (`,value` after a header's last value, `value,` after the comma of another), or
    /// the header at the end when there is no such value.
    func fixupAppendValue(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let selector = try Self.indexedSelector(args[0], defaultIndex: -1)
        let value = try args[1].stringFormat()
        return { ctx in
            let v = Array(value.render(ctx).utf8)
            let msg = ctx.message
            guard selector.hasIndex, let hv = HeaderValue.value(at: selector.index, selector, in: msg) else {
                ctx.edits.insert(Self.headerLine(selector.name, v), at: msg.headersEnd)
                return 1
            }
            ctx.edits.insert(Self.valueText(v, hv, at: hv.lumpRange.upperBound), at: hv.lumpRange.upperBound)
            return 1
        }
    }

    /// `insert_hf_value(name[index], value)`: without an index adds `name: value` before the
    /// first header `name` (at the end when none); with one adds `value,` before that value
    /// (`[]` the first); -1 when there is no such value (except index 1: the header is added
    /// at the end).
    func fixupInsertValue(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let selector = try Self.indexedSelector(args[0], defaultIndex: 1)
        let value = try args[1].stringFormat()
        return { ctx in
            let v = Array(value.render(ctx).utf8)
            let msg = ctx.message
            let hv = HeaderValue.value(at: selector.index, selector, in: msg)
            if let hv, !selector.hasIndex {
                ctx.edits.insert(Self.headerLine(selector.name, v), at: hv.field.lineRange.lowerBound)
            } else if let hv {
                ctx.edits.insert(Self.valueText(v, hv, at: hv.lumpRange.lowerBound), at: hv.lumpRange.lowerBound)
            } else if selector.index == 1 {
                ctx.edits.insert(Self.headerLine(selector.name, v), at: msg.headersEnd)
            } else {
                return -1
            }
            return 1
        }
    }

    /// Kamailio's `insert_value_lump`: `,value` at the end of a header value, else `value,`.
    static func valueText(_ v: [UInt8], _ hv: HeaderValue, at offset: Int) -> [UInt8] {
        offset == hv.body.upperBound ? [UInt8(ascii: ",")] + v : v + [UInt8(ascii: ",")]
    }
}
