import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// One line of an allow or deny file (Kamailio's `rule`): `left : right`, each a list of
/// regular expressions (nil: `ALL`), with the ` EXCEPT ` lists.
struct PermissionRule: @unchecked Sendable {
    var left: [POSIXRegex]?
    var leftExceptions: [POSIXRegex]
    var right: [POSIXRegex]?
    var rightExceptions: [POSIXRegex]

    /// `search_rule` for this rule.
    func matches(_ l: String, _ r: String) -> Bool {
        (left.map { Self.any($0, l) } ?? true) && !Self.any(leftExceptions, l)
            && (right.map { Self.any($0, r) } ?? true) && !Self.any(rightExceptions, r)
    }

    static func any(_ list: [POSIXRegex], _ s: String) -> Bool { list.contains { $0.matches(s) } }
}

/// An allow file and a deny file used together (`perm_allow[i]`, `perm_deny[i]`); rules nil
/// when the file was not found or has no valid rule.
struct RuleFilePair: @unchecked Sendable {
    var allowPath: String?
    var allow: [PermissionRule]?
    var denyPath: String?
    var deny: [PermissionRule]?

    /// `search_rule` over the allow (or deny) rules.
    static func search(_ rules: [PermissionRule]?, _ l: String, _ r: String) -> Bool {
        rules?.contains { $0.matches(l, r) } ?? false
    }

    var isEmpty: Bool { allow == nil && deny == nil }
}

/// Kamailio's `parse_config.c`.
enum RuleFileParser {
    /// `LINE_LENGTH` and `EXPRESSION_LENGTH` of rule.h.
    static let lineLength = 500
    static let expressionLength = 256

    /// `parse_config_file`: the valid lines' rules, nil when the file cannot be opened or
    /// has none.
    static func parse(file path: String) -> [PermissionRule]? {
        guard let f = fopen(path, "r") else {
            Log.info("permissions", "file not found: \(path)")
            return nil
        }
        defer { fclose(f) }
        var rules: [PermissionRule] = []
        var buffer = [CChar](repeating: 0, count: lineLength + 1)
        while fgets(&buffer, Int32(lineLength), f) != nil {
            if let r = parseLine(Array(String(cString: buffer).utf8)) { rules.append(r) }
        }
        return rules.isEmpty ? nil : rules
    }

    /// `parse_config_line`: the last `:` outside quotes splits the line (up to `#` outside
    /// quotes or the line end); nil for an empty, comment or invalid line.
    static func parseLine(_ line: [UInt8]) -> PermissionRule? {
        var i = 0
        var quoted = false
        var colon = -1
        var seen = false
        scan: while i < line.count {
            switch line[i] {
            case UInt8(ascii: "\""):
                quoted.toggle()
                seen = true
            case UInt8(ascii: ":"):
                if !quoted { colon = i }
                seen = true
            case UInt8(ascii: "#"):
                if !quoted { break scan }
                seen = true
            case 10, 0: break scan
            case 32, 9: break
            default: seen = true
            }
            i += 1
        }
        guard seen else { return nil }
        guard colon > 0, colon + 1 < i else {
            Log.error("permissions", "failed to parse line: \(String(decoding: line, as: UTF8.self))")
            return nil
        }
        guard let (left, leftExceptions) = parseExpression(Array(line[0..<colon])),
            let (right, rightExceptions) = parseExpression(Array(line[(colon + 1)..<i]))
        else {
            Log.error("permissions", "failed to parse line: \(String(decoding: line, as: UTF8.self))")
            return nil
        }
        return PermissionRule(
            left: left, leftExceptions: leftExceptions, right: right, rightExceptions: rightExceptions)
    }

    /// `parse_expression`: `list [EXCEPT list]`; `ALL` is nil (any value).
    static func parseExpression(_ text: [UInt8]) -> ([POSIXRegex]?, [POSIXRegex])? {
        var main = String(decoding: text, as: UTF8.self)
        var exceptions: [POSIXRegex] = []
        let except = Array(" EXCEPT ".utf8)
        if let at = text.indices.first(where: { text[$0...].starts(with: except) }) {
            main = String(decoding: text[..<at], as: UTF8.self)
            guard let e = parseList(Array(text[(at + except.count)...])) else { return nil }
            exceptions = e
        }
        let trimmed = main.trimmingCharacters(in: " \t\r\n\u{0B}\u{0C}")
        if trimmed == "ALL" { return (nil, exceptions) }
        guard let list = parseList(Array(trimmed.utf8)) else { return nil }
        return (list, exceptions)
    }

    /// `parse_expression_list`: comma-separated words (commas inside quotes kept), each
    /// without surrounding blanks and one pair of quotes, compiled as extended,
    /// case-insensitive regular expressions; nil when a word is empty or does not compile.
    static func parseList(_ s: [UInt8]) -> [POSIXRegex]? {
        var out: [POSIXRegex] = []
        var start = 0
        var quoted = false
        var i = 0
        while true {
            let c: UInt8 = i < s.count ? s[i] : 0
            if c == UInt8(ascii: "\"") {
                quoted.toggle()
            } else if (c == UInt8(ascii: ",") && !quoted) || c == 0 {
                while start < s.count, s[start] == 32 || s[start] == 9 { start += 1 }
                if start < s.count, s[start] == UInt8(ascii: "\"") { start += 1 }
                var j = i - 1
                while j > 0, s[j] == 32 || s[j] == 9 { j -= 1 }
                if j > 0, s[j] == UInt8(ascii: "\"") { j -= 1 }
                guard start <= j, j - start + 2 <= expressionLength else { return nil }
                let word = String(decoding: s[start...j], as: UTF8.self)
                guard let re = try? POSIXRegex(word, flags: REG_EXTENDED | REG_ICASE) else {
                    Log.error("permissions", "bad regular expression: \(word)")
                    return nil
                }
                out.append(re)
                start = i + 1
            }
            if c == 0 { break }
            i += 1
        }
        return out
    }
}

extension String {
    /// The string without the given characters at both ends.
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
