import Testing

@testable import SwiftletSIP

/// A reply built with the source as an IPv4 number (`sourceIPv4`, tm's 100 Trying) has the
/// same bytes as one built with the source's text, for INVITEs with and without rport,
/// with `received` already there, several Vias (one per line and several on one line),
/// TCP, a bracketed IPv4 host, an IPv6 host and a host name, and reply lumps.
@Suite struct StatelessReplyIPv4SourceTests {
    static let topVias = [
        "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1",
        "Via: SIP/2.0/UDP 127.0.0.1:5061;rport;branch=z9hG4bK-1",
        "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-1;rport=7",
        "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1;received=10.9.9.9",
        "Via: SIP/2.0/TCP 192.0.2.10:5070;branch=z9hG4bK-tcp",
        "Via: SIP/2.0/TCP 192.0.2.10:5070;rport;branch=z9hG4bK-tcp",
        "Via: SIP/2.0/UDP [127.0.0.1]:5061;branch=z9hG4bK-br",
        "Via: SIP/2.0/UDP [2001:db8::1]:5061;rport;branch=z9hG4bK-v6",
        "Via: SIP/2.0/UDP [::ffff:127.0.0.1]:5061;branch=z9hG4bK-v4mapped",
        "Via: SIP/2.0/UDP uac.example.com:5061;branch=z9hG4bK-name",
        "Via: SIP/2.0/UDP 127.0.0.10:5061;branch=z9hG4bK-near",
        "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-a, SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK-b",
        "v: SIP/2.0/UDP 127.0.0.1:5061 ; rport ; branch=z9hG4bK-compact",
    ]

    static func invite(topVia: String, moreVias: Bool) -> [UInt8] {
        var lines = ["INVITE sip:bob@example.com SIP/2.0", topVia]
        if moreVias {
            lines += [
                "Via: SIP/2.0/UDP 10.0.0.9:5070;branch=z9hG4bK-up", "Via: SIP/2.0/TCP [2001:db8::9];branch=z9hG4bK-up2",
            ]
        }
        lines += [
            "Max-Forwards: 70", "From: \"Alice\" <sip:alice@example.com>;tag=abc", "To: <sip:bob@example.com>",
            "Call-ID: cid-1@host", "CSeq: 1 INVITE", "Contact: <sip:alice@127.0.0.1:5061>",
            "Content-Type: application/sdp", "Content-Length: 4", "", "v=0\n",
        ]
        return Array(lines.joined(separator: "\r\n").utf8)
    }

    @Test(arguments: [("127.0.0.1", UInt32(0x7F00_0001)), ("192.0.2.10", 0xC000_020A), ("10.200.0.255", 0x0AC8_00FF)])
    func sameBytesAsWithTheSourceText(source: String, number: UInt32) throws {
        for topVia in Self.topVias {
            for moreVias in [false, true] {
                let m = try SIPMessage(parsing: Self.invite(topVia: topVia, moreVias: moreVias))
                for forceRport in [false, true] {
                    for (lumps, body) in [([UInt8](), [UInt8]()), (Array("X-A: 1\r\nX-B: 2".utf8), Array("b".utf8))] {
                        let text = StatelessReply(
                            sourceIP: source, sourcePort: 40000, serverHeader: "Server: t", forceRport: forceRport,
                            extraHeaderBytes: lumps, body: body, toTagSuffixCode: nil)
                        let numeric = StatelessReply(
                            sourceIP: "", sourcePort: 40000, serverHeader: "Server: t", forceRport: forceRport,
                            extraHeaderBytes: lumps, body: body, toTagSuffixCode: nil, sourceIPv4: number)
                        for (code, tag) in [(100, nil), (180, "T1"), (487, "T2")] as [(Int, String?)] {
                            let expected = try text.build(for: m, code: code, reason: "R", toTag: tag)
                            let got = try numeric.build(for: m, code: code, reason: "R", toTag: tag)
                            #expect(
                                got == expected,
                                "\(topVia) \(moreVias) \(forceRport) \(code):\n\(String(decoding: got, as: UTF8.self))")
                        }
                    }
                }
            }
        }
    }

    /// `received` written from the number is the address as `inet_ntop` writes it.
    @Test func receivedWrittenFromTheNumber() throws {
        let m = try SIPMessage(parsing: Self.invite(topVia: Self.topVias[1], moreVias: false))
        let reply = try StatelessReply(
            sourceIP: "", sourcePort: 1, serverHeader: nil, forceRport: false, extraHeaderBytes: [], body: [],
            toTagSuffixCode: nil, sourceIPv4: 0x0A00_6400
        ).build(for: m, code: 100, reason: "Trying", toTag: nil)
        #expect(
            String(decoding: reply, as: UTF8.self).contains(
                "\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;rport=1;branch=z9hG4bK-1;received=10.0.100.0\r\n"))
    }
}
