import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// Challenges and nonces compared with Debian's Kamailio 5.6.3 on loopback: the same
/// header layout, and nonces of one accepted by the other when both have the same secret.
@Suite(.serialized) struct AuthKamailioInteropTests {
    static func config(mpath: String) -> String {
        """
        debug=2
        log_stderror=yes
        children=1
        listen=udp:127.0.0.1:PORT
        mpath="\(mpath)"
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "textops.so"
        loadmodule "auth.so"
        modparam("auth", "secret", "\(AuthHarness.secret)")
        request_route {
            if (!pv_auth_check("$fd", "secret", "0", "1")) {
                if (is_present_hf("X-Flags")) { auth_challenge("$fd", "$(hdr(X-Flags){s.int})"); exit; }
                auth_challenge("$fd", "0");
                exit;
            }
            sl_send_reply("200", "OK");
        }
        """
    }

    static let route = """
        if (!pv_auth_check("$fd", "secret", "0", "1")) {
            $avp(rc) = $rc;
            if (is_present_hf("X-Flags")) { auth_challenge("$fd", "$(hdr(X-Flags){s.int})"); exit; }
            auth_challenge("$fd", "0");
            exit;
        }
        $avp(rc) = $rc;
        sl_send_reply("200", "OK");
        """

    func kamailioRequest(_ party: SIPSocketParty, method: String = "REGISTER", extra: [String] = []) -> [String] {
        let to = method == "REGISTER" ? "alice" : "bob"
        return [
            "\(method) sip:example.com SIP/2.0",
            "Via: SIP/2.0/UDP 127.0.0.1:\(party.port);branch=z9hG4bK-\(UUID().uuidString)",
            "From: <sip:alice@example.com>;tag=1", "To: <sip:\(to)@example.com>", "Call-ID: \(UUID().uuidString)",
            "CSeq: 1 \(method)", "Max-Forwards: 70",
        ] + extra + ["Content-Length: 0"]
    }

    @Test(.enabled(if: kamailioPath != nil, "needs Debian's kamailio package"))
    func challengesAndNoncesMatchKamailios() throws {
        // Swiftlet starts first: a nonce Kamailio makes later is not from before its start.
        let swiftlet = try AuthHarness(params: "loadmodule \"textops.so\"\n", route: Self.route)
        let kamailio = try KamailioTestServer(config: Self.config(mpath: kamailioModules))
        defer { kamailio.stop() }
        let party = SIPSocketParty(user: "alice")

        for (method, flags) in [("REGISTER", nil), ("REGISTER", "1"), ("INVITE", "2"), ("INVITE", "16")]
            as [(String, String?)]
        {
            let extra = flags.map { ["X-Flags: \($0)"] } ?? []
            party.send(kamailioRequest(party, method: method, extra: extra), to: kamailio.port)
            let k = try party.expect(
                method == "REGISTER" ? "SIP/2.0 401 Unauthorized" : "SIP/2.0 407 Proxy Authentication Required")
            let kLine = try #require(k.headerLines.first { $0.contains("-Authenticate:") })
            let ours = try swiftlet.run(
                AuthHarness.request(method: method, uri: "sip:example.com", headers: extra)
            ).reply
            let sLine = try #require(AuthHarness.challenge(ours))
            let kNonce = try #require(digestParameter(kLine, "nonce"))
            let sNonce = try #require(digestParameter(sLine, "nonce"))
            #expect(
                kLine.replacingOccurrences(of: kNonce, with: "N") == sLine.replacingOccurrences(of: sNonce, with: "N"))
            // Kamailio's nonce has the layout the other tests build nonces with.
            let b = try #require(Data(base64Encoded: kNonce)).map { $0 }
            let expires = b[0..<4].reduce(0) { $0 << 8 | Int($1) }
            let since = b[4..<8].reduce(0) { $0 << 8 | Int($1) }
            #expect(kNonce == kamailioNonce(since: since, expires: expires, secret: AuthHarness.secret))
        }

        // Kamailio's nonce authenticates at Swiftlet, and Swiftlet's at Kamailio.
        party.send(kamailioRequest(party), to: kamailio.port)
        let kChallenge = try party.expect("SIP/2.0 401")
        let kNonce = try #require(
            kChallenge.headers("WWW-Authenticate").first.flatMap { digestParameter(" " + $0, "nonce") })
        let toSwiftlet = swiftlet.client.header(method: "REGISTER", uri: "sip:example.com", nonce: kNonce)
        #expect(try swiftlet.run(AuthHarness.request(headers: [toSwiftlet])).reply?.hasPrefix("SIP/2.0 200 OK") == true)

        let sNonce = try swiftlet.nonce()
        let toKamailio = swiftlet.client.header(method: "REGISTER", uri: "sip:example.com", nonce: sNonce)
        party.send(kamailioRequest(party, extra: [toKamailio]), to: kamailio.port)
        _ = try party.expect("SIP/2.0 200 OK")
        // And a wrong password is refused by both.
        var wrong = swiftlet.client
        wrong.password = "guess"
        party.send(
            kamailioRequest(party, extra: [wrong.header(method: "REGISTER", uri: "sip:example.com", nonce: sNonce)]),
            to: kamailio.port)
        _ = try party.expect("SIP/2.0 401")
    }
}
