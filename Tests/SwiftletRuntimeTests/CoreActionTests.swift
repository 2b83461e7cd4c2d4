import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// Core actions (flags, R-URI rewriting, force_rport, ...) and core keywords in
/// expressions (`method`, `uri`, `src_ip`, `myself`, ...), run on messages.
@Suite(.serialized) struct CoreActionTests {
    // MARK: R-URI rewriting

    static let base = "sip:alice:pw@example.com:5080;transport=udp;lr?subject=x"

    @Test(arguments: [
        (URIRewrite.Operation.host("h.net"), base, "sip:alice:pw@h.net:5080;transport=udp;lr?subject=x"),
        (.hostPort("h.net:7000"), base, "sip:alice:pw@h.net:7000;transport=udp;lr?subject=x"),
        (.hostPort("h.net"), base, "sip:alice:pw@h.net;transport=udp;lr?subject=x"),
        (.user("bob"), base, "sip:bob:pw@example.com:5080;transport=udp;lr?subject=x"),
        (.user(""), base, "sip:example.com:5080;transport=udp;lr?subject=x"),
        (.userPassword("bob:secret"), base, "sip:bob:secret@example.com:5080;transport=udp;lr?subject=x"),
        (.userPassword("bob"), base, "sip:bob@example.com:5080;transport=udp;lr?subject=x"),
        (.port("5090"), base, "sip:alice:pw@example.com:5090;transport=udp;lr?subject=x"),
        (.port(""), base, "sip:alice:pw@example.com;transport=udp;lr?subject=x"),
        (.prefix("00"), base, "sip:00alice:pw@example.com:5080;transport=udp;lr?subject=x"),
        (.strip(2), base, "sip:ice:pw@example.com:5080;transport=udp;lr?subject=x"),
        (.strip(5), base, "sip:example.com:5080;transport=udp;lr?subject=x"),
        (.strip(9), base, "sip:example.com:5080;transport=udp;lr?subject=x"),
        (.stripTail(2), base, "sip:ali:pw@example.com:5080;transport=udp;lr?subject=x"),
        (.prefix("123"), "sip:example.com", "sip:123@example.com"),
        (.host("x.org"), "sips:bob@[2001:db8::1]:5061", "sips:bob@x.org:5061"),
        (
            .host("gw.example.com"), "tel:+1234;phone-context=example.com",
            "sip:+1234;phone-context=example.com@gw.example.com;user=phone"
        ),
        (.prefix("00"), "tel:+1234;phone-context=example.com", "tel:00+1234;phone-context=example.com"),
    ])
    func requestURIEdits(edit: URIRewrite.Operation, uri: String, expected: String) {
        #expect((try? URIRewrite.apply(edit, to: uri)) == expected)
    }

    @Test func requestURIEditsThatCannotApply() {
        #expect(throws: URIRewrite.Failure.telPort) { try URIRewrite.apply(.port("1"), to: "tel:+1234") }
        #expect(throws: URIRewrite.Failure.badURI) { try URIRewrite.apply(.host("x"), to: "not a uri") }
    }

    /// Every spelling of the R-URI actions, chained; `uri` reads the R-URI in effect.
    @Test func rewriteActionsChangeTheRequestURIInEffect() throws {
        let config = """
            request_route {
                rewritehost("h.example.net");
                sethostport("h2.example.net:5099");
                setuser("bob");
                prefix("+1");
                strip(1);
                strip_tail(1);
                setport("7000");
                if (uri == "SIP:1bo@H2.example.net:7000") setflag(1);
                revert_uri();
                if (uri == "sip:alice@example.com") setflag(2);
                seth("a.net"); sethp("b.net:1"); setu("u"); setp("2"); setup("v:w");
                if (uri == "sip:v:w@b.net:2") setflag(3);
                rewriteuser("x"); rewriteport(""); rewritehostport("c.net"); rewriteuserpass("y");
                if (uri == "sip:y@c.net") setflag(4);
                rewriteuri("sip:r@s"); seturi("sip:q@t");
                sethost("z.org");
                revert_uri;
                seturi("sip:q@t");
                sethost("z.org");
            }
            """
        let (ctx, _) = try ScriptHarness.run(config)
        #expect(ScriptHarness.flags(ctx) == [1, 2, 3, 4])
        #expect(ctx.newRequestURI == "sip:q@z.org")
    }

    @Test func avpFlagsBelongToEachValue() throws {
        let (ctx, _) = try ScriptHarness.run(
            """
            avpflags F_ONE, f_two;
            request_route {
                $avp(a) = "x";
                $avp(a) = "y";
                setavpflag($avp(a), "F_ONE");
                if (isavpflagset($avp(a), "f_one")) setflag(1);
                if (!isavpflagset("a", "f_two")) setflag(2);
                if (!isavpflagset($(avp(a)[1]), "F_ONE")) setflag(3);
                setavpflag($(avp(a)[*]), "f_two");
                if (isavpflagset($(avp(a)[1]), "f_two")) setflag(4);
                resetavpflag($avp(a), "F_ONE");
                if (!isavpflagset($avp(a), "F_ONE")) setflag(5);
                $avp(a) = "z";
                if (!isavpflagset($avp(a), "f_two") && isavpflagset($(avp(a)[1]), "f_two")) setflag(6);
                if (!isavpflagset($avp(nosuch), "f_two")) setflag(7);
            }
            """)
        #expect(ScriptHarness.flags(ctx) == [1, 2, 3, 4, 5, 6, 7])
        let errors = ScriptHarness.errors(
            "avpflags A;\nrequest_route {\n  setavpflag($avp(x), \"B\");\n  isavpflagset($var(x), \"A\");\n}\n",
            file: "af.cfg")
        #expect(
            errors == [
                "af.cfg:3:23: error: avpflag not declared: 'B' (declare it with 'avpflags B')",
                "af.cfg:4:16: error: isavpflagset() takes an AVP ($avp(name) or \"name\") first",
            ])
    }

    @Test func hostPortTransportAndUserPhone() throws {
        let (ctx, _) = try ScriptHarness.run(
            """
            request_route {
                sethpt("gw.example.net:5070");
                if (uri == "sip:alice@gw.example.net:5070;lr") setflag(1);
                rewritehostporttrans("gw2.example.net");
                userphone();
                if (uri == "sip:alice@gw2.example.net;lr;user=phone") setflag(2);
                userphone();
                if (uri == "sip:alice@gw2.example.net;lr;user=phone") setflag(3);
            }
            """, ScriptHarness.request(uri: "sip:alice@example.com:5080;transport=udp;lr"))
        #expect(ScriptHarness.flags(ctx) == [1, 2, 3])
    }

    @Test func forceRportSendsTheReplyToTheSourcePort() throws {
        let via = "SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-1"
        let plain = try ScriptHarness.run(
            #"request_route { sl_send_reply("200", "OK"); }"#, ScriptHarness.request(via: via), sourcePort: 6000)
        #expect(plain.replies.sent.map(\.port) == [5070])
        for action in ["force_rport();", "add_rport();", "force_rport;"] {
            let forced = try ScriptHarness.run(
                "request_route { \(action) sl_send_reply(\"200\", \"OK\"); }", ScriptHarness.request(via: via),
                sourcePort: 6000)
            #expect(forced.ctx.forceRport)
            #expect(forced.replies.sent.map(\.port) == [6000])
            #expect(forced.replies.sent.first?.text.contains("rport=6000") == true)
        }
    }

    @Test func connectionActionsSetSendFlags() throws {
        let (ctx, _) = try ScriptHarness.run(
            """
            request_route {
                set_forward_no_connect(); set_reply_no_connect(); set_forward_close(); set_reply_close();
            }
            """)
        #expect(ctx.sendFlags == [.forwardNoConnect, .replyNoConnect, .forwardClose, .replyClose])
    }

    @Test func coreActionArgumentErrors() {
        let errors = ScriptHarness.errors(
            ScriptHarness.prelude + """
                request_route {
                    strip("2");
                    strip(-1);
                    prefix(1);
                    rewritehost($rd);
                    log(1, 2, "x");
                    log(L_INFO, "x");
                    error("a");
                    revert_uri(1);
                }
                """, file: "ca.cfg")
        #expect(
            errors == [
                "ca.cfg:7:11: error: the length of strip() must be a constant integer",
                "ca.cfg:8:11: error: strip() needs a length of 0 or more, not -1",
                "ca.cfg:9:12: error: the argument of prefix() must be a constant string",
                "ca.cfg:10:17: error: the argument of rewritehost() must be a constant string",
                "ca.cfg:11:5: error: core function 'log' takes 1 to 2 parameter(s), 3 given",
                "ca.cfg:12:9: error: the log level of log() must be a constant integer",
                "ca.cfg:13:5: error: core function 'error' takes 2 parameter(s), 1 given",
                "ca.cfg:14:5: error: core function 'revert_uri' takes 0 parameter(s), 1 given",
            ])
    }

    // MARK: keywords

    @Test func coreKeywordsInConditions() throws {
        let config = """
            alias=example.org
            request_route {
                if (method == "invite") setflag(0);
                if (method == INVITE && method != "BYE") setflag(1);
                if (method =~ "^inv") setflag(2);
                if (uri == "SIP:ALICE@127.0.0.1:5060") setflag(3);
                if (uri == myself) setflag(4);
                if (from_uri == myself) setflag(5);
                if (to_uri == myself) setflag(6);
                if (myself != to_uri) setflag(7);
                if (src_ip == 192.0.2.0/24) setflag(8);
                if (src_ip == 192.0.2.10 && src_ip != 10.0.0.0/8) setflag(9);
                if (src_ip == 192.0.2.0/255.255.255.0) setflag(10);
                if (src_ip =~ "^192\\.0\\.") setflag(11);
                if (dst_ip == myself && src_ip != myself) setflag(12);
                if (src_port == 5070 && dst_port >= 5060 && dst_port < 5061) setflag(13);
                if (proto == UDP && proto != TCP && proto == udp) setflag(14);
                if (af == INET && af != INET6) setflag(15);
                if (msg:len > 100 && msg:len == $ml) setflag(16);
                if (uri =~ "alice@127") setflag(17);
                if (to_uri == "sip:alice@example.com") setflag(18);
                if (status == "sip:alice@127.0.0.1:5060") setflag(19);
                if (src_ip == "192.0.2.10") setflag(20);
                if (!(src_ip == 192.0.2.11)) setflag(21);
                if (src_port + 1 == 5071 && method + "x" == "INVITEx") setflag(22);
            }
            """
        let (ctx, _) = try ScriptHarness.run(config, ScriptHarness.request(uri: "sip:alice@127.0.0.1:5060"))
        #expect(
            ScriptHarness.flags(ctx) == [0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22])
    }

    /// `myself`: listen address and port (the URI's port defaults to 5060, 5061 for sips),
    /// `alias=` names with or without a port.
    @Test(arguments: [
        ("sip:a@127.0.0.1", true), ("sip:a@127.0.0.1:5060", true), ("sip:a@127.0.0.1:5070", false),
        ("sips:a@127.0.0.1", false), ("sip:a@other.example:5070", true), ("sip:a@other.example", false),
        ("sip:a@EXAMPLE.org:9", true), ("sip:a@example.com", false), ("sip:a@[::1]", false),
    ])
    func myselfMatchesListenersAndAliases(uri: String, isMyself: Bool) throws {
        let config = """
            alias=example.org
            alias=udp:other.example:5070
            request_route { if (uri == myself) setflag(1); }
            """
        let (ctx, _) = try ScriptHarness.run(config, ScriptHarness.request(uri: uri))
        #expect(ScriptHarness.flags(ctx) == (isMyself ? [1] : []))
    }

    @Test func ipv6SourcesAndNetworks() throws {
        let config = """
            request_route {
                if (src_ip == [2001:db8::]/32) setflag(1);
                if (src_ip == [2001:db9::]/32) setflag(2);
                if (af == INET6) setflag(3);
                if (src_ip == [2001:db8::1]) setflag(4);
            }
            """
        let (ctx, _) = try ScriptHarness.run(config, sourceIP: "2001:db8::1")
        #expect(ScriptHarness.flags(ctx) == [1, 3, 4])
    }

    @Test func statusAndMethodInTheReplyRoute() throws {
        let loaded = try ScriptHarness.load(
            ScriptHarness.prelude + """
                request_route { exit; }
                reply_route {
                    if (status == "180") setflag(1);
                    if (status =~ "^1[0-9][0-9]$") setflag(2);
                    if (method == "INVITE") setflag(3);
                    if (uri == "180") setflag(4);
                    if (status == myself) setflag(5);
                }
                """)
        let ctx = try ScriptHarness.context(ScriptHarness.reply(code: 180, reason: "Ringing"), core: loaded.context)
        #expect(loaded.script.runReplyRoute(ctx))
        #expect(ScriptHarness.flags(ctx) == [1, 2, 3, 4])
        #expect(ctx.routeType == .request)
    }

    @Test func keywordComparisonErrors() {
        let errors = ScriptHarness.errors(
            ScriptHarness.prelude + """
                request_route {
                    if (method == myself) exit;
                    if (uri < "a") exit;
                    if (proto > 1) exit;
                    if (myself) exit;
                    if (src_port =~ "1") exit;
                    if (nosuch == 1) exit;
                }
                """, file: "kw.cfg")
        #expect(
            errors == [
                "kw.cfg:7:16: error: 'method' cannot be compared with myself",
                "kw.cfg:8:13: error: operator '<' cannot be used with 'uri' (==, != or =~)",
                "kw.cfg:9:15: error: operator '>' cannot be used with 'proto'",
                "kw.cfg:10:9: error: 'myself' can only be compared with uri, from_uri, to_uri, src_ip or dst_ip",
                "kw.cfg:11:18: error: operator '=~' cannot be used with 'src_port'",
                "kw.cfg:12:9: error: unknown keyword 'nosuch'",
            ])
    }

    // MARK: unknown functions

    /// A function is named with its Kamailio module: once per name (with the number of
    /// uses) when that module's loadmodule failed, at each use otherwise; the modparams of
    /// a module that failed to load add nothing.
    @Test func unknownFunctionsNameTheirModule() {
        let errors = ScriptHarness.errors(
            ScriptHarness.prelude + """
                loadmodule "rtpproxy.so"
                modparam("rtpproxy", "rtpproxy_sock", "udp:127.0.0.1:7722")
                modparam("nosuchmod", "x", 1)
                request_route {
                    rtpproxy_manage("x");
                    if (!rtpproxy_manage("x")) exit;
                    record_route();
                    cfg_reset("nosuchgroup");
                    foo_bar();
                    send_reply_mode("0", "200", "OK");
                    xlog("$T_branch_idx\\n");
                    $sht(t=>k) = 1;
                    rtpproxy_offer("x", "y");
                }
                """, file: "uf.cfg")
        #expect(errors.count == 10)
        #expect(errors[0].hasPrefix("uf.cfg:6:1: error: could not find module <rtpproxy> in <"))
        #expect(
            Array(errors.dropFirst())
                == [
                    "uf.cfg:8:1: error: modparam: no loaded module matches 'nosuchmod'",
                    "uf.cfg:10:5: error: function 'rtpproxy_manage' belongs to module 'rtpproxy', which failed to load (first of 2 uses)",
                    "uf.cfg:12:5: error: unknown function 'record_route': it belongs to module 'rr', which is not loaded",
                    "uf.cfg:13:15: error: configuration group 'nosuchgroup' not found",
                    "uf.cfg:14:5: error: unknown function 'foo_bar': no loaded module exports it (unknown command, missing loadmodule?)",
                    "uf.cfg:15:5: error: unknown function 'send_reply_mode': module 'sl' of Swiftlet does not implement it yet",
                    "uf.cfg:16:10: error: unknown pseudo-variable '$T_branch_idx': it belongs to module 'tmx', which is not loaded",
                    "uf.cfg:17:5: error: unknown pseudo-variable '$sht(t=>k)': it belongs to module 'htable', which is not loaded",
                    "uf.cfg:18:5: error: function 'rtpproxy_offer' belongs to module 'rtpproxy', which failed to load",
                ])
    }
}
