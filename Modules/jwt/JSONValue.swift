/// A JSON value as libjwt's JSON library (jansson) holds it: numbers without a fraction or
/// exponent are integers, the others reals, and an integer never equals a real (`json_equal`).
/// Objects keep their members in order; a repeated name replaces the earlier value.
indirect enum JSONValue: Equatable {
    case string(String)
    case integer(Int64)
    case real(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object(JSONObject)
}

/// A JSON object: members in order, names unique.
struct JSONObject: Equatable {
    /// One name and its value.
    struct Member {
        let name: String
        var value: JSONValue
    }

    private(set) var members: [Member] = []

    subscript(name: String) -> JSONValue? {
        get { members.first { $0.name == name }?.value }
        set {
            if let i = members.firstIndex(where: { $0.name == name }) {
                if let newValue { members[i].value = newValue } else { members.remove(at: i) }
            } else if let newValue {
                members.append(Member(name: name, value: newValue))
            }
        }
    }

    /// Equal as jansson's `json_equal`: the same names with equal values, in any order.
    static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.members.count == b.members.count && a.members.allSatisfy { b[$0.name] == $0.value }
    }

    /// Compact JSON with the names sorted (jansson's `JSON_COMPACT | JSON_SORT_KEYS`, as libjwt
    /// writes a token's header and claims).
    var serialized: [UInt8] {
        var out = [UInt8]()
        JSONValue.object(self).write(into: &out)
        return out
    }
}

extension JSONValue {
    /// Appends compact JSON, object members sorted by name (jansson's escaping: `"`, `\`
    /// and control characters; UTF-8 as it is).
    func write(into out: inout [UInt8]) {
        switch self {
        case .string(let s): JSONValue.writeString(s, into: &out)
        case .integer(let i): out += Array(String(i).utf8)
        case .real(let d): out += Array("\(d)".utf8)  // never written by this module: claims are strings or integers
        case .bool(let b): out += Array((b ? "true" : "false").utf8)
        case .null: out += Array("null".utf8)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            for (i, member) in object.members.sorted(by: { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) })
                .enumerated()
            {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeString(member.name, into: &out)
                out.append(UInt8(ascii: ":"))
                member.value.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static let hex = Array("0123456789abcdef".utf8)

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x08: out += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x0C: out += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                out += Array("\\u00".utf8)
                out += [hex[Int(c >> 4)], hex[Int(c & 0xF)]]
            default: out.append(c)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
