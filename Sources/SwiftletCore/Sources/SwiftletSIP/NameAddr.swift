/// A `name-addr` or `addr-spec` header value (From, To, Contact, Route, Record-Route,
/// P-Asserted-Identity, Diversion, Path, Refer-To, ...), by offsets into the message.
///
/// `"Display Name" <sip:user@host;uri-param>;header-param=value`
public struct NameAddr: Sendable {
    /// The whole value.
    public let range: Range<Int>
    /// The display name as written (quotes included when quoted), if any.
    public let displayName: Range<Int>?
    /// The URI (inside `<>` for a name-addr).
    public let uri: Range<Int>
    /// True when the URI was enclosed in `<>`.
    public let isNameAddr: Bool
    /// Contact `*`.
    public let isWildcard: Bool
    /// Where the header parameters after the URI are (empty when there are none). They
    /// were checked while parsing; they are listed only on demand.
    public let parametersRange: Range<Int>

    /// The header parameters after the URI, in order.
    public func parameters(_ b: [UInt8]) -> [HeaderParameter] {
        (try? HeaderScanner.parameters(
            b, from: parametersRange.lowerBound, to: parametersRange.upperBound, failure: .badNameAddr)) ?? []
    }

    /// The parameter `name` (lower-case literal), if present; found without allocating.
    public func parameter(_ b: [UInt8], _ name: StaticString) -> HeaderParameter? {
        HeaderScanner.findParameter(b, from: parametersRange.lowerBound, to: parametersRange.upperBound, name)
    }

    /// The `tag` parameter value.
    public func tag(_ b: [UInt8]) -> Range<Int>? { parameter(b, "tag")?.value }

    /// The display name text (unquoted), or nil.
    public func displayNameText(_ b: [UInt8]) -> String? { displayName.map { HeaderScanner.unquote(b, $0) } }

    /// Parses one value (use `HeaderScanner.splitValues` first for multi-value fields).
    public static func parse(_ b: [UInt8], _ range: Range<Int>) throws(SIPParseError) -> NameAddr {
        var tag: Range<Int>? = nil
        return try parse(b, range, tag: &tag)
    }

    /// `parse(_:_:)`, also giving the value of the first `tag` parameter (found while the
    /// parameters are checked: `tag(in:_:)` needs no second scan).
    public static func parse(_ b: [UInt8], _ range: Range<Int>, tag: inout Range<Int>?) throws(SIPParseError)
        -> NameAddr
    {
        let r = b.trimmed(range)
        guard !r.isEmpty else { throw SIPParseError(.badNameAddr, at: range.lowerBound) }
        if r.count == 1, b[r.lowerBound] == UInt8(ascii: "*") {
            return NameAddr(
                range: r, displayName: nil, uri: r, isNameAddr: false, isWildcard: true,
                parametersRange: r.upperBound..<r.upperBound)
        }
        var i = r.lowerBound
        var display: Range<Int>? = nil
        if b[i] == ASCII.quote {
            guard let close = HeaderScanner.endOfQuotedString(b, from: i, to: r.upperBound) else {
                throw SIPParseError(.badNameAddr, at: i)
            }
            display = i..<close
            i = close
            while i < r.upperBound, ASCII.isWhitespace(b[i]) || b[i] == ASCII.cr || b[i] == ASCII.lf { i += 1 }
            guard i < r.upperBound, b[i] == ASCII.lessThan else { throw SIPParseError(.badNameAddr, at: i) }
        } else if let lt = firstAngle(b, r) {
            let name = b.trimmed(r.lowerBound..<lt)
            if !name.isEmpty { display = name }
            i = lt
        }
        if i < r.upperBound, b[i] == ASCII.lessThan {
            guard let gt = b.firstIndex(of: ASCII.greaterThan, in: i + 1..<r.upperBound) else {
                throw SIPParseError(.badNameAddr, at: i)
            }
            let uri = b.trimmed(i + 1..<gt)
            guard !uri.isEmpty else { throw SIPParseError(.badNameAddr, at: i + 1) }
            try checkParameters(b, from: gt + 1, to: r.upperBound, tag: &tag)
            return NameAddr(
                range: r, displayName: display, uri: uri, isNameAddr: true, isWildcard: false,
                parametersRange: gt + 1..<r.upperBound)
        }
        // addr-spec: the URI ends at the first ';' (its parameters belong to the header,
        // RFC 3261 section 20.10) or at whitespace.
        var end = i
        while end < r.upperBound, b[end] != ASCII.semicolon, !ASCII.isWhitespace(b[end]) { end += 1 }
        let uri = i..<end
        guard !uri.isEmpty, b.firstIndex(of: ASCII.colon, in: uri) != nil else {
            throw SIPParseError(.badNameAddr, at: i)
        }
        try checkParameters(b, from: end, to: r.upperBound, tag: &tag)
        return NameAddr(
            range: r, displayName: nil, uri: uri, isNameAddr: false, isWildcard: false,
            parametersRange: end..<r.upperBound)
    }

    /// Checks the header parameters. RFC 3261 `tag-param = "tag" EQUAL token`: a tag without
    /// a value is malformed (a reply would otherwise get a second To-tag). `tag` becomes the
    /// value of the first `tag` parameter, if any.
    private static func checkParameters(_ b: [UInt8], from start: Int, to end: Int, tag: inout Range<Int>?)
        throws(SIPParseError)
    {
        var valuelessTag: Int? = nil
        var firstTag: Range<Int>? = nil
        try HeaderScanner.scanParameters(b, from: start, to: end, failure: .badNameAddr) { p in
            if b.equalsLowercased(p.name, "tag") {
                guard let value = p.value, !value.isEmpty else {
                    valuelessTag = p.range.lowerBound
                    return false
                }
                if firstTag == nil { firstTag = value }
            }
            return true
        }
        tag = firstTag
        if let at = valuelessTag { throw SIPParseError(.badNameAddr, at: at) }
    }

    /// The first `<` outside quotes, if any.
    private static func firstAngle(_ b: [UInt8], _ r: Range<Int>) -> Int? {
        var i = r.lowerBound
        while i < r.upperBound {
            if b[i] == ASCII.lessThan { return i }
            if b[i] == ASCII.semicolon { return nil }
            i += 1
        }
        return nil
    }

    /// The range of the `tag` parameter value in a From/To value, if present (no throw:
    /// malformed values have no tag).
    public static func tag(in b: [UInt8], _ range: Range<Int>) -> Range<Int>? {
        var tag: Range<Int>? = nil
        guard (try? parse(b, range, tag: &tag)) != nil else { return nil }
        return tag
    }

    /// Where the header parameters of a name-addr/addr-spec value start (index of the first
    /// byte after the URI), or nil when the value is malformed.
    static func headerParameterStart(in b: [UInt8], _ range: Range<Int>) -> Int? {
        guard let v = try? parse(b, range) else { return nil }
        return v.isNameAddr
            ? b.firstIndex(of: ASCII.greaterThan, in: v.uri.upperBound..<v.range.upperBound).map { $0 + 1 }
            : v.uri.upperBound
    }
}
