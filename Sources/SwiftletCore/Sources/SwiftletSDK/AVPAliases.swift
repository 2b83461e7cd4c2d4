#if canImport(Glibc)
    import Glibc
#endif

/// Global AVP aliases (Kamailio's `avp_galias`, set with pv's `avp_aliases` parameter):
/// `$avp(alias)` names the AVP the alias stands for. Aliases are set while the configuration
/// loads and only read when pseudo-variables are compiled.
public enum AVPAliases {
    private static let state = AliasState()

    /// Adds the aliases of a definition, `alias=name;alias2=i:5` (Kamailio's
    /// `add_avp_galias_str`): blanks around the parts are allowed; `name` is `s:x`, `i:5` or
    /// `x`. An alias or an AVP name given twice (without regard to case) is an error.
    public static func add(definition: String) throws(FixupError) {
        var entries: [(alias: String, name: String)] = []
        for part in definition.split(separator: ";", omittingEmptySubsequences: false) {
            let p = String(part).trimmingCharacters()
            guard let eq = p.firstIndex(of: "=") else {
                throw FixupError("parse error in <\(definition)>")
            }
            let alias = String(p[..<eq]).trimmingCharacters()
            let name = String(p[p.index(after: eq)...]).trimmingCharacters()
            guard !alias.isEmpty, !name.isEmpty, !alias.contains(where: { $0 == " " || $0 == "\t" }),
                !name.contains(where: { $0 == " " || $0 == "\t" })
            else { throw FixupError("parse error in <\(definition)>") }
            guard let normalized = normalizedName(name) else {
                throw FixupError("<\(name)> not a valid AVP name")
            }
            entries.append((alias, normalized))
        }
        for e in entries {
            try state.add(alias: e.alias, name: e.name)
        }
    }

    /// The AVP name (`s:x` or `i:5`) `alias` stands for; nil when it is not an alias.
    public static func lookup(_ alias: String) -> String? { state.lookup(alias) }

    /// Forgets every alias (a configuration loaded again in the same process, e.g. by tests).
    public static func removeAll() { state.removeAll() }

    /// `s:x` for a string name (`x`, `s:x`), `i:5` for an integer one; nil when invalid.
    static func normalizedName(_ name: String) -> String? {
        let utf8 = Array(name.utf8)
        if utf8.count >= 2, utf8[1] == UInt8(ascii: ":") {
            let rest = String(name.dropFirst(2))
            guard !rest.isEmpty else { return nil }
            switch utf8[0] {
            case UInt8(ascii: "s"), UInt8(ascii: "S"): return "s:" + rest
            case UInt8(ascii: "i"), UInt8(ascii: "I"):
                guard rest.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), UInt32(rest) != nil else { return nil }
                return "i:" + rest
            default: return nil
            }
        }
        return "s:" + name
    }
}

/// The alias table behind `AVPAliases`, under a mutex.
private final class AliasState: @unchecked Sendable {
    private var aliases: [String: String] = [:]
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() { pthread_mutex_init(mutex, nil) }

    private func locked<R>(_ body: () throws(FixupError) -> R) throws(FixupError) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    func add(alias: String, name: String) throws(FixupError) {
        try locked { () throws(FixupError) in
            let key = alias.lowercased()
            let lowered = name.lowercased()
            guard aliases[key] == nil, !aliases.values.contains(where: { $0.lowercased() == lowered }) else {
                throw FixupError("duplicate alias/avp entry \(alias)")
            }
            aliases[key] = name
        }
    }

    func lookup(_ alias: String) -> String? {
        (try? locked { () throws(FixupError) in aliases[alias.lowercased()] }) ?? nil
    }

    func removeAll() { try? locked { () throws(FixupError) in aliases = [:] } }
}
