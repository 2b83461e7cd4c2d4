/// A strict JSON parser (RFC 8259) for a token's header and claims: a top-level object,
/// nesting at most 64 deep, strings of valid UTF-8 with their escapes (surrogate pairs
/// joined), integers that fit 64 bits as `.integer`, other numbers as `.real`.
struct JSONParser {
    private let bytes: [UInt8]
    private var i = 0
    private var depth = 0

    /// The object `bytes` holds, or nil when they are not exactly one JSON object.
    static func object(_ bytes: [UInt8]) -> JSONObject? {
        var p = JSONParser(bytes: bytes)
        p.skipSpace()
        guard p.peek == UInt8(ascii: "{"), case .object(let o)? = p.value() else { return nil }
        p.skipSpace()
        return p.i == bytes.count ? o : nil
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

    private mutating func skipSpace() {
        while let c = peek, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { i += 1 }
    }

    private mutating func literal(_ word: String, _ v: JSONValue) -> JSONValue? {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else { return nil }
        i += w.count
        return v
    }

    private mutating func value() -> JSONValue? {
        skipSpace()
        guard let c = peek else { return nil }
        switch c {
        case UInt8(ascii: "{"): return object()
        case UInt8(ascii: "["): return array()
        case UInt8(ascii: "\""): return string().map { .string($0) }
        case UInt8(ascii: "t"): return literal("true", .bool(true))
        case UInt8(ascii: "f"): return literal("false", .bool(false))
        case UInt8(ascii: "n"): return literal("null", .null)
        default: return number()
        }
    }

    private mutating func object() -> JSONValue? {
        depth += 1
        defer { depth -= 1 }
        guard depth <= 64 else { return nil }
        i += 1
        var o = JSONObject()
        skipSpace()
        if peek == UInt8(ascii: "}") {
            i += 1
            return .object(o)
        }
        while true {
            skipSpace()
            guard peek == UInt8(ascii: "\""), let name = string() else { return nil }
            skipSpace()
            guard peek == UInt8(ascii: ":") else { return nil }
            i += 1
            guard let v = value() else { return nil }
            o[name] = v
            skipSpace()
            if peek == UInt8(ascii: ",") {
                i += 1
            } else if peek == UInt8(ascii: "}") {
                i += 1
                return .object(o)
            } else {
                return nil
            }
        }
    }

    private mutating func array() -> JSONValue? {
        depth += 1
        defer { depth -= 1 }
        guard depth <= 64 else { return nil }
        i += 1
        var items: [JSONValue] = []
        skipSpace()
        if peek == UInt8(ascii: "]") {
            i += 1
            return .array(items)
        }
        while true {
            guard let v = value() else { return nil }
            items.append(v)
            skipSpace()
            if peek == UInt8(ascii: ",") {
                i += 1
            } else if peek == UInt8(ascii: "]") {
                i += 1
                return .array(items)
            } else {
                return nil
            }
        }
    }

    private mutating func hex4() -> UInt32? {
        guard i + 4 <= bytes.count else { return nil }
        var v: UInt32 = 0
        for c in bytes[i..<i + 4] {
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            v = v << 4 | UInt32(d)
        }
        i += 4
        return v
    }

    private mutating func string() -> String? {
        i += 1
        var out = [UInt8]()
        var ascii = true
        while let c = peek {
            i += 1
            switch c {
            case UInt8(ascii: "\""):
                // Valid UTF-8 only (jansson refuses the rest).
                return ascii ? String(decoding: out, as: UTF8.self) : String(validating: out, as: UTF8.self)
            case 0..<0x20: return nil
            case UInt8(ascii: "\\"):
                guard let e = peek else { return nil }
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    guard var scalar = hex4() else { return nil }
                    if scalar >= 0xD800 && scalar < 0xDC00 {
                        guard peek == UInt8(ascii: "\\"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "u") else {
                            return nil
                        }
                        i += 2
                        guard let low = hex4(), low >= 0xDC00 && low < 0xE000 else { return nil }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar), scalar != 0 else { return nil }
                    out += Array(String(Character(u)).utf8)
                    ascii = ascii && scalar < 0x80
                default: return nil
                }
            default:
                ascii = ascii && c < 0x80
                out.append(c)
            }
        }
        return nil
    }

    private mutating func number() -> JSONValue? {
        let start = i
        var isInteger = true
        if peek == UInt8(ascii: "-") { i += 1 }
        guard let first = peek, first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9") else { return nil }
        if first == UInt8(ascii: "0") {
            i += 1
        } else {
            while let c = peek, c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") { i += 1 }
        }
        if peek == UInt8(ascii: ".") {
            isInteger = false
            i += 1
            let digits = i
            while let c = peek, c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") { i += 1 }
            guard i > digits else { return nil }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            isInteger = false
            i += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { i += 1 }
            let digits = i
            while let c = peek, c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") { i += 1 }
            guard i > digits else { return nil }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        // jansson: an integer too large for 64 bits is an error.
        if isInteger { return Int64(text).map { .integer($0) } }
        guard let d = Double(text), d.isFinite else { return nil }
        return .real(d)
    }
}
