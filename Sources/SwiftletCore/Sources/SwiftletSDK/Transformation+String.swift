#if canImport(Glibc)
    import Glibc
#endif

/// The `s` transformation class (Kamailio `pv_trans.c`, `tr_eval_string`). Every one fails
/// on a null value; integers are used as their decimal text.
enum StringTransformations {
    typealias Bytes = [UInt8]

    /// A transformation of the value's bytes that cannot fail.
    private static func map(_ f: @escaping (Bytes) -> PVValue) -> TransformationFunction {
        { _, v in v.transformationBytes.map(f) }
    }

    /// A transformation of the value's bytes that may fail.
    private static func tryMap(_ f: @escaping (Bytes) -> PVValue?) -> TransformationFunction {
        { _, v in v.transformationBytes.flatMap(f) }
    }

    static func compile(_ name: String, _ p: TransformationParameters) throws(FixupError)
        -> TransformationFunction?
    {
        let f: TransformationFunction
        switch name {
        case "len": f = map { .int($0.count) }
        case "int":
            f = { _, v in
                switch v {
                case .null: return nil
                case .int: return v
                case .string(let s): return str2sint(Array(s.utf8)).map(PVValue.int)
                }
            }
        case "md5": f = map { .string(MD5.hex($0)) }
        case "rmws": f = map { b in .bytes(b.filter { $0 != 32 && $0 != 9 && $0 != 13 && $0 != 10 }) }
        case "tolower", "toupper":
            let lower = name == "tolower"
            f = { _, v in
                guard case .string(let s) = v else { return v == .null ? nil : v }
                return .bytes(
                    s.utf8.map { c in
                        lower
                            ? (c >= 65 && c <= 90 ? c | 0x20 : c) : (c >= 97 && c <= 122 ? c & ~0x20 : c)
                    })
            }
        case "numeric": f = map { b in .bytes(b.filter { $0 >= 48 && $0 <= 57 }) }
        case "encode.hexa": f = map { .string(Hex.encode($0)) }
        case "decode.hexa": f = tryMap { Hex.decode($0).map(PVValue.bytes) }
        case "encode.base64": f = map { .string(Base64.encode($0)) }
        case "decode.base64":
            f = tryMap { b in Base64.decode(b).flatMap { $0.isEmpty && !b.isEmpty ? nil : .bytes($0) } }
        case "escape.common": f = map { .bytes(Escaping.escapeCommon($0)) }
        case "unescape.common": f = map { .bytes(Escaping.unescapeCommon($0)) }
        case "escape.user": f = tryMap { Escaping.escape($0, keeping: Escaping.userUnreserved).map(PVValue.bytes) }
        case "unescape.user", "unescape.param": f = tryMap { Escaping.unescape($0).map(PVValue.bytes) }
        case "escape.param": f = tryMap { Escaping.escape($0, keeping: Escaping.paramUnreserved).map(PVValue.bytes) }
        case "escape.csv":
            f = map { b in .bytes([34] + b.flatMap { $0 == 34 ? [34, 34] : [$0] } + [34]) }
        case "trim": f = map { .bytes(trimTrailing(trimLeading($0[...]))) }
        case "rtrim": f = map { .bytes(trimTrailing($0[...])) }
        case "ltrim": f = map { .bytes(trimLeading($0[...])) }
        case "unquote":
            f = map { b in
                b.count >= 2 && b.first == b.last && (b[0] == 34 || b[0] == 39)
                    ? .bytes(b.dropFirst().dropLast()) : .bytes(b)
            }
        case "unbracket":
            f = map { b in
                guard b.count >= 2 else { return .bytes(b) }
                let pairs: [(UInt8, UInt8)] = [(40, 41), (91, 93), (123, 125), (60, 62)]
                return pairs.contains { $0.0 == b[0] && $0.1 == b[b.count - 1] }
                    ? .bytes(b.dropFirst().dropLast()) : .bytes(b)
            }
        case "substr":
            try p.next("offset")
            let offset = try p.number()
            try p.next("length")
            let length = try p.number()
            if case .int(let l) = length, l < 0 { throw p.error("negative length") }
            f = { ctx, v in
                guard let b = v.transformationBytes, let i = offset.intValue(ctx), let j = length.intValue(ctx) else {
                    return nil
                }
                return substr(b, i, j)
            }
        case "select":
            try p.next("index")
            let index = try p.number()
            try p.next("separator")
            let separator = try p.character()
            f = { ctx, v in
                guard let b = v.transformationBytes, let i = index.intValue(ctx) else { return nil }
                return .bytes(select(b, i, separator))
            }
        case "strip", "striptail":
            try p.next("count")
            let count = try p.number()
            let tail = name == "striptail"
            f = { ctx, v in
                guard let b = v.transformationBytes, let n = count.intValue(ctx) else { return nil }
                if n <= 0 { return .bytes(b) }
                if n >= b.count { return .string("") }
                return .bytes(tail ? b[..<(b.count - n)] : b[n...])
            }
        case "stripto":
            try p.next("character")
            let to = try p.string()
            f = { ctx, v in
                guard let b = v.transformationBytes, let c = to.stringValue(ctx)?.utf8.first else { return nil }
                guard let i = b.firstIndex(of: c) else { return .string("") }
                return .bytes(b[i...])
            }
        case "prefixes", "prefixes.quoted":
            let max: TransformationArgument? = p.hasNext() ? try p.number() : nil
            let quoted = name == "prefixes.quoted"
            f = { ctx, v in
                guard let b = v.transformationBytes else { return nil }
                var n = b.count
                if let max {
                    guard let m = max.intValue(ctx) else { return nil }
                    if m > 0 && m < n { n = m }
                }
                var out: Bytes = []
                for i in stride(from: 1, through: n, by: 1) {
                    if i > 1 { out.append(44) }
                    if quoted { out.append(39) }
                    out += b[..<i]
                    if quoted { out.append(39) }
                }
                return .bytes(out)
            }
        case "replace":
            try p.next("match")
            let match = try p.string()
            try p.next("replacement")
            let replacement = try p.string()
            f = { ctx, v in
                guard let b = v.transformationBytes, let m = match.stringValue(ctx),
                    let r = replacement.stringValue(ctx)
                else { return nil }
                return .bytes(replaceAll(b, Array(m.utf8), Array(r.utf8)))
            }
        case "count", "before", "after":
            try p.next("character")
            let arg = try p.string(includingComma: true)
            let op = name
            f = { ctx, v in
                guard let b = v.transformationBytes, let c = arg.stringValue(ctx)?.utf8.first else { return nil }
                switch op {
                case "count": return .int(b.filter { $0 == c }.count)
                case "before": return .bytes(b[..<(b.firstIndex(of: c) ?? b.count)])
                default:
                    guard let i = b.firstIndex(of: c), i < b.count - 1 else { return .string("") }
                    return .bytes(b[(i + 1)...])
                }
            }
        case "ftime":
            try p.next("format")
            let format = try p.string()
            f = { ctx, v in
                let t: Int
                switch v {
                case .null: return nil
                case .int(let i): t = i
                case .string(let s):
                    guard let u = UInt32(s) else { return nil }
                    t = Int(u)
                }
                guard let fmt = format.stringValue(ctx) else { return nil }
                return .string(strftimeLocal(t, fmt))
            }
        default: return nil
        }
        try p.finish()
        return f
    }

    // MARK: helpers with Kamailio's exact semantics

    /// `str2sint`: optional sign and decimal digits only, 32-bit range ("" fails, as in
    /// Kamailio, where an empty string has no buffer).
    static func str2sint(_ b: Bytes) -> Int? {
        guard !b.isEmpty else { return nil }
        var i = 0
        var neg = false
        if let c = b.first, c == UInt8(ascii: "+") || c == UInt8(ascii: "-") {
            neg = c == UInt8(ascii: "-")
            i = 1
        }
        var r = 0
        while i < b.count {
            guard b[i] >= 48, b[i] <= 57 else { return nil }
            r = r * 10 + Int(b[i] - 48)
            guard r <= (neg ? 2_147_483_648 : 2_147_483_647) else { return nil }
            i += 1
        }
        return neg ? -r : r
    }

    /// `{s.substr,offset,length}`: length 0 means to the end; a negative offset counts from
    /// the end; an offset outside the string fails.
    static func substr(_ b: Bytes, _ offset: Int, _ length: Int) -> PVValue? {
        guard length >= 0 else { return nil }
        var j = length
        if offset >= 0 {
            guard offset < b.count else { return nil }
            if offset + j >= b.count { j = 0 }
            return .bytes(j == 0 ? b[offset...] : b[offset..<(offset + j)])
        }
        let i = -offset
        guard i <= b.count else { return nil }
        if i < j { j = 0 }
        let start = b.count - i
        return .bytes(j == 0 ? b[start...] : b[start..<(start + j)])
    }

    /// `{s.select,index,sep}`: the index-th field (negative from the end); "" when missing.
    static func select(_ b: Bytes, _ index: Int, _ c: UInt8) -> ArraySlice<UInt8> {
        if index >= 0 {
            var i = index
            var s = 0
            var p = 0
            while p < b.count {
                if b[p] == c {
                    if i == 0 { break }
                    s = p + 1
                    i -= 1
                }
                p += 1
            }
            return i == 0 ? b[s..<p] : []
        }
        var i = -index - 1
        var s = b.count - 1
        var p = b.count - 1
        while p >= 0 {
            if b[p] == c {
                if i == 0 { break }
                s = p - 1
                i -= 1
            }
            p -= 1
        }
        return i == 0 ? b[(p + 1)..<(s + 1)] : []
    }

    static func isTrimmed(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 || c == 10 }
    static func trimLeading(_ b: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        b.drop(while: isTrimmed)
    }
    static func trimTrailing(_ b: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var e = b.endIndex
        while e > b.startIndex, isTrimmed(b[e - 1]) { e -= 1 }
        return b[b.startIndex..<e]
    }

    /// Every non-overlapping occurrence of `m` replaced by `r`, left to right.
    static func replaceAll(_ b: Bytes, _ m: Bytes, _ r: Bytes) -> Bytes {
        guard !m.isEmpty, b.count >= m.count else { return b }
        var out: Bytes = []
        var i = 0
        while i < b.count {
            if i + m.count <= b.count, b[i] == m[0], b[i..<(i + m.count)].elementsEqual(m) {
                out += r
                i += m.count
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return out
    }

    /// `strftime` of a unix time in local time.
    static func strftimeLocal(_ t: Int, _ format: String) -> String {
        var time = time_t(t)
        var tmv = tm()
        localtime_r(&time, &tmv)
        var buf = [CChar](repeating: 0, count: 1024)
        let n = strftime(&buf, buf.count - 1, format, &tmv)
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
