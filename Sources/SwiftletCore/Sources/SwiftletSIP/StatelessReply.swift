/// Builds a reply to a request the way RFC 3261 section 8.2.6 asks and Kamailio's
/// `build_res_buf_from_sip_req` does it: the status line, every Via (the top one with
/// `received`/`rport` per RFC 3261 18.2.1 and RFC 3581), Record-Route for 180-299,
/// From, To (with a To-tag added when asked and absent), Call-ID and CSeq in the
/// request's order, extra header lines, `Server`, `Content-Length` and the body.
public struct StatelessReply {
    /// Where the request came from (may be left empty when `sourceIPv4` is set).
    public var sourceIP: String
    /// The source address as a number in host order when it is IPv4: compared with the Via
    /// host and written as `received` from the number, `sourceIP` is not read (tm's 100
    /// Trying then makes no text of the address).
    public var sourceIPv4: UInt32?
    public var sourcePort: Int
    /// Fill `rport` even if the request's Via did not ask for it (`force_rport()`).
    public var forceRport: Bool
    /// The complete `Server:` header line without CRLF, or nil for none.
    public var serverHeader: String?
    /// Extra header lines (each without CRLF), placed after the copied headers.
    public var extraHeaders: [String]
    /// Extra header bytes copied as they are after `extraHeaders` (reply lumps: lines ending
    /// with CRLF; a CRLF is added when the last one has none).
    public var extraHeaderBytes: [UInt8]
    /// Body bytes (Content-Length is set accordingly).
    public var body: [UInt8]
    /// Text written right after the To-tag passed to `build` (sl's tags: a prefix fixed per
    /// server and 8 hex digits per request, written without joining them into a string of
    /// their own, which would be allocated for every reply).
    public var toTagSuffix: String
    /// Eight lower-case hex digits of this number written after `toTagSuffix` (sl's
    /// per-request part of its tags: no string made for it).
    public var toTagSuffixCode: UInt32?

    /// A builder with no extra headers, an empty body and no To-tag suffix. (Every property
    /// is set here, in order, and none has an initial value of its own: the caller's module
    /// then makes the value in place instead of calling out for each initial value and
    /// copying the whole.)
    @inlinable
    public init(sourceIP: String, sourcePort: Int, serverHeader: String?) {
        self.sourceIP = sourceIP
        self.sourceIPv4 = nil
        self.sourcePort = sourcePort
        self.forceRport = false
        self.serverHeader = serverHeader
        self.extraHeaders = []
        self.extraHeaderBytes = []
        self.body = []
        self.toTagSuffix = ""
        self.toTagSuffixCode = nil
    }

    /// A builder with the given source, `force_rport()`, extra header bytes (reply lumps),
    /// body and To-tag number, no extra header lines and no To-tag suffix text, every
    /// property set in one initialiser (sl's replies: a builder its module returned from a
    /// function of its own after setting the properties one by one was copied whole), and
    /// optionally the source as an IPv4 number (`sourceIPv4`).
    @inlinable
    public init(
        sourceIP: String, sourcePort: Int, serverHeader: String?, forceRport: Bool, extraHeaderBytes: [UInt8],
        body: [UInt8], toTagSuffixCode: UInt32?, sourceIPv4: UInt32? = nil
    ) {
        self.sourceIP = sourceIP
        self.sourceIPv4 = sourceIPv4
        self.sourcePort = sourcePort
        self.forceRport = forceRport
        self.serverHeader = serverHeader
        self.extraHeaders = []
        self.extraHeaderBytes = extraHeaderBytes
        self.body = body
        self.toTagSuffix = ""
        self.toTagSuffixCode = toTagSuffixCode
    }

    /// The reply bytes for `request`.
    /// - Parameters:
    ///   - code: status code, 100...699.
    ///   - reason: reason phrase.
    ///   - toTag: the To-tag to add when the request's To has none (only for code >= 180).
    ///   - topVia: the request's top Via when the caller has parsed it already (a message
    ///     context's `via1`); nil parses it here.
    public func build(
        for request: SIPMessage, code: Int, reason: String, toTag: String?, topVia: ViaHeader? = nil
    ) throws(SIPParseError) -> [UInt8] {
        if let topVia { return try build(for: request, code: code, reason: reason, toTag: toTag, via: topVia) }
        return try build(for: request, code: code, reason: reason, toTag: toTag, via: request.topVia())
    }

    /// `build(for:code:reason:toTag:topVia:)` with the request's parsed top Via (`via`, not
    /// copied: a `ViaHeader` is over 500 bytes).
    public func build(
        for request: SIPMessage, code: Int, reason: String, toTag: String?, via: ViaHeader
    ) throws(SIPParseError) -> [UInt8] {
        let b = request.buffer
        // The To-tag goes into each To without one (a To that does not parse fails here,
        // before anything is written): bit i of `tagged` for the i-th To.
        var tagged: UInt64 = 0
        var taggedCount = 0
        if code >= 180, toTag != nil {
            var i = 0
            for h in request.headers where h.name == .to {
                if try NameAddr.parse(b, h.valueRange).tag(b) == nil {
                    if i < 64 { tagged |= 1 << UInt64(i) }
                    taggedCount += 1
                }
                i += 1
            }
        }
        var extraCount = 0
        for line in extraHeaders { extraCount += line.utf8.count + 2 }
        // Every byte written, at most: the copied header lines (within the request, a CRLF
        // more for each Via), the status line (33 and the reason), what the top Via gains (37
        // and the address), the To-tags, the added lines with their CRLFs (6),
        // `Content-Length` (40) and the body.
        let capacity =
            b.count + 2 * request.headers.count + 33 + reason.utf8.count + 37
            + (sourceIPv4 != nil ? 15 : sourceIP.utf8.count)
            + taggedCount * ((toTag?.utf8.count ?? 0) + toTagSuffix.utf8.count + 5 + 8) + extraCount
            + extraHeaderBytes.count
            + (serverHeader?.utf8.count ?? 0) + 6 + 40 + body.count
        return b.withUnsafeBufferPointer { src in
            // Written on the stack and copied into the array when it fits the 1 KiB the
            // standard library always allows there: `[UInt8](unsafeUninitializedCapacity:)`
            // allocates through its unspecialised generic path (a metadata lookup per reply),
            // the copy from a buffer pointer does not.
            if capacity <= 1024 {
                return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
                    let n = write(
                        request, b, code: code, reason: reason, toTag: toTag, via: via, tagged: tagged,
                        taggedCount: taggedCount, src: src, into: buffer)
                    return [UInt8](UnsafeBufferPointer(rebasing: buffer[..<n]))
                }
            }
            return [UInt8](unsafeUninitializedCapacity: capacity) { buffer, written in
                written = write(
                    request, b, code: code, reason: reason, toTag: toTag, via: via, tagged: tagged,
                    taggedCount: taggedCount, src: src, into: buffer)
            }
        }
    }

    /// Writes the reply into `buffer` (of the capacity `build` computed); the bytes written.
    private func write(
        _ request: SIPMessage, _ b: [UInt8], code: Int, reason: String, toTag: String?, via: ViaHeader,
        tagged: UInt64, taggedCount: Int, src: UnsafeBufferPointer<UInt8>,
        into buffer: UnsafeMutableBufferPointer<UInt8>
    ) -> Int {
        var out = ReplyBytes(buffer)
        // Written as bytes: tm sends a 100 Trying for every INVITE.
        out.put("SIP/2.0 ")
        out.decimal(code)
        out.byte(ASCII.space)
        out.put(reason)
        out.crlf()
        var seenFirstVia = false
        var toIndex = 0
        for h in request.headers {
            switch h.name {
            case .via:
                if !seenFirstVia {
                    seenFirstVia = true
                    putTopVia(h, via, src, into: &out)
                } else {
                    out.put(src, h.lineRange.lowerBound..<h.valueRange.upperBound)
                }
                out.crlf()
            case .recordRoute:
                if code >= 180 && code < 300 { out.put(src, h.lineRange) }
            case .to:
                let i = toIndex
                toIndex += 1
                if let toTag, taggedCount > 0,
                    i < 64
                        ? tagged & (1 << UInt64(i)) != 0
                        : (try? NameAddr.parse(b, h.valueRange))?.tag(b) == nil
                {
                    out.put(src, h.lineRange.lowerBound..<h.valueRange.upperBound)
                    out.put(";tag=")
                    out.put(toTag)
                    out.put(toTagSuffix)
                    if let c = toTagSuffixCode { Self.writeHex(c, to: out.reserve(8)) }
                    out.put(src, h.valueRange.upperBound..<h.lineRange.upperBound)
                } else {
                    out.put(src, h.lineRange)
                }
            case .from, .callID, .cseq:
                out.put(src, h.lineRange)
            default:
                break
            }
        }
        if out.count > 0, out.last != ASCII.lf { out.crlf() }
        for line in extraHeaders {
            out.put(line)
            out.crlf()
        }
        if !extraHeaderBytes.isEmpty {
            extraHeaderBytes.withUnsafeBufferPointer { out.put($0, 0..<$0.count) }
            let n = extraHeaderBytes.count
            if n < 2 || extraHeaderBytes[n - 2] != ASCII.cr || extraHeaderBytes[n - 1] != ASCII.lf {
                out.crlf()
            }
        }
        if let serverHeader {
            out.put(serverHeader)
            out.crlf()
        }
        out.put("Content-Length: ")
        out.decimal(body.count)
        out.crlf()
        out.crlf()
        body.withUnsafeBufferPointer { out.put($0, 0..<$0.count) }
        return out.count
    }

    /// `v` as 8 lower-case hex digits at `p`.
    @inlinable
    public static func writeHex(_ v: UInt32, to p: UnsafeMutablePointer<UInt8>) {
        for i in 0..<8 {
            let d = UInt8(truncatingIfNeeded: v >> UInt32(28 - 4 * i)) & 0xf
            p[i] = d < 10 ? 0x30 + d : 0x57 + d
        }
    }

    /// Appends `value` in decimal (a minus sign first when negative).
    static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var v = value.magnitude
        // The digits are written backwards on the stack and appended at once (appending them
        // one by one checks the array's capacity and uniqueness for each).
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var i = digits.count
            repeat {
                i -= 1
                digits[i] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            } while v > 0
            out.append(contentsOf: UnsafeMutableBufferPointer(rebasing: digits[i...]))
        }
    }

    /// Copies the first Via header field with `rport` filled and `received` added to its
    /// first value (not after the last value of a multi-value line, as Kamailio does).
    private func putTopVia(
        _ h: HeaderField, _ via: ViaHeader, _ b: UnsafeBufferPointer<UInt8>, into out: inout ReplyBytes
    ) {
        let rport = via.rport
        let needsRport = forceRport || rport != nil
        let needsReceived = via.received != nil || rport != nil || !Self.isSource(b, via.host, sourceIPv4, sourceIP)
        out.put(b, h.lineRange.lowerBound..<via.range.lowerBound)
        if needsRport, let rport {
            out.put(b, via.range.lowerBound..<rport.range.lowerBound)
            out.put(";rport=")
            out.decimal(sourcePort)
            out.put(b, rport.range.upperBound..<via.range.upperBound)
        } else {
            out.put(b, via.range)
            if needsRport {
                out.put(";rport=")
                out.decimal(sourcePort)
            }
        }
        if needsReceived {
            out.put(";received=")
            if let v4 = sourceIPv4 {
                out.decimal(Int(v4 >> 24))
                out.byte(UInt8(ascii: "."))
                out.decimal(Int((v4 >> 16) & 0xff))
                out.byte(UInt8(ascii: "."))
                out.decimal(Int((v4 >> 8) & 0xff))
                out.byte(UInt8(ascii: "."))
                out.decimal(Int(v4 & 0xff))
            } else {
                out.put(sourceIP)
            }
        }
        out.put(b, via.range.upperBound..<h.valueRange.upperBound)
    }

    /// Whether the Via host at `host` is the source address: with `sourceIPv4`, an IPv4
    /// literal (brackets allowed, as `IPAddressText.bytes` reads it) of the same number (no
    /// other text is the same address as an IPv4 source), else `sameAddress`.
    private static func isSource(
        _ b: UnsafeBufferPointer<UInt8>, _ host: Range<Int>, _ sourceIPv4: UInt32?, _ sourceIP: String
    ) -> Bool {
        guard let v4 = sourceIPv4 else { return sameAddress(b, host, sourceIP) }
        var r = host
        if r.count >= 2, b[r.lowerBound] == UInt8(ascii: "["), b[r.upperBound - 1] == UInt8(ascii: "]") {
            r = r.lowerBound + 1..<r.upperBound - 1
        }
        return IPAddressText.ipv4(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: b[r]))) == v4
    }

    /// `IPAddressText.sameAddress` of the Via host and the source address; the same text is
    /// the same address without parsing either (the source is always an address).
    private static func sameAddress(_ b: UnsafeBufferPointer<UInt8>, _ host: Range<Int>, _ ip: String) -> Bool {
        var ip = ip
        let equal = ip.withUTF8 { t -> Bool in
            guard t.count == host.count else { return false }
            for k in 0..<t.count where b[host.lowerBound + k] != t[k] { return false }
            return true
        }
        if equal { return true }
        return IPAddressText.sameAddress(
            host: String(decoding: UnsafeBufferPointer(rebasing: b[host]), as: UTF8.self), ip: ip)
    }

    /// Where a reply to `request` goes (RFC 3261 18.2.2 for unreliable transports, RFC 3581):
    /// the source address, and the source port when the top Via carries `rport` (or it is
    /// forced), else the Via's sent-by port (default 5060).
    public static func destinationPort(for request: SIPMessage, sourcePort: Int, forceRport: Bool) -> Int {
        guard let via = try? request.topVia() else { return sourcePort }
        if forceRport || via.rport != nil { return sourcePort }
        return via.port ?? 5060
    }
}

/// The reply being written into its array's uninitialised storage, with the capacity
/// computed beforehand (a write past it is a bug, and traps).
struct ReplyBytes {
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private(set) var count = 0

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        base = buffer.baseAddress!
        capacity = buffer.count
    }

    var last: UInt8? { count > 0 ? base[count - 1] : nil }

    /// Room for `n` more bytes, counted as written: the caller fills them.
    mutating func reserve(_ n: Int) -> UnsafeMutablePointer<UInt8> {
        precondition(n >= 0 && count + n <= capacity, "reply longer than its computed size")
        let p = base + count
        count += n
        return p
    }

    mutating func byte(_ c: UInt8) { reserve(1).pointee = c }

    mutating func crlf() {
        let p = reserve(2)
        p[0] = ASCII.cr
        p[1] = ASCII.lf
    }

    mutating func put(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) {
        precondition(r.lowerBound >= 0 && r.upperBound <= b.count, "range outside the message")
        guard !r.isEmpty else { return }
        reserve(r.count).update(from: b.baseAddress! + r.lowerBound, count: r.count)
    }

    mutating func put(_ s: StaticString) {
        reserve(s.utf8CodeUnitCount).update(from: s.utf8Start, count: s.utf8CodeUnitCount)
    }

    mutating func put(_ s: String) {
        // From the string's own storage: a copy (`var s = s`) costs a retain and a release.
        let done: Void? = s.utf8.withContiguousStorageIfAvailable { put($0, 0..<$0.count) }
        if done == nil {
            var s = s
            s.withUTF8 { put($0, 0..<$0.count) }
        }
    }

    /// `value` in decimal (a minus sign first when negative).
    mutating func decimal(_ value: Int) {
        if value < 0 { byte(UInt8(ascii: "-")) }
        var v = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: the 20 digits of UInt64.max
        withUnsafeMutableBytes(of: &digits) { d in
            var i = d.count
            repeat {
                i -= 1
                d[i] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            } while v > 0
            let n = d.count - i
            reserve(n).update(from: d.baseAddress!.assumingMemoryBound(to: UInt8.self) + i, count: n)
        }
    }
}
