/// A lexical token of the configuration language.
public struct Token: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A name: keyword, function, module, parameter, route name. May contain `.`.
        case identifier
        /// A decimal or hexadecimal integer literal.
        case integer(Int)
        /// A quoted string with escapes already decoded.
        case string
        /// A pseudo-variable reference such as `$rm`, `$hdr(From)`, `$(ru{uri.user})`.
        case pseudoVariable
        /// An IPv4 address literal.
        case ipv4
        /// An IPv6 reference `[...]`, text without the brackets.
        case ipv6
        /// An operator or punctuation.
        case punctuation
        /// A preprocessor line (`#!define X 1`, `!!ifdef X`): the text is the whole raw line
        /// from the prefix on, backslash-newline continuations included. The `Preprocessor`
        /// consumes these; the parser never sees one.
        case directive
        case endOfFile
    }

    public let kind: Kind
    /// The token text: the decoded value for strings, the raw text otherwise.
    public let text: String
    /// Where the token is reported: its own position, or for a token substituted from a
    /// `#!define` the position of the name it replaced.
    public let location: SourceLocation
    /// Byte offsets in `location.file` of the text the token stands for (the define's name
    /// for a substituted token), so `location.column + range.count` is the column after it.
    public let range: Range<Int>
    /// The token as written (quotes and escapes included for strings).
    public let raw: String
    /// Whether white space or a comment (or the start of the text) comes before the token:
    /// `a-b` and `a - b` differ only in this. Route names such as `core:worker-one-init` are
    /// rebuilt from the raw texts of their tokens with it.
    public let spaceBefore: Bool

    public init(
        kind: Kind, text: String, location: SourceLocation, range: Range<Int>, raw: String? = nil,
        spaceBefore: Bool = true
    ) {
        self.kind = kind
        self.text = text
        self.location = location
        self.range = range
        self.raw = raw ?? text
        self.spaceBefore = spaceBefore
    }

    /// The same token reported at another place (a define's use site), with a new raw text
    /// and spacing; the kind and text are kept.
    func relocated(to location: SourceLocation, range: Range<Int>, spaceBefore: Bool) -> Token {
        Token(kind: kind, text: text, location: location, range: range, raw: raw, spaceBefore: spaceBefore)
    }

    func isPunctuation(_ p: String) -> Bool { kind == .punctuation && text == p }
    func isIdentifier(_ name: String) -> Bool { kind == .identifier && text == name }
}
