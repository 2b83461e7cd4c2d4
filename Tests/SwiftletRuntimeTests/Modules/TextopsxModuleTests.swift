import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK
@testable import SwiftletSIP

/// The textopsx module run on messages: return codes, the message the script sees after
/// `msg_apply_changes()`, and the edited bytes.
@Suite(.serialized) struct TextopsxModuleTests {
    static let message =
        [
            "INVITE sip:alice@example.com SIP/2.0",
            "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-1",
            "From: <sip:bob@example.org>;tag=1",
            "To: <sip:alice@example.com>",
            "i: call-1@test",
            "CSeq: 1 INVITE",
            "Max-Forwards: 70",
            "Subject: hello",
            "X-Foo: one",
            "Contact: <sip:bob@192.0.2.10:5070>",
            "Supported: timer",
            "Content-Type: application/sdp",
            "l: 25",
            "",
            "v=0\r\no=alice 1 1 IN IP4 x",
        ].joined(separator: "\r\n")

    static let modules = "loadmodule \"textops.so\"\nloadmodule \"textopsx.so\"\nloadmodule \"pv.so\"\n"

    /// Runs `route` (the body of request_route); `$avp(r)` collects return codes.
    func run(_ route: String, _ msg: String = message) throws -> MessageContext {
        try ScriptHarness.run(Self.modules + "request_route {\n\(route)\n}\n", msg).ctx
    }

    /// Runs `route` as the core reply route (`onreply_route { ... }`) on `reply`.
    func runReply(_ route: String, _ reply: String) throws -> MessageContext {
        let loaded = try ScriptHarness.load(ScriptHarness.prelude + Self.modules + "onreply_route {\n\(route)\n}\n")
        let ctx = try ScriptHarness.context(reply, sourceIP: "127.0.0.1", sourcePort: 5080, core: loaded.context)
        loaded.script.runReplyRoute(ctx)
        return ctx
    }

    func codes(_ ctx: MessageContext) -> [Int] {
        (ctx.avps["r"] ?? []).reversed().map { if case .int(let i) = $0 { i } else { 99 } }
    }

    func strings(_ ctx: MessageContext, _ name: String) -> [String] {
        (ctx.avps[name] ?? []).reversed().map {
            switch $0 {
            case .string(let s): s
            case .int(let i): String(i)
            default: "<\($0)>"
            }
        }
    }

    func edited(_ ctx: MessageContext) throws -> String { String(decoding: try ctx.edits.build(), as: UTF8.self) }

    func text(_ msg: SIPMessage) -> String { String(decoding: msg.buffer, as: UTF8.self) }

    @Test func applyChangesMakesTheEditsVisibleToTheScript() throws {
        let ctx = try run(
            """
            append_hf("X-Added: 1\\r\\n");
            remove_hf("Subject");
            $ru = "sip:carol@example.net";
            set_body("hi", "text/plain");
            append_to_reply("X-R: 1\\r\\n");
            is_present_hf("X-Added"); $avp(r) = $rc;
            msg_apply_changes(); $avp(r) = $rc;
            is_present_hf("X-Added"); $avp(r) = $rc;
            is_present_hf("Subject"); $avp(r) = $rc;
            search("^INVITE sip:carol@example.net SIP/2.0"); $avp(r) = $rc;
            has_body("text/plain"); $avp(r) = $rc;
            $avp(s) = $ru; $avp(s) = $rb; $avp(s) = $cl;
            append_hf("X-Later: 2\\r\\n", "X-Added");
            """)
        #expect(codes(ctx) == [-1, 1, 1, -1, 1, 1], "checks before run on the received message, after on the new one")
        #expect(strings(ctx, "s") == ["sip:carol@example.net", "hi", "2"])
        let expected =
            [
                "INVITE sip:carol@example.net SIP/2.0",
                "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-1",
                "From: <sip:bob@example.org>;tag=1",
                "To: <sip:alice@example.com>",
                "i: call-1@test",
                "CSeq: 1 INVITE",
                "Max-Forwards: 70",
                "X-Foo: one",
                "Contact: <sip:bob@192.0.2.10:5070>",
                "Supported: timer",
                "Content-Length: 2",
                "X-Added: 1",
                "Content-Type: text/plain",
                "",
                "hi",
            ].joined(separator: "\r\n")
        #expect(text(ctx.message) == expected)
        #expect(ctx.newRequestURI == nil, "the new Request-URI is now in the message")
        #expect(ctx.replyLumps == ReplyLumps(), "reply lumps are dropped, as Kamailio frees them")
        #expect(ctx.message.headers.count == 12 && ctx.message.statusCode == nil)
        // The edits start again from the new message.
        #expect(
            try edited(ctx) == expected.replacingOccurrences(of: "X-Added: 1\r\n", with: "X-Added: 1\r\nX-Later: 2\r\n")
        )
    }

    @Test func applyChangesKeepsDestinationAndFlagsAndIsOnlyForRequestRouteAndReplies() throws {
        let ctx = try run(
            """
            $du = "sip:192.0.2.99:5090"; setflag(3);
            msg_apply_changes(); $avp(r) = $rc;
            msg_apply_changes(); $avp(r) = $rc;
            """)
        #expect(codes(ctx) == [1, 1])
        #expect(ctx.destinationURI == "sip:192.0.2.99:5090" && ScriptHarness.flags(ctx) == [3])
        #expect(text(ctx.message) == Self.message, "nothing changed: the same bytes")
        #expect(
            ScriptHarness.errors(
                "loadmodule \"textopsx.so\"\nrequest_route {}\nbranch_route[b] { msg_apply_changes(); }\n")
                == [
                    "bad.cfg:3:19: error: function 'msg_apply_changes' (module textopsx) cannot be used in branch_route"
                ])
        let reply = try runReply(
            """
            append_hf("X-R: 1\\r\\n"); remove_hf("Content-Length");
            msg_apply_changes(); $avp(r) = $rc;
            is_present_hf("X-R"); $avp(r) = $rc;
            is_present_hf("Content-Length"); $avp(r) = $rc;
            """, ScriptHarness.reply(code: 180, reason: "Ringing"))
        #expect(codes(reply) == [1, 1, -1])
        #expect(
            text(reply.message).hasPrefix("SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-1\r\n")
        )
        #expect(text(reply.message).hasSuffix("CSeq: 1 INVITE\r\nX-R: 1\r\n\r\n"))
    }

    @Test func setBufferReplacesTheMessage() throws {
        let ctx = try run(
            """
            append_hf("X-Dropped: 1\\r\\n");
            $ru = "sip:old@example.net";
            msg_set_buffer(""); $avp(r) = $rc;
            $var(m) = "OPTIONS sip:carol@example.net SIP/2.0\\r\\nVia: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-2\\r\\n"
                + "From: <sip:" + $fU + "@example.org>;tag=9\\r\\nTo: <sip:carol@example.net>\\r\\nCall-ID: new-1\\r\\n"
                + "CSeq: 7 OPTIONS\\r\\nContent-Length: 0\\r\\n\\r\\n";
            msg_set_buffer("$var(m)"); $avp(r) = $rc;
            $avp(s) = $rm; $avp(s) = $ru; $avp(s) = $ci; $avp(s) = $fu;
            msg_set_buffer("not a SIP message"); $avp(r) = $rc;
            $avp(r) = 99;
            """)
        #expect(codes(ctx) == [-1, 1], "an unparsable buffer stops the script (0)")
        #expect(strings(ctx, "s") == ["OPTIONS", "sip:carol@example.net", "new-1", "sip:bob@example.org"])
        #expect(ctx.message.method == .options && ctx.newRequestURI == nil)
        #expect(try edited(ctx) == text(ctx.message), "the pending edits were dropped, not applied")
    }

    @Test func replyStatusIsChangedWithinKamailiosRules() throws {
        let busy = ScriptHarness.reply(code: 486, reason: "Busy Here")
        let ctx = try runReply(
            """
            change_reply_status(404, "Not Found Here"); $avp(r) = $rc;
            $avp(s) = $rs; $avp(s) = $rr;
            search("^SIP/2.0 404 Busy Here"); $avp(r) = $rc;
            change_reply_status(200, "OK"); $avp(r) = $rc;
            change_reply_status(700, "Odd"); $avp(r) = $rc;
            change_reply_status(99, "Odd"); $avp(r) = $rc;
            change_reply_status(302, ""); $avp(r) = $rc;
            $var(c) = 603; change_reply_status("$var(c)", "Decline $rs"); $avp(r) = $rc;
            """, busy)
        #expect(codes(ctx) == [1, 1, -1, -1, -1, -1, 1])
        #expect(strings(ctx, "s") == ["404", "Busy Here"], "the code is rewritten in the message, the reason later")
        #expect(try edited(ctx) == busy.replacingOccurrences(of: "486 Busy Here", with: "603 Decline 404"))

        let ringing = ScriptHarness.reply(code: 180, reason: "Ringing")
        let provisional = try runReply(
            """
            change_reply_status_code(183); $avp(r) = $rc;
            change_reply_status_code(200); $avp(r) = $rc;
            change_reply_status_code(486); $avp(r) = $rc;
            $avp(s) = $rs;
            """, ringing)
        #expect(codes(provisional) == [1, -1, -1])
        #expect(strings(provisional, "s") == ["183"])
        #expect(try edited(provisional) == ringing.replacingOccurrences(of: "180 Ringing", with: "183 Ringing"))
        let ok = try runReply("change_reply_status_code(300); $avp(r) = $rc;", ScriptHarness.reply())
        #expect(codes(ok) == [-1], "a 2xx cannot become another class")
        #expect(
            ScriptHarness.errors("loadmodule \"textopsx.so\"\nrequest_route {\n change_reply_status(404, \"x\");\n}\n")
                == [
                    "bad.cfg:3:2: error: function 'change_reply_status' (module textopsx) cannot be used in request_route"
                ])
        #expect(
            ScriptHarness.errors("loadmodule \"textopsx.so\"\nonreply_route { change_reply_status(\"abc\", \"x\"); }\n")
                == ["bad.cfg:2:37: error: change_reply_status: expected an integer or a pseudo-variable, found \"abc\""]
        )
    }

    @Test func removeBodyKeepHeadersAndFnmatch() throws {
        let ctx = try run(
            """
            remove_body(); $avp(r) = $rc;
            keep_hf("^x-"); $avp(r) = $rc;
            fnmatch("$rm", "INV*"); $avp(r) = $rc;
            fnmatch("$rm", "inv*"); $avp(r) = $rc;
            fnmatch("$rm", "inv*", "i"); $avp(r) = $rc;
            fnmatch("$fU", "b?b"); $avp(r) = $rc;
            fnmatch("abc", "[!a]*"); $avp(r) = $rc;
            """)
        #expect(codes(ctx) == [1, -1, 1, -1, 1, 1, -1], "keep_hf returns -1 as in Kamailio 5.6.3")
        let expected =
            [
                "INVITE sip:alice@example.com SIP/2.0",
                "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-1",
                "From: <sip:bob@example.org>;tag=1",
                "To: <sip:alice@example.com>",
                "i: call-1@test",
                "CSeq: 1 INVITE",
                "Max-Forwards: 70",
                "X-Foo: one",
                "Contact: <sip:bob@192.0.2.10:5070>",
                "Content-Type: application/sdp",
                "l: 0",
                "",
                "",
            ].joined(separator: "\r\n")
        #expect(try edited(ctx) == expected)
        let all = try run("keep_hf(); msg_apply_changes(); $avp(r) = $rc; remove_body(); $avp(r) = $rc;")
        #expect(codes(all) == [1, 1])
        #expect(!text(all.message).contains("X-Foo") && !text(all.message).contains("Supported"))
        #expect(text(all.message).contains("Max-Forwards: 70\r\nContact: "))
        let empty = try run("remove_body(); $avp(r) = $rc;", ScriptHarness.request())
        #expect(codes(empty) == [1])
        #expect(try edited(empty) == ScriptHarness.request(), "no body: nothing to remove")
    }

    @Test func stockConfigurationWithMessageRebuildLoadsTextopsx() throws {
        let stock = "/etc/kamailio/kamailio.cfg"
        guard FileManager.default.fileExists(atPath: stock) else { return }
        let r = try runSwiftlet(
            ["-c", "-f", stock, "-L", productsDirectory, "-A", "WITH_PRESENCE", "-A", "WITH_MSGREBUILD"])
        let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix(stock + ":") }
        #expect(!errors.isEmpty, "other modules are still missing")
        #expect(
            !errors.contains {
                $0.contains("module 'textopsx'") || $0.contains("textopsx.so") || $0.contains("msg_apply_changes")
            }, "\(errors)")
    }
}
