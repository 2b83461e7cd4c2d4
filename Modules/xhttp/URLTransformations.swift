import SwiftletSDK

/// The `{url.*}` transformations of xhttp (Kamailio's `xhttp_trans.c`): `{url.path}` is the
/// URL up to `?`, `{url.querystring}` what follows it (empty without one).
enum URLTransformations {
    static func register() {
        PseudoVariableRegistry.shared.transformations.register("url") { name, p in try compile(name, p) }
    }

    static func compile(_ name: String, _ p: TransformationParameters) throws(FixupError) -> TransformationFunction? {
        let query: Bool
        switch name {
        case "path": query = false
        case "querystring": query = true
        default: return nil
        }
        try p.finish()
        return { _, value in
            let text: String
            switch value {
            case .null: return nil
            case .int(let i): text = String(i)
            case .string(let s): text = s
            }
            guard let mark = text.firstIndex(of: "?") else { return .string(query ? "" : text) }
            return .string(query ? String(text[text.index(after: mark)...]) : String(text[..<mark]))
        }
    }
}
