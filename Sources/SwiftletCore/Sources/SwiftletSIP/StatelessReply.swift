/// Builds a reply to a request the way RFC 3261 section 8.2.6 asks and Kamailio's
/// `build_res_buf_from_sip_req` does it: the status line, every Via (the top one with
/// `received`/`rport` per RFC 3261 18.2.1 and RFC 3581), Record-Route for 180-299,
/// From, To (with a To-tag added when asked and absent), Call-ID and CSeq in the
/// request's order, extra header lines, `Server`, `Content-Length` and the body.
public struct StatelessReply {
    /// Where the request came from.
    public var sourceIP: String
    public var sourcePort: Int
    /// Fill `rport` even if the request's Via did not ask for it (`force_rport()`).
    public var forceRport: Bool = false
    /// The complete `Server:` header line without CRLF, or nil for none.
    public var serverHeader: String?
    /// Extra header lines (each without CRLF), placed after the copied headers.
    public var extraHeaders: [String] = []
    /// Extra header bytes copied as they are after `extraHeaders` (reply lumps: lines ending
    /// with CRLF; a CRLF is added when the last one has none).
    public var extraHeaderBytes: [UInt8] = []
    /// Body bytes (Content-Length is set accordingly).
    public var body: [UInt8] = []

    public init(sourceIP: String, sourcePort: Int, serverHeader: String?) {
        self.sourceIP = sourceIP
        self.sourcePort = sourcePort
        self.serverHeader = serverHeader
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
        let b = request.buffer
        let via: ViaHeader
        if let topVia { via = topVia } else { via = try request.topVia() }
        var out: [UInt8] = []
        out.reserveCapacity(b.count + 128 + reason.utf8.count)
        // Written as bytes: tm sends a 100 Trying for every INVITE.
        MessageEditor.appendUTF8("SIP/2.0 ", to: &out)
        Self.appendDecimal(code, to: &out)
        out.append(ASCII.space)
        MessageEditor.appendUTF8(reason, to: &out)
        out.append(contentsOf: [ASCII.cr, ASCII.lf])

        var seenFirstVia = false
        for h in request.headers {
            switch h.name {
            case .via:
                if !seenFirstVia {
                    seenFirstVia = true
                    appendTopVia(h, via, b, into: &out)
                } else {
                    out.append(contentsOf: b[h.lineRange.lowerBound..<h.valueRange.upperBound])
                }
                out.append(contentsOf: [ASCII.cr, ASCII.lf])
            case .recordRoute:
                if code >= 180 && code < 300 { out.append(contentsOf: b[h.lineRange]) }
            case .to:
                if code >= 180, let toTag, try NameAddr.parse(b, h.valueRange).tag(b) == nil {
                    out.append(contentsOf: b[h.lineRange.lowerBound..<h.valueRange.upperBound])
                    MessageEditor.appendUTF8(";tag=", to: &out)
                    MessageEditor.appendUTF8(toTag, to: &out)
                    out.append(contentsOf: b[h.valueRange.upperBound..<h.lineRange.upperBound])
                } else {
                    out.append(contentsOf: b[h.lineRange])
                }
            case .from, .callID, .cseq:
                out.append(contentsOf: b[h.lineRange])
            default:
                break
            }
        }
        if let last = out.last, last != ASCII.lf { out.append(contentsOf: [ASCII.cr, ASCII.lf]) }
        for line in extraHeaders {
            MessageEditor.appendUTF8(line, to: &out)
            out.append(contentsOf: [ASCII.cr, ASCII.lf])
        }
        if !extraHeaderBytes.isEmpty {
            out.append(contentsOf: extraHeaderBytes)
            let n = extraHeaderBytes.count
            if n < 2 || extraHeaderBytes[n - 2] != ASCII.cr || extraHeaderBytes[n - 1] != ASCII.lf {
                out.append(contentsOf: [ASCII.cr, ASCII.lf])
            }
        }
        if let serverHeader {
            MessageEditor.appendUTF8(serverHeader, to: &out)
            out.append(contentsOf: [ASCII.cr, ASCII.lf])
        }
        MessageEditor.appendUTF8("Content-Length: ", to: &out)
        Self.appendDecimal(body.count, to: &out)
        out.append(contentsOf: [ASCII.cr, ASCII.lf, ASCII.cr, ASCII.lf])
        out.append(contentsOf: body)
        return out
    }

    /// Appends `value` in decimal (a minus sign first when negative).
    static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        let v = value.magnitude
        var divisor: UInt = 1
        while divisor <= v / 10 { divisor *= 10 }
        repeat {
            out.append(UInt8(ascii: "0") + UInt8((v / divisor) % 10))
            divisor /= 10
        } while divisor > 0
    }

    /// Copies the first Via header field with `rport` filled and `received` added to its
    /// first value (not after the last value of a multi-value line, as Kamailio does).
    private func appendTopVia(_ h: HeaderField, _ via: ViaHeader, _ b: [UInt8], into out: inout [UInt8]) {
        let rport = via.rport
        let needsRport = forceRport || rport != nil
        let needsReceived =
            via.received != nil || rport != nil
            || !IPAddressText.sameAddress(host: b.string(via.host), ip: sourceIP)
        out.append(contentsOf: b[h.lineRange.lowerBound..<via.range.lowerBound])
        if needsRport, let rport {
            out.append(contentsOf: b[via.range.lowerBound..<rport.range.lowerBound])
            MessageEditor.appendUTF8(";rport=", to: &out)
            Self.appendDecimal(sourcePort, to: &out)
            out.append(contentsOf: b[rport.range.upperBound..<via.range.upperBound])
        } else {
            out.append(contentsOf: b[via.range])
            if needsRport {
                MessageEditor.appendUTF8(";rport=", to: &out)
                Self.appendDecimal(sourcePort, to: &out)
            }
        }
        if needsReceived {
            MessageEditor.appendUTF8(";received=", to: &out)
            MessageEditor.appendUTF8(sourceIP, to: &out)
        }
        out.append(contentsOf: b[via.range.upperBound..<h.valueRange.upperBound])
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
