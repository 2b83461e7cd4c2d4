import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK
@testable import SwiftletSIP

/// A request with several Via, Record-Route and Contact bodies; the expected values were
/// printed by Kamailio 5.6.3 (xlog) for the same request.
let pvListRequest =
    [
        "OPTIONS sip:bob@example.com SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.1:5798;branch=z9hG4bK-a;rport=5798;received=10.1.1.1;i=7, "
            + "SIP/2.0/TCP proxy.example:5080;branch=z9hG4bK-b",
        "v: SIP/2.0/TLS last.example;branch=z9hG4bK-c",
        "Record-Route: <sip:r1.example;lr>, <sip:r2.example;lr>",
        "Record-Route: <sip:r3.example;lr>",
        "From: <sip:alice@example.com>;tag=abc",
        "To: <sip:bob@example.com>",
        "Call-ID: cid-3",
        "CSeq: 1 OPTIONS",
        "Contact: <sip:c1@h1>;expires=30, <sip:c2@h2>;q=0.1",
        "Contact: <sip:c3@h3>, <sip:c4@h4>",
        "X-Multi: one, two",
        "X-Multi: three",
        "Content-Length: 0",
        "",
        "",
    ].joined(separator: "\r\n")

@Suite struct HeaderPseudoVariableTests {
    @Test func viaAttributes() throws {
        let f = try PVFixture(pvListRequest)
        #expect(
            try f.render(
                "v0h=[$via0(host)] v0p=[$via0(port)] v0pr=[$via0(proto)] v0pid=[$via0(protoid)] v0b=[$via0(branch)]"
                    + " v0rp=[$via0(rport)] v0rc=[$via0(received)] v0i=[$via0(i)]")
                == "v0h=[127.0.0.1] v0p=[5798] v0pr=[UDP] v0pid=[1] v0b=[z9hG4bK-a] v0rp=[5798] v0rc=[10.1.1.1] v0i=[7]"
        )
        #expect(
            try f.render(
                "v1h=[$via1(host)] v1p=[$via1(port)] v1pr=[$via1(proto)] v1pid=[$via1(protoid)] v1b=[$via1(branch)]"
                    + " v1rp=[$via1(rport)] v1rc=[$via1(received)] vZh=[$viaZ(host)] vZpr=[$viaZ(proto)]")
                == "v1h=[proxy.example] v1p=[5080] v1pr=[TCP] v1pid=[2] v1b=[z9hG4bK-b] v1rp=[<null>] v1rc=[<null>]"
                + " vZh=[last.example] vZpr=[TLS]")
        #expect(f.error("$via0(foo)") == "unknown PV via key: foo")
        let g = try PVFixture()  // one Via
        #expect(try g.render("[$via1(host)][$viaZ(port)]") == "[<null>][5099]")
    }

    @Test func headerBodiesAsKamailio() throws {
        let f = try PVFixture(pvListRequest)
        #expect(
            try f.render(
                "hfl=[$hfl(Via)] hfl1=[$(hfl(Via)[1])] hflm1=[$(hfl(Via)[-1])] hflm2=[$(hfl(Via)[-2])]"
                    + " hflm3=[$(hfl(Via)[-3])] hflm4=[$(hfl(Via)[-4])] hflc=[$hflc(Via)] hdrc=[$hdrc(Via)]")
                == "hfl=[SIP/2.0/UDP 127.0.0.1:5798;branch=z9hG4bK-a;rport=5798;received=10.1.1.1;i=7,]"
                + " hfl1=[SIP/2.0/TCP proxy.example:5080;branch=z9hG4bK-b] hflm1=[<null>]"
                + " hflm2=[SIP/2.0/TLS last.example;branch=z9hG4bK-c] hflm3=[SIP/2.0/TCP proxy.example:5080;branch=z9hG4bK-b]"
                + " hflm4=[SIP/2.0/UDP 127.0.0.1:5798;branch=z9hG4bK-a;rport=5798;received=10.1.1.1;i=7,] hflc=[3] hdrc=[2]"
        )
        #expect(
            try f.render(
                "rr=[$hfl(Record-Route)] rr1=[$(hfl(Record-Route)[1])] rrc=[$hflc(Record-Route)] ct1=[$(hfl(Contact)[1])]"
                    + " ctc=[$hflc(Contact)] xm=[$(hfl(X-Multi)[1])] xmc=[$hflc(X-Multi)] rtc=[$hflc(Route)] rt=[$hfl(Route)]"
                    + " viaall=[$(hfl(Via)[*])]")
                == "rr=[<sip:r1.example;lr>] rr1=[<sip:r2.example;lr>] rrc=[3] ct1=[<sip:c1@h1>;expires=30] ctc=[4]"
                + " xm=[three] xmc=[2] rtc=[0] rt=[<null>] viaall=[SIP/2.0/UDP 127.0.0.1:5798;branch=z9hG4bK-a;rport=5798;"
                + "received=10.1.1.1;i=7, SIP/2.0/TCP proxy.example:5080;branch=z9hG4bK-b,SIP/2.0/TLS last.example;"
                + "branch=z9hG4bK-c]")
        #expect(
            try f.render(
                "c0=[$hfl(Contact)] c1=[$(hfl(Contact)[1])] c2=[$(hfl(Contact)[2])] cm2=[$(hfl(Contact)[-2])]"
                    + " cm3=[$(hfl(Contact)[-3])] rrm2=[$(hfl(Record-Route)[-2])] v2=[$(hfl(Via)[2])]")
                == "c0=[<sip:c2@h2>;q=0.1] c1=[<sip:c1@h1>;expires=30] c2=[<sip:c4@h4>] cm2=[<sip:c3@h3>]"
                + " cm3=[<sip:c4@h4>] rrm2=[<sip:r3.example;lr>] v2=[SIP/2.0/TLS last.example;branch=z9hG4bK-c]")
    }

    @Test func constantsFormatAndSendInfo() throws {
        let f = try PVFixture(pvListRequest)
        #expect(
            try f.render(
                "K=[$K(IPv4)] [$K(INET6)] [$K(UDP)] [$K(WSS)] [$K(SCTP)] s=[$_s(a-$rm-$ci)] snd=[$snd(ip)] sndto=[$sndto(port)]"
            )
                == "K=[2] [10] [1] [6] [4] s=[a-OPTIONS-cid-3] snd=[<null>] sndto=[<null>]")
        #expect(f.error("$K(FOO)") == "unknown PV K name FOO")
        let local = try SocketAddress(host: "127.0.0.1", port: 5060)
        let socket = ListeningSocket(
            index: 0, listen: ListenAddress(proto: .tcp, address: "127.0.0.1", port: 5060), address: local, fd: -1)
        let peer = try SocketAddress(host: "10.0.0.9", port: 5072)
        f.ctx.sendInfo = SendInfo(
            destination: Destination(proto: .tcp, address: peer, socket: socket), bytes: Array("OPTIONS x".utf8))
        #expect(
            try f.render(
                "[$snd(ip)][$sndto(port)][$sndto(af)][$sndto(proto)][$sndto(sproto)][$sndto(len)][$sndto(buf)]"
                    + "[$sndfrom(ip)][$sndfrom(port)]")
                == "[10.0.0.9][5072][2][2][tcp][9][OPTIONS x][127.0.0.1][5060]")
    }
}

/// `$cnt` and `$err.*`, compared with Kamailio 5.6.3 for the same assignments.
@Suite struct CountPseudoVariableTests {
    @Test func countsAsKamailio() throws {
        let f = try PVFixture()
        try f.set("$avp(a)", .int(1))
        try f.set("$avp(a)", .int(2))
        try f.set("$avp(a)", "x")
        try f.set("$xavp(k=>s)", .int(1))
        try f.set("$xavp(k[0]=>s)", .int(2))
        try f.set("$xavp(k[0]=>t)", .int(3))
        try f.set("$xavp(k=>s)", .int(4))
        try f.set("$xavp(j)", .int(5))
        #expect(
            try f.render(
                "a=[$cnt($avp(a))] none=[$cnt($avp(zz))] k=[$cnt($xavp(k))] kall=[$cnt($xavp(k[*]))] k1=[$cnt($xavp(k[1]))]"
                    + " k2=[$cnt($xavp(k[2]))] km1=[$cnt($xavp(k[-1]))] ks=[$cnt($xavp(k=>s))] k1s=[$cnt($xavp(k[1]=>s))]"
                    + " k0s=[$cnt($xavp(k[0]=>s))] k1s1=[$cnt($xavp(k[1]=>s[1]))] kalls0=[$cnt($xavp(k[*]=>s[0]))]"
                    + " j=[$cnt($xavp(j))] jx=[$cnt($xavp(j=>x))]")
                == "a=[3] none=[0] k=[2] kall=[2] k1=[1] k2=[0] km1=[1] ks=[3] k1s=[2] k0s=[1] k1s1=[1] kalls0=[2] j=[1] jx=[0]"
        )
        #expect(f.error("$cnt($var(x))") == "expected avp or xavp name instead of [$var(x)]")
        #expect(
            try f.render("[$err.class][$err.level][$err.info][$err.rcode][$err.rreason]")
                == "[<null>][<null>][<null>][<null>][<null>]")
    }
}

/// `$msg(...)` and `$expires(...)`, compared with Kamailio 5.6.3 on the same requests.
@Suite struct MessagePartPseudoVariableTests {
    let format =
        "emin=[$expires(min)] emax=[$expires(max)] len=[$msg(len)] bl=[$msg(body_len)] hl=[$msg(hdrs_len)]"
        + " hc=[$msg(hdrc)] fl=[$msg(fline)] body=[$msg(body)] lpl=[$(msg(lpart){s.len})] fpl=[$(msg(fpart){s.len})]"
        + " hdrs5=[$(msg(hdrs){s.substr,0,20})] hdrsend=[$(msg(hdrs){s.substr,-10,0})]"

    @Test func partsAndExpires() throws {
        #expect(
            try PVFixture(pvListRequest).render(format)
                == "emin=[30] emax=[30] len=[548] bl=[0] hl=[507] hc=[13] fl=[OPTIONS sip:bob@example.com SIP/2.0]"
                + " body=[] lpl=[511] fpl=[544] hdrs5=[Via: SIP/2.0/UDP 127] hdrsend=[-Length: 0]")
        let withExpires = pvListRequest.replacingOccurrences(
            of: "X-Multi: three\r\n", with: "X-Multi: three\r\nExpires: 100\r\n")
        #expect(
            try PVFixture(withExpires).render(format)
                == "emin=[30] emax=[100] len=[562] bl=[0] hl=[521] hc=[14] fl=[OPTIONS sip:bob@example.com SIP/2.0]"
                + " body=[] lpl=[525] fpl=[558] hdrs5=[Via: SIP/2.0/UDP 127] hdrsend=[-Length: 0]")
        #expect(
            try PVFixture(pvIdentityRequest).render(format)
                == "emin=[<null>] emax=[<null>] len=[984] bl=[5] hl=[904] hc=[16]"
                + " fl=[INVITE sip:alice:pw@example.com:5070;transport=tcp;lr;x=1?h=v SIP/2.0] body=[hello] lpl=[913]"
                + " fpl=[975] hdrs5=[Via: SIP/2.0/UDP 127] hdrsend=[-Length: 5]")
        let f = try PVFixture()
        #expect(f.error("$msg(foo)") == "unknown PV msg name foo")
        #expect(f.error("$expires(avg)") == "unknown PV expires key: avg")
    }
}

/// `$nh(...)`, compared with Kamailio 5.6.3 (request, request with `$du`, and replies).
@Suite struct NextHopPseudoVariableTests {
    let format = "u=[$nh(u)] U=[$nh(U)] d=[$nh(d)] p=[$nh(p)] P=[$nh(P)] i=[$nh(i)]"

    func reply(_ vias: [String]) -> String {
        (["SIP/2.0 200 OK"] + vias.map { "Via: " + $0 } + [
            "From: <sip:a@b>;tag=1", "To: <sip:c@d>;tag=2", "Call-ID: r1", "CSeq: 1 OPTIONS", "Content-Length: 0",
        ]).joined(separator: "\r\n") + "\r\n\r\n"
    }

    @Test func requestsAndReplies() throws {
        let f = try PVFixture(pvIdentityRequest)
        #expect(
            try f.render(format)
                == "u=[sip:alice:pw@example.com:5070;transport=tcp;lr;x=1?h=v] U=[alice] d=[example.com] p=[5070]"
                + " P=[tcp] i=[0]")
        try f.set("$du", "sip:[::1]:5099")
        #expect(try f.render(format) == "u=[sip:[::1]:5099] U=[<null>] d=[[::1]] p=[5099] P=[UDP] i=[6]")
        #expect(try f.render("[$dP]") == "[UDP]")
        let r1 = try PVFixture(
            reply([
                "SIP/2.0/UDP 127.0.0.1:5795;branch=z9hG4bK-x",
                "SIP/2.0/TLS proxy.example;branch=z9hG4bK-y;received=10.2.2.2;rport=6000",
            ]))
        #expect(
            try r1.render(format)
                == "u=[sip:10.2.2.2:6000;transport=tls] U=[<null>] d=[10.2.2.2] p=[6000] P=[tls] i=[4]")
        let r2 = try PVFixture(
            reply(["SIP/2.0/UDP 127.0.0.1:5795;branch=z9hG4bK-x, SIP/2.0/TCP 10.3.3.3;branch=z9hG4bK-y"]))
        #expect(
            try r2.render(format)
                == "u=[sip:10.3.3.3:5060;transport=tcp] U=[<null>] d=[10.3.3.3] p=[5060] P=[tcp] i=[4]")
        let r3 = try PVFixture(reply(["SIP/2.0/UDP 127.0.0.1:5795;branch=z9hG4bK-x"]))
        #expect(try r3.render(format) == "u=[<null>] U=[<null>] d=[<null>] p=[<null>] P=[<null>] i=[<null>]")
    }

    @Test func replyAttributes() throws {
        let format = "[$rpl(duri)][$rpl(dhost)][$rpl(dport)][$rpl(dproto)][$rpl(dprotoid)][$rpl(cntvia)][$rpl(cntrr)]"
        func withRR(_ vias: [String]) -> String {
            reply(vias).replacingOccurrences(of: "From:", with: "Record-Route: <sip:r1>, <sip:r2>\r\nFrom:")
        }
        #expect(try PVFixture(pvIdentityRequest).render("[$rpl(duri)][$rpl(cntvia)]") == "[<null>][<null>]")
        let r1 = try PVFixture(
            withRR([
                "SIP/2.0/UDP 127.0.0.1:5795;branch=z9hG4bK-x",
                "SIP/2.0/TLS proxy.example;branch=z9hG4bK-y;received=10.2.2.2;rport=6000",
            ]))
        #expect(try r1.render(format) == "[sip:10.2.2.2:6000;transport=tls][10.2.2.2][6000][tls][3][2][2]")
        let r2 = try PVFixture(
            withRR(["SIP/2.0/UDP 127.0.0.1:5795;branch=z9hG4bK-x, SIP/2.0/TCP 10.3.3.3;branch=z9hG4bK-y"]))
        #expect(try r2.render(format) == "[sip:10.3.3.3:5060;transport=tcp][10.3.3.3][5060][tcp][2][2][2]")
        let r3 = try PVFixture(withRR(["SIP/2.0/UDP 127.0.0.1:5795;branch=z9hG4bK-x"]))
        #expect(try r3.render(format) == "[<null>][<null>][<null>][<null>][<null>][1][2]")
        #expect(r3.error("$rpl(x)") == "unknown PV rpl key: x")
    }
}
