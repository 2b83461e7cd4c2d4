import Foundation

/// A JSON-RPC result printed as Kamailio's kamcmd prints binrpc values: strings and numbers
/// on their own line, arrays one element a line, structs as `{` ... `}` with `name: value`
/// lines indented by a tab per level.
enum TextResult {
    static func render(_ value: Any, depth: Int = 0) -> String {
        let indent = String(repeating: "\t", count: depth)
        switch value {
        case let array as [Any]:
            return array.map { render($0, depth: depth) }.joined()
        case let object as [String: Any]:
            var out = indent + "{\n"
            for key in object.keys.sorted() {
                let member = object[key]!
                if member is [String: Any] || member is [Any] {
                    out += indent + "\t" + key + ":\n" + render(member, depth: depth + 1)
                } else {
                    out += indent + "\t" + key + ": " + scalar(member) + "\n"
                }
            }
            return out + indent + "}\n"
        default:
            return indent + scalar(value) + "\n"
        }
    }

    static func scalar(_ value: Any) -> String {
        switch value {
        case is NSNull: return "<null>"
        case let n as NSNumber: return n.stringValue
        default: return "\(value)"
        }
    }
}
