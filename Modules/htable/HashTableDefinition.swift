import SwiftletSDK

/// One `modparam("htable", "htable", "name=>size=8;autoexpire=300;...")` definition
/// (Kamailio's `ht_table_spec`): `size` is the exponent of the slot count (2^size; 1 or
/// less gives 8 slots, more than 31 gives 2^14), `autoexpire` seconds (0: items never
/// expire), `initval` the value of missing items for `$sht`/`$shtinc`, `updateexpire`
/// (default 1) renews the expiry on every write, `dbtable`/`dbmode`/`cols` the database
/// table, `dmqreplicate` DMQ replication.
struct HashTableDefinition: Equatable {
    var name: String
    var size = 4
    var autoexpire = 0
    var initialValue: Int? = nil
    var updateExpire = true
    var dbTable = ""
    var dbMode = 0
    var columns = ""
    var dmqReplicate = 0

    /// The number of slots Kamailio's `ht_add_table` gives for `size`.
    var slotCount: Int { size <= 1 ? 8 : size > 31 ? 1 << 14 : 1 << size }

    init(parsing spec: String) throws(FixupError) {
        let bad = FixupError("invalid htable parameter [\(spec)]")
        let ws: Set<Character> = [" ", "\t", "\n", "\r"]
        guard let (before, after) = Substring(spec).splitAtArrow() else { throw bad }
        let key = before.trimmingSet(ws)
        guard !key.isEmpty, !key.contains(where: { ws.contains($0) || $0 == "=" }) else { throw bad }
        name = String(key)
        var body = after.trimmingSet(ws)
        if body.hasSuffix(";") { body = body.dropLast() }
        for part in body.splitOutsideQuotes(";") {
            let item = part.trimmingSet(ws)
            if item.isEmpty && body.isEmpty { continue }
            let pieces = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let pname = String(pieces[0].trimmingSet(ws))
            var value = pieces.count > 1 ? String(pieces[1].trimmingSet(ws)) : ""
            // A quoted value (cols='a,b'), as a SIP parameter.
            if value.count >= 2, let q = value.first, q == "'" || q == "\"", value.last == q {
                value = String(value.dropFirst().dropLast())
            }
            func unsigned() throws(FixupError) -> Int {
                guard !value.isEmpty, value.allSatisfy({ (c: Character) in c.isASCIIDigit }), let v = Int(value) else {
                    throw bad
                }
                return v
            }
            switch pname {
            case "dbtable": dbTable = value
            case "cols":
                let names = value.split(separator: ",", omittingEmptySubsequences: false)
                guard names.count >= 2, names.count <= 8 else {
                    throw FixupError("htable [\(name)]: cols needs two to eight columns (prefix, value)")
                }
                columns = value
            case "autoexpire": autoexpire = try unsigned()
            case "size": size = try unsigned()
            case "dbmode": dbMode = try unsigned()
            case "initval":
                var digits = Substring(value)
                if digits.first == "+" { digits = digits.dropFirst() }
                guard let v = Int(digits), !digits.hasPrefix("+") else { throw bad }
                initialValue = v
            case "updateexpire": updateExpire = try unsigned() != 0
            case "dmqreplicate": dmqReplicate = try unsigned()
            default: throw bad
            }
        }
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension Substring {
    /// Parts between `separator`s that are not inside single or double quotes.
    func splitOutsideQuotes(_ separator: Character) -> [Substring] {
        var parts: [Substring] = []
        var start = startIndex
        var quote: Character? = nil
        var i = startIndex
        while i < endIndex {
            let c = self[i]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "'" || c == "\"" {
                quote = c
            } else if c == separator {
                parts.append(self[start..<i])
                start = index(after: i)
            }
            i = index(after: i)
        }
        parts.append(self[start..<endIndex])
        return parts
    }

    /// The text before and after the first `=>`, nil when there is none.
    func splitAtArrow() -> (Substring, Substring)? {
        var i = startIndex
        while i < endIndex {
            let next = index(after: i)
            if self[i] == "=", next < endIndex, self[next] == ">" { return (self[..<i], self[index(after: next)...]) }
            i = next
        }
        return nil
    }

    func trimmingSet(_ set: Set<Character>) -> Substring {
        var s = self
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return s
    }
}

extension String {
    func trimmingSet(_ set: Set<Character>) -> Substring { Substring(self).trimmingSet(set) }
}
