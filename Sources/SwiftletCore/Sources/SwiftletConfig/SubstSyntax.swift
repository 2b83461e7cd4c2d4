#if canImport(Glibc)
    import Glibc
#endif

/// The parsed text of a `/regex/replacement/flags` substitution (Kamailio's `subst_parser`),
/// shared by the preprocessor's `#!subst` rules and SwiftletSDK's `SubstExpression`. The first
/// character is the separator (any but `\`; a separator preceded by `\` does not count); the
/// regular expression is POSIX extended; in the replacement `\0`..`\9` are groups, `\n` `\r`
/// `\t` control characters, `\u` the request URI (when the caller asks for it) and any other
/// escaped character stands for itself; `$...` is a pseudo-variable when the caller gives a
/// `variable` parser. Flags: `i` (ignore case), `g` (every match), `s` (`.` matches newlines).
/// The regular expression is not compiled here: `pattern` and `compileFlags` go to `regcomp`.
public struct SubstSyntax<Variable> {
    /// A piece of the replacement.
    public enum Part {
        case text([UInt8])
        /// `\0`..`\9`.
        case group(Int)
        /// `\u`, only when parsed with `requestURI: true`.
        case requestURI
        /// A pseudo-variable, as the caller's `variable` parser returned it.
        case variable(Variable)
    }

    /// What is wrong with an expression; each caller words its own message.
    public enum Failure: Error, Equatable {
        /// Fewer than 3 characters.
        case tooShort
        /// `\` is the separator.
        case backslashSeparator
        /// The regular expression has no closing separator.
        case noSeparatorAfterRegex
        /// The closing separator of the regular expression is the last character.
        case endsAfterRegex
        /// The replacement has no closing separator.
        case noSeparatorAfterReplacement
        /// A flag other than `i`, `g`, `s`.
        case unknownFlag(UInt8)
    }

    /// The regular expression, without its separators.
    public let pattern: String
    /// The `regcomp` flags: `REG_EXTENDED`, `REG_NEWLINE` unless `s`, `REG_ICASE` with `i`.
    public let compileFlags: Int32
    /// The `g` flag: replace every match, not only the first.
    public let global: Bool
    /// The replacement.
    public let parts: [Part]

    /// The highest group the replacement refers to (0 when none).
    public var highestGroup: Int {
        parts.reduce(0) { if case .group(let g) = $1 { max($0, g) } else { $0 } }
    }

    /// Parses `expression`. `variable` is called at each `$` of the replacement with the bytes
    /// of the whole expression and the position of the `$`: it returns the pseudo-variable and
    /// the position after it, or nil to keep the `$` as text; without it `$` is text. Errors of
    /// the syntax are thrown as `failure(...)`, those of `variable` as they are, in the order
    /// they are met.
    public init<E: Error>(
        parsing expression: String,
        requestURI: Bool = false,
        variable: ((_ bytes: [UInt8], _ start: Int) throws(E) -> (Variable, end: Int)?)? = nil,
        failure: (Failure) -> E
    ) throws(E) {
        let b = Array(expression.utf8)
        guard b.count >= 3 else { throw failure(.tooShort) }
        let separator = b[0]
        guard separator != UInt8(ascii: "\\") else { throw failure(.backslashSeparator) }
        guard let reEnd = Self.unescapedSeparator(b, from: 1) else { throw failure(.noSeparatorAfterRegex) }
        guard reEnd + 1 < b.count else { throw failure(.endsAfterRegex) }
        var parts: [Part] = []
        var literal: [UInt8] = []
        func flush() {
            if !literal.isEmpty { parts.append(.text(literal)) }
            literal = []
        }
        var i = reEnd + 1
        var replEnd: Int? = nil
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\\"), i + 1 < b.count {
                i += 1
                switch b[i] {
                case UInt8(ascii: "n"): literal.append(10)
                case UInt8(ascii: "r"): literal.append(13)
                case UInt8(ascii: "t"): literal.append(9)
                case UInt8(ascii: "u") where requestURI:
                    flush()
                    parts.append(.requestURI)
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    flush()
                    parts.append(.group(Int(b[i] - 48)))
                default: literal.append(b[i])  // \\ \/ \$ and unknown escapes keep the character
                }
                i += 1
            } else if c == separator {
                replEnd = i
                break
            } else if c == UInt8(ascii: "$"), let variable, let (v, end) = try variable(b, i) {
                flush()
                parts.append(.variable(v))
                i = end
            } else {
                literal.append(c)
                i += 1
            }
        }
        guard let replEnd else { throw failure(.noSeparatorAfterReplacement) }
        flush()
        var flags = REG_EXTENDED | REG_NEWLINE
        var global = false
        for f in b[(replEnd + 1)...] {
            switch f {
            case UInt8(ascii: "i"): flags |= REG_ICASE
            case UInt8(ascii: "s"): flags &= ~REG_NEWLINE
            case UInt8(ascii: "g"): global = true
            default: throw failure(.unknownFlag(f))
            }
        }
        self.pattern = String(decoding: b[1..<reEnd], as: UTF8.self)
        self.compileFlags = flags
        self.global = global
        self.parts = parts
    }

    /// The index of the next `b[0]` (the separator) not preceded by a backslash, from `start`.
    public static func unescapedSeparator(_ b: [UInt8], from start: Int) -> Int? {
        var i = start
        while i < b.count {
            if b[i] == b[0], b[i - 1] != UInt8(ascii: "\\") { return i }
            i += 1
        }
        return nil
    }
}
