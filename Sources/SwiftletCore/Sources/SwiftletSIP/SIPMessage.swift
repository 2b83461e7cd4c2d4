/// A received SIP message: the bytes as they arrived plus an index of offsets into them.
///
/// The parser does not copy: the first line and every header field are ranges into
/// `buffer`. Header values are parsed only when asked for (Kamailio's lazy
/// `parse_headers`), by the typed accessors below; each returns offsets again.
public struct SIPMessage: Sendable {
    /// Request line or status line.
    public enum FirstLine: Sendable {
        /// `METHOD SP Request-URI SP SIP/2.0`
        case request(method: SIPMethod, methodRange: Range<Int>, uri: Range<Int>)
        /// `SIP/2.0 SP code SP reason`
        case response(code: Int, reason: Range<Int>)
    }

    /// The parsed message in one reference-counted object: a copy of a `SIPMessage` (each
    /// `MessageContext`, a transaction's clone, every `ctx.message` read) is one retain, not
    /// one per array plus an outlined copy of the offsets.
    /// `@usableFromInline` with the plain getters below `@inlinable`: a module reading
    /// `message.buffer` loads the field in place, not through a call that returns the array
    /// retained (the core refuses modules built against other SwiftletSIP sources, so
    /// inlining the layout is safe).
    @usableFromInline final class Storage: Sendable {
        @usableFromInline let buffer: [UInt8]
        @usableFromInline let firstLine: FirstLine
        @usableFromInline let versionRange: Range<Int>
        @usableFromInline let headers: [HeaderField]
        @usableFromInline let headersEnd: Int
        @usableFromInline let bodyRange: Range<Int>
        let wellKnown: WellKnownHeaders

        init(
            buffer: [UInt8], firstLine: FirstLine, versionRange: Range<Int>, headers: [HeaderField], headersEnd: Int,
            bodyRange: Range<Int>, wellKnown: WellKnownHeaders
        ) {
            self.buffer = buffer
            self.firstLine = firstLine
            self.versionRange = versionRange
            self.headers = headers
            self.headersEnd = headersEnd
            self.bodyRange = bodyRange
            self.wellKnown = wellKnown
        }
    }

    @usableFromInline let storage: Storage

    /// The message bytes as received.
    @inlinable @inline(__always) public var buffer: [UInt8] { storage.buffer }
    /// The parsed first line.
    @inlinable @inline(__always) public var firstLine: FirstLine { storage.firstLine }
    /// Range of the SIP version token of the first line (`SIP/2.0`).
    @inlinable @inline(__always) public var versionRange: Range<Int> { storage.versionRange }
    /// Every header field in order of appearance.
    @inlinable @inline(__always) public var headers: [HeaderField] { storage.headers }
    /// Where the header block ends: the offset of the empty line that ends it.
    @inlinable @inline(__always) public var headersEnd: Int { storage.headersEnd }
    /// The body (empty when there is none).
    @inlinable @inline(__always) public var bodyRange: Range<Int> { storage.bodyRange }
    /// Indices into `headers` of the first Via, From, To, Call-ID, CSeq and Content-Length
    /// (-1: absent).
    @inline(__always) var wellKnown: WellKnownHeaders { storage.wellKnown }

    /// True for requests.
    public var isRequest: Bool {
        if case .request = firstLine { return true }
        return false
    }

    /// The request method, or nil for a reply.
    public var method: SIPMethod? {
        if case .request(let m, _, _) = firstLine { return m }
        return nil
    }

    /// The method token as written (requests), or the CSeq method for replies.
    public var methodText: String {
        switch firstLine {
        case .request(_, let r, _): return buffer.string(r)
        case .response: return (try? cseq()).map { buffer.string($0.methodRange) } ?? ""
        }
    }

    /// The Request-URI range, or nil for a reply.
    /// The method token's range in `buffer` for a request, nil for a reply. Reads only the
    /// range: unlike matching on `firstLine`, it copies no `SIPMethod` (the script's
    /// `method == "..."` test asks for it on every request).
    public var requestMethodRange: Range<Int>? {
        if case .request(_, let r, _) = storage.firstLine { return r }
        return nil
    }

    public var requestURIRange: Range<Int>? {
        if case .request(_, _, let u) = firstLine { return u }
        return nil
    }

    /// The Request-URI text, or nil for a reply.
    public var requestURI: String? { requestURIRange.map(buffer.string) }

    /// The status code, or nil for a request.
    public var statusCode: Int? {
        if case .response(let c, _) = firstLine { return c }
        return nil
    }

    // MARK: finding header fields

    /// The first header field of the given kind.
    public func firstHeader(_ name: HeaderName) -> HeaderField? {
        let known: Int16
        switch name {
        case .via: known = wellKnown.via
        case .from: known = wellKnown.from
        case .to: known = wellKnown.to
        case .callID: known = wellKnown.callID
        case .cseq: known = wellKnown.cseq
        case .contentLength where wellKnown.contentLength >= 0: known = wellKnown.contentLength
        default:
            for h in headers where h.name == name { return h }
            return nil
        }
        return known >= 0 ? headers[Int(known)] : nil
    }

    /// Whether Call-ID, CSeq, From and To are all present (the receive path's check), read
    /// from the indices found while parsing: `firstHeader(_:)` of each, without copying a field.
    public var hasCallIDCSeqFromTo: Bool {
        let w = wellKnown
        return w.callID >= 0 && w.cseq >= 0 && w.from >= 0 && w.to >= 0
    }

    /// Every header field of the given kind, in order.
    public func headers(_ name: HeaderName) -> [HeaderField] { headers.filter { $0.name == name } }

    /// The first header whose name equals `name` (case-insensitive, compact forms honoured).
    public func firstHeader(named name: String) -> HeaderField? {
        let wanted = Array(name.utf8)
        let kind = HeaderName.classify(wanted, 0..<wanted.count)
        if kind != .other { return firstHeader(kind) }
        let lowered = wanted.map(ASCII.lower)
        for h in headers where h.name == .other && h.nameRange.count == lowered.count {
            if zip(h.nameRange, lowered).allSatisfy({ ASCII.lower(buffer[$0.0]) == $0.1 }) { return h }
        }
        return nil
    }

    /// The decoded value of a header field.
    public func value(of field: HeaderField) -> String { buffer.string(field.valueRange) }

    // MARK: typed accessors (parse on demand)

    /// The Call-ID value range.
    public var callIDRange: Range<Int>? { firstHeader(.callID)?.valueRange }

    /// The Call-ID value.
    public var callID: String? { callIDRange.map(buffer.string) }

    /// The top-most Via (the first value of the first Via header field).
    public func topVia() throws(SIPParseError) -> ViaHeader {
        guard let field = firstHeader(.via) else { throw SIPParseError(.badVia, at: 0) }
        return try ViaHeader.parse(buffer, field.valueRange)
    }

    /// Every Via value of the message, top first (values of one line split at commas).
    public func vias() throws(SIPParseError) -> [ViaHeader] {
        var all: [ViaHeader] = []
        for h in headers where h.name == .via { all += try ViaHeader.parseAll(buffer, h.valueRange) }
        return all
    }

    /// The CSeq header.
    public func cseq() throws(SIPParseError) -> CSeqHeader {
        guard let field = firstHeader(.cseq) else { throw SIPParseError(.badCSeq, at: 0) }
        return try CSeqHeader.parse(buffer, field.valueRange)
    }

    /// The From header value.
    public func from() throws(SIPParseError) -> NameAddr {
        guard let field = firstHeader(.from) else { throw SIPParseError(.badNameAddr, at: 0) }
        return try NameAddr.parse(buffer, field.valueRange)
    }

    /// The To header value.
    public func to() throws(SIPParseError) -> NameAddr {
        guard let field = firstHeader(.to) else { throw SIPParseError(.badNameAddr, at: 0) }
        return try NameAddr.parse(buffer, field.valueRange)
    }

    /// Every value of every header field of a name-addr kind (Contact, Route, Record-Route,
    /// Path, P-Asserted-Identity, Diversion, ...), in order.
    public func nameAddrs(_ name: HeaderName) throws(SIPParseError) -> [NameAddr] {
        var all: [NameAddr] = []
        for h in headers where h.name == name {
            for part in HeaderScanner.splitValues(buffer, h.valueRange) { all.append(try NameAddr.parse(buffer, part)) }
        }
        return all
    }

    /// The Contact values (a `*` value has `isWildcard`).
    public func contacts() throws(SIPParseError) -> [NameAddr] { try nameAddrs(.contact) }

    /// The first Contact value, if any.
    public func firstContact() throws(SIPParseError) -> NameAddr? {
        guard let field = firstHeader(.contact) else { return nil }
        let end = HeaderScanner.nextTopLevelComma(buffer, field.valueRange) ?? field.valueRange.upperBound
        return try NameAddr.parse(buffer, field.valueRange.lowerBound..<end)
    }

    /// The Request-URI, parsed.
    public func requestURIComponents() throws(SIPParseError) -> URIComponents {
        guard let r = requestURIRange else { throw SIPParseError(.badURI, at: 0) }
        return try URIComponents.parse(buffer, r)
    }

    /// Max-Forwards, or nil when absent.
    public func maxForwards() throws(SIPParseError) -> Int? {
        guard let f = firstHeader(.maxForwards) else { return nil }
        return try buffer.unsignedValue(f.valueRange, max: 255)
    }

    /// Expires, or nil when absent.
    public func expires() throws(SIPParseError) -> Int? {
        guard let f = firstHeader(.expires) else { return nil }
        return try buffer.unsignedValue(f.valueRange, max: Int(UInt32.max))
    }

    /// Content-Length, or nil when absent.
    public func contentLength() throws(SIPParseError) -> Int? {
        guard let f = firstHeader(.contentLength) else { return nil }
        return try buffer.unsignedValue(f.valueRange, max: Int(Int32.max))
    }

    /// Content-Type, or nil when absent.
    public func contentType() throws(SIPParseError) -> ContentTypeHeader? {
        guard let f = firstHeader(.contentType) else { return nil }
        return try ContentTypeHeader.parse(buffer, f.valueRange)
    }

    /// The tokens of every field of a list header (Supported, Require, Allow, Proxy-Require,
    /// Unsupported, Allow-Events, Accept, ...).
    public func tokens(_ name: HeaderName) -> [Range<Int>] {
        headers.filter { $0.name == name }.flatMap { HeaderScanner.tokens(buffer, $0.valueRange) }
    }

    /// The `Privacy` values (separated by `;`, RFC 3323).
    public func privacy() -> [Range<Int>] {
        headers.filter { $0.name == .privacy }.flatMap { h in
            h.valueRange.split(separator: ASCII.semicolon, in: buffer).map { buffer.trimmed($0) }.filter { !$0.isEmpty }
        }
    }

    /// The first credentials or challenge of the given kind (Authorization, Proxy-Authorization,
    /// WWW-Authenticate, Proxy-Authenticate).
    public func digest(_ name: HeaderName) throws(SIPParseError) -> DigestHeader? {
        guard let f = firstHeader(name) else { return nil }
        return try DigestHeader.parse(buffer, f.valueRange)
    }

    /// `Event`, `Session-Expires`, `Subscription-State`, `Min-SE`, `Content-Disposition`.
    public func tokenWithParameters(_ name: HeaderName) throws(SIPParseError) -> TokenWithParameters? {
        guard let f = firstHeader(name) else { return nil }
        return try TokenWithParameters.parse(buffer, f.valueRange)
    }

    /// `RSeq` (RFC 3262).
    public func rseq() throws(SIPParseError) -> UInt32? {
        guard let f = firstHeader(.rseq) else { return nil }
        return UInt32(try buffer.unsignedValue(f.valueRange, max: Int(UInt32.max)))
    }

    /// `RAck` (RFC 3262).
    public func rack() throws(SIPParseError) -> RAckHeader? {
        guard let f = firstHeader(.rack) else { return nil }
        return try RAckHeader.parse(buffer, f.valueRange)
    }

    /// `Identity` (RFC 4474 / RFC 8224).
    public func identity() throws(SIPParseError) -> IdentityHeader? {
        guard let f = firstHeader(.identity) else { return nil }
        return try IdentityHeader.parse(buffer, f.valueRange)
    }

    /// The `tag` parameter of the To header, if any.
    public var toTag: String? {
        firstHeader(.to).flatMap { NameAddr.tag(in: buffer, $0.valueRange) }.map(buffer.string)
    }

    /// The `tag` parameter of the From header, if any.
    public var fromTag: String? {
        firstHeader(.from).flatMap { NameAddr.tag(in: buffer, $0.valueRange) }.map(buffer.string)
    }
}

extension Range where Bound == Int {
    /// Splits the range at each `separator` byte of `b`.
    func split(separator: UInt8, in b: [UInt8]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var s = lowerBound
        for i in self where b[i] == separator {
            out.append(s..<i)
            s = i + 1
        }
        out.append(s..<upperBound)
        return out
    }
}
