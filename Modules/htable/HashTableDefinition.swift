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
        for part in body.split(separator: ";", omittingEmptySubsequences: false) {
            let item = part.trimmingSet(ws)
            if item.isEmpty && body.isEmpty { continue }
            let pieces = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let pname = String(pieces[0].trimmingSet(ws))
            let value = pieces.count > 1 ? String(pieces[1].trimmingSet(ws)) : ""
            func unsigned() throws(FixupError) -> Int {
                guard !value.isEmpty, value.allSatisfy({ (c: Character) in c.isASCIIDigit }), let v = Int(value) else {
                    throw bad
                }
                return v
            }
            switch pname {
            case "dbtable": dbTable = value
            case "cols": columns = value
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
