/// Splits configuration text into tokens, tracking line and column of each.
///
/// Comments: `#` to end of line (but `#!` and `!!` at the start of a line are preprocessor
/// directives), `//` to end of line, and nestable `/* ... */`.
public struct Lexer {
    private let bytes: [UInt8]
    private let file: String
    private var pos = 0
    private var line = 1
    private var lineStart = 0
    /// Problems found while lexing (unterminated strings, stray characters, directives).
    public private(set) var diagnostics: [ConfigDiagnostic] = []

    /// Compatibility markers accepted on a `#!` line and otherwise ignored.
    static let markers: Set<String> = ["KAMAILIO", "OPENSER", "SER", "MAXCOMPAT", "ALL", "SWIFTLET"]
    /// Kamailio's preprocessor directives.
    static let preprocessorDirectives: Set<String> = [
        "define", "trydef", "redefine", "ifdef", "ifndef", "else", "endif", "subst", "substdef", "substdefs",
        "defenv", "defenvs", "trydefenv", "trydefenvs", "include_file", "import_file",
    ]

    public init(text: String, file: String) {
        self.bytes = Array(text.utf8)
        self.file = file
    }

    /// All tokens of the text, ending with `.endOfFile`.
    public mutating func tokenize() -> [Token] {
        var tokens: [Token] = []
        while let t = next() { tokens.append(t) }
        tokens.append(Token(kind: .endOfFile, text: "", location: location(pos), range: pos..<pos))
        return tokens
    }

    private func location(_ offset: Int) -> SourceLocation {
        SourceLocation(file: file, line: line, column: offset - lineStart + 1)
    }

    private func peek(_ k: Int = 0) -> UInt8? { pos + k < bytes.count ? bytes[pos + k] : nil }

    private mutating func advance() {
        if bytes[pos] == 10 {
            line += 1
            lineStart = pos + 1
        }
        pos += 1
    }

    private var atLineStart: Bool {
        var i = pos - 1
        while i >= lineStart, bytes[i] == 32 || bytes[i] == 9 { i -= 1 }
        return i < lineStart
    }

    private mutating func next() -> Token? {
        skipTrivia()
        guard let c = peek() else { return nil }
        let start = pos
        let loc = location(pos)
        func make(_ kind: Token.Kind, _ text: String? = nil) -> Token {
            Token(
                kind: kind, text: text ?? String(decoding: bytes[start..<pos], as: UTF8.self), location: loc,
                range: start..<pos)
        }
        if isIdentStart(c) {
            while let d = peek(), isIdentChar(d) || (d == UInt8(ascii: ".") && peek(1).map(isIdentChar) == true) {
                advance()
            }
            return make(.identifier)
        }
        if isDigit(c) { return lexNumberOrAddress(start, loc) }
        if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") { return lexString(quote: c, start, loc) }
        if c == UInt8(ascii: "$") { return lexPseudoVariable(start, loc) }
        if c == UInt8(ascii: "["), let v6 = lexIPv6(start, loc) { return v6 }
        for op in ["==", "!=", "=~", "<=", ">=", "&&", "||", "<<", ">>", "+="] {
            let u = Array(op.utf8)
            if peek() == u[0], peek(1) == u[1] {
                advance()
                advance()
                return make(.punctuation)
            }
        }
        if "=<>+-*/|&^~!(){}[];,:".utf8.contains(c) {
            advance()
            return make(.punctuation)
        }
        advance()
        diagnostics.append(ConfigDiagnostic("unexpected character '\(String(decoding: [c], as: UTF8.self))'", at: loc))
        return next()
    }

    private mutating func skipTrivia() {
        while let c = peek() {
            if c == 32 || c == 9 || c == 10 || c == 13 {
                advance()
            } else if (c == UInt8(ascii: "#") && peek(1) == UInt8(ascii: "!"))
                || (c == UInt8(ascii: "!") && peek(1) == UInt8(ascii: "!") && atLineStart)
            {
                directive()
            } else if c == UInt8(ascii: "#") || (c == UInt8(ascii: "/") && peek(1) == UInt8(ascii: "/")) {
                while let d = peek(), d != 10 { advance() }
            } else if c == UInt8(ascii: "/") && peek(1) == UInt8(ascii: "*") {
                let loc = location(pos)
                var depth = 0
                repeat {
                    if peek() == UInt8(ascii: "/") && peek(1) == UInt8(ascii: "*") {
                        depth += 1
                        advance()
                    } else if peek() == UInt8(ascii: "*") && peek(1) == UInt8(ascii: "/") {
                        depth -= 1
                        advance()
                    }
                    advance()
                } while depth > 0 && pos < bytes.count
                if depth > 0 { diagnostics.append(ConfigDiagnostic("unterminated comment", at: loc)) }
            } else {
                return
            }
        }
    }

    /// A `#!NAME ...` or `!!NAME ...` line. Compatibility markers are accepted; the other
    /// directives belong to the preprocessor, which reports them before lexing, so one that
    /// reaches the lexer is unknown.
    private mutating func directive() {
        let loc = location(pos)
        advance()
        advance()
        let nameStart = pos
        while let d = peek(), isIdentChar(d) { advance() }
        let name = String(decoding: bytes[nameStart..<pos], as: UTF8.self)
        while let d = peek(), d != 10 { advance() }
        if Lexer.preprocessorDirectives.contains(name) {
            diagnostics.append(ConfigDiagnostic("preprocessor directive '#!\(name)' is not supported yet", at: loc))
        } else if !Lexer.markers.contains(name) {
            diagnostics.append(ConfigDiagnostic("unknown preprocessor directive '#!\(name)'", at: loc))
        }
    }

    private mutating func lexNumberOrAddress(_ start: Int, _ loc: SourceLocation) -> Token {
        if peek() == UInt8(ascii: "0"), peek(1) == UInt8(ascii: "x") || peek(1) == UInt8(ascii: "X") {
            advance()
            advance()
            let s = pos
            while let d = peek(), isHexDigit(d) { advance() }
            let v = Int(String(decoding: bytes[s..<pos], as: UTF8.self), radix: 16) ?? 0
            return Token(
                kind: .integer(v), text: String(decoding: bytes[start..<pos], as: UTF8.self), location: loc,
                range: start..<pos)
        }
        while let d = peek(), isDigit(d) { advance() }
        // An IPv4 literal: four dot-separated groups of digits.
        var groups = 1
        var probe = pos
        while probe < bytes.count, bytes[probe] == UInt8(ascii: "."), probe + 1 < bytes.count, isDigit(bytes[probe + 1])
        {
            probe += 1
            while probe < bytes.count, isDigit(bytes[probe]) { probe += 1 }
            groups += 1
        }
        if groups == 4 {
            while pos < probe { advance() }
            return Token(
                kind: .ipv4, text: String(decoding: bytes[start..<pos], as: UTF8.self), location: loc,
                range: start..<pos)
        }
        let text = String(decoding: bytes[start..<pos], as: UTF8.self)
        guard let v = Int(text), v <= Int(Int32.max) else {
            diagnostics.append(ConfigDiagnostic("integer literal '\(text)' is out of range", at: loc))
            return Token(kind: .integer(0), text: text, location: loc, range: start..<pos)
        }
        return Token(kind: .integer(v), text: text, location: loc, range: start..<pos)
    }

    private mutating func lexString(quote: UInt8, _ start: Int, _ loc: SourceLocation) -> Token {
        advance()
        var value: [UInt8] = []
        while let c = peek(), c != quote, c != 10 {
            if c == UInt8(ascii: "\\") && quote == UInt8(ascii: "\""), let e = peek(1) {
                advance()
                advance()
                switch e {
                case UInt8(ascii: "n"): value.append(10)
                case UInt8(ascii: "r"): value.append(13)
                case UInt8(ascii: "t"): value.append(9)
                case UInt8(ascii: "a"): value.append(7)
                case 10: break  // backslash-newline is removed
                case UInt8(ascii: "x"):
                    var n = 0
                    var digits = 0
                    while digits < 2, let h = peek(), isHexDigit(h) {
                        n = n * 16 + Int(hexValue(h))
                        advance()
                        digits += 1
                    }
                    value.append(UInt8(n & 0xff))
                case UInt8(ascii: "0")...UInt8(ascii: "7"):
                    var n = Int(e - 48)
                    var digits = 1
                    while digits < 3, let o = peek(), o >= 48, o <= 55 {
                        n = n * 8 + Int(o - 48)
                        advance()
                        digits += 1
                    }
                    value.append(UInt8(n & 0xff))
                default: value.append(e)  // \" \\ and unknown escapes keep the character
                }
                continue
            }
            value.append(c)
            advance()
        }
        if peek() == quote {
            advance()
        } else {
            diagnostics.append(ConfigDiagnostic("unterminated string", at: loc))
        }
        return Token(kind: .string, text: String(decoding: value, as: UTF8.self), location: loc, range: start..<pos)
    }

    /// `$name`, `$name(inner)`, `$name[index]`, `$(name...)` with balanced brackets.
    private mutating func lexPseudoVariable(_ start: Int, _ loc: SourceLocation) -> Token {
        advance()
        if peek() == UInt8(ascii: "(") {
            skipBalanced(open: UInt8(ascii: "("), close: UInt8(ascii: ")"), loc)
        } else {
            while let d = peek(), isIdentChar(d) { advance() }
            if peek() == UInt8(ascii: "(") { skipBalanced(open: UInt8(ascii: "("), close: UInt8(ascii: ")"), loc) }
            if peek() == UInt8(ascii: "[") { skipBalanced(open: UInt8(ascii: "["), close: UInt8(ascii: "]"), loc) }
        }
        if pos == start + 1 { diagnostics.append(ConfigDiagnostic("'$' without a pseudo-variable name", at: loc)) }
        return Token(
            kind: .pseudoVariable, text: String(decoding: bytes[start..<pos], as: UTF8.self), location: loc,
            range: start..<pos)
    }

    private mutating func skipBalanced(open: UInt8, close: UInt8, _ loc: SourceLocation) {
        var depth = 0
        while let c = peek() {
            if c == open { depth += 1 }
            if c == close { depth -= 1 }
            if c == 10 { break }
            advance()
            if depth == 0 { return }
        }
        diagnostics.append(
            ConfigDiagnostic("unbalanced '\(String(decoding: [open], as: UTF8.self))' in pseudo-variable", at: loc))
    }

    /// `[` hex/colon/dot characters with at least one colon `]`, else nil (then `[` is punctuation).
    private mutating func lexIPv6(_ start: Int, _ loc: SourceLocation) -> Token? {
        var i = pos + 1
        var colons = 0
        while i < bytes.count, isHexDigit(bytes[i]) || bytes[i] == UInt8(ascii: ":") || bytes[i] == UInt8(ascii: ".") {
            if bytes[i] == UInt8(ascii: ":") { colons += 1 }
            i += 1
        }
        guard colons >= 2, i < bytes.count, bytes[i] == UInt8(ascii: "]") else { return nil }
        let text = String(decoding: bytes[pos + 1..<i], as: UTF8.self)
        while pos <= i { advance() }
        return Token(kind: .ipv6, text: text, location: loc, range: start..<pos)
    }

    private func isIdentStart(_ c: UInt8) -> Bool { (c | 0x20) >= 97 && (c | 0x20) <= 122 || c == UInt8(ascii: "_") }
    private func isIdentChar(_ c: UInt8) -> Bool { isIdentStart(c) || isDigit(c) }
    private func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    private func isHexDigit(_ c: UInt8) -> Bool { isDigit(c) || ((c | 0x20) >= 97 && (c | 0x20) <= 102) }
    private func hexValue(_ c: UInt8) -> UInt8 { isDigit(c) ? c - 48 : (c | 0x20) - 87 }
}
