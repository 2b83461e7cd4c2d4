/// A URI split into its parts, by offsets into the message (RFC 3261 section 19.1, RFC 3966).
///
/// `sip:user:password@host:port;uri-parameters?headers`. For `tel:` the number is `user`
/// and there is no host. Other schemes (`http:`, `urn:`, ...) keep everything after the
/// colon in `opaque`.
public struct URIComponents: Sendable, Equatable {
    public enum Scheme: Sendable, Equatable {
        case sip, sips, tel, other
    }

    public let range: Range<Int>
    public let scheme: Scheme
    public let schemeRange: Range<Int>
    public let user: Range<Int>?
    public let password: Range<Int>?
    /// The host; IPv6 references include their brackets.
    public let host: Range<Int>
    public let portRange: Range<Int>?
    public let port: Int?
    /// The `;...` parameters section (empty range when none), without the leading `;`.
    public let parametersRange: Range<Int>
    /// The `?...` headers section without the `?`, if any.
    public let headers: Range<Int>?
    /// For other schemes: what follows `scheme:`.
    public let opaque: Range<Int>?

    /// The URI parameters.
    public func parameters(_ b: [UInt8]) -> [HeaderParameter] {
        guard !parametersRange.isEmpty else { return [] }
        return
            (try? HeaderScanner.parameters(
                b, from: parametersRange.lowerBound - 1, to: parametersRange.upperBound, failure: .badURI)) ?? []
    }

    /// Parses the URI in `range`.
    public static func parse(_ b: [UInt8], _ range: Range<Int>) throws(SIPParseError) -> URIComponents {
        precondition(range.lowerBound >= 0 && range.upperBound <= b.count)
        return try b.withUnsafeBufferPointer { (p) throws(SIPParseError) -> URIComponents in try parse(p, range) }
    }

    /// `parse(_:_:)` on the message's bytes.
    static func parse(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) throws(SIPParseError) -> URIComponents {
        @inline(__always) func firstIndex(of byte: UInt8, in r: Range<Int>) -> Int? {
            var k = r.lowerBound
            while k < r.upperBound {
                if b[k] == byte { return k }
                k += 1
            }
            return nil
        }
        @inline(__always) func equalsLowercased(_ r: Range<Int>, _ literal: StaticString) -> Bool {
            let n = literal.utf8CodeUnitCount
            guard r.count == n else { return false }
            let lit = literal.utf8Start
            for k in 0..<n where ASCII.lower(b[r.lowerBound + k]) != lit[k] { return false }
            return true
        }
        var lo = range.lowerBound
        var hi = range.upperBound
        while lo < hi, ASCII.isLWS(b[lo]) { lo += 1 }
        while hi > lo, ASCII.isLWS(b[hi - 1]) { hi -= 1 }
        let r = lo..<hi
        guard let colon = firstIndex(of: ASCII.colon, in: r), colon > r.lowerBound else {
            throw SIPParseError(.badURI, at: r.lowerBound)
        }
        let schemeRange = r.lowerBound..<colon
        for i in schemeRange {
            let c = b[i]
            let ok =
                (ASCII.lower(c) >= 97 && ASCII.lower(c) <= 122)
                || (i > r.lowerBound
                    && (ASCII.isDigit(c) || c == UInt8(ascii: "+") || c == UInt8(ascii: "-") || c == UInt8(ascii: ".")))
            guard ok else { throw SIPParseError(.badURI, at: i) }
        }
        let scheme: Scheme =
            equalsLowercased(schemeRange, "sip")
            ? .sip
            : equalsLowercased(schemeRange, "sips") ? .sips : equalsLowercased(schemeRange, "tel") ? .tel : .other
        let rest = colon + 1..<r.upperBound
        // One pass over the rest: no spaces or controls inside a URI (the first one is the
        // error); for SIP URIs also the last '@' (userinfo ends there: a user part may contain
        // ';', '?', ',' and ':', RFC 3261 user-unreserved, RFC 4475 3.1.1.2/3.1.1.4; '@'
        // appears nowhere else) and the first '?' after it (the headers).
        var at: Int? = nil
        var question: Int? = nil
        var i = rest.lowerBound
        while i < rest.upperBound {
            let c = b[i]
            if c <= 32 || c == 127 { throw SIPParseError(.badURI, at: i) }
            if c == UInt8(ascii: "@") {
                at = i
                question = nil
            } else if c == UInt8(ascii: "?"), question == nil {
                question = i
            }
            i += 1
        }
        switch scheme {
        case .other:
            guard !rest.isEmpty else { throw SIPParseError(.badURI, at: colon) }
            return URIComponents(
                range: r, scheme: .other, schemeRange: schemeRange, user: nil, password: nil,
                host: rest.upperBound..<rest.upperBound, portRange: nil, port: nil,
                parametersRange: rest.upperBound..<rest.upperBound, headers: nil, opaque: rest)
        case .tel:
            let semi = firstIndex(of: ASCII.semicolon, in: rest) ?? rest.upperBound
            guard semi > rest.lowerBound else { throw SIPParseError(.badURI, at: rest.lowerBound) }
            let params = semi < rest.upperBound ? semi + 1..<rest.upperBound : rest.upperBound..<rest.upperBound
            return URIComponents(
                range: r, scheme: .tel, schemeRange: schemeRange, user: rest.lowerBound..<semi, password: nil,
                host: semi..<semi, portRange: nil, port: nil, parametersRange: params, headers: nil, opaque: nil)
        case .sip, .sips:
            break
        }
        let body = rest.lowerBound..<(question ?? rest.upperBound)
        let headers = question.map { $0 + 1..<rest.upperBound }
        var user: Range<Int>? = nil
        var password: Range<Int>? = nil
        var hostStart = body.lowerBound
        if let at {
            let userinfo = body.lowerBound..<at
            if let pc = firstIndex(of: ASCII.colon, in: userinfo) {
                user = userinfo.lowerBound..<pc
                password = pc + 1..<userinfo.upperBound
            } else {
                user = userinfo
            }
            guard !(user?.isEmpty ?? true) else { throw SIPParseError(.badURI, at: body.lowerBound) }
            hostStart = at + 1
        }
        var j = hostStart
        let host: Range<Int>
        if j < body.upperBound, b[j] == ASCII.openBracket {
            guard let close = firstIndex(of: ASCII.closeBracket, in: j..<body.upperBound) else {
                throw SIPParseError(.badURI, at: j)
            }
            host = j..<close + 1
            j = close + 1
        } else {
            while j < body.upperBound, b[j] != ASCII.colon, b[j] != ASCII.semicolon { j += 1 }
            host = hostStart..<j
            for k in host where !isHostChar(b[k]) { throw SIPParseError(.badURI, at: k) }
        }
        guard !host.isEmpty else { throw SIPParseError(.badURI, at: hostStart) }
        var portRange: Range<Int>? = nil
        var port: Int? = nil
        if j < body.upperBound, b[j] == ASCII.colon {
            let s = j + 1
            j = s
            var value = 0
            while j < body.upperBound, ASCII.isDigit(b[j]) {
                if j - s < 10 { value = value * 10 + Int(b[j] &- 48) }
                j += 1
            }
            // As `decimalValue`: one to ten digits.
            guard j > s, j - s <= 10, value <= 65535 else { throw SIPParseError(.badURI, at: s) }
            portRange = s..<j
            port = value
        }
        var params = body.upperBound..<body.upperBound
        if j < body.upperBound {
            guard b[j] == ASCII.semicolon else { throw SIPParseError(.badURI, at: j) }
            params = j + 1..<body.upperBound
            // Validated without collecting them.
            try HeaderScanner.scanParameters(b, from: j, to: body.upperBound, failure: .badURI) { _ in true }
        }
        return URIComponents(
            range: r, scheme: scheme, schemeRange: schemeRange, user: user, password: password, host: host,
            portRange: portRange, port: port, parametersRange: params, headers: headers, opaque: nil)
    }
}

extension URIComponents {
    /// Letters, digits, `-`, `.` and `_` (a host name or IPv4 address), tested as one bit of
    /// a 128-bit set.
    @inline(__always) static func isHostChar(_ c: UInt8) -> Bool {
        let low: UInt64 = 0x03FF600000000000
        let high: UInt64 = 0x07FFFFFE87FFFFFE
        let word = c < 64 ? low : high
        return c < 128 && (word &>> UInt64(c & 63)) & 1 != 0
    }
}

/// Percent-encoding of URI parts (RFC 3261 `escaped`).
public enum URIEscaping {
    /// Decodes `%HH` sequences; nil when an escape is malformed.
    public static func unescape(_ b: [UInt8], _ range: Range<Int>) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(range.count)
        var i = range.lowerBound
        while i < range.upperBound {
            if b[i] == UInt8(ascii: "%") {
                guard i + 2 < range.upperBound, let h = hex(b[i + 1]), let l = hex(b[i + 2]) else { return nil }
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return out
    }

    /// The unescaped text of a string.
    public static func unescape(_ s: String) -> String? {
        let b = Array(s.utf8)
        return unescape(b, 0..<b.count).map { String(decoding: $0, as: UTF8.self) }
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - 48
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - 87
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - 55
        default: nil
        }
    }
}
