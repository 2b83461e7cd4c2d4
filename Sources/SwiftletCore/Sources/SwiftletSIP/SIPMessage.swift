/// A received SIP message: the bytes as they arrived plus an index of offsets into them.
///
/// The parser does not copy: the first line and every header field are ranges into
/// `buffer`. Values are decoded to Swift types only when asked for.
public struct SIPMessage: Sendable {
    /// Request line or status line.
    public enum FirstLine: Sendable {
        /// `METHOD SP Request-URI SP SIP/2.0`
        case request(method: SIPMethod, methodRange: Range<Int>, uri: Range<Int>)
        /// `SIP/2.0 SP code SP reason`
        case response(code: Int, reason: Range<Int>)
    }

    /// The message bytes as received.
    public let buffer: [UInt8]
    /// The parsed first line.
    public let firstLine: FirstLine
    /// Range of the SIP version token of the first line (`SIP/2.0`).
    public let versionRange: Range<Int>
    /// Every header field in order of appearance.
    public let headers: [HeaderField]
    /// The body (empty when there is none).
    public let bodyRange: Range<Int>

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
        case .response: return (try? cseq())?.method ?? ""
        }
    }

    /// The Request-URI text, or nil for a reply.
    public var requestURI: String? {
        if case .request(_, _, let u) = firstLine { return buffer.string(u) }
        return nil
    }

    /// The status code, or nil for a request.
    public var statusCode: Int? {
        if case .response(let c, _) = firstLine { return c }
        return nil
    }

    /// The first header field of the given kind.
    public func firstHeader(_ name: HeaderName) -> HeaderField? {
        for h in headers where h.name == name { return h }
        return nil
    }

    /// The first header whose name equals `name` (case-insensitive, compact forms honoured).
    public func firstHeader(named name: String) -> HeaderField? {
        let wanted = Array(name.utf8)
        let kind = HeaderName.classify(wanted, 0..<wanted.count)
        if kind != .other { return firstHeader(kind) }
        let lowered = wanted.map(ASCII.lower)
        for h in headers where h.name == .other && h.nameRange.count == lowered.count {
            var same = true
            var j = 0
            for i in h.nameRange {
                if ASCII.lower(buffer[i]) != lowered[j] {
                    same = false
                    break
                }
                j += 1
            }
            if same { return h }
        }
        return nil
    }

    /// The decoded value of a header field.
    public func value(of field: HeaderField) -> String { buffer.string(field.valueRange) }

    /// The Call-ID value.
    public var callID: String? { firstHeader(.callID).map(value(of:)) }

    /// The top-most Via (the first value of the first Via header field).
    public func topVia() throws(SIPParseError) -> ViaHeader {
        guard let field = firstHeader(.via) else { throw SIPParseError(.badVia, at: 0) }
        return try ViaHeader.parse(buffer, field.valueRange)
    }

    /// The CSeq header: sequence number and method.
    public func cseq() throws(SIPParseError) -> (number: UInt32, method: String) {
        guard let field = firstHeader(.cseq) else { throw SIPParseError(.badCSeq, at: 0) }
        let r = field.valueRange
        var i = r.lowerBound
        while i < r.upperBound, ASCII.isDigit(buffer[i]) { i += 1 }
        guard let n = buffer.decimalValue(r.lowerBound..<i), n <= Int(UInt32.max) else {
            throw SIPParseError(.badCSeq, at: r.lowerBound)
        }
        let method = buffer.trimmed(i..<r.upperBound)
        guard !method.isEmpty, i < r.upperBound, ASCII.isWhitespace(buffer[i]) else {
            throw SIPParseError(.badCSeq, at: i)
        }
        return (UInt32(n), buffer.string(method))
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
