/// One Via value: `SIP/2.0/UDP host[:port] *( ";" param )`, by offsets into the message.
public struct ViaHeader: Sendable {
    /// A `;name[=value]` parameter of the Via.
    public struct Parameter: Sendable {
        /// The whole parameter including its leading `;` (and surrounding spaces).
        public let range: Range<Int>
        public let name: Range<Int>
        public let value: Range<Int>?
    }

    /// The whole Via value (up to a `,` that starts the next value, or the end of the field).
    public let range: Range<Int>
    /// The transport token (`UDP`, `TCP`, `TLS`, `SCTP`, `WS`, `WSS`).
    public let transport: Range<Int>
    /// The sent-by host, without brackets for IPv6 references.
    public let host: Range<Int>
    /// The sent-by port text, if written.
    public let portRange: Range<Int>?
    /// The sent-by port, if written.
    public let port: Int?
    /// The parameters in order.
    public let parameters: [Parameter]

    /// The parameter with the given (lower-case) name.
    public func parameter(_ buffer: [UInt8], _ name: StaticString) -> Parameter? {
        parameters.first { buffer.equalsLowercased($0.name, name) }
    }

    /// Parses the first Via value found in `range` of `b`.
    public static func parse(_ b: [UInt8], _ range: Range<Int>) throws(SIPParseError) -> ViaHeader {
        var i = range.lowerBound
        let end = range.upperBound
        func skipSpace() { while i < end, ASCII.isWhitespace(b[i]) || b[i] == ASCII.cr || b[i] == ASCII.lf { i += 1 } }
        func token() -> Range<Int> {
            let s = i
            while i < end, SIPMessage.isTokenChar(b[i]) { i += 1 }
            return s..<i
        }
        func expect(_ c: UInt8) throws(SIPParseError) {
            skipSpace()
            guard i < end, b[i] == c else { throw SIPParseError(.badVia, at: i) }
            i += 1
            skipSpace()
        }
        skipSpace()
        let proto = token()
        guard b.equalsLowercased(proto, "sip") else { throw SIPParseError(.badVia, at: proto.lowerBound) }
        try expect(ASCII.slash)
        let version = token()
        guard version.count == 3 else { throw SIPParseError(.badVia, at: version.lowerBound) }
        try expect(ASCII.slash)
        let transport = token()
        guard !transport.isEmpty else { throw SIPParseError(.badVia, at: i) }
        skipSpace()

        // sent-by
        let host: Range<Int>
        if i < end, b[i] == ASCII.openBracket {
            let s = i + 1
            guard let close = b.firstIndex(of: ASCII.closeBracket, in: s..<end), close > s else {
                throw SIPParseError(.badVia, at: i)
            }
            host = s..<close
            i = close + 1
        } else {
            let s = i
            while i < end, b[i] != ASCII.colon, b[i] != ASCII.semicolon, b[i] != ASCII.comma, !ASCII.isWhitespace(b[i])
            {
                i += 1
            }
            host = s..<i
        }
        guard !host.isEmpty else { throw SIPParseError(.badVia, at: i) }
        skipSpace()
        var portRange: Range<Int>? = nil
        var port: Int? = nil
        if i < end, b[i] == ASCII.colon {
            i += 1
            skipSpace()
            let s = i
            while i < end, ASCII.isDigit(b[i]) { i += 1 }
            guard let p = b.decimalValue(s..<i), p <= 65535 else { throw SIPParseError(.badVia, at: s) }
            portRange = s..<i
            port = p
            skipSpace()
        }

        // parameters
        var params: [Parameter] = []
        while i < end, b[i] == ASCII.semicolon {
            let start = i
            i += 1
            skipSpace()
            let name = token()
            guard !name.isEmpty else { throw SIPParseError(.badVia, at: i) }
            skipSpace()
            var value: Range<Int>? = nil
            if i < end, b[i] == ASCII.equals {
                i += 1
                skipSpace()
                if i < end, b[i] == ASCII.quote {
                    let s = i
                    i += 1
                    while i < end, b[i] != ASCII.quote { i += b[i] == ASCII.backslash ? 2 : 1 }
                    guard i < end else { throw SIPParseError(.badVia, at: s) }
                    i += 1
                    value = s..<i
                } else {
                    let s = i
                    while i < end, b[i] != ASCII.semicolon, b[i] != ASCII.comma, !ASCII.isWhitespace(b[i]) { i += 1 }
                    value = s..<i
                }
                skipSpace()
            }
            params.append(Parameter(range: start..<(value?.upperBound ?? name.upperBound), name: name, value: value))
        }
        skipSpace()
        guard i == end || b[i] == ASCII.comma else { throw SIPParseError(.badVia, at: i) }
        let last =
            params.last?.range.upperBound ?? portRange?.upperBound
            ?? (b[host.upperBound...].first == ASCII.closeBracket ? host.upperBound + 1 : host.upperBound)
        return ViaHeader(
            range: range.lowerBound..<last, transport: transport, host: host, portRange: portRange,
            port: port, parameters: params)
    }
}
