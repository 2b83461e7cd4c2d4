#if canImport(Glibc)
    import Glibc
#endif

/// A `#!subst "/regex/replacement/flags"` rule (Kamailio's `subst_parser`): a POSIX extended
/// regular expression, a replacement with `\0`..`\9` back-references and `\n`, `\r`, `\t`,
/// `\\` escapes, and the flags `i` (ignore case), `g` (every match) and `s` (`.` matches a
/// newline). Kamailio evaluates pseudo-variables and `\u` (the request URI) in the
/// replacement against an empty message; here a `$` is kept as text and `\u` gives `u`.
final class SubstRule {
    struct ParseError: Error {
        let message: String
    }

    enum Part {
        case text([UInt8])
        case group(Int)
    }

    private var regex = regex_t()
    private let parts: [Part]
    private let global: Bool
    private let groups: Int

    init(_ expression: String) throws(ParseError) {
        let b = Array(expression.utf8)
        guard b.count >= 3 else { throw ParseError(message: "too short") }
        let separator = b[0]
        guard separator != UInt8(ascii: "\\") else { throw ParseError(message: "'\\' cannot be the separator") }
        guard let reEnd = SubstRule.unescapedSeparator(b, from: 1) else {
            throw ParseError(message: "no separator after the regular expression")
        }
        var parts: [Part] = []
        var literal: [UInt8] = []
        var i = reEnd + 1
        var replEnd: Int? = nil
        while i < b.count {
            let c = b[i]
            if c == separator {
                replEnd = i
                break
            }
            if c == UInt8(ascii: "\\"), i + 1 < b.count {
                i += 1
                switch b[i] {
                case UInt8(ascii: "n"): literal.append(10)
                case UInt8(ascii: "r"): literal.append(13)
                case UInt8(ascii: "t"): literal.append(9)
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    if !literal.isEmpty { parts.append(.text(literal)) }
                    literal = []
                    parts.append(.group(Int(b[i] - 48)))
                default: literal.append(b[i])  // \\ \/ \$ and unknown escapes keep the character
                }
            } else {
                literal.append(c)
            }
            i += 1
        }
        guard let replEnd else { throw ParseError(message: "no separator after the replacement") }
        if !literal.isEmpty { parts.append(.text(literal)) }
        var flags = REG_EXTENDED | REG_NEWLINE
        var global = false
        for f in b[(replEnd + 1)...] {
            switch f {
            case UInt8(ascii: "i"): flags |= REG_ICASE
            case UInt8(ascii: "s"): flags &= ~REG_NEWLINE
            case UInt8(ascii: "g"): global = true
            default: throw ParseError(message: "unknown flag '\(String(decoding: [f], as: UTF8.self))'")
            }
        }
        let pattern = String(decoding: b[1..<reEnd], as: UTF8.self)
        guard regcomp(&regex, pattern, flags) == 0 else {
            throw ParseError(message: "bad regular expression '\(pattern)'")
        }
        // A reference to a group the expression does not have is replaced by nothing.
        let highest = parts.reduce(0) { if case .group(let g) = $1 { max($0, g) } else { $0 } }
        groups = max(Int(regex.re_nsub), highest)
        self.parts = parts
        self.global = global
    }

    deinit { regfree(&regex) }

    /// The subject with the first (or with `g` every) match replaced; nil without a match.
    func apply(_ subject: String) -> String? {
        let input = Array(subject.utf8)
        var cString = input.map { CChar(bitPattern: $0) }
        cString.append(0)
        var out: [UInt8] = []
        var matches = [regmatch_t](repeating: regmatch_t(), count: groups + 1)
        var offset = 0
        var flags: Int32 = 0
        var found = false
        repeat {
            let status = cString.withUnsafeBufferPointer { p in
                regexec(&regex, p.baseAddress! + offset, matches.count, &matches, flags)
            }
            guard status == 0 else { break }
            let start = offset + Int(matches[0].rm_so)
            let end = offset + Int(matches[0].rm_eo)
            guard end > start else { return nil }  // Kamailio refuses empty matches
            out += input[offset..<start]
            for part in parts {
                switch part {
                case .text(let t): out += t
                case .group(let g) where matches[g].rm_so >= 0:
                    out += input[(offset + Int(matches[g].rm_so))..<(offset + Int(matches[g].rm_eo))]
                case .group: break
                }
            }
            offset = end
            found = true
            flags = input[end - 1] == 10 || input[end - 1] == 13 ? 0 : REG_NOTBOL
        } while global && offset < input.count
        guard found else { return nil }
        out += input[offset...]
        return String(decoding: out, as: UTF8.self)
    }

    /// The name and value of a `#!substdef "/NAME/value/"` (Kamailio's `pp_substdef_add`).
    static func splitDefinition(_ expression: String) -> (name: String, value: String) {
        let b = Array(expression.utf8)
        guard let nameEnd = unescapedSeparator(b, from: 1),
            let valueEnd = unescapedSeparator(b, from: nameEnd + 1)
        else { return ("", "") }
        return (
            String(decoding: b[1..<nameEnd], as: UTF8.self),
            String(decoding: b[(nameEnd + 1)..<valueEnd], as: UTF8.self)
        )
    }

    /// The index of the next `b[0]` not preceded by a backslash, from `start`.
    private static func unescapedSeparator(_ b: [UInt8], from start: Int) -> Int? {
        var i = start
        while i < b.count {
            if b[i] == b[0], b[i - 1] != UInt8(ascii: "\\") { return i }
            i += 1
        }
        return nil
    }
}

extension Preprocessor {
    /// Runs every `#!subst` rule, in order, over a string.
    func applySubst(_ s: String) -> String {
        var s = s
        for rule in substRules {
            if let r = rule.apply(s) { s = r }
        }
        return s
    }

    /// Reads a whole file; nil when it cannot be opened (or is a directory).
    public static func readFileFromDisk(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        if ferror(f) != 0 { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The process environment (`getenv`).
    public static func processEnvironment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
