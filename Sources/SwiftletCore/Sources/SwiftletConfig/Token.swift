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
        case endOfFile
    }

    public let kind: Kind
    /// The token text: the decoded value for strings, the raw text otherwise.
    public let text: String
    public let location: SourceLocation
    /// Byte offsets of the raw token in its file.
    public let range: Range<Int>

    public init(kind: Kind, text: String, location: SourceLocation, range: Range<Int>) {
        self.kind = kind
        self.text = text
        self.location = location
        self.range = range
    }

    func isPunctuation(_ p: String) -> Bool { kind == .punctuation && text == p }
    func isIdentifier(_ name: String) -> Bool { kind == .identifier && text == name }
}
