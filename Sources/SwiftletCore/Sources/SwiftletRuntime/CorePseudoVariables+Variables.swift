import SwiftletSDK

/// Script variables: `$var(x)`/`$vz(x)` and `$vn(x)` (per worker thread, kept between
/// messages, see `ScriptVariables`), `$avp(x)` (per message, a stack of values) and
/// `$xavp(root=>field)` (per message).
extension CorePseudoVariables {
    static var scriptVariableClasses: [PseudoVariableClass] {
        [
            PseudoVariableClass("var") { (pv: PseudoVariableName) throws(FixupError) in
                try scriptVariable(pv, nullable: false)
            },
            PseudoVariableClass("vz") { (pv: PseudoVariableName) throws(FixupError) in
                try scriptVariable(pv, nullable: false)
            },
            PseudoVariableClass("vn") { (pv: PseudoVariableName) throws(FixupError) in
                try scriptVariable(pv, nullable: true)
            },
            PseudoVariableClass("avp", make: avp),
            PseudoVariableClass("xavp", make: xavp),
            PseudoVariableClass("xavu", make: xavu),
            PseudoVariableClass("xavi", make: xavi),
        ]
    }

    /// `$var(name)`: assigning `$null` sets 0 (`$vn(name)`: null).
    static func scriptVariable(_ pv: PseudoVariableName, nullable: Bool) throws(FixupError) -> PseudoVariable {
        guard let name = pv.inner?.trimmingCharacters(), !name.isEmpty else {
            throw FixupError("$\(pv.className) needs a name: $\(pv.className)(name)")
        }
        guard pv.index == nil else { throw FixupError("$\(pv.className) takes no index") }
        let store = ScriptVariables.shared
        let slot = store.slot(name, nullable: nullable)
        let zero: PVValue = nullable ? .null : .int(0)
        return PseudoVariable(
            text: pv.text, get: { _ in store.get(slot) },
            set: { _, value in
                store.set(slot, value == .null ? zero : value)
                return true
            })
    }

    /// The AVP name: `s:name` and `name` are the same; `i:5` is an integer name.
    /// A name without `:` may be an alias (pv's `avp_aliases`, Kamailio's `km_parse_avp_spec`).
    static func avpName(_ inner: String) -> String {
        var n = inner.trimmingCharacters()
        if !n.contains(":"), let aliased = AVPAliases.lookup(n) { n = aliased }
        if n.hasPrefix("s:") { return String(n.dropFirst(2)) }
        if n.hasPrefix("i:") { return "#" + n.dropFirst(2) }
        return n
    }

    /// `$avp(name)`: the newest value; `[n]` the n-th newest, `[*]` all joined with `, `
    /// (as in Kamailio 5.6, a negative index gives a value only for `[-count]`: the newest).
    /// Assigning adds a value on top (`[*]` first deletes all); `$null` deletes the newest
    /// (`[*]`: all).
    static func avp(_ pv: PseudoVariableName) throws(FixupError) -> PseudoVariable {
        guard let inner = pv.inner, !inner.trimmingCharacters().isEmpty else {
            throw FixupError("$avp needs a name: $avp(name)")
        }
        let name = avpName(inner)
        let index = try PVIndex(pv.index, registry: pv.registry)
        return PseudoVariable(
            text: pv.text,
            get: { ctx in
                guard let values = ctx.avps[name], !values.isEmpty, let i = index.resolve(ctx) else { return .null }
                switch i {
                case .all: return .string(values.map { $0.printed }.joined(separator: ", "))
                case .position(let p) where p >= 0: return p < values.count ? values[p] : .null
                case .position(let p):
                    // Kamailio 5.6 (pv_get_avp) finds only [-count], and gives the newest value for it.
                    return -p == values.count ? values[0] : .null
                }
            },
            set: { ctx, value in
                if value == .null {
                    if index.isAll {
                        ctx.avps[name] = nil
                        ctx.avpFlags[name] = nil
                    } else if var values = ctx.avps[name], !values.isEmpty {
                        values.removeFirst()
                        ctx.avps[name] = values.isEmpty ? nil : values
                        if var flags = ctx.avpFlags[name], !flags.isEmpty {
                            flags.removeFirst()
                            ctx.avpFlags[name] = flags.isEmpty ? nil : flags
                        }
                    }
                    return true
                }
                if index.isAll {
                    ctx.avps[name] = nil
                    ctx.avpFlags[name] = nil
                }
                ctx.avps[name, default: []].insert(value, at: 0)
                if ctx.avpFlags[name] != nil { ctx.avpFlags[name]!.insert(0, at: 0) }
                return true
            })
    }

    /// The parts of `$xavp(root[i]=>field[j])`.
    struct XAVPName {
        var root: String
        var rootIndex: PVIndex
        var field: String?
        var fieldIndex: PVIndex

        init(_ text: String, registry: PseudoVariableRegistry) throws(FixupError) {
            func split(_ s: Substring) throws(FixupError) -> (String, PVIndex) {
                let t = String(s).trimmingCharacters()
                guard let open = t.firstIndex(of: "[") else { return (String(t), .none) }
                guard t.hasSuffix("]") else { throw FixupError("missing ']' in $xavp(\(text))") }
                let idx = t[t.index(after: open)..<t.index(before: t.endIndex)]
                return (String(t[..<open]).trimmingCharacters(), try PVIndex(String(idx), registry: registry))
            }
            var parts: [Substring] = [Substring(text)]
            if let arrow = text.firstRange(of: "=>") {
                parts = [text[..<arrow.lowerBound], text[arrow.upperBound...]]
            }
            guard !(parts.last?.contains("=>") ?? false) else { throw FixupError("invalid $xavp(\(text))") }
            (root, rootIndex) = try split(parts[0])
            guard !root.isEmpty else { throw FixupError("$xavp needs a name: $xavp(root=>field)") }
            if parts.count == 2 {
                let (f, fi) = try split(parts[1])
                guard !f.isEmpty else { throw FixupError("empty field name in $xavp(\(text))") }
                field = f
                fieldIndex = fi
            } else {
                field = nil
                fieldIndex = .none
            }
        }
    }

    static func xavpValue(_ v: XAVP.Value) -> PVValue {
        switch v {
        case .int(let i): .int(i)
        case .string(let s): .string(s)
        case .list: .string("<<xavp>>")
        }
    }

    /// `$xavp(root=>field)`: the `field` of the newest `root` item. Assigning to
    /// `$xavp(root=>field)` adds a new `root` item holding the field; `$xavp(root[0]=>field)`
    /// adds the field to the newest item; `$xavp(root[0]=>field[0])` replaces its value.
    /// `$null` removes.
    static func xavp(_ pv: PseudoVariableName) throws(FixupError) -> PseudoVariable {
        guard let inner = pv.inner else { throw FixupError("$xavp needs a name: $xavp(root=>field)") }
        let n = try XAVPName(inner, registry: pv.registry)
        return PseudoVariable(
            text: pv.text, get: { ctx in xavpGet(ctx, n) },
            set: { ctx, value in xavpSet(ctx, n, value) })
    }

    /// Indexes of the items named `name` in `list`, newest first.
    static func positions(_ list: [XAVP], _ name: String) -> [Int] {
        list.indices.filter { list[$0].name == name }
    }

    static func xavpGet(_ ctx: MessageContext, _ n: XAVPName) -> PVValue {
        var ri = 0
        if case .position(let p)? = n.rootIndex.resolve(ctx) { ri = p }
        guard let root = PVIndex.element(positions(ctx.xavps, n.root), ri).map({ ctx.xavps[$0] })
        else { return .null }
        guard let field = n.field else { return xavpValue(root.value) }
        guard case .list(let children) = root.value, let fi = n.fieldIndex.resolve(ctx) else { return .null }
        let items = positions(children, field).map { children[$0] }
        switch fi {
        case .all:
            return items.isEmpty ? .null : .string(items.map { xavpValue($0.value).printed }.joined(separator: ", "))
        case .position(let p): return PVIndex.element(items, p).map { xavpValue($0.value) } ?? .null
        }
    }

    /// A root position for assignments: Kamailio turns -1 into the count (not found).
    static func setPosition(_ i: Int, count: Int) -> Int { i < 0 ? count + i + 1 : i }

    static func xavpSet(_ ctx: MessageContext, _ n: XAVPName, _ value: PVValue) -> Bool {
        let roots = positions(ctx.xavps, n.root)
        guard let ri = n.rootIndex.resolve(ctx) else { return false }
        let item: XAVP.Value
        switch value {
        case .null:
            guard let field = n.field else {
                switch ri {
                case .all: ctx.xavps.removeAll { $0.name == n.root }
                case .position(let p):
                    let i = setPosition(p, count: roots.count)
                    if i >= 0, i < roots.count { ctx.xavps.remove(at: roots[i]) }
                }
                return true
            }
            let targets: [Int]
            switch ri {
            case .all: targets = roots
            case .position(let p):
                let i = setPosition(p, count: roots.count)
                targets = i >= 0 && i < roots.count ? [roots[i]] : []
            }
            for t in targets {
                guard case .list(var children) = ctx.xavps[t].value else { continue }
                let fields = positions(children, field)
                switch n.fieldIndex.resolve(ctx) {
                case .all?: children.removeAll { $0.name == field }
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
                ctx.xavps.insert(XAVP(name: n.root, value: item), at: 0)
                return true
            }
            guard case .position(let p) = ri else { return false }
            let i = setPosition(p, count: roots.count)
            guard i >= 0, i < roots.count else { return false }
            ctx.xavps[roots[i]].value = item
            return true
        }
        if case .none = n.rootIndex {
            ctx.xavps.insert(XAVP(name: n.root, value: .list([XAVP(name: field, value: item)])), at: 0)
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
            let fields = positions(children, field)
            let j = setPosition(fp, count: fields.count)
            guard j >= 0, j < fields.count else { return false }
            children[fields[j]].value = item
        }
        ctx.xavps[roots[i]].value = .list(children)
        return true
    }
}
