import Testing

@testable import SwiftletSIP

@Suite struct StatelessReplyTests {
    /// The reply Kamailio 5.6.3 sends for this request (captured on loopback), with our
    /// Server header and tag: Vias with rport/received, RR (2xx only), From, To+tag, Call-ID, CSeq.
    @Test func replyMatchesKamailioLayout() throws {
        let m = try SIPMessage(parsing: wire(optionsLines))
        let builder = StatelessReply(sourceIP: "127.0.0.1", sourcePort: 5061, serverHeader: "Server: test")
        let reply = try builder.build(for: m, code: 200, reason: "OK", toTag: "TAG")
        #expect(
            String(decoding: reply, as: UTF8.self)
                == [
                    "SIP/2.0 200 OK",
                    "Via: SIP/2.0/UDP 127.0.0.1:5061;rport=5061;branch=z9hG4bK-1234;received=127.0.0.1",
                    "Via: SIP/2.0/UDP 10.0.0.9:5070;branch=z9hG4bK-up",
                    "Record-Route: <sip:10.1.1.1;lr>",
                    "From: \"Alice A\" <sip:alice@example.com>;tag=abc",
                    "To: <sip:bob@example.com>;tag=TAG",
                    "Call-ID: cid-1@host",
                    "CSeq: 7 OPTIONS",
                    "Server: test",
                    "Content-Length: 0",
                    "", "",
                ].joined(separator: "\r\n"))
    }

    @Test func negativeReplyHasNoRecordRouteAndKeepsExistingTag() throws {
        var lines = optionsLines
        lines[5] = "To: <sip:bob@example.com>;tag=xyz"
        lines[1] = "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1234"
        let m = try SIPMessage(parsing: wire(lines))
        let reply = try StatelessReply(sourceIP: "127.0.0.1", sourcePort: 40000, serverHeader: nil).build(
            for: m, code: 404, reason: "Not Here", toTag: "NEW")
        let text = String(decoding: reply, as: UTF8.self)
        #expect(!text.contains("Record-Route"))
        #expect(text.contains("\r\nTo: <sip:bob@example.com>;tag=xyz\r\n"))
        #expect(text.contains("\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1234\r\n"))
        #expect(!text.contains("Server:"))
        #expect(text.hasPrefix("SIP/2.0 404 Not Here\r\n"))
    }

    @Test func receivedIsAddedWhenTheViaHostDiffers() throws {
        var lines = optionsLines
        lines[1] = "Via: SIP/2.0/UDP 192.0.2.1:5999;branch=z9hG4bK-1"
        let m = try SIPMessage(parsing: wire(lines))
        let text = String(
            decoding: try StatelessReply(sourceIP: "127.0.0.1", sourcePort: 3333, serverHeader: nil).build(
                for: m, code: 100, reason: "Trying", toTag: "T"), as: UTF8.self)
        #expect(text.contains("\r\nVia: SIP/2.0/UDP 192.0.2.1:5999;branch=z9hG4bK-1;received=127.0.0.1\r\n"))
        #expect(text.contains("\r\nTo: <sip:bob@example.com>\r\n"), "no To-tag below 180")
        // RFC 3261 18.2.2: without rport the reply goes to the Via port.
        #expect(StatelessReply.destinationPort(for: m, sourcePort: 3333, forceRport: false) == 5999)
        #expect(StatelessReply.destinationPort(for: m, sourcePort: 3333, forceRport: true) == 3333)
    }

    @Test func receivedGoesOnTheFirstValueOfAMultiValueVia() throws {
        let m = try SIPMessage(
            parsing: wire([
                "OPTIONS sip:h SIP/2.0", "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa, SIP/2.0/UDP b;branch=z9hG4bKb",
                "CSeq: 1 OPTIONS", "",
            ]))
        let text = String(
            decoding: try StatelessReply(sourceIP: "127.0.0.1", sourcePort: 1, serverHeader: nil).build(
                for: m, code: 200, reason: "OK", toTag: nil), as: UTF8.self)
        #expect(
            text.contains(
                "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa;received=127.0.0.1, SIP/2.0/UDP b;branch=z9hG4bKb\r\n"))
        #expect(StatelessReply.destinationPort(for: m, sourcePort: 1, forceRport: false) == 5060)
    }

    /// A caller's parsed top Via (a context's `via1`) gives the same reply as parsing it here;
    /// numbers (code, rport, Content-Length) are written in decimal.
    @Test func replyWithTheCallersTopViaIsTheSame() throws {
        let m = try SIPMessage(parsing: wire(optionsLines))
        var builder = StatelessReply(sourceIP: "127.0.0.1", sourcePort: 65535, serverHeader: nil)
        builder.body = Array(repeating: UInt8(ascii: "x"), count: 1234)
        let parsedHere = try builder.build(for: m, code: 180, reason: "Ringing", toTag: "T")
        let given = try builder.build(for: m, code: 180, reason: "Ringing", toTag: "T", topVia: m.topVia())
        #expect(given == parsedHere)
        let text = String(decoding: given, as: UTF8.self)
        #expect(text.hasPrefix("SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;rport=65535;branch="))
        #expect(text.contains("\r\nContent-Length: 1234\r\n\r\nxxx"))
        for (value, digits) in [(0, "0"), (7, "7"), (10, "10"), (5060, "5060"), (-42, "-42"), (Int.max, "\(Int.max)")] {
            var out: [UInt8] = []
            StatelessReply.appendDecimal(value, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == digits)
        }
    }

    /// sl's To-tag suffix as a number (`toTagSuffixCode`) is written as the same 8 lower-case
    /// hex digits as the string (`toTagSuffix`), and `build(via:)` is `build(topVia:)`.
    @Test func toTagSuffixCodeIsWrittenAsHexDigits() throws {
        let m = try SIPMessage(parsing: wire(optionsLines))
        var byCode = StatelessReply(sourceIP: "127.0.0.1", sourcePort: 5061, serverHeader: nil)
        byCode.toTagSuffixCode = 0x0a1b_f29c
        var byText = StatelessReply(sourceIP: "127.0.0.1", sourcePort: 5061, serverHeader: nil)
        byText.toTagSuffix = "0a1bf29c"
        let viaGiven = try byCode.build(for: m, code: 200, reason: "OK", toTag: "PREFIX.", via: m.topVia())
        #expect(viaGiven == (try byText.build(for: m, code: 200, reason: "OK", toTag: "PREFIX.")))
        #expect(viaGiven == (try byCode.build(for: m, code: 200, reason: "OK", toTag: "PREFIX.", topVia: nil)))
        #expect(
            String(decoding: viaGiven, as: UTF8.self).contains("\r\nTo: <sip:bob@example.com>;tag=PREFIX.0a1bf29c\r\n"))
        // A reply below 180 gets no To-tag.
        #expect(
            !String(decoding: try byCode.build(for: m, code: 100, reason: "Trying", toTag: "P."), as: UTF8.self)
                .contains(";tag=P."))
        var digits = [UInt8](repeating: 0, count: 8)
        digits.withUnsafeMutableBufferPointer { StatelessReply.writeHex(0xffff_0000, to: $0.baseAddress!) }
        #expect(String(decoding: digits, as: UTF8.self) == "ffff0000")
    }

    /// The initialiser taking every property (sl's) makes the builder the property setters
    /// make: the same reply, with rport forced, reply-lump header bytes without a final
    /// CRLF, a body and the To-tag number.
    @Test func fullInitialiserBuildsWhatTheSettersBuild() throws {
        let m = try SIPMessage(parsing: wire(optionsLines))
        let lump = Array("X-Lump: 1\r\nX-Other: 2".utf8)
        let body = Array("hello".utf8)
        let whole = StatelessReply(
            sourceIP: "192.0.2.7", sourcePort: 4242, serverHeader: "Server: test", forceRport: true,
            extraHeaderBytes: lump, body: body, toTagSuffixCode: 0xdead_beef)
        var set = StatelessReply(sourceIP: "192.0.2.7", sourcePort: 4242, serverHeader: "Server: test")
        set.forceRport = true
        set.extraHeaderBytes = lump
        set.body = body
        set.toTagSuffixCode = 0xdead_beef
        let reply = try whole.build(for: m, code: 200, reason: "OK", toTag: "P.", via: m.topVia())
        #expect(reply == (try set.build(for: m, code: 200, reason: "OK", toTag: "P.", via: m.topVia())))
        let text = String(decoding: reply, as: UTF8.self)
        #expect(text.contains(";rport=4242;"))
        #expect(text.contains(";received=192.0.2.7\r\n"))
        #expect(text.contains("\r\nTo: <sip:bob@example.com>;tag=P.deadbeef\r\n"))
        #expect(text.hasSuffix("X-Lump: 1\r\nX-Other: 2\r\nServer: test\r\nContent-Length: 5\r\n\r\nhello"))
    }

    @Test func tagHashesAreStable() {
        #expect(TagHash.hex128(["a", "b"]).count == 32)
        #expect(TagHash.hex128(["a", "b"]) == TagHash.hex128(["a", "b"]))
        #expect(TagHash.hex128(["a", "b"]) != TagHash.hex128(["ab", ""]))
        // CRC-16/KERMIT-style reflected CCITT with init 0xFFFF, complemented ("123456789" -> 0x906E).
        let b = Array("123456789".utf8)
        #expect(TagHash.crcitt(b, [0..<9]) == "906e")
    }
}
