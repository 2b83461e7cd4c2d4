import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// The secsipid module with libsecsipid on real certificates: a CA, an intermediate and a
/// leaf made by openssl, the leaf served as `x5u` by a loopback HTTP server. The script
/// answers each request with the function's return code as the reason phrase.
///
/// libsecsipid keeps its options process-wide, so the suite runs one test at a time.
@Suite(.serialized) struct SecSIPIDModuleTests {
    let pki: SecSIPIDTestPKI
    let http: TestHTTPFileServer

    init() throws {
        pki = try SecSIPIDTestPKI()
        http = try TestHTTPFileServer(directory: pki.path)
    }

    /// The script: `X-Op` picks the function, `X-Key` the key path (or value), `X-X5U` the
    /// certificate URL; the reply carries `$rc` and what was built.
    static func config(_ params: String) -> String {
        """
        listen=udp:127.0.0.1:5060
        loadmodule "sl.so"
        loadmodule "textops.so"
        loadmodule "secsipid.so"
        \(params)
        request_route {
            $var(op) = $hdr(X-Op);
            if ($var(op) == "add") {
                secsipid_add_identity("$fU", "$tU", "A", "", "$hdr(X-X5U)", "$hdr(X-Key)");
                $du = "sip:127.0.0.1:5099";
                forward();
                exit;
            }
            if ($var(op) == "check") {
                secsipid_check_identity("$hdr(X-Key)");
                $var(rc) = $rc;
            } else if ($var(op) == "check-url") {
                secsipid_check_identity("");
                $var(rc) = $rc;
            } else if ($var(op) == "check-value") {
                secsipid_check("$hdr(X-Value)", "$hdr(X-Key)");
                $var(rc) = $rc;
            } else if ($var(op) == "pubkey") {
                secsipid_get_url("$hdr(X-X5U)", "$var(pk)");
                $var(rc) = $rc;
                if ($var(rc) == 1) {
                    secsipid_check_identity_pubkey("$var(pk)");
                    $var(rc) = $rc;
                }
            } else if ($var(op) == "build") {
                secsipid_build_identity("$fU", "$tU", "B", "orig-1", "$hdr(X-X5U)", "$hdr(X-Key)");
                $var(rc) = $rc;
            } else if ($var(op) == "build-prvkey") {
                secsipid_get_url("$hdr(X-Key-URL)", "$var(key)");
                secsipid_build_identity_prvkey("$fU", "$tU", "C", "", "$hdr(X-X5U)", "$var(key)");
                $var(rc) = $rc;
            } else if ($var(op) == "sign") {
                secsipid_sign("$hdr(X-H)", "$hdr(X-P)", "$hdr(X-Key)");
                $var(rc) = $rc;
            }
            append_to_reply("X-Val: $secsipid(val)\\r\\nX-Ret: $secsipid(ret)\\r\\n");
            sl_send_reply("200", "rc $var(rc)");
        }
        """
    }

    func core(_ params: String = "") throws -> EmbeddedCore {
        try EmbeddedCore(config: Self.config(params), modulePath: productsDirectory)
    }

    static func invite(
        from: String = "15551230001", to: String = "15551230002", headers: [String], callID: String = "c1"
    ) -> String {
        ([
            "INVITE sip:\(to)@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-\(callID)",
            "From: <sip:\(from)@127.0.0.1>;tag=1", "To: <sip:\(to)@127.0.0.1>", "Call-ID: \(callID)",
            "CSeq: 1 INVITE", "Max-Forwards: 70",
        ] + headers + ["Content-Length: 0"]).joined(separator: "\r\n") + "\r\n\r\n"
    }

    /// Sends `message` and returns the one message the core sent.
    func exchange(_ core: EmbeddedCore, _ message: String) throws -> ReceivedSIP {
        core.receive(message, from: "127.0.0.1:5070")
        let sent = core.takeSent()
        guard sent.count == 1 else { throw TestFailure("expected one message, got \(sent.map(\.firstLine))") }
        return ReceivedSIP(text: sent[0].text, sourcePort: 5060)
    }

    /// The Identity value `secsipid_add_identity` put into the forwarded INVITE.
    func signedIdentity(_ core: EmbeddedCore, x5u: String, key: String = "leaf.key", from: String = "15551230001")
        throws -> String
    {
        let out = try exchange(
            core, Self.invite(from: from, headers: ["X-Op: add", "X-X5U: \(x5u)", "X-Key: \(pki.file(key))"]))
        #expect(out.firstLine.hasPrefix("INVITE "))
        let identity = out.headers("Identity")
        guard identity.count == 1 else { throw TestFailure("no Identity header in\n\(out)") }
        return identity[0]
    }

    /// The reason phrase's code for a check of `identity` with the operation's headers.
    func check(_ core: EmbeddedCore, _ identity: String, op: String = "check-url", extra: [String] = [])
        throws -> String
    {
        let out = try exchange(core, Self.invite(headers: ["X-Op: \(op)", "Identity: \(identity)"] + extra))
        return out.firstLine.replacingOccurrences(of: "SIP/2.0 200 rc ", with: "")
    }

    @Test func signsAndVerifiesThroughTheX5uWithTheChainCheckedAgainstTheCA() throws {
        let core = try core(
            """
            modparam("secsipid", "libopt", "CertCAFile=\(pki.file("ca.pem"))")
            modparam("secsipid", "libopt", "CertVerify=5")
            """)
        let identity = try signedIdentity(core, x5u: http.url("chain.pem"))
        #expect(identity.hasSuffix(";info=<\(http.url("chain.pem"))>;alg=ES256;ppt=shaken"))
        // The PASSporT: header and payload as RFC 8225/8588 and libsecsipid write them.
        let parts = identity.split(separator: ";")[0].split(separator: ".")
        #expect(parts.count == 3)
        let payload = String(decoding: Data(base64URL: String(parts[1])) ?? Data(), as: UTF8.self)
        #expect(payload.contains("\"attest\":\"A\""))
        #expect(payload.contains("\"dest\":{\"tn\":[\"15551230002\"]}"))
        #expect(payload.contains("\"orig\":{\"tn\":\"15551230001\"}"))
        #expect(try check(core, identity) == "1")
        #expect(http.fetches("chain.pem") == 1)
        // A key file instead of the URL.
        #expect(try check(core, identity, op: "check", extra: ["X-Key: \(pki.file("chain.pem"))"]) == "1")
        #expect(try check(core, identity, op: "check-value", extra: ["X-Value: \(identity)", "X-Key: "]) == "1")
    }

    @Test func theIntermediateMayComeFromCertCAInter() throws {
        let core = try core(
            """
            modparam("secsipid", "libopt", "CertCAFile=\(pki.file("ca.pem"))")
            modparam("secsipid", "libopt", "CertCAInter=\(pki.file("inter.pem"))")
            modparam("secsipid", "libopt", "CertVerify=13")
            """)
        let identity = try signedIdentity(core, x5u: http.url("leaf.pem"))
        #expect(try check(core, identity) == "1")
        let withoutInter = try self.core(
            """
            modparam("secsipid", "libopt", "CertCAFile=\(pki.file("ca.pem"))")
            modparam("secsipid", "libopt", "CertVerify=5")
            """)
        #expect(try check(withoutInter, identity) == "-101", "SJWTRetErrCertInvalid: no path to the CA")
    }

    @Test func anUntrustedChainIsRefused() throws {
        let core = try core(
            """
            modparam("secsipid", "libopt", "CertCAFile=\(pki.file("ca.pem"))")
            modparam("secsipid", "libopt", "CertVerify=5")
            """)
        let identity = try signedIdentity(core, x5u: http.url("rogue.pem"), key: "rogue.key")
        #expect(try check(core, identity) == "-101")
        // Without CertVerify (libsecsipid's default) the signature alone is checked.
        #expect(try check(try self.core(), identity) == "1")
    }

    @Test func anExpiredOrRevokedCertificateIsRefused() throws {
        let core = try core(
            """
            modparam("secsipid", "libopt", "CertCAFile=\(pki.file("ca.pem"))")
            modparam("secsipid", "libopt", "CertCRLFile=\(pki.file("crl.pem"))")
            modparam("secsipid", "libopt", "CertVerify=21")
            """)
        let expired = try signedIdentity(core, x5u: http.url("expired-chain.pem"), key: "expired.key")
        #expect(try check(core, expired) == "-103", "SJWTRetErrCertExpired")
        let revoked = try signedIdentity(core, x5u: http.url("revoked-chain.pem"), key: "revoked.key")
        #expect(try check(core, revoked) == "-112", "SJWTRetErrCertRevoked")
        #expect(try check(core, try signedIdentity(core, x5u: http.url("chain.pem"))) == "1")
        // Without the CRL bit (16) the revoked certificate passes.
        let noCRL = try self.core(
            """
            modparam("secsipid", "libopt", "CertCAFile=\(pki.file("ca.pem"))")
            modparam("secsipid", "libopt", "CertVerify=5")
            """)
        #expect(try check(noCRL, revoked) == "1")
    }

    @Test func aTamperedPassportIsRefused() throws {

        let core = try core()
        let identity = try signedIdentity(core, x5u: http.url("chain.pem"))
        let jwt = identity.split(separator: ";")[0].split(separator: ".").map(String.init)
        let params = identity[identity.firstIndex(of: ";")!...]
        // Another destination number in the payload, the signature kept.
        var payload = String(decoding: Data(base64URL: jwt[1])!, as: UTF8.self)
        payload = payload.replacingOccurrences(of: "15551230002", with: "15551230009")
        let forged = jwt[0] + "." + Data(payload.utf8).base64URL + "." + jwt[2] + params
        #expect(try check(core, forged) == "-251", "SJWTRetErrJSONSignatureInvalid")
        // A signature byte changed.
        var sig = Array(Data(base64URL: jwt[2])!)
        sig[10] ^= 0x01
        let badSig = jwt[0] + "." + jwt[1] + "." + Data(sig).base64URL + params
        #expect(try check(core, badSig) == "-251")
        // Not three parts.
        #expect(try check(core, jwt[0] + "." + jwt[1] + params) == "-301", "SJWTRetErrSIPHdrParse")
        // The original still passes; no Identity header at all is -1.
        #expect(try check(core, identity) == "1")
        let none = try exchange(core, Self.invite(headers: ["X-Op: check-url"]))
        #expect(none.firstLine == "SIP/2.0 200 rc -1")
    }

    @Test func anExpiredPassportIsRefusedAfterExpireSeconds() throws {
        let core = try core("modparam(\"secsipid\", \"expire\", 60)")
        let url = http.url("chain.pem")
        let now = Int(Date().timeIntervalSince1970)
        func passport(iat: Int) throws -> String {
            let h = "{\"alg\":\"ES256\",\"ppt\":\"shaken\",\"typ\":\"passport\",\"x5u\":\"\(url)\"}"
            let p =
                "{\"attest\":\"A\",\"dest\":{\"tn\":[\"15551230002\"]},\"iat\":\(iat),"
                + "\"orig\":{\"tn\":\"15551230001\"},\"origid\":\"o-1\"}"
            let out = try exchange(
                core, Self.invite(headers: ["X-Op: sign", "X-H: \(h)", "X-P: \(p)", "X-Key: \(pki.file("leaf.key"))"]))
            #expect(out.firstLine == "SIP/2.0 200 rc 1")
            return out.headers("X-Val")[0] + ";info=<\(url)>;alg=ES256;ppt=shaken"
        }
        #expect(try check(core, try passport(iat: now - 30)) == "1")
        #expect(try check(core, try passport(iat: now - 90)) == "-232", "SJWTRetErrJSONPayloadIATExpired")
    }

    /// libsecsipid checks the signature, `iat` and the certificate, not the numbers: a valid
    /// PASSporT copied into another call (other From/To) passes, as in Kamailio; comparing
    /// `orig`/`dest` with From/To is left to the script.
    @Test func theNumbersAreNotComparedWithFromAndTo() throws {
        let core = try core()
        let identity = try signedIdentity(core, x5u: http.url("chain.pem"), from: "15550000001")
        let out = try exchange(
            core,
            Self.invite(from: "15559999999", to: "15558888888", headers: ["X-Op: check-url", "Identity: \(identity)"]))
        #expect(out.firstLine == "SIP/2.0 200 rc 1")
    }

    @Test func anUnreachableX5uFailsAfterTheTimeout() throws {
        let silent = SilentTCPListener()
        let core = try core("modparam(\"secsipid\", \"timeout\", 1)")
        let identity = try signedIdentity(core, x5u: "http://127.0.0.1:\(silent.port)/cert.pem")
        let start = Date()
        #expect(try check(core, identity) == "-402", "SJWTRetErrHTTPGet")
        let took = Date().timeIntervalSince(start)
        #expect(took >= 0.9 && took < 4, "took \(took) s")
        // The next request is served at once.
        let good = try signedIdentity(core, x5u: http.url("chain.pem"))
        #expect(try check(core, good) == "1")
        // Nothing listening: refused at once.
        let closed = try signedIdentity(core, x5u: "http://127.0.0.1:\(freeLoopbackTCPPort())/cert.pem")
        #expect(try check(core, closed) == "-402")
    }

    @Test func cacheDirHoldsTheFetchedCertificateAndIsUsedAgain() throws {
        let cache = TemporaryDirectory()
        let core = try core(
            """
            modparam("secsipid", "cache_dir", "\(cache.path)")
            modparam("secsipid", "cache_expire", 600)
            """)
        let identity = try signedIdentity(core, x5u: http.url("chain.pem"))
        #expect(try check(core, identity) == "1")
        let file =
            cache.path + "/"
            + http.url("chain.pem").replacingOccurrences(of: "://", with: "_")
            .replacingOccurrences(of: "/", with: "_")
        let cached = try String(contentsOfFile: file, encoding: .utf8)
        #expect(cached == (try String(contentsOfFile: pki.file("chain.pem"), encoding: .utf8)))
        #expect(try check(core, identity) == "1")
        #expect(http.fetches("chain.pem") == 1, "the second check read the cache")
        http.stop()
        #expect(try check(core, identity) == "1", "the server is gone, the cache is enough")
    }

    @Test func buildIdentitySetsTheVariablesAndThePubkeyCheckUsesGetURL() throws {
        let core = try core()
        let out = try exchange(
            core,
            Self.invite(headers: ["X-Op: build", "X-X5U: \(http.url("chain.pem"))", "X-Key: \(pki.file("leaf.key"))"]))
        #expect(out.firstLine == "SIP/2.0 200 rc 1")
        let value = out.headers("X-Val")[0]
        #expect(out.headers("X-Ret") == [String(value.utf8.count)], "$secsipid(ret) is the length")
        let payload = String(
            decoding: Data(base64URL: String(value.split(separator: ".")[1]))!, as: UTF8.self)
        #expect(payload.contains("\"attest\":\"B\"") && payload.contains("\"origid\":\"orig-1\""))
        #expect(try check(core, value, op: "pubkey", extra: ["X-X5U: \(http.url("chain.pem"))"]) == "1")
        // A missing key file: -1, $secsipid(ret) the library's code, $secsipid(val) empty.
        let bad = try exchange(
            core, Self.invite(headers: ["X-Op: build", "X-X5U: \(http.url("x.pem"))", "X-Key: /nonexistent.key"]))
        #expect(bad.firstLine == "SIP/2.0 200 rc -1")
        #expect(bad.headers("X-Ret") == ["-451"], "SJWTRetErrFileRead")
        #expect(bad.headers("X-Val") == ["<null>"])
        // get_url of a missing document fails with the library's code.
        #expect(try check(core, value, op: "pubkey", extra: ["X-X5U: \(http.url("missing.pem"))"]) == "-403")
    }

    @Test func buildWithAPrivateKeyValue() throws {
        let core = try core()
        let out = try exchange(
            core,
            Self.invite(headers: [
                "X-Op: build-prvkey", "X-X5U: \(http.url("chain.pem"))", "X-Key-URL: \(http.url("leaf.key"))",
            ]))
        #expect(out.firstLine == "SIP/2.0 200 rc 1")
        let value = out.headers("X-Val")[0]
        let payload = String(decoding: Data(base64URL: String(value.split(separator: ".")[1]))!, as: UTF8.self)
        #expect(payload.contains("\"attest\":\"C\""))
        #expect(try check(core, value) == "1")
        let bad = try exchange(
            core,
            Self.invite(headers: [
                "X-Op: build-prvkey", "X-X5U: \(http.url("chain.pem"))", "X-Key-URL: \(http.url("chain.pem"))",
            ]))
        #expect(bad.firstLine == "SIP/2.0 200 rc -1", "a certificate is no private key")
        #expect(bad.headers("X-Ret") == ["-151"], "SJWTRetErrPrvKeyInvalid")
    }

    /// Each Identity header is tried in order until one passes; the compact form `y` counts.
    @Test func everyIdentityHeaderIsTriedInOrder() throws {
        let core = try core()
        let good = try signedIdentity(core, x5u: http.url("chain.pem"))
        let jwt = good.split(separator: ";", maxSplits: 1)
        var parts = jwt[0].split(separator: ".").map(String.init)
        parts[2] = (parts[2].first == "A" ? "B" : "A") + parts[2].dropFirst()
        let bad = parts.joined(separator: ".") + ";" + jwt[1]
        func run(_ headers: [String]) throws -> String {
            try exchange(core, Self.invite(headers: ["X-Op: check-url"] + headers)).firstLine
        }
        #expect(try run(["Identity: \(bad)", "Identity: \(good)"]) == "SIP/2.0 200 rc 1")
        #expect(try run(["Identity: \(good)", "Identity: \(bad)"]) == "SIP/2.0 200 rc 1")
        #expect(try run(["Identity: \(good);alg=RS256", "Identity: \(bad)"]) == "SIP/2.0 200 rc -251")
        #expect(try run(["Identity: \(bad)", "Identity: \(good);alg=RS256"]) == "SIP/2.0 200 rc -302")
        #expect(try run(["y: \(good)"]) == "SIP/2.0 200 rc 1")
    }

    @Test func libOptMustBeNameEqualsValue() {
        #expect(throws: (any Error).self) { try self.core("modparam(\"secsipid\", \"libopt\", \"CertVerify\")") }
    }
}

extension Data {
    /// base64url without padding (JWT), decoded.
    init?(base64URL s: String) {
        var t = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while t.count % 4 != 0 { t += "=" }
        self.init(base64Encoded: t)
    }

    /// base64url without padding (JWT).
    var base64URL: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
