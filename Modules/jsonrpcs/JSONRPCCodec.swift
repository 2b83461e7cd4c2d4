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

    /// The reply document for a result or an error.
    static func encode(_ result: Result<RPCValue, RPCError>, id: Any?, pretty: Bool) -> Data {
        var out = "{" + (pretty ? "\n\t" : "") + "\"jsonrpc\":" + (pretty ? " " : "") + "\"2.0\","
        out += pretty ? "\n\t" : ""
        switch result {
        case .success(let v): out += "\"result\":" + (pretty ? " " : "") + json(v, pretty: pretty, indent: 1)
        case .failure(let e):
            out +=
                "\"error\":" + (pretty ? " " : "")
                + json(.object([("code", .int(e.code)), ("message", .string(e.message))]), pretty: pretty, indent: 1)
        }
        out += "," + (pretty ? "\n\t" : "") + "\"id\":" + (pretty ? " " : "") + idText(id)
        out += (pretty ? "\n" : "") + "}"
        return Data(out.utf8)
    }

    private static func idText(_ id: Any?) -> String {
        switch id {
        case let n as NSNumber: return n.stringValue
        case let s as String: return quote(s)
        default: return "null"
        }
    }

    /// JSON text of a value; members keep their order (`rpc->struct_add` order).
    static func json(_ v: RPCValue, pretty: Bool, indent: Int) -> String {
        let nl = pretty ? "\n" + String(repeating: "\t", count: indent + 1) : ""
        let close = pretty ? "\n" + String(repeating: "\t", count: indent) : ""
        let sep = pretty ? ": " : ":"
        switch v {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? String(d) : "null"
        case .string(let s): return quote(s)
        case .array(let a):
            if a.isEmpty { return "[]" }
            return "[" + a.map { nl + json($0, pretty: pretty, indent: indent + 1) }.joined(separator: ",") + close
                + "]"
        case .object(let members):
            if members.isEmpty { return "{}" }
            return "{"
                + members.map { nl + quote($0.0) + sep + json($0.1, pretty: pretty, indent: indent + 1) }.joined(
                    separator: ",") + close + "}"
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
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
