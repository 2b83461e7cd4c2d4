#if canImport(Glibc)
    import Glibc
#endif

extension SIPMessage {
    /// Parses a complete SIP message (one UDP datagram, or one framed stream message).
    ///
    /// Leading CRLFs are skipped. Lines may end in CRLF or a bare LF; folded header lines
    /// (continuations that start with a space or tab) belong to the header above them. The
    /// body is what follows the empty line, cut to Content-Length when that is present.
    public init(parsing bytes: [UInt8]) throws(SIPParseError) {
        var pos = 0
        while pos < bytes.count, bytes[pos] == ASCII.cr || bytes[pos] == ASCII.lf { pos += 1 }
        guard pos < bytes.count else { throw SIPParseError(.empty, at: 0) }

        // First line.
        guard let lineEnd = bytes.firstIndex(of: ASCII.lf, in: pos..<bytes.count) else {
            throw SIPParseError(.badFirstLine, at: pos)
        }
        let line = bytes.trimmed(pos..<lineEnd)
        let (firstLine, version) = try Self.parseFirstLine(bytes, line)
        pos = lineEnd + 1

        // Header fields, scanned on the raw bytes (every received message comes here).
        let (headers, headersEnd, bodyStart, wellKnown) = try bytes.withUnsafeBufferPointer {
            (p) throws(SIPParseError) -> ([HeaderField], Int, Int, WellKnownHeaders) in
            try Self.parseHeaders(p, from: pos)
        }

        // Body, bounded by Content-Length when given.
        var bodyEnd = bytes.count
        let cl =
            wellKnown.contentLength >= 0
            ? headers[Int(wellKnown.contentLength)]
            : headers.count >= Int(Int16.max) ? Self.contentLengthField(headers) : nil
        if let cl {
            guard let length = bytes.decimalValue(cl.valueRange) else {
                throw SIPParseError(.badContentLength, at: cl.valueRange.lowerBound)
            }
            guard bodyStart + length <= bytes.count else { throw SIPParseError(.truncatedBody, at: bodyStart) }
            bodyEnd = bodyStart + length
        }
        self.storage = Storage(
            buffer: bytes, firstLine: firstLine, versionRange: version, headers: headers, headersEnd: headersEnd,
            bodyRange: min(bodyStart, bodyEnd)..<bodyEnd, wellKnown: wellKnown)
    }

    /// Indices into `headers` of the first Via, From, To, Call-ID, CSeq and Content-Length
    /// (-1: absent, or beyond the first `Int16.max` fields).
    typealias WellKnownHeaders = (via: Int16, from: Int16, to: Int16, callID: Int16, cseq: Int16, contentLength: Int16)

    /// The first Content-Length field, searched (for messages with more fields than
    /// `WellKnownHeaders` indexes).
    private static func contentLengthField(_ headers: [HeaderField]) -> HeaderField? {
        headers.first(where: { $0.name == .contentLength })
    }

    /// The header fields from `start` (after the first line) to the empty line that ends them:
    /// the fields, where the header block ends, where the body starts, and the well-known ones.
    private static func parseHeaders(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) throws(SIPParseError) -> (
        [HeaderField], Int, Int, WellKnownHeaders
    ) {
        let count = bytes.count
        var pos = start
        var headers: [HeaderField] = []
        headers.reserveCapacity(16)
        var bodyStart = count
        var headersEnd = count
        var wellKnown: WellKnownHeaders = (-1, -1, -1, -1, -1, -1)
        @inline(__always) func isSpace(_ c: UInt8) -> Bool { ASCII.isLWS(c) }
        @inline(__always) func trimmed(_ r: Range<Int>) -> Range<Int> {
            var lo = r.lowerBound
            var hi = r.upperBound
            while lo < hi, isSpace(bytes[lo]) { lo += 1 }
            while hi > lo, isSpace(bytes[hi - 1]) { hi -= 1 }
            return lo..<hi
        }
        @inline(__always) func find(_ byte: UInt8, _ from: Int, _ to: Int) -> Int? {
            guard from < to, let found = memchr(bytes.baseAddress! + from, Int32(byte), to - from) else { return nil }
            return bytes.baseAddress!.distance(to: found.assumingMemoryBound(to: UInt8.self))
        }
        while pos < count {
            let end = find(ASCII.lf, pos, count) ?? count
            let next = min(end + 1, count)
            let content = trimmed(pos..<end)
            if content.isEmpty {
                if ASCII.isWhitespace(bytes[pos]) {
                    // Only spaces: a blank continuation of the header above, never the end of
                    // the header block (that is an empty line).
                    guard !headers.isEmpty else { throw SIPParseError(.badHeader, at: pos) }
                    pos = next
                    continue
                }
                bodyStart = next
                headersEnd = pos
                break
            }
            if ASCII.isWhitespace(bytes[pos]) {
                // Folded continuation of the previous header field.
                guard let last = headers.popLast() else { throw SIPParseError(.badHeader, at: pos) }
                let value = last.valueRange.isEmpty ? content : last.valueRange.lowerBound..<content.upperBound
                headers.append(
                    HeaderField(
                        name: last.name, nameRange: last.nameRange, valueRange: value,
                        lineRange: last.lineRange.lowerBound..<next))
                pos = next
                continue
            }
            guard let colon = find(ASCII.colon, pos, end) else { throw SIPParseError(.badHeader, at: pos) }
            // A name the core knows, written right before the colon (as every SIP stack writes
            // it), is letters and `-` only: nothing to trim, no space inside. Any other name
            // goes by the general rule: trimmed, with no space or tab inside.
            var name = pos..<colon
            var kind = HeaderName.classify(bytes, name)
            if kind == .other {
                name = trimmed(pos..<colon)
                guard !name.isEmpty else { throw SIPParseError(.badHeader, at: pos) }
                for k in name where ASCII.isWhitespace(bytes[k]) { throw SIPParseError(.badHeader, at: pos) }
                if name != pos..<colon { kind = HeaderName.classify(bytes, name) }
            }
            let value = trimmed(colon + 1..<end)
            if headers.count < Int(Int16.max) {
                let index = Int16(headers.count)
                switch kind {
                case .via where wellKnown.via < 0: wellKnown.via = index
                case .from where wellKnown.from < 0: wellKnown.from = index
                case .to where wellKnown.to < 0: wellKnown.to = index
                case .callID where wellKnown.callID < 0: wellKnown.callID = index
                case .cseq where wellKnown.cseq < 0: wellKnown.cseq = index
                case .contentLength where wellKnown.contentLength < 0: wellKnown.contentLength = index
                default: break
                }
            }
            headers.append(HeaderField(name: kind, nameRange: name, valueRange: value, lineRange: pos..<next))
            pos = next
        }
        return (headers, headersEnd, bodyStart, wellKnown)
    }

    /// Parses `line` (already trimmed) as a request line or a status line.
    private static func parseFirstLine(_ b: [UInt8], _ line: Range<Int>) throws(SIPParseError) -> (
        FirstLine, Range<Int>
    ) {
        guard let sp1 = b.firstIndex(of: ASCII.space, in: line) else {
            throw SIPParseError(.badFirstLine, at: line.lowerBound)
        }
        let first = line.lowerBound..<sp1
        if first.count == 7, b.equalsLowercased(first, "sip/2.0") {
            // Status line: the code is exactly three digits, the reason may be empty.
            let codeStart = sp1 + 1
            let codeEnd = codeStart + 3
            guard codeEnd <= line.upperBound, let code = b.decimalValue(codeStart..<codeEnd), code >= 100, code <= 699,
                codeEnd == line.upperBound || b[codeEnd] == ASCII.space
            else { throw SIPParseError(.badStatusCode, at: codeStart) }
            let reason =
                codeEnd == line.upperBound
                ? line.upperBound..<line.upperBound : b.trimmed(codeEnd + 1..<line.upperBound)
            return (.response(code: code, reason: reason), first)
        }
        // Request line: METHOD SP Request-URI SP SIP/2.0
        guard let sp2 = b.firstIndex(of: ASCII.space, in: sp1 + 1..<line.upperBound) else {
            throw SIPParseError(.badFirstLine, at: sp1)
        }
        let uri = sp1 + 1..<sp2
        let version = b.trimmed(sp2 + 1..<line.upperBound)
        guard !first.isEmpty, first.allSatisfy({ isTokenChar(b[$0]) }) else {
            throw SIPParseError(.badFirstLine, at: line.lowerBound)
        }
        // An HTTP/1.x request line (Kamailio's FLINE_FLAG_PROTO_HTTP): for the xhttp module.
        if isHTTPVersion(b, version), !uri.isEmpty {
            return (.request(method: SIPMethod(bytes: b, first), methodRange: first, uri: uri), version)
        }
        // A URI has a scheme before its colon (`sip:`, `tel:`, ...), never a bare `:`.
        guard !uri.isEmpty, let colon = b.firstIndex(of: ASCII.colon, in: uri), colon > uri.lowerBound else {
            throw SIPParseError(.badFirstLine, at: uri.lowerBound)
        }
        guard version.count == 7, b.equalsLowercased(version, "sip/2.0") else {
            throw SIPParseError(.badVersion, at: version.lowerBound)
        }
        return (.request(method: SIPMethod(bytes: b, first), methodRange: first, uri: uri), version)
    }

    /// RFC 3261 `token` characters.
    /// (Letters, digits and `-.!%*_+`'~`, tested as one bit of a 128-bit set.)
    @inline(__always) static func isTokenChar(_ c: UInt8) -> Bool {
        // Bit c of (high << 64 | low): `!%'*+-.` and 0-9 below 64; A-Z, `_`, `` ` ``, a-z, `~` above.
        let low: UInt64 = 0x03FF_6CA2_0000_0000
        let high: UInt64 = 0x47FF_FFFF_87FF_FFFE
        let word = c < 64 ? low : high
        return c < 128 && (word &>> UInt64(c & 63)) & 1 != 0
    }
}
