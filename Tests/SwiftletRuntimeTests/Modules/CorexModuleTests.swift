import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The corex module against the running binary: branches (seen through pv's `$branch`,
/// `$br`, `$bR`), message and extended flags, sockets by name and `$lsock`, files,
/// `alias_subdomains` in `myself` checks, and the send functions seen by sockets of the test.
/// Expected values were taken from Kamailio 5.6.3 running the same script on loopback.
@Suite(.serialized) struct CorexModuleTests {
    static func request(_ user: String, port: Int, callID: String = "corex-1") -> [String] {
        [
            "OPTIONS sip:\(user)@127.0.0.1:\(port) SIP/2.0",
            "Via: SIP/2.0/UDP 127.0.0.1:CPORT;branch=z9hG4bK-\(callID);rport",
            "From: <sip:a@example.com>;tag=1",
            "To: <sip:b@example.com>",
            "Call-ID: \(callID)",
            "CSeq: 1 OPTIONS",
            "Max-Forwards: 70",
            "Content-Length: 0",
        ]
    }

    /// Sends a request for `user` and returns the reply's first line.
    @discardableResult
    static func ask(_ server: TestServer, _ user: String, callID: String = "corex-1") -> String? {
        let uac = UDPClient()
        uac.send(sipRequest(request(user, port: server.port, callID: callID), clientPort: uac.port), to: server.port)
        return uac.receive().map { replyLines($0)[0] }
    }

    static let functionsConfig = """
        log_stderror=yes
        debug=2
        children=1
        listen=udp:127.0.0.1:PORT name "s1"
        listen=udp:127.0.0.1:PORT2 advertise 10.1.1.1:5099
        alias=example.com:5060
        loadmodule "sl.so"
        loadmodule "xlog.so"
        loadmodule "pv.so"
        loadmodule "kex.so"
        loadmodule "corex.so"
        modparam("corex", "alias_subdomains", "sub.net")
        modparam("corex", "alias_subdomains", "udp:other.org:5070")
        event_route[core:worker-one-init] {
            if (is_faked_msg()) { xlog("L_INFO", "init: faked\\n"); }
        }
        request_route {
            if ($rU == "branches") {
                append_branch();
                append_branch("sip:b@x.org", "0.5");
                $du = "sip:1.2.3.4:5070";
                setbflag(3);
                set_send_socket("udp:127.0.0.1:PORT2");
                append_branch("sip:c@x.org");
                if (!append_branch("sip:d@x.org", "2")) { xlog("L_INFO", "q 2 refused\\n"); }
                xlog("L_INFO", "bR=[$bR] br=[$br] count=$branch(count) q0=$(branch(q)[0]) q1=$(branch(q)[1]) u1=$(branch(uri)[1]) d2=$(branch(dst_uri)[2]) f2=$(branch(flags)[2]) s0=$(branch(send_socket)[0]) s2=$(branch(send_socket)[2]) last=$(branch(uri)[-1]) du=$du\\n");
            } else if ($rU == "q") {
                append_branch("sip:q0@x.org", "1");
                append_branch("sip:q1@x.org", "0");
                append_branch("sip:q2@x.org", "0.5");
                append_branch("sip:q3@x.org", ".25");
                append_branch("sip:q4@x.org", " 0.1234");
                append_branch("sip:q5@x.org", "1.0");
                $var(q) = "1.5";
                if (!append_branch("sip:q6@x.org", "$var(q)")) { xlog("L_INFO", "q 1.5 refused\\n"); }
                append_branch("sip:q7@x.org", "");
                xlog("L_INFO", "qs=[$bR]\\n");
            } else if ($rU == "flags") {
                msg_iflag_set("UAC_AUTH");
                if (msg_iflag_is_set("uac_auth")) { xlog("L_INFO", "iflag set\\n"); }
                msg_iflag_is_set("USE_UAC_TO");
                xlog("L_INFO", "USE_UAC_TO rc=$rc\\n");
                msg_iflag_reset("UAC_AUTH");
                msg_iflag_is_set("UAC_AUTH");
                xlog("L_INFO", "after reset rc=$rc\\n");
                if (!msg_iflag_set("NOPE")) { xlog("L_INFO", "unknown iflag refused\\n"); }
                $var(f) = 63;
                setxflag(40); setxflag("$var(f)");
                if (isxflagset(40) && isxflagset(63) && !isxflagset(41)) { xlog("L_INFO", "xflags 40 63\\n"); }
                resetxflag(40);
                if (!isxflagset(40) && !setxflag(64)) { xlog("L_INFO", "xflag 40 reset, 64 refused\\n"); }
            } else if ($rU == "sockets") {
                if (is_socket_name("s1") && is_socket_name("S1") && !is_socket_name("zz")) { xlog("L_INFO", "names ok\\n"); }
                if (!is_faked_msg()) { xlog("L_INFO", "not faked\\n"); }
                xlog("L_INFO", "lsock=[$lsock(n/s1/listen)] [$lsock(n/s1/adv)] [$lsock(l/udp:127.0.0.1:PORT2/adv)] [$lsock(a/udp:10.1.1.1:5099/name)] [$lsock(i/1/listen)] [$lsock(n/zz/listen)] [$lsock(n/s1/index)] [$lsock(n/s1/l)]\\n");
            } else if ($rU == "files") {
                if (file_write("FILE", "hello $ci")) { xlog("L_INFO", "written\\n"); }
                file_read("FILE", "$var(c)");
                xlog("L_INFO", "read=[$var(c)]\\n");
                if (!file_read("FILE.missing", "$var(c)")) { xlog("L_INFO", "missing file refused\\n"); }
                if (!file_write("FILE", "")) { xlog("L_INFO", "empty content refused\\n"); }
            } else if ($rU == "myself") {
                if (is_myself("sip:a.sub.net")) { xlog("L_INFO", "a.sub.net\\n"); }
                if (is_myself("sip:SUB.NET")) { xlog("L_INFO", "SUB.NET\\n"); }
                if (!is_myself("sip:xsub.net")) { xlog("L_INFO", "not xsub.net\\n"); }
                if (is_myself("sip:x.other.org:5070")) { xlog("L_INFO", "x.other.org:5070\\n"); }
                if (!is_myself("sip:x.other.org:5080")) { xlog("L_INFO", "not x.other.org:5080\\n"); }
                if (is_myself("sip:example.com")) { xlog("L_INFO", "example.com\\n"); }
                $ru = "sip:bob@deep.a.sub.net";
                if (uri == myself) { xlog("L_INFO", "uri deep.a.sub.net is myself\\n"); }
            }
            sl_send_reply("200", "OK");
        }
        """

    static func functionsServer(file: String) throws -> (TestServer, Int) {
        let port2 = freeUDPPort()
        let config = functionsConfig.replacingOccurrences(of: "PORT2", with: String(port2))
            .replacingOccurrences(of: "FILE", with: file)
        return (try TestServer(config: config), port2)
    }

    @Test func appendBranchAddsBranchesAsKamailio() throws {
        let dir = TemporaryDirectory()
        let (server, port2) = try Self.functionsServer(file: dir.path + "/f.txt")
        #expect(Self.ask(server, "branches") == "SIP/2.0 200 OK")
        let r = "sip:branches@127.0.0.1:\(server.port)"
        #expect(server.waitForLog("q 2 refused"))
        #expect(
            server.waitForLog(
                "bR=[\(r), <sip:b@x.org>;q=0.5, sip:c@x.org] br=[\(r)] count=3 q0=<null> q1=500 u1=sip:b@x.org "
                    + "d2=sip:1.2.3.4:5070 f2=8 s0=<null> s2=udp:127.0.0.1:\(port2) last=sip:c@x.org "
                    + "du=sip:1.2.3.4:5070"), "\(server.log)")
        #expect(Self.ask(server, "q", callID: "q") == "SIP/2.0 200 OK")
        #expect(
            server.waitForLog(
                "qs=[<sip:q0@x.org>;q=1, <sip:q1@x.org>;q=0, <sip:q2@x.org>;q=0.5, <sip:q3@x.org>;q=0.25, "
                    + "<sip:q4@x.org>;q=0.123, <sip:q5@x.org>;q=1, sip:q7@x.org]"), "\(server.log)")
        #expect(server.log.contains("q 1.5 refused"))
        #expect(server.log.contains("cannot parse the Q parameter"))
    }

    @Test func flagsSocketsFilesAndMyself() throws {
        let dir = TemporaryDirectory()
        let file = dir.path + "/f.txt"
        let (server, _) = try Self.functionsServer(file: file)
        #expect(server.waitForLog("init: faked"))
        #expect(Self.ask(server, "flags") == "SIP/2.0 200 OK")
        for line in [
            "iflag set", "USE_UAC_TO rc=-2", "after reset rc=-2", "unknown iflag refused", "xflags 40 63",
            "xflag 40 reset, 64 refused",
        ] {
            #expect(server.waitForLog(line), "\(line): \(server.log)")
        }
        #expect(Self.ask(server, "sockets", callID: "s") == "SIP/2.0 200 OK")
        #expect(server.waitForLog("names ok"))
        #expect(server.waitForLog("not faked"))
        // Kamailio: a field word of one letter is malformed (nothing printed), `i/` always
        // gives the first socket, the index counts named sockets only.
        #expect(
            server.waitForLog(
                "lsock=[udp:127.0.0.1:\(server.port)] [] [udp:10.1.1.1:5099] [] [udp:127.0.0.1:\(server.port)] "
                    + "[<null>] [0] []"), "\(server.log)")
        #expect(Self.ask(server, "files", callID: "file-call") == "SIP/2.0 200 OK")
        #expect(server.waitForLog("read=[hello file-call]"), "\(server.log)")
        #expect(server.log.contains("written"))
        #expect(server.log.contains("missing file refused"))
        #expect(server.log.contains("empty content refused"))
        #expect((try? String(contentsOfFile: file, encoding: .utf8)) == "hello file-call")
        #expect(Self.ask(server, "myself", callID: "m") == "SIP/2.0 200 OK")
        for line in [
            "a.sub.net", "SUB.NET", "not xsub.net", "x.other.org:5070", "not x.other.org:5080", "example.com",
            "uri deep.a.sub.net is myself",
        ] {
            #expect(server.waitForLog(": \(line)\n"), "\(line): \(server.log)")
        }
    }

    @Test func startUpErrorsAtTheirPositions() {
        let errors = ScriptHarness.errors(
            """
            listen=udp:127.0.0.1:5999
            loadmodule "corex.so"
            modparam("corex", "alias_subdomains", "abc:5060")
            request_route {
                file_read("/tmp/x", "$ci");
                append_branch("sip:a@b", "1", "x");
            }
            reply_route {
                append_branch();
            }
            """)
        #expect(
            errors == [
                "bad.cfg:3:39: error: modparam \"corex\" \"alias_subdomains\": invalid protocol abc in alias subdomains: abc:5060",
                "bad.cfg:5:25: error: file_read: result pvar is not writeble",
                "bad.cfg:6:5: error: function 'append_branch' takes 0 to 2 parameter(s), 3 given",
                "bad.cfg:9:5: error: function 'append_branch' (module corex) cannot be used in reply_route",
            ], "\(errors)")
    }
}
