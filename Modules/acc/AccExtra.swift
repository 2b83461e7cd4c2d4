import SwiftletSDK

/// One `log_extra` attribute: `name=$pv` (Kamailio's `struct acc_extra`).
struct AccExtra {
    let name: String
    let variable: PseudoVariable

    /// Parses `name=$pv;name2=$pv2` (spaces around the parts allowed).
    static func parse(_ text: String) throws(FixupError) -> [AccExtra] {
        var result: [AccExtra] = []
        for part in text.split(separator: ";") {
            let item = part.accTrimmed(" \t\r\n")
            if item.isEmpty { continue }
            guard let eq = item.firstIndex(of: "=") else {
                throw FixupError("acc: failed to parse extra '\(item)' (expected name=$pv)")
            }
            let name = item[..<eq].accTrimmed(" \t")
            let spec = item[item.index(after: eq)...].accTrimmed(" \t")
            guard !name.isEmpty, spec.hasPrefix("$") else {
                throw FixupError("acc: failed to parse extra '\(item)' (expected name=$pv)")
            }
            result.append(AccExtra(name: name, variable: try PseudoVariableRegistry.shared.compile(spec)))
        }
        return result
    }

    /// The value printed in a log line: empty for `$null`.
    func value(_ ctx: MessageContext) -> String {
        switch variable.value(ctx) ?? .null {
        case .null: ""
        case .int(let i): String(i)
        case .string(let s): s
        }
    }
}

extension Substring {
    func accTrimmed(_ set: String) -> String {
        var s = self[...]
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

extension String {
    func accTrimmed(_ set: String) -> String { self[...].accTrimmed(set) }
}
