import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK
@testable import SwiftletSIP

/// Kamailio's selects (`@...` and `$sel(...)`) on a fixed request, field by field.
@Suite(.serialized) struct SelectTests {
    static let message = [
        "INVITE sip:bob:pw@example.com:5062;transport=tcp;lr SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-top;rport, SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK-mid",
        "Via: SIP/2.0/UDP 10.0.0.2:5080;received=10.9.9.9;branch=z9hG4bK-last",
        "From: \"Alice A\" <sip:alice@example.org>;tag=from-1;x=y",
        "To: <sip:bob@example.com>",
        "Contact: <sip:alice@192.0.2.10:5070>;expires=60",
        "Call-ID: sel-1@test",
        "CSeq: 42 INVITE",
        "Max-Forwards: 69",
        "User-Agent: test-ua",
        "X-Foo: bar baz",
        "Content-Type: text/plain",
        "Content-Length: 5",
        "",
        "hello",
    ].joined(separator: "\r\n")

    /// The value of each select, in order (`<null>` for null).
    func values(_ selects: [String]) throws -> [String] {
        // Assigning null to an AVP removes its newest value: nulls are recorded as text.
        let body = selects.map { "if (\($0) == $null) { $avp(r) = \"<null>\"; } else { $avp(r) = \($0); }" }
            .joined(separator: "\n")
        let (ctx, _) = try ScriptHarness.run("request_route {\n\(body)\n}\n", Self.message)
        return (ctx.avps["r"] ?? []).reversed().map { $0 == .null ? "<null>" : $0.stringValue }
    }

    func check(_ selects: [String], _ expected: [String]) throws {
        let got = try values(selects)
        #expect(got == expected, "\(got)")
    }

    @Test func messageSelects() throws {
        try check(
            [
                "@ruri", "@ruri.user", "@ruri.pwd", "@ruri.host", "@ruri.port", "@ruri.hostport", "@ruri.transport",
                "@ruri.params", "@ruri.params.lr", "@ruri.type",
            ],
            [
                "sip:bob:pw@example.com:5062;transport=tcp;lr", "bob", "pw", "example.com", "5062", "example.com:5062",
                "tcp", "transport=tcp;lr", "", "sip",
            ])
        try check(
            [
                "@from", "@from.uri", "@from.uri.user", "@from.tag", "@from.name", "@from.params", "@from.params.x",
                "@to.tag", "@to.uri.host", "@contact.uri.port", "@contact.params.expires",
            ],
            [
                "\"Alice A\" <sip:alice@example.org>;tag=from-1;x=y", "sip:alice@example.org", "alice", "from-1",
                "\"Alice A\"", "tag=from-1;x=y", "y", "<null>", "example.com", "5070", "60",
            ])
        try check(
            [
                "@via.host", "@via[1].port", "@via[1].branch", "@via[1].rport", "@via[2].transport", "@via[2].host",
                "@via[2].port", "@via[-1].received", "@via[3].params", "@via[1].name", "@via[1].version",
                "@via[4].host",
            ],
            [
                "192.0.2.10", "5070", "z9hG4bK-top", "", "TCP", "10.0.0.1", "<null>", "10.9.9.9",
                "received=10.9.9.9;branch=z9hG4bK-last", "SIP", "2.0", "<null>",
            ])
        try check(
            [
                "@cseq", "@cseq.num", "@cseq.method", "@call_id", "@max_forwards", "@user_agent", "@msg.X-Foo",
                "@msg.x-foo", "@msg.body", "@msg.len", "@msg.request.method", "@msg.request.uri",
                "@msg.response.status",
                "@src.ip", "@src.port", "@dst.port", "$sel(from.tag)", "@msg.first_line",
            ],
            [
                "42 INVITE", "42", "INVITE", "sel-1@test", "69", "test-ua", "bar baz", "bar baz", "hello",
                String(Self.message.utf8.count), "INVITE", "sip:bob:pw@example.com:5062;transport=tcp;lr", "<null>",
                "192.0.2.10", "5070", "5060", "from-1", "INVITE sip:bob:pw@example.com:5062;transport=tcp;lr SIP/2.0",
            ])
    }

    @Test func selectsInConditionsAndTheRequestURIInEffect() throws {
        let (ctx, _) = try ScriptHarness.run(
            """
            request_route {
                if (@from.tag == "from-1" && @cseq.num == 42) { $avp(r) = "yes"; }
                $ru = "sip:carol@example.net";
                $avp(r) = @ruri.user;
            }
            """, Self.message)
        #expect((ctx.avps["r"] ?? []).reversed() == [.string("yes"), .string("carol")])
    }

    @Test func unknownSelectsAreStartUpErrors() {
        let errors = ScriptHarness.errors("request_route {\n  $var(x) = @nosuch.thing;\n  $var(y) = @via.bogus;\n}\n")
        #expect(errors.count == 2)
        #expect(errors.first?.hasPrefix("bad.cfg:2:13: error: ") == true)
        #expect(errors.first?.hasSuffix("unknown select in $sel(nosuch.thing)") == true)
        #expect(errors.last?.hasSuffix("unknown select in $sel(via.bogus)") == true)
    }
}
