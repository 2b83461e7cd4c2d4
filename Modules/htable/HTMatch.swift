import SwiftletSDK

/// How items are matched by name or by string value: the operators of `sht_rm_name`,
/// `sht_match_name` and friends (`eq`, `ne`, `re`, `sw`) and the prefixed expressions of
/// `$shtcn`/`$shtcv` (Kamailio's `ht_count_cells_re`).
enum HTMatch {
    /// The text an item is matched on: its name, or its value when it is a string (nil:
    /// an integer value, which no string operator matches).
    static func subject(_ cell: HTCell, byValue: Bool) -> String? {
        guard byValue else { return cell.nameString }
        if case .string(let b) = cell.value { return b.string }
        return nil
    }

    /// Byte-wise equality (Kamailio compares with `strncmp`).
    static func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

    /// A POSIX extended, case-insensitive regular expression (Kamailio's
    /// `REG_EXTENDED|REG_ICASE|REG_NEWLINE`); nil (logged) when it does not compile.
    static func regex(_ pattern: String) -> POSIXRegex? {
        do {
            return try POSIXRegex(pattern)
        } catch {
            Log.error("htable", "bad re \(pattern)")
            return nil
        }
    }

    /// A predicate for operator `op` (`eq`, `ne`, `re`, `sw`) and `value`; nil for an
    /// unknown operator or a bad expression.
    static func predicate(_ op: String, _ value: String, byValue: Bool) -> ((HTCell) -> Bool)? {
        switch op {
        case "eq": return { subject($0, byValue: byValue).map { same($0, value) } ?? false }
        case "ne": return { cell in subject(cell, byValue: byValue).map { !same($0, value) } ?? false }
        case "sw": return { subject($0, byValue: byValue)?.utf8.starts(with: value.utf8) ?? false }
        case "re":
            guard let re = regex(value) else { return nil }
            return { cell in subject(cell, byValue: byValue).map { re.matches($0) } ?? false }
        default: return nil
        }
    }

    /// `$shtcn(t=>expr)` / `$shtcv(t=>expr)`: how many items match `expr`, which is a
    /// regular expression, or `~~regex`, `~%suffix`, `%~prefix`, `==string`, `eqNUMBER`
    /// (integer values, `$shtcv` only), `**` (every item).
    static func count(_ table: HashTable, _ expr: String, byValue: Bool) -> Int {
        guard !expr.isEmpty else { return 0 }
        let operators = ["~~", "~%", "%~", "==", "eq", "**"]
        let prefix = String(expr.prefix(2))
        guard operators.contains(prefix) else {
            guard let re = regex(expr) else { return 0 }
            return table.count { cell in subject(cell, byValue: byValue).map { re.matches($0) } ?? false }
        }
        if prefix == "**" { return table.count }
        let operand = String(expr.dropFirst(2))
        guard !operand.isEmpty else { return 0 }
        switch prefix {
        case "~~":
            guard let re = regex(operand) else { return 0 }
            return table.count { cell in subject(cell, byValue: byValue).map { re.matches($0) } ?? false }
        case "~%":
            return table.count {
                subject($0, byValue: byValue)?.utf8.reversed().starts(with: operand.utf8.reversed()) ?? false
            }
        case "%~": return table.count { subject($0, byValue: byValue)?.utf8.starts(with: operand.utf8) ?? false }
        case "==": return table.count { subject($0, byValue: byValue).map { same($0, operand) } ?? false }
        default:
            // eq: integer values equal to the number (by name it counts nothing).
            guard byValue else { return 0 }
            let number = Int(operand) ?? 0
            return table.count { cell in
                if case .int(let n) = cell.value { return n == number }
                return false
            }
        }
    }
}
