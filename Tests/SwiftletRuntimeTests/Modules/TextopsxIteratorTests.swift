import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK
@testable import SwiftletSIP

/// textopsx's header and body-line iterators. The expected results are what Kamailio 5.6.3
/// produces for the same script and request (compared on loopback).
@Suite(.serialized) struct TextopsxIteratorTests {
    static let headers = ["Supported: timer", "k: path", "X-Dup: x, y", "X-Empty:"]
    static let body = "v=0\r\no=x 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\n"

    static func message(body: String = "") -> String {
        TextopsxHeaderValueTests.message(Self.headers).replacingOccurrences(
            of: "Content-Length: 0\r\n\r\n", with: "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
    }

    func run(_ route: String, _ msg: String = message()) throws -> MessageContext {
        let config =
            "loadmodule \"textopsx.so\"\nloadmodule \"textops.so\"\nloadmodule \"pv.so\"\nrequest_route {\n\(route)\n}\n"
        return try ScriptHarness.run(config, msg).ctx
    }

    func strings(_ ctx: MessageContext, _ name: String) -> [String] {
        (ctx.avps[name] ?? []).reversed().map { $0.printed }
    }

    func edited(_ ctx: MessageContext) throws -> String { String(decoding: try ctx.edits.build(), as: UTF8.self) }

    @Test func headerIteratorWalksEditsAndEnds() throws {
        let ctx = try run(
            """
            hf_iterator_start("i"); $avp(r) = $rc;
            $var(s) = "";
            while (hf_iterator_next("i")) {
                $var(s) = $var(s) + $hfitname(i) + "=" + $hfitbody(i) + "|";
                if ($hfitname(i) == "X-Dup") { hf_iterator_rm("i"); }
                if ($hfitname(i) == "k") { hf_iterator_append("i", "X-After: 1\\r\\n"); hf_iterator_insert("i", "X-Before: 1\\r\\n"); }
            }
            hf_iterator_next("i"); $avp(r) = $rc;
            hf_iterator_end("i"); $avp(r) = $rc;
            hf_iterator_next("i"); $avp(r) = $rc;
            hf_iterator_next("nope"); $avp(r) = $rc;
            $avp(s) = $var(s); $avp(s) = $hfitname(i);
            """)
        #expect(strings(ctx, "r") == ["1", "-1", "1", "1", "-1"])
        #expect(
            strings(ctx, "s") == [
                "Via=SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-1|From=<sip:bob@example.org>;tag=1|"
                    + "To=<sip:alice@example.com>|Call-ID=call-1@test|CSeq=1 INVITE|Supported=timer|k=path|"
                    + "X-Dup=x, y|X-Empty=|Content-Length=0|",
                "Via",
            ])
        #expect(
            try edited(ctx).contains(
                "Supported: timer\r\nX-Before: 1\r\nk: path\r\nX-After: 1\r\nX-Empty:\r\nContent-Length: 0\r\n\r\n"))
    }

    @Test func headerIteratorGoesBackAsKamailioDoes() throws {
        let ctx = try run(
            """
            hf_iterator_start("p"); hf_iterator_next("p"); hf_iterator_next("p"); hf_iterator_next("p"); hf_iterator_next("p");
            append_hf("X-S: $hfitname(p)\\r\\n");
            hf_iterator_prev("p"); append_hf("X-S: $rc $hfitname(p)\\r\\n");
            hf_iterator_prev("p"); append_hf("X-S: $rc $hfitname(p)\\r\\n");
            hf_iterator_prev("p"); append_hf("X-S: $rc $hfitname(p)\\r\\n");
            hf_iterator_prev("p"); append_hf("X-S: $rc $hfitname(p)\\r\\n");
            hf_iterator_next("p"); append_hf("X-S: $rc $hfitname(p)\\r\\n");
            hf_iterator_start("q");
            while (hf_iterator_next("q")) { $var(x) = 1; }
            hf_iterator_prev("q"); append_hf("X-Q: $rc $hfitname(q)\\r\\n");
            hf_iterator_end("q"); hf_iterator_prev("q"); append_hf("X-Q: $rc $hfitname(q)\\r\\n");
            hf_iterator_prev("q"); append_hf("X-Q: $rc $hfitname(q)\\r\\n");
            hf_iterator_prev("q"); append_hf("X-Q: $rc $hfitname(q)\\r\\n");
            """)
        let added = try edited(ctx).components(separatedBy: "Content-Length: 0\r\n")[1]
        #expect(
            added
                == [
                    "X-S: Call-ID", "X-S: 1 To", "X-S: 1 From", "X-S: 1 Via", "X-S: 1 <null>", "X-S: 1 Via",
                    "X-Q: -1 <null>", "X-Q: 1 Content-Length", "X-Q: 1 X-Empty", "X-Q: 1 X-Dup", "", "",
                ].joined(separator: "\r\n"))
    }

    @Test func bodyLineIteratorEditsLinesAndContentLength() throws {
        let ctx = try run(
            """
            bl_iterator_start("b"); $avp(r) = $rc;
            while (bl_iterator_next("b")) {
                $avp(s) = $blitval(b);
                if ($blitval(b) =~ "^s=") { bl_iterator_rm("b"); }
                if ($blitval(b) =~ "^o=") { bl_iterator_append("b", "a=after\\r\\n"); bl_iterator_insert("b", "a=before\\r\\n"); }
            }
            bl_iterator_next("b"); $avp(r) = $rc;
            bl_iterator_end("b"); bl_iterator_next("b"); $avp(r) = $rc;
            bl_iterator_start("b"); bl_iterator_next("b"); $avp(r) = $rc;
            $avp(s) = $blitval(b);
            """, Self.message(body: Self.body))
        #expect(strings(ctx, "r") == ["1", "-1", "-1", "1"])
        #expect(
            strings(ctx, "s") == [
                "v=0\r\n", "o=x 1 1 IN IP4 1.2.3.4\r\n", "s=-\r\n", "c=IN IP4 1.2.3.4\r\n", "v=0\r\n",
            ])
        #expect(
            try edited(ctx).hasSuffix(
                "Content-Length: 66\r\n\r\nv=0\r\na=before\r\no=x 1 1 IN IP4 1.2.3.4\r\na=after\r\nc=IN IP4 1.2.3.4\r\n"
            ))
    }
}
