/// The bencode values of rtpengine's ng protocol: byte strings, integers, lists and
/// dictionaries (keys in insertion order when encoding, as Kamailio's bencode.c writes them).
enum Bencode {
    case string([UInt8])
    case integer(Int)
    case list([Bencode])
    /// Keys and values in order.
    case dictionary(keys: [String], values: [Bencode])

    /// A dictionary of `members` in their order.
    static func dictionary(_ members: [(String, Bencode)]) -> Bencode {
        .dictionary(keys: members.map(\.0), values: members.map(\.1))
    }

    /// A string value from text.
    static func text(_ s: String) -> Bencode { .string(Array(s.utf8)) }

    /// The encoded bytes.
    var encoded: [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }

    func encode(into out: inout [UInt8]) {
        switch self {
        case .string(let b):
            out += Array(String(b.count).utf8)
            out.append(UInt8(ascii: ":"))
            out += b
        case .integer(let i):
            out += Array("i\(i)e".utf8)
        case .list(let items):
            out.append(UInt8(ascii: "l"))
            for i in items { i.encode(into: &out) }
            out.append(UInt8(ascii: "e"))
        case .dictionary(let keys, let values):
            out.append(UInt8(ascii: "d"))
            for (k, v) in zip(keys, values) {
                Bencode.text(k).encode(into: &out)
                v.encode(into: &out)
            }
            out.append(UInt8(ascii: "e"))
        }
    }

    /// Decodes one value that fills `bytes`; nil when they are not bencode.
    static func decode(_ bytes: ArraySlice<UInt8>) -> Bencode? {
        var i = bytes.startIndex
        guard let v = decode(bytes, &i, depth: 0), i == bytes.endIndex else { return nil }
        return v
    }

    private static func decode(_ b: ArraySlice<UInt8>, _ i: inout Int, depth: Int) -> Bencode? {
        guard i < b.endIndex, depth < 64 else { return nil }
        switch b[i] {
        case UInt8(ascii: "i"):
            i += 1
            guard let end = b[i...].firstIndex(of: UInt8(ascii: "e")),
                let n = Int(String(decoding: b[i..<end], as: UTF8.self))
            else { return nil }
            i = end + 1
            return .integer(n)
        case UInt8(ascii: "l"):
            i += 1
            var items: [Bencode] = []
            while i < b.endIndex, b[i] != UInt8(ascii: "e") {
                guard let v = decode(b, &i, depth: depth + 1) else { return nil }
                items.append(v)
            }
            guard i < b.endIndex else { return nil }
            i += 1
            return .list(items)
        case UInt8(ascii: "d"):
            i += 1
            var members: [(String, Bencode)] = []
            while i < b.endIndex, b[i] != UInt8(ascii: "e") {
                guard case .string(let k)? = decode(b, &i, depth: depth + 1),
                    let v = decode(b, &i, depth: depth + 1)
                else { return nil }
                members.append((String(decoding: k, as: UTF8.self), v))
            }
            guard i < b.endIndex else { return nil }
            i += 1
            return .dictionary(keys: members.map(\.0), values: members.map(\.1))
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            guard let colon = b[i...].firstIndex(of: UInt8(ascii: ":")),
                let n = Int(String(decoding: b[i..<colon], as: UTF8.self)), n >= 0, colon + 1 + n <= b.endIndex
            else { return nil }
            i = colon + 1 + n
            return .string(Array(b[(colon + 1)..<i]))
        default:
            return nil
        }
    }

    /// The member `key` of a dictionary.
    subscript(key: String) -> Bencode? {
        if case .dictionary(let keys, let values) = self, let i = keys.firstIndex(of: key) { return values[i] }
        return nil
    }

    /// A string value as text.
    var stringValue: String? {
        if case .string(let b) = self { return String(decoding: b, as: UTF8.self) }
        return nil
    }

    /// An integer value.
    var intValue: Int? {
        if case .integer(let i) = self { return i }
        return nil
    }
}

extension Array where Element == UInt8 {
    /// The text of `range`.
    func text(_ range: Range<Int>) -> String { String(decoding: self[range], as: UTF8.self) }
}
