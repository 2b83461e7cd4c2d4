import SwiftletSDK
import SwiftletSIP

/// Builds the JSON object of `sj_serialize` as Kamailio 5.6's `sj_serialize_data`: the
/// attributes every mode has, in its order, then those the mode's letters add.
struct SIPJSONSerializer {
    private let pvs: [String: PseudoVariable]

    init() throws(FixupError) {
        var pvs: [String: PseudoVariable] = [:]
        for name in ["rm", "pr", "si", "sp", "Ri", "Rp", "fU", "fd", "ua", "ci", "rb", "cs", "tU", "td", "rr"] {
            pvs[name] = try PseudoVariableRegistry.shared.compile("$" + name)
        }
        self.pvs = pvs
    }

    /// The value of `$name` as a string, "" when it is null.
    private func string(_ name: String, _ ctx: MessageContext) -> String {
        switch pvs[name]?.get(ctx) ?? .null {
        case .null: ""
        case .int(let i): String(i)
        case .string(let s): s
        }
    }

    private func int(_ name: String, _ ctx: MessageContext) -> Int {
        switch pvs[name]?.get(ctx) ?? .null {
        case .int(let i): i
        case .string(let s): Int(s) ?? 0
        case .null: 0
        }
    }

    /// The serialized object for `mode` (`0` the common attributes, `B` adds the body `rb`,
    /// `c` the CSeq number `cs`, `t` the To user and domain `tU`/`td`).
    func serialize(_ ctx: MessageContext, mode: String) -> String {
        var json = JSONObjectWriter()
        let request = ctx.message.isRequest
        json.add("mt", request ? 2 : 1)
        json.add("rm", string("rm", ctx))
        let proto = string("pr", ctx)
        json.add("pr", proto.isEmpty ? "none" : proto)
        json.add("si", string("si", ctx))
        json.add("sp", int("sp", ctx))
        json.add("Ri", string("Ri", ctx))
        json.add("Rp", int("Rp", ctx))
        if request {
            let ruri = ctx.requestURI ?? ""
            let bytes = Array(ruri.utf8)
            let uri = try? URIComponents.parse(bytes, 0..<bytes.count)
            json.add("ru", uri == nil ? "" : ruri)
            json.add("rU", uri.flatMap { $0.user.map { String(decoding: bytes[$0], as: UTF8.self) } } ?? "")
            json.add("rd", uri.map { String(decoding: bytes[$0.host], as: UTF8.self) } ?? "")
            // Kamailio's parsed port_no: 0 when the URI names no port.
            json.add("rp", uri?.port ?? 0)
            json.add("rs", 0)
            json.add("rr", "")
        } else {
            json.add("ru", "")
            json.add("rU", "")
            json.add("rd", "")
            json.add("rp", 0)
            json.add("rs", ctx.message.statusCode ?? 0)
            json.add("rr", string("rr", ctx))
        }
        json.add("fU", string("fU", ctx))
        json.add("fd", string("fd", ctx))
        json.add("ua", string("ua", ctx))
        json.add("ci", string("ci", ctx))
        for letter in mode {
            switch letter {
            case "B": json.add("rb", string("rb", ctx))
            case "c": json.add("cs", string("cs", ctx))
            case "t":
                json.add("tU", string("tU", ctx))
                json.add("td", string("td", ctx))
            default: break
            }
        }
        return json.text
    }
}

/// A JSON object printed without spaces, members in the order added (Kamailio's
/// `srjson_PrintUnformatted`).
struct JSONObjectWriter {
    private(set) var body = ""

    var text: String { "{" + body + "}" }

    mutating func add(_ name: String, _ value: String) {
        member(name)
        body += Self.quoted(value)
    }

    mutating func add(_ name: String, _ value: Int) {
        member(name)
        body += String(value)
    }

    private mutating func member(_ name: String) {
        if !body.isEmpty { body += "," }
        body += Self.quoted(name) + ":"
    }

    /// A JSON string as cJSON escapes it: quote, backslash, the named control characters and
    /// other control characters as `\u00XX`.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
