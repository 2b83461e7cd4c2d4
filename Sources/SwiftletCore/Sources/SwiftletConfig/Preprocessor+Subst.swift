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

    typealias Part = SubstSyntax<Never>.Part

    private var regex = regex_t()
    private let parts: [Part]
    private let global: Bool
    private let groups: Int

    init(_ expression: String) throws(ParseError) {
        let syntax = try SubstSyntax<Never>(parsing: expression) { failure in
            switch failure {
            case .tooShort: ParseError(message: "too short")
            case .backslashSeparator: ParseError(message: "'\\' cannot be the separator")
            case .noSeparatorAfterRegex: ParseError(message: "no separator after the regular expression")
            case .endsAfterRegex, .noSeparatorAfterReplacement:
                ParseError(message: "no separator after the replacement")
            case .unknownFlag(let f): ParseError(message: "unknown flag '\(String(decoding: [f], as: UTF8.self))'")
            }
        }
        let pattern = syntax.pattern
        guard regcomp(&regex, pattern, syntax.compileFlags) == 0 else {
            throw ParseError(message: "bad regular expression '\(pattern)'")
        }
        // A reference to a group the expression does not have is replaced by nothing.
        groups = max(Int(regex.re_nsub), syntax.highestGroup)
        self.parts = syntax.parts
        self.global = syntax.global
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
                case .group, .requestURI, .variable: break
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
        guard let nameEnd = SubstSyntax<Never>.unescapedSeparator(b, from: 1),
            let valueEnd = SubstSyntax<Never>.unescapedSeparator(b, from: nameEnd + 1)
        else { return ("", "") }
        return (
            String(decoding: b[1..<nameEnd], as: UTF8.self),
            String(decoding: b[(nameEnd + 1)..<valueEnd], as: UTF8.self)
        )
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
