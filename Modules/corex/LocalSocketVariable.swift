import SwiftletSDK

/// `$lsock(match/value/field)` (Kamailio's corex `pv_get_lsock`): a listening socket found by
/// name (`n/s1/...`), listen string (`l/udp:1.2.3.4:5060/...`) or advertised string
/// (`a/...`), then one of its fields by the first letter of the field word: `name`,
/// `listen`, `advertise`, `index`. The expression may hold PVs; it is evaluated per message.
enum LocalSocketVariable {
    static var pseudoVariableClass: PseudoVariableClass { PseudoVariableClass("lsock", make: make) }

    static func make(_ pv: PseudoVariableName) throws(FixupError) -> PseudoVariable {
        guard let inner = pv.inner, !inner.isEmpty else { throw FixupError("$lsock needs an expression") }
        let format: StringFormat
        do {
            format = try StringFormat(parsing: inner)
        } catch {
            throw FixupError("wrong format [\(inner)]")
        }
        return PseudoVariable(text: pv.text, evaluate: { ctx in value(format.render(ctx)) })
    }

    /// The value of one expression: null when no socket matches, an empty string for a
    /// missing name or advertised address; nil (with a log line) for a malformed expression.
    static func value(_ expression: String) -> PVValue? {
        guard let e = Expression(expression) else {
            Log.error("corex", "failed to parse lsock expression [\(expression)]")
            return nil
        }
        let socket: ListeningSocket?
        switch e.match {
        case "n": socket = LocalSockets.find(name: e.value)
        case "l": socket = LocalSockets.find(listen: e.value)
        case "a": socket = LocalSockets.find(advertise: e.value)
        default: socket = LocalSockets.find(index: 0)  // Kamailio never reads the index value
        }
        guard let socket else { return .null }
        switch e.field {
        case "n": return .string(socket.name ?? "")
        case "l": return .string(socket.socketString)
        case "a": return .string(socket.advertisedSocketString ?? "")
        default: return .int(LocalSockets.globalIndex(of: socket))
        }
    }

    /// `m/value/field`: `m` one of n, l, a, i; the field at least two characters starting with
    /// n, l, a or i (Kamailio's `pv_parse_lsock_expr`).
    struct Expression {
        let match: Character
        let value: String
        let field: Character

        init?(_ text: String) {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0].count == 1, let m = parts[0].first, "nlia".contains(m),
                parts[2].count >= 2, let f = parts[2].first, "nlia".contains(f)
            else { return nil }
            match = m
            value = String(parts[1])
            field = f
        }
    }
}
