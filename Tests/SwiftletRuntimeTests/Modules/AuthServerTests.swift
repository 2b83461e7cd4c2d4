import Foundation
import Testing

@testable import SwiftletSDK

/// Digest exchanges with the running swiftlet binary over UDP: REGISTER answered 401 then
/// 200 (and 401 again for a one-time nonce used twice), and an INVITE challenged through tm
/// (a transaction made with `t_newtran()`).
@Suite(.serialized) struct AuthServerTests {
    static let config = """
        log_stderror=yes
        debug=2
        children=2
        listen=udp:127.0.0.1:PORT
        loadmodule "sl.so"
        loadmodule "tm.so"
        loadmodule "textops.so"
        loadmodule "auth.so"
        modparam("auth", "secret", "\(AuthHarness.secret)")
        modparam("auth", "one_time_nonce", 1)
        request_route {
            if (is_method("INVITE")) { t_newtran(); }
            if (!pv_auth_check("$fd", "secret", "0", "1")) {
                auth_challenge("$fd", "1");
                exit;
            }
            consume_credentials();
            if (is_method("INVITE")) { t_reply("488", "Not Here"); exit; }
            sl_send_reply("200", "OK");
        }
        """

    func request(_ party: SIPSocketParty, _ method: String, cseq: Int, extra: [String] = []) -> [String] {
        let to = method == "REGISTER" ? "alice" : "bob"
        return [
            "\(method) sip:example.com SIP/2.0",
            "Via: SIP/2.0/UDP 127.0.0.1:\(party.port);branch=z9hG4bK-\(UUID().uuidString)",
            "From: <sip:alice@example.com>;tag=a1", "To: <sip:\(to)@example.com>", "Call-ID: auth-\(method)@test",
            "CSeq: \(cseq) \(method)", "Max-Forwards: 70", "Contact: <sip:alice@127.0.0.1:\(party.port)>",
        ] + extra + ["Content-Length: 0"]
    }

    @Test func registerAndInviteAreChallengedAndAuthorized() throws {
        let server = try TestServer(config: Self.config)
        defer { _ = server.stop() }
        let party = SIPSocketParty(user: "alice")
        let client = DigestClient()

        party.send(request(party, "REGISTER", cseq: 1), to: server.port)
        let challenge = try party.expect("SIP/2.0 401 Unauthorized")
        let line = try #require(challenge.headers("WWW-Authenticate").first)
        #expect(line.hasSuffix(", qop=\"auth\""))
        let nonce = try #require(digestParameter(" " + line, "nonce"))
        let auth = client.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce, qop: "auth")
        party.send(request(party, "REGISTER", cseq: 2, extra: [auth]), to: server.port)
        _ = try party.expect("SIP/2.0 200 OK")
        // The same one-time nonce again: challenged anew.
        party.send(request(party, "REGISTER", cseq: 3, extra: [auth]), to: server.port)
        _ = try party.expect("SIP/2.0 401 Unauthorized")

        // INVITE: 407 from the transaction, then authorized.
        party.send(request(party, "INVITE", cseq: 1), to: server.port)
        let p = try party.expect("SIP/2.0 407 Proxy Authentication Required")
        let pline = try #require(p.headers("Proxy-Authenticate").first)
        let pnonce = try #require(digestParameter(" " + pline, "nonce"))
        let invite = client.header(
            "Proxy-Authorization", method: "INVITE", uri: "sip:example.com", nonce: pnonce, qop: "auth")
        party.send(request(party, "INVITE", cseq: 2, extra: [invite]), to: server.port)
        _ = try party.expect("SIP/2.0 488 Not Here")
    }
}
