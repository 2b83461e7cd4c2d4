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
        dropReturned()
        buffer.append(contentsOf: bytes)
    }

    /// Adds received bytes as a connection reads them. (Not generic: a generic function of
    /// another module is not specialised for its caller, and its copy goes element by
    /// element through the protocol's witnesses.)
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        dropReturned()
        buffer.append(contentsOf: bytes)
    }

    /// Once every byte was returned as a frame, the buffer starts over.
    @inline(__always)
    private mutating func dropReturned() {
        if start > 0, start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
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
        guard let (headerEnd, lengthLine) = headerBlock() else {
            if pendingByteCount > maxMessageSize { throw SIPParseError(.tooLarge, at: start) }
            return nil
        }
        var contentLength: Int?
        switch lengthLine {
        case .value(let v): contentLength = v
        case .bad(let at): throw SIPParseError(.badContentLength, at: at)
        case nil: contentLength = nil
        }
        guard let length = contentLength ?? (acceptsMissingContentLength ? 0 : nil) else {
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

    /// What the first Content-Length line of a header block says.
    private enum LengthLine {
        case value(Int)
        /// Not a number: the offset of its value.
        case bad(at: Int)
    }

    /// The offset just after the empty line ending the header block (CRLFCRLF or LFLF), and
    /// its first Content-Length line (long or compact name), in one pass from one LF to the
    /// next (memchr); nil while the block is incomplete. Only a line whose name (after white
    /// space) starts with `l` or `co` (either case) can carry the length: the others are
    /// passed over without looking for their colon.
    private func headerBlock() -> (end: Int, length: LengthLine?)? {
        let count = buffer.count
        return buffer.withUnsafeBufferPointer { p -> (Int, LengthLine?)? in
            guard let base = p.baseAddress else { return nil }
            var length: LengthLine?
            var lineStart = start
            while lineStart < count {
                guard let found = memchr(base + lineStart, Int32(ASCII.lf), count - lineStart) else { return nil }
                let lf = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                if length == nil, Self.mayBeContentLength(p, lineStart, lf) {
                    length = contentLength(lineStart..<lf)
                }
                // The line after this LF is empty: the block ends with it.
                if lf + 1 < count, p[lf + 1] == ASCII.lf { return (lf + 2, length) }
                if lf + 2 < count, p[lf + 1] == ASCII.cr, p[lf + 2] == ASCII.lf { return (lf + 3, length) }
                lineStart = lf + 1
            }
            return nil
        }
    }

    /// Whether the line `lineStart..<lineEnd` may be a Content-Length header: its first
    /// character after white space is `l`, or it starts with `co` (either case).
    @inline(__always)
    private static func mayBeContentLength(_ p: UnsafeBufferPointer<UInt8>, _ lineStart: Int, _ lineEnd: Int) -> Bool {
        var first = lineStart
        while first < lineEnd, ASCII.isLWS(p[first]) { first += 1 }
        guard first < lineEnd else { return false }
        let initial = p[first] | 0x20
        return initial == UInt8(ascii: "l")
            || (initial == UInt8(ascii: "c") && first + 1 < lineEnd && p[first + 1] | 0x20 == UInt8(ascii: "o"))
    }

    /// The length a header line gives, when it is a Content-Length header; nil for another
    /// header (or a line without a colon).
    private func contentLength(_ line: Range<Int>) -> LengthLine? {
        guard let colon = buffer.firstIndex(of: ASCII.colon, in: line),
            Self.isContentLength(buffer, buffer.trimmed(line.lowerBound..<colon))
        else { return nil }
        guard let v = buffer.decimalValue(buffer.trimmed(colon + 1..<line.upperBound)) else {
            return .bad(at: colon + 1)
        }
        return .value(v)
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
