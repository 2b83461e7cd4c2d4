/// The `line` class: lines of a multi-line value (`$rb`). A `\r` ending the result is
/// dropped; results are strings (Kamailio returns `line.count` as a string too).
enum LineTransformations {
    typealias Bytes = [UInt8]

    static func compile(_ name: String, _ p: TransformationParameters) throws(FixupError)
        -> TransformationFunction?
    {
        let f: (MessageContext, Bytes) -> ArraySlice<UInt8>?
        switch name {
        case "count":
            f = { _, b in
                var n = b.filter { $0 == 10 }.count
                if b.last != 10 { n += 1 }
                return ArraySlice(String(n).utf8)
            }
        case "at":
            try p.next("line number")
            let index = try p.number()
            f = { ctx, b in index.intValue(ctx).map { at(b, $0) } }
        case "sw":
            try p.next("prefix")
            let prefix = try p.string()
            f = { ctx, b in prefix.stringValue(ctx).map { startingWith(b, Array($0.utf8)) } }
        default: return nil
        }
        try p.finish()
        return { ctx, v in
            guard let text = v.nonEmptyText, var r = f(ctx, Array(text.utf8)) else { return nil }
            if r.last == 13 { r = r.dropLast() }
            return .bytes(r)
        }
    }

    /// The line at `n` (0 first; negative from the end, a final line break not counting).
    static func at(_ b: Bytes, _ n: Int) -> ArraySlice<UInt8> {
        func lastNewline(before end: Int) -> Int? {
            var i = end - 1
            while i >= 0 {
                if b[i] == 10 { return i }
                i -= 1
            }
            return nil
        }
        if n < 0 {
            var p: Int? = b.count - 1
            if b[p!] == 10 { p! -= 1 }
            var lineEnd = p!
            let count = -n
            var i = 1
            p = lastNewline(before: p!).map { $0 - 1 }
            while i < count, let q = p {
                lineEnd = q
                p = lastNewline(before: q).map { $0 - 1 }
                i += 1
            }
            guard i == count else { return [] }
            guard let q = p else { return b[0..<(max(0, lineEnd + 1))] }
            return lineEnd >= q + 2 ? b[(q + 2)...lineEnd] : []
        }
        var p: Int? = 0
        var i = 0
        while i < n, let q = p {
            p = b[q...].firstIndex(of: 10).map { $0 + 1 }
            i += 1
        }
        guard i == n, let start = p else { return [] }
        return b[start..<(b[start...].firstIndex(of: 10) ?? b.count)]
    }

    /// The first line starting with `prefix`.
    static func startingWith(_ b: Bytes, _ prefix: Bytes) -> ArraySlice<UInt8> {
        guard b.count >= prefix.count else { return [] }
        var p = 0
        while true {
            if p + prefix.count <= b.count, b[p..<(p + prefix.count)].elementsEqual(prefix) {
                return b[p..<(b[p...].firstIndex(of: 10) ?? b.count)]
            }
            guard let nl = b[p...].firstIndex(of: 10) else { return [] }
            p = nl + 1
            guard p <= b.count - prefix.count else { return [] }
        }
    }
}

/// The `re` class (textops in Kamailio): `{re.subst,/re/repl/flags}`; without a match the
/// value is unchanged.
enum RegexTransformations {
    static func compile(_ name: String, _ p: TransformationParameters) throws(FixupError)
        -> TransformationFunction?
    {
        guard name == "subst" else { return nil }
        try p.next("substitution")
        let rest = p.rest().trimmingCharacters()
        var dynamic: PseudoVariable? = nil
        var fixed: SubstExpression? = nil
        if rest.hasPrefix("$") {
            do {
                dynamic = try p.registry.compile(rest)
            } catch {
                throw p.error(error.message)
            }
        } else {
            do {
                fixed = try SubstExpression(rest, registry: p.registry)
            } catch {
                throw p.error(error.message)
            }
        }
        let registry = p.registry
        return { ctx, v in
            guard let text = v.nonEmptyText else { return nil }
            let subst: SubstExpression
            if let fixed {
                subst = fixed
            } else {
                guard let e = dynamic?.get(ctx).nonEmptyText, let s = try? SubstExpression(e, registry: registry)
                else { return nil }
                subst = s
            }
            switch subst.apply(text, ctx) {
            case .noMatch: return v
            case .replaced(let r): return .string(r)
            case .failed: return nil
            }
        }
    }
}

/// The `sql` class (sqlops in Kamailio): a value ready for an SQL statement: strings quoted
/// with `'` and escaped like `{s.escape.common}`, integers as digits, null as `NULL`
/// (`sql.val`), `0` (`sql.val.int`) or `''` (`sql.val.str`).
enum SQLTransformations {
    static func compile(_ name: String, _ p: TransformationParameters) throws(FixupError)
        -> TransformationFunction?
    {
        let null: String
        switch name {
        case "val": null = "NULL"
        case "val.int": null = "0"
        case "val.str": null = "''"
        default: return nil
        }
        try p.finish()
        return { _, v in
            switch v {
            case .null: return .string(null)
            case .int(let i): return .string(String(i))
            case .string(let s): return .bytes([39] + Escaping.escapeCommon(Array(s.utf8)) + [39])
            }
        }
    }
}
