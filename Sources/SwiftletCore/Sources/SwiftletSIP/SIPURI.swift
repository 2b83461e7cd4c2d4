/// A parsed `sip:`, `sips:` or `tel:` URI (RFC 3261 section 19.1, RFC 3966), by value.
///
/// `sip:user:password@host:port;uri-parameters?headers`
public struct SIPURI: Sendable, Equatable {
    public var scheme: String
    public var user: String?
    public var password: String?
    /// The host; IPv6 references keep their brackets, as in Kamailio's `$rd`.
    public var host: String
    public var port: Int?
    /// URI parameters in order; a parameter without `=` has a nil value.
    public var parameters: [(name: String, value: String?)]
    public var headers: String?

    public static func == (a: SIPURI, b: SIPURI) -> Bool {
        a.scheme == b.scheme && a.user == b.user && a.password == b.password && a.host == b.host && a.port == b.port
            && a.parameters.map(\.name) == b.parameters.map(\.name)
            && a.parameters.map(\.value) == b.parameters.map(\.value) && a.headers == b.headers
    }

    /// Parses `text`; nil when it is not a SIP/SIPS/TEL URI.
    public init?(_ text: String) {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let scheme = text[..<colon].lowercased()
        guard scheme == "sip" || scheme == "sips" || scheme == "tel" else { return nil }
        self.scheme = scheme
        var rest = text[text.index(after: colon)...]
        if let q = rest.firstIndex(of: "?") {
            headers = String(rest[rest.index(after: q)...])
            rest = rest[..<q]
        }
        if scheme == "tel" {
            // tel:number;params -- the number is the "user", there is no host.
            let parts = rest.split(separator: ";", omittingEmptySubsequences: false)
            guard let number = parts.first, !number.isEmpty else { return nil }
            user = String(number)
            host = ""
            parameters = SIPURI.parseParameters(parts.dropFirst())
            return
        }
        if let at = rest.lastIndex(of: "@") {
            let userinfo = rest[..<at]
            if let pc = userinfo.firstIndex(of: ":") {
                user = String(userinfo[..<pc])
                password = String(userinfo[userinfo.index(after: pc)...])
            } else {
                user = String(userinfo)
            }
            rest = rest[rest.index(after: at)...]
        }
        let semicolon = rest.firstIndex(of: ";")
        var hostport = semicolon.map { rest[..<$0] } ?? rest
        parameters =
            semicolon.map {
                SIPURI.parseParameters(
                    rest[rest.index(after: $0)...].split(separator: ";", omittingEmptySubsequences: false))
            } ?? []
        if hostport.hasPrefix("[") {
            guard let close = hostport.firstIndex(of: "]") else { return nil }
            host = String(hostport[...close])
            hostport = hostport[hostport.index(after: close)...]
            if hostport.hasPrefix(":") {
                guard let p = Int(hostport.dropFirst()), p <= 65535 else { return nil }
                port = p
            } else if !hostport.isEmpty {
                return nil
            }
        } else if let pc = hostport.firstIndex(of: ":") {
            host = String(hostport[..<pc])
            guard let p = Int(hostport[hostport.index(after: pc)...]), p >= 0, p <= 65535 else { return nil }
            port = p
        } else {
            host = String(hostport)
        }
        guard !host.isEmpty else { return nil }
    }

    private static func parseParameters<S: Sequence>(_ parts: S) -> [(name: String, value: String?)]
    where S.Element == Substring {
        parts.filter { !$0.isEmpty }.map { p in
            if let eq = p.firstIndex(of: "=") { return (String(p[..<eq]), String(p[p.index(after: eq)...])) }
            return (String(p), nil)
        }
    }

    /// The value of URI parameter `name` (case-insensitive), "" for a flag parameter.
    public func parameter(_ name: String) -> String? {
        for p in parameters where p.name.lowercased() == name.lowercased() { return p.value ?? "" }
        return nil
    }
}

/// Extracts the URI from a name-addr or addr-spec header value (From, To, Contact).
public enum HeaderURI {
    /// The text between `<` and `>`, or the addr-spec up to its header parameters.
    public static func uriText(_ value: String) -> String {
        let bytes = Array(value.utf8)
        guard let start = NameAddr.headerParameterStart(in: bytes, 0..<bytes.count) else { return value }
        if let lt = bytes.firstIndex(of: ASCII.lessThan), lt < start {
            return String(decoding: bytes[(lt + 1)..<(start - 1)], as: UTF8.self)
        }
        return String(decoding: bytes[bytes.trimmed(0..<start)], as: UTF8.self)
    }
}
