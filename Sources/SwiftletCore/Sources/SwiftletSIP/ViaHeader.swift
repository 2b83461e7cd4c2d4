/// One Via value: `SIP/2.0/UDP host[:port] *( ";" param )`, by offsets into the message.
///
/// The parameters Kamailio and RFC 3261/3581 care about (`branch`, `received`, `rport`,
/// `maddr`, `ttl`, `alias`, `i`) are located while parsing; the full list is available from
/// `parameters(_:)`.
public struct ViaHeader: Sendable {
    /// The whole Via value (up to a `,` that starts the next value, or the end of the field).
    public let range: Range<Int>
    /// The protocol name and version (`SIP`, `2.0`).
    public let protocolName: Range<Int>
    public let protocolVersion: Range<Int>
    /// The transport token (`UDP`, `TCP`, `TLS`, `SCTP`, `WS`, `WSS`).
    public let transport: Range<Int>
    /// The sent-by host, without brackets for IPv6 references.
    public let host: Range<Int>
    /// The sent-by port text, if written.
    public let portRange: Range<Int>?
    /// The sent-by port, if written.
    public let port: Int?
    /// From the first `;` to the end of the value (empty when there are no parameters).
    public let parametersRange: Range<Int>
    public let branch: HeaderParameter?
    public let received: HeaderParameter?
    public let rport: HeaderParameter?
    public let maddr: HeaderParameter?
    public let ttl: HeaderParameter?
    public let alias: HeaderParameter?
    public let i: HeaderParameter?
    /// Where this value ends in its header field (the `,` before the next value, or the end).
    public let nextValueStart: Int?

    /// Every parameter in order.
    public func parameters(_ b: [UInt8]) -> [HeaderParameter] {
        (try? HeaderScanner.parameters(
            b, from: parametersRange.lowerBound, to: parametersRange.upperBound, failure: .badVia)) ?? []
    }

    /// The parameter with the given (lower-case) name.
    public func parameter(_ b: [UInt8], _ name: StaticString) -> HeaderParameter? {
        HeaderScanner.find(b, parameters(b), name)
    }

    /// True when the branch starts with RFC 3261's magic cookie `z9hG4bK`.
    public func hasRFC3261Branch(_ b: [UInt8]) -> Bool {
        guard let v = branch?.value, v.count >= 7 else { return false }
        return b[v.lowerBound..<v.lowerBound + 7].elementsEqual("z9hG4bK".utf8)
    }

    /// Parses the first Via value found in `range` of `b`.
    public static func parse(_ b: [UInt8], _ range: Range<Int>) throws(SIPParseError) -> ViaHeader {
        precondition(range.lowerBound >= 0 && range.upperBound <= b.count)
        // On the raw bytes: the top Via of every received message is parsed.
        return try b.withUnsafeBufferPointer { (p) throws(SIPParseError) -> ViaHeader in try parse(p, range) }
    }

    /// `parse(_:_:)` on the message's bytes (`range` lies inside `b`).
    static func parse(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) throws(SIPParseError) -> ViaHeader {
        var i = range.lowerBound
        let end = range.upperBound
        @inline(__always) func skipSpace() { while i < end, ASCII.isLWS(b[i]) { i += 1 } }
        @inline(__always) func token() -> Range<Int> {
            let s = i
            var k = i
            while k < end, SIPMessage.isTokenChar(b[k]) { k += 1 }
            i = k
            return s..<k
        }
        @inline(__always) func expect(_ c: UInt8) throws(SIPParseError) {
            skipSpace()
            guard i < end, b[i] == c else { throw SIPParseError(.badVia, at: i) }
            i += 1
            skipSpace()
        }
        @inline(__always) func equalsLowercased(_ r: Range<Int>, _ literal: StaticString) -> Bool {
            let n = literal.utf8CodeUnitCount
            guard r.count == n else { return false }
            let lit = literal.utf8Start
            for k in 0..<n where ASCII.lower(b[r.lowerBound + k]) != lit[k] { return false }
            return true
        }
        skipSpace()
        let start = i
        let proto = token()
        guard equalsLowercased(proto, "sip") else { throw SIPParseError(.badVia, at: proto.lowerBound) }
        try expect(ASCII.slash)
        let version = token()
        guard equalsLowercased(version, "2.0") else { throw SIPParseError(.badVia, at: version.lowerBound) }
        try expect(ASCII.slash)
        let transport = token()
        guard !transport.isEmpty else { throw SIPParseError(.badVia, at: i) }
        guard i < end, ASCII.isLWS(b[i]) else { throw SIPParseError(.badVia, at: i) }
        skipSpace()

        // sent-by
        let host: Range<Int>
        var hostEnd: Int
        if i < end, b[i] == ASCII.openBracket {
            let s = i + 1
            var close = s
            while close < end, b[close] != ASCII.closeBracket { close += 1 }
            guard close < end, close > s else { throw SIPParseError(.badVia, at: i) }
            host = s..<close
            i = close + 1
            hostEnd = i
        } else {
            // Token characters up to one of `viaHostEnd` (none of which is a token character)
            // or the end; anything else is malformed.
            let s = i
            var k = i
            while k < end, SIPMessage.isTokenChar(b[k]) { k += 1 }
            guard k == end || ASCII.isIn(b[k], ASCII.viaHostEnd) else { throw SIPParseError(.badVia, at: k) }
            i = k
            host = s..<i
            hostEnd = i
        }
        guard !host.isEmpty else { throw SIPParseError(.badVia, at: i) }
        skipSpace()
        var portRange: Range<Int>? = nil
        var port: Int? = nil
        if i < end, b[i] == ASCII.colon {
            i += 1
            skipSpace()
            let s = i
            var k = i
            var value = 0
            while k < end {
                let d = b[k] &- 48
                guard d < 10 else { break }
                if k - s < 10 { value = value &* 10 &+ Int(d) }
                k += 1
            }
            i = k
            // As `decimalValue`: one to ten digits.
            guard i > s, i - s <= 10, value <= 65535 else { throw SIPParseError(.badVia, at: s) }
            portRange = s..<i
            port = value
            hostEnd = i
            skipSpace()
        }

        // parameters, located without building a list
        let paramsStart = i
        var last = hostEnd
        var branch, received, rport, maddr, ttl, alias, iParam: HeaderParameter?
        while i < end, b[i] == ASCII.semicolon {
            let pStart = i
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
                    // As HeaderScanner.endOfQuotedString.
                    var q = i + 1
                    var close: Int? = nil
                    while q < end {
                        if b[q] == ASCII.backslash {
                            q += 2
                            continue
                        }
                        if b[q] == ASCII.quote {
                            close = q + 1
                            break
                        }
                        q += 1
                    }
                    guard let close else { throw SIPParseError(.badVia, at: i) }
                    value = i..<close
                    i = close
                } else {
                    let s = i
                    var k = i
                    while k < end, !ASCII.isIn(b[k], ASCII.parameterValueEnd) { k += 1 }
                    i = k
                    value = s..<i
                }
            }
            let p = HeaderParameter(range: pStart..<(value?.upperBound ?? name.upperBound), name: name, value: value)
            last = p.range.upperBound
            skipSpace()
            switch name.count {
            case 6 where equalsLowercased(name, "branch"): branch = p
            case 8 where equalsLowercased(name, "received"): received = p
            case 5 where equalsLowercased(name, "rport"): rport = p
            case 5 where equalsLowercased(name, "maddr"): maddr = p
            case 3 where equalsLowercased(name, "ttl"): ttl = p
            case 5 where equalsLowercased(name, "alias"): alias = p
            case 1 where equalsLowercased(name, "i"): iParam = p
            default: break
            }
        }
        skipSpace()
        guard i == end || b[i] == ASCII.comma else { throw SIPParseError(.badVia, at: i) }
        return ViaHeader(
            range: start..<last, protocolName: proto, protocolVersion: version, transport: transport, host: host,
            portRange: portRange, port: port, parametersRange: min(paramsStart, last)..<last, branch: branch,
            received: received,
            rport: rport, maddr: maddr, ttl: ttl, alias: alias, i: iParam,
            nextValueStart: i < end ? i + 1 : nil)
    }

    /// Every Via value of one header field (`Via: a, b`).
    public static func parseAll(_ b: [UInt8], _ range: Range<Int>) throws(SIPParseError) -> [ViaHeader] {
        var result: [ViaHeader] = []
        var start = range.lowerBound
        while true {
            let v = try parse(b, start..<range.upperBound)
            result.append(v)
            guard let next = v.nextValueStart else { return result }
            start = next
        }
    }
}
