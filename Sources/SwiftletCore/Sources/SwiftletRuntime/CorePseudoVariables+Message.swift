import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// Header and message pseudo-variables: `$hdr(name)` (indexable: `[n]`, `[-1]`, `[*]`),
/// `$hdrc(name)`, `$ct` `$cT` `$cl` `$fn` `$tn` `$di` `$ai` `$rv` `$mt`, time (`$Ts` `$TS`
/// `$Tf`).
extension CorePseudoVariables {
    static var messageClasses: [PseudoVariableClass] {
        [
            PseudoVariableClass("hdr", make: header),
            PseudoVariableClass("hdrc", make: headerCount),
            .readOnly("ct") { firstHeaderValue($0, .contact) },
            .readOnly("cT") { firstHeaderValue($0, .contentType) },
            .readOnly("cl", contentLength),
            .readOnly("fn") { displayName($0, .from) },
            .readOnly("tn") { displayName($0, .to) },
            .readOnly("di") { ctx in ctx.message.firstHeader(named: "Diversion").map { uriOf(ctx, $0) } ?? .null },
            .readOnly("ai") { ctx in
                ctx.message.firstHeader(named: "P-Asserted-Identity").map { uriOf(ctx, $0) } ?? .null
            },
            .readOnly("rv", version),
            .readOnly("mt") { .int($0.message.isRequest ? 1 : 2) },
            .readOnly("Ts") { _ in .int(time(nil)) },
            .readOnly("TS") { _ in .int(time(nil)) },
            .readOnly("Tf", formattedTime),
            .readOnly("TF", formattedTime),
        ]
    }

    /// Every header field named `name` (compact forms honoured; for `$hdr`, `*` is every
    /// header).
    static func headerFields(_ msg: SIPMessage, _ name: String, star: Bool = true) -> [HeaderField] {
        if name == "*" { return star ? msg.headers : [] }
        let kind = HeaderName(name: name)
        if kind != .other { return msg.headers(kind) }
        let wanted = Array(name.utf8).map { $0 | 0x20 }
        return msg.headers.filter { h in
            h.name == .other && h.nameRange.count == wanted.count
                && zip(h.nameRange, wanted).allSatisfy { (msg.buffer[$0.0] | 0x20) == $0.1 }
        }
    }

    /// `$hdr(name)`: the first header of that name; `[n]` the n-th (negative from the end),
    /// `[*]` all bodies joined with `,`.
    static func header(_ pv: PseudoVariableName) throws(FixupError) -> PseudoVariable {
        guard let name = pv.inner?.trimmingCharacters(), !name.isEmpty else {
            throw FixupError("$hdr needs a header name: $hdr(Name)")
        }
        let index = try PVIndex(pv.index, registry: pv.registry)
        if case .none = index {
            return PseudoVariable(text: pv.text) { ctx in
                guard let field = name == "*" ? ctx.message.headers.first : ctx.message.firstHeader(named: name) else {
                    return .null
                }
                return .string(ctx.message.value(of: field))
            }
        }
        return PseudoVariable(text: pv.text) { ctx in
            let fields = headerFields(ctx.message, name)
            guard !fields.isEmpty, let i = index.resolve(ctx) else { return .null }
            switch i {
            case .all: return .string(fields.map { ctx.message.value(of: $0) }.joined(separator: ","))
            case .position(let p): return PVIndex.element(fields, p).map { .string(ctx.message.value(of: $0)) } ?? .null
            }
        }
    }

    /// `$hdrc(name)`: how many header fields have that name (`$hdrc(*)` is 0, as in Kamailio).
    static func headerCount(_ pv: PseudoVariableName) throws(FixupError) -> PseudoVariable {
        guard let name = pv.inner?.trimmingCharacters(), !name.isEmpty else {
            throw FixupError("$hdrc needs a header name: $hdrc(Name)")
        }
        return PseudoVariable(text: pv.text) { ctx in .int(headerFields(ctx.message, name, star: false).count) }
    }

    static func firstHeaderValue(_ ctx: MessageContext, _ name: HeaderName) -> PVValue {
        guard let field = ctx.message.firstHeader(name), !field.valueRange.isEmpty else { return .null }
        return .string(ctx.message.value(of: field))
    }

    static func contentLength(_ ctx: MessageContext) -> PVValue {
        guard let field = ctx.message.firstHeader(.contentLength) else { return .null }
        return Int(ctx.message.value(of: field).trimmingCharacters()).map(PVValue.int) ?? .null
    }

    /// The display name as written (quotes kept), null when there is none.
    static func displayName(_ ctx: MessageContext, _ name: HeaderName) -> PVValue {
        guard let field = ctx.message.firstHeader(name),
            let na = try? NameAddr.parse(ctx.message.buffer, field.valueRange), let d = na.displayName, !d.isEmpty
        else { return .null }
        return .string(String(decoding: ctx.message.buffer[d], as: UTF8.self))
    }

    /// The URI of a name-addr header (its first value).
    static func uriOf(_ ctx: MessageContext, _ field: HeaderField) -> PVValue {
        let b = ctx.message.buffer
        guard let first = HeaderScanner.splitValues(b, field.valueRange).first,
            let na = try? NameAddr.parse(b, first)
        else { return .null }
        return .string(String(decoding: b[na.uri], as: UTF8.self))
    }

    static func version(_ ctx: MessageContext) -> PVValue {
        .string(String(decoding: ctx.message.buffer[ctx.message.versionRange], as: UTF8.self))
    }

    /// `ctime` without its line break, e.g. `Fri Nov 27 03:40:49 2026`.
    static func formattedTime(_ ctx: MessageContext) -> PVValue {
        var t = time(nil)
        var buf = [CChar](repeating: 0, count: 64)
        guard ctime_r(&t, &buf) != nil else { return .null }
        var s = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if s.hasSuffix("\n") { s.removeLast() }
        return .string(s)
    }
}
