/// A parsed `sip:`, `sips:` or `tel:` URI as values (strings), for code that keeps or
/// edits URIs; built on `URIComponents`.
public struct SIPURI: Sendable, Equatable {
    public var scheme: String
    public var user: String?
    public var password: String?
    /// The host; IPv6 references keep their brackets, as in Kamailio's `$rd`.
    public var host: String
    public var port: Int?
    /// URI parameters in order; a parameter without `=` has a nil value.
    public var parameters: [URIParameter]
    public var headers: String?

    /// One `;name[=value]` URI parameter.
    public struct URIParameter: Sendable, Equatable {
        public var name: String
        public var value: String?
    }

    /// Parses `text`; nil when it is not a SIP/SIPS/TEL URI.
    public init?(_ text: String) {
        let b = Array(text.utf8)
        guard let c = try? URIComponents.parse(b, 0..<b.count), c.scheme != .other else { return nil }
        self.init(c, b)
    }

    /// Builds the value form of parsed components.
    public init(_ c: URIComponents, _ b: [UInt8]) {
        scheme = b.string(c.schemeRange).lowercased()
        user = c.user.map(b.string)
        password = c.password.map(b.string)
        host = b.string(c.host)
        port = c.port
        parameters = c.parameters(b).map { URIParameter(name: b.string($0.name), value: $0.value.map(b.string)) }
        headers = c.headers.map(b.string)
    }

    /// The value of URI parameter `name` (case-insensitive), "" for a flag parameter.
    public func parameter(_ name: String) -> String? {
        for p in parameters where p.name.lowercased() == name.lowercased() { return p.value ?? "" }
        return nil
    }

    /// The URI as text.
    public var text: String {
        var s = scheme + ":"
        if let user {
            s += user
            if let password { s += ":" + password }
            if scheme != "tel" { s += "@" }
        }
        s += host
        if let port { s += ":\(port)" }
        for p in parameters { s += ";" + p.name + (p.value.map { "=" + $0 } ?? "") }
        if let headers { s += "?" + headers }
        return s
    }
}

/// Extracts the URI from a name-addr or addr-spec header value (From, To, Contact).
public enum HeaderURI {
    /// The text between `<` and `>`, or the addr-spec up to its header parameters.
    public static func uriText(_ value: String) -> String {
        let bytes = Array(value.utf8)
        guard let v = try? NameAddr.parse(bytes, 0..<bytes.count) else { return value }
        return bytes.string(v.uri)
    }
}
