// libFuzzer harness for the SwiftletSIP message layer.
//
// Built together with Sources/SwiftletCore/Sources/SwiftletSIP/*.swift into one module by
// scripts/fuzz.sh (swiftc -sanitize=fuzzer,address). It only uses the public API, so it
// would also build against the SwiftletSIP module across a module boundary.
//
// For every input it parses the bytes as a SIP message and, when that succeeds, drives every
// typed accessor, the URI parsers, the stateless reply builder, the lumps editor and the
// validator; independently it feeds the bytes to a StreamFramer in two chunks. Parse errors
// (SIPParseError) are expected and ignored. What counts as a finding:
//   - a crash or trap (index out of range, arithmetic overflow, ...), found by the runtime,
//   - a hang (libFuzzer -timeout),
//   - a violated invariant, reported with `violated(...)` (a fatalError, so libFuzzer saves
//     the input as a crash): a reply or an edited message that no longer parses or lost what
//     was put into it, a URI that does not survive SIPURI -> text -> SIPURI, a framer that
//     loses or invents bytes.

#if canImport(Glibc)
    import Glibc
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    SIPFuzzer.run(bytes)
    return 0
}

enum SIPFuzzer {
    /// Results are folded into this value so the optimiser cannot drop accessor calls.
    nonisolated(unsafe) static var sink = 0

    @inline(__always) static func keep(_ x: Int) { sink = sink &+ x }
    @inline(__always) static func keep(_ x: Int?) { if let x { sink = sink &+ x } }
    @inline(__always) static func keep(_ r: Range<Int>?) { if let r { sink = sink &+ r.lowerBound &+ r.count } }
    @inline(__always) static func keep(_ s: String?) { if let s { sink = sink &+ s.utf8.count } }

    /// The input being processed (for the violation report).
    nonisolated(unsafe) static var current: [UInt8] = []

    /// Known, reported defects to step over so that a run can look for other ones:
    /// `SIPFUZZ_IGNORE=id[,id...]` (see Tests/Fuzz/README.md). Empty by default: every check is on.
    ///   - `empty-header-name`: skip `firstHeader(named: "")` (HeaderName.classify traps on an
    ///     empty name).
    ///   - `editor-empty-line`: skip the checks on edited messages when the input's header block
    ///     does not end with a plain empty line (`CRLF` or `LF`): when it is missing, unterminated
    ///     (a lone CR at the end of the input) or whitespace-only, MessageEditor copies it as it
    ///     is and the edited message loses its end of headers.
    ///   - `via-space-before-comma`: skip messages with a Via value where whitespace comes right
    ///     before a comma (ViaHeader.parse builds a reversed range there and traps).
    ///   - `to-tag-flag`: skip the reply's To-tag check when the request's To has a `tag`
    ///     parameter without a value (`;tag`): StatelessReply appends `;tag=...` after it and
    ///     the first, valueless one still wins.
    static let ignored: Set<String> = {
        guard let v = getenv("SIPFUZZ_IGNORE") else { return [] }
        return Set(String(cString: v).split(separator: ",").map { String($0) })
    }()

    static func run(_ bytes: [UInt8]) {
        current = bytes
        framer(bytes)
        guard let m = try? SIPMessage(parsing: bytes) else { return }
        if ignored.contains("via-space-before-comma"), hasSpaceBeforeCommaInVia(m) { return }
        accessors(m)
        reply(m)
        editAddVia(m)
        editRemoveTopVia(m)
        // Last, so that an input's other defects show first.
        if !ignored.contains("empty-header-name") {
            keep(m.firstHeader(named: "").map(m.value(of:)))
            keep(Int(HeaderName(name: "").rawValue))
        }
    }

    /// A Via field value with whitespace (or a line break) right before a comma.
    static func hasSpaceBeforeCommaInVia(_ m: SIPMessage) -> Bool {
        let b = m.buffer
        for h in m.headers where h.name == .via {
            for k in h.valueRange where b[k] == 44 && k > h.valueRange.lowerBound {
                if [32, 9, 13, 10].contains(b[k - 1]) { return true }
            }
        }
        return false
    }

    // MARK: reporting

    /// Prints the input (and a derived message, if any) escaped, then traps.
    static func violated(_ what: String, derived: [UInt8]? = nil) -> Never {
        var report =
            "\n==SIPFUZZ== invariant violated: \(what)\n==SIPFUZZ== input (\(current.count) bytes): \(escape(current))\n"
        if let derived { report += "==SIPFUZZ== derived message (\(derived.count) bytes): \(escape(derived))\n" }
        fputs(report, stderr)
        fatalError("SIPFUZZ: " + what)
    }

    static func escape(_ b: [UInt8]) -> String {
        var s = ""
        for c in b.prefix(2048) {
            switch c {
            case 13: s += "\\r"
            case 10: s += "\\n"
            case 9: s += "\\t"
            case 92: s += "\\\\"
            case 32..<127: s.unicodeScalars.append(Unicode.Scalar(c))
            default:
                let hex = Array("0123456789abcdef".utf8)
                s += "\\x" + String(decoding: [hex[Int(c >> 4)], hex[Int(c & 15)]], as: UTF8.self)
            }
        }
        return b.count > 2048 ? s + "..." : s
    }

    // MARK: stream framing

    /// Feeds the input in two chunks (the split point derived from the bytes, so a run is
    /// reproducible) and drains `next()` after each. No byte may be lost or invented, and
    /// every `next()` that returns a frame must consume something.
    static func framer(_ bytes: [UInt8]) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for c in bytes { hash = (hash ^ UInt64(c)) &* 0x0000_0100_0000_01b3 }
        let split = Int(hash % UInt64(bytes.count + 1))
        for maxSize in [65535, 256] {
            var f = StreamFramer(maxMessageSize: maxSize)
            var consumed = 0
            var appended = 0
            var closed = false
            for chunk in [bytes[0..<split], bytes[split..<bytes.count]] where !closed {
                f.append(chunk)
                appended += chunk.count
                var rounds = 0
                while true {
                    rounds += 1
                    if rounds > bytes.count + 2 {
                        violated("StreamFramer.next() returns frames without consuming bytes")
                    }
                    let frame: StreamFramer.Frame?
                    do { frame = try f.next() } catch {
                        closed = true  // the connection would be closed
                        break
                    }
                    guard let frame else { break }
                    switch frame {
                    case .message(let m):
                        if m.isEmpty { violated("StreamFramer returned an empty message") }
                        if m.count > maxSize { violated("StreamFramer returned a message over maxMessageSize") }
                        consumed += m.count
                        if let msg = try? SIPMessage(parsing: m) { keep(msg.headers.count) }
                    case .ping: consumed += 4
                    case .pong: consumed += 2
                    }
                }
                if !closed, consumed + f.pendingByteCount != appended {
                    violated(
                        "StreamFramer lost bytes: appended \(appended), framed \(consumed), pending \(f.pendingByteCount)"
                    )
                }
            }
        }
    }

    // MARK: accessors

    static func accessors(_ m: SIPMessage) {
        let b = m.buffer
        keep(m.isRequest ? 1 : 0)
        keep(m.methodText)
        keep(m.method?.name)
        keep(m.requestURI)
        keep(m.statusCode ?? 0)
        keep(m.callID)
        keep(m.toTag)
        keep(m.fromTag)
        keep(m.bodyRange)
        if case .response(_, let reason) = m.firstLine { keep(reason) }
        for name in ["Call-ID", "contact", "X-Unknown", "v", "Content-Length"] {
            keep(m.firstHeader(named: name).map(m.value(of:)))
        }

        if let v = try? m.topVia() {
            keep(v.parameters(b).count)
            keep(v.parameter(b, "branch")?.value)
            keep(v.hasRFC3261Branch(b) ? 1 : 0)
            keep(IPAddressText.bytes(b.string(v.host))?.count ?? 0)
            keep(IPAddressText.sameAddress(host: b.string(v.host), ip: "127.0.0.1") ? 1 : 0)
        }
        if let vias = try? m.vias() {
            for v in vias {
                keep(v.range)
                keep(v.port ?? 0)
                keep(v.received?.value)
                keep(v.rport?.range)
            }
        }
        if let c = try? m.cseq() { keep(Int(c.number)); keep(c.method.name) }

        var addrs: [NameAddr] = []
        if let f = try? m.from() { addrs.append(f) }
        if let t = try? m.to() { addrs.append(t) }
        if let c = try? m.contacts() { addrs += c }
        if let c = try? m.firstContact() { addrs.append(c) }
        for name in [HeaderName.route, .recordRoute, .path, .pAssertedIdentity, .diversion, .referTo, .serviceRoute] {
            if let a = try? m.nameAddrs(name) { addrs += a }
        }
        for a in addrs {
            keep(a.displayNameText(b))
            keep(a.tag(b))
            keep(a.parameters(b).count)
            keep(a.isWildcard ? 1 : 0)
            uri(b, a.uri)
        }
        if let r = m.requestURIRange { uri(b, r) }
        if let u = try? m.requestURIComponents() { keep(u.parameters(b).count) }

        keep(try? m.maxForwards())
        keep(try? m.expires())
        keep(try? m.contentLength())
        if let ct = try? m.contentType() {
            keep(ct.parameters.count)
            keep(ct.boundary(b)?.count ?? 0)
            keep(ct.isType(b, "application", "sdp") ? 1 : 0)
        }
        for name in [HeaderName.supported, .require, .allow, .proxyRequire, .unsupported, .allowEvents, .accept] {
            for t in m.tokens(name) { keep(t) }
        }
        for p in m.privacy() { keep(p) }
        for name in [HeaderName.authorization, .proxyAuthorization, .wwwAuthenticate, .proxyAuthenticate] {
            if let d = try? m.digest(name) {
                keep(d.isDigest(b) ? 1 : 0)
                keep(d.string(b, "nonce"))
                keep(d.string(b, "username"))
                if let u = d.parameter(b, "uri") { keep(HeaderScanner.unquote(b, u)) }
            }
        }
        for name in [HeaderName.event, .sessionExpires, .subscriptionState, .minSE, .contentDisposition] {
            if let t = try? m.tokenWithParameters(name) { keep(t.token); keep(t.parameters.count) }
        }
        keep((try? m.rseq()).map { Int($0) })
        if let r = try? m.rack() { keep(Int(r.responseNumber)); keep(Int(r.cseqNumber)); keep(r.method) }
        if let i = try? m.identity() { keep(i.signature); keep(i.parameters.count) }
        if let parts = try? m.bodyParts() {
            for p in parts {
                keep(p.content)
                keep(p.headers.count)
                if let ct = try? p.contentType(b) { keep(ct.subtype) }
            }
        }
        if let sdp = try? m.sdp() {
            keep(sdp.lines.count)
            if let c = sdp.connection { keep(SDPBody.connectionAddress(b, c)) }
            for media in sdp.media {
                keep(media.fields(b).count)
                keep(media.attributes.count)
                if let c = media.connection { keep(SDPBody.connectionAddress(b, c)) }
            }
        }
        for issue in m.validate() { keep(issue.description) }

        for field in m.headers {
            let parts = HeaderScanner.splitValues(b, field.valueRange)
            for p in parts {
                if p.lowerBound < field.valueRange.lowerBound || p.upperBound > field.valueRange.upperBound {
                    violated("HeaderScanner.splitValues returned \(p) outside the value \(field.valueRange)")
                }
                keep(p)
            }
            keep(HeaderURI.uriText(m.value(of: field)))
        }
        keep(BranchGenerator.stateless(for: m))
        keep(TagHash.crcitt(b, [m.callIDRange ?? 0..<0, m.versionRange]))
        keep(StatelessReply.destinationPort(for: m, sourcePort: 5062, forceRport: false))
    }

    /// Parses a URI range both ways; a SIP/SIPS/TEL URI must survive SIPURI -> text -> SIPURI.
    static func uri(_ b: [UInt8], _ r: Range<Int>) {
        if let u = try? URIComponents.parse(b, r) {
            keep(u.host)
            keep(u.port ?? 0)
            keep(u.parameters(b).count)
            if let user = u.user { keep(URIEscaping.unescape(b, user)?.count ?? 0) }
            if let h = u.headers { keep(URIEscaping.unescape(b, h)?.count ?? 0) }
        }
        let text = b.string(r)
        keep(URIEscaping.unescape(text))
        guard let s = SIPURI(text) else { return }
        let again = s.text
        guard let s2 = SIPURI(again) else { violated("SIPURI(\"\(text)\").text = \"\(again)\" does not parse") }
        if s2 != s { violated("SIPURI round trip changed \"\(text)\" -> \"\(again)\": \(s) vs \(s2)") }
        keep(s.parameter("transport"))
    }

    // MARK: stateless reply

    /// A request's stateless 200 must parse and keep the transaction's identity.
    static func reply(_ m: SIPMessage) {
        guard m.isRequest else { return }
        let builder = StatelessReply(sourceIP: "127.0.0.1", sourcePort: 5060, serverHeader: "Server: x")
        let out: [UInt8]
        do { out = try builder.build(for: m, code: 200, reason: "OK", toTag: "t") } catch { return }
        let r: SIPMessage
        do { r = try SIPMessage(parsing: out) } catch {
            violated("stateless reply does not parse: \(error)", derived: out)
        }
        if r.statusCode != 200 {
            violated("stateless reply has status \(String(describing: r.statusCode))", derived: out)
        }
        if r.callID != m.callID { violated("stateless reply changed the Call-ID", derived: out) }
        if (try? r.contentLength()) != 0 { violated("stateless reply has no Content-Length: 0", derived: out) }
        if !r.bodyRange.isEmpty { violated("stateless reply has a body", derived: out) }
        if let c = try? m.cseq() {
            guard let rc = try? r.cseq() else { violated("stateless reply CSeq does not parse", derived: out) }
            if rc.number != c.number { violated("stateless reply changed the CSeq number", derived: out) }
        }
        if let vias = try? m.vias() {
            guard let rv = try? r.vias() else { violated("stateless reply Vias do not parse", derived: out) }
            if rv.count != vias.count {
                violated("stateless reply has \(rv.count) Vias, the request \(vias.count)", derived: out)
            }
            if let top = vias.first, let rtop = rv.first, r.buffer.string(rtop.host) != m.buffer.string(top.host) {
                violated("stateless reply changed the top Via host", derived: out)
            }
        }
        if let to = try? m.to(), ignored.contains("to-tag-flag"), to.parameter(m.buffer, "tag") != nil,
            to.tag(m.buffer) == nil
        {
            keep(r.toTag)
        } else if let to = try? m.to(), to.tag(m.buffer) == nil {
            if r.toTag != "t" {
                violated("stateless reply did not get the To-tag (got \(r.toTag ?? "none"))", derived: out)
            }
        } else if let tag = m.toTag, r.toTag != tag {
            violated("stateless reply changed the To-tag", derived: out)
        }
    }

    // MARK: lumps editor

    static let newBody: [UInt8] = Array("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n".utf8)

    /// What a proxy does to a request: a Via on top, a header at the end, Route removed, a new
    /// body. The result must parse and carry every edit.
    static func editAddVia(_ m: SIPMessage) {
        var e = MessageEditor(m)
        e.addVia(transport: "udp", host: "2001:db8::1", port: 5060, branch: "z9hG4bKfuzz", rport: true)
        e.appendHeader("X-A: 1")
        e.removeHeaders(.route)
        e.setBody(newBody)
        let out: [UInt8]
        do { out = try e.build() } catch { violated("MessageEditor.build() refused its own edits: \(error)") }
        if ignored.contains("editor-empty-line"), !hasPlainEmptyLine(m) {
            if let r = try? SIPMessage(parsing: out) { accessors(r) }
            return
        }
        let r: SIPMessage
        do { r = try SIPMessage(parsing: out) } catch {
            violated("edited message does not parse: \(error)", derived: out)
        }
        if Array(r.buffer[r.bodyRange]) != newBody { violated("edited message lost its new body", derived: out) }
        if (try? r.contentLength()) != newBody.count {
            violated("edited message has a wrong Content-Length", derived: out)
        }
        guard let xa = r.firstHeader(named: "X-A") else {
            violated("edited message lost the appended header", derived: out)
        }
        if r.value(of: xa) != "1" { violated("appended header has value \(r.value(of: xa))", derived: out) }
        if !r.headers(.route).isEmpty { violated("edited message still has a Route header", derived: out) }
        guard let top = try? r.topVia() else { violated("edited message: the added Via does not parse", derived: out) }
        if top.branch?.value.map(r.buffer.string) != "z9hG4bKfuzz" || r.buffer.string(top.host) != "2001:db8::1" {
            violated("edited message: the added Via is not on top", derived: out)
        }
        if let vias = try? m.vias() {
            guard let rv = try? r.vias() else { violated("edited message: Vias no longer parse", derived: out) }
            if rv.count != vias.count + 1 {
                violated("edited message has \(rv.count) Vias, expected \(vias.count + 1)", derived: out)
            }
        }
        if m.isRequest != r.isRequest || m.statusCode != r.statusCode || m.methodText != r.methodText {
            violated("edited message changed its first line", derived: out)
        }
        accessors(r)
    }

    /// True when the header block ends with a plain empty line: exactly `CRLF` or `LF` between
    /// the last header and the body.
    static func hasPlainEmptyLine(_ m: SIPMessage) -> Bool {
        guard m.headersEnd < m.buffer.count, m.headersEnd <= m.bodyRange.lowerBound else { return false }
        let line = Array(m.buffer[m.headersEnd..<m.bodyRange.lowerBound])
        return line == [13, 10] || line == [10]
    }

    /// What a proxy does to a reply (top Via removed) plus a Request-URI rewrite and a header
    /// at the top. The result must parse, with one Via less.
    static func editRemoveTopVia(_ m: SIPMessage) {
        var e = MessageEditor(m)
        let hadVia: Bool
        do {
            try e.removeTopVia()
            hadVia = true
        } catch { hadVia = false }
        e.setRequestURI("sip:new@[2001:db8::2]:5070;transport=tcp")
        e.prependHeader("X-B: 2")
        let out: [UInt8]
        do { out = try e.build() } catch { violated("MessageEditor.build() refused its own edits: \(error)") }
        if ignored.contains("editor-empty-line"), !hasPlainEmptyLine(m) {
            if let r = try? SIPMessage(parsing: out) { keep(r.headers.count) }
            return
        }
        let r: SIPMessage
        do { r = try SIPMessage(parsing: out) } catch {
            violated("edited message does not parse: \(error)", derived: out)
        }
        if m.isRequest, r.requestURI != "sip:new@[2001:db8::2]:5070;transport=tcp" {
            violated("edited message lost its new Request-URI", derived: out)
        }
        if r.firstHeader(named: "X-B").map(r.value(of:)) != "2" {
            violated("edited message lost the prepended header", derived: out)
        }
        if Array(r.buffer[r.bodyRange]) != Array(m.buffer[m.bodyRange]) {
            violated("edited message changed its body", derived: out)
        }
        if hadVia, let vias = try? m.vias() {
            let rv = (try? r.vias()) ?? []
            if rv.count != vias.count - 1 {
                violated("after removeTopVia: \(rv.count) Vias, expected \(vias.count - 1)", derived: out)
            }
        }
    }
}
