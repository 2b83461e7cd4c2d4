import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK
@testable import SwiftletSIP

/// The textops module run on messages: return codes, the edited message (the bytes of the
/// message editor) and the replies that carry reply lumps.
@Suite(.serialized) struct TextopsModuleTests {
    static let message =
        [
            "INVITE sip:alice@example.com;transport=udp SIP/2.0",
            "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-1",
            "From: <sip:bob@example.org>;tag=1",
            "To: <sip:alice@example.com>",
            "i: call-1@test",
            "CSeq: 1 INVITE",
            "X-Foo: one",
            "Subject: hello",
            "X-Foo: two",
            "Content-Type: application/sdp",
            "Content-Length: 25",
            "",
            "v=0\r\no=alice 1 1 IN IP4 x",
        ].joined(separator: "\r\n")

    /// Runs `route` (the body of request_route) with textops loaded; `$avp(r)` collects return codes.
    func run(_ route: String, _ msg: String = message) throws -> (ctx: MessageContext, replies: RecordingSender) {
        try ScriptHarness.run("loadmodule \"textops.so\"\nrequest_route {\n\(route)\n}\n", msg)
    }

    func codes(_ ctx: MessageContext) -> [Int] {
        (ctx.avps["r"] ?? []).reversed().map { if case .int(let i) = $0 { i } else { 99 } }
    }

    func edited(_ ctx: MessageContext) throws -> String { String(decoding: try ctx.edits.build(), as: UTF8.self) }

    @Test func isMethodWithListsAndSingleNames() throws {
        let (ctx, _) = try run(
            """
            is_method("INVITE|BYE"); $avp(r) = $rc;
            is_method("bye|cancel"); $avp(r) = $rc;
            is_method("invite"); $avp(r) = $rc;
            is_method("FOO"); $avp(r) = $rc;
            """)
        #expect(codes(ctx) == [1, -1, 1, -1])
        let (other, _) = try run(
            "is_method(\"FOO\"); $avp(r) = $rc; is_method(\"INVITE\"); $avp(r) = $rc;",
            Self.message.replacingOccurrences(of: "INVITE sip", with: "foo sip"))
        #expect(codes(other) == [1, -1], "an unknown method is compared by name, ignoring case")
        let (reply, _) = try run(
            "is_method(\"INVITE\"); $avp(r) = $rc;", ScriptHarness.reply(code: 180, reason: "Ringing"))
        #expect(codes(reply) == [1], "a reply is tested by its CSeq method")
        #expect(
            ScriptHarness.errors("loadmodule \"textops.so\"\nrequest_route { is_method(\"INVITE|FOO\"); }\n")
                == [
                    "bad.cfg:2:27: error: is_method: unknown method in list 'INVITE|FOO' - must be only defined methods"
                ])
    }

    @Test func headersAreAddedWhereKamailioPutsThem() throws {
        let (ctx, _) = try run(
            """
            append_hf("X-A: 1\\r\\n"); $avp(r) = $rc;
            append_hf("X-B: $rm\\r\\n", "x-foo");
            insert_hf("X-C: 3\\r\\n");
            insert_hf("X-D: 4\\r\\n", "Subject");
            append_hf("X-E: 5\\r\\n", "X-None");
            """)
        #expect(codes(ctx) == [1])
        let out = try edited(ctx)
        #expect(out.hasPrefix("INVITE sip:alice@example.com;transport=udp SIP/2.0\r\nX-C: 3\r\nVia: "))
        #expect(out.contains("X-Foo: one\r\nX-D: 4\r\nSubject: hello\r\nX-Foo: two\r\nX-B: INVITE\r\nContent-Type"))
        #expect(out.contains("Content-Length: 25\r\nX-A: 1\r\nX-E: 5\r\n\r\nv=0"))
    }

    @Test func headersAreRemovedByNameCompactFormOrRegex() throws {
        let (ctx, _) = try run(
            """
            remove_hf("Call-ID"); $avp(r) = $rc;
            remove_hf("x-foo"); $avp(r) = $rc;
            remove_hf("X-Missing"); $avp(r) = $rc;
            remove_hf_re("^Subj"); $avp(r) = $rc;
            is_present_hf("s"); $avp(r) = $rc;
            is_present_hf("X-FOO"); $avp(r) = $rc;
            is_present_hf("X-Bar"); $avp(r) = $rc;
            is_present_hf_re("^content-"); $avp(r) = $rc;
            """)
        #expect(codes(ctx) == [1, 1, -1, 1, 1, 1, -1, 1], "checks run on the received message")
        let out = try edited(ctx)
        #expect(!out.contains("i: call-1") && !out.contains("X-Foo") && !out.contains("Subject"))
        #expect(out.contains("CSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n"))
    }

    @Test func removeByIndexAndSearchHeaderValues() throws {
        let (ctx, _) = try run(
            """
            remove_hf_idx("X-Foo", -1); $avp(r) = $rc;
            remove_hf_idx("X-Foo", 5); $avp(r) = $rc;
            remove_hf_idx("X-Foo", -5); $avp(r) = $rc;
            search_hf("X-Foo", "^tw", ""); $avp(r) = $rc;
            search_hf("X-Foo", "^tw", "f"); $avp(r) = $rc;
            search_hf("X-Foo", "^tw", "l"); $avp(r) = $rc;
            """)
        #expect(codes(ctx) == [1, 2, 1, 1, -1, 1])
        let out = try edited(ctx)
        #expect(out.contains("X-Foo: one\r\nSubject: hello\r\nContent-Type"))
    }

    @Test func regexSearchAndReplace() throws {
        let (ctx, _) = try run(
            """
            search("^INVITE sip:alice"); $avp(r) = $rc;
            search("nomatch"); $avp(r) = $rc;
            search_body("^o=alice"); $avp(r) = $rc;
            replace("hello", "bye"); $avp(r) = $rc;
            replace_all("x-foo", "X-Bar"); $avp(r) = $rc;
            search_append("^CSeq: 1 INVITE", ";x=1"); $avp(r) = $rc;
            replace_body("IP4 x", "IP4 192.0.2.1"); $avp(r) = $rc;
            """)
        #expect(codes(ctx) == [1, -1, 1, 1, 1, 1, 1])
        let out = try edited(ctx)
        #expect(out.contains("Subject: bye\r\n"))
        #expect(out.contains("X-Bar: one\r\nSubject: bye\r\nX-Bar: two\r\n"))
        #expect(out.contains("CSeq: 1 INVITE;x=1\r\n"))
        #expect(out.hasSuffix("o=alice 1 1 IN IP4 192.0.2.1"))
        // The body grew: Content-Length follows (Kamailio's adjust_clen).
        let rebuilt = try SIPMessage(parsing: Array(out.utf8))
        #expect(try rebuilt.contentLength() == rebuilt.bodyRange.count)
        #expect(try rebuilt.contentLength() != (try SIPMessage(parsing: ctx.message.buffer).contentLength()))
    }

    @Test func substitutions() throws {
        let (ctx, _) = try run(
            """
            subst("/^(X-Foo): ([a-z]+)/\\\\1: <\\\\2>/ig"); $avp(r) = $rc;
            subst_body("/IP4 x/IP4 $si/"); $avp(r) = $rc;
            subst_uri("/^sip:([a-z]+)@example.com/sip:\\\\1@example.net/"); $avp(r) = $rc;
            subst_user("/^ali/ALI/"); $avp(r) = $rc;
            subst("/nomatch/x/"); $avp(r) = $rc;
            """)
        #expect(codes(ctx) == [1, 1, 1, 1, -1])
        let out = try edited(ctx)
        #expect(out.contains("X-Foo: <one>\r\nSubject: hello\r\nX-Foo: <two>\r\n"))
        #expect(out.hasSuffix("IN IP4 192.0.2.10"))
        #expect(ctx.newRequestURI == "sip:ALIce@example.net;transport=udp")
    }

    @Test func setBodyRewritesContentTypeAndLength() throws {
        let (ctx, _) = try run("set_body(\"hello $rU\", \"text/plain\"); $avp(r) = $rc;")
        #expect(codes(ctx) == [1])
        let out = try edited(ctx)
        #expect(!out.contains("application/sdp"))
        #expect(out.hasSuffix("Content-Length: 11\r\nContent-Type: text/plain\r\n\r\nhello alice"))
    }

    @Test func hasBody() throws {
        let (ctx, _) = try run(
            """
            has_body(); $avp(r) = $rc;
            has_body("application/sdp"); $avp(r) = $rc;
            has_body("text/plain"); $avp(r) = $rc;
            """)
        #expect(codes(ctx) == [1, 1, -1])
        let (empty, _) = try run("has_body(); $avp(r) = $rc;", ScriptHarness.request())
        #expect(codes(empty) == [-1])
    }

    @Test func replyLumpsGoIntoStatelessReplies() throws {
        let (_, replies) = try ScriptHarness.run(
            """
            loadmodule "textops.so"
            request_route {
                append_to_reply("X-Reason: $rm rejected\\r\\n");
                append_to_reply("Retry-After: 30\\r\\n");
                set_reply_body("sorry", "text/plain");
                sl_send_reply("486", "Busy Here");
            }
            """)
        let text = try #require(replies.sent.first?.text)
        let lines = text.components(separatedBy: "\r\n")
        let cseq = try #require(lines.firstIndex(of: "CSeq: 1 INVITE"))
        #expect(
            Array(lines[(cseq + 1)...].filter { !$0.hasPrefix("Server:") })
                == [
                    "X-Reason: INVITE rejected", "Retry-After: 30", "Content-Type: text/plain", "Content-Length: 5", "",
                    "sorry",
                ])
        #expect(lines[cseq + 4].hasPrefix("Server:"), "the lumps come before Server, as in Kamailio")
    }

    @Test func stringComparisons() throws {
        let (ctx, _) = try run(
            """
            cmp_str("abc", "abc"); $avp(r) = $rc;
            cmp_str("abd", "abc"); $avp(r) = $rc;
            cmp_str("ab", "abc"); $avp(r) = $rc;
            cmp_istr("$rU", "ALICE"); $avp(r) = $rc;
            starts_with("$ru", "sip:al"); $avp(r) = $rc;
            starts_with("sip", "sips"); $avp(r) = $rc;
            starts_with("abc", "b"); $avp(r) = $rc;
            in_list("$rU", "bob, alice ,carol", ","); $avp(r) = $rc;
            in_list("ali", "bob,alice", ","); $avp(r) = $rc;
            """)
        #expect(codes(ctx) == [1, -1, -2, 1, 1, -1, -2, 1, -1])
        #expect(
            ScriptHarness.errors("loadmodule \"textops.so\"\nrequest_route { in_list(\"a\", \"a,b\", \",;\"); }\n")
                == ["bad.cfg:2:37: error: in_list: invalid separator parameter"])
    }
}
