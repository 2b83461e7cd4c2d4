import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// The uac module on the embedded core. The expected headers were captured from Kamailio
/// 5.6.3 (Debian 12) on loopback with the same configuration (`listen=udp:127.0.0.1:36190`,
/// tm, sl, rr, pv, siputils, uac with `restore_passwd` "s3cr3t" and `credential`
/// "alice:example.com:pw123") and the same messages: caller on 127.0.0.1:36170, callee on
/// 127.0.0.1:36180.
@Suite struct UACModuleTests {
    static let caller = "127.0.0.1:36170"
    static let callee = "127.0.0.1:36180"

    static func config(_ params: String = "", route: String? = nil) -> String {
        """
        log_stderror=yes
        debug=-1
        listen=udp:127.0.0.1:36190
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "rr.so"
        loadmodule "pv.so"
        loadmodule "siputils.so"
        loadmodule "uac.so"
        modparam("uac", "restore_passwd", "s3cr3t")
        modparam("uac", "credential", "alice:example.com:pw123")
        \(params)
        request_route {
        \(route ?? """
            if (has_totag()) {
                if (loose_route()) { t_relay(); exit; }
                sl_send_reply("404", "no"); exit;
            }
            if ($rU == "disp") { uac_replace_from("\\"New Name\\"", "sip:newcaller@example.net"); }
            else if ($rU == "short") { uac_replace_from("sip:x@y.z"); }
            else { uac_replace_from("sip:newcaller@example.net"); }
            record_route();
            $du = "sip:127.0.0.1:36180";
            t_on_failure("AUTH");
            t_relay();
        """)
        }
        failure_route[AUTH] {
            if (t_check_status("401|407")) {
                if (uac_auth()) { t_relay(); }
            }
        }

        """
    }

    func core(_ params: String = "", route: String? = nil) throws -> EmbeddedCore {
        try EmbeddedCore(config: Self.config(params, route: route), modulePath: productsDirectory)
    }

    static func invite(_ user: String) -> String {
        """
        INVITE sip:\(user)@127.0.0.1:36190 SIP/2.0\r
        Via: SIP/2.0/UDP 127.0.0.1:36170;branch=z9hG4bK-c-\(user);rport\r
        From: "Alice" <sip:alice@example.com>;tag=a1\r
        To: <sip:\(user)@example.org>\r
        Call-ID: c-\(user)\r
        CSeq: 1 INVITE\r
        Max-Forwards: 70\r
        Contact: <sip:alice@127.0.0.1:36170>\r
        Content-Length: 0\r
        \r

        """
    }

    /// The header lines of each name, in the order of the names.
    static func headers(_ text: String, _ names: String...) -> [String] {
        let lines = text.components(separatedBy: "\r\n")
        return names.flatMap { n in lines.filter { $0.hasPrefix(n + ":") } }
    }

    /// A reply as the test's UAS writes it: Via, From, To (tag added), Call-ID, CSeq,
    /// Record-Route copied.
    static func reply(_ req: String, _ code: Int, _ reason: String, toTag: String? = "b1", extra: String? = nil)
        -> String
    {
        var lines = ["SIP/2.0 \(code) \(reason)"]
        for l in req.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n").dropFirst() {
            let n = l.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            if ["Via", "From", "Call-ID", "CSeq", "Record-Route"].contains(n) { lines.append(l) }
            if n == "To" { lines.append(l + (toTag != nil && !l.contains(";tag=") ? ";tag=\(toTag!)" : "")) }
        }
        lines.append("Contact: <sip:bob@127.0.0.1:36180>")
        if let extra { lines.append(extra) }
        lines.append("Content-Length: 0")
        return lines.joined(separator: "\r\n") + "\r\n\r\n"
    }

    /// Kamailio 5.6.3's headers for each step of a call whose From was replaced.
    struct Capture: Sendable {
        let user: String
        let forwarded: [String]
        let byeDownstream: [String]
        let byeUpstream: [String]
        let okUpstream: [String]
    }

    static let captures = [
        Capture(
            user: "bob",
            forwarded: [
                "From: \"Alice\" <sip:newcaller@example.net>;tag=a1",
                "Record-Route: <sip:127.0.0.1:36190;lr;ftag=a1;vsf=czNjcjx9bTNnXjppYB52Zjc3YDBrXF0RBw-->",
            ],
            byeDownstream: ["From: \"Alice\" <sip:newcaller@example.net>;tag=a1", "To: <sip:bob@example.org>;tag=b1"],
            byeUpstream: ["From: <sip:bob@example.org>;tag=b1", "To: \"Alice\" <sip:alice@example.com>;tag=a1"],
            okUpstream: ["From: <sip:bob@example.org>;tag=b1", "To: \"Alice\" <sip:newcaller@example.net>;tag=a1"]),
        Capture(
            user: "disp",
            forwarded: [
                "From: \"New Name\" <sip:newcaller@example.net>;tag=a1",
                "Record-Route: <sip:127.0.0.1:36190;lr;ftag=a1;vsf=czNjcjx9bTNnXjppYB52Zjc3YDBrXF0RBw-->",
            ],
            byeDownstream: ["From: \"Alice\" <sip:newcaller@example.net>;tag=a1", "To: <sip:disp@example.org>;tag=b1"],
            byeUpstream: ["From: <sip:disp@example.org>;tag=b1", "To: \"New Name\" <sip:alice@example.com>;tag=a1"],
            okUpstream: ["From: <sip:disp@example.org>;tag=b1", "To: \"New Name\" <sip:newcaller@example.net>;tag=a1"]),
        Capture(
            user: "short",
            forwarded: [
                "From: \"Alice\" <sip:x@y.z>;tag=a1",
                "Record-Route: <sip:127.0.0.1:36190;lr;ftag=a1;vsf=czNjcipYY358MlYMEl4THlZaEFwO>",
            ],
            byeDownstream: ["From: \"Alice\" <sip:x@y.z>;tag=a1", "To: <sip:short@example.org>;tag=b1"],
            byeUpstream: ["From: <sip:short@example.org>;tag=b1", "To: \"Alice\" <sip:alice@example.com>;tag=a1"],
            okUpstream: ["From: <sip:short@example.org>;tag=b1", "To: \"Alice\" <sip:x@y.z>;tag=a1"]),
    ]

    @Test(arguments: captures) func replaceFromIsRestoredInRepliesAndInDialogRequests(_ c: Capture) throws {
        let core = try core()
        core.receive(Self.invite(c.user), from: Self.caller)
        let sent = core.takeSent()
        let fwd = try #require(sent.first { $0.firstLine.hasPrefix("INVITE") }).text
        #expect(Self.headers(fwd, "From", "Record-Route") == c.forwarded)
        // The 200 reaches the caller with its own From.
        core.receive(Self.reply(fwd, 200, "OK"), from: Self.callee)
        let ok = try #require(core.takeSent().first { $0.firstLine.hasPrefix("SIP/2.0 200") }).text
        #expect(
            Self.headers(ok, "From", "To") == [
                "From: \"Alice\" <sip:alice@example.com>;tag=a1", "To: <sip:\(c.user)@example.org>;tag=b1",
            ])
        let rr = try #require(Self.headers(fwd, "Record-Route").first).dropFirst("Record-Route: ".count)
        // BYE from the caller (downstream): the From is replaced again.
        let bye = """
            BYE sip:bob@127.0.0.1:36180 SIP/2.0\r
            Via: SIP/2.0/UDP 127.0.0.1:36170;branch=z9hG4bK-bye-\(c.user);rport\r
            Route: \(rr)\r
            From: "Alice" <sip:alice@example.com>;tag=a1\r
            To: <sip:\(c.user)@example.org>;tag=b1\r
            Call-ID: c-\(c.user)\r
            CSeq: 2 BYE\r
            Max-Forwards: 70\r
            Content-Length: 0\r
            \r

            """
        core.receive(bye, from: Self.caller)
        let fb = try #require(core.takeSent().first { $0.firstLine.hasPrefix("BYE") }).text
        #expect(Self.headers(fb, "From", "To") == c.byeDownstream)
        core.receive(Self.reply(fb, 200, "OK", toTag: nil), from: Self.callee)
        let okb = try #require(core.takeSent().first { $0.firstLine.hasPrefix("SIP/2.0 200") }).text
        #expect(
            Self.headers(okb, "From", "To") == [
                "From: \"Alice\" <sip:alice@example.com>;tag=a1", "To: <sip:\(c.user)@example.org>;tag=b1",
            ])
        // BYE from the callee (upstream): the To (the caller's URI) is restored.
        let fwdFrom = try #require(Self.headers(fwd, "From").first).dropFirst("From: ".count)
        let bye2 = """
            BYE sip:alice@127.0.0.1:36170 SIP/2.0\r
            Via: SIP/2.0/UDP 127.0.0.1:36180;branch=z9hG4bK-bye2-\(c.user);rport\r
            Route: \(rr)\r
            From: <sip:\(c.user)@example.org>;tag=b1\r
            To: \(fwdFrom)\r
            Call-ID: c-\(c.user)\r
            CSeq: 1 BYE\r
            Max-Forwards: 70\r
            Content-Length: 0\r
            \r

            """
        core.receive(bye2, from: Self.callee)
        let fb2 = try #require(core.takeSent().first { $0.firstLine.hasPrefix("BYE") }).text
        #expect(Self.headers(fb2, "From", "To") == c.byeUpstream)
        core.receive(Self.reply(fb2, 200, "OK", toTag: nil), from: Self.caller)
        let okb2 = try #require(core.takeSent().first { $0.firstLine.hasPrefix("SIP/2.0 200") }).text
        #expect(Self.headers(okb2, "From", "To") == c.okUpstream)
    }

    /// Kamailio 5.6.3 with `uac_replace_to("sip:newcallee@example.net")` (To `"Bob"
    /// <sip:bob@example.org>`): the headers below were captured the same way.
    @Test func replaceToIsRestoredInRepliesAndInDialogRequests() throws {
        let core = try core(
            route: """
                if (has_totag()) {
                    if (loose_route()) { t_relay(); exit; }
                    sl_send_reply("404", "no"); exit;
                }
                uac_replace_to("sip:newcallee@example.net");
                record_route();
                $du = "sip:127.0.0.1:36180";
                t_relay();
                """)
        let invite = Self.invite("bob").replacingOccurrences(
            of: "To: <sip:bob@example.org>", with: "To: \"Bob\" <sip:bob@example.org>")
        core.receive(invite, from: Self.caller)
        let fwd = try #require(core.takeSent().first { $0.firstLine.hasPrefix("INVITE") }).text
        #expect(
            Self.headers(fwd, "To", "Record-Route") == [
                "To: \"Bob\" <sip:newcallee@example.net>",
                "Record-Route: <sip:127.0.0.1:36190;lr;ftag=a1;vst=czNjcj9+ZhBnZj58Zh9jJD1rZF8GXF0RBw-->",
            ])
        core.receive(Self.reply(fwd, 200, "OK"), from: Self.callee)
        let ok = try #require(core.takeSent().first { $0.firstLine.hasPrefix("SIP/2.0 200") }).text
        #expect(Self.headers(ok, "To") == ["To: \"Bob\" <sip:bob@example.org>;tag=b1"])
        let rr = try #require(Self.headers(fwd, "Record-Route").first).dropFirst("Record-Route: ".count)
        let bye = """
            BYE sip:bob@127.0.0.1:36180 SIP/2.0\r
            Via: SIP/2.0/UDP 127.0.0.1:36170;branch=z9hG4bK-b1;rport\r
            Route: \(rr)\r
            From: "Alice" <sip:alice@example.com>;tag=a1\r
            To: "Bob" <sip:bob@example.org>;tag=b1\r
            Call-ID: c-bob\r
            CSeq: 2 BYE\r
            Content-Length: 0\r
            \r

            """
        core.receive(bye, from: Self.caller)
        let fb = try #require(core.takeSent().first { $0.firstLine.hasPrefix("BYE") }).text
        #expect(
            Self.headers(fb, "From", "To") == [
                "From: \"Alice\" <sip:alice@example.com>;tag=a1", "To: \"Bob\" <sip:newcallee@example.net>;tag=b1",
            ])
        core.receive(Self.reply(fb, 200, "OK", toTag: nil), from: Self.callee)
        let okb = try #require(core.takeSent().first { $0.firstLine.hasPrefix("SIP/2.0 200") }).text
        #expect(
            Self.headers(okb, "From", "To") == [
                "From: \"Alice\" <sip:alice@example.com>;tag=a1", "To: \"Bob\" <sip:bob@example.org>;tag=b1",
            ])
        let bye2 = """
            BYE sip:alice@127.0.0.1:36170 SIP/2.0\r
            Via: SIP/2.0/UDP 127.0.0.1:36180;branch=z9hG4bK-b2;rport\r
            Route: \(rr)\r
            From: "Bob" <sip:newcallee@example.net>;tag=b1\r
            To: "Alice" <sip:alice@example.com>;tag=a1\r
            Call-ID: c-bob\r
            CSeq: 1 BYE\r
            Content-Length: 0\r
            \r

            """
        core.receive(bye2, from: Self.callee)
        let fb2 = try #require(core.takeSent().first { $0.firstLine.hasPrefix("BYE") }).text
        #expect(
            Self.headers(fb2, "From", "To") == [
                "From: \"Bob\" <sip:bob@example.org>;tag=b1", "To: \"Alice\" <sip:alice@example.com>;tag=a1",
            ])
        core.receive(Self.reply(fb2, 200, "OK", toTag: nil), from: Self.caller)
        let okb2 = try #require(core.takeSent().first { $0.firstLine.hasPrefix("SIP/2.0 200") }).text
        #expect(
            Self.headers(okb2, "From", "To") == [
                "From: \"Bob\" <sip:newcallee@example.net>;tag=b1", "To: \"Alice\" <sip:alice@example.com>;tag=a1",
            ])
    }

    @Test func uacAuthAnswersAChallengeAsKamailioDoes() throws {
        let core = try core()
        core.receive(Self.invite("auth").replacingOccurrences(of: "36170", with: "36171"), from: "127.0.0.1:36171")
        let fwd = try #require(core.takeSent().first { $0.firstLine.hasPrefix("INVITE") }).text
        core.receive(
            Self.reply(
                fwd, 407, "Proxy Authentication Required",
                extra:
                    "Proxy-Authenticate: Digest realm=\"example.com\", nonce=\"4f1e2d3c\", qop=\"auth\", opaque=\"op9\""
            ),
            from: Self.callee)
        let sent = core.takeSent()
        #expect(
            sent.map(\.firstLine) == [
                "ACK sip:auth@127.0.0.1:36190 SIP/2.0", "INVITE sip:auth@127.0.0.1:36190 SIP/2.0",
            ])
        let second = sent[1].text
        #expect(
            Self.headers(second, "Proxy-Authorization") == [
                "Proxy-Authorization: Digest username=\"alice\", realm=\"example.com\", nonce=\"4f1e2d3c\", uri=\"sip:auth@127.0.0.1:36190\", opaque=\"op9\", qop=auth, nc=00000001, cnonce=\"1730398264\", response=\"8221dc2a1933a542b0074011c34989d7\", algorithm=MD5"
            ])
        #expect(Self.headers(second, "CSeq") == ["CSeq: 1 INVITE"])  // Kamailio 5.6 without dialog: unchanged
        #expect(
            second.hasSuffix(
                "Content-Length: 0\r\nProxy-Authorization: Digest username=\"alice\", realm=\"example.com\", nonce=\"4f1e2d3c\", uri=\"sip:auth@127.0.0.1:36190\", opaque=\"op9\", qop=auth, nc=00000001, cnonce=\"1730398264\", response=\"8221dc2a1933a542b0074011c34989d7\", algorithm=MD5\r\n\r\n"
            ))
        // The authenticated INVITE gets a 200 that reaches the caller.
        core.receive(Self.reply(second, 200, "OK"), from: Self.callee)
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 200 OK"])
    }

    @Test func uacAuthWithoutACredentialForTheRealmFails() throws {
        let core = try core()
        core.receive(Self.invite("auth"), from: Self.caller)
        let fwd = try #require(core.takeSent().first { $0.firstLine.hasPrefix("INVITE") }).text
        core.receive(
            Self.reply(fwd, 401, "Unauthorized", extra: "WWW-Authenticate: Digest realm=\"other.org\", nonce=\"n1\""),
            from: Self.callee)
        // No new INVITE: the 401 goes to the caller.
        #expect(
            core.takeSent().map(\.firstLine) == ["ACK sip:auth@127.0.0.1:36190 SIP/2.0", "SIP/2.0 401 Unauthorized"])
    }

    @Test func uacAuthTakesTheCredentialFromAVPs() throws {
        let core = try core(
            """
            modparam("uac", "auth_username_avp", "$avp(u)")
            modparam("uac", "auth_realm_avp", "$avp(r)")
            modparam("uac", "auth_password_avp", "$avp(p)")
            """,
            route: """
                $avp(u) = "carol"; $avp(p) = "secret";
                $du = "sip:127.0.0.1:36180";
                t_on_failure("AUTH");
                t_relay();
                """)
        core.receive(Self.invite("auth"), from: Self.caller)
        let fwd = try #require(core.takeSent().first { $0.firstLine.hasPrefix("INVITE") }).text
        core.receive(
            Self.reply(fwd, 401, "Unauthorized", extra: "WWW-Authenticate: Digest realm=\"any.org\", nonce=\"n1\""),
            from: Self.callee)
        let second = try #require(core.takeSent().last).text
        let ha1 = MD5.hex(Array("carol:any.org:secret".utf8))
        let ha2 = MD5.hex(Array("INVITE:sip:auth@127.0.0.1:36190".utf8))
        let response = MD5.hex(Array("\(ha1):n1:\(ha2)".utf8))
        #expect(
            Self.headers(second, "Authorization") == [
                "Authorization: Digest username=\"carol\", realm=\"any.org\", nonce=\"n1\", uri=\"sip:auth@127.0.0.1:36190\", response=\"\(response)\", algorithm=MD5"
            ])
    }

    @Test func restoreModeNoneReplacesWithoutRouteParameterOrRestore() throws {
        let core = try core("modparam(\"uac\", \"restore_mode\", \"none\")")
        core.receive(Self.invite("bob"), from: Self.caller)
        let fwd = try #require(core.takeSent().first { $0.firstLine.hasPrefix("INVITE") }).text
        #expect(
            Self.headers(fwd, "From", "Record-Route") == [
                "From: \"Alice\" <sip:newcaller@example.net>;tag=a1", "Record-Route: <sip:127.0.0.1:36190;lr;ftag=a1>",
            ])
        core.receive(Self.reply(fwd, 200, "OK"), from: Self.callee)
        let ok = try #require(core.takeSent().first { $0.firstLine.hasPrefix("SIP/2.0 200") }).text
        #expect(Self.headers(ok, "From") == ["From: \"Alice\" <sip:newcaller@example.net>;tag=a1"])
    }

    @Test func autoModeRefusesAReplacementInDialogAndASecondOne() throws {
        let core = try core(
            route: """
                if ($rU == "twice") {
                    uac_replace_from("sip:a@b.c");
                    if (!uac_replace_from("sip:d@e.f")) { sl_send_reply("500", "second refused"); exit; }
                }
                if (!uac_replace_to("sip:t@example.org")) { sl_send_reply("500", "refused"); exit; }
                sl_send_reply("200", "replaced");
                """)
        core.receive(Self.invite("twice"), from: Self.caller)
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 500 second refused"])
        let inDialog = Self.invite("x").replacingOccurrences(
            of: "To: <sip:x@example.org>", with: "To: <sip:x@example.org>;tag=t1")
        core.receive(inDialog, from: Self.caller)
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 500 refused"])
    }

    @Test func startUpRefusesWhatKamailioRefusesAndRestoreDlg() {
        for (params, message) in [
            ("modparam(\"uac\", \"restore_dlg\", 1)", "restore_dlg=1 needs the dialog module"),
            ("modparam(\"uac\", \"restore_mode\", \"sometimes\")", "unsupported value 'sometimes' for restore_mode"),
            ("modparam(\"rr\", \"append_fromtag\", 0)", "'append_fromtag' RR param is not enabled!"),
            ("modparam(\"uac\", \"auth_username_avp\", \"$avp(u)\")", "partial definition of auth AVP!"),
            ("modparam(\"uac\", \"credential\", \"alice:example.com\")", "parse error in <alice:example.com>"),
        ] {
            do {
                _ = try core(params)
                Issue.record("loaded with \(params)")
            } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
        #expect(
            (try? core("modparam(\"uac\", \"restore_mode\", \"none\")\nmodparam(\"rr\", \"append_fromtag\", 0)")) != nil
        )
    }
}

/// `uac_req_send()` with `$uac_req(...)` and `event_route[uac:reply]`.
@Suite struct UACRequestSendTests {
    static let config = """
        log_stderror=yes
        debug=-1
        listen=udp:127.0.0.1:36190
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "rr.so"
        loadmodule "pv.so"
        loadmodule "uac.so"
        modparam("tm", "fr_timer", 1000)
        request_route {
            if ($rU == "send") {
                $uac_req(all) = $null;
                $uac_req(method) = "OPTIONS";
                $uac_req(ruri) = "sip:bob@127.0.0.1:36180";
                $uac_req(furi) = "sip:me@example.com";
                $uac_req(hdrs) = "X-A: 1\\r\\n";
                $uac_req(callid) = "uac-req-1";
                $uac_req(evroute) = 1;
                if (uac_req_send()) { sl_send_reply("200", "sent $uac_req(method) $uac_req(evroute)"); }
                else { sl_send_reply("500", "not sent"); }
                exit;
            }
            if ($rU == "auth") {
                $uac_req(all) = $null;
                $uac_req(method) = "MESSAGE";
                $uac_req(ruri) = "sip:bob@127.0.0.1:36180";
                $uac_req(furi) = "sip:me@example.com";
                $uac_req(hdrs) = "Content-Type: text/plain\\r\\n";
                $uac_req(body) = "hi";
                $uac_req(auser) = "me";
                $uac_req(apasswd) = "pw";
                $uac_req(evroute) = 1;
                uac_req_send();
                sl_send_reply("200", "sent");
                exit;
            }
            if ($rU == "bad") {
                $uac_req(all) = $null;
                $uac_req(method) = "OPTIONS";
                if (!uac_req_send()) { sl_send_reply("500", "no ruri"); }
                exit;
            }
            sl_send_reply("200", "$shv(seen)");
        }
        event_route[uac:reply] {
            $shv(seen) = "code=" + $uac_req(evcode) + " type=" + $uac_req(evtype) + " " + $uac_req(method) + " " + $uac_req(ruri) + " " + $rs;
        }

        """

    static func request(_ user: String) -> String {
        UACModuleTests.invite(user).replacingOccurrences(of: "INVITE", with: "MESSAGE")
    }

    func seen(_ core: EmbeddedCore) -> String {
        core.receive(Self.request("query"), from: UACModuleTests.caller)
        return core.takeSent().first?.firstLine ?? ""
    }

    @Test func theRequestGoesOutAndTheReplyRunsTheEventRoute() throws {
        let core = try EmbeddedCore(config: Self.config, modulePath: productsDirectory)
        core.receive(Self.request("send"), from: UACModuleTests.caller)
        let sent = core.takeSent()
        #expect(sent.map(\.firstLine) == ["OPTIONS sip:bob@127.0.0.1:36180 SIP/2.0", "SIP/2.0 200 sent OPTIONS 1"])
        let h = UACModuleTests.headers(sent[0].text, "To", "From", "Call-ID", "CSeq", "X-A")
        #expect(h.count == 5)
        #expect(h[0] == "To: <sip:bob@127.0.0.1:36180>")
        #expect(h[1].hasPrefix("From: <sip:me@example.com>;tag="))
        #expect(h[2...] == ["Call-ID: uac-req-1", "CSeq: 10 OPTIONS", "X-A: 1"])
        core.receive(UACModuleTests.reply(sent[0].text, 404, "Not Found"), from: UACModuleTests.callee)
        #expect(core.takeSent().isEmpty)
        #expect(seen(core) == "SIP/2.0 200 code=404 type=1 OPTIONS sip:bob@127.0.0.1:36180 404")
    }

    @Test func noReplyRunsTheEventRouteWith408OnAFakedMessage() throws {
        let core = try EmbeddedCore(config: Self.config, modulePath: productsDirectory)
        core.receive(Self.request("send"), from: UACModuleTests.caller)
        _ = core.takeSent()
        core.advance(milliseconds: 1000)
        _ = core.takeSent()
        // $rs of the faked request is null.
        #expect(seen(core) == "SIP/2.0 200 code=408 type=2 OPTIONS sip:bob@127.0.0.1:36180 ")
    }

    @Test func aChallengeIsAnsweredWithAuserAndApasswd() throws {
        let core = try EmbeddedCore(config: Self.config, modulePath: productsDirectory)
        core.receive(Self.request("auth"), from: UACModuleTests.caller)
        let first = try #require(core.takeSent().first { $0.firstLine.hasPrefix("MESSAGE") }).text
        core.receive(
            UACModuleTests.reply(
                first, 401, "Unauthorized", extra: "WWW-Authenticate: Digest realm=\"r.org\", nonce=\"n9\""),
            from: UACModuleTests.callee)
        let again = try #require(core.takeSent().first { $0.firstLine.hasPrefix("MESSAGE") }).text
        #expect(seen(core) == "SIP/2.0 200 code=401 type=1 MESSAGE sip:bob@127.0.0.1:36180 401")
        let ha1 = MD5.hex(Array("me:r.org:pw".utf8))
        let ha2 = MD5.hex(Array("MESSAGE:sip:bob@127.0.0.1:36180".utf8))
        let response = MD5.hex(Array("\(ha1):n9:\(ha2)".utf8))
        #expect(
            UACModuleTests.headers(again, "Authorization") == [
                "Authorization: Digest username=\"me\", realm=\"r.org\", nonce=\"n9\", uri=\"sip:bob@127.0.0.1:36180\", response=\"\(response)\", algorithm=MD5"
            ])
        // Same Call-ID and From tag, CSeq + 1, no To tag (Kamailio's uac_send_tmdlg).
        #expect(
            UACModuleTests.headers(again, "Call-ID", "CSeq", "To")
                == UACModuleTests.headers(first, "Call-ID") + ["CSeq: 11 MESSAGE", "To: <sip:bob@127.0.0.1:36180>"])
        #expect(UACModuleTests.headers(again, "From") == UACModuleTests.headers(first, "From"))
        #expect(again.hasSuffix("\r\n\r\nhi"))
        core.receive(UACModuleTests.reply(again, 202, "Accepted"), from: UACModuleTests.callee)
        #expect(seen(core) == "SIP/2.0 200 code=202 type=1 MESSAGE sip:bob@127.0.0.1:36180 202")
    }

    @Test func evrouteTwoRunsTheEventRouteOnlyForANegativeReply() throws {
        let core = try EmbeddedCore(
            config: Self.config.replacingOccurrences(of: "$uac_req(evroute) = 1;", with: "$uac_req(evroute) = 2;"),
            modulePath: productsDirectory)
        core.receive(Self.request("send"), from: UACModuleTests.caller)
        let first = try #require(core.takeSent().first { $0.firstLine.hasPrefix("OPTIONS") }).text
        core.receive(UACModuleTests.reply(first, 200, "OK"), from: UACModuleTests.callee)
        #expect(seen(core) == "SIP/2.0 200 0")  // $shv(seen) never set
        core.receive(
            Self.request("send").replacingOccurrences(of: "z9hG4bK-c-send", with: "z9hG4bK-c-send2"),
            from: UACModuleTests.caller)
        let second = try #require(core.takeSent().first { $0.firstLine.hasPrefix("OPTIONS") }).text
        core.receive(UACModuleTests.reply(second, 503, "Unavailable"), from: UACModuleTests.callee)
        #expect(seen(core) == "SIP/2.0 200 code=503 type=1 OPTIONS sip:bob@127.0.0.1:36180 503")
    }

    @Test func withoutARequestURINothingIsSent() throws {
        let core = try EmbeddedCore(config: Self.config, modulePath: productsDirectory)
        core.receive(Self.request("bad"), from: UACModuleTests.caller)
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 500 no ruri"])
    }
}
