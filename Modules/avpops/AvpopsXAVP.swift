import SwiftletSDK

/// An `$xavp(root[i]=>field[j])` parameter of `avp_check` (Kamailio's `get_xavp` in
/// avpops_impl.c): the field's value, or with `[*]` on the field every value of that name
/// from the first on.
struct XAVPReference {
    let root: String
    let rootIndex: PVIndex
    /// nil without `=>field`: Kamailio refuses it when the check runs ("xavp has to have key2").
    let field: String?
    let fieldIndex: PVIndex

    /// Nil when `text` is not an `$xavp(...)` reference.
    init?(_ text: String) throws(FixupError) {
        guard let pv = try? PseudoVariableName(parsing: text.trimmingCharacters()), pv.className == "xavp",
            let inner = pv.inner
        else { return nil }
        func split(_ s: Substring) throws(FixupError) -> (String, PVIndex) {
            let t = String(s).trimmingCharacters()
            guard let open = t.firstIndex(of: "[") else { return (t, .none) }
            guard t.hasSuffix("]") else { throw FixupError("missing ']' in $xavp(\(inner))") }
            let index = t[t.index(after: open)..<t.index(before: t.endIndex)]
            return (String(t[..<open]).trimmingCharacters(), try PVIndex(String(index)))
        }
        let parts = inner.split(separator: "=>", maxSplits: 1, omittingEmptySubsequences: false)
        (root, rootIndex) = try split(parts[0])
        guard !root.isEmpty else { throw FixupError("$xavp needs a name: $xavp(root=>field)") }
        if parts.count == 2 {
            let (f, fi) = try split(parts[1])
            guard !f.isEmpty else { throw FixupError("empty field name in $xavp(\(inner))") }
            field = f
            fieldIndex = fi
        } else {
            field = nil
            fieldIndex = .none
        }
    }

    /// The integer and string values to check, nil when the XAVP or its field is missing
    /// (the check fails). Values of other types are left out (Kamailio skips them).
    func values(_ ctx: MessageContext) -> [PVValue]? {
        // `[*]` on the root is not implemented in Kamailio either: the first one is used.
        var ri = 0
        switch rootIndex.resolve(ctx) {
        case .position(let p)?: ri = p
        case .all?:
            Log.error("avpops", "idx:* at first key not implemented. Using idx:0")
        case nil: return nil
        }
        let roots = ctx.xavps.filter { $0.name == root }
        if ri < 0 { ri += roots.count }
        guard ri >= 0, ri < roots.count else { return nil }
        guard let field else {
            Log.error("avpops", "xavp has to have key2")
            return nil
        }
        guard case .list(let children) = roots[ri].value else { return nil }
        let items = children.filter { $0.name == field }
        var fi = 0
        var all = false
        switch fieldIndex.resolve(ctx) {
        case .position(let p)?: fi = p
        case .all?: all = true
        case nil: return nil
        }
        if fi < 0 { fi += items.count }
        guard fi >= 0, fi < items.count else { return nil }
        return (all ? Array(items[fi...]) : [items[fi]]).compactMap { item in
            switch item.value {
            case .int(let i): return .int(i)
            case .string(let s): return .string(s)
            case .list:
                Log.error("avpops", "value is not INT or STR")
                return nil
            }
        }
    }
}
