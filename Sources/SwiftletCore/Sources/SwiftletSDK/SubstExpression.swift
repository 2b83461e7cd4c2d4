#if canImport(Glibc)
    import Glibc
#endif

/// A `/regex/replacement/flags` substitution (Kamailio's `subst_parser` and `subst_str`, used
/// by `{re.subst,...}` and textops' `subst()`): a POSIX extended regular expression; in
/// the replacement `\0`..`\9` insert groups, `\n` `\r` `\t` `\\` `\$` characters, `\u` the
/// request URI in effect and `$...` pseudo-variables; flags `i` (ignore case), `g` (every
/// match), `s` (`.` matches newlines too). Compiled once; thread-safe to apply.
public final class SubstExpression: @unchecked Sendable {
    typealias Part = SubstSyntax<PseudoVariable>.Part

    private var regex = regex_t()
    private let parts: [Part]
    private let global: Bool
    private let groups: Int

    /// Parses `expression`; PVs in the replacement are resolved through `registry`.
    public init(_ expression: String, registry: PseudoVariableRegistry = .shared) throws(FixupError) {
        let syntax = try SubstSyntax<PseudoVariable>(
            parsing: expression, requestURI: true,
            variable: { b, start throws(FixupError) in
                guard let end = PseudoVariableName.end(in: b, from: start) else { return nil }
                return (try registry.compile(String(decoding: b[start..<end], as: UTF8.self)), end)
            },
            failure: { failure in
                switch failure {
                case .tooShort: FixupError("substitution '\(expression)' is too short")
                case .backslashSeparator: FixupError("invalid separator '\\' in '\(expression)'")
                case .noSeparatorAfterRegex, .endsAfterRegex:
                    FixupError("no separator after the regular expression in '\(expression)'")
                case .noSeparatorAfterReplacement: FixupError("no separator after the replacement in '\(expression)'")
                case .unknownFlag(let f):
                    FixupError("unknown flag '\(String(decoding: [f], as: UTF8.self))' in '\(expression)'")
                }
            })
        let pattern = syntax.pattern
        guard regcomp(&regex, pattern, syntax.compileFlags) == 0 else {
            throw FixupError("bad regular expression '\(pattern)' in '\(expression)'")
        }
        groups = syntax.highestGroup
        self.parts = syntax.parts
        self.global = syntax.global
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
