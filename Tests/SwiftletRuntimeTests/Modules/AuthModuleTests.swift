import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK
@testable import SwiftletSIP

/// A configuration with the auth module loaded in this process; requests go through its
/// request route and the replies sent are recorded.
final class AuthHarness {
    static let secret = "0123456789abcdef"
    let loaded: LoadedConfiguration
    let sender: RecordingSender
    var client = DigestClient()

    init(params: String = "", route: String = AuthHarness.checkRoute) throws {
        (loaded, sender) = try ScriptHarness.loadRecording(
            ScriptHarness.prelude + "loadmodule \"pv.so\"\nloadmodule \"auth.so\"\n"
                + "modparam(\"auth\", \"secret\", \"\(Self.secret)\")\n" + params + "request_route {\n\(route)\n}\n")
        // mod_init and child_init, as EmbeddedCore and the server run them.
        let initContext = ModuleInitContext(listeners: loaded.core.listen, core: loaded.context)
        for m in loaded.modules {
            try m.exports.initialize(initContext)
            try m.exports.childInitialize(ProcessRank.firstWorker)
        }
    }

    /// pv_auth_check with the password "secret"; $avp(rc) keeps the code; stale nonces get
    /// a challenge with stale=true.
    static let checkRoute = """
        if (!pv_auth_check("$fd", "secret", "0", "1")) {
            $avp(rc) = $rc;
            if ($avp(rc) == -4) { auth_challenge("$fd", "16"); exit; }
            auth_challenge("$fd", "0");
            exit;
        }
        $avp(rc) = $rc;
        consume_credentials();
        sl_send_reply("200", "OK");
        """

    /// A request from alice@example.com with extra header lines and a body.
    static func request(
        method: String = "REGISTER", uri: String = "sip:example.com", headers: [String] = [], body: String = "",
        from: String = "alice", callID: String = "call-1@test"
    ) -> String {
        let to = method == "REGISTER" ? from : "bob"
        var lines = [
            "\(method) \(uri) SIP/2.0", "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-\(UUID().uuidString)",
            "From: <sip:\(from)@example.com>;tag=1", "To: <sip:\(to)@example.com>", "Call-ID: \(callID)",
            "CSeq: 1 \(method)", "Max-Forwards: 70",
        ]
        lines += headers
        if !body.isEmpty { lines.append("Content-Type: text/plain") }
        lines.append("Content-Length: \(body.utf8.count)")
        return lines.joined(separator: "\r\n") + "\r\n\r\n" + body
    }

    /// Runs the request route on `message`; the context and the reply sent (if any).
    @discardableResult
    func run(_ message: String) throws -> (ctx: MessageContext, reply: String?) {
        let before = sender.transport.sent.count
        let ctx = try ScriptHarness.context(message, core: loaded.context)
        loaded.script.runRequestRoute(ctx)
        let sent = sender.transport.sent
        return (ctx, sent.count > before ? sent.last!.text : nil)
    }

    /// The return code the route stored in $avp(rc).
    static func rc(_ ctx: MessageContext) -> Int? {
        if case .int(let i) = ctx.avps["rc"]?.first { return i }
        return nil
    }

    /// The challenge header line of a reply (`WWW-Authenticate: ...` or `Proxy-Authenticate: ...`).
    static func challenge(_ reply: String?) -> String? {
        reply?.components(separatedBy: "\r\n").first {
            $0.hasPrefix("WWW-Authenticate:") || $0.hasPrefix("Proxy-Authenticate:")
        }
    }

    /// A fresh nonce from a 401 for a REGISTER.
    func nonce(method: String = "REGISTER") throws -> String {
        let r = try run(Self.request(method: method)).reply
        return try #require(Self.challenge(r).flatMap { digestParameter($0, "nonce") })
    }
}

@Suite(.serialized) struct AuthModuleTests {
    @Test func challengeHasKamailiosLayoutAndNonce() throws {
        let h = try AuthHarness()
        let t0 = Int(Date().timeIntervalSince1970)
        let (ctx, reply) = try h.run(AuthHarness.request())
        #expect(AuthHarness.rc(ctx) == -5)
        let r = try #require(reply)
        #expect(r.hasPrefix("SIP/2.0 401 Unauthorized\r\n"))
        let line = try #require(AuthHarness.challenge(r))
        let nonce = try #require(digestParameter(line, "nonce"))
        #expect(line == "WWW-Authenticate: Digest realm=\"example.com\", nonce=\"\(nonce)\"")
        // The nonce is Kamailio's: expires, since, MD5(expires since secret); 32 characters.
        let b = try #require(Data(base64Encoded: nonce)).map { $0 }
        #expect(nonce.count == 32 && b.count == 24)
        let expires = b[0..<4].reduce(0) { $0 << 8 | Int($1) }
        let since = b[4..<8].reduce(0) { $0 << 8 | Int($1) }
        #expect(expires - since == 300 && abs(since - t0) <= 2)
        #expect(nonce == kamailioNonce(since: since, expires: expires, secret: AuthHarness.secret))
        // INVITE: a 407 with Proxy-Authenticate.
        let invite = try h.run(AuthHarness.request(method: "INVITE", uri: "sip:bob@example.com")).reply
        #expect(invite?.hasPrefix("SIP/2.0 407 Proxy Authentication Required\r\n") == true)
        #expect(
            AuthHarness.challenge(invite)?.hasPrefix("Proxy-Authenticate: Digest realm=\"example.com\", nonce=\"")
                == true)
    }

    @Test func rightPasswordIsAuthorizedAndWrongOneChallengedAgain() throws {
        let h = try AuthHarness()
        let nonce = try h.nonce()
        let auth = h.client.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce)
        let ok = try h.run(AuthHarness.request(headers: [auth]))
        #expect(ok.reply?.hasPrefix("SIP/2.0 200 OK\r\n") == true)
        #expect(AuthHarness.rc(ok.ctx) == 1)
        // consume_credentials() removed the Authorization header from the request.
        let forwarded = String(decoding: try ok.ctx.edits.build(), as: UTF8.self)
        #expect(!forwarded.contains("Authorization:") && forwarded.contains("Call-ID: call-1@test"))

        var wrong = h.client
        wrong.password = "guess"
        let bad = try h.run(
            AuthHarness.request(headers: [wrong.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce)]))
        #expect(AuthHarness.rc(bad.ctx) == -2)
        #expect(bad.reply?.hasPrefix("SIP/2.0 401 Unauthorized\r\n") == true)
        #expect(AuthHarness.challenge(bad.reply)?.contains("stale") == false)

        // The response is for the method and URI it was computed with.
        let otherURI = h.client.header(method: "REGISTER", uri: "sip:other.example.com", nonce: nonce)
        let moved = try h.run(
            AuthHarness.request(headers: [
                otherURI.replacingOccurrences(of: "sip:other.example.com", with: "sip:example.com")
            ]))
        #expect(AuthHarness.rc(moved.ctx) == -2)
    }

    @Test func staleNonceGetsStaleTrue() throws {
        let h = try AuthHarness()
        let now = Int(Date().timeIntervalSince1970)
        // Expired: valid since now, expiring a second ago.
        let expired = kamailioNonce(since: now, expires: now - 1, secret: AuthHarness.secret)
        let r = try h.run(
            AuthHarness.request(headers: [h.client.header(method: "REGISTER", uri: "sip:example.com", nonce: expired)]))
        #expect(AuthHarness.rc(r.ctx) == -4)
        let line = try #require(AuthHarness.challenge(r.reply))
        #expect(line.hasSuffix("\", stale=true"))
        #expect(digestParameter(line, "nonce") != expired)
        // Made before this start (another instance's, or ours before a restart): stale too.
        let old = kamailioNonce(since: now - 3600, expires: now + 300, secret: AuthHarness.secret)
        let r2 = try h.run(
            AuthHarness.request(headers: [h.client.header(method: "REGISTER", uri: "sip:example.com", nonce: old)]))
        #expect(AuthHarness.rc(r2.ctx) == -4)
        // From the future beyond nonce_auth_max_drift (3 s): stale; within it: accepted.
        let future = kamailioNonce(since: now + 30, expires: now + 300, secret: AuthHarness.secret)
        let r3 = try h.run(
            AuthHarness.request(headers: [h.client.header(method: "REGISTER", uri: "sip:example.com", nonce: future)]))
        #expect(AuthHarness.rc(r3.ctx) == -4)
        let near = kamailioNonce(since: now + 1, expires: now + 300, secret: AuthHarness.secret)
        let r4 = try h.run(
            AuthHarness.request(headers: [h.client.header(method: "REGISTER", uri: "sip:example.com", nonce: near)]))
        #expect(AuthHarness.rc(r4.ctx) == 1)
        // Another secret: not ours (-1), not stale.
        let foreign = kamailioNonce(since: now, expires: now + 300, secret: "another secret")
        let r5 = try h.run(
            AuthHarness.request(headers: [h.client.header(method: "REGISTER", uri: "sip:example.com", nonce: foreign)]))
        #expect(AuthHarness.rc(r5.ctx) == -1)
        #expect(AuthHarness.challenge(r5.reply)?.contains("stale") == false)
    }

    @Test func nonceFromAnotherServerWithTheSameSecretIsAccepted() throws {
        let a = try AuthHarness()
        let b = try AuthHarness()
        let nonce = try a.nonce()
        let auth = b.client.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce)
        #expect(try b.run(AuthHarness.request(headers: [auth])).reply?.hasPrefix("SIP/2.0 200 OK") == true)
    }

    @Test func missingDigestFieldsAreAnErrorAndChallengedAgain() throws {
        // Kamailio 5.6.3 answers these with $rc -1 and the script's 401 (no 400).
        let h = try AuthHarness()
        let nonce = try h.nonce()
        for field in ["nonce", "response", "uri", "username"] {
            let auth = h.client.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce, omit: [field])
            let r = try h.run(AuthHarness.request(headers: [auth]))
            #expect(AuthHarness.rc(r.ctx) == -1, "without \(field)")
            #expect(r.reply?.hasPrefix("SIP/2.0 401 Unauthorized") == true)
        }
        // Without realm the credentials are not for this realm: no credentials (-5).
        let noRealm = h.client.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce, omit: ["realm"])
        #expect(AuthHarness.rc(try h.run(AuthHarness.request(headers: [noRealm])).ctx) == -5)
        // qop without nc or cnonce.
        let noNC = h.client.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce, qop: "auth", omit: ["nc"])
        #expect(AuthHarness.rc(try h.run(AuthHarness.request(headers: [noNC])).ctx) == -1)
        // A header that does not parse, and a truncated nonce.
        let broken = "Authorization: Digest username=\"alice\", realm=\"example.com\", nonce"
        #expect(AuthHarness.rc(try h.run(AuthHarness.request(headers: [broken])).ctx) == -1)
        let short = h.client.header(method: "REGISTER", uri: "sip:example.com", nonce: String(nonce.prefix(20)))
        #expect(AuthHarness.rc(try h.run(AuthHarness.request(headers: [short])).ctx) == -1)
        // Another scheme is not digest credentials.
        #expect(
            AuthHarness.rc(try h.run(AuthHarness.request(headers: ["Authorization: Basic YWxpY2U6c2VjcmV0"])).ctx) == -5
        )
    }

    @Test func oneTimeNonceIsRefusedTheSecondTime() throws {
        let h = try AuthHarness(params: "modparam(\"auth\", \"one_time_nonce\", 1)\n")
        let nonce = try h.nonce()
        // With an id: expires, since, MD5, nid(4), pf(1) = 29 bytes.
        #expect(Data(base64Encoded: nonce)?.count == 29)
        let auth = h.client.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce)
        #expect(AuthHarness.rc(try h.run(AuthHarness.request(headers: [auth])).ctx) == 1)
        let again = try h.run(AuthHarness.request(headers: [auth]))
        #expect(AuthHarness.rc(again.ctx) == -6)
        #expect(again.reply?.hasPrefix("SIP/2.0 401 Unauthorized") == true)
        // A nonce without a one-time id (made with one_time_nonce off) is stale.
        let now = Int(Date().timeIntervalSince1970)
        let plain = kamailioNonce(since: now, expires: now + 300, secret: AuthHarness.secret)
        let r = try h.run(
            AuthHarness.request(headers: [h.client.header(method: "REGISTER", uri: "sip:example.com", nonce: plain)]))
        #expect(AuthHarness.rc(r.ctx) == -4)
    }

    @Test func nonceCountMustGrow() throws {
        let route = """
            if (!pv_auth_check("$fd", "secret", "0", "1")) { $avp(rc) = $rc; auth_challenge("$fd", "1"); exit; }
            $avp(rc) = $rc;
            sl_send_reply("200", "OK");
            """
        let h = try AuthHarness(
            params: "modparam(\"auth\", \"nonce_count\", 1)\n", route: route)
        let first = try h.run(AuthHarness.request()).reply
        let line = try #require(AuthHarness.challenge(first))
        #expect(line.hasSuffix(", qop=\"auth\""))
        let nonce = try #require(digestParameter(line, "nonce"))
        func send(_ nc: String) throws -> Int? {
            let auth = h.client.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce, qop: "auth", nc: nc)
            return AuthHarness.rc(try h.run(AuthHarness.request(headers: [auth])).ctx)
        }
        #expect(try send("00000001") == 1)
        #expect(try send("00000001") == -4)  // replayed nc: stale
        #expect(try send("00000003") == 1)
        #expect(try send("00000002") == -4)
        #expect(try send("0000000g") == -1)  // not hex
        #expect(try send("00000100") == -4)  // above 255
    }

    @Test func sha256() throws {
        // The tests' own SHA-256 against the FIPS 180-2 example.
        #expect(TestSHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let route = """
            if (!pv_www_authenticate("$fd", "secret", "0")) { $avp(rc) = $rc; www_challenge("$fd", "1"); exit; }
            $avp(rc) = $rc;
            sl_send_reply("200", "OK");
            """
        let h = try AuthHarness(params: "modparam(\"auth\", \"algorithm\", \"SHA-256\")\n", route: route)
        let line = try #require(AuthHarness.challenge(try h.run(AuthHarness.request()).reply))
        #expect(line.hasSuffix(", qop=\"auth\", algorithm=SHA-256"))
        let nonce = try #require(digestParameter(line, "nonce"))
        var client = h.client
        client.sha256 = true
        let auth = client.header(
            method: "REGISTER", uri: "sip:example.com", nonce: nonce, qop: "auth", algorithm: "SHA-256")
        let ok = try h.run(AuthHarness.request(headers: [auth]))
        #expect(AuthHarness.rc(ok.ctx) == 1 && ok.reply?.hasPrefix("SIP/2.0 200 OK") == true)
        // An MD5 response is too short for SHA-256: an error, not a wrong password.
        let md5 = h.client.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce, qop: "auth")
        #expect(AuthHarness.rc(try h.run(AuthHarness.request(headers: [md5])).ctx) == -1)
        client.password = "guess"
        let wrong = client.header(method: "REGISTER", uri: "sip:example.com", nonce: nonce, qop: "auth")
        #expect(AuthHarness.rc(try h.run(AuthHarness.request(headers: [wrong])).ctx) == -2)
    }

    @Test func qopAuthIntCoversTheBody() throws {
        let route = """
            if (!pv_proxy_authenticate("$fd", "secret", "0")) { $avp(rc) = $rc; proxy_challenge("$fd", "2"); exit; }
            $avp(rc) = $rc;
            sl_send_reply("200", "OK");
            """
        let h = try AuthHarness(route: route)
        let uri = "sip:bob@example.com"
        let line = try #require(
            AuthHarness.challenge(try h.run(AuthHarness.request(method: "MESSAGE", uri: uri)).reply))
        #expect(
            line.hasPrefix("Proxy-Authenticate: Digest realm=\"example.com\"") && line.hasSuffix(", qop=\"auth-int\""))
        let nonce = try #require(digestParameter(line, "nonce"))
        let body = "Hello Bob"
        let auth = h.client.header(
            "Proxy-Authorization", method: "MESSAGE", uri: uri, nonce: nonce, qop: "auth-int", body: body)
        let ok = try h.run(AuthHarness.request(method: "MESSAGE", uri: uri, headers: [auth], body: body))
        #expect(AuthHarness.rc(ok.ctx) == 1)
        let changed = try h.run(AuthHarness.request(method: "MESSAGE", uri: uri, headers: [auth], body: "Hello Eve"))
        #expect(AuthHarness.rc(changed.ctx) == -2)
        #expect(changed.reply?.hasPrefix("SIP/2.0 407 Proxy Authentication Required") == true)
    }
}
