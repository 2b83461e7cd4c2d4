import Testing

@testable import SwiftletSIP

let sdpText =
    "v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\nm=video 51372 RTP/AVP 31\r\nc=IN IP4 192.0.2.2\r\n"

@Suite struct SIPBodyTests {
    @Test func sdpSessionAndMedia() throws {
        let m = try message(["Content-Type: application/sdp", "Content-Length: \(sdpText.utf8.count)"], body: sdpText)
        let b = m.buffer
        let sdp = try #require(try m.sdp())
        #expect(sdp.lines.count == 9)
        #expect(sdp.connection.flatMap { SDPBody.connectionAddress(b, $0) }.map(b.string) == "192.0.2.1")
        #expect(sdp.media.count == 2)
        #expect(sdp.media[0].fields(b).map(b.string) == ["audio", "49170", "RTP/AVP", "0", "8"])
        #expect(sdp.media[0].attributes.map { b.string($0.value) } == ["rtpmap:0 PCMU/8000"])
        #expect(sdp.media[1].connection.flatMap { SDPBody.connectionAddress(b, $0) }.map(b.string) == "192.0.2.2")
    }

    @Test func multipartBodyWithSDP() throws {
        let body =
            "--b1\r\nContent-Type: application/sdp\r\n\r\n\(sdpText)\r\n--b1\r\nContent-Type: application/resource-lists+xml\r\n\r\n<list/>\r\n--b1--\r\n"
        let m = try message(
            ["Content-Type: multipart/mixed;boundary=\"b1\"", "Content-Length: \(body.utf8.count)"], body: body)
        let b = m.buffer
        let parts = try #require(try m.bodyParts())
        #expect(parts.count == 2)
        #expect(b.string(parts[1].content) == "<list/>")
        #expect(try parts[1].contentType(b).map { b.string($0.subtype) } == "resource-lists+xml")
        #expect(try m.sdp()?.media.count == 2)
    }

    @Test func badBodiesAreRejected() throws {
        let m = try message(["Content-Type: application/sdp"], body: "x=broken")
        #expect(throws: SIPParseError.self) { try m.sdp() }
        let mp = try message(["Content-Type: multipart/mixed;boundary=zz"], body: "--zz\r\n\r\nno end")
        #expect(throws: SIPParseError.self) { try mp.bodyParts() }
        #expect(throws: SIPParseError.self) { try message(["Content-Type: text"]).contentType() }
    }
}

@Suite struct StreamFramerTests {
    let one = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nl: 4\r\n\r\nbody"
    let two = "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n"

    @Test func messageSplitAcrossSegmentsAndTwoInOne() throws {
        var f = StreamFramer()
        let bytes = Array(one.utf8)
        f.append(bytes[0..<10])
        #expect(try f.next() == nil)
        f.append(bytes[10..<bytes.count - 2])
        #expect(try f.next() == nil)
        f.append(bytes[(bytes.count - 2)...] + Array(two.utf8) + Array(two.utf8.prefix(5)))
        #expect(try f.next() == .message(bytes))
        #expect(try f.next() == .message(Array(two.utf8)))
        #expect(try f.next() == nil)
        #expect(f.pendingByteCount == 5)
    }

    @Test func contentLengthAmongHeadersOfTheSameInitials() throws {
        // Names starting with c/C, co/CO and l/L that are not Content-Length, a folded line,
        // the long name in any case after white space, and the compact one.
        let head =
            "MESSAGE sip:a@b SIP/2.0\r\nCall-ID: 1\r\nCSeq: 1 MESSAGE\r\nContact: <sip:c@d>\r\n"
            + "Content-Type: text/plain\r\nLocation: x\r\nSubject: a\r\n co: 9\r\n"
        for line in ["Content-Length: 3", "cOnTeNt-LeNgTh:3", "  Content-Length : 3 ", "L: 3", "l:3"] {
            var f = StreamFramer()
            let message = Array((head + line + "\r\n\r\nabc").utf8)
            f.append(message + Array("OPT".utf8))
            #expect(try f.next() == .message(message), "\(line)")
            #expect(f.pendingByteCount == 3)
        }
        var none = StreamFramer()
        none.append(Array((head + "Content-Lengths: 3\r\nLength: 3\r\n\r\n").utf8))
        #expect(throws: SIPParseError(.missingContentLength, at: 0)) { try none.next() }
    }

    @Test func bytesAsReadAndTheFirstContentLengthLine() throws {
        // Received bytes as a connection reads them (the UnsafeRawBufferPointer overload).
        var f = StreamFramer()
        let bytes = Array(one.utf8)
        bytes.withUnsafeBytes { f.append(UnsafeRawBufferPointer(rebasing: $0[0..<30])) }
        #expect(try f.next() == nil)
        bytes.withUnsafeBytes { f.append(UnsafeRawBufferPointer(rebasing: $0[30...])) }
        #expect(try f.next() == .message(bytes))
        // A bad value is reported only once the header block is complete, at the value.
        var bad = StreamFramer()
        let head = "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: x\r\nVia: h\r\n"
        bad.append(Array(head.utf8))
        #expect(try bad.next() == nil)
        bad.append(Array("\r\n".utf8))
        #expect(throws: SIPParseError(.badContentLength, at: 40)) { try bad.next() }
        // The first Content-Length line counts; LF alone ends lines and the block.
        var first = StreamFramer()
        let twice = Array("OPTIONS sip:a@b SIP/2.0\nl: 2\nContent-Length: x\n\nabOPT".utf8)
        first.append(twice)
        #expect(try first.next() == .message(Array(twice[0..<(twice.count - 3)])))
        #expect(first.pendingByteCount == 3)
    }

    @Test func keepAlives() throws {
        var f = StreamFramer()
        f.append(Array("\r\n\r\n\r\n".utf8))
        #expect(try f.next() == .ping)
        #expect(try f.next() == .pong)
        #expect(try f.next() == nil)
    }

    /// What a framer gives for `reads`: per read, the frames until nil or an error (which
    /// ends the stream), then the bytes it holds.
    private static func outcome(_ reads: [[UInt8]], inPlace: Bool, maxMessageSize: Int = 65535) -> [String] {
        var f = StreamFramer(maxMessageSize: maxMessageSize)
        var out: [String] = []
        for read in reads {
            read.withUnsafeBytes { bytes in
                if inPlace { f.appendInPlace(bytes) } else { f.append(bytes) }
                defer { if inPlace { f.endOfRead() } }
                do {
                    while let frame = try f.next() {
                        if case .message(let m) = frame {
                            out.append("message " + String(decoding: m, as: UTF8.self))
                        } else {
                            out.append("\(frame)")
                        }
                    }
                    out.append("nil")
                } catch {
                    out.append("error \(error)")
                }
                out.append("pending \(f.pendingByteCount) " + String(decoding: f.pendingBytes, as: UTF8.self))
            }
        }
        return out
    }

    @Test func bytesFramedInPlaceGiveTheSameFramesErrorsAndLeftovers() throws {
        let stream =
            Array((one + "\r\n\r\n" + two + "\r\n" + one).utf8)
            + Array("OPTIONS sip:a@b SIP/2.0\r\nl: x\r\n\r\n".utf8)
        // Every split into two reads, and three reads around each message boundary.
        for cut in 0...stream.count {
            let reads = [Array(stream[..<cut]), Array(stream[cut...])]
            #expect(Self.outcome(reads, inPlace: true) == Self.outcome(reads, inPlace: false), "cut \(cut)")
        }
        for cut in stride(from: 1, to: stream.count - 8, by: 7) {
            let reads = [Array(stream[..<cut]), Array(stream[cut..<(cut + 8)]), Array(stream[(cut + 8)...])]
            #expect(Self.outcome(reads, inPlace: true) == Self.outcome(reads, inPlace: false), "cuts \(cut)")
        }
        // Errors after a message of the same read are reported at the same offsets.
        let missing = Array((two + "OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n").utf8)
        #expect(Self.outcome([missing], inPlace: true) == Self.outcome([missing], inPlace: false))
        #expect(
            Self.outcome([missing], inPlace: true)[1].hasPrefix(
                "error stream message without Content-Length at byte 46"))
        let big = Array((two + two + "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 100\r\n\r\n").utf8)
        #expect(
            Self.outcome([big], inPlace: true, maxMessageSize: 64)
                == Self.outcome([big], inPlace: false, maxMessageSize: 64))
        // More than 64 KiB of messages in one read: what is kept afterwards, and the offset
        // of an error after them (counted from where the buffer dropped what it returned),
        // are the same.
        let many = Array(repeating: Array(two.utf8), count: 1600).flatMap { $0 }
        let reads = [many + Array(one.utf8.prefix(20)), Array(one.utf8.dropFirst(20))]
        #expect(Self.outcome(reads, inPlace: true) == Self.outcome(reads, inPlace: false))
        let refused = [many + Array("OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n".utf8)]
        let outcome = Self.outcome(refused, inPlace: true)
        #expect(outcome == Self.outcome(refused, inPlace: false))
        #expect(outcome[1600].hasPrefix("error stream message without Content-Length at byte \(1600 * 46 - 65550)"))
    }

    @Test func streamErrors() throws {
        var missing = StreamFramer()
        missing.append(Array("OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n".utf8))
        #expect(throws: SIPParseError(.missingContentLength, at: 0)) { try missing.next() }
        var big = StreamFramer(maxMessageSize: 64)
        big.append(Array("OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 100\r\n\r\n".utf8))
        #expect(throws: SIPParseError.self) { try big.next() }
        var bad = StreamFramer()
        bad.append(Array("OPTIONS sip:a@b SIP/2.0\r\nContent-Length: x\r\n\r\n".utf8))
        #expect(throws: SIPParseError.self) { try bad.next() }
    }
}

@Suite struct MessageEditorTests {
    func fields(_ m: SIPMessage) throws -> [String] {
        [
            m.methodText, m.requestURI ?? "", m.callID ?? "", m.fromTag ?? "", m.toTag ?? "",
            String(try m.cseq().number),
            String(try m.vias().count), String(m.headers.count), m.buffer.string(m.bodyRange),
        ]
    }

    /// parse -> write -> parse gives the same fields; no edits give the same bytes.
    @Test(arguments: tortureCases.filter(\.valid))
    func roundTripWithoutEdits(_ c: TortureCase) throws {
        let m = try SIPMessage(parsing: try tortureBytes(c))
        let out = try MessageEditor(m).build()
        #expect(out == m.buffer)
        #expect(try fields(SIPMessage(parsing: out)) == fields(m))
    }

    @Test func editsAreAppliedOnceInOffsetOrder() throws {
        let m = try SIPMessage(parsing: wire(optionsLines))
        var e = MessageEditor(m)
        e.addVia(transport: "udp", host: "192.0.2.10", port: 5060, branch: "z9hG4bKnew", rport: true)
        e.appendHeader("X-Second: 2")
        e.appendHeader("X-Third: 3")
        e.prependHeader("X-First: 1")
        e.removeHeaders(.recordRoute)
        e.removeHeaders(.recordRoute)
        e.setRequestURI("sip:carol@192.0.2.20")
        e.setBody(Array("hello".utf8))
        let out = try SIPMessage(parsing: try e.build())
        let b = out.buffer
        #expect(out.requestURI == "sip:carol@192.0.2.20")
        let names = out.headers.map { b.string($0.nameRange) }
        // Insertions at one offset keep the order they were made in (the new Via was added first).
        #expect(
            names == [
                "Via", "X-First", "Via", "Via", "From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Length",
                "X-Second", "X-Third",
            ])
        let top = try out.topVia()
        #expect(b.string(top.host) == "192.0.2.10")
        #expect(top.branch?.value.map(b.string) == "z9hG4bKnew")
        #expect(top.rport != nil)
        #expect(try out.contentLength() == 5)
        #expect(b.string(out.bodyRange) == "hello")
        #expect(out.validate() == [ValidationIssue(check: "content_type", detail: "a body without Content-Type")])
    }

    @Test func removingTheTopViaOfASingleOrMultiValueLine() throws {
        let single = try SIPMessage(parsing: wire(optionsLines))
        var e = MessageEditor(single)
        try e.removeTopVia()
        let s = try SIPMessage(parsing: try e.build())
        #expect(try s.vias().map { s.buffer.string($0.host) } == ["10.0.0.9"])

        let multi = try message([
            "Via: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2", "Via: SIP/2.0/UDP c;branch=z9hG4bK3",
        ])
        var e2 = MessageEditor(multi)
        try e2.removeTopVia()
        let m2 = try SIPMessage(parsing: try e2.build())
        #expect(try m2.vias().map { m2.buffer.string($0.host) } == ["b", "c"])
    }

    /// `MessageEditor.deleting(_:from:)` (tm's relayed replies) gives the bytes of an editor's
    /// `delete` then `build()` of each header line, or nil where `build()` does more.
    @Test(arguments: tortureCases.filter(\.valid))
    func deletingALineAsTheEditorDoes(_ c: TortureCase) throws {
        let m = try SIPMessage(parsing: try tortureBytes(c))
        for field in m.headers {
            var e = MessageEditor(m)
            e.delete(field.lineRange)
            let built = try e.build()
            if let fast = MessageEditor.deleting(field.lineRange, from: m) { #expect(fast == built) }
        }
    }

    @Test func deletingLeavesUnterminatedHeaderBlocksAndBodiesToTheEditor() throws {
        let m = try SIPMessage(parsing: wire(optionsLines))
        let via = try #require(m.firstHeader(.via))
        let fast = try #require(MessageEditor.deleting(via.lineRange, from: m))
        var e = MessageEditor(m)
        e.removeHeader(via)
        #expect(fast == (try e.build()))
        #expect(MessageEditor(m).isUnchanged)
        #expect(!e.isUnchanged)
        // Past the header block, or an empty range: nil.
        #expect(MessageEditor.deleting(m.headersEnd - 1..<m.headersEnd + 1, from: m) == nil)
        #expect(MessageEditor.deleting(via.lineRange.lowerBound..<via.lineRange.lowerBound, from: m) == nil)
        // A header block without its empty line: nil (build() would end it).
        let open = try SIPMessage(parsing: Array("I sip:a SIP/2.0\nv:SIP/2.0/UDP s\nX-A: 1".utf8))
        let top = try #require(open.firstHeader(.via))
        #expect(MessageEditor.deleting(top.lineRange, from: open) == nil)
    }

    @Test func overlappingEditsAreRefused() throws {
        let m = try SIPMessage(parsing: wire(optionsLines))
        var e = MessageEditor(m)
        let from = try #require(m.firstHeader(.from))
        e.replace(from.valueRange, with: Array("x".utf8))
        e.removeHeader(from)
        #expect(throws: MessageEditor.Conflict.self) { try e.build() }
    }

    @Test func statelessBranchesAreDeterministic() throws {
        let m = try SIPMessage(parsing: wire(optionsLines))
        let again = try SIPMessage(parsing: wire(optionsLines))
        #expect(BranchGenerator.stateless(for: m) == BranchGenerator.stateless(for: again))
        #expect(BranchGenerator.stateless(for: m).hasPrefix("z9hG4bK"))
        var other = optionsLines
        other[1] = "Via: SIP/2.0/UDP 127.0.0.1:5061;rport;branch=z9hG4bK-5678"
        #expect(
            BranchGenerator.stateless(for: m) != BranchGenerator.stateless(for: try SIPMessage(parsing: wire(other))))
        #expect(BranchGenerator.random() != BranchGenerator.random())
    }

    /// The stateless branch hashes the top Via's branch, host and port (and the method of an
    /// ACK or CANCEL): the same value whether the bytes are hashed in place or as texts.
    @Test func statelessBranchIsTheHashOfTheViaFields() throws {
        var lines = optionsLines
        lines[0] = "ACK sip:alice@127.0.0.1:5060 SIP/2.0"
        lines[7] = "CSeq: 7 ACK"
        let ack = try SIPMessage(parsing: wire(lines))
        #expect(
            BranchGenerator.stateless(for: ack, topVia: try ack.topVia())
                == "z9hG4bK" + TagHash.hex128(["z9hG4bK-1234", "127.0.0.1", "5061", "ACK"]))
        lines[0] = "INVITE sip:alice@127.0.0.1:5060 SIP/2.0"
        lines[1] = "Via: SIP/2.0/UDP host.example.com;branch=z9hG4bK-x7"
        lines[7] = "CSeq: 7 INVITE"
        let invite = try SIPMessage(parsing: wire(lines))
        #expect(
            BranchGenerator.stateless(for: invite)
                == "z9hG4bK" + TagHash.hex128(["z9hG4bK-x7", "host.example.com", ""]))
        var h = TagHash.Hex128()
        h.add("a".utf8)
        h.add([UInt8]())
        #expect(h.digits == TagHash.hex128(["a", ""]))
    }
}

/// Inputs found by the fuzzer (Tests/Fuzz/regressions): each once crashed or broke an invariant.
@Suite struct FuzzRegressionTests {
    @Test func anEmptyHeaderNameIsNotLookedUp() throws {
        let m = try SIPMessage(parsing: Array("K sip:a SIP/2.0\r\n\r\n".utf8))
        #expect(m.firstHeader(named: "") == nil)
        #expect(HeaderName(name: "") == .other)
    }

    @Test func whitespaceBeforeACommaInAVia() throws {
        let m = try SIPMessage(parsing: Array("T sip:a SIP/2.0\nv:SIP/2.0/C i ,".utf8))
        let vias = try m.topVia()
        #expect(vias.parametersRange.isEmpty)
        #expect(m.buffer.string(vias.host) == "i")
    }

    @Test(arguments: ["S sip:a SIP/2.0\n", "S sip:a SIP/2.0\n\r", "S sip:a SIP/2.0\nv: SIP/2.0/UDP h"])
    func editsKeepTheEndOfHeaders(input: String) throws {
        let m = try SIPMessage(parsing: Array(input.utf8))
        var e = MessageEditor(m)
        e.appendHeader("X-A: 1")
        e.setBody(Array("body".utf8))
        let out = try SIPMessage(parsing: try e.build())
        #expect(out.firstHeader(named: "X-A").map(out.value(of:)) == "1")
        #expect(out.buffer.string(out.bodyRange) == "body")
        #expect(try out.contentLength() == 4)
    }

    @Test func aWhitespaceLineBeforeAnyHeaderIsRejected() {
        #expect(throws: SIPParseError.self) { try SIPMessage(parsing: Array("SIP/2.0 401\n \n".utf8)) }
    }
}

@Suite struct FuzzRegressionTagTests {
    /// A To with a valueless `tag` parameter (then a real one) is malformed: no stateless
    /// reply is built for it, instead of one with a second To-tag.
    @Test func aValuelessTagIsMalformed() throws {
        let m = try message([
            "To: sip:bob@example.com ; tag ; tag=98asjd8", "Via: SIP/2.0/UDP h;branch=z9hG4bK1", "CSeq: 1 INVITE",
        ])
        #expect(throws: SIPParseError.self) { try m.to() }
        #expect(throws: SIPParseError.self) {
            try StatelessReply(sourceIP: "127.0.0.1", sourcePort: 1, serverHeader: nil).build(
                for: m, code: 200, reason: "OK", toTag: "t")
        }
    }
}

@Suite struct FuzzRegressionEditorTests {
    /// The unterminated last header line is removed: no stray line break becomes a body.
    @Test func removingAnUnterminatedLastLineLeavesNoBody() throws {
        let m = try SIPMessage(parsing: Array("I sip:a SIP/2.0\nX-A: 1\nv:SIP/2.0/UDP s".utf8))
        var e = MessageEditor(m)
        try e.removeTopVia()
        e.prependHeader("X-B: 2")
        let out = try SIPMessage(parsing: try e.build())
        #expect(out.bodyRange.isEmpty)
        #expect(out.headers.map { out.buffer.string($0.nameRange) } == ["X-B", "X-A"])
    }
}

@Suite struct FuzzRegressionFoldingTests {
    /// A parameter value ends at a folded line break: `received` goes before it.
    @Test func viaParameterValuesStopAtLineBreaks() throws {
        let m = try message([
            "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKa\r\n  ,SIP/2.0/UDP b;branch=z9hG4bKb",
            "CSeq: 1 INVITE",
        ])
        let via = try m.topVia()
        #expect(via.branch?.value.map(m.buffer.string) == "z9hG4bKa")
        let reply = try StatelessReply(sourceIP: "127.0.0.1", sourcePort: 1, serverHeader: nil).build(
            for: m, code: 100, reason: "Trying", toTag: nil)
        let r = try SIPMessage(parsing: reply)
        #expect(try r.vias().map { r.buffer.string($0.host) } == ["pc33.atlanta.example.com", "b"])
        #expect(try r.topVia().received?.value.map(r.buffer.string) == "127.0.0.1")
    }
}
