import SwiftletSDK

/// The name of a `$redis(...)` reference, parsed once at start-up as Kamailio's
/// `pv_parse_redisc_name`: `r=>value`, `r=>type`, `r=>info`, `r=>size`, `r=>value[n]`,
/// `r=>type[n]`, and nested arrays `r=>value[0]=>value[1]` (n an integer or a PV).
struct RedisReplyPath {
    enum Key: Equatable {
        case type, value, info, size
    }

    /// The reply container (`redis_cmd`'s last parameter).
    let reply: String
    /// Keys in order; all but the last are `value[n]` steps into arrays.
    let keys: [(key: Key, position: IntParameter?)]

    init(parsing text: String, registry: PseudoVariableRegistry) throws(FixupError) {
        let s = Substring(text).trimmingSpaces()
        let chars = Array(s)
        guard let at = chars.indices.dropLast().first(where: { chars[$0] == "=" && chars[$0 + 1] == ">" }) else {
            throw FixupError("invalid var spec [\(text)]")
        }
        let name = Substring(String(chars[..<at])).trimmingSpaces()
        guard !name.isEmpty else { throw FixupError("invalid var spec [\(text)]") }
        reply = name
        var keys: [(Key, IntParameter?)] = []
        var rest = Substring(String(chars[(at + 2)...]))
        while true {
            rest = Substring(rest.trimmingSpaces())
            let key: Key
            if rest.hasPrefix("value") {
                key = .value
                rest = rest.dropFirst(5)
            } else if rest.hasPrefix("type") {
                key = .type
                rest = rest.dropFirst(4)
            } else if rest == "info" {
                key = .info
                rest = ""
            } else if rest == "size" {
                key = .size
                rest = ""
            } else {
                throw FixupError("invalid key spec in [\(text)]")
            }
            var position: IntParameter?
            if !rest.isEmpty {
                rest = Substring(rest.trimmingSpaces())
                guard rest.first == "[", let close = rest.firstIndex(of: "]") else {
                    throw FixupError("invalid key spec in [\(text)]")
                }
                let index = rest[rest.index(after: rest.startIndex)..<close].trimmingSpaces()
                guard !index.isEmpty else { throw FixupError("invalid key spec in [\(text)]") }
                if index.hasPrefix("$") {
                    position = .dynamic(try StringFormat(parsing: index, registry: registry))
                } else {
                    guard let n = Int(index) else { throw FixupError("bad number <\(index)> in [\(text)]") }
                    position = .constant(n)
                }
                rest = rest[rest.index(after: close)...]
            }
            keys.append((key, position))
            if rest.isEmpty { break }
            // Only `value[n]` may be followed by another key (an element that is an array).
            guard key == .value, position != nil, rest.hasPrefix("=>") else {
                throw FixupError("invalid key spec in [\(text)]")
            }
            rest = rest.dropFirst(2)
            guard keys.count <= 8 else { throw FixupError("Too many nested fields in [\(text)]") }
        }
        self.keys = keys
    }

    /// The value for `reply` (Kamailio's `pv_get_redisc`); null where Kamailio gives null.
    func value(_ reply: RedisReply, _ ctx: MessageContext) -> PVValue {
        var current = reply
        for step in keys.dropLast() {
            guard let n = step.position?.value(ctx), case .array(let items) = current, n >= 0, n < items.count
            else { return .null }
            current = items[n]
        }
        let last = keys[keys.count - 1]
        let position = last.position.map { $0.value(ctx) ?? -1 } ?? -1
        switch last.key {
        case .value:
            switch current {
            case .string, .integer:
                guard position == -1 else { return .null }
                return Self.scalar(current)
            case .array(let items):
                guard position >= 0, position < items.count else { return .null }
                return Self.scalar(items[position])
            default: return .null
            }
        case .info:
            return current.text.map(PVValue.string) ?? .null
        case .size:
            if case .array(let items) = current { return .int(items.count) }
            return .null
        case .type:
            if position == -1 { return .int(current.typeCode) }
            guard case .array(let items) = current, position >= 0, position < items.count else { return .null }
            return .int(items[position].typeCode)
        }
    }

    private static func scalar(_ r: RedisReply) -> PVValue {
        switch r {
        case .string(let b): .string(String(decoding: b, as: UTF8.self))
        case .integer(let i): .int(i)
        default: .null
        }
    }
}
