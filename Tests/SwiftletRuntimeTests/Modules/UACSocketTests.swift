import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// uac through the running binary over UDP sockets: a record-routed call whose From is
/// replaced (the 200 and the BYE's 200 restored for the caller, the in-dialog BYE replaced
/// again for the callee), and a callee that challenges (`uac_auth()` answers it).
@Suite(.serialized) struct UACSocketTests {
    static func config(uasPort: Int) -> String {
        """
        listen=udp:127.0.0.1:PORT
        children=2
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "rr.so"
        loadmodule "siputils.so"
        loadmodule "uac.so"
        modparam("uac", "restore_passwd", "s3cr3t")
        modparam("uac", "credential", "alice:example.com:pw123")
        request_route {
            if (has_totag()) {
                if (loose_route()) { t_relay(); exit; }
                sl_send_reply("404", "no"); exit;
            }
            uac_replace_from("sip:newcaller@example.net");
            record_route();
            $du = "sip:127.0.0.1:\(uasPort)";
            t_on_failure("AUTH");
            t_relay();
        }
        failure_route[AUTH] {
            if (t_check_status("401|407")) {
                if (uac_auth()) { t_relay(); }
            }
        }

        """
    }

    /// Waits for a message whose first line starts with `prefix` (others are skipped).
    func next(_ c: UDPClient, _ prefix: String) -> String? {
        for _ in 0..<5 {
            guard let m = c.receive(timeout: 3) else { return nil }
            if m.hasPrefix(prefix) { return m }
        }
        return nil
    }

    static func invite(_ user: String, _ uac: UDPClient, _ port: Int) -> String {
        """
        INVITE sip:\(user)@127.0.0.1:\(port) SIP/2.0\r
        Via: SIP/2.0/UDP 127.0.0.1:\(uac.port);branch=z9hG4bK-s-\(user);rport\r
        From: "Alice" <sip:alice@example.com>;tag=a1\r
        To: <sip:\(user)@example.org>\r
        Call-ID: s-\(user)\r
        CSeq: 1 INVITE\r
        Max-Forwards: 70\r
        Contact: <sip:alice@127.0.0.1:\(uac.port)>\r
        Content-Length: 0\r
        \r

        """
    }

    @Test func aRecordRoutedCallGetsItsFromBack() throws {
        let uac = UDPClient()
        let uas = UDPClient()
        let server = try TestServer(config: Self.config(uasPort: uas.port))
        defer { server.stop() }
        uac.send(Self.invite("bob", uac, server.port), to: server.port)
        let fwd = try #require(next(uas, "INVITE"), "\(server.log)")
        let rr = try #require(UACModuleTests.headers(fwd, "Record-Route").first)
        #expect(
            rr == "Record-Route: <sip:127.0.0.1:\(server.port);lr;ftag=a1;vsf=czNjcjx9bTNnXjppYB52Zjc3YDBrXF0RBw-->")
        #expect(UACModuleTests.headers(fwd, "From") == ["From: \"Alice\" <sip:newcaller@example.net>;tag=a1"])
        uas.send(UACModuleTests.reply(fwd, 200, "OK"), to: server.port)
        let ok = try #require(next(uac, "SIP/2.0 200"))
        #expect(UACModuleTests.headers(ok, "From") == ["From: \"Alice\" <sip:alice@example.com>;tag=a1"])
        let bye = """
            BYE sip:bob@127.0.0.1:\(uas.port) SIP/2.0\r
            Via: SIP/2.0/UDP 127.0.0.1:\(uac.port);branch=z9hG4bK-s-bye;rport\r
            Route: \(rr.dropFirst("Record-Route: ".count))\r
            From: "Alice" <sip:alice@example.com>;tag=a1\r
            To: <sip:bob@example.org>;tag=b1\r
            Call-ID: s-bob\r
            CSeq: 2 BYE\r
            Max-Forwards: 70\r
            Content-Length: 0\r
            \r

            """
        uac.send(bye, to: server.port)
        let fb = try #require(next(uas, "BYE"))
        #expect(UACModuleTests.headers(fb, "From") == ["From: \"Alice\" <sip:newcaller@example.net>;tag=a1"])
        uas.send(UACModuleTests.reply(fb, 200, "OK", toTag: nil), to: server.port)
        let okb = try #require(next(uac, "SIP/2.0 200"))
        #expect(UACModuleTests.headers(okb, "From") == ["From: \"Alice\" <sip:alice@example.com>;tag=a1"])
    }

    @Test func aChallengeIsAnsweredWithCredentials() throws {
        let uac = UDPClient()
        let uas = UDPClient()
        let server = try TestServer(config: Self.config(uasPort: uas.port))
        defer { server.stop() }
        uac.send(Self.invite("auth", uac, server.port), to: server.port)
        let fwd = try #require(next(uas, "INVITE"), "\(server.log)")
        uas.send(
            UACModuleTests.reply(
                fwd, 401, "Unauthorized", extra: "WWW-Authenticate: Digest realm=\"example.com\", nonce=\"abc\""),
            to: server.port)
        #expect(next(uas, "ACK") != nil)
        let again = try #require(next(uas, "INVITE"))
        let ha1 = MD5.hex(Array("alice:example.com:pw123".utf8))
        let ha2 = MD5.hex(Array("INVITE:sip:auth@127.0.0.1:\(server.port)".utf8))
        let response = MD5.hex(Array("\(ha1):abc:\(ha2)".utf8))
        #expect(
            UACModuleTests.headers(again, "Authorization") == [
                "Authorization: Digest username=\"alice\", realm=\"example.com\", nonce=\"abc\", uri=\"sip:auth@127.0.0.1:\(server.port)\", response=\"\(response)\", algorithm=MD5"
            ])
        uas.send(UACModuleTests.reply(again, 200, "OK"), to: server.port)
        let ok = try #require(next(uac, "SIP/2.0 200"))
        #expect(UACModuleTests.headers(ok, "From") == ["From: \"Alice\" <sip:alice@example.com>;tag=a1"])
    }
}
