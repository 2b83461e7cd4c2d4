import Foundation
import SwiftletSDK

/// JSON-RPC 2.0 documents (what Kamailio's jsonrpcs reads and writes).
enum JSONRPCCodec {
    /// A decoded request, or the error reply to send for a bad document.
    enum Decoded {
        case request(RPCRequest, id: Any?)
        case invalid(id: Any?, RPCError)
    }

    static func decode(_ data: Data) -> Decoded {
        guard let object = try? JSONSerialization.jsonObject(with: data), let doc = object as? [String: Any] else {
            return .invalid(id: nil, RPCError(-32700, "Parse Error"))
        }
        let id = doc["id"]
        guard let method = doc["method"] as? String else {
            return .invalid(id: id, RPCError(-32600, "Invalid Request"))
        }
        var params: [RPCValue] = []
        if let list = doc["params"] as? [Any] {
            params = list.map(value)
        } else if let p = doc["params"], !(p is NSNull) {
            params = [value(p)]
        }
        return .request(RPCRequest(method: method, params: params), id: id)
    }

    /// Converts a decoded JSON value.
    static func value(_ any: Any) -> RPCValue {
        switch any {
        case is NSNull: return .null
        case let n as NSNumber:
            if String(cString: n.objCType) == "c" { return .bool(n.boolValue) }  // JSON true/false
            if n.doubleValue.rounded() == n.doubleValue, abs(n.doubleValue) < 9e15 { return .int(n.intValue) }
            return .double(n.doubleValue)
        case let s as String: return .string(s)
        case let a as [Any]: return .array(a.map(value))
        case let d as [String: Any]: return .object(d.keys.sorted().map { ($0, value(d[$0]!)) })
        default: return .string("\(any)")
        }
    }

    /// The reply document for a result or an error, printed as Kamailio's srjson (cJSON)
    /// prints it: pretty, objects a member a line indented with tabs and `"name":\tvalue`,
    /// arrays on one line (`["a", 1]`); compact, without any white space.
    static func encode(_ result: Result<RPCValue, RPCError>, id: Any?, pretty: Bool) -> Data {
        var members: [(String, RPCValue)] = [("jsonrpc", .string("2.0"))]
        switch result {
        case .success(let v): members.append(("result", v))
        case .failure(let e):
            members.append(("error", .object([("code", .int(e.code)), ("message", .string(e.message))])))
        }
        var out = json(.object(members), pretty: pretty, indent: 0)
        // The id keeps its JSON form (a number as sent, a string, or null).
        out.removeLast(pretty ? 2 : 1)
        out += "," + (pretty ? "\n\t" : "") + "\"id\":" + (pretty ? "\t" : "") + idText(id) + (pretty ? "\n" : "") + "}"
        return Data(out.utf8)
    }

    private static func idText(_ id: Any?) -> String {
        switch id {
        case let n as NSNumber: return n.stringValue
        case let s as String: return quote(s)
        default: return "null"
        }
    }

    /// JSON text of a value at nesting `indent` (cJSON's depth); members keep their order
    /// (`rpc->struct_add` order).
    static func json(_ v: RPCValue, pretty: Bool, indent: Int) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d):
            guard d.isFinite else { return "null" }
            if d.rounded() == d, abs(d) < 1e60 { return String(format: "%.0f", d) }
            return String(format: abs(d) < 1e-6 || abs(d) > 1e9 ? "%e" : "%f", d)
        case .string(let s): return quote(s)
        case .array(let a):
            if a.isEmpty { return "[]" }
            return "[" + a.map { json($0, pretty: pretty, indent: indent + 1) }.joined(separator: pretty ? ", " : ",")
                + "]"
        case .object(let members):
            let tabs = String(repeating: "\t", count: max(0, indent))
            if members.isEmpty { return pretty ? "{\n" + tabs.dropLast() + "}" : "{}" }
            guard pretty else {
                return "{"
                    + members.map { quote($0.0) + ":" + json($0.1, pretty: false, indent: 0) }.joined(separator: ",")
                    + "}"
            }
            let inner = tabs + "\t"
            return "{\n"
                + members.map { inner + quote($0.0) + ":\t" + json($0.1, pretty: true, indent: indent + 1) }.joined(
                    separator: ",\n") + "\n" + tabs + "}"
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
