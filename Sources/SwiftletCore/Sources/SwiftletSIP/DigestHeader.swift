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
        precondition(r.lowerBound >= 0 && r.upperBound <= b.count, "range outside the message")
        // Scanned through a pointer: it runs on every authenticated request ($au, sanity).
        var params: [(name: Range<Int>, value: Range<Int>)] = []
        params.reserveCapacity(10)  // credentials have 5 to 10 parameters: one allocation
        let scanned = b.withUnsafeBufferPointer { p in scan(p, r) { params.append(($0, $1)) } }
        switch scanned {
        case .success(let scheme): return DigestHeader(scheme: scheme, parameters: params)
        case .failure(let error): throw error
        }
    }

    /// The value (as written) of the first parameter `name` (lower-case literal) of a header
    /// that parses as `parse` does, without collecting the parameters (`$au`): nil when
    /// there is no such parameter; throws when the header does not parse.
    public static func firstParameter(_ b: [UInt8], _ r: Range<Int>, _ name: StaticString) throws(SIPParseError)
        -> Range<Int>?
    {
        precondition(r.lowerBound >= 0 && r.upperBound <= b.count, "range outside the message")
        var found: Range<Int>?
        let scanned = b.withUnsafeBufferPointer { p in
            scan(p, r) { n, v in
                if found == nil, b.equalsLowercased(n, name) { found = v }
            }
        }
        if case .failure(let error) = scanned { throw error }
        return found
    }

    /// Scans the scheme and the parameters, passing each `name=value` to `visit`; the scheme.
    private static func scan(
        _ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, _ visit: (Range<Int>, Range<Int>) -> Void
    ) -> Result<Range<Int>, SIPParseError> {
        var i = r.lowerBound
        let end = r.upperBound
        while i < end, SIPMessage.isTokenChar(b[i]) { i += 1 }
        let scheme = r.lowerBound..<i
        guard !scheme.isEmpty else { return .failure(SIPParseError(.badCredentials, at: r.lowerBound)) }
        func skip() {
            while i < end, ASCII.isWhitespace(b[i]) || b[i] == ASCII.cr || b[i] == ASCII.lf { i += 1 }
        }
        skip()
        while i < end {
            let s = i
            while i < end, SIPMessage.isTokenChar(b[i]) { i += 1 }
            let name = s..<i
            skip()
            guard !name.isEmpty, i < end, b[i] == ASCII.equals else {
                return .failure(SIPParseError(.badCredentials, at: i))
            }
            i += 1
            skip()
            let value: Range<Int>
            if i < end, b[i] == ASCII.quote {
                // `HeaderScanner.endOfQuotedString`: a backslash escapes the next byte.
                var k = i + 1
                var close: Int?
                while k < end {
                    if b[k] == ASCII.backslash {
                        k += 2
                        continue
                    }
                    if b[k] == ASCII.quote {
                        close = k + 1
                        break
                    }
                    k += 1
                }
                guard let close else { return .failure(SIPParseError(.badCredentials, at: i)) }
                value = i..<close
                i = close
            } else {
                let v = i
                while i < end, b[i] != ASCII.comma, !ASCII.isWhitespace(b[i]) { i += 1 }
                value = v..<i
            }
            visit(name, value)
            skip()
            if i < end {
                guard b[i] == ASCII.comma else { return .failure(SIPParseError(.badCredentials, at: i)) }
                i += 1
                skip()
            }
        }
        return .success(scheme)
    }
}
