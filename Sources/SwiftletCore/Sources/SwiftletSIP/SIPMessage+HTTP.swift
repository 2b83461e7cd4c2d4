/// HTTP/1.x requests, which Kamailio's parser accepts next to SIP (its
/// `FLINE_FLAG_PROTO_HTTP`), so that the xhttp module can serve them on the SIP stream
/// listeners with the same header accessors.
extension SIPMessage {
    /// True for an HTTP/1.x request (`GET /path HTTP/1.1`): the first line's version is
    /// `HTTP/1.0` or `HTTP/1.1`. Such a message has no Via and is never routed as SIP.
    public var isHTTP: Bool { Self.isHTTPVersion(buffer, versionRange) }

    /// The request target of an HTTP request (`/RPC?x=1`), Kamailio's `$hu`.
    public var httpURL: String? { isHTTP ? requestURI : nil }

    /// Whether `range` of `b` is `HTTP/1.0` or `HTTP/1.1` (any case).
    static func isHTTPVersion(_ b: [UInt8], _ range: Range<Int>) -> Bool {
        range.count == 8 && (b.equalsLowercased(range, "http/1.1") || b.equalsLowercased(range, "http/1.0"))
    }

    /// Whether `bytes` starts with an HTTP/1.x request line (Kamailio's tcp_read HTTP
    /// detection): a token, a space, a target, a space and `HTTP/1.x` before the first LF.
    public static func startsWithHTTPRequestLine<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        guard let lf = bytes.firstIndex(of: ASCII.lf) else { return false }
        var line = Array(bytes[bytes.startIndex..<lf])
        if line.last == ASCII.cr { line.removeLast() }
        guard line.count > 9 else { return false }
        return isHTTPVersion(line, line.count - 8..<line.count) && line[line.count - 9] == ASCII.space
    }
}
