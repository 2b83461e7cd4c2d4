import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK
@testable import SwiftletSIP

/// textopsx's header-value functions. The expected messages are what Kamailio 5.6.3 sends
/// for the same script and request (compared on loopback).
@Suite(.serialized) struct TextopsxHeaderValueTests {
    static let headers = [
        "Supported: timer, 100rel",
        "X-Foo: a, \"b,c\" , d",
        "k: path",
        "X-Foo: e",
        "Allow: INVITE,ACK, BYE",
        "X-Dup: x, x, y",
        "X-Empty:",
        "X-Sp:  \t",
    ]

    static func message(_ headers: [String]) -> String {
        ([
            "INVITE sip:alice@example.com SIP/2.0", "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-1",
            "From: <sip:bob@example.org>;tag=1", "To: <sip:alice@example.com>", "Call-ID: call-1@test",
            "CSeq: 1 INVITE",
        ] + headers + ["Content-Length: 0", "", ""]).joined(separator: "\r\n")
    }

    /// Runs `route` and returns the return codes (`$avp(r)`) and the changed headers.
    func run(_ route: String) throws -> (codes: [Int], headers: [String]) {
        let config = "loadmodule \"textopsx.so\"\nloadmodule \"pv.so\"\nrequest_route {\n\(route)\n}\n"
        let ctx = try ScriptHarness.run(config, Self.message(Self.headers)).ctx
        let codes = (ctx.avps["r"] ?? []).reversed().map { if case .int(let i) = $0 { i } else { 99 } }
        let lines = String(decoding: try ctx.edits.build(), as: UTF8.self).components(separatedBy: "\r\n")
        let end = lines.firstIndex(of: "") ?? lines.count
        return (codes, Array(lines[6..<end]))
    }

    /// The headers with some replaced (an empty replacement removes one), Content-Length,
    /// then `adding`.
    func changed(_ replacements: [String: String], adding: [String] = []) -> [String] {
        Self.headers.map { replacements[$0] ?? $0 }.filter { !$0.isEmpty } + ["Content-Length: 0"] + adding
    }

    @Test func valueExistsComparesValuesIgnoringCase() throws {
        let r = try run(
            """
            hf_value_exists("Supported", "TIMER"); $avp(r) = $rc;
            hf_value_exists("k", "path"); $avp(r) = $rc;
            hf_value_exists("supported", "none"); $avp(r) = $rc;
            hf_value_exists("X-Foo", "\\"b,c\\""); $avp(r) = $rc;
            hf_value_exists("X-Foo", "b"); $avp(r) = $rc;
            hf_value_exists("X-Empty", ""); $avp(r) = $rc;
            hf_value_exists("X-Foo", "e"); $avp(r) = $rc;
            """)
        #expect(r.codes == [1, 1, -1, 1, -1, -1, 1])
        #expect(r.headers == changed([:]))
    }

    @Test func includeAndExclude() throws {
        let inc = try run(
            """
            include_hf_value("Supported", "gruu"); $avp(r) = $rc;
            include_hf_value("X-Bar", "one"); $avp(r) = $rc;
            include_hf_value("Supported", "PATH"); $avp(r) = $rc;
            include_hf_value("X-Empty", "q");
            """)
        #expect(inc.codes == [1, 1, 1])
        #expect(
            inc.headers
                == changed(
                    ["Supported: timer, 100rel": "Supported: timer, 100rel,gruu", "X-Empty:": "X-Empty:,q"],
                    adding: ["X-Bar: one"]))
        let exc = try run(
            """
            exclude_hf_value("Supported", "100rel"); $avp(r) = $rc;
            exclude_hf_value("X-Foo", "e"); $avp(r) = $rc;
            exclude_hf_value("X-Foo", "a"); $avp(r) = $rc;
            exclude_hf_value("X-None", "a"); $avp(r) = $rc;
            exclude_hf_value("X-Dup", "x");
            exclude_hf_value("Allow", "ack");
            """)
        #expect(exc.codes == [1, 1, 1, 1])
        #expect(
            exc.headers
                == changed([
                    "Supported: timer, 100rel": "Supported: timer", "X-Foo: a, \"b,c\" , d": "X-Foo:  \"b,c\" , d",
                    "X-Foo: e": "", "X-Dup: x, x, y": "X-Dup:  y", "Allow: INVITE,ACK, BYE": "Allow: INVITE, BYE",
                ]))
        let last = try run("exclude_hf_value(\"Supported\", \"timer\"); exclude_hf_value(\"X-Foo\", \"d\");")
        #expect(
            last.headers
                == changed([
                    "Supported: timer, 100rel": "Supported:  100rel", "X-Foo: a, \"b,c\" , d": "X-Foo: a, \"b,c\" ",
                ]))
    }

    @Test func appendAtIndexes() throws {
        let r = try run(
            """
            append_hf_value("X-Foo", "v1"); $avp(r) = $rc;
            append_hf_value("X-Foo[]", "v2"); $avp(r) = $rc;
            append_hf_value("X-Foo[1]", "v3"); $avp(r) = $rc;
            append_hf_value("X-Foo[-2]", "v4"); $avp(r) = $rc;
            append_hf_value("X-Foo[9]", "v5"); $avp(r) = $rc;
            append_hf_value(" supported [ +2 ] ", "v6"); $avp(r) = $rc;
            append_hf_value("X-Sp[]", "$rm");
            """)
        #expect(r.codes == [1, 1, 1, 1, 1, 1])
        #expect(
            r.headers
                == changed(
                    [
                        "Supported: timer, 100rel": "Supported: timer, 100rel,v6",
                        "X-Foo: a, \"b,c\" , d": "X-Foo: a,v3, \"b,c\" , d,v4", "X-Foo: e": "X-Foo: e,v2",
                        "X-Sp:  \t": "X-Sp:  \t,INVITE",
                    ], adding: ["X-Foo: v1", "X-Foo: v5"]))
    }

    @Test func insertAtIndexes() throws {
        let r = try run(
            """
            insert_hf_value("X-Foo", "i1"); $avp(r) = $rc;
            insert_hf_value("X-Foo[]", "i2"); $avp(r) = $rc;
            insert_hf_value("X-Foo[3]", "i3"); $avp(r) = $rc;
            insert_hf_value("X-Foo[-1]", "i4"); $avp(r) = $rc;
            insert_hf_value("X-Foo[7]", "i5"); $avp(r) = $rc;
            insert_hf_value("X-None[1]", "i6"); $avp(r) = $rc;
            insert_hf_value("X-None", "i7"); $avp(r) = $rc;
            insert_hf_value("X-None[2]", "i8"); $avp(r) = $rc;
            """)
        #expect(r.codes == [1, 1, 1, 1, -1, 1, 1, -1])
        var expected = changed(
            ["X-Foo: a, \"b,c\" , d": "X-Foo: i2,a, \"b,c\" ,i3, d", "X-Foo: e": "X-Foo: i4,e"],
            adding: ["X-None: i6", "X-None: i7"])
        expected.insert("X-Foo: i1", at: 1)
        #expect(r.headers == expected)
    }

    @Test func selectorsAreCheckedAtStartUp() {
        func error(_ call: String) -> [String] {
            ScriptHarness.errors("loadmodule \"textopsx.so\"\nrequest_route {\n  \(call);\n}\n")
        }
        #expect(
            error("append_hf_value(\"X-Foo[*]\", \"v\")") == [
                "bad.cfg:3:19: error: append_hf_value: asterisk not supported"
            ])
        #expect(
            error("insert_hf_value(\"X-Foo.bar\", \"v\")") == [
                "bad.cfg:3:19: error: insert_hf_value: param not supported"
            ])
        #expect(
            error("append_hf_value(\"X-Foo[-11]\", \"v\")")
                == ["bad.cfg:3:19: error: append_hf_value: index cannot be lower than -10"])
        #expect(
            error("append_hf_value(\"[1]\", \"v\")") == [
                "bad.cfg:3:19: error: append_hf_value: cannot parse header near '[1]'"
            ])
        #expect(
            error("append_hf_value(\"X-Foo[1]x\", \"v\")") == [
                "bad.cfg:3:19: error: append_hf_value: cannot parse header near 'x'"
            ])
        #expect(
            error("append_hf_value(\"X-Foo[a]\", \"v\")") == [
                "bad.cfg:3:19: error: append_hf_value: cannot parse header near 'a]'"
            ])
        #expect(
            error("hf_value_exists(\"Supported[1]\", \"v\")")
                == ["bad.cfg:3:19: error: hf_value_exists: neither index nor param may be specified in 'Supported[1]'"])
        #expect(
            ScriptHarness.errors(
                "loadmodule \"textopsx.so\"\nrequest_route {}\nonsend_route { exclude_hf_value(\"Supported\", \"v\"); }\n"
            )
                == ["bad.cfg:3:16: error: function 'exclude_hf_value' (module textopsx) cannot be used in onsend_route"]
        )
    }
}
