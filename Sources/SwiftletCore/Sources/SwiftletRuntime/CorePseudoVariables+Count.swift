import SwiftletSDK

/// `$cnt($avp(name))` / `$cnt($xavp(...))` (how many values, Kamailio's pv_get_cnt) and the
/// `$err.*` family (always null in Kamailio 5.6.3: nothing sets the error info any more).
extension CorePseudoVariables {
    static var countClasses: [PseudoVariableClass] {
        [
            PseudoVariableClass("cnt", make: count),
            .readOnly("err.class") { _ in .null },
            .readOnly("err.level") { _ in .null },
            .readOnly("err.info") { _ in .null },
            .readOnly("err.rcode") { _ in .null },
            .readOnly("err.rreason") { _ in .null },
        ]
    }

    /// `$cnt($avp(x))`: the number of values of the AVP. `$cnt($xavp(key))` / `key[*]`: the
    /// number of `key` items; `key[n]`: 1 when it exists; `key=>sub`: the `sub` fields of all
    /// `key` items; `key[n]=>sub`: of item n; `key[n]=>sub[m]`: 1 when it exists.
    static func count(_ pv: PseudoVariableName) throws(FixupError) -> PseudoVariable {
        guard let inner = pv.inner?.trimmingCharacters(), !inner.isEmpty, pv.index == nil else {
            throw FixupError("$cnt needs an avp or xavp: $cnt($avp(name))")
        }
        let target = try PseudoVariableName(parsing: inner)
        switch target.className {
        case "avp":
            guard let n = target.inner, target.index == nil else {
                throw FixupError("expected avp or xavp name instead of [\(inner)]")
            }
            let name = avpName(n)
            return PseudoVariable(text: pv.text) { ctx in .int(ctx.avps[name]?.count ?? 0) }
        case "xavp":
            guard let n = target.inner else { throw FixupError("expected avp or xavp name instead of [\(inner)]") }
            let x = try XAVPName(n, registry: pv.registry)
            return PseudoVariable(text: pv.text) { ctx in xavpCount(ctx, x) }
        default:
            throw FixupError("expected avp or xavp name instead of [\(inner)]")
        }
    }

    /// An explicit position of an index, nil for none or `[*]` (count all).
    static func position(_ index: PVIndex, _ ctx: MessageContext) -> Int? {
        if case .none = index { return nil }
        if case .position(let p)? = index.resolve(ctx) { return p }
        return nil
    }

    static func xavpCount(_ ctx: MessageContext, _ x: XAVPName) -> PVValue {
        let roots = positions(ctx.xavps, x.root).map { ctx.xavps[$0] }
        func children(_ item: XAVP) -> [XAVP] {
            guard case .list(let c) = item.value, let field = x.field else { return [] }
            return c.filter { $0.name == field }
        }
        func subCount(_ item: XAVP) -> Int {
            let subs = children(item)
            guard let p = position(x.fieldIndex, ctx) else { return subs.count }
            let i = p >= 0 ? p : subs.count + p
            return i >= 0 && i < subs.count ? 1 : 0
        }
        if let p = position(x.rootIndex, ctx) {
            let i = p >= 0 ? p : roots.count + p
            guard i >= 0, i < roots.count else { return .int(0) }
            return .int(x.field == nil ? 1 : subCount(roots[i]))
        }
        guard x.field != nil else { return .int(roots.count) }
        return .int(roots.reduce(0) { $0 + subCount($1) })
    }
}
