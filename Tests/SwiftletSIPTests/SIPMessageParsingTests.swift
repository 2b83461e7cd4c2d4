import Testing

@testable import SwiftletSIP

/// Builds wire bytes from lines joined by CRLF (the last element "" ends the header block).
func wire(_ lines: [String], body: String = "") -> [UInt8] {
    Array((lines.joined(separator: "\r\n") + "\r\n" + body).utf8)
}

let optionsLines = [
    "OPTIONS sip:alice@127.0.0.1:5060;transport=udp SIP/2.0",
    "Via: SIP/2.0/UDP 127.0.0.1:5061;rport;branch=z9hG4bK-1234",
    "Via: SIP/2.0/UDP 10.0.0.9:5070;branch=z9hG4bK-up",
    "Record-Route: <sip:10.1.1.1;lr>",
    "From: \"Alice A\" <sip:alice@example.com>;tag=abc",
    "To: <sip:bob@example.com>",
    "Call-ID: cid-1@host",
    "CSeq: 7 OPTIONS",
    "Max-Forwards: 70",
    "Content-Length: 0",
    "",
]

@Suite struct SIPMessageParsingTests {
    @Test func requestFieldsAreParsed() throws {
        let m = try SIPMessage(parsing: wire(optionsLines))
        #expect(m.isRequest)
        #expect(m.method == .options)
        #expect(m.methodText == "OPTIONS")
        #expect(m.requestURI == "sip:alice@127.0.0.1:5060;transport=udp")
        #expect(m.headers.count == 9)
        #expect(
            m.headers.map(\.name) == [
                .via, .via, .recordRoute, .from, .to, .callID, .cseq, .maxForwards, .contentLength,
            ])
        #expect(m.callID == "cid-1@host")
        let cseq = try m.cseq()
        #expect(cseq.number == 7)
        #expect(cseq.method == .options)
        #expect(m.fromTag == "abc")
        #expect(m.toTag == nil)
        #expect(m.bodyRange.isEmpty)

        let via = try m.topVia()
        let b = m.buffer
        #expect(b.string(via.transport) == "UDP")
        #expect(b.string(via.host) == "127.0.0.1")
        #expect(via.port == 5061)
        #expect(via.parameters(b).map { b.string($0.name) } == ["rport", "branch"])
        #expect(via.parameter(b, "rport")?.value == nil)
        #expect(via.parameter(b, "branch").flatMap { $0.value.map(b.string) } == "z9hG4bK-1234")
        #expect(b.string(via.range) == "SIP/2.0/UDP 127.0.0.1:5061;rport;branch=z9hG4bK-1234")
    }

    @Test func responseLineIsParsed() throws {
        let m = try SIPMessage(
            parsing: wire(["SIP/2.0 486 Busy Here", "Via: SIP/2.0/UDP h;branch=z9hG4bKx", "CSeq: 2 INVITE", ""]))
        #expect(!m.isRequest)
        #expect(m.statusCode == 486)
        #expect(m.methodText == "INVITE")
        if case .response(_, let reason) = m.firstLine {
            #expect(m.buffer.string(reason) == "Busy Here")
        } else {
            Issue.record("not a response")
        }
    }

    @Test func compactFormsAndCaseAreRecognised() throws {
        let m = try SIPMessage(
            parsing: wire([
                "INVITE sip:b@h SIP/2.0", "v: SIP/2.0/TCP h:5080;branch=z9hG4bKc", "f: <sip:a@h>;tag=1", "t: sip:b@h",
                "i: abc", "CSEQ: 1 INVITE", "l: 0", "m: <sip:a@1.2.3.4>", "",
            ]))
        #expect(m.headers.map(\.name) == [.via, .from, .to, .callID, .cseq, .contentLength, .contact])
        #expect(m.callID == "abc")
        #expect(m.firstHeader(named: "Call-ID").map(m.value(of:)) == "abc")
        #expect(m.firstHeader(named: "contact").map(m.value(of:)) == "<sip:a@1.2.3.4>")
    }

    @Test func foldedHeaderLinesJoinTheirHeader() throws {
        let m = try SIPMessage(
            parsing: wire([
                "OPTIONS sip:h SIP/2.0", "Via: SIP/2.0/UDP h;branch=z9hG4bKf", "Subject: first", "  second",
                "CSeq: 1 OPTIONS", "",
            ]))
        let subject = try #require(m.firstHeader(.subject))
        #expect(m.value(of: subject) == "first\r\n  second")
        #expect(m.headers.count == 3)
    }

    @Test func bareLineFeedsAreAccepted() throws {
        let m = try SIPMessage(
            parsing: Array("OPTIONS sip:h SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bKl\nCall-ID: lf\n\n".utf8))
        #expect(m.callID == "lf")
    }

    @Test func bodyIsBoundedByContentLength() throws {
        var lines = optionsLines
        lines[9] = "Content-Length: 4"
        let m = try SIPMessage(parsing: wire(lines, body: "v=0\nextra"))
        #expect(m.buffer.string(m.bodyRange) == "v=0\n")
    }

    @Test(arguments: [
        ("", SIPParseError.Reason.empty),
        ("\r\n\r\n", .empty),
        ("GARBAGE\r\n\r\n", .badFirstLine),
        ("OPTIONS sip:h SIP/3.0\r\n\r\n", .badVersion),
        ("OPTIONS nocolon SIP/2.0\r\n\r\n", .badFirstLine),
        ("OPTIONS : SIP/2.0\r\n\r\n", .badFirstLine),
        ("SIP/2.0 20 OK\r\n\r\n", .badStatusCode),
        ("SIP/2.0 999 OK\r\n\r\n", .badStatusCode),
        ("OPTIONS sip:h SIP/2.0\r\nNoColonHere\r\n\r\n", .badHeader),
        ("OPTIONS sip:h SIP/2.0\r\nContent-Length: x\r\n\r\n", .badContentLength),
        ("OPTIONS sip:h SIP/2.0\r\nContent-Length: 10\r\n\r\nabc", .truncatedBody),
    ])
    func malformedMessagesAreRejected(text: String, reason: SIPParseError.Reason) {
        #expect(throws: SIPParseError.self) { try SIPMessage(parsing: Array(text.utf8)) }
        do {
            _ = try SIPMessage(parsing: Array(text.utf8))
        } catch {
            #expect(error.reason == reason)
        }
    }

    @Test(arguments: [
        "SIP/2.0/UDP",
        "HTTP/1.1/UDP h",
        "SIP/2.0/UDP h:99999",
        "SIP/2.0/UDP h;=x",
        "SIP/2.0/UDP [::1",
    ])
    func malformedViaIsRejected(value: String) throws {
        let m = try SIPMessage(parsing: wire(["OPTIONS sip:h SIP/2.0", "Via: \(value)", ""]))
        #expect(throws: SIPParseError.self) { try m.topVia() }
    }

    @Test func ipv6ViaAndMultiValueLine() throws {
        let m = try SIPMessage(
            parsing: wire([
                "OPTIONS sip:h SIP/2.0",
                "Via: SIP/2.0/UDP [2001:db8::1]:5062;branch=z9hG4bKa, SIP/2.0/UDP b;branch=z9hG4bKb", "",
            ]))
        let via = try m.topVia()
        #expect(m.buffer.string(via.host) == "2001:db8::1")
        #expect(via.port == 5062)
        #expect(m.buffer.string(via.range) == "SIP/2.0/UDP [2001:db8::1]:5062;branch=z9hG4bKa")
    }

    @Test func uriParsing() throws {
        let u = try #require(SIPURI("sip:alice:secret@[2001:db8::1]:5070;transport=tcp;lr?Subject=x"))
        #expect(u.scheme == "sip")
        #expect(u.user == "alice")
        #expect(u.password == "secret")
        #expect(u.host == "[2001:db8::1]")
        #expect(u.port == 5070)
        #expect(u.parameter("transport") == "tcp")
        #expect(u.parameter("lr") == "")
        #expect(u.headers == "Subject=x")
        #expect(SIPURI("http://x") == nil)
        #expect(SIPURI("sip:@") == nil)
        #expect(HeaderURI.uriText("\"A\" <sip:a@b;x=1>;tag=2") == "sip:a@b;x=1")
        #expect(HeaderURI.uriText("sip:a@b;tag=2") == "sip:a@b")
    }

    @Test func requestMethodRangeIsTheMethodTokenOfRequestsOnly() throws {
        let m = try SIPMessage(parsing: wire(optionsLines))
        #expect(m.requestMethodRange.map(m.buffer.string) == "OPTIONS")
        let reply = try SIPMessage(
            parsing: wire(["SIP/2.0 200 OK", "Via: SIP/2.0/UDP h;branch=z9hG4bKx", "CSeq: 2 INVITE", ""]))
        #expect(reply.requestMethodRange == nil)
    }

    @Test func callIDCSeqFromToPresenceFollowsTheHeaders() throws {
        #expect(try SIPMessage(parsing: wire(optionsLines)).hasCallIDCSeqFromTo)
        // Compact forms count (i, f, t); each of the four missing makes it false.
        let compact = [
            "OPTIONS sip:a@h SIP/2.0", "v: SIP/2.0/UDP h;branch=z9hG4bKx", "f: <sip:a@h>;tag=1", "t: <sip:b@h>",
            "i: c1", "CSeq: 1 OPTIONS", "",
        ]
        #expect(try SIPMessage(parsing: wire(compact)).hasCallIDCSeqFromTo)
        for dropped in ["From:", "To:", "Call-ID:", "CSeq:"] {
            let lines = optionsLines.filter { !$0.hasPrefix(dropped) }
            #expect(lines.count == optionsLines.count - 1)
            #expect(try !SIPMessage(parsing: wire(lines)).hasCallIDCSeqFromTo, "without \(dropped)")
        }
    }
}

/// HTTP/1.x request lines (what xhttp serves on the SIP listeners).
@Suite struct HTTPRequestLineTests {
    @Test func httpRequestsParseWithTheirURL() throws {
        let m = try SIPMessage(parsing: Array("POST /RPC?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}".utf8))
        #expect(m.isHTTP)
        #expect(m.isRequest)
        #expect(m.methodText == "POST")
        #expect(m.httpURL == "/RPC?x=1")
        #expect(m.buffer[m.bodyRange].count == 2)
        let sip = try SIPMessage(parsing: Array("OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n".utf8))
        #expect(!sip.isHTTP)
        #expect(sip.httpURL == nil)
        #expect(throws: SIPParseError.self) { try SIPMessage(parsing: Array("GET / HTTP/2.0\r\n\r\n".utf8)) }
        #expect(throws: SIPParseError.self) { try SIPMessage(parsing: Array("GET /x SIP/2.0\r\n\r\n".utf8)) }
    }

    @Test func requestLineDetection() {
        #expect(SIPMessage.startsWithHTTPRequestLine(Array("GET / HTTP/1.1\r\nHost: x".utf8)))
        #expect(SIPMessage.startsWithHTTPRequestLine(Array("POST /RPC HTTP/1.0\n".utf8)))
        #expect(!SIPMessage.startsWithHTTPRequestLine(Array("INVITE sip:a@b SIP/2.0\r\n".utf8)))
        #expect(!SIPMessage.startsWithHTTPRequestLine(Array("GET / HTTP/1.1".utf8)))  // no line end yet
    }
}
