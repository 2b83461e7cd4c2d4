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
    /// The bytes of the current read (`appendInPlace`), framed where they are while nothing
    /// else is pending; valid until `endOfRead`. Empty otherwise.
    private var chunk = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
    /// The first byte of `chunk` not returned as a frame.
    private var chunkStart = 0
    /// Where `buffer` would start had `chunk` been appended to it (`start` is
    /// `chunkStart - chunkOrigin` there): moved on as `consume` drops what was returned.
    private var chunkOrigin = 0

    public init(maxMessageSize: Int = 65535) { self.maxMessageSize = maxMessageSize }

    /// Bytes received and not yet returned as frames.
    public var pendingByteCount: Int { buffer.count - start + chunk.count - chunkStart }

    /// Bytes received and not yet returned as frames (to tell what a refused stream was).
    public var pendingBytes: ArraySlice<UInt8> {
        guard chunkStart < chunk.count else { return buffer[start...] }
        return ArraySlice(Array(buffer[start...]) + Array(UnsafeBufferPointer(rebasing: chunk[chunkStart...])))
    }

    /// Adds received bytes.
    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        endOfRead()
        dropReturned()
        buffer.append(contentsOf: bytes)
    }

    /// Adds received bytes as a connection reads them. (Not generic: a generic function of
    /// another module is not specialised for its caller, and its copy goes element by
    /// element through the protocol's witnesses.)
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        endOfRead()
        dropReturned()
        buffer.append(contentsOf: bytes)
    }

    /// Adds the bytes of a read that stay valid until `endOfRead`, which the caller calls
    /// once it has taken the frames it wants: while nothing else is pending, complete
    /// messages are copied out of them directly (one copy instead of two), and only what
    /// no frame takes is kept. The frames, and the errors, are those `append` gives.
    public mutating func appendInPlace(_ bytes: UnsafeRawBufferPointer) {
        endOfRead()
        dropReturned()
        guard buffer.isEmpty, !bytes.isEmpty else {
            buffer.append(contentsOf: bytes)
            return
        }
        chunk = bytes.assumingMemoryBound(to: UInt8.self)
        chunkStart = 0
        chunkOrigin = 0
    }

    /// The bytes given to `appendInPlace` stop being valid: what no frame took is kept (with
    /// the buffer as `append` would have left it).
    public mutating func endOfRead() {
        guard chunk.count > 0 else { return }
        buffer.removeAll(keepingCapacity: true)
        if chunkStart < chunk.count {
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[chunkOrigin...]))
            start = chunkStart - chunkOrigin
        } else {
            start = 0
        }
        chunk = UnsafeBufferPointer(start: nil, count: 0)
        chunkStart = 0
        chunkOrigin = 0
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
        if chunk.count > 0 {
            if let frame = nextInChunk() { return frame }
            // Incomplete or refused: the buffer as `append` would have made it decides.
            endOfRead()
        }
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

    /// The next frame that lies complete in `chunk`, as `next()` would return it from the
    /// buffer; nil for anything else (more bytes needed, a frame `next()` refuses), which the
    /// buffer path then decides.
    private mutating func nextInChunk() -> Frame? {
        let p = chunk
        let s = chunkStart
        let available = p.count - s
        if available >= 4, p[s] == ASCII.cr, p[s + 1] == ASCII.lf, p[s + 2] == ASCII.cr, p[s + 3] == ASCII.lf {
            consumeChunk(4)
            return .ping
        }
        if available >= 2, p[s] == ASCII.cr, p[s + 1] == ASCII.lf {
            guard available == 2 || p[s + 2] != ASCII.cr else { return nil }
            consumeChunk(2)
            return .pong
        }
        guard let (headerEnd, lengthLine) = Self.headerBlock(p, from: s) else { return nil }
        let length: Int
        switch lengthLine {
        case .value(let v): length = v
        case .bad: return nil
        case nil:
            guard acceptsMissingContentLength else { return nil }
            length = 0
        }
        let total = headerEnd - s + length
        guard total <= maxMessageSize, available >= total else { return nil }
        let message = Array(UnsafeBufferPointer(rebasing: p[s..<s + total]))
        consumeChunk(total)
        return .message(message)
    }

    /// `consume` for `chunk`: the read's bytes are all returned, or what `buffer` would
    /// drop (more than 64 KiB returned) moves `chunkOrigin`.
    private mutating func consumeChunk(_ n: Int) {
        chunkStart += n
        if chunkStart == chunk.count {
            chunk = UnsafeBufferPointer(start: nil, count: 0)
            chunkStart = 0
            chunkOrigin = 0
        } else if chunkStart - chunkOrigin > 65536 {
            chunkOrigin = chunkStart
        }
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
        buffer.withUnsafeBufferPointer { Self.headerBlock($0, from: start) }
    }

    /// `headerBlock()` for the bytes `p` from `start` on.
    private static func headerBlock(_ p: UnsafeBufferPointer<UInt8>, from start: Int) -> (
        end: Int, length: LengthLine?
    )? {
        let count = p.count
        guard let base = p.baseAddress else { return nil }
        var length: LengthLine?
        var lineStart = start
        while lineStart < count {
            guard let found = memchr(base + lineStart, Int32(ASCII.lf), count - lineStart) else { return nil }
            let lf = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
            if length == nil, mayBeContentLength(p, lineStart, lf) {
                length = contentLength(p, lineStart..<lf)
            }
            // The line after this LF is empty: the block ends with it.
            if lf + 1 < count, p[lf + 1] == ASCII.lf { return (lf + 2, length) }
            if lf + 2 < count, p[lf + 1] == ASCII.cr, p[lf + 2] == ASCII.lf { return (lf + 3, length) }
            lineStart = lf + 1
        }
        return nil
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
    private static func contentLength(_ p: UnsafeBufferPointer<UInt8>, _ line: Range<Int>) -> LengthLine? {
        guard let colon = firstIndex(of: ASCII.colon, in: p, line),
            isContentLength(p, trimmed(p, line.lowerBound..<colon))
        else { return nil }
        guard let v = decimalValue(p, trimmed(p, colon + 1..<line.upperBound)) else {
            return .bad(at: colon + 1)
        }
        return .value(v)
    }

    /// Whether the header name in `range` is Content-Length, long (any case) or compact
    /// (`l`, `L`): what `HeaderName.classify` says, without looking up other names.
    @inline(__always)
    private static func isContentLength(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        switch range.count {
        case 1: return ASCII.lower(p[range.lowerBound]) == UInt8(ascii: "l")
        case 14:
            let literal: StaticString = "content-length"
            let lit = literal.utf8Start
            for k in 0..<14 where ASCII.lower(p[range.lowerBound + k]) != lit[k] { return false }
            return true
        default: return false
        }
    }

    // `[UInt8]`'s scanning helpers (ByteScanning.swift) for the bytes of a read.

    @inline(__always)
    private static func firstIndex(of byte: UInt8, in p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int? {
        guard !range.isEmpty, let base = p.baseAddress,
            let found = memchr(base + range.lowerBound, Int32(byte), range.count)
        else { return nil }
        return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }

    private static func trimmed(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Range<Int> {
        var lo = range.lowerBound
        var hi = range.upperBound
        while lo < hi, ASCII.isLWS(p[lo]) { lo += 1 }
        while hi > lo, ASCII.isLWS(p[hi - 1]) { hi -= 1 }
        return lo..<hi
    }

    private static func decimalValue(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int? {
        guard !range.isEmpty, range.count <= 10 else { return nil }
        var value = 0
        for i in range {
            let b = p[i]
            guard ASCII.isDigit(b) else { return nil }
            value = value * 10 + Int(b - 48)
        }
        return value
    }
}
