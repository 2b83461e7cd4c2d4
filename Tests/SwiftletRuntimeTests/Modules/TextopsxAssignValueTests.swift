import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK
@testable import SwiftletSIP

/// textopsx's `remove_hf_value`, `assign_hf_value`, `remove_hf_value2`, `assign_hf_value2`.
/// The expected headers are what Kamailio 5.6.3 sends for the same script and request
/// (compared on loopback).
@Suite(.serialized) struct TextopsxAssignValueTests {
    static let headers = [
        "X-Foo: a, \"b,c\" , d",
        "k: path",
        "X-Foo: e",
        "X-Dup: x, x, y",
        "X-Empty:",
        "X-P: a;x=1;y=2, <sip:b;x=9>;x=3, \"q;x\" ;x=4;y",
        "X-P: c",
        "X-D: Digest realm=\"r\", nonce=n1, qop=auth",
        "X-T: tok x=1",
        "X-D2: Digest qop=auth, realm=\"r2\"",
    ]

    /// Runs `route` and returns the return codes (`$avp(r)`) and the headers after CSeq.
    func run(_ route: String) throws -> (codes: [Int], headers: [String]) {
        let config = "loadmodule \"textopsx.so\"\nloadmodule \"pv.so\"\nrequest_route {\n\(route)\n}\n"
        let ctx = try ScriptHarness.run(config, TextopsxHeaderValueTests.message(Self.headers)).ctx
        let codes = (ctx.avps["r"] ?? []).reversed().map { if case .int(let i) = $0 { i } else { 99 } }
        let lines = String(decoding: try ctx.edits.build(), as: UTF8.self).components(separatedBy: "\r\n")
        let end = lines.firstIndex(of: "") ?? lines.count
        return (codes, Array(lines[6..<(end - 1)]))
    }

    /// The headers with some replaced; an empty replacement removes the header.
    func changed(_ replacements: [String: String]) -> [String] {
        Self.headers.map { replacements[$0] ?? $0 }.filter { !$0.isEmpty }
    }

    static let p = "X-P: a;x=1;y=2, <sip:b;x=9>;x=3, \"q;x\" ;x=4;y"

    @Test func removeAndAssignValues() throws {
        let removed = try run(
            """
            remove_hf_value("X-P"); $avp(r) = $rc;
            remove_hf_value("X-Foo[-1]"); $avp(r) = $rc;
            remove_hf_value("X-Foo[2]"); $avp(r) = $rc;
            remove_hf_value("X-Foo[9]"); $avp(r) = $rc;
            """)
        #expect(removed.codes == [1, 1, 1, -1])
        #expect(
            removed.headers
                == changed([
                    "X-Foo: a, \"b,c\" , d": "X-Foo: a, d", "X-Foo: e": "",
                    Self.p: "X-P:  <sip:b;x=9>;x=3, \"q;x\" ;x=4;y",
                ]))
        let assigned = try run(
            """
            assign_hf_value("X-P", "z"); $avp(r) = $rc;
            assign_hf_value("X-P[2].x", "7"); $avp(r) = $rc;
            assign_hf_value("X-P[3].y", "new"); $avp(r) = $rc;
            assign_hf_value("X-P[-1].x", ""); $avp(r) = $rc;
            assign_hf_value("X-None.x", "1"); $avp(r) = $rc;
            """)
        #expect(assigned.codes == [1, 1, 1, 1, -1])
        #expect(
            assigned.headers
                == changed([Self.p: "X-P: z, <sip:b;x=9>;x=7, \"q;x\" ;x=4;y=new", "X-P: c": "X-P: c;x"]))
    }

    @Test func parametersOfEveryValue() throws {
        let removed = try run(
            """
            remove_hf_value("X-P[2].x"); $avp(r) = $rc;
            remove_hf_value("X-P[*].y"); $avp(r) = $rc;
            remove_hf_value("X-P[1].nope"); $avp(r) = $rc;
            remove_hf_value("X-P[*].nope"); $avp(r) = $rc;
            """)
        #expect(removed.codes == [1, 1, -1, -1])
        #expect(removed.headers == changed([Self.p: "X-P: a;x=1, <sip:b;x=9>, \"q;x\" ;x=4"]))
        let assigned = try run(
            """
            assign_hf_value("X-P[*].t", "5"); $avp(r) = $rc;
            assign_hf_value("X-D[*].u", "6"); $avp(r) = $rc;
            """)
        #expect(assigned.codes == [1, 1])
        #expect(
            assigned.headers
                == changed([
                    Self.p: "X-P: a;x=1;y=2;t=5, <sip:b;x=9>;x=3;t=5, \"q;x\" ;x=4;y;t=5", "X-P: c": "X-P: c;t=5",
                    "X-D: Digest realm=\"r\", nonce=n1, qop=auth":
                        "X-D: Digest realm=\"r\";u=6, nonce=n1;u=6, qop=auth;u=6",
                ]))
        let all = try run(
            """
            remove_hf_value("X-Foo[*]"); $avp(r) = $rc;
            assign_hf_value("k[-1]", "gruu"); $avp(r) = $rc;
            remove_hf_value("X-Dup[2]"); $avp(r) = $rc;
            remove_hf_value("X-None[*]"); $avp(r) = $rc;
            """)
        #expect(all.codes == [1, 1, 1, -1])
        #expect(
            all.headers
                == changed([
                    "X-Foo: a, \"b,c\" , d": "", "X-Foo: e": "", "k: path": "k: gruu", "X-Dup: x, x, y": "X-Dup: x, y",
                ]))
    }

    @Test func value2FormWorksOnWholeHeaders() throws {
        let assigned = try run(
            """
            assign_hf_value2("X-D.nonce", "n2"); $avp(r) = $rc;
            assign_hf_value2("X-D.opaque", "\\"o\\""); $avp(r) = $rc;
            assign_hf_value2("X-T.y", "2"); $avp(r) = $rc;
            remove_hf_value2("X-D2.qop"); $avp(r) = $rc;
            assign_hf_value2("X-T.x", ""); $avp(r) = $rc;
            remove_hf_value2("X-T.nope"); $avp(r) = $rc;
            assign_hf_value2("X-Empty.k", "v"); $avp(r) = $rc;
            """)
        #expect(assigned.codes == [1, 1, 1, 1, 1, -1, 1])
        #expect(
            assigned.headers
                == changed([
                    "X-Empty:": "X-Empty:k=v",
                    "X-D: Digest realm=\"r\", nonce=n1, qop=auth":
                        "X-D: Digest realm=\"r\", nonce=n2, qop=auth,opaque=\"o\"",
                    "X-T: tok x=1": "X-T: tok x,y=2",
                    "X-D2: Digest qop=auth, realm=\"r2\"": "X-D2: Digest  realm=\"r2\"",
                ]))
        let removed = try run(
            """
            remove_hf_value2("X-T"); $avp(r) = $rc;
            assign_hf_value2("X-D2", "none"); $avp(r) = $rc;
            remove_hf_value2("X-D[*].realm"); $avp(r) = $rc;
            remove_hf_value2("X-Foo[*]"); $avp(r) = $rc;
            remove_hf_value2("X-Foo[3]"); $avp(r) = $rc;
            assign_hf_value2("X-P[-1]", "$rm"); $avp(r) = $rc;
            """)
        #expect(removed.codes == [1, 1, 1, 1, -1, 1])
        #expect(
            removed.headers
                == changed([
                    "X-Foo: a, \"b,c\" , d": "", "X-Foo: e": "", "X-T: tok x=1": "", "X-P: c": "X-P: INVITE",
                    "X-D2: Digest qop=auth, realm=\"r2\"": "X-D2: none",
                    "X-D: Digest realm=\"r\", nonce=n1, qop=auth": "X-D: Digest  nonce=n1, qop=auth",
                ]))
    }

    @Test func selectorsAreCheckedAtStartUp() {
        func error(_ call: String) -> [String] {
            ScriptHarness.errors("loadmodule \"textopsx.so\"\nrequest_route {\n  \(call);\n}\n")
        }
        #expect(
            error("assign_hf_value(\"X-Foo[*]\", \"v\")")
                == ["bad.cfg:3:19: error: assign_hf_value: asterisk not supported without param"])
        #expect(
            error("assign_hf_value2(\"X-Foo[*]\", \"v\")")
                == ["bad.cfg:3:20: error: assign_hf_value2: asterisk not supported without param"])
        #expect(
            error("remove_hf_value(\"X-Foo[-11]\")")
                == ["bad.cfg:3:19: error: remove_hf_value: index cannot be lower than -10"])
        #expect(error("remove_hf_value2(\"X-Foo[*]\")") == [])
    }
}
