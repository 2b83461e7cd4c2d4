import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// `method == "text"` against a constant compares the message's method token (a reply's
/// CSeq method) in place: run on the embedded core, requests and replies in either case.
@Suite struct CoreKeywordMethodTests {
    private static let prelude = """
        log_stderror=yes
        debug=-1
        listen=udp:127.0.0.1:5060
        loadmodule "sl.so"

        """

    private static func sip(_ first: String, cseq: String, via: [String]) -> String {
        (([first] + via.map { "Via: \($0)" } + [
            "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:bob@127.0.0.1>", "Call-ID: method-1", "CSeq: \(cseq)",
            "Content-Length: 0",
        ]).joined(separator: "\r\n")) + "\r\n\r\n"
    }

    @Test func aRequestMethodMatchesTheTextInEitherCase() throws {
        let core = try EmbeddedCore(
            config: Self.prelude + """
                request_route {
                    if (method == "options") { sl_send_reply("200", "lower"); exit; }
                    if (method == Message) { sl_send_reply("201", "bare word"); exit; }
                    if (method != "INVITE") { sl_send_reply("202", "not invite"); exit; }
                    sl_send_reply("203", "invite");
                }

                """, modulePath: productsDirectory)
        let cases = [
            ("OPTIONS", "SIP/2.0 200 lower"), ("Options", "SIP/2.0 200 lower"), ("MESSAGE", "SIP/2.0 201 bare word"),
            ("OPTION", "SIP/2.0 202 not invite"), ("OPTIONSX", "SIP/2.0 202 not invite"),
            ("INVITE", "SIP/2.0 203 invite"), ("invite", "SIP/2.0 203 invite"),
        ]
        for (method, expected) in cases {
            core.receive(
                Self.sip(
                    "\(method) sip:x@127.0.0.1 SIP/2.0", cseq: "1 \(method)",
                    via: ["SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-m1;rport"]), from: "127.0.0.1:5099")
            #expect(core.takeSent().map(\.firstLine) == [expected], "method \(method)")
        }
    }

    @Test func aReplyMethodIsItsCSeqMethod() throws {
        let core = try EmbeddedCore(
            config: Self.prelude + """
                request_route { drop; }
                reply_route { if (method == "invite") { drop; } }

                """, modulePath: productsDirectory)
        let vias = [
            "SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-m2", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-m1;rport=5070",
        ]
        core.receive(Self.sip("SIP/2.0 180 Ringing", cseq: "1 INVITE", via: vias), from: "127.0.0.2:5080")
        #expect(core.takeSent().isEmpty)
        core.receive(Self.sip("SIP/2.0 200 OK", cseq: "2 MESSAGE", via: vias), from: "127.0.0.2:5080")
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 200 OK"])
    }
}
