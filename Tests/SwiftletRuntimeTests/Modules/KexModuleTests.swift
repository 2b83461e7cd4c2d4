import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// The kex module's script functions run on messages: script flags (kept by the worker from
/// one message to the next), branch flags by branch index, the destination URI, pv_printf,
/// is_myself against the listen addresses and aliases, and their start-up errors.
@Suite(.serialized) struct KexModuleTests {
    static let prelude = ScriptHarness.prelude + "alias=example.net\nloadmodule \"kex.so\"\n"

    func run(_ route: String, _ message: String = ScriptHarness.request(), prepare: (MessageContext) -> Void = { _ in })
        throws -> MessageContext
    {
        let loaded = try ScriptHarness.load(Self.prelude + "request_route {\n\(route)\n}\n")
        let ctx = try ScriptHarness.context(message, core: loaded.context)
        prepare(ctx)
        loaded.script.runRequestRoute(ctx)
        return ctx
    }

    @Test func scriptFlagsBelongToTheWorkerNotTheMessage() throws {
        ScriptFlags.value = 0
        let first = try run(
            """
            setsflag(3); setsflag(31); setsflag(32); setsflag("$vn(none)");
            if (issflagset(3)) { $avp(r) = "3"; }
            if (!issflagset(4)) { $avp(r) = "not4"; }
            """)
        #expect(first.avps["r"] == [.string("not4"), .string("3")])
        #expect(ScriptFlags.value == 1 << 3 | 1 << 31)
        // A later message on the same worker still sees them (Kamailio: per process).
        let second = try run(
            """
            if (issflagset(31)) { $avp(r) = "31"; }
            resetsflag(31);
            if (!issflagset(31)) { $avp(r) = "reset"; }
            """)
        #expect(second.avps["r"] == [.string("reset"), .string("31")])
        #expect(ScriptFlags.value == 1 << 3)
        ScriptFlags.value = 0
    }

    @Test func sruidIsANewUniqueIDOnEachRead() throws {
        var script = ""
        for i in 1...17 { script += "$avp(id\(i)) = $sruid;\n" }
        let ctx = try run(script)
        let ids = (1...17).compactMap { i -> String? in
            if case .string(let s)? = ctx.avps["id\(i)"]?.first { return s }
            return nil
        }
        #expect(ids.count == 17)
        #expect(Set(ids).count == 17)
        // srid-<time hex>-<pid hex>-<counter, least significant hex digit first>
        let parts = ids[0].split(separator: "-")
        #expect(parts.count == 4)
        #expect(parts[0] == "srid")
        let time = try #require(UInt32(parts[1], radix: 16))
        #expect(abs(Int(time) - Int(Foundation.time(nil))) < 3600)
        #expect(parts[2] == String(getpid(), radix: 16))
        let prefix = parts[0...2].joined(separator: "-") + "-"
        let counters = ids.map { String($0.dropFirst(prefix.count)) }
        #expect(ids.allSatisfy { $0.hasPrefix(prefix) })
        // Consecutive reads: n, n+1, ... written least significant digit first.
        let values = counters.map { UInt32(String($0.reversed()), radix: 16) ?? 0 }
        #expect(zip(values, values.dropFirst()).allSatisfy { $1 == $0 + 1 })
        let sixteen = try #require(counters.firstIndex { UInt32(String($0.reversed()), radix: 16)! % 16 == 0 })
        #expect(counters[sixteen].hasPrefix("0"))
    }

    @Test func branchFlagsByBranchIndex() throws {
        let ctx = try run(
            """
            setbflag(1); setbflag(2, 0); setbflag(5, 2); setbflag(6, 3); setbflag(40);
            $var(b) = 1;
            setbflag(7, "$var(b)");
            resetbflag(2);
            if (isbflagset(1) && !isbflagset(2, 0) && isbflagset(5, 2) && !isbflagset(5, 3)) { $avp(r) = "ok"; }
            """
        ) { ctx in
            ctx.branches = [Branch(uri: "sip:b1@example.com"), Branch(uri: "sip:b2@example.com", flags: 1)]
        }
        #expect(ctx.avps["r"] == [.string("ok")])
        #expect(ctx.branchFlags == 1 << 1)
        #expect(ctx.branches.map(\.flags) == [1 << 7, 1 | 1 << 5])
    }

    @Test func destinationURIFunctions() throws {
        let ctx = try run(
            """
            if (!isdsturiset()) { $avp(r) = "unset"; }
            setdsturi("sip:$rU@10.0.0.1:5080");
            if (isdsturiset()) { $avp(r) = $du; }
            resetdsturi();
            if (!isdsturiset()) { $avp(r) = "reset"; }
            setdsturi("sip:gw.example.org;transport=tcp");
            """)
        #expect(ctx.avps["r"] == [.string("reset"), .string("sip:alice@10.0.0.1:5080"), .string("unset")])
        #expect(ctx.destinationURI == "sip:gw.example.org;transport=tcp")
    }

    @Test func pvPrintfAssignsTheFormattedString() throws {
        let ctx = try run(
            """
            pv_printf("$var(x)", "$rU-$rm-$(fu{uri.host})");
            $avp(x) = $var(x);
            avp_printf("$avp(y)", "n=$var(x)");
            pv_printf("$ru", "sip:bob@$rd");
            """)
        #expect(ctx.avps["x"] == [.string("alice-INVITE-example.org")])
        #expect(ctx.avps["y"] == [.string("n=alice-INVITE-example.org")])
        #expect(ctx.requestURI == "sip:bob@example.com")
    }

    @Test func isMyselfUsesTheListenersAndAliases() throws {
        let cases: [(String, Bool)] = [
            ("sip:127.0.0.1", true), ("sip:alice@127.0.0.1:5060", true), ("sip:127.0.0.1:5070", false),
            ("sips:bob@example.net:9999", true), ("127.0.0.1", true), ("example.net", true),
            ("sip:192.0.2.1", false), ("192.0.2.1", false), ("sip:", false), ("$rd", false),
        ]
        for (uri, expected) in cases {
            let ctx = try run("if (is_myself(\"\(uri)\")) { $avp(r) = \"yes\"; } else { $avp(r) = \"no\"; }")
            #expect(ctx.avps["r"] == [.string(expected ? "yes" : "no")], "is_myself(\(uri))")
        }
        let dynamic = try run(
            "$var(u) = \"sip:x@\" + $rd; if (is_myself(\"$var(u)\")) { $avp(r) = \"yes\"; }",
            ScriptHarness.request(uri: "sip:alice@example.net"))
        #expect(dynamic.avps["r"] == [.string("yes")])
    }

    @Test func setdebugChangesTheWorkersLevelOnly() throws {
        defer { Log.setLocalLevel(nil) }
        let ctx = try run("setdebug(3);")
        _ = ctx
        #expect(Log.enabled(.debug))
        _ = try run("resetdebug();")
        #expect(!Log.enabled(.debug))
        #expect(!Log.enabled(.info))
    }

    @Test func startupErrors() {
        let errors = ScriptHarness.errors(
            Self.prelude + """
                request_route {
                    pv_printf("$rm", "x");
                    pv_printf("text", "x");
                    setbflag(1, 2, 3);
                    setsflag("abc");
                }
                """)
        #expect(
            errors == [
                "bad.cfg:9:15: error: pv_printf: $rm is not writable",
                "bad.cfg:10:15: error: pv_printf: a pseudo-variable is required here, not \"text\"",
                "bad.cfg:11:5: error: function 'setbflag' takes 1 to 2 parameter(s), 3 given",
                "bad.cfg:12:14: error: setsflag: expected an integer or a pseudo-variable, found \"abc\"",
            ], "\(errors)")
    }
}
