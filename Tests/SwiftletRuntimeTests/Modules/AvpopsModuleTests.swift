import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// avpops' functions on the message's AVPs, on the embedded core: each script appends the
/// return codes and AVP values it produced to the reply in an `X-R` header.
@Suite struct AvpopsModuleTests {
    static func config(_ route: String, extra: String = "") -> String {
        """
        log_stderror=yes
        debug=-1
        listen=udp:127.0.0.1:5060
        loadmodule "sl.so"
        loadmodule "textops.so"
        loadmodule "avpops.so"
        \(extra)
        request_route {
            $var(r) = "";
        \(route)
            append_to_reply("X-R:$var(r)\\r\\n");
            sl_send_reply("200", "OK");
        }
        """
    }

    /// Runs `route`; the return codes collected and the `X-S` lines (`show`) in order.
    static func run(_ route: String, request: String = ScriptHarness.request()) throws -> (String?, [String]) {
        let core = try EmbeddedCore(config: config(route), modulePath: productsDirectory)
        core.receive(request, from: "127.0.0.1:5070")
        let sent = core.takeSent()
        let lines = sent.last?.text.components(separatedBy: "\r\n") ?? []
        return (
            lines.first { $0.hasPrefix("X-R:") }.map { String($0.dropFirst(4)) },
            lines.filter { $0.hasPrefix("X-S: ") }.map { String($0.dropFirst(5)) }
        )
    }

    /// A line of the route: runs `call` and appends ` $rc` to the result.
    static func rc(_ call: String) -> String { "    \(call); $var(r) = $var(r) + \" \" + $rc;" }

    /// Adds an `X-S` header with `format` (pseudo-variables evaluated) to the reply.
    static func show(_ format: String) -> String { "    append_to_reply(\"X-S: \(format)\\r\\n\");" }

    @Test func deleteRemovesOneValueAllValuesOrAllAVPsOfAType() throws {
        let (r, shows) = try Self.run(
            [
                "    $avp(a) = 1; $avp(a) = 2; $avp(a) = 3; $avp(i:7) = \"x\"; $avp(b) = \"y\";",
                Self.rc("avp_delete(\"$avp(a)\")"), Self.show("$(avp(a)[*])"),
                Self.rc("avp_delete(\"$avp(a)/g\")"), Self.show("$(avp(a)[*])"),
                Self.rc("avp_delete(\"$avp(a)\")"),
                Self.rc("avp_delete(\"i\")"), Self.show("$avp(i:7) $avp(b)"),
                Self.rc("avp_delete(\"a\")"), Self.show("$avp(b)"),
                Self.rc("avp_delete(\"s\")"),
            ].joined(separator: "\n"))
        #expect(r == " 1 1 -1 1 1 -1")
        #expect(shows == ["2, 1", "<null>", "<null> y", "<null>"])
    }

    @Test func copyMovesAndConverts() throws {
        let (r, shows) = try Self.run(
            [
                "    $avp(src) = \"10\"; $avp(src) = \"20\";",
                Self.rc("avp_copy(\"$avp(src)\", \"$avp(one)\")"), Self.show("$(avp(one)[*])"),
                Self.rc("avp_copy(\"$avp(src)\", \"$avp(all)/g\")"), Self.show("$(avp(all)[*])"),
                Self.rc("avp_copy(\"$avp(src)\", \"$avp(num)/gn\")"),
                "    if ($avp(num) == 10) { $var(r) = $var(r) + \" int\"; }",
                Self.rc("avp_copy(\"$avp(src)\", \"$avp(moved)/gd\")"), Self.show("$(avp(moved)[*]) $(avp(src)[*])"),
                Self.rc("avp_copy(\"$avp(src)\", \"$avp(x)\")"),
                "    $avp(n) = 5;",
                Self.rc("avp_copy(\"$avp(n)\", \"$avp(s)/s\")"),
                "    if ($avp(s) == \"5\") { $var(r) = $var(r) + \" str\"; }",
            ].joined(separator: "\n"))
        #expect(r == " 1 1 1 int 1 -1 1 str")
        #expect(shows == ["20", "10, 20", "10, 20 <null>"])
    }

    @Test func pushtoWritesTheRequestURIDestinationAndBranches() throws {
        let (r, shows) = try Self.run(
            [
                "    $avp(d) = \"a.example\";",
                Self.rc("avp_pushto(\"$ru/domain\", \"$avp(d)\")"),
                "    $avp(u) = \"carol\";",
                Self.rc("avp_pushto(\"$ru/username\", \"$avp(u)\")"), Self.show("$ru"),
                "    $avp(du) = \"sip:proxy.example:5080\";",
                Self.rc("avp_pushto(\"$du\", \"$avp(du)\")"), Self.show("$du"),
                "    $avp(b) = \"sip:x@x.example\"; $avp(b) = \"sip:y@y.example\";",
                Self.rc("avp_pushto(\"$br\", \"$avp(b)/g\")"), Self.show("$(branch(uri)[0]) $(branch(uri)[1])"),
                "    $avp(n) = 5;",
                Self.rc("avp_pushto(\"$du\", \"$avp(n)\")"),
                Self.rc("avp_pushto(\"$ru\", \"$avp(missing)\")"),
                Self.rc("avp_pushto(\"$ru/username\", \"$fU\")"), Self.show("$ru"),
            ].joined(separator: "\n"))
        #expect(r == " 1 1 1 1 -1 -1 1")
        #expect(
            shows == [
                "sip:carol@a.example", "sip:proxy.example:5080", "sip:y@y.example sip:x@x.example", "sip:bob@a.example",
            ])
    }

    @Test func pushtoAllValuesForksThroughBranches() throws {
        let (r, shows) = try Self.run(
            [
                "    $avp(t) = \"sip:c@c.example\"; $avp(t) = \"sip:b@b.example\";",
                Self.rc("avp_pushto(\"$ru\", \"$avp(t)/g\")"), Self.show("$ru $(branch(uri)[0])"),
            ].joined(separator: "\n"))
        #expect(r == " 1")
        #expect(shows == ["sip:c@c.example sip:b@b.example"])
    }

    @Test func checkComparesIntegersStringsAndPatterns() throws {
        let (r, _) = try Self.run(
            [
                "    $avp(n) = 400; $avp(n) = 300;",
                Self.rc("avp_check(\"$avp(n)\", \"lt/i:345\")"), Self.rc("avp_check(\"$avp(n)\", \"gt/i:345\")"),
                Self.rc("avp_check(\"$avp(n)\", \"gt/i:345/g\")"), Self.rc("avp_check(\"$avp(n)\", \"and/i:0x4\")"),
                Self.rc("avp_check(\"$avp(n)\", \"eq/s:300\")"),
                "    $avp(s) = \"sip:Alice@Bar.net\";",
                Self.rc("avp_check(\"$avp(s)\", \"re/sip:.*@bar.net\")"),
                Self.rc("avp_check(\"$avp(s)\", \"eq/sip:alice@bar.net\")"),
                Self.rc("avp_check(\"$avp(s)\", \"eq/sip:alice@bar.net/i\")"),
                Self.rc("avp_check(\"$avp(s)\", \"fm/sip:*@Bar.*\")"),
                Self.rc("avp_check(\"$avp(s)\", \"lt/sip:b\")"),
                "    $avp(dom) = \"EXAMPLE.org\";",
                Self.rc("avp_check(\"$fd\", \"eq/$avp(dom)/i\")"), Self.rc("avp_check(\"$fd\", \"eq/$avp(dom)\")"),
                Self.rc("avp_check(\"$avp(missing)\", \"eq/x\")"),
            ].joined(separator: "\n"))
        #expect(r == " 1 -1 1 1 -1 1 -1 1 1 1 1 -1 -1")
    }

    @Test func opComputesWithIntegers() throws {
        let (r, shows) = try Self.run(
            [
                "    $avp(n) = 10;",
                Self.rc("avp_op(\"$avp(n)\", \"add/i:5\")"), Self.show("$(avp(n)[*])"),
                "    $avp(m) = 3;",
                Self.rc("avp_op(\"$avp(n)/$avp(res)\", \"mul/$avp(m)/d\")"), Self.show("$(avp(res)[*]) $(avp(n)[*])"),
                "    $avp(x) = 7;",
                Self.rc("avp_op(\"$avp(x)\", \"div/i:0\")"), Self.rc("avp_op(\"$avp(x)\", \"xor/i:0x3\")"),
                Self.show("$(avp(x)[*])"),
                Self.rc("avp_op(\"$avp(none)\", \"add/i:1\")"),
            ].joined(separator: "\n"))
        #expect(r == " 1 1 1 1 -1")
        #expect(shows == ["15, 10", "30, 45 <null>", "4, 3, 0, 7"])
    }

    @Test func substReplacesOrCopiesStringValues() throws {
        let (r, shows) = try Self.run(
            [
                "    $avp(e) = \"bob@old.example\"; $avp(e) = \"alice@old.example\";",
                Self.rc("avp_subst(\"$avp(e)/$avp(new)/g\", \"/(.*)@(.*)/\\\\1@$rd/\")"),
                Self.show("$(avp(new)[*]) | $(avp(e)[*])"),
                Self.rc("avp_subst(\"$avp(e)\", \"/old/new/\")"), Self.show("$(avp(e)[*])"),
                "    $avp(src) = \"testME\";",
                "    $var(y) = \"e\"; $var(z) = \"j\"; $var(x) = \"/\" + $var(y) + \"/\" + $var(z) + \"/gi\";",
                Self.rc("avp_subst_pv(\"$avp(src)\", \"$var(x)\")"), Self.show("$avp(src)"),
                Self.rc("avp_subst(\"$avp(e)\", \"/nomatch/x/\")"),
            ].joined(separator: "\n"))
        #expect(r == " 1 1 1 -1")
        #expect(
            shows == [
                "bob@example.com, alice@example.com | alice@old.example, bob@old.example",
                "alice@new.example, bob@old.example", "tjstMj",
            ])
    }

    @Test func isAVPSetChecksPresenceAndType() throws {
        let (r, _) = try Self.run(
            [
                "    $avp(s) = \"\"; $avp(n) = 0; $avp(n) = 4;",
                Self.rc("is_avp_set(\"$avp(s)\")"), Self.rc("is_avp_set(\"$avp(s)/e\")"),
                Self.rc("is_avp_set(\"$avp(s)/n\")"),
                Self.rc("is_avp_set(\"$avp(n)/n\")"), Self.rc("is_avp_set(\"$avp(n)/e\")"),
                Self.rc("is_avp_set(\"$(avp(n)[1])/e\")"),
                Self.rc("is_avp_set(\"$(avp(n)[2])\")"), Self.rc("is_avp_set(\"$avp(none)\")"), Self.rc("avp_print()"),
            ].joined(separator: "\n"))
        #expect(r == " 1 1 -1 1 -1 1 -1 -1 1")
    }

    @Test func badParametersAreRefusedAtStartUp() {
        for call in [
            "avp_delete(\"x\")", "avp_copy(\"$var(a)\", \"$avp(b)\")", "avp_pushto(\"$fu\", \"$avp(a)\")",
            "avp_check(\"$avp(a)\", \"zz/1\")", "avp_op(\"$avp(a)\", \"add/s:x\")", "avp_subst(\"$avp(a)\", \"/(/x/\")",
            "is_avp_set(\"$avp(a)/q\")", "avp_db_load(\"$fu\", \"$avp(a)\")",
        ] {
            #expect(throws: (any Error).self, "\(call)") {
                try EmbeddedCore(config: Self.config("    \(call);"), modulePath: productsDirectory)
            }
        }
    }
}
