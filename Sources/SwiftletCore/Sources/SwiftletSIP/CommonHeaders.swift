/// `CSeq: 4711 INVITE`
public struct CSeqHeader: Sendable {
    /// The sequence number (RFC 3261 allows up to 2^32-1 in the grammar; Kamailio's sanity
    /// check and section 8.1.1.5 want less than 2^31).
    public let number: UInt32
    public let methodRange: Range<Int>
    /// The method, classified.
    public let method: SIPMethod

    public static func parse(_ b: [UInt8], _ r: Range<Int>) throws(SIPParseError) -> CSeqHeader {
        precondition(r.lowerBound >= 0 && r.upperBound <= b.count)
        // On the raw bytes: the CSeq of every received message is parsed.
        let (n, method, known) = try b.withUnsafeBufferPointer {
            (p) throws(SIPParseError) -> (UInt32, Range<Int>, SIPMethod?) in try scan(p, r)
        }
        return CSeqHeader(
            number: n, methodRange: method,
            method: known ?? .other(String(decoding: b[method], as: UTF8.self)))
    }

    /// The method of the CSeq value at `r` when the value parses (as `parse`) and the method
    /// is a known one, else nil: nothing made for the value (the receive path's counters).
    static func knownMethod(_ b: [UInt8], _ r: Range<Int>) -> SIPMethod? {
        precondition(r.lowerBound >= 0 && r.upperBound <= b.count)
        return b.withUnsafeBufferPointer { p in
            do throws(SIPParseError) { return try scan(p, r).2 } catch { return nil }
        }
    }

    /// The number, the method's range and the method when it is a known one.
    private static func scan(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) throws(SIPParseError) -> (
        UInt32, Range<Int>, SIPMethod?
    ) {
        var i = r.lowerBound
        var n = 0
        while i < r.upperBound, ASCII.isDigit(b[i]) {
            if i - r.lowerBound < 10 { n = n &* 10 &+ Int(b[i] &- 48) }
            i += 1
        }
        // One to ten digits, at most 2^32-1.
        guard i > r.lowerBound, i - r.lowerBound <= 10, n <= Int(UInt32.max) else {
            throw SIPParseError(.badCSeq, at: r.lowerBound)
        }
        guard i < r.upperBound, ASCII.isLWS(b[i]) else { throw SIPParseError(.badCSeq, at: i) }
        var lo = i
        var hi = r.upperBound
        while lo < hi, ASCII.isLWS(b[lo]) { lo += 1 }
        while hi > lo, ASCII.isLWS(b[hi - 1]) { hi -= 1 }
        guard lo < hi else { throw SIPParseError(.badCSeq, at: i) }
        for k in lo..<hi where !SIPMessage.isTokenChar(b[k]) { throw SIPParseError(.badCSeq, at: i) }
        return (UInt32(n), lo..<hi, SIPMethod.known(b, lo..<hi))
    }
}

/// `Content-Type: type/subtype;param=value`
public struct ContentTypeHeader: Sendable {
    public let type: Range<Int>
    public let subtype: Range<Int>
    public let parameters: [HeaderParameter]

    /// True for `type/subtype` (lower-case literals).
    public func isType(_ b: [UInt8], _ type: StaticString, _ subtype: StaticString) -> Bool {
        b.equalsLowercased(self.type, type) && b.equalsLowercased(self.subtype, subtype)
    }

    /// The `boundary` parameter (unquoted), for multipart bodies.
    public func boundary(_ b: [UInt8]) -> [UInt8]? {
        guard let v = HeaderScanner.find(b, parameters, "boundary")?.value else { return nil }
        return Array(HeaderScanner.unquote(b, v).utf8)
    }

    public static func parse(_ b: [UInt8], _ r: Range<Int>) throws(SIPParseError) -> ContentTypeHeader {
        var i = r.lowerBound
        while i < r.upperBound, SIPMessage.isTokenChar(b[i]) { i += 1 }
        let type = r.lowerBound..<i
        while i < r.upperBound, ASCII.isWhitespace(b[i]) { i += 1 }
        guard !type.isEmpty, i < r.upperBound, b[i] == ASCII.slash else { throw SIPParseError(.badContentType, at: i) }
        i += 1
        while i < r.upperBound, ASCII.isWhitespace(b[i]) { i += 1 }
        let s = i
        while i < r.upperBound, SIPMessage.isTokenChar(b[i]) { i += 1 }
        let subtype = s..<i
        guard !subtype.isEmpty else { throw SIPParseError(.badContentType, at: i) }
        let params = try HeaderScanner.parameters(b, from: i, to: r.upperBound, failure: .badContentType)
        return ContentTypeHeader(type: type, subtype: subtype, parameters: params)
    }
}

/// A token followed by parameters: `Event: presence;id=1`, `Subscription-State: active;expires=60`,
/// `Session-Expires: 1800;refresher=uac`, `Min-SE: 90`, `Content-Disposition: session;handling=required`.
public struct TokenWithParameters: Sendable {
    public let token: Range<Int>
    public let parameters: [HeaderParameter]

    public static func parse(_ b: [UInt8], _ r: Range<Int>, failure: SIPParseError.Reason = .badHeader)
        throws(SIPParseError) -> TokenWithParameters
    {
        var i = r.lowerBound
        while i < r.upperBound, SIPMessage.isTokenChar(b[i]) { i += 1 }
        guard i > r.lowerBound else { throw SIPParseError(failure, at: r.lowerBound) }
        let params = try HeaderScanner.parameters(b, from: i, to: r.upperBound, failure: failure)
        return TokenWithParameters(token: r.lowerBound..<i, parameters: params)
    }
}

/// `RAck: 776656 1 INVITE` (RFC 3262).
public struct RAckHeader: Sendable {
    public let responseNumber: UInt32
    public let cseqNumber: UInt32
    public let method: Range<Int>

    public static func parse(_ b: [UInt8], _ r: Range<Int>) throws(SIPParseError) -> RAckHeader {
        let parts = b.fields(r)
        guard parts.count == 3, let rn = b.decimalValue(parts[0]), rn <= Int(UInt32.max),
            let cn = b.decimalValue(parts[1]),
            cn <= Int(UInt32.max), parts[2].allSatisfy({ SIPMessage.isTokenChar(b[$0]) })
        else { throw SIPParseError(.badNumber, at: r.lowerBound) }
        return RAckHeader(responseNumber: UInt32(rn), cseqNumber: UInt32(cn), method: parts[2])
    }
}

/// `Identity: "base64..."` (RFC 4474) or `Identity: token;info=<...>;alg=...` (RFC 8224).
public struct IdentityHeader: Sendable {
    /// The signature, without quotes.
    public let signature: Range<Int>
    public let parameters: [HeaderParameter]

    public static func parse(_ b: [UInt8], _ r: Range<Int>) throws(SIPParseError) -> IdentityHeader {
        if r.lowerBound < r.upperBound, b[r.lowerBound] == ASCII.quote {
            guard let close = HeaderScanner.endOfQuotedString(b, from: r.lowerBound, to: r.upperBound) else {
                throw SIPParseError(.badHeader, at: r.lowerBound)
            }
            let params = try HeaderScanner.parameters(b, from: close, to: r.upperBound, failure: .badHeader)
            return IdentityHeader(signature: r.lowerBound + 1..<close - 1, parameters: params)
        }
        var i = r.lowerBound
        while i < r.upperBound, b[i] != ASCII.semicolon, !ASCII.isWhitespace(b[i]) { i += 1 }
        guard i > r.lowerBound else { throw SIPParseError(.badHeader, at: r.lowerBound) }
        let params = try HeaderScanner.parameters(b, from: i, to: r.upperBound, failure: .badHeader)
        return IdentityHeader(signature: r.lowerBound..<i, parameters: params)
    }
}

extension Array where Element == UInt8 {
    /// Whitespace-separated fields of a range.
    func fields(_ r: Range<Int>) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var i = r.lowerBound
        while i < r.upperBound {
            while i < r.upperBound, ASCII.isWhitespace(self[i]) || self[i] == ASCII.cr || self[i] == ASCII.lf { i += 1 }
            let s = i
            while i < r.upperBound, !ASCII.isWhitespace(self[i]), self[i] != ASCII.cr, self[i] != ASCII.lf { i += 1 }
            if i > s { out.append(s..<i) }
        }
        return out
    }

    /// A non-negative integer header value (`Max-Forwards`, `Expires`, `RSeq`, `Content-Length`).
    func unsignedValue(_ r: Range<Int>, max: Int) throws(SIPParseError) -> Int {
        guard let v = decimalValue(r), v <= max else { throw SIPParseError(.badNumber, at: r.lowerBound) }
        return v
    }
}
