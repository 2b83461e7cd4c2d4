import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK
@testable import SwiftletSIP

/// The request of the identity/credential tests (sent over UDP from 127.0.0.1:5799 to a
/// Kamailio 5.6.3 listening on udp:127.0.0.1:5791, whose xlog lines give the expected values).
let pvIdentityRequest =
    [
        "INVITE sip:alice:pw@example.com:5070;transport=tcp;lr;x=1?h=v SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.1:5799;branch=z9hG4bK-1;rport",
        "From: \"Alice A\" <sip:alice@example.com>;tag=abc;p=q",
        "To: Bob <sip:bob@example.org;user=phone>",
        "Call-ID: cid-2@host",
        "CSeq: 8 INVITE",
        "Contact: <sip:alice@10.0.0.1:5062;transport=udp>",
        "P-Preferred-Identity: \"Pref One\" <sip:pref1@pref.example>, <tel:+15551234>",
        "P-Preferred-Identity: <sip:pref3@pref3.example>",
        "Remote-Party-ID: \"Rp\" <sip:rpid@rpid.example>;party=calling",
        "Refer-To: <sip:target@refer.example?Replaces=abc>",
        "Diversion: <sip:div@example.net>;reason=unconditional;privacy=full;counter=2",
        "Proxy-Authorization: Digest username=\"alice@realm.example\", realm=\"realm.example\", nonce=\"n1\", "
            + "uri=\"sip:example.com\", response=\"r1\", algorithm=MD5, cnonce=\"c1\", opaque=\"o1\", qop=auth, nc=00000001",
        "Authorization: Digest username=\"bob\", realm=\"other\", nonce=\"n2\", uri=\"sip:x\", response=\"r2\"",
        "Content-Type: text/plain",
        "Max-Forwards: 70",
        "Content-Length: 5",
        "",
        "hello",
    ].joined(separator: "\r\n")

@Suite struct MorePseudoVariableTests {
    func fixture() throws -> PVFixture {
        let f = try PVFixture(pvIdentityRequest)
        return f
    }

    @Test func uriAliasesAndUserLengths() throws {
        let f = try fixture()
        #expect(
            try f.render(
                "ruri=[$ruri] ru.user=[$ruri.user] ru.dom=[$ruri.domain] rUl=[$rUl] ouri=[$ouri] oP=[$oP] oUl=[$oUl]")
                == "ruri=[sip:alice:pw@example.com:5070;transport=tcp;lr;x=1?h=v] ru.user=[alice] ru.dom=[example.com]"
                + " rUl=[5] ouri=[sip:alice:pw@example.com:5070;transport=tcp;lr;x=1?h=v] oP=[tcp] oUl=[5]")
        #expect(
            try f.render(
                "from=[$from] fu=[$from.user] fd=[$from.domain] fUl=[$fUl] to=[$to] tu=[$to.user] td=[$to.domain] tUl=[$tUl]"
            )
                == "from=[sip:alice@example.com] fu=[alice] fd=[example.com] fUl=[5] to=[sip:bob@example.org;user=phone]"
                + " tu=[bob] td=[example.org] tUl=[3]")
        try f.set("$(ruri.user)", "zed")
        try f.set("$(ruri.domain)", "z.example")
        #expect(
            try f.render("ruri=[$ruri] rUl=[$rUl] ouri=[$ouri]")
                == "ruri=[sip:zed:pw@z.example:5070;transport=tcp;lr;x=1?h=v] rUl=[3]"
                + " ouri=[sip:alice:pw@example.com:5070;transport=tcp;lr;x=1?h=v]")
        try f.set("$duri", "sip:d.example")
        #expect(try f.value("$du") == .string("sip:d.example"))
    }

    @Test func identityHeaders() throws {
        let f = try fixture()
        #expect(
            try f.render(
                "pu=[$pu] pU=[$pU] pd=[$pd] pn=[$pn] pu1=[$(pu[1])] pn1=[$(pn[1])] pu2=[$(pu[2])] re=[$re] rt=[$rt]"
                    + " dir=[$dir] dip=[$dip] dic=[$dic]")
                == "pu=[sip:pref1@pref.example] pU=[pref1] pd=[pref.example] pn=[\"Pref One\"] pu1=[tel:+15551234]"
                + " pn1=[<null>] pu2=[sip:pref3@pref3.example] re=[sip:rpid@rpid.example]"
                + " rt=[sip:target@refer.example?Replaces=abc] dir=[unconditional] dip=[full] dic=[2]")
        #expect(try f.value("$(pu[3])") == .null)
        // the pvTestRequest has none of them
        let g = try PVFixture()
        #expect(try g.render("[$pu][$re][$rt][$dip][$au]") == "[<null>][<null>][<null>][<null>][<null>]")
    }

    @Test func credentialsComeFromProxyAuthorizationFirst() throws {
        let f = try fixture()
        #expect(
            try f.render(
                "au=[$au] ad=[$ad] aU=[$aU] ar=[$ar] adu=[$adu] aa=[$aa] adn=[$adn] adc=[$adc] adr=[$adr] ado=[$ado]")
                == "au=[alice] ad=[realm.example] aU=[alice@realm.example] ar=[realm.example] adu=[sip:example.com]"
                + " aa=[MD5] adn=[n1] adc=[c1] adr=[r1] ado=[o1]")
        let bobOnly = pvIdentityRequest.replacingOccurrences(of: "Proxy-Authorization:", with: "X-PA:")
        let g = try PVFixture(bobOnly)
        #expect(try g.render("[$au][$ad][$ar][$aa][$adc]") == "[bob][][other][][]")
    }

    @Test func messageKindAndSockets() throws {
        let f = try PVFixture(pvIdentityRequest, localPort: 5791, sourcePort: 5799)
        #expect(
            try f.render(
                "rmid=[$rmid] mts=[$mts] rsi=[$rsi] csb=[$csb] true=[$true] bs=[$bs] prid=[$prid] af=[$af(id)]"
                    + " afn=[$af(name)] conid=[$conid] fs=[$fs] fsp=[$fsp]")
                == "rmid=[1] mts=[rq] rsi=[0] csb=[8 INVITE] true=[1] bs=[5] prid=[1] af=[2] afn=[IPv4] conid=[<null>]"
                + " fs=[<null>] fsp=[0]")
        #expect(
            try f.render(
                "su=[$su] sut=[$sut] sas=[$sas] siz=[$siz] src_ip=[$src_ip] Ru=[$Ru] Rut=[$Rut] RAu=[$RAu] RAut=[$RAut]"
                    + " Ras=[$Ras] RAi=[$RAi] RAp=[$RAp]")
                == "su=[sip:127.0.0.1:5799] sut=[sip:127.0.0.1:5799;transport=udp] sas=[udp:127.0.0.1:5799]"
                + " siz=[127.0.0.1] src_ip=[127.0.0.1] Ru=[sip:127.0.0.1:5791] Rut=[sip:127.0.0.1:5791;transport=udp]"
                + " RAu=[sip:127.0.0.1:5791] RAut=[sip:127.0.0.1:5791;transport=udp] Ras=[udp:127.0.0.1:5791]"
                + " RAi=[127.0.0.1] RAp=[5791]")
        #expect(try f.value("$pp") == .int(Int(getpid())))
        #expect(f.error("$af") == "pvar \"af\" expects an inner name")
        let reply = try PVFixture(
            "SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
                + "To: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 3 BYE\r\nContent-Length: 0\r\n\r\n")
        #expect(try reply.render("[$rmid][$mts][$rsi][$ruri][$rUl][$br]") == "[8][rp][486][<null>][<null>][<null>]")
    }

    @Test func socketsOverTCPAndIPv6() throws {
        let f = try PVFixture(pvTestRequest, proto: .tcp, sourceIP: "::1", localIP: "::1", connectionID: 7)
        #expect(
            try f.render("[$su][$sut][$sas][$siz][$Ru][$Ras][$af(id)][$af(name)][$prid][$conid]")
                == "[sip:[::1]:5099;transport=tcp][sip:[::1]:5099;transport=tcp][tcp:[::1]:5099][[::1]]"
                + "[sip:[::1]:5060;transport=tcp][tcp:[::1]:5060][10][IPv6][2][7]")
    }

    @Test func flagsAsKamailioPrintsThem() throws {
        let f = try fixture()
        CoreFlags.declared = ["FLA": 5]
        defer { CoreFlags.declared = [:] }
        ScriptFlags.value = 0
        #expect(try f.render("mf=[$mf] mF=[$mF]") == "mf=[0] mF=[00000000]")
        try f.set("$mf", .int(5))
        f.ctx.flags |= 1 << 5  // setflag(FLA)
        try f.set("$Mf(3)", .int(1))
        try f.set("$Mf(0)", .int(0))
        try f.set("$bf", .int(6))
        try f.set("$Bf(4)", .int(1))
        try f.set("$sf", .int(9))
        try f.set("$Sf(1)", .int(1))
        #expect(
            try f.render(
                "mf=[$mf] mF=[$mF] Mf3=[$Mf(3)] Mf0=[$Mf(0)] MfFLA=[$Mf(FLA)] bf=[$bf] bF=[$bF] Bf4=[$Bf(4)] sf=[$sf]"
                    + " sF=[$sF] Sf1=[$Sf(1)] Sf2=[$Sf(2)]")
                == "mf=[44] mF=[0000002c] Mf3=[1] Mf0=[0] MfFLA=[1] bf=[22] bF=[00000016] Bf4=[1] sf=[11]"
                + " sF=[0000000b] Sf1=[1] Sf2=[0]")
        try f.set("$mf", .null)
        #expect(try f.value("$mf") == .int(0))
        #expect(try f.set("$mf", PVValue.string("x")) == false)
        #expect(f.error("$Mf(32)") == "bad flag value: [32]")
        #expect(f.error("$Mf(NOPE)") == "flag not declared: [NOPE]")
        ScriptFlags.value = 0
    }

    @Test func branches() throws {
        let f = try fixture()
        #expect(
            try f.render("br=[$br] bR=[$bR] bc=[$branch(count)] bu=[$branch(uri)]")
                == "br=[<null>] bR=[<null>] bc=[<null>] bu=[<null>]")
        f.ctx.branches = [
            Branch(uri: "sip:b1@example.com", q: 500),
            Branch(uri: "sip:b2@example.com"),
            Branch(
                uri: "sip:alice:pw@example.com:5070;transport=tcp;lr;x=1?h=v", destinationURI: "sip:dst.example.com",
                flags: 22),
        ]
        #expect(
            try f.render(
                "br=[$br] bR=[$bR] bc=[$branch(count)] bu=[$branch(uri)] bq=[$branch(q)] bq1=[$(branch(q)[1])]"
                    + " bu1=[$(branch(uri)[1])] bd=[$(branch(dst_uri)[-1])] bf=[$(branch(flags)[-1])] b5=[$(branch(uri)[5])]"
            )
                == "br=[sip:b1@example.com] bR=[<sip:b1@example.com>;q=0.5, sip:b2@example.com,"
                + " sip:alice:pw@example.com:5070;transport=tcp;lr;x=1?h=v] bc=[3] bu=[sip:b1@example.com] bq=[500]"
                + " bq1=[<null>] bu1=[sip:b2@example.com] bd=[sip:dst.example.com] bf=[22] b5=[<null>]")
        let g = try PVFixture(pvListRequest)  // Kamailio 5.6.3: F1, F2, F3
        #expect(try g.value("$ds") == .null)
        g.ctx.branches = [Branch(uri: "sip:b1@example.com", q: 500)]
        #expect(try g.value("$ds") == .string("Contact: <sip:b1@example.com>;q=0.5"))
        try g.set("$rU", "zed")
        g.ctx.branches.append(Branch(uri: "sip:b2@example.com"))
        #expect(
            try g.value("$ds")
                == .string("Contact: <sip:zed@example.com>, <sip:b1@example.com>;q=0.5, <sip:b2@example.com>"))
        #expect(CorePseudoVariables.qText(1000) == "1" && CorePseudoVariables.qText(0) == "0")
        #expect(CorePseudoVariables.qText(70) == "0.07" && CorePseudoVariables.qText(125) == "0.125")
        #expect(
            f.error("$branch(otcpid)")
                == "unknown PV branch name otcpid (Swiftlet has uri, dst_uri, path, q, flags, count, send_socket,"
                + " ruid, location_ua, instance)")
        g.ctx.branches.append(
            Branch(
                uri: "sip:b3@example.com",
                binding: ContactBinding(
                    instance: "<urn:uuid:1>", regID: 1, ruid: "uloc-1", userAgent: "UA 1",
                    path: "<sip:edge@example.com;lr>")))
        #expect(try g.value("$(branch(path)[0])") == .null)
        #expect(try g.value("$(branch(path)[2])") == .string("<sip:edge@example.com;lr>"))
        #expect(try g.value("$(branch(ruid)[0])") == .null)
        #expect(try g.value("$(branch(ruid)[2])") == .string("uloc-1"))
        #expect(try g.value("$(branch(location_ua)[2])") == .string("UA 1"))
        #expect(try g.value("$(branch(instance)[2])") == .string("<urn:uuid:1>"))
        #expect(try g.value("$ruid") == .null && g.value("$location_ua") == .null)
        g.ctx.binding = ContactBinding(ruid: "uloc-2", userAgent: "UA 2")
        #expect(try g.value("$ruid") == .string("uloc-2") && g.value("$location_ua") == .string("UA 2"))
    }

    @Test func forcedSendSocketAndTime() throws {
        let f = try fixture()
        try f.set("$fs", .null)
        #expect(try f.value("$fs") == .null)
        #expect(try f.set("$fs", .int(1)) == false)
        #expect(try f.set("$fs", PVValue.string("udp:[bad")) == false)
        let year = Calendar(identifier: .gregorian).component(.year, from: Date())
        let y = try #require(try f.value("$time(year)"))
        #expect(y == .int(year) || y == .int(year + 1))
        #expect(try f.value("$timef(%Y)") == .string(String(year)))
        #expect(try f.value("$utimef(%Y)") != .null)
        #expect(try f.render("$(TV(Sn){s.len})") == "17")
        #expect(try f.render("$(TV(s){s.len})") == "10")
        #expect(try f.render("$(TV(Fn){s.len})") == "26")
        let tb = try #require(try f.value("$Tb"))
        guard case .int(let start) = tb else { Issue.record("$Tb: \(tb)"); return }
        #expect(abs(start - Int(Date().timeIntervalSince1970)) < 600)
        #expect(f.error("$time(week)") == "unknown PV time name week")
        #expect(f.error("$TV(x)") == "unknown PV timeval name x")
    }

    @Test func inAConfigurationOverUDP() throws {
        let server = try TestServer(
            config: """
                debug=2
                log_stderror=yes
                children=1
                listen=udp:127.0.0.1:PORT
                loadmodule "sl.so"
                flags FLA:5;
                request_route {
                    $(ruri.user) = "zed";
                    $Mf(FLA) = 1;
                    $avp(x) = 1; $avp(x) = 2;
                    if ($Mf(5) == 1 && $mf == 32) {
                        sl_send_reply("200", "$ruri.user $from.user $fUl $(hfl(Via)[1]) $cnt($avp(x)) $via1(port) $K(WSS)");
                        exit;
                    }
                    sl_send_reply("500", "flags $mf");
                }
                """)
        let client = UDPClient()
        client.send(sipRequest(optionsRequest(), clientPort: client.port), to: server.port)
        let reply = try #require(client.receive(), "no reply; log: \(server.log)")
        #expect(replyLines(reply)[0] == "SIP/2.0 200 zed alice 5 SIP/2.0/UDP 10.0.0.9:5070;branch=z9hG4bK-up 2 5070 6")
    }
}
