import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK
@testable import SwiftletSIP

/// The other functions and parameters of the auth module.
@Suite(.serialized) struct AuthFunctionTests {
    @Test func challengeAttributeCarriesStaleAndQop() throws {
        let route = """
            pv_www_authenticate("$fd", "secret", "10");
            $avp(rc) = $rc;
            if ($avp(rc) < 0) { append_to_reply("$avp(digest_challenge)"); sl_send_reply("401", "Unauthorized"); exit; }
            sl_send_reply("200", "OK");
            """
        let h = try AuthHarness(params: "loadmodule \"textops.so\"\n", route: route)
        let first = try h.run(AuthHarness.request())
        #expect(AuthHarness.rc(first.ctx) == -5)
        let line = try #require(AuthHarness.challenge(first.reply))
        #expect(line.hasSuffix(", qop=\"auth-int\""))
        let now = Int(Date().timeIntervalSince1970)
        let expired = kamailioNonce(since: now, expires: now - 5, secret: AuthHarness.secret)
        let stale = try h.run(
            AuthHarness.request(headers: [h.client.header(method: "REGISTER", uri: "sip:example.com", nonce: expired)]))
        #expect(AuthHarness.rc(stale.ctx) == -4)
        #expect(AuthHarness.challenge(stale.reply)?.hasSuffix(", qop=\"auth-int\", stale=true") == true)
    }

    @Test func passwordAsHA1AndMethodParameter() throws {
        let ha1 = MD5.hex(Array("alice:example.com:secret".utf8))
        let route = """
            pv_www_authenticate("$fd", "\(ha1)", "1", "INVITE");
            $avp(rc) = $rc;
            if ($avp(rc) < 0) { www_challenge("$fd", "0"); exit; }
            sl_send_reply("200", "OK");
            """
        let h = try AuthHarness(route: route)
        let nonce = try h.nonce()
        // The response is computed with the method given, not the request's.
        let asInvite = h.client.header(method: "INVITE", uri: "sip:example.com", nonce: nonce)
        #expect(AuthHarness.rc(try h.run(AuthHarness.request(headers: [asInvite])).ctx) == 1)
        let asRegister = h.client.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce)
        #expect(AuthHarness.rc(try h.run(AuthHarness.request(headers: [asRegister])).ctx) == -2)
    }

    @Test func passwordTemplateWithTheCredentialsUser() throws {
        // As the auth-register benchmark: the password made from the credentials' user ($au),
        // rendered only when there are credentials to check.
        let route = """
            pv_www_authenticate("$fd", "pw-$au", "0");
            $avp(rc) = $rc;
            if ($avp(rc) < 0) { www_challenge("$fd", "1"); exit; }
            sl_send_reply("200", "OK");
            """
        let h = try AuthHarness(route: route)
        let first = try h.run(AuthHarness.request())
        #expect(AuthHarness.rc(first.ctx) == -5)
        let nonce = try #require(AuthHarness.challenge(first.reply).flatMap { digestParameter($0, "nonce") })
        var alice = h.client
        alice.password = "pw-alice"
        for qop: String? in [nil, "auth"] {
            let right = alice.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce, qop: qop)
            let ok = try h.run(AuthHarness.request(headers: [right]))
            #expect(AuthHarness.rc(ok.ctx) == 1 && ok.reply?.hasPrefix("SIP/2.0 200 OK") == true)
        }
        alice.password = "pw-bob"
        let wrong = alice.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce, qop: "auth")
        #expect(AuthHarness.rc(try h.run(AuthHarness.request(headers: [wrong])).ctx) == -2)
        // A response of the wrong length is an error (-1), not a wrong password.
        let short = alice.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce, response: "0123")
        #expect(AuthHarness.rc(try h.run(AuthHarness.request(headers: [short])).ctx) == -1)
        // A password that renders empty is an error (-1) before credentials are looked for.
        let empty = try AuthHarness(
            route: "$var(pw) = \"\";\npv_www_authenticate(\"$fd\", \"$var(pw)\", \"0\");\n$avp(rc) = $rc;")
        #expect(AuthHarness.rc(try empty.run(AuthHarness.request()).ctx) == -1)
    }

    @Test func identityChecksOfPvAuthCheck() throws {
        let h = try AuthHarness()
        let nonce = try h.nonce()
        // REGISTER for bob's To with alice's credentials: -8.
        var bob = h.client
        bob.username = "bob"
        bob.password = "secret"
        let auth = bob.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce)
        let r = try h.run(AuthHarness.request(headers: [auth]))
        #expect(AuthHarness.rc(r.ctx) == -8)
        // INVITE from alice with alice's credentials: 1; ACK and CANCEL are never checked.
        let invite = h.client.header(
            "Proxy-Authorization", method: "INVITE", uri: "sip:bob@example.com", nonce: nonce)
        let ok = try h.run(AuthHarness.request(method: "INVITE", uri: "sip:bob@example.com", headers: [invite]))
        #expect(AuthHarness.rc(ok.ctx) == 1)
        let ack = try h.run(AuthHarness.request(method: "ACK", uri: "sip:bob@example.com"))
        #expect(AuthHarness.rc(ack.ctx) == 1)
        // consume_credentials() has nothing to remove for an ACK: -1, and the route goes on.
        #expect(ack.reply == nil)
    }

    @Test func authInfoHeaderOnSuccess() throws {
        let h = try AuthHarness(params: "modparam(\"auth\", \"add_authinfo_hdr\", 1)\n")
        let nonce = try h.nonce()
        let auth = h.client.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce, qop: "auth")
        let r = try h.run(AuthHarness.request(headers: [auth]))
        let info = try #require(r.reply?.components(separatedBy: "\r\n").first { $0.hasPrefix("Authentication-Info:") })
        // rspauth = H(HA1:nonce:nc:cnonce:qop:H(":" uri)) (RFC 2617 section 3.2.3).
        let ha1 = MD5.hex(Array("alice:example.com:secret".utf8))
        let ha2 = MD5.hex(Array(":sip:example.com".utf8))
        let rspauth = MD5.hex(Array("\(ha1):\(nonce):00000001:0a4f113b:auth:\(ha2)".utf8))
        #expect(
            info
                == "Authentication-Info: nextnonce=\"\(nonce)\", qop=auth, rspauth=\"\(rspauth)\", cnonce=\"0a4f113b\", nc=00000001"
        )
    }

    @Test func extraChecksBindTheNonceToTheCallID() throws {
        let h = try AuthHarness(params: "modparam(\"auth\", \"auth_checks_register\", 2)\n")
        let first = try h.run(AuthHarness.request(callID: "first@test")).reply
        let nonce = try #require(AuthHarness.challenge(first).flatMap { digestParameter($0, "nonce") })
        // expires, since, MD5, MD5(Call-ID secret2): 40 bytes.
        #expect(Data(base64Encoded: nonce)?.count == 40)
        let auth = h.client.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce)
        #expect(AuthHarness.rc(try h.run(AuthHarness.request(headers: [auth], callID: "first@test")).ctx) == 1)
        #expect(AuthHarness.rc(try h.run(AuthHarness.request(headers: [auth], callID: "other@test")).ctx) == -4)
    }

    @Test func realmPrefixHasCredentialsAndGetWWWAuthenticate() throws {
        let route = """
            if ($rm == "OPTIONS") {
                auth_get_www_authenticate("sip.example.com", "17", "$var(h)");
                $avp(h) = $var(h);
                exit;
            }
            has_credentials("example.com"); $avp(has) = $rc;
            has_credentials("other.org"); $avp(has) = $rc;
            if (!pv_auth_check("sip.example.com", "secret", "0", "0")) { $avp(rc) = $rc; auth_challenge("sip.example.com", "0"); exit; }
            $avp(rc) = $rc;
            sl_send_reply("200", "OK");
            """
        let h = try AuthHarness(params: "modparam(\"auth\", \"realm_prefix\", \"sip.\")\n", route: route)
        // The challenge names the realm without the prefix, and so do the credentials.
        let line = try #require(AuthHarness.challenge(try h.run(AuthHarness.request()).reply))
        #expect(line.hasPrefix("WWW-Authenticate: Digest realm=\"example.com\", nonce=\""))
        let nonce = try #require(digestParameter(line, "nonce"))
        let auth = h.client.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce)
        let r = try h.run(AuthHarness.request(headers: [auth]))
        #expect(AuthHarness.rc(r.ctx) == 1)
        #expect(r.ctx.avps["has"] == [.int(-1), .int(1)])
        let get = try h.run(AuthHarness.request(method: "OPTIONS", uri: "sip:example.com"))
        guard case .string(let hdr)? = get.ctx.avps["h"]?.first else {
            Issue.record("no header in $var(h)")
            return
        }
        #expect(hdr.hasPrefix("WWW-Authenticate: Digest realm=\"example.com\", nonce=\""))
        #expect(hdr.hasSuffix("\", qop=\"auth\", stale=true\r\n"))
    }

    @Test func sanityAnswersIncompleteCredentialsWith400() throws {
        // Kamailio's stock configuration runs sanity_check() (checks 2048) before auth.
        let route = "if (!sanity_check()) { exit; }\n" + AuthHarness.checkRoute
        let h = try AuthHarness(params: "loadmodule \"sanity.so\"\n", route: route)
        let nonce = try h.nonce()
        let auth = h.client.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce, omit: ["nonce"])
        let r = try h.run(AuthHarness.request(headers: [auth]))
        #expect(r.reply?.hasPrefix("SIP/2.0 400 ") == true)
        #expect(AuthHarness.rc(r.ctx) == nil)
        let good = h.client.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce)
        #expect(try h.run(AuthHarness.request(headers: [good])).reply?.hasPrefix("SIP/2.0 200 OK") == true)
    }

    @Test func challengeErrorsAndFixups() throws {
        // An empty realm at run time: 500 unless flag 4, and -1.
        let route = """
            $var(r) = "";
            if ($rm == "REGISTER") { www_challenge("$var(r)", "0"); } else { www_challenge("$var(r)", "4"); }
            $avp(rc) = $rc;
            """
        let h = try AuthHarness(route: route)
        let r = try h.run(AuthHarness.request())
        #expect(AuthHarness.rc(r.ctx) == -1 && r.reply?.hasPrefix("SIP/2.0 500 Internal Server Error") == true)
        let quiet = try h.run(AuthHarness.request(method: "MESSAGE", uri: "sip:bob@example.com"))
        #expect(AuthHarness.rc(quiet.ctx) == -1 && quiet.reply == nil)
        // Start-up errors as Kamailio's.
        let base = ScriptHarness.prelude + "loadmodule \"auth.so\"\n"
        #expect(
            ScriptHarness.errors(base + "request_route { www_challenge(\"\", \"0\"); }\n").first?.contains(
                "empty parameter 1 not allowed") == true)
        #expect(
            ScriptHarness.errors(base + "modparam(\"auth\", \"algorithm\", \"MD4\")\nrequest_route { exit; }\n").first?
                .contains("invalid algorithm") == true)
        #expect(
            ScriptHarness.errors(base + "modparam(\"auth\", \"qop\", \"foo\")\nrequest_route { exit; }\n").first?
                .contains("unsupported qop") == true)
    }
}
