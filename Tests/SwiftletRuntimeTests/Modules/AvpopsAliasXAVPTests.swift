import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// pv's `avp_aliases` (an alias names an `s:`/`i:` AVP for the core's `$avp` and avpops
/// alike) and `avp_check` on `$xavp(...)` values, on the embedded core.
@Suite struct AvpopsAliasXAVPTests {
    typealias A = AvpopsModuleTests

    static func run(_ route: [String], extra: String = "") throws -> (String?, [String]) {
        let core = try EmbeddedCore(
            config: A.config(route.joined(separator: "\n"), extra: extra), modulePath: productsDirectory)
        core.receive(ScriptHarness.request(), from: "127.0.0.1:5070")
        let lines = core.takeSent().last?.text.components(separatedBy: "\r\n") ?? []
        return (
            lines.first { $0.hasPrefix("X-R:") }.map { String($0.dropFirst(4)) },
            lines.filter { $0.hasPrefix("X-S: ") }.map { String($0.dropFirst(5)) }
        )
    }

    static let aliases = """
        loadmodule "pv.so"
        modparam("pv", "avp_aliases", "email=s:email_addr; tmp = i:100")
        modparam("pv", "avp_aliases", "plain=other")
        """

    @Test func aliasesNameTheirAVPsInTheCoreAndInAvpops() throws {
        let (r, shows) = try Self.run(
            [
                "    $avp(email) = \"a@b.net\"; $avp(tmp) = 3; $avp(s:other) = \"o\";",
                A.show("$avp(s:email_addr) $avp(i:100) $avp(plain) $avp(EMAIL)"),
                A.rc("avp_check(\"$avp(email)\", \"eq/s:a@b.net\")"),
                A.rc("avp_check(\"$avp(i:100)\", \"eq/$avp(tmp)\")"),
                A.rc("is_avp_set(\"$avp(Tmp)\")"),
                A.rc("avp_copy(\"$avp(tmp)\", \"$avp(email)/g\")"),
                A.show("$(avp(s:email_addr)[*])"),
                A.rc("avp_delete(\"$avp(plain)\")"),
                A.show("$avp(s:other)"),
                // A name with a type prefix is never an alias.
                "    $avp(s:tmp) = \"t\";", A.show("$avp(i:100) $avp(s:tmp)"),
            ], extra: Self.aliases)
        #expect(r == " 1 1 1 1 1")
        #expect(shows == ["a@b.net 3 o a@b.net", "3, a@b.net", "<null>", "3 t"])
    }

    @Test func aDuplicateOrMalformedAliasIsAStartUpError() throws {
        for bad in ["a=s:x;A=s:y", "a=s:x;b=x", "a=i:1;b=i:1", "a", "a=s:x;", "a=i:x"] {
            #expect(throws: (any Error).self, "\(bad)") {
                try EmbeddedCore(
                    config: A.config(
                        "", extra: "loadmodule \"pv.so\"\nmodparam(\"pv\", \"avp_aliases\", \"\(bad)\")"),
                    modulePath: productsDirectory)
            }
        }
    }

    @Test func checkTakesXAVPFieldsValueByValue() throws {
        let (r, _) = try Self.run(
            [
                "    $xavp(c=>n) = 5; $xavp(c[0]=>n) = 7; $xavp(c[0]=>s) = \"abc\"; $avp(v) = 5;",
                A.rc("avp_check(\"$xavp(c=>n)\", \"eq/i:7\")"),
                A.rc("avp_check(\"$xavp(c=>n)\", \"eq/i:5\")"),
                A.rc("avp_check(\"$xavp(c=>n[*])\", \"eq/i:5\")"),
                A.rc("avp_check(\"$xavp(c=>n[1])\", \"eq/$avp(v)\")"),
                A.rc("avp_check(\"$xavp(c=>n[-1])\", \"eq/i:5\")"),
                A.rc("avp_check(\"$avp(v)\", \"eq/$xavp(c=>n)\")"),
                A.rc("avp_check(\"$avp(v)\", \"eq/$xavp(c=>n[*])\")"),
                A.rc("avp_check(\"$xavp(c=>s)\", \"re/^A\")"),
                A.rc("avp_check(\"$xavp(c=>s)\", \"eq/i:7\")"),
                A.rc("avp_check(\"$xavp(c)\", \"eq/i:7\")"),
                A.rc("avp_check(\"$xavp(none=>n)\", \"eq/i:7\")"),
                A.rc("avp_check(\"$avp(v)\", \"eq/$xavp(none=>n)\")"),
                A.rc("avp_check(\"$xavp(c=>n[*])\", \"gt/$xavp(c=>n[*])\")"),
            ])
        #expect(r == " 1 -1 1 1 1 -1 1 1 -1 -1 -1 -1 1")
    }
}
