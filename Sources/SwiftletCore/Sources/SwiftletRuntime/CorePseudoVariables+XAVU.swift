import SwiftletSDK

/// `$xavu(root=>field)` and `$xavu(root)`: Kamailio's xavu lists (unique names, per worker
/// thread, emptied after each received message; see `ScriptXAVU`).
extension CorePseudoVariables {
    /// `$xavu(root=>field)` reads the field (`$null` when there is none), `$xavu(root)` the
    /// root's value (`<<xavu>>` for a root with fields). Assigning replaces the value
    /// (creating the root); `$null` removes the field (or the root).
    static func xavu(_ pv: PseudoVariableName) throws(FixupError) -> PseudoVariable {
        guard let inner = pv.inner?.trimmingCharacters(), !inner.isEmpty else {
            throw FixupError("$xavu needs a name: $xavu(root=>field)")
        }
        guard !inner.contains("[") else { throw FixupError("$xavu takes no index: $xavu(\(inner))") }
        var root = inner
        var field: String?
        if let arrow = inner.firstRange(of: "=>") {
            root = String(inner[..<arrow.lowerBound]).trimmingCharacters()
            let f = String(inner[arrow.upperBound...]).trimmingCharacters()
            guard !f.isEmpty, !f.contains("=>") else { throw FixupError("invalid $xavu(\(inner))") }
            field = f
        }
        guard !root.isEmpty else { throw FixupError("$xavu needs a name: $xavu(root=>field)") }
        return PseudoVariable(
            text: pv.text,
            get: { _ in
                let v = field.map { ScriptXAVU.value(root, $0) } ?? ScriptXAVU.value(root)
                switch v {
                case .int(let i)?: return .int(i)
                case .string(let s)?: return .string(s)
                case .list?: return .string("<<xavu>>")
                case nil: return .null
                }
            },
            set: { _, value in
                let item: XAVP.Value?
                switch value {
                case .null: item = nil
                case .int(let i): item = .int(i)
                case .string(let s): item = .string(s)
                }
                if let field { ScriptXAVU.set(root, field, item) } else { ScriptXAVU.set(root, item) }
                return true
            })
    }
}
