import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The secsipid module in the running `swiftlet` binary, over UDP sockets, and against
/// Debian's Kamailio 5.6.3 with its own secsipid module running the same script: an
/// Identity header built by one verifies in the other, and a tampered one is answered 438 by
/// both.
@Suite(.serialized) struct SecSIPIDServerTests {
    let pki: SecSIPIDTestPKI
    let http: TestHTTPFileServer

    init() throws {
        pki = try SecSIPIDTestPKI()
        http = try TestHTTPFileServer(directory: pki.path)
    }

    /// A script Kamailio and Swiftlet both run: `X-Op: build` answers the built Identity in
    /// `X-Identity`; an INVITE without Identity gets 428, with an invalid one 438 (RFC 8224).
    func script(mpath: String?) -> String {
        """
        listen=udp:127.0.0.1:PORT
        children=2
        \(mpath.map { "mpath=\"\($0)\"" } ?? "")
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "textops.so"
        loadmodule "secsipid.so"
        modparam("secsipid", "timeout", 2)
        modparam("secsipid", "libopt", "CertCAFile=\(pki.file("ca.pem"))")
        modparam("secsipid", "libopt", "CertVerify=5")
        request_route {
            if ($hdr(X-Op) == "build") {
                if (secsipid_build_identity("$fU", "$tU", "A", "", "$hdr(X-X5U)", "\(pki.file("leaf.key"))")) {
                    append_to_reply("X-Identity: $secsipid(val)\\r\\n");
                    sl_send_reply("200", "Built");
                } else {
                    sl_send_reply("500", "Not Built");
                }
                exit;
            }
            if (is_method("OPTIONS")) {
                sl_send_reply("200", "OK");
                exit;
            }
            if (!is_present_hf("Identity")) {
                sl_send_reply("428", "Use Identity Header");
                exit;
            }
            if (secsipid_check_identity("")) {
                sl_send_reply("200", "Identity OK");
            } else {
                $var(rc) = $rc;
                sl_send_reply("438", "Invalid Identity Header $var(rc)");
            }
        }
        """
    }

    func request(
        _ client: SIPSocketParty, _ port: Int, method: String = "INVITE", headers: [String], id: String
    ) throws -> ReceivedSIP {
        client.send(
            [
                "\(method) sip:15551230002@127.0.0.1:\(port) SIP/2.0",
                "Via: SIP/2.0/UDP 127.0.0.1:\(client.port);branch=z9hG4bK-\(id);rport",
                "From: <sip:15551230001@127.0.0.1>;tag=\(id)", "To: <sip:15551230002@127.0.0.1>",
                "Call-ID: \(id)@secsipid", "CSeq: 1 \(method)", "Max-Forwards: 70",
            ] + headers + ["Content-Length: 0"], to: port)
        guard let m = client.next(timeout: 8) else { throw TestFailure("no reply to \(id)") }
        return m
    }

    func build(_ client: SIPSocketParty, _ port: Int, id: String) throws -> String {
        let r = try request(
            client, port, method: "MESSAGE", headers: ["X-Op: build", "X-X5U: \(http.url("chain.pem"))"], id: id)
        guard r.firstLine == "SIP/2.0 200 Built", let v = r.headers("X-Identity").first else {
            throw TestFailure("build failed: \(r)")
        }
        return v
    }

    static func tampered(_ identity: String) -> String {
        // The first character of the signature changed.
        let jwt = identity.split(separator: ";", maxSplits: 1)
        var parts = jwt[0].split(separator: ".").map(String.init)
        parts[2] = (parts[2].first == "A" ? "B" : "A") + parts[2].dropFirst()
        return parts.joined(separator: ".") + ";" + jwt[1]
    }

    @Test func aValidIdentityPassesATamperedOneIs438AndASlowX5uBlocksOnlyItsWorker() throws {
        let server = try TestServer(config: script(mpath: nil))
        defer { server.stop() }
        let ua = SIPSocketParty(user: "ua")
        let identity = try build(ua, server.port, id: "b1")
        #expect(
            try request(ua, server.port, headers: ["Identity: \(identity)"], id: "i1").firstLine
                == "SIP/2.0 200 Identity OK")
        #expect(
            try request(ua, server.port, headers: ["Identity: \(Self.tampered(identity))"], id: "i2").firstLine
                == "SIP/2.0 438 Invalid Identity Header -251")
        #expect(try request(ua, server.port, headers: [], id: "i3").firstLine == "SIP/2.0 428 Use Identity Header")
        // An x5u that never answers: that INVITE waits for `timeout` (2 s) on one worker while
        // the other keeps answering.
        let silent = SilentTCPListener()
        let slow = identity.replacingOccurrences(
            of: http.url("chain.pem"), with: "http://127.0.0.1:\(silent.port)/c.pem")
        let waiting = SIPSocketParty(user: "waiting")
        let start = Date()
        waiting.send(
            [
                "INVITE sip:15551230002@127.0.0.1:\(server.port) SIP/2.0",
                "Via: SIP/2.0/UDP 127.0.0.1:\(waiting.port);branch=z9hG4bK-slow;rport",
                "From: <sip:15551230001@127.0.0.1>;tag=s", "To: <sip:15551230002@127.0.0.1>",
                "Call-ID: slow@secsipid", "CSeq: 1 INVITE", "Max-Forwards: 70", "Identity: \(slow)",
                "Content-Length: 0",
            ], to: server.port)
        usleep(200_000)
        #expect(try request(ua, server.port, method: "OPTIONS", headers: [], id: "o1").firstLine == "SIP/2.0 200 OK")
        #expect(Date().timeIntervalSince(start) < 1.5, "OPTIONS answered while the fetch waits")
        let answer = try #require(waiting.next(timeout: 8))
        // The info URL no longer matches the signed x5u, but the fetch fails first.
        #expect(answer.firstLine == "SIP/2.0 438 Invalid Identity Header -402")
        let took = Date().timeIntervalSince(start)
        #expect(took >= 1.8 && took < 6, "took \(took) s")
    }

    @Test(.enabled(if: kamailioPath != nil, "needs Debian's kamailio and kamailio-secsipid-modules"))
    func identitiesOfKamailioAndSwiftletVerifyInTheOther() throws {
        let kamailio = try KamailioTestServer(config: script(mpath: kamailioModules))
        defer { kamailio.stop() }
        let swiftlet = try TestServer(config: script(mpath: nil))
        defer { swiftlet.stop() }
        let ua = SIPSocketParty(user: "ua")
        let fromKamailio = try build(ua, kamailio.port, id: "k1")
        let fromSwiftlet = try build(ua, swiftlet.port, id: "s1")
        for (port, identity, id) in [
            (swiftlet.port, fromKamailio, "a"), (kamailio.port, fromSwiftlet, "b"), (kamailio.port, fromKamailio, "c"),
        ] {
            #expect(
                try request(ua, port, headers: ["Identity: \(identity)"], id: id).firstLine == "SIP/2.0 200 Identity OK"
            )
            #expect(
                try request(ua, port, headers: ["Identity: \(Self.tampered(identity))"], id: id + "t").firstLine
                    == "SIP/2.0 438 Invalid Identity Header -251")
        }
        #expect(try request(ua, kamailio.port, headers: [], id: "k0").firstLine == "SIP/2.0 428 Use Identity Header")
    }
}
