/// Splits configuration text into tokens, tracking line and column of each.
///
/// Comments: `#` to end of line, `//` to end of line, and nestable `/* ... */`. A `#!` (or
/// `!!` at the start of a line) begins a preprocessor line, returned whole as one
/// `.directive` token for the `Preprocessor`.
public struct Lexer {
    private let bytes: [UInt8]
    private let file: String
    private var pos = 0
    private var line = 1
    private var lineStart = 0
    /// Problems found while lexing (unterminated strings and comments, stray characters).
    public private(set) var diagnostics: [ConfigDiagnostic] = []

    /// Directives whose value continues on the next line after a backslash.
    static let continuedDirectives: Set<String> = ["define", "def", "trydef", "trydefine", "redefine", "redef"]
    /// The directives that still count inside a region skipped by `#!ifdef`.
    static let conditionalDirectives: Set<String> = ["ifdef", "ifndef", "else", "endif"]

    public init(text: String, file: String) {
        self.bytes = Array(text.utf8)
        self.file = file
    }

    /// All tokens of the text (directives included), ending with `.endOfFile`.
    public mutating func tokenize() -> [Token] {
        var tokens: [Token] = []
        while true {
            let t = nextToken()
            tokens.append(t)
            if t.kind == .endOfFile { return tokens }
        }
    }

    /// The next token; `.endOfFile` at the end (and on every call after it).
    public mutating func nextToken() -> Token {
        let before = pos
        skipTrivia()
        let spaceBefore = before == 0 || pos > before
        guard pos < bytes.count else {
            return Token(kind: .endOfFile, text: "", location: location(pos), range: pos..<pos, raw: "")
        }
        return next(spaceBefore: spaceBefore)
    }

    /// Skips raw text (not lexed: strings and comments mean nothing here, as in Kamailio's
    /// `IFDEF_SKIP` state) up to the next `#!ifdef`, `#!ifndef`, `#!else` or `#!endif`, and
    /// returns that directive; nil at the end of the text.
    public mutating func skipToConditionalDirective() -> Token? {
        while pos < bytes.count {
            let c = bytes[pos]
            if (c == UInt8(ascii: "#") || c == UInt8(ascii: "!")) && peek(1) == UInt8(ascii: "!") {
                var end = pos + 2
                while end < bytes.count, isIdentChar(bytes[end]) { end += 1 }
                let name = String(decoding: bytes[(pos + 2)..<end], as: UTF8.self)
                if Lexer.conditionalDirectives.contains(name) { return directive(spaceBefore: true) }
            }
            advance()
        }
        return nil
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

    /// `#!` anywhere (as Kamailio), `!!` only where a line starts (elsewhere it is `!` `!`).
    private var atDirective: Bool {
        guard peek(1) == UInt8(ascii: "!") else { return false }
        return peek() == UInt8(ascii: "#") || (peek() == UInt8(ascii: "!") && atLineStart)
    }

    private func token(_ kind: Token.Kind, _ start: Int, _ loc: SourceLocation, _ space: Bool, text: String? = nil)
        -> Token
    {
        let raw = String(decoding: bytes[start..<pos], as: UTF8.self)
        return Token(kind: kind, text: text ?? raw, location: loc, range: start..<pos, raw: raw, spaceBefore: space)
    }

    private mutating func next(spaceBefore space: Bool) -> Token {
        if atDirective { return directive(spaceBefore: space) }
        let c = bytes[pos]
        let start = pos
        let loc = location(pos)
        if isIdentStart(c) {
            while let d = peek(), isIdentChar(d) || (d == UInt8(ascii: ".") && peek(1).map(isIdentChar) == true) {
                advance()
            }
            return token(.identifier, start, loc, space)
        }
        if isDigit(c) { return lexNumberOrAddress(start, loc, space) }
        if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") { return lexString(quote: c, start, loc, space) }
        if c == UInt8(ascii: "$") { return lexPseudoVariable(start, loc, space) }
        if c == UInt8(ascii: "@"), let n = peek(1), isIdentStart(n) { return lexSelect(start, loc, space) }
        if c == UInt8(ascii: "["), let v6 = lexIPv6(start, loc, space) { return v6 }
        for op in ["==", "!=", "=~", "<=", ">=", "&&", "||", "<<", ">>", "+="] {
            let u = Array(op.utf8)
            if peek() == u[0], peek(1) == u[1] {
                advance()
                advance()
                return token(.punctuation, start, loc, space)
            }
        }
        if "=<>+-*/|&^~!(){}[];,:".utf8.contains(c) {
            advance()
            return token(.punctuation, start, loc, space)
        }
        // `group[1].name`: a dot right after `]` and before a name (cfg group instances).
        if c == UInt8(ascii: "."), start > 0, bytes[start - 1] == UInt8(ascii: "]"), let n = peek(1), isIdentStart(n) {
            advance()
            return token(.punctuation, start, loc, space)
        }
        advance()
        diagnostics.append(ConfigDiagnostic("unexpected character '\(String(decoding: [c], as: UTF8.self))'", at: loc))
        return nextToken()
    }

    private mutating func skipTrivia() {
        while let c = peek() {
            if c == 32 || c == 9 || c == 10 || c == 13 {
                advance()
            } else if atDirective {
                return
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

    /// A `#!NAME ...` or `!!NAME ...` line, up to (not including) the newline; for the
    /// `#!define` family a backslash right before the newline continues it on the next line.
    private mutating func directive(spaceBefore: Bool) -> Token {
        let start = pos
        let loc = location(pos)
        advance()
        advance()
        let nameStart = pos
        while let d = peek(), isIdentChar(d) { advance() }
        let continues = Lexer.continuedDirectives.contains(String(decoding: bytes[nameStart..<pos], as: UTF8.self))
        while let d = peek() {
            if d == 10 {
                guard continues, bytes[pos - 1] == UInt8(ascii: "\\") else { break }
            }
            advance()
        }
        return token(.directive, start, loc, spaceBefore)
    }

    private mutating func lexNumberOrAddress(_ start: Int, _ loc: SourceLocation, _ space: Bool) -> Token {
        if peek() == UInt8(ascii: "0"), peek(1) == UInt8(ascii: "x") || peek(1) == UInt8(ascii: "X") {
            advance()
            advance()
            let s = pos
            while let d = peek(), isHexDigit(d) { advance() }
            let v = Int(String(decoding: bytes[s..<pos], as: UTF8.self), radix: 16) ?? 0
            return token(.integer(v), start, loc, space)
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
            return token(.ipv4, start, loc, space)
        }
        let text = String(decoding: bytes[start..<pos], as: UTF8.self)
        // Kamailio's OCTNUMBER `0[0-7]+`: `modparam("ctl", "mode", 0600)`.
        if text.count > 1, text.hasPrefix("0"), let v = Int(text, radix: 8), v <= Int(Int32.max) {
            return token(.integer(v), start, loc, space)
        }
        guard let v = Int(text), v <= Int(Int32.max) else {
            diagnostics.append(ConfigDiagnostic("integer literal '\(text)' is out of range", at: loc))
            return token(.integer(0), start, loc, space)
        }
        return token(.integer(v), start, loc, space)
    }

    private mutating func lexString(quote: UInt8, _ start: Int, _ loc: SourceLocation, _ space: Bool) -> Token {
        advance()
        var value: [UInt8] = []
        while let c = peek(), c != quote, c != 10 {
            // Kamailio's escapes; any other backslash is kept as written (so `\.` and `\1`
            // reach a `#!subst` regex or a module intact). Single quotes take no escapes.
            if c == UInt8(ascii: "\\") && quote == UInt8(ascii: "\""), let e = peek(1) {
                let isOctal = { (d: UInt8?) in d.map { $0 >= 48 && $0 <= 55 } == true }
                if e == UInt8(ascii: "x"), peek(2).map(isHexDigit) == true {  // \xH or \xHH
                    advance()
                    advance()
                    var n = 0
                    var digits = 0
                    while digits < 2, let h = peek(), isHexDigit(h) {
                        n = n * 16 + Int(hexValue(h))
                        advance()
                        digits += 1
                    }
                    value.append(UInt8(n & 0xff))
                    continue
                }
                if isOctal(e), isOctal(peek(2)) {  // \OO or \OOO (one digit is kept as written)
                    advance()
                    var n = 0
                    var digits = 0
                    while digits < 3, let o = peek(), isOctal(o) {
                        n = n * 8 + Int(o - 48)
                        advance()
                        digits += 1
                    }
                    value.append(UInt8(n & 0xff))
                    continue
                }
                advance()
                switch e {
                case UInt8(ascii: "n"): value.append(10)
                case UInt8(ascii: "r"): value.append(13)
                case UInt8(ascii: "t"): value.append(9)
                case UInt8(ascii: "a"): value.append(7)
                case 10: break  // backslash-newline is removed
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): value.append(e)
                default:
                    value.append(c)  // the backslash stays; the next character is read as itself
                    continue
                }
                advance()
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
        return token(.string, start, loc, space, text: String(decoding: value, as: UTF8.self))
    }

    /// `$name`, `$name(inner)`, `$name[index]`, `$(name...)` with balanced brackets.
    private mutating func lexPseudoVariable(_ start: Int, _ loc: SourceLocation, _ space: Bool) -> Token {
        advance()
        if peek() == UInt8(ascii: "(") {
            skipBalanced(open: UInt8(ascii: "("), close: UInt8(ascii: ")"), loc)
        } else {
            while let d = peek(), isIdentChar(d) { advance() }
            if peek() == UInt8(ascii: "(") { skipBalanced(open: UInt8(ascii: "("), close: UInt8(ascii: ")"), loc) }
            if peek() == UInt8(ascii: "[") { skipBalanced(open: UInt8(ascii: "["), close: UInt8(ascii: "]"), loc) }
        }
        if pos == start + 1 { diagnostics.append(ConfigDiagnostic("'$' without a pseudo-variable name", at: loc)) }
        return token(.pseudoVariable, start, loc, space)
    }

    /// A select (`@via[1].branch`, `@msg.header["X-Foo"]`): names, dots and bracketed indexes
    /// or quoted strings. It becomes the pseudo-variable `$sel(...)` (Kamailio treats both alike).
    private mutating func lexSelect(_ start: Int, _ loc: SourceLocation, _ space: Bool) -> Token {
        advance()
        while let d = peek() {
            if isIdentChar(d) || d == UInt8(ascii: "-") {
                advance()
            } else if d == UInt8(ascii: "."), let n = peek(1), isIdentStart(n) {
                advance()
            } else if d == UInt8(ascii: "[") {
                while let e = peek(), e != UInt8(ascii: "]"), e != 10 { advance() }
                if peek() == UInt8(ascii: "]") { advance() }
            } else {
                break
            }
        }
        let path = String(decoding: bytes[start + 1..<pos], as: UTF8.self)
        return token(.pseudoVariable, start, loc, space, text: "$sel(\(path))")
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
    private mutating func lexIPv6(_ start: Int, _ loc: SourceLocation, _ space: Bool) -> Token? {
        var i = pos + 1
        var colons = 0
        while i < bytes.count, isHexDigit(bytes[i]) || bytes[i] == UInt8(ascii: ":") || bytes[i] == UInt8(ascii: ".") {
            if bytes[i] == UInt8(ascii: ":") { colons += 1 }
            i += 1
        }
        guard colons >= 2, i < bytes.count, bytes[i] == UInt8(ascii: "]") else { return nil }
        let text = String(decoding: bytes[pos + 1..<i], as: UTF8.self)
        while pos <= i { advance() }
        return token(.ipv6, start, loc, space, text: text)
    }

    private func isIdentStart(_ c: UInt8) -> Bool { (c | 0x20) >= 97 && (c | 0x20) <= 122 || c == UInt8(ascii: "_") }
    private func isIdentChar(_ c: UInt8) -> Bool { isIdentStart(c) || isDigit(c) }
    private func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    private func isHexDigit(_ c: UInt8) -> Bool { isDigit(c) || ((c | 0x20) >= 97 && (c | 0x20) <= 102) }
    private func hexValue(_ c: UInt8) -> UInt8 { isDigit(c) ? c - 48 : (c | 0x20) - 87 }
}
