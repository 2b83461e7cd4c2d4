import Foundation
import Testing

@testable import SwiftletSIP

/// `MessageEditor.build()` writes the output into one array of its final capacity by plain
/// copies; these tests hold it to the version it replaced (kept here as the reference: the
/// output grown by `append(contentsOf:)`) on the torture messages, the fuzz corpus and
/// regressions, each with the edits a proxy makes (Via, Request-URI, header removal and
/// insertion, body and Content-Length edits) and with overlapping ones.
@Suite struct MessageEditorBuildTests {
    /// The former `build()`.
    static func referenceBuild(_ e: MessageEditor) throws(MessageEditor.Conflict) -> [UInt8] {
        let message = e.message
        let lumps = e.lumps
        var extra: [MessageEditor.Lump] = []
        if let body = e.newBody {
            let line = Array("Content-Length: \(body.count)\r\n".utf8)
            if let cl = message.firstHeader(.contentLength) {
                extra.append(MessageEditor.Lump(range: cl.lineRange, bytes: line, sequence: lumps.count))
            } else {
                extra.append(
                    MessageEditor.Lump(
                        range: message.headersEnd..<message.headersEnd, bytes: line, sequence: lumps.count))
            }
        } else if let line = e.adjustedContentLength() {
            extra.append(line)
        }
        let terminator = message.headersEnd..<message.bodyRange.lowerBound
        let b0 = message.buffer
        let terminated =
            (terminator.count == 1 && b0[terminator.lowerBound] == ASCII.lf)
            || (terminator.count == 2 && b0[terminator.lowerBound] == ASCII.cr
                && b0[terminator.lowerBound + 1] == ASCII.lf)
        if !terminated, !lumps.isEmpty || !extra.isEmpty || e.newBody != nil {
            let lastLineDeleted =
                lumps.contains { !$0.range.isEmpty && $0.range.contains(message.headersEnd - 1) }
                || extra.contains { !$0.range.isEmpty && $0.range.contains(message.headersEnd - 1) }
            if message.headersEnd > 0, b0[message.headersEnd - 1] != ASCII.lf, !lastLineDeleted {
                extra.append(
                    MessageEditor.Lump(
                        range: terminator.lowerBound..<terminator.lowerBound, bytes: [ASCII.cr, ASCII.lf],
                        sequence: -1))
            }
            extra.append(
                MessageEditor.Lump(
                    range: terminator, bytes: [ASCII.cr, ASCII.lf], sequence: lumps.count + extra.count))
        }
        if let body = e.newBody {
            extra.append(
                MessageEditor.Lump(range: message.bodyRange, bytes: body, sequence: lumps.count + extra.count))
        }
        let all = lumps + extra
        let sorted = all.sorted {
            $0.range.lowerBound != $1.range.lowerBound
                ? $0.range.lowerBound < $1.range.lowerBound
                : ($0.range.isEmpty != $1.range.isEmpty ? $0.range.isEmpty : $0.sequence < $1.sequence)
        }
        let b = message.buffer
        var out: [UInt8] = []
        var position = 0
        var lastEdit: Range<Int>? = nil
        for l in sorted {
            if l.range.lowerBound < position {
                throw MessageEditor.Conflict(first: lastEdit ?? position..<position, second: l.range)
            }
            out.append(contentsOf: b[position..<l.range.lowerBound])
            out.append(contentsOf: l.bytes)
            position = l.range.upperBound
            if !l.range.isEmpty { lastEdit = l.range }
        }
        out.append(contentsOf: b[position..<b.count])
        return out
    }

    static func compare(_ e: MessageEditor, _ label: String) {
        let expected = Result { () throws(MessageEditor.Conflict) in try referenceBuild(e) }
        let actual = Result { () throws(MessageEditor.Conflict) in try e.build() }
        switch (expected, actual) {
        case (.success(let x), .success(let y)): #expect(x == y, "\(label)")
        case (.failure(let x), .failure(let y)): #expect(x == y, "\(label)")
        default: Issue.record("\(label): reference \(expected), new \(actual)")
        }
    }

    /// The editor variants compared for one message.
    static func compareEdits(_ bytes: [UInt8], _ label: String) {
        guard let m = try? SIPMessage(parsing: bytes) else { return }
        compare(MessageEditor(m), "\(label) unchanged")

        var proxy = MessageEditor(m)
        proxy.setRequestURI("sip:bob@192.0.2.7:5070;transport=udp")
        proxy.addVia(transport: "UDP", host: "127.0.0.1", port: 5060, branch: "z9hG4bKabc", rport: true)
        if let route = m.firstHeader(.route) { proxy.removeHeader(route) }
        if let mf = m.firstHeader(.maxForwards) { proxy.replace(mf.valueRange, with: Array("69".utf8)) }
        proxy.prependHeader("Record-Route: <sip:127.0.0.1;lr>")
        proxy.appendHeader("X-Added: 1")
        compare(proxy, "\(label) proxy")

        var reply = MessageEditor(m)
        try? reply.removeTopVia()
        compare(reply, "\(label) reply")

        var body = MessageEditor(m)
        body.setBody(Array("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n".utf8))
        body.insert(Array("X-Before: y\r\n".utf8), at: m.headersEnd)
        compare(body, "\(label) body")

        if !m.bodyRange.isEmpty {
            var inBody = MessageEditor(m)
            inBody.insert(Array("a=x\r\n".utf8), at: m.bodyRange.lowerBound)
            inBody.delete(m.bodyRange.lowerBound..<m.bodyRange.lowerBound + 1)
            compare(inBody, "\(label) in body")
        }

        for h in m.headers.prefix(6) {
            var overlap = MessageEditor(m)
            overlap.delete(h.lineRange)
            overlap.replace(h.valueRange, with: Array("x".utf8))
            compare(overlap, "\(label) overlap \(h.lineRange)")

            var deleted = MessageEditor(m)
            deleted.delete(h.lineRange)
            deleted.delete(h.lineRange)
            deleted.insert([], at: h.lineRange.lowerBound)
            deleted.insert(Array("A: b\r\n".utf8), at: h.lineRange.upperBound)
            compare(deleted, "\(label) delete \(h.lineRange)")
        }

        var everywhere = MessageEditor(m)
        for at in stride(from: 0, through: bytes.count, by: max(1, bytes.count / 13)) {
            everywhere.insert(Array("<\(at)>".utf8), at: at)
        }
        everywhere.insert(Array("<end>".utf8), at: bytes.count)
        compare(everywhere, "\(label) everywhere")
    }

    @Test(arguments: tortureCases) func torture(_ c: TortureCase) throws {
        Self.compareEdits(try tortureBytes(c), c.name)
    }

    @Test func fuzzInputs() throws {
        let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz")
        var count = 0
        for dir in ["corpus", "regressions"] {
            let d = fuzz.appendingPathComponent(dir)
            for name in try FileManager.default.contentsOfDirectory(atPath: d.path) {
                Self.compareEdits([UInt8](try Data(contentsOf: d.appendingPathComponent(name))), name)
                count += 1
            }
        }
        #expect(count > 0)
    }

    /// The stateless branch written on the stack is the string `stateless(for:)` makes, and
    /// a Via added with it is the Via added with that string.
    static func compareBranch(_ bytes: [UInt8], _ label: String) {
        guard let m = try? SIPMessage(parsing: bytes) else { return }
        let via = try? m.topVia()
        let text = BranchGenerator.stateless(for: m, topVia: via)
        var written: [UInt8] = []
        BranchGenerator.withStateless(for: m, topVia: via) { written = Array($0) }
        #expect(Array(text.utf8) == written, "\(label)")
        var a = MessageEditor(m)
        a.addVia(transport: "udp", host: "::1", port: 5062, branch: text, extraParameters: ";i=a", rport: true)
        var b = MessageEditor(m)
        written.withUnsafeBufferPointer {
            b.addVia(transport: "udp", host: "::1", port: 5062, branchBytes: $0, extraParameters: ";i=a", rport: true)
        }
        #expect(a.lumps == b.lumps, "\(label)")
    }

    @Test(arguments: tortureCases) func statelessBranchOnTorture(_ c: TortureCase) throws {
        Self.compareBranch(try tortureBytes(c), c.name)
    }

    @Test func statelessBranchOnCraftedVias() {
        let vias = [
            "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-1-0", "SIP/2.0/UDP h\u{00e9}st;branch=z9hG4bKx",
            "SIP/2.0/UDP host;branch=1234", "SIP/2.0/UDP host", "SIP/2.0/UDP host:5060;branch=z9hG4bK\u{00e9}",
        ]
        for v in vias {
            for method in ["INVITE", "ACK", "CANCEL"] {
                let text = "\(method) sip:a@b SIP/2.0\r\nVia: \(v)\r\nCall-ID: c\r\nCSeq: 1 \(method)\r\n\r\n"
                Self.compareBranch(Array(text.utf8), text)
            }
        }
    }

    @Test func craftedMessages() {
        let messages = [
            "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nContent-Length: 4\r\n\r\nabcd",
            "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nMax-Forwards: 70",
            "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n",
            "SIP/2.0 200 OK\nVia: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2\n\n",
            "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\r",
        ]
        for text in messages { Self.compareEdits(Array(text.utf8), text) }
    }
}
