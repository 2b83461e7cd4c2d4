#if canImport(Glibc)
    import Glibc
#endif

/// A `/regex/replacement/flags` substitution (Kamailio's `subst_parser` and `subst_str`, used
/// by `{re.subst,...}` and textops' `subst()`): a POSIX extended regular expression; in
/// the replacement `\0`..`\9` insert groups, `\n` `\r` `\t` `\\` `\$` characters, `\u` the
/// request URI in effect and `$...` pseudo-variables; flags `i` (ignore case), `g` (every
/// match), `s` (`.` matches newlines too). Compiled once; thread-safe to apply.
public final class SubstExpression: @unchecked Sendable {
    enum Part {
        case text([UInt8])
        case group(Int)
        case requestURI
        case variable(PseudoVariable)
    }

    private var regex = regex_t()
    private let parts: [Part]
    private let global: Bool
    private let groups: Int

    /// Parses `expression`; PVs in the replacement are resolved through `registry`.
    public init(_ expression: String, registry: PseudoVariableRegistry = .shared) throws(FixupError) {
        let b = Array(expression.utf8)
        guard b.count >= 3 else { throw FixupError("substitution '\(expression)' is too short") }
        let sep = b[0]
        guard sep != 92 else { throw FixupError("invalid separator '\\' in '\(expression)'") }
        var reEnd = 1
        while reEnd < b.count, !(b[reEnd] == sep && b[reEnd - 1] != 92) { reEnd += 1 }
        guard reEnd < b.count, reEnd + 1 < b.count else {
            throw FixupError("no separator after the regular expression in '\(expression)'")
        }
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
            if c == 92, i + 1 < b.count {
                i += 1
                switch b[i] {
                case UInt8(ascii: "n"): literal.append(10)
                case UInt8(ascii: "r"): literal.append(13)
                case UInt8(ascii: "t"): literal.append(9)
                case UInt8(ascii: "u"):
                    flush()
                    parts.append(.requestURI)
                case 48...57:
                    flush()
                    parts.append(.group(Int(b[i] - 48)))
                default: literal.append(b[i])
                }
                i += 1
            } else if c == sep {
                replEnd = i
                break
            } else if c == UInt8(ascii: "$"), let end = PseudoVariableName.end(in: b, from: i) {
                flush()
                parts.append(.variable(try registry.compile(String(decoding: b[i..<end], as: UTF8.self))))
                i = end
            } else {
                literal.append(c)
                i += 1
            }
        }
        guard let replEnd else { throw FixupError("no separator after the replacement in '\(expression)'") }
        flush()
        var flags = REG_EXTENDED | REG_NEWLINE
        var global = false
        for f in b[(replEnd + 1)...] {
            switch f {
            case UInt8(ascii: "i"): flags |= REG_ICASE
            case UInt8(ascii: "s"): flags &= ~REG_NEWLINE
            case UInt8(ascii: "g"): global = true
            default:
                throw FixupError("unknown flag '\(String(decoding: [f], as: UTF8.self))' in '\(expression)'")
            }
        }
        let pattern = String(decoding: b[1..<reEnd], as: UTF8.self)
        guard regcomp(&regex, pattern, flags) == 0 else {
            throw FixupError("bad regular expression '\(pattern)' in '\(expression)'")
        }
        groups = parts.reduce(0) { if case .group(let g) = $1 { max($0, g) } else { $0 } }
        self.parts = parts
        self.global = global
    }

    deinit { regfree(&regex) }

    public enum Result: Equatable {
        case noMatch
        case replaced(String)
        /// An empty match (Kamailio refuses those).
        case failed
    }

    /// One match of a substitution: the bytes it covers in the input and what replaces them.
    public struct Replacement: Equatable {
        public let range: Range<Int>
        public let bytes: [UInt8]
    }

    /// The matches in `input` (the first, or every one with the `g` flag) with their
    /// replacements (Kamailio's `subst_run`): empty when nothing matches, nil when a match is
    /// empty (Kamailio refuses those). Matching stops at a NUL byte, as in C.
    public func run(_ input: [UInt8], _ ctx: MessageContext) -> [Replacement]? {
        var cString = input.map { CChar(bitPattern: $0) }
        cString.append(0)
        var matches = [regmatch_t](repeating: regmatch_t(), count: groups + 1)
        var result: [Replacement] = []
        var offset = 0
        var eflags: Int32 = 0
        repeat {
            let status = cString.withUnsafeBufferPointer { p in
                regexec(&regex, p.baseAddress! + offset, matches.count, &matches, eflags)
            }
            guard status == 0 else { break }
            let start = offset + Int(matches[0].rm_so)
            let end = offset + Int(matches[0].rm_eo)
            guard end > start else { return nil }
            var out: [UInt8] = []
            for part in parts {
                switch part {
                case .text(let t): out += t
                case .group(let g):
                    if matches[g].rm_so >= 0 {
                        out += input[(offset + Int(matches[g].rm_so))..<(offset + Int(matches[g].rm_eo))]
                    }
                case .requestURI: out += Array((ctx.requestURI ?? "").utf8)
                case .variable(let pv):
                    if let v = pv.value(ctx), v != .null { out += Array(v.printed.utf8) }
                }
            }
            result.append(Replacement(range: start..<end, bytes: out))
            offset = end
            eflags = input[end - 1] == 10 || input[end - 1] == 13 ? 0 : REG_NOTBOL
        } while global
        return result
    }

    /// Applies the substitution to `subject` for a message.
    public func apply(_ subject: String, _ ctx: MessageContext) -> Result {
        let input = Array(subject.utf8)
        guard let replacements = run(input, ctx) else { return .failed }
        guard !replacements.isEmpty else { return .noMatch }
        var out: [UInt8] = []
        var position = 0
        for r in replacements {
            out += input[position..<r.range.lowerBound]
            out += r.bytes
            position = r.range.upperBound
        }
        out += input[position...]
        return .replaced(String(decoding: out, as: UTF8.self))
    }
}
