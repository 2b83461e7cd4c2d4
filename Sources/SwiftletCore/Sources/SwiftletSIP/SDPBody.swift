/// A session description (RFC 4566) inside a message body, by offsets: every `x=value`
/// line, the session-level part and the media descriptions (each `m=` with its lines).
public struct SDPBody: Sendable {
    /// One `type=value` line.
    public struct Line: Sendable {
        public let type: UInt8
        public let value: Range<Int>
    }

    /// One media description: its `m=` line and the lines up to the next `m=`.
    public struct Media: Sendable {
        public let mLine: Line
        public let lines: [Line]
        /// `m=<media> <port> <proto> <fmt> ...` fields.
        public func fields(_ b: [UInt8]) -> [Range<Int>] { b.fields(mLine.value) }
        /// The media's own `c=` line, if any.
        public var connection: Line? { lines.first { $0.type == UInt8(ascii: "c") } }
        /// `a=` lines.
        public var attributes: [Line] { lines.filter { $0.type == UInt8(ascii: "a") } }
    }

    public let lines: [Line]
    /// Lines before the first `m=`.
    public let session: [Line]
    public let media: [Media]

    /// The session-level `c=` line, if any.
    public var connection: Line? { session.first { $0.type == UInt8(ascii: "c") } }

    /// The address of a `c=IN IP4 192.0.2.1` line.
    public static func connectionAddress(_ b: [UInt8], _ line: Line) -> Range<Int>? {
        let f = b.fields(line.value)
        return f.count >= 3 ? f[2] : nil
    }

    /// Parses `range` as SDP. Lines may end in CRLF or LF; each must be `x=...` with a
    /// single lower-case letter type; the first must be `v=`.
    public static func parse(_ b: [UInt8], _ range: Range<Int>) throws(SIPParseError) -> SDPBody {
        var lines: [Line] = []
        var i = range.lowerBound
        while i < range.upperBound {
            let end = b.firstIndex(of: ASCII.lf, in: i..<range.upperBound) ?? range.upperBound
            var lineEnd = end
            if lineEnd > i, b[lineEnd - 1] == ASCII.cr { lineEnd -= 1 }
            if lineEnd > i {
                guard lineEnd - i >= 2, b[i + 1] == ASCII.equals, b[i] >= UInt8(ascii: "a"), b[i] <= UInt8(ascii: "z")
                else {
                    throw SIPParseError(.badBody, at: i)
                }
                lines.append(Line(type: b[i], value: i + 2..<lineEnd))
            }
            i = end + 1
        }
        guard let first = lines.first, first.type == UInt8(ascii: "v") else {
            throw SIPParseError(.badBody, at: range.lowerBound)
        }
        var session: [Line] = []
        var media: [Media] = []
        var current: (Line, [Line])? = nil
        for line in lines {
            if line.type == UInt8(ascii: "m") {
                if let c = current { media.append(Media(mLine: c.0, lines: c.1)) }
                current = (line, [])
            } else if current != nil {
                current!.1.append(line)
            } else {
                session.append(line)
            }
        }
        if let c = current { media.append(Media(mLine: c.0, lines: c.1)) }
        return SDPBody(lines: lines, session: session, media: media)
    }
}

/// One part of a `multipart/*` body (RFC 2046): its header block and its content.
public struct BodyPart: Sendable {
    public let headers: [HeaderField]
    public let content: Range<Int>

    /// The part's Content-Type, if given.
    public func contentType(_ b: [UInt8]) throws(SIPParseError) -> ContentTypeHeader? {
        guard let h = headers.first(where: { $0.name == .contentType }) else { return nil }
        return try ContentTypeHeader.parse(b, h.valueRange)
    }

    /// Splits a multipart body at `--boundary` delimiter lines.
    public static func split(_ b: [UInt8], _ body: Range<Int>, boundary: [UInt8]) throws(SIPParseError) -> [BodyPart] {
        let delimiter = [UInt8(ascii: "-"), UInt8(ascii: "-")] + boundary
        var starts: [(lineStart: Int, after: Int, isLast: Bool)] = []
        var i = body.lowerBound
        while i + delimiter.count <= body.upperBound {
            let atLineStart = i == body.lowerBound || b[i - 1] == ASCII.lf
            if atLineStart, b[i..<i + delimiter.count].elementsEqual(delimiter) {
                let after = i + delimiter.count
                let isLast =
                    after + 1 < body.upperBound && b[after] == UInt8(ascii: "-") && b[after + 1] == UInt8(ascii: "-")
                let lineEnd = b.firstIndex(of: ASCII.lf, in: after..<body.upperBound).map { $0 + 1 } ?? body.upperBound
                starts.append((i, lineEnd, isLast))
                if isLast { break }
                i = lineEnd
                continue
            }
            i += 1
        }
        guard starts.count >= 2, starts.last!.isLast else { throw SIPParseError(.badBody, at: body.lowerBound) }
        var parts: [BodyPart] = []
        for k in 0..<starts.count - 1 {
            var end = starts[k + 1].lineStart
            // The CRLF before a delimiter belongs to the delimiter.
            if end > starts[k].after, b[end - 1] == ASCII.lf { end -= 1 }
            if end > starts[k].after, b[end - 1] == ASCII.cr { end -= 1 }
            parts.append(try parsePart(b, starts[k].after..<max(starts[k].after, end)))
        }
        return parts
    }

    private static func parsePart(_ b: [UInt8], _ r: Range<Int>) throws(SIPParseError) -> BodyPart {
        var headers: [HeaderField] = []
        var pos = r.lowerBound
        while pos < r.upperBound {
            let end = b.firstIndex(of: ASCII.lf, in: pos..<r.upperBound) ?? r.upperBound
            let next = min(end + 1, r.upperBound)
            let content = b.trimmed(pos..<end)
            if content.isEmpty { return BodyPart(headers: headers, content: next..<r.upperBound) }
            guard let colon = b.firstIndex(of: ASCII.colon, in: pos..<end) else {
                throw SIPParseError(.badBody, at: pos)
            }
            let name = b.trimmed(pos..<colon)
            headers.append(
                HeaderField(
                    name: HeaderName.classify(b, name), nameRange: name, valueRange: b.trimmed(colon + 1..<end),
                    lineRange: pos..<next))
            pos = next
        }
        return BodyPart(headers: headers, content: r.upperBound..<r.upperBound)
    }
}

extension SIPMessage {
    /// The parts of a `multipart/*` body, or nil when the body is not multipart.
    public func bodyParts() throws(SIPParseError) -> [BodyPart]? {
        guard let ct = try contentType(), buffer.equalsLowercased(ct.type, "multipart") else { return nil }
        guard let boundary = ct.boundary(buffer) else { throw SIPParseError(.badContentType, at: ct.type.lowerBound) }
        return try BodyPart.split(buffer, bodyRange, boundary: boundary)
    }

    /// The SDP of the message: the body when it is `application/sdp`, or the first
    /// `application/sdp` part of a multipart body; nil when there is none.
    public func sdp() throws(SIPParseError) -> SDPBody? {
        guard let ct = try contentType() else { return nil }
        if ct.isType(buffer, "application", "sdp") { return try SDPBody.parse(buffer, bodyRange) }
        guard let parts = try bodyParts() else { return nil }
        for p in parts {
            if let pct = try p.contentType(buffer), pct.isType(buffer, "application", "sdp") {
                return try SDPBody.parse(buffer, p.content)
            }
        }
        return nil
    }
}
