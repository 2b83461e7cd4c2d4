import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK
@testable import SwiftletSIP

/// Writable and stateful pseudo-variables and the message PVs. Expected values were printed
/// by Kamailio 5.6.3 (xlog) for the same assignments and the request of `pvTestRequest`.
@Suite struct PseudoVariableTests {
    @Test func scriptVariablesStartAsZeroAndNullAssignments() throws {
        let f = try PVFixture()
        #expect(try f.value("$var(never_set_anywhere)") == .int(0))
        try f.set("$var(x)", "abc")
        #expect(try f.value("$var(x)") == .string("abc"))
        #expect(try f.value("$vz(x)") == .string("abc"))  // $vz is $var
        try f.set("$var(x)", .null)
        #expect(try f.value("$var(x)") == .int(0))  // Kamailio: V1=[0]
        #expect(try f.render("[$vn(never_set_null)]") == "[<null>]")
        try f.set("$vn(y)", .int(3))
        #expect(try f.value("$vn(y)") == .int(3))
        try f.set("$vn(y)", .null)
        #expect(try f.render("[$vn(y)]") == "[<null>]")  // Kamailio: V3=[<null>]
        #expect(f.error("$var()") == "$var needs a name: $var(name)")
        #expect(f.error("$(var(x)[1])") == "$var takes no index")
    }

    @Test func varBelongsToItsThreadAndOutlivesTheMessage() throws {
        let f = try PVFixture()
        try f.set("$var(tl)", "main")
        ScriptVariables.shared.setInitialValue("tl_init", .string("hello"))
        let other = try PVFixture()  // another message, same thread
        #expect(try other.value("$var(tl)") == .string("main"))
        final class Box: @unchecked Sendable { var seen: [PVValue?] = [] }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            let g = try? PVFixture()
            box.seen.append(try? g?.value("$var(tl)"))
            box.seen.append(try? g?.value("$var(tl_init)"))
            _ = try? g?.set("$var(tl)", "worker")
            box.seen.append(try? g?.value("$var(tl)"))
            done.signal()
        }
        thread.start()
        done.wait()
        #expect(box.seen == [.int(0), .string("hello"), .string("worker")])
        #expect(try f.value("$var(tl)") == .string("main"))
        #expect(try f.value("$var(tl_init)") == .string("hello"))
    }

    @Test func avpIsAPerMessageStack() throws {
        let f = try PVFixture()
        try f.set("$avp(a)", .int(1))
        try f.set("$avp(a)", "two")
        try f.set("$avp(a)", .int(3))
        #expect(
            try f.render("P1=[$avp(a)] P2=[$(avp(a)[1])] P3=[$(avp(a)[*])] P4=[$(avp(a)[-1])] P5=[$(avp(a)[5])]")
                == "P1=[3] P2=[two] P3=[3, two, 1] P4=[<null>] P5=[<null>]")
        #expect(try f.value("$(avp(a)[-3])") == .int(3))  // Kamailio finds only [-count]: the newest
        #expect(try f.value("$avp(s:a)") == .int(3))
        try f.set("$avp(a)", .null)
        #expect(try f.render("P6=[$(avp(a)[*])]") == "P6=[two, 1]")
        try f.set("$(avp(a)[*])", .null)
        #expect(try f.render("P7=[$(avp(a)[*])] P8=[$avp(a)]") == "P7=[<null>] P8=[<null>]")
        try f.set("$(avp(b)[1])", "q")
        try f.set("$avp(b)", "r")
        try f.set("$(avp(b)[*])", "s")
        #expect(try f.render("P9=[$(avp(b)[*])]") == "P9=[s]")
        try f.set("$var(i)", .int(1))
        try f.set("$avp(b)", "t")
        #expect(try f.value("$(avp(b)[$var(i)])") == .string("s"))
        #expect(try PVFixture().value("$avp(b)") == .null)  // another message has its own AVPs
        #expect(f.error("$(avp(x)[y])") == "invalid index [y]")
    }

    @Test func xavpRootsAndFields() throws {
        let f = try PVFixture()
        try f.set("$xavp(r=>f)", .int(1))
        try f.set("$xavp(r[0]=>g)", "gg")
        try f.set("$xavp(r=>f)", .int(2))
        #expect(
            try f.render(
                "X1=[$xavp(r=>f)] X2=[$xavp(r[1]=>f)] X3=[$xavp(r[1]=>g)] X4=[$xavp(r[0]=>g)] X5=[$xavp(nosuch=>f)]")
                == "X1=[2] X2=[1] X3=[gg] X4=[<null>] X5=[<null>]")
        try f.set("$xavp(r[0]=>f)", .int(3))
        #expect(try f.render("X6=[$(xavp(r[0]=>f[*]))] X7=[$xavp(r[0]=>f[1])]") == "X6=[3, 2] X7=[2]")
        try f.set("$xavp(r[0]=>f[0])", .int(9))
        #expect(try f.render("X8=[$(xavp(r[0]=>f[*]))]") == "X8=[9, 2]")
        try f.set("$xavp(s)", "single")
        #expect(try f.render("X9=[$xavp(s)]") == "X9=[single]")
        try f.set("$xavp(r[0]=>f)", .null)
        #expect(try f.render("[$(xavp(r[0]=>f[*]))]") == "[2]")
        try f.set("$xavp(r)", .null)
        #expect(try f.value("$xavp(r=>g)") == .string("gg"))
        #expect(f.error("$xavp(=>f)") == "$xavp needs a name: $xavp(root=>field)")
    }

    @Test func requestURIAndDestinationAssignments() throws {
        let f = try PVFixture()
        try f.set("$ru", "sip:bob@b.example:5080;transport=udp")
        try f.set("$rU", "carol")
        #expect(
            try f.render("R1=[$ru] R2=[$rU] R3=[$ou]")
                == "R1=[sip:carol@b.example:5080;transport=udp] R2=[carol] R3=[sip:alice:pw@example.com:5070;transport=tcp;lr;x=1?h=v]"
        )
        try f.set("$rd", "c.example")
        try f.set("$rp", .int(6000))
        #expect(
            try f.render("R4=[$ru] R5=[$rp] R6=[$rd]")
                == "R4=[sip:carol@c.example:6000;transport=udp] R5=[6000] R6=[c.example]")
        try f.set("$rp", .null)
        try f.set("$rU", .null)
        #expect(try f.render("R7=[$ru] R8=[$rp] R9=[$rU]") == "R7=[sip:c.example;transport=udp] R8=[5060] R9=[<null>]")
        #expect(f.ctx.newRequestURI == "sip:c.example;transport=udp")
        #expect(try f.set("$ru", .null) == false)
        #expect(try f.set("$rd", .int(3)) == false)
        try f.set("$du", "sip:proxy.example:5090")
        #expect(
            try f.render("D1=[$du] D2=[$dd] D3=[$dp]") == "D1=[sip:proxy.example:5090] D2=[proxy.example] D3=[5090]")
        #expect(f.ctx.destinationURI == "sip:proxy.example:5090")
        try f.set("$du", .null)
        #expect(try f.render("D4=[$du]") == "D4=[<null>]")
        #expect(f.ctx.destinationURI == nil)
        try f.set("$ru", "sips:bob@b.example;transport=tcp")
        try f.set("$rp", "5061")
        #expect(
            try f.render("X1=[$ru] X2=[$rp] X3=[$rz] X4=[$rP]")
                == "X1=[sips:bob@b.example:5061;transport=tcp] X2=[5061] X3=[sips] X4=[tcp]")
        try f.set("$ru", "sip:bob@b.example;transport=tls")
        #expect(try f.render("X5=[$rp] X6=[$rP] X7=[$rz]") == "X5=[5061] X6=[tls] X7=[sip]")
        #expect(f.error("$rm") == nil)
        #expect(try f.registry.compile("$rm").set == nil)
    }

    /// Kamailio's `rewritehost`, `rewriteuser`, `prefix`, `strip`... (action.c) on the same URIs.
    @Test func uriRewritesAsKamailio() throws {
        let tel = "tel:+1-555-0100;phone-context=example.com"
        let sip = "sip:bob:pw@b.example:5080;transport=tcp;lr?h=1"
        #expect(
            try URIRewrite.apply(.host("gw.example"), to: tel)
                == "sip:+1-555-0100;phone-context=example.com@gw.example;user=phone")
        #expect(try URIRewrite.apply(.user("+49"), to: tel) == "tel:+49;phone-context=example.com")
        #expect(
            try URIRewrite.apply(.hostPortTransport("c.example:7000"), to: sip) == "sip:bob:pw@c.example:7000;lr?h=1")
        #expect(
            try URIRewrite.apply(.hostPort("c.example:7000"), to: sip)
                == "sip:bob:pw@c.example:7000;transport=tcp;lr?h=1")
        #expect(try URIRewrite.apply(.prefix("00"), to: sip) == "sip:00bob:pw@b.example:5080;transport=tcp;lr?h=1")
        #expect(try URIRewrite.apply(.strip(2), to: sip) == "sip:b:pw@b.example:5080;transport=tcp;lr?h=1")
        #expect(try URIRewrite.apply(.stripTail(5), to: sip) == "sip:b.example:5080;transport=tcp;lr?h=1")
        #expect(
            try URIRewrite.apply(.userPassword("carol:x"), to: sip) == "sip:carol:x@b.example:5080;transport=tcp;lr?h=1"
        )
        #expect(try URIRewrite.apply(.prefix("00"), to: "sip:b.example") == "sip:00@b.example")
        #expect(try URIRewrite.apply(.userPhone, to: "sip:bob@b.example") == "sip:bob@b.example;user=phone")
        #expect(try URIRewrite.apply(.hostAll("h2.example;x=1"), to: "sip:bob@b.example:5") == "sip:bob@h2.example;x=1")
        #expect(throws: URIRewrite.Failure.telPort) { try URIRewrite.apply(.port("5"), to: tel) }
        #expect(throws: URIRewrite.Failure.badURI) { try URIRewrite.apply(.user("x"), to: "not a uri") }
    }

    @Test func messagePseudoVariables() throws {
        let f = try PVFixture()
        #expect(
            try f.render("B1=[$fn] B2=[$tn] B3=[$ct] B4=[$cT] B5=[$cl] B6=[$di] B7=[$ai] B8=[$rv] B9=[$mt]")
                == "B1=[\"Alice A\"] B2=[Bob] B3=[<sip:alice@10.0.0.1:5062;transport=udp>;expires=60;q=0.5] B4=[application/sdp] B5=[0] B6=[sip:div@example.net] B7=[sip:pai@example.net] B8=[SIP/2.0] B9=[1]"
        )
        #expect(
            try f.render(
                "C1=[$(hdr(X-Multi)[*])] C2=[$(hdr(X-Multi)[1])] C3=[$(hdr(X-Multi)[-1])] C4=[$hdrc(X-Multi)] C5=[$(hdr(X-None){s.len})] C6=[$(hdr(X-None))]"
            ) == "C1=[one,two,three, four] C2=[two] C3=[three, four] C4=[3] C5=[] C6=[<null>]")
        #expect(
            try f.render("[$hdr(x-multi)] [$hdrc(Via)] [$hdrc(v)] [$hdrc(X-None)] [$RAi] [$RAp]")
                == "[one] [1] [1] [0] [127.0.0.1] [5060]")
        #expect(
            try f.render("[$rU] [$rd] [$rp] [$fU] [$tU] [$(hdr(To){tobody.user})]")
                == "[alice] [example.com] [5070] [alice] [bob] [bob]")
        let now = time(nil)
        guard case .int(let ts)? = try f.value("$Ts") else { Issue.record("$Ts is not an integer"); return }
        #expect(abs(ts - now) <= 1)
        let tf = try f.render("$Tf")
        #expect(
            tf.range(of: #"^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}$"#, options: .regularExpression)
                != nil, "\(tf)")
        // Kamailio: Y2..Y5 for $(hdr(*)[2]), $(hdr(Via)[0]), $hdr(*), $hdrc(*).
        #expect(
            try f.render("[$(hdr(*)[2])] [$(hdr(Via)[0])] [$hdr(*)] [$hdrc(*)]")
                == "[Bob <sip:bob@example.org;user=phone>] [SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-1;rport] [SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-1;rport] [0]"
        )
        #expect(try f.render("[$avp(i:1)]") == "[<null>]")
        try f.set("$avp(i:1)", "int-named")
        try f.set("$avp(s:sn)", "str-named")
        #expect(try f.render("[$avp(i:1)] [$avp(sn)] [$avp(s:sn)]") == "[int-named] [str-named] [str-named]")
        #expect(f.error("$hdr()") == "$hdr needs a header name: $hdr(Name)")
        #expect(f.error("$(hdr(X)[abc])") == "invalid index [abc]")
        #expect(f.error("$shv(x)") == "unknown pseudo-variable '$shv(x)'")  // needs loadmodule "pv.so"
    }
}
