#if canImport(Glibc)
    import Glibc
#endif

/// Cuts SIP messages out of a byte stream (TCP, TLS): each message ends after the empty
/// line plus Content-Length bytes of body (RFC 3261 section 18.3; Content-Length is
/// mandatory on streams). CRLF keep-alives between messages (RFC 5626 section 3.5.1:
/// a double CRLF ping, a single CRLF pong) are reported separately.
public struct StreamFramer {
    /// What `next()` found.
    public enum Frame: Equatable {
        /// A complete message.
        case message([UInt8])
        /// A keep-alive ping (`CRLFCRLF`): answer with a single CRLF.
        case ping
        /// A keep-alive pong (a lone `CRLF`).
        case pong
    }

    /// Largest message accepted (Kamailio's BUF_SIZE).
    public let maxMessageSize: Int
    /// Take a message without Content-Length as one without a body (Kamailio's
    /// `tcp_accept_no_cl`) instead of refusing the stream.
    public var acceptsMissingContentLength = false
    private var buffer: [UInt8] = []
    private var start = 0

    public init(maxMessageSize: Int = 65535) { self.maxMessageSize = maxMessageSize }

    /// Bytes received and not yet returned as frames.
    public var pendingByteCount: Int { buffer.count - start }

    /// Bytes received and not yet returned as frames (to tell what a refused stream was).
    public var pendingBytes: ArraySlice<UInt8> { buffer[start...] }

    /// Adds received bytes.
    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if start > 0, start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame, nil when more bytes are needed. Throws when the stream is
    /// unusable (no Content-Length, bad Content-Length, message too large): the connection
    /// should then be closed, as Kamailio does.
    public mutating func next() throws(SIPParseError) -> Frame? {
        // Keep-alives.
        if pendingByteCount >= 4, buffer[start] == ASCII.cr, buffer[start + 1] == ASCII.lf,
            buffer[start + 2] == ASCII.cr,
            buffer[start + 3] == ASCII.lf
        {
            consume(4)
            return .ping
        }
        if pendingByteCount >= 2, buffer[start] == ASCII.cr, buffer[start + 1] == ASCII.lf {
            if pendingByteCount == 2 || buffer[start + 2] != ASCII.cr {
                consume(2)
                return .pong
            }
            return nil  // maybe the start of a ping
        }
        guard let headerEnd = endOfHeaders() else {
            if pendingByteCount > maxMessageSize { throw SIPParseError(.tooLarge, at: start) }
            return nil
        }
        guard let length = try contentLength(headerEnd: headerEnd) ?? (acceptsMissingContentLength ? 0 : nil) else {
            throw SIPParseError(.missingContentLength, at: start)
        }
        let total = headerEnd - start + length
        guard total <= maxMessageSize else { throw SIPParseError(.tooLarge, at: start) }
        guard pendingByteCount >= total else { return nil }
        let message = Array(buffer[start..<start + total])
        consume(total)
        return .message(message)
    }

    private mutating func consume(_ n: Int) {
        start += n
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 65536 {
            buffer.removeFirst(start)
            start = 0
        }
    }

    /// The offset just after the empty line ending the header block (CRLFCRLF or LFLF):
    /// from one LF to the next (memchr), checking what follows each.
    private func endOfHeaders() -> Int? {
        let count = buffer.count
        return buffer.withUnsafeBufferPointer { p -> Int? in
            guard let base = p.baseAddress else { return nil }
            var i = start
            while i + 1 < count {
                guard let found = memchr(base + i, Int32(ASCII.lf), count - 1 - i) else { return nil }
                i = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                if p[i + 1] == ASCII.lf { return i + 2 }
                if p[i + 1] == ASCII.cr, i + 2 < count, p[i + 2] == ASCII.lf { return i + 3 }
                i += 1
            }
            return nil
        }
    }

    /// The Content-Length of the header block (long or compact name). Only a line whose
    /// name (after white space) starts with `l` or `co` (either case) can carry it: the
    /// others are passed over (one `memchr` for their end) without looking for their colon.
    private func contentLength(headerEnd: Int) throws(SIPParseError) -> Int? {
        var lineStart = start
        while lineStart < headerEnd {
            let (lineEnd, candidate) = buffer.withUnsafeBufferPointer { p -> (Int, Bool) in
                let base = p.baseAddress!
                let end =
                    memchr(base + lineStart, Int32(ASCII.lf), headerEnd - lineStart).map {
                        base.distance(to: $0.assumingMemoryBound(to: UInt8.self))
                    } ?? headerEnd
                var first = lineStart
                while first < end, ASCII.isLWS(base[first]) { first += 1 }
                guard first < end else { return (end, false) }
                let initial = base[first] | 0x20
                return (
                    end,
                    initial == UInt8(ascii: "l")
                        || (initial == UInt8(ascii: "c") && first + 1 < end
                            && base[first + 1] | 0x20 == UInt8(ascii: "o"))
                )
            }
            if candidate, let colon = buffer.firstIndex(of: ASCII.colon, in: lineStart..<lineEnd) {
                let name = buffer.trimmed(lineStart..<colon)
                if Self.isContentLength(buffer, name) {
                    guard let v = buffer.decimalValue(buffer.trimmed(colon + 1..<lineEnd)) else {
                        throw SIPParseError(.badContentLength, at: colon + 1)
                    }
                    return v
                }
            }
            lineStart = lineEnd + 1
        }
        return nil
    }

    /// Whether the header name in `range` is Content-Length, long (any case) or compact
    /// (`l`, `L`): what `HeaderName.classify` says, without looking up other names.
    @inline(__always)
    private static func isContentLength(_ bytes: [UInt8], _ range: Range<Int>) -> Bool {
        switch range.count {
        case 1: ASCII.lower(bytes[range.lowerBound]) == UInt8(ascii: "l")
        case 14: bytes.equalsLowercased(range, "content-length")
        default: false
        }
    }
}
