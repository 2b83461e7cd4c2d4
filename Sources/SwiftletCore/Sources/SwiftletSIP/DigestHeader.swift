/// `Authorization`/`Proxy-Authorization` credentials and `WWW-Authenticate`/
/// `Proxy-Authenticate` challenges (RFC 3261 section 22.4, RFC 2617):
/// `Digest username="alice", realm="example.com", nonce="...", uri="sip:...", response="..."`.
public struct DigestHeader: Sendable {
    public let scheme: Range<Int>
    /// `name=value` pairs in order; values as written (quoted or token).
    public let parameters: [(name: Range<Int>, value: Range<Int>)]

    /// The value of parameter `name` (lower-case literal) as written.
    public func parameter(_ b: [UInt8], _ name: StaticString) -> Range<Int>? {
        parameters.first { b.equalsLowercased($0.name, name) }?.value
    }

    /// The unquoted text of parameter `name`.
    public func string(_ b: [UInt8], _ name: StaticString) -> String? {
        parameter(b, name).map { HeaderScanner.unquote(b, $0) }
    }

    /// True for the `Digest` scheme.
    public func isDigest(_ b: [UInt8]) -> Bool { b.equalsLowercased(scheme, "digest") }

    public static func parse(_ b: [UInt8], _ r: Range<Int>) throws(SIPParseError) -> DigestHeader {
        var i = r.lowerBound
        while i < r.upperBound, SIPMessage.isTokenChar(b[i]) { i += 1 }
        let scheme = r.lowerBound..<i
        guard !scheme.isEmpty else { throw SIPParseError(.badCredentials, at: r.lowerBound) }
        var params: [(name: Range<Int>, value: Range<Int>)] = []
        params.reserveCapacity(10)  // credentials have 5 to 10 parameters: one allocation
        func skip() {
            while i < r.upperBound, ASCII.isWhitespace(b[i]) || b[i] == ASCII.cr || b[i] == ASCII.lf { i += 1 }
        }
        skip()
        while i < r.upperBound {
            let s = i
            while i < r.upperBound, SIPMessage.isTokenChar(b[i]) { i += 1 }
            let name = s..<i
            skip()
            guard !name.isEmpty, i < r.upperBound, b[i] == ASCII.equals else {
                throw SIPParseError(.badCredentials, at: i)
            }
            i += 1
            skip()
            let value: Range<Int>
            if i < r.upperBound, b[i] == ASCII.quote {
                guard let close = HeaderScanner.endOfQuotedString(b, from: i, to: r.upperBound) else {
                    throw SIPParseError(.badCredentials, at: i)
                }
                value = i..<close
                i = close
            } else {
                let v = i
                while i < r.upperBound, b[i] != ASCII.comma, !ASCII.isWhitespace(b[i]) { i += 1 }
                value = v..<i
            }
            params.append((name, value))
            skip()
            if i < r.upperBound {
                guard b[i] == ASCII.comma else { throw SIPParseError(.badCredentials, at: i) }
                i += 1
                skip()
            }
        }
        return DigestHeader(scheme: scheme, parameters: params)
    }
}
