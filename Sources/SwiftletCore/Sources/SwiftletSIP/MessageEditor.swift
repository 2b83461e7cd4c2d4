/// Deferred edits to a received message (Kamailio's `data_lump`): insertions, deletions
/// and replacements at offsets of the original buffer, recorded while the script runs and
/// applied once, in a single pass, when the outgoing message is built.
public struct MessageEditor {
    /// One recorded edit. A pure insertion has an empty `range`.
    public struct Lump: Sendable, Equatable {
        public let range: Range<Int>
        public let bytes: [UInt8]
        let sequence: Int
    }

    /// Two edits that cannot both be applied.
    public struct Conflict: Error, Equatable, CustomStringConvertible {
        public let first: Range<Int>
        public let second: Range<Int>
        public var description: String { "overlapping edits at \(first) and \(second)" }
    }

    public let message: SIPMessage
    public private(set) var lumps: [Lump] = []
    /// The new body, when replaced: Content-Length is then rewritten on build.
    private(set) var newBody: [UInt8]? = nil

    public init(_ message: SIPMessage) { self.message = message }

    /// Nothing edited yet: no edit recorded and the body not replaced (`build()` would
    /// return the message as it is, or with its header block terminated).
    public var isUnchanged: Bool { lumps.isEmpty && newBody == nil }

    /// The message with `range` (inside the header block) deleted: the bytes `build()` makes
    /// after the single edit `delete(range)` of an unchanged editor, made without one (tm
    /// relaying a reply without our Via). nil when `build()` would do more than that (an
    /// empty range, a range reaching past the header block, or a header block that does not
    /// end in an empty line), then the editor is for the caller to use.
    public static func deleting(_ range: Range<Int>, from message: SIPMessage) -> [UInt8]? {
        let b = message.buffer
        let end = message.headersEnd
        let terminator = end..<message.bodyRange.lowerBound
        let terminated =
            (terminator.count == 1 && b[terminator.lowerBound] == ASCII.lf)
            || (terminator.count == 2 && b[terminator.lowerBound] == ASCII.cr
                && b[terminator.lowerBound + 1] == ASCII.lf)
        guard !range.isEmpty, range.lowerBound >= 0, range.upperBound <= end, terminated else { return nil }
        // Two copies from the raw bytes into an array of the exact size (slices of `b` would
        // retain it; `Array(unsafeUninitializedCapacity:)` allocates through a generic path).
        var out: [UInt8] = []
        out.reserveCapacity(b.count - range.count)
        b.withUnsafeBufferPointer { src in
            out.append(contentsOf: UnsafeBufferPointer(rebasing: src[0..<range.lowerBound]))
            out.append(contentsOf: UnsafeBufferPointer(rebasing: src[range.upperBound..<src.count]))
        }
        return out
    }

    private mutating func record(_ range: Range<Int>, _ bytes: [UInt8]) {
        // A forwarded request collects about ten edits (Via, Record-Route, Route removal,
        // Max-Forwards, received/rport...): room for them at once instead of growing by one.
        if lumps.capacity == 0 { lumps.reserveCapacity(16) }
        lumps.append(Lump(range: range, bytes: bytes, sequence: lumps.count))
    }

    // MARK: primitive edits

    /// Inserts `bytes` at `offset`; insertions at one offset keep their order.
    public mutating func insert(_ bytes: [UInt8], at offset: Int) { record(offset..<offset, bytes) }

    /// Deletes `range`. Deleting exactly the same range twice is the same as once.
    public mutating func delete(_ range: Range<Int>) {
        if lumps.contains(where: { $0.range == range && $0.bytes.isEmpty && !range.isEmpty }) { return }
        record(range, [])
    }

    /// Replaces `range` with `bytes`. Replacing exactly the range of an earlier replacement
    /// again overwrites that edit (as Kamailio's in-place rewrites, e.g. Max-Forwards).
    public mutating func replace(_ range: Range<Int>, with bytes: [UInt8]) {
        if !range.isEmpty, let i = lumps.lastIndex(where: { $0.range == range && !$0.bytes.isEmpty }) {
            lumps[i] = Lump(range: range, bytes: bytes, sequence: lumps[i].sequence)
            return
        }
        record(range, bytes)
    }

    // MARK: header edits

    /// Adds a header line (given without CRLF) before the header field `field`.
    public mutating func insertHeader(_ line: String, before field: HeaderField) {
        insert(Array((line + "\r\n").utf8), at: field.lineRange.lowerBound)
    }

    /// Adds a header line (given without CRLF) after the header field `field`.
    public mutating func insertHeader(_ line: String, after field: HeaderField) {
        insert(Array((line + "\r\n").utf8), at: field.lineRange.upperBound)
    }

    /// Adds a header line (given without CRLF) at the end of the header block (Kamailio's
    /// `append_hf`).
    public mutating func appendHeader(_ line: String) {
        insert(Array((line + "\r\n").utf8), at: message.headersEnd)
    }

    /// Adds a header line at the start of the header block (Kamailio's `insert_hf`).
    public mutating func prependHeader(_ line: String) {
        insert(Array((line + "\r\n").utf8), at: message.headers.first?.lineRange.lowerBound ?? message.headersEnd)
    }

    /// Removes a header field (its whole line, folded continuations included).
    public mutating func removeHeader(_ field: HeaderField) { delete(field.lineRange) }

    /// Removes every header field of a kind; returns how many.
    @discardableResult
    public mutating func removeHeaders(_ name: HeaderName) -> Int {
        let fields = message.headers(name)
        for f in fields { removeHeader(f) }
        return fields.count
    }

    /// Replaces the Request-URI.
    public mutating func setRequestURI(_ uri: String) {
        guard let r = message.requestURIRange else { return }
        replace(r, with: Array(uri.utf8))
    }

    /// Replaces the body; Content-Length is rewritten (or added) when the message is built.
    public mutating func setBody(_ body: [UInt8]) {
        newBody = body
    }

    /// Adds a Via line on top of the existing ones (a proxy forwarding a request).
    /// `extraParameters` (e.g. `;i=1`) follow the branch, then `;rport` when asked for.
    public mutating func addVia(
        transport: String, host: String, port: Int?, branch: String, extraParameters: String = "", rport: Bool = false
    ) {
        var branch = branch
        branch.withUTF8 { br in
            addVia(
                transport: transport, host: host, port: port, branchBytes: br, extraParameters: extraParameters,
                rport: rport)
        }
    }

    /// `addVia` with the branch given as its UTF-8 bytes (a stateless branch made on the stack).
    public mutating func addVia(
        transport: String, host: String, port: Int?, branchBytes: UnsafeBufferPointer<UInt8>,
        extraParameters: String = "", rport: Bool = false
    ) {
        let line = Self.viaLine(
            transport: transport, host: host, port: port, branch: branchBytes, extraParameters: extraParameters,
            rport: rport)
        let at =
            message.firstHeader(.via)?.lineRange.lowerBound ?? message.headers.first?.lineRange.lowerBound
            ?? message.headersEnd
        insert(line, at: at)
    }

    /// The Via line `addVia` inserts: its length counted first, then the bytes written into
    /// an array of exactly that size (this runs for every forwarded request).
    static func viaLine(
        transport: String, host: String, port: Int?, branch: String, extraParameters: String, rport: Bool
    ) -> [UInt8] {
        var branch = branch
        return branch.withUTF8 { br in
            viaLine(
                transport: transport, host: host, port: port, branch: br, extraParameters: extraParameters,
                rport: rport)
        }
    }

    /// `viaLine` with the branch as UTF-8 bytes.
    static func viaLine(
        transport: String, host: String, port: Int?, branch br: UnsafeBufferPointer<UInt8>, extraParameters: String,
        rport: Bool
    ) -> [UInt8] {
        var transport = transport
        // A transport that is not ASCII is uppercased as a string (its length may change).
        guard transport.withUTF8({ t in t.allSatisfy({ $0 < 0x80 }) }) else {
            return slowViaLine(
                transport: transport.uppercased(), host: host, port: port,
                branch: String(decoding: br, as: UTF8.self), extra: extraParameters, rport: rport)
        }
        var host = host
        var extra = extraParameters
        return transport.withUTF8 { t in
            host.withUTF8 { h in
                extra.withUTF8 { x in
                    let bracket = h.contains(UInt8(ascii: ":")) && h.first != UInt8(ascii: "[")
                    var portDigits = 0
                    if let port {
                        var v = port.magnitude
                        repeat {
                            portDigits += 1
                            v /= 10
                        } while v > 0
                        portDigits += 1 + (port < 0 ? 1 : 0)  // the colon, a sign
                    }
                    let prefix: StaticString = "Via: SIP/2.0/"
                    let branchName: StaticString = ";branch="
                    let rportName: StaticString = ";rport"
                    let count =
                        prefix.utf8CodeUnitCount + t.count + 1 + (bracket ? 2 : 0) + h.count + portDigits
                        + branchName.utf8CodeUnitCount + br.count + x.count
                        + (rport ? rportName.utf8CodeUnitCount : 0) + 2
                    // Written on the stack, then copied into an array of that size
                    // (`Array(unsafeUninitializedCapacity:)` allocates through a generic path).
                    return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count) { out in
                        let p = out.baseAddress!
                        var n = 0
                        @inline(__always) func put(_ s: StaticString) {
                            (p + n).initialize(from: s.utf8Start, count: s.utf8CodeUnitCount)
                            n += s.utf8CodeUnitCount
                        }
                        @inline(__always) func put(_ u: UnsafeBufferPointer<UInt8>) {
                            if let base = u.baseAddress { (p + n).initialize(from: base, count: u.count) }
                            n += u.count
                        }
                        @inline(__always) func put(_ c: UInt8) {
                            p[n] = c
                            n += 1
                        }
                        put(prefix)
                        for c in t { put(c >= 0x61 && c <= 0x7A ? c - 0x20 : c) }
                        put(UInt8(ascii: " "))
                        if bracket { put(UInt8(ascii: "[")) }
                        put(h)
                        if bracket { put(UInt8(ascii: "]")) }
                        if let port {
                            put(UInt8(ascii: ":"))
                            if port < 0 { put(UInt8(ascii: "-")) }
                            let digits = portDigits - 1 - (port < 0 ? 1 : 0)
                            var v = port.magnitude
                            for k in stride(from: digits - 1, through: 0, by: -1) {
                                p[n + k] = UInt8(ascii: "0") + UInt8(v % 10)
                                v /= 10
                            }
                            n += digits
                        }
                        put(branchName)
                        put(br)
                        put(x)
                        if rport { put(rportName) }
                        put(ASCII.cr)
                        put(ASCII.lf)
                        return [UInt8](UnsafeBufferPointer(start: p, count: n))
                    }
                }
            }
        }
    }

    /// `viaLine` for a transport uppercased already (not ASCII).
    private static func slowViaLine(
        transport: String, host: String, port: Int?, branch: String, extra: String, rport: Bool
    ) -> [UInt8] {
        var line: [UInt8] = []
        appendUTF8("Via: SIP/2.0/", to: &line)
        appendUTF8(transport, to: &line)
        line.append(UInt8(ascii: " "))
        var hostText = host
        let bracket = hostText.withUTF8 { h in h.contains(UInt8(ascii: ":")) && h.first != UInt8(ascii: "[") }
        if bracket { line.append(UInt8(ascii: "[")) }
        appendUTF8(hostText, to: &line)
        if bracket { line.append(UInt8(ascii: "]")) }
        if let port {
            line.append(UInt8(ascii: ":"))
            StatelessReply.appendDecimal(port, to: &line)
        }
        appendUTF8(";branch=", to: &line)
        appendUTF8(branch, to: &line)
        if !extra.isEmpty { appendUTF8(extra, to: &line) }
        if rport { appendUTF8(";rport", to: &line) }
        line.append(ASCII.cr)
        line.append(ASCII.lf)
        return line
    }

    /// Appends the UTF-8 bytes of `text` in one copy (appending `text.utf8` goes byte by byte).
    @inline(__always)
    static func appendUTF8(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { out.append(contentsOf: $0) }
    }

    /// Removes the top Via value (a proxy forwarding a reply): the whole line when it holds
    /// one value, else the first value and its comma.
    public mutating func removeTopVia() throws(SIPParseError) {
        guard let field = message.firstHeader(.via) else { throw SIPParseError(.badVia, at: 0) }
        let via = try ViaHeader.parse(message.buffer, field.valueRange)
        if let next = via.nextValueStart {
            var end = next
            while end < field.valueRange.upperBound, ASCII.isWhitespace(message.buffer[end]) { end += 1 }
            delete(field.valueRange.lowerBound..<end)
        } else {
            removeHeader(field)
        }
    }

    // MARK: building

    /// Edits inside the body change its length: the Content-Length value follows, as Kamailio's
    /// `adjust_clen` does — unless an edit already touches the Content-Length line.
    func adjustedContentLength() -> Lump? {
        let body = message.bodyRange
        var delta = 0
        var touched = false
        for l in lumps where l.range.lowerBound >= body.lowerBound && l.range.lowerBound <= body.upperBound {
            touched = true
            delta += l.bytes.count - l.range.count
        }
        guard touched, delta != 0, let cl = message.firstHeader(.contentLength) else { return nil }
        if lumps.contains(where: { $0.range.overlaps(cl.lineRange) || cl.lineRange.contains($0.range.lowerBound) }) {
            return nil
        }
        // Only the value changes (the name and spacing stay as received).
        return Lump(range: cl.valueRange, bytes: Array(String(body.count + delta).utf8), sequence: lumps.count)
    }

    /// The edited message. Edits are applied in offset order; insertions at one offset in
    /// the order they were made. Overlapping deletions/replacements are refused.
    public func build() throws(Conflict) -> [UInt8] {
        // The lumps are applied in offset order without copying them (sorting a copy of
        // `lumps` would allocate for every message built): the order is sorted as indices on
        // the stack; the few lumps made here go in `extra`, numbered after `lumps`.
        var extra: [Lump] = []
        // Order at one offset: the script's insertions, then Content-Length, then the end of
        // headers, then the body (they meet at one offset when the header block is unterminated).
        if let body = newBody {
            let line = Array("Content-Length: \(body.count)\r\n".utf8)
            if let cl = message.firstHeader(.contentLength) {
                extra.append(Lump(range: cl.lineRange, bytes: line, sequence: lumps.count))
            } else {
                extra.append(
                    Lump(range: message.headersEnd..<message.headersEnd, bytes: line, sequence: lumps.count))
            }
        } else if let line = adjustedContentLength() {
            extra.append(line)
        }
        // A header block without a complete empty line after it (the input ended, or ended
        // in a lone CR) gets one, so that added headers and a body stay apart.
        let terminator = message.headersEnd..<message.bodyRange.lowerBound
        let b0 = message.buffer
        let terminated =
            (terminator.count == 1 && b0[terminator.lowerBound] == ASCII.lf)
            || (terminator.count == 2 && b0[terminator.lowerBound] == ASCII.cr
                && b0[terminator.lowerBound + 1] == ASCII.lf)
        if !terminated, !lumps.isEmpty || !extra.isEmpty || newBody != nil {
            let lastLineDeleted =
                lumps.contains { !$0.range.isEmpty && $0.range.contains(message.headersEnd - 1) }
                || extra.contains { !$0.range.isEmpty && $0.range.contains(message.headersEnd - 1) }
            if message.headersEnd > 0, b0[message.headersEnd - 1] != ASCII.lf, !lastLineDeleted {
                // The last header line itself is unterminated: end it before anything is added.
                extra.append(
                    Lump(
                        range: terminator.lowerBound..<terminator.lowerBound, bytes: [ASCII.cr, ASCII.lf], sequence: -1)
                )
            }
            extra.append(
                Lump(range: terminator, bytes: [ASCII.cr, ASCII.lf], sequence: lumps.count + extra.count))
        }
        if let body = newBody {
            extra.append(Lump(range: message.bodyRange, bytes: body, sequence: lumps.count + extra.count))
        }
        let b = message.buffer
        let own = lumps.count
        let total = own + extra.count
        return try lumps.withUnsafeBufferPointer { (l) throws(Conflict) -> [UInt8] in
            try extra.withUnsafeBufferPointer { (x) throws(Conflict) -> [UInt8] in
                @inline(__always) func range(_ i: Int) -> Range<Int> { i < own ? l[i].range : x[i - own].range }
                @inline(__always) func sequence(_ i: Int) -> Int { i < own ? l[i].sequence : x[i - own].sequence }
                var added = 0
                for e in l { added += e.bytes.count }
                for e in x { added += e.bytes.count }
                // The edits sorted and checked first, then the output written in one array
                // (room for the message and every insertion) by copies from the raw bytes.
                return try withUnsafeTemporaryAllocation(of: Int.self, capacity: max(total, 1)) {
                    (order) throws(Conflict) -> [UInt8] in
                    for i in 0..<total { order.initializeElement(at: i, to: i) }
                    var sorted = UnsafeMutableBufferPointer(rebasing: order[0..<total])
                    sorted.sort {
                        let p = range($0)
                        let q = range($1)
                        return p.lowerBound != q.lowerBound
                            ? p.lowerBound < q.lowerBound
                            : (p.isEmpty != q.isEmpty ? p.isEmpty : sequence($0) < sequence($1))
                    }
                    var position = 0
                    var lastEdit: Range<Int>? = nil
                    for i in sorted {
                        let r = range(i)
                        if r.lowerBound < position {
                            throw Conflict(first: lastEdit ?? position..<position, second: r)
                        }
                        // As slicing the buffer would: an edit outside the message traps.
                        precondition(r.upperBound <= b.count, "edit outside the message")
                        position = r.upperBound
                        if !r.isEmpty { lastEdit = r }
                    }
                    // Plain copies into uninitialized room (`ByteArrayFill`: on the stack
                    // first when it fits): cheaper than an `append(contentsOf:)` for each piece.
                    return b.withUnsafeBufferPointer { src in
                        ByteArrayFill.make(capacity: b.count + added) { out in
                            let dst = out.baseAddress!
                            var n = 0
                            @inline(__always) func copy(_ from: UnsafeBufferPointer<UInt8>) {
                                guard let base = from.baseAddress, from.count > 0 else { return }
                                (dst + n).initialize(from: base, count: from.count)
                                n += from.count
                            }
                            var at = 0
                            for i in sorted {
                                let r = range(i)
                                copy(UnsafeBufferPointer(rebasing: src[at..<r.lowerBound]))
                                if i < own {
                                    l[i].bytes.withUnsafeBufferPointer { copy($0) }
                                } else {
                                    x[i - own].bytes.withUnsafeBufferPointer { copy($0) }
                                }
                                at = r.upperBound
                            }
                            copy(UnsafeBufferPointer(rebasing: src[at..<src.count]))
                            return n
                        }
                    }
                }
            }
        }
    }
}

/// Via `branch` values (RFC 3261 section 8.1.1.7: the magic cookie `z9hG4bK` then a value
/// unique per transaction).
public enum BranchGenerator {
    public static let magicCookie = "z9hG4bK"

    /// A deterministic branch for a request forwarded statelessly (RFC 3261 section 16.11):
    /// the same request (a retransmission) gets the same branch; different requests get
    /// different ones. Derived from the received top Via branch when it is RFC 3261
    /// compliant, else from the fields that identify the transaction.
    public static func stateless(for msg: SIPMessage) -> String {
        stateless(for: msg, topVia: try? msg.topVia())
    }

    /// `stateless(for:)` with the message's top Via parsed already (nil: it does not parse).
    public static func stateless(for msg: SIPMessage, topVia: ViaHeader?) -> String {
        if let h = statelessHash(for: msg, topVia: topVia) { return withMagicCookie(h) }
        return textStateless(for: msg, topVia: topVia)
    }

    /// `stateless(for:topVia:)` handed to `body` as its UTF-8 bytes: the usual branch (an RFC
    /// 3261 top Via in ASCII) is written on the stack, no string is made.
    public static func withStateless(
        for msg: SIPMessage, topVia: ViaHeader?, _ body: (UnsafeBufferPointer<UInt8>) -> Void
    ) {
        guard let h = statelessHash(for: msg, topVia: topVia) else {
            var text = textStateless(for: msg, topVia: topVia)
            return text.withUTF8 { body($0) }
        }
        // The 39 bytes in a local tuple (not generic: no metadata is looked up per call).
        var bytes: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { raw in
            let p = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            writeWithMagicCookie(h, to: p)
            body(UnsafeBufferPointer(start: p, count: 7 + 32))
        }
    }

    /// The hash of the usual branch: the received RFC 3261 branch, the sent-by host and port
    /// (and the method of an ACK or CANCEL) hashed in place; nil when the top Via is missing,
    /// not RFC 3261 or not ASCII there (the text path decides then).
    static func statelessHash(for msg: SIPMessage, topVia: ViaHeader?) -> TagHash.Hex128? {
        let b = msg.buffer
        guard let via = topVia, via.hasRFC3261Branch(b), let branch = via.branch?.value else { return nil }
        let port = via.portRange ?? via.host.upperBound..<via.host.upperBound
        // The ranges hashed in place, as the same texts would be (an ACK's branch is
        // computed for each one relayed); bytes that are not ASCII take the text path,
        // whose UTF-8 decoding may replace them.
        guard b[branch].allSatisfy({ $0 < 0x80 }), b[via.host].allSatisfy({ $0 < 0x80 }),
            b[port].allSatisfy({ $0 < 0x80 })
        else { return nil }
        var h = TagHash.Hex128()
        h.add(b[branch])
        h.add(b[via.host])
        h.add(b[port])
        if msg.method == .cancel || msg.method == .ack { h.add((msg.method?.name ?? "").utf8) }
        return h
    }

    /// `stateless(for:topVia:)` from texts (the top Via is missing, not RFC 3261 or not ASCII).
    static func textStateless(for msg: SIPMessage, topVia: ViaHeader?) -> String {
        let b = msg.buffer
        var parts: [String] = []
        if let via = topVia, via.hasRFC3261Branch(b), let branch = via.branch?.value {
            let port = via.portRange ?? via.host.upperBound..<via.host.upperBound
            let ack = msg.method == .cancel || msg.method == .ack
            parts = [b.string(branch), b.string(via.host), b.string(port)]
            if ack { parts.append(msg.method?.name ?? "") }
        } else {
            parts = [
                msg.requestURI ?? "", msg.callID ?? "", msg.fromTag ?? "", msg.toTag ?? "",
                (try? msg.cseq()).map { String($0.number) } ?? "",
                topVia.map { b.string($0.range) } ?? "",
            ]
        }
        return magicCookie + TagHash.hex128(parts)
    }

    /// `magicCookie + h.digits`, written as one string (an ACK relayed statelessly makes one).
    static func withMagicCookie(_ h: TagHash.Hex128) -> String {
        let cookie: StaticString = "z9hG4bK"
        let n = cookie.utf8CodeUnitCount
        return String(unsafeUninitializedCapacity: n + 32) { out in
            writeWithMagicCookie(h, to: out.baseAddress!)
            return n + 32
        }
    }

    /// Writes the 39 bytes of `withMagicCookie(h)` at `p`.
    @inline(__always)
    static func writeWithMagicCookie(_ h: TagHash.Hex128, to p: UnsafeMutablePointer<UInt8>) {
        let cookie: StaticString = "z9hG4bK"
        let n = cookie.utf8CodeUnitCount
        p.initialize(from: cookie.utf8Start, count: n)
        var x = h.h1
        var y = h.h2
        for i in stride(from: 15, through: 0, by: -1) {
            let d = UInt8(truncatingIfNeeded: x & 0xf)
            let e = UInt8(truncatingIfNeeded: y & 0xf)
            p[n + i] = d < 10 ? 0x30 + d : 0x57 + d
            p[n + 16 + i] = e < 10 ? 0x30 + e : 0x57 + e
            x >>= 4
            y >>= 4
        }
    }

    /// A fresh random branch.
    public static func random() -> String {
        var g = SystemRandomNumberGenerator()
        return magicCookie + String(g.next(), radix: 16) + String(g.next(), radix: 16)
    }
}
