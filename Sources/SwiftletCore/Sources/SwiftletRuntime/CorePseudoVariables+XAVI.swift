import SwiftletSDK

/// `$xavi(root[i]=>field[j])`: Kamailio's xavi lists, the same operations as `$xavp` with
/// names that match without regard to case (see `ScriptXAVI`, which stores them with the
/// message's xavps).
extension CorePseudoVariables {
    /// Reading gives the `field` of the `i`-th (newest by default) `root`; assigning to
    /// `$xavi(root=>field)` adds a new root holding the field, `$xavi(root[0]=>field)` adds
    /// the field to the newest root, `$xavi(root[0]=>field[0])` replaces its value; `$null`
    /// removes (`[*]` all).
    static func xavi(_ pv: PseudoVariableName) throws(FixupError) -> PseudoVariable {
        guard let inner = pv.inner else { throw FixupError("$xavi needs a name: $xavi(root=>field)") }
        let n = try XAVPName(inner, registry: pv.registry)
        return PseudoVariable(
            text: pv.text, get: { ctx in xaviGet(ctx, n) },
            set: { ctx, value in xaviSet(ctx, n, value) })
    }

    static func xaviValue(_ v: XAVP.Value) -> PVValue {
        switch v {
        case .int(let i): .int(i)
        case .string(let s): .string(s)
        case .list: .string("<<xavi>>")
        }
    }

    static func xaviGet(_ ctx: MessageContext, _ n: XAVPName) -> PVValue {
        var ri = 0
        if case .position(let p)? = n.rootIndex.resolve(ctx) { ri = p }
        guard let root = PVIndex.element(ScriptXAVI.roots(ctx, n.root), ri).map({ ctx.xavps[$0] }) else { return .null }
        guard let field = n.field else { return xaviValue(root.value) }
        guard case .list(let children) = root.value, let fi = n.fieldIndex.resolve(ctx) else { return .null }
        let items = ScriptXAVI.fields(children, field).map { children[$0] }
        switch fi {
        case .all:
            return items.isEmpty ? .null : .string(items.map { xaviValue($0.value).printed }.joined(separator: ", "))
        case .position(let p): return PVIndex.element(items, p).map { xaviValue($0.value) } ?? .null
        }
    }

    static func xaviSet(_ ctx: MessageContext, _ n: XAVPName, _ value: PVValue) -> Bool {
        let roots = ScriptXAVI.roots(ctx, n.root)
        guard let ri = n.rootIndex.resolve(ctx) else { return false }
        let item: XAVP.Value
        switch value {
        case .null:
            let targets: [Int]
            switch ri {
            case .all: targets = roots
            case .position(let p):
                let i = setPosition(p, count: roots.count)
                targets = i >= 0 && i < roots.count ? [roots[i]] : []
            }
            guard let field = n.field else {
                for t in targets.reversed() { ctx.xavps.remove(at: t) }
                return true
            }
            for t in targets {
                guard case .list(var children) = ctx.xavps[t].value else { continue }
                let fields = ScriptXAVI.fields(children, field)
                switch n.fieldIndex.resolve(ctx) {
                case .all?: children.removeAll { ScriptXAVI.isField($0, named: field) }
                case .position(let p)?:
                    let i = setPosition(p, count: fields.count)
                    if i >= 0, i < fields.count { children.remove(at: fields[i]) }
                case nil: break
                }
                ctx.xavps[t].value = .list(children)
            }
            return true
        case .int(let i): item = .int(i)
        case .string(let s): item = .string(s)
        }
        guard let field = n.field else {
            if case .none = n.rootIndex {
                ctx.xavps.insert(XAVP(name: ScriptXAVI.storedName(n.root), value: item), at: 0)
                return true
            }
            guard case .position(let p) = ri else { return false }
            let i = setPosition(p, count: roots.count)
            guard i >= 0, i < roots.count else { return false }
            ctx.xavps[roots[i]].value = item
            return true
        }
        if case .none = n.rootIndex {
            ctx.xavps.insert(
                XAVP(name: ScriptXAVI.storedName(n.root), value: .list([XAVP(name: field, value: item)])), at: 0)
            return true
        }
        guard case .position(let p) = ri else { return true }
        let i = p == 0 ? 0 : setPosition(p, count: roots.count)
        guard i >= 0, i < roots.count else { return true }
        guard case .list(var children) = ctx.xavps[roots[i]].value else { return false }
        switch n.fieldIndex {
        case .none: children.insert(XAVP(name: field, value: item), at: 0)
        default:
            guard case .position(let fp)? = n.fieldIndex.resolve(ctx) else { return true }
            let fields = ScriptXAVI.fields(children, field)
            let j = setPosition(fp, count: fields.count)
            guard j >= 0, j < fields.count else { return false }
            children[fields[j]].value = item
        }
        ctx.xavps[roots[i]].value = .list(children)
        return true
    }
}
