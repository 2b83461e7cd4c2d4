import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// sipjson's `sj_serialize` on the embedded core: the JSON of a request and of a reply, per
/// mode letter, put into a reply header so the test reads what the script produced.
@Suite struct SipjsonModuleTests {
    static func core(_ route: String) throws -> EmbeddedCore {
        try EmbeddedCore(
            config: """
                log_stderror=yes
                debug=-1
                listen=udp:127.0.0.1:5060
                loadmodule "sl.so"
                loadmodule "textops.so"
                loadmodule "pv.so"
                loadmodule "sipjson.so"
                request_route {
                \(route)
                    sl_send_reply("200", "OK");
                }
                reply_route {
                    sj_serialize("0t", "$shv(reply)");
                    drop;
                }
                """, modulePath: productsDirectory)
    }

    static let invite =
        [
            "INVITE sip:bob@example.com:5080;transport=udp SIP/2.0",
            "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-j1",
            "From: \"A\" <sip:alice@a.example>;tag=a1", "To: <sip:bob@b.example>", "Call-ID: json-1",
            "CSeq: 7 INVITE", "User-Agent: test \"agent\"", "Content-Type: text/plain", "Content-Length: 5", "",
            "hello",
        ].joined(separator: "\r\n")

    func header(_ core: EmbeddedCore, _ name: String) -> String? {
        core.receive(Self.invite, from: "127.0.0.1:5070")
        let lines = core.takeSent().last?.text.components(separatedBy: "\r\n") ?? []
        return lines.first { $0.hasPrefix(name + ": ") }.map { String($0.dropFirst(name.count + 2)) }
    }

    @Test func serializesTheCommonAttributesOfARequest() throws {
        let core = try Self.core(
            """
                if (sj_serialize("0", "$var(j)")) { append_to_reply("X-J: $var(j)\\r\\n"); }
            """)
        #expect(
            header(core, "X-J")
                == #"{"mt":2,"rm":"INVITE","pr":"udp","si":"127.0.0.1","sp":5070,"Ri":"127.0.0.1","Rp":5060,"#
                + #""ru":"sip:bob@example.com:5080;transport=udp","rU":"bob","rd":"example.com","rp":5080,"rs":0,"rr":"","#
                + #""fU":"alice","fd":"a.example","ua":"test \"agent\"","ci":"json-1"}"#)
    }

    @Test func modeLettersAddBodyCSeqAndTo() throws {
        let core = try Self.core(
            """
                $ru = "sip:carol@c.example";
                sj_serialize("Bct", "$var(j)");
                append_to_reply("X-J: $var(j)\\r\\n");
            """)
        let json = try #require(header(core, "X-J"))
        #expect(json.contains(#""ru":"sip:carol@c.example","rU":"carol","rd":"c.example","rp":0,"#))
        #expect(json.hasSuffix(#""ci":"json-1","rb":"hello","cs":"7","tU":"bob","td":"b.example"}"#))
    }

    @Test func serializesAReply() throws {
        let core = try Self.core(#"    append_to_reply("X-R: $shv(reply)\r\n");"#)
        core.receive(
            [
                "SIP/2.0 486 Busy Here", "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-r1",
                "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-r0", "From: <sip:alice@a.example>;tag=a1",
                "To: <sip:bob@b.example>;tag=b1", "Call-ID: json-2", "CSeq: 3 BYE", "Content-Length: 0", "", "",
            ].joined(separator: "\r\n"), from: "127.0.0.1:5080")
        #expect(
            header(core, "X-R")
                == #"{"mt":1,"rm":"BYE","pr":"udp","si":"127.0.0.1","sp":5080,"Ri":"127.0.0.1","Rp":5060,"#
                + #""ru":"","rU":"","rd":"","rp":0,"rs":486,"rr":"Busy Here","fU":"alice","fd":"a.example","ua":"","#
                + #""ci":"json-2","tU":"bob","td":"b.example"}"#)
    }

    @Test func anEmptyModeFails() throws {
        let core = try Self.core(
            """
                $var(m) = "";
                sj_serialize("$var(m)", "$var(j)");
                append_to_reply("X-RC: $rc\\r\\n");
            """)
        #expect(header(core, "X-RC") == "-1")
    }

    @Test func aReadOnlyOutputIsRefusedAtStartUp() {
        #expect(throws: (any Error).self) { try Self.core("    sj_serialize(\"0\", \"$ci\");") }
    }
}
