import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// The jwt module on the embedded core: each request names a function and its arguments in
/// headers; the reply carries `$rc`, `$jwt(status)` and `$jwt(val)`. Keys come from `openssl`;
/// tokens are checked against `openssl`-made signatures both ways.
@Suite(.serialized) struct JWTModuleTests {
    static let keys = JWTTestKeys.shared

    static func config(keyMode: Int = 0, extra: String = "") -> String {
        """
        log_stderror=yes
        debug=-1
        listen=udp:127.0.0.1:5060
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "textops.so"
        loadmodule "jwt.so"
        modparam("jwt", "key_mode", \(keyMode))
        \(extra)
        request_route {
            if ($hdr(X-Op) == "generate") {
                jwt_generate("$hdr(X-Key)", "$hdr(X-Alg)", "$hdr(X-Claims)");
            } else if ($hdr(X-Op) == "generate4") {
                jwt_generate("$hdr(X-Key)", "$hdr(X-Alg)", "$hdr(X-Claims)", "$hdr(X-Headers)");
            } else if ($hdr(X-Op) == "verify") {
                jwt_verify("$hdr(X-Key)", "$hdr(X-Alg)", "$hdr(X-Claims)", "$hdr(X-JWT)");
            } else if ($hdr(X-Op) == "verify_key") {
                jwt_verify_key("$var(key)", "$hdr(X-Alg)", "$hdr(X-Claims)", "$hdr(X-JWT)");
            }
            $var(rc) = $rc;
            append_to_reply("X-RC: $var(rc)\\r\\nX-Status: $jwt(status)\\r\\nX-Val: $jwt(val)\\r\\n");
            sl_send_reply("200", "OK");
        }
        """
    }

    struct Outcome {
        let rc: Int
        let status: Int
        /// `$jwt(val)`, nil when null.
        let token: String?
    }

    final class Harness {
        let core: EmbeddedCore
        var n = 0
        init(core: EmbeddedCore) { self.core = core }

        convenience init(keyMode: Int = 0, extra: String = "") throws {
            self.init(
                core: try EmbeddedCore(
                    config: JWTModuleTests.config(keyMode: keyMode, extra: extra), modulePath: productsDirectory))
        }

        func call(_ op: String, key: String = "", alg: String, claims: String, jwt: String = "", headers: String = "")
            throws -> Outcome
        {
            n += 1
            let request =
                [
                    "OPTIONS sip:bob@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-jwt\(n)",
                    "From: <sip:alice@127.0.0.1>;tag=a\(n)", "To: <sip:bob@127.0.0.1>", "Call-ID: jwt-\(n)",
                    "CSeq: 1 OPTIONS", "Max-Forwards: 70", "X-Op: \(op)", "X-Key: \(key)", "X-Alg: \(alg)",
                    "X-Claims: \(claims)", "X-JWT: \(jwt)", "X-Headers: \(headers)", "Content-Length: 0",
                ].joined(separator: "\r\n") + "\r\n\r\n"
            core.receive(request, from: "127.0.0.1:5070")
            guard let reply = core.takeSent().last?.text else { throw TestFailure("no reply") }
            func header(_ name: String) -> String {
                reply.components(separatedBy: "\r\n").first { $0.hasPrefix(name + ": ") }.map {
                    String($0.dropFirst(name.count + 2))
                } ?? ""
            }
            let val = header("X-Val")
            return Outcome(
                rc: Int(header("X-RC")) ?? 0, status: Int(header("X-Status")) ?? -99,
                token: val.isEmpty || val == "<null>" ? nil : val)
        }

        func generate(_ alg: String, key: String, claims: String, headers: String? = nil) throws -> Outcome {
            if let headers { return try call("generate4", key: key, alg: alg, claims: claims, headers: headers) }
            return try call("generate", key: key, alg: alg, claims: claims)
        }

        func verify(_ alg: String, key: String, claims: String, jwt: String) throws -> Outcome {
            try call("verify", key: key, alg: alg, claims: claims, jwt: jwt)
        }
    }

    static var now: Int { Int(Date().timeIntervalSince1970) }

    /// The JSON of a token's part (0 header, 1 claims).
    static func part(_ token: String, _ i: Int) -> [String: Any] {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let data = JWTTestKeys.base64urlDecode(String(parts[i])),
            let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return [:] }
        return o
    }

    static func rawPart(_ token: String, _ i: Int) -> String {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        return JWTTestKeys.base64urlDecode(String(parts[i])).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    // MARK: generate

    @Test func generateBuildsTheClaimsWithKamailiosTyping() throws {
        let h = try Harness()
        let before = Self.now
        let r = try h.generate(
            "HS256", key: Self.keys.secret, claims: "caller='alice';callee=bob;index=100;num=\"42\";")
        #expect(r.rc == 1)
        let token = try #require(r.token)
        #expect(Self.rawPart(token, 0) == #"{"alg":"HS256","typ":"JWT"}"#, "libjwt's header, compact with sorted names")
        let claims = Self.part(token, 1)
        #expect(claims["caller"] as? String == "alice")
        #expect(claims["callee"] as? String == "bob", "not a number: a string")
        #expect(claims["index"] as? Int == 100, "unquoted number: an integer")
        #expect(claims["num"] as? String == "42", "quoted: a string")
        let iat = try #require(claims["iat"] as? Int)
        #expect(iat >= before && iat <= Self.now, "iat is the time of generation")
        #expect(Self.rawPart(token, 1).hasPrefix(#"{"callee":"bob","caller":"alice","iat":"#), "sorted names")
    }

    @Test func generateWithHeaders() throws {
        let h = try Harness()
        let r = try h.generate("RS256", key: Self.keys.rsaPrivate, claims: "a=1", headers: "kid='k1';x=5;alg=HS256")
        #expect(r.rc == 1)
        let token = try #require(r.token)
        #expect(Self.rawPart(token, 0) == #"{"alg":"RS256","kid":"k1","typ":"JWT","x":5}"#, "alg is the function's")
        let passport = try h.generate(
            "ES256", key: Self.keys.ecPrivate, claims: "a=1", headers: "typ=passport;ppt=shaken")
        #expect(Self.rawPart(try #require(passport.token), 0) == #"{"alg":"ES256","ppt":"shaken","typ":"passport"}"#)
    }

    @Test func generateFailures() throws {
        let h = try Harness()
        let ok = try h.generate("HS256", key: Self.keys.secret, claims: "a=1")
        #expect(ok.rc == 1 && ok.token != nil)
        let cases: [(String, String, String)] = [
            ("XS256", Self.keys.secret, "a=1"),  // unknown algorithm
            ("none", Self.keys.secret, "a=1"),  // libjwt refuses a key with none
            ("HS256", Self.keys.directory.path + "/missing.key", "a=1"),  // no key file
            ("RS256", Self.keys.rsaPublic, "a=1"),  // a public key cannot sign
            ("RS256", Self.keys.secret, "a=1"),  // not PEM
            ("ES256", Self.keys.rsaPrivate, "a=1"),  // not an EC key
            ("ES256", Self.keys.ec384Private, "a=1"),  // P-384 key for ES256
            ("HS256", Self.keys.secret, "a='open"),  // unclosed quote
            ("HS256", Self.keys.secret, "a=1 b=2"),  // no ';' between claims
            ("HS256", Self.keys.secret, "a=1;a=2"),  // the same claim twice
            ("HS256", Self.keys.secret, "iat=5"),  // iat is the module's
        ]
        for (alg, key, claims) in cases {
            let r = try h.generate(alg, key: key, claims: claims)
            #expect(r.rc == -1, "\(alg) \(key) \(claims)")
            #expect(r.token == nil, "$jwt(val) is cleared by a failed call: \(alg) \(claims)")
        }
        let empty = try h.call("generate", key: Self.keys.secret, alg: "HS256", claims: "")
        #expect(empty.rc == -1)
        let badHeaders = try h.generate("HS256", key: Self.keys.secret, claims: "a=1", headers: "kid='x")
        #expect(badHeaders.rc == -1)
        let iatString = try h.generate("HS256", key: Self.keys.secret, claims: "iat='now';a=1")
        #expect(iatString.rc == 1, "libjwt replaces the integer iat with a string one")
        #expect(Self.part(try #require(iatString.token), 1)["iat"] as? String == "now")
    }

    // MARK: round trips

    @Test(arguments: [
        ("HS256", "secret", "secret"), ("HS384", "secret", "secret"), ("HS512", "secret", "secret"),
        ("RS256", "rsa", "rsapub"), ("RS384", "rsa1", "rsapub"), ("RS512", "rsa", "rsapub"),
        ("ES256", "ec", "ecpub"), ("ES384", "ec384", "ec384pub"),
        ("PS256", "rsa", "rsapub"), ("PS384", "rsa1", "rsapub"), ("PS512", "rsa", "rsapub"),
        ("EdDSA", "ed", "edpub"),
    ])
    func generateThenVerify(alg: String, privateName: String, publicName: String) throws {
        let paths = [
            "secret": Self.keys.secret, "rsa": Self.keys.rsaPrivate, "rsa1": Self.keys.rsaPrivatePKCS1,
            "rsapub": Self.keys.rsaPublic, "ec": Self.keys.ecPrivate, "ecpub": Self.keys.ecPublic,
            "ec384": Self.keys.ec384Private, "ec384pub": Self.keys.ec384Public,
            "ed": Self.keys.edPrivate, "edpub": Self.keys.edPublic,
        ]
        let h = try Harness()
        let claims = "caller='alice';callee='bob';callid='c-1@h';index=100;exp=\(Self.now + 300)"
        let g = try h.generate(alg, key: paths[privateName]!, claims: claims)
        #expect(g.rc == 1)
        let token = try #require(g.token)
        #expect(Self.rawPart(token, 0) == #"{"alg":"\#(alg)","typ":"JWT"}"#)
        let v = try h.verify(alg, key: paths[publicName]!, claims: "caller='alice';index=100", jwt: token)
        #expect(v.rc == 1 && v.status == 0)
        #expect(Self.keys.opensslAccepts(token, alg: alg, keyPath: paths[publicName]!), "openssl agrees")
    }

    @Test(arguments: ["HS256", "RS256", "ES256", "PS256", "PS512", "EdDSA"])
    func verifiesTokensSignedByOpenSSL(alg: String) throws {
        let (priv, pub) =
            switch alg {
            case "HS256": (Self.keys.secret, Self.keys.secret)
            case "ES256": (Self.keys.ecPrivate, Self.keys.ecPublic)
            case "EdDSA": (Self.keys.edPrivate, Self.keys.edPublic)
            default: (Self.keys.rsaPrivate, Self.keys.rsaPublic)
            }
        let h = try Harness()
        // Written by hand: spaces, unsorted names, a nested object, a real number.
        let payload =
            #"{ "sub" : "alice", "exp": \#(Self.now + 60), "nbf": \#(Self.now - 60), "n": 7, "x": {"y": [1, 2.5]} }"#
        let token = Self.keys.opensslToken(
            header: #"{"typ":"JWT", "alg":"\#(alg)"}"#, payload: payload, alg: alg, keyPath: priv)
        #expect(try h.verify(alg, key: pub, claims: "sub='alice';n=7", jwt: token).rc == 1)
        #expect(
            try h.verify(alg, key: pub, claims: "sub=alice", jwt: token).rc == 1, "unquoted, not a number: a string")
        let mismatch = try h.verify(alg, key: pub, claims: "n='7'", jwt: token)
        #expect(mismatch.rc == -1 && mismatch.status == 0x100, "a string never equals an integer")
    }

    /// RFC 7515 appendix A.1: an HS256 token made elsewhere. It expired in 2011, so libjwt's
    /// validation (after the signature checked out) says expired (status 4), not undecodable.
    @Test func rfc7515ExampleChecksOutButHasExpired() throws {
        let k = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
        let keyPath = Self.keys.directory.path + "/rfc7515.key"
        _ = FileManager.default.createFile(atPath: keyPath, contents: JWTTestKeys.base64urlDecode(k))
        let token =
            "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
            + ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
            + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        let h = try Harness()
        let r = try h.verify("HS256", key: keyPath, claims: "iss=joe", jwt: token)
        #expect(r.rc == -1 && r.status == 0x4)
        let tampered = token.replacingOccurrences(of: ".dBjftJeZ4", with: ".dBjftJeZ5")
        let t = try h.verify("HS256", key: keyPath, claims: "iss=joe", jwt: tampered)
        #expect(t.rc == -1 && t.status == 0, "a bad signature: not decoded")
    }

    // MARK: rejections

    @Test func rejectsExpiredAndNotYetValidTokens() throws {
        let h = try Harness()
        let expired = try #require(
            try h.generate("HS256", key: Self.keys.secret, claims: "a=1;exp=\(Self.now - 1)").token)
        let r1 = try h.verify("HS256", key: Self.keys.secret, claims: "a=1", jwt: expired)
        #expect(r1.rc == -1 && r1.status == 0x4)
        let early = try #require(
            try h.generate("HS256", key: Self.keys.secret, claims: "a=1;nbf=\(Self.now + 100)").token)
        let r2 = try h.verify("HS256", key: Self.keys.secret, claims: "a=1", jwt: early)
        #expect(r2.rc == -1 && r2.status == 0x8)
        let both = try #require(
            try h.generate("HS256", key: Self.keys.secret, claims: "exp=\(Self.now - 5);nbf=\(Self.now + 5);a=1").token)
        #expect(try h.verify("HS256", key: Self.keys.secret, claims: "a=1", jwt: both).status == 0xC)
        // exp as a string or a real (libjwt checks only integers): never valid when not a number.
        let stringExp = Self.keys.opensslToken(
            header: #"{"alg":"HS256"}"#, payload: #"{"a":1,"exp":"tomorrow"}"#, alg: "HS256", keyPath: Self.keys.secret)
        #expect(try h.verify("HS256", key: Self.keys.secret, claims: "a=1", jwt: stringExp).status == 0x4)
        let realExp = Self.keys.opensslToken(
            header: #"{"alg":"HS256"}"#, payload: #"{"a":1,"exp":\#(Self.now - 10).5}"#, alg: "HS256",
            keyPath: Self.keys.secret)
        #expect(try h.verify("HS256", key: Self.keys.secret, claims: "a=1", jwt: realExp).status == 0x4)
        let valid = try #require(
            try h.generate("HS256", key: Self.keys.secret, claims: "a=1;exp=\(Self.now + 60);nbf=\(Self.now - 1)").token
        )
        #expect(try h.verify("HS256", key: Self.keys.secret, claims: "a=1", jwt: valid).rc == 1)
    }

    @Test func rejectsClaimsThatDoNotMatch() throws {
        let h = try Harness()
        let token = try #require(
            try h.generate("RS256", key: Self.keys.rsaPrivate, claims: "caller='alice';index=100").token)
        let k = Self.keys.rsaPublic
        #expect(try h.verify("RS256", key: k, claims: "caller=alice;index=100", jwt: token).rc == 1)
        let wrong = try h.verify("RS256", key: k, claims: "caller=bob", jwt: token)
        #expect(wrong.rc == -1 && wrong.status == 0x100)
        let missing = try h.verify("RS256", key: k, claims: "caller=alice;callee=bob", jwt: token)
        #expect(missing.rc == -1 && missing.status == 0x80)
        let both = try h.verify("RS256", key: k, claims: "caller=carol;callee=bob", jwt: token)
        #expect(both.status == 0x180)
        let type = try h.verify("RS256", key: k, claims: "index='100'", jwt: token)
        #expect(type.status == 0x100, "a quoted number is a string")
        // Replicated iss/sub/aud in the header must equal the claims.
        let hdr = try #require(
            try h.generate(
                "RS256", key: Self.keys.rsaPrivate, claims: "iss=a;sub=b;aud=c", headers: "iss=x;sub=b;aud=y"
            )
            .token)
        #expect(try h.verify("RS256", key: k, claims: "sub=b", jwt: hdr).status == 0x50)
    }

    @Test func rejectsOtherAlgorithmsNoneAndKeyConfusion() throws {
        let h = try Harness()
        let hs = try #require(try h.generate("HS256", key: Self.keys.secret, claims: "a=1").token)
        let asRS = try h.verify("RS256", key: Self.keys.rsaPublic, claims: "a=1", jwt: hs)
        #expect(asRS.rc == -1 && asRS.status == 0x2, "alg mismatch")
        let asHS512 = try h.verify("HS512", key: Self.keys.secret, claims: "a=1", jwt: hs)
        #expect(asHS512.rc == -1 && asHS512.status == 0x2)
        // An HS256 token whose HMAC key is the RSA public key's PEM text (the classic attack).
        let confused = Self.keys.opensslToken(
            header: #"{"alg":"HS256","typ":"JWT"}"#, payload: #"{"a":1}"#, alg: "HS256", keyPath: Self.keys.rsaPublic)
        let c = try h.verify("RS256", key: Self.keys.rsaPublic, claims: "a=1", jwt: confused)
        #expect(c.rc == -1 && c.status == 0x2)
        // alg none, with and without a signature.
        let input = JWTTestKeys.signingInput(header: #"{"alg":"none","typ":"JWT"}"#, payload: #"{"a":1}"#)
        for token in [input + ".", input + ".c2ln"] {
            for alg in ["HS256", "RS256"] {
                let key = alg == "HS256" ? Self.keys.secret : Self.keys.rsaPublic
                let r = try h.verify(alg, key: key, claims: "a=1", jwt: token)
                #expect(r.rc == -1 && r.status == 0, "\(alg) \(token)")
            }
        }
        let verifyNone = try h.verify("none", key: Self.keys.secret, claims: "a=1", jwt: input + ".")
        #expect(verifyNone.rc == -1)
    }

    @Test func rejectsWrongKeysAndBadSignatures() throws {
        let h = try Harness()
        let rs = try #require(try h.generate("RS256", key: Self.keys.rsaPrivate, claims: "a=1").token)
        let es = try #require(try h.generate("ES256", key: Self.keys.ecPrivate, claims: "a=1").token)
        let hs = try #require(try h.generate("HS256", key: Self.keys.secret, claims: "a=1").token)
        #expect(try h.verify("RS256", key: Self.keys.otherRSAPublic, claims: "a=1", jwt: rs).rc == -1)
        #expect(try h.verify("ES256", key: Self.keys.otherECPublic, claims: "a=1", jwt: es).rc == -1)
        let otherSecret = Self.keys.directory.write("other.key", "s3cr3t-shared-by-both-ends")  // no newline
        #expect(try h.verify("HS256", key: otherSecret, claims: "a=1", jwt: hs).rc == -1)
        #expect(try h.verify("RS256", key: Self.keys.rsaPrivate, claims: "a=1", jwt: rs).rc == -1, "needs a public key")
        for token in [rs, es, hs] {
            let parts = token.split(separator: ".").map(String.init)
            let alg = String(Self.part(token, 0)["alg"] as? String ?? "")
            let key = alg == "RS256" ? Self.keys.rsaPublic : alg == "ES256" ? Self.keys.ecPublic : Self.keys.secret
            #expect(try h.verify(alg, key: key, claims: "a=1", jwt: token).rc == 1)
            // Another payload under the same signature.
            let forged = parts[0] + "." + JWTTestKeys.base64url(Data(#"{"a":1,"admin":1}"#.utf8)) + "." + parts[2]
            let f = try h.verify(alg, key: key, claims: "a=1", jwt: forged)
            #expect(f.rc == -1 && f.status == 0, "\(alg)")
            // A flipped signature character.
            var sig = Array(parts[2])
            sig[4] = sig[4] == "A" ? "B" : "A"
            #expect(
                try h.verify(alg, key: key, claims: "a=1", jwt: parts[0] + "." + parts[1] + "." + String(sig)).rc == -1)
        }
    }

    /// PS256 and EdDSA: wrong keys, forged payloads and signatures, and the algorithm
    /// confusions (a PSS signature under RS256, a PKCS#1 one under PS256, an HS256 token keyed
    /// with the Ed25519 or RSA public key's text, an RSA key for EdDSA and the reverse).
    @Test func rejectsPSSAndEdDSAConfusionsAndWrongKeys() throws {
        let h = try Harness()
        let rsaPub = Self.keys.rsaPublic
        let edPub = Self.keys.edPublic
        let ps = try #require(try h.generate("PS256", key: Self.keys.rsaPrivate, claims: "a=1").token)
        let ed = try #require(try h.generate("EdDSA", key: Self.keys.edPrivate, claims: "a=1").token)
        #expect(try h.verify("PS256", key: rsaPub, claims: "a=1", jwt: ps).rc == 1)
        #expect(try h.verify("EdDSA", key: edPub, claims: "a=1", jwt: ed).rc == 1)
        // Wrong public keys.
        #expect(try h.verify("PS256", key: Self.keys.otherRSAPublic, claims: "a=1", jwt: ps).rc == -1)
        let wrongEd = try h.verify("EdDSA", key: Self.keys.otherEdPublic, claims: "a=1", jwt: ed)
        #expect(wrongEd.rc == -1 && wrongEd.status == 0)
        // Keys of another kind: an RSA key for EdDSA, an Ed25519 key for PS256, a private key to verify.
        #expect(try h.verify("EdDSA", key: rsaPub, claims: "a=1", jwt: ed).rc == -1)
        #expect(try h.verify("PS256", key: edPub, claims: "a=1", jwt: ps).rc == -1)
        #expect(try h.verify("EdDSA", key: Self.keys.edPrivate, claims: "a=1", jwt: ed).rc == -1)
        #expect(try h.generate("EdDSA", key: Self.keys.rsaPrivate, claims: "a=1").rc == -1)
        #expect(try h.generate("PS256", key: Self.keys.edPrivate, claims: "a=1").rc == -1)
        #expect(try h.generate("EdDSA", key: edPub, claims: "a=1").rc == -1, "needs a private key")
        // Another algorithm of the token than the script names.
        let psAsRS = try h.verify("RS256", key: rsaPub, claims: "a=1", jwt: ps)
        #expect(psAsRS.rc == -1 && psAsRS.status == 0x2)
        let edAsHS = try h.verify("HS256", key: edPub, claims: "a=1", jwt: ed)
        #expect(edAsHS.rc == -1 && edAsHS.status == 0x2)
        // A PSS signature relabelled RS256, and a PKCS#1 v1.5 one relabelled PS256: bad signatures.
        let rsHeader = JWTTestKeys.base64url(Data(#"{"alg":"RS256","typ":"JWT"}"#.utf8))
        let psHeader = JWTTestKeys.base64url(Data(#"{"alg":"PS256","typ":"JWT"}"#.utf8))
        let pssUnderRS = Self.keys.opensslToken(
            header: #"{"alg":"RS256","typ":"JWT"}"#, payload: #"{"a":1}"#, alg: "PS256", keyPath: Self.keys.rsaPrivate)
        let r1 = try h.verify("RS256", key: rsaPub, claims: "a=1", jwt: pssUnderRS)
        #expect(r1.rc == -1 && r1.status == 0)
        let pkcsUnderPS = Self.keys.opensslToken(
            header: #"{"alg":"PS256","typ":"JWT"}"#, payload: #"{"a":1}"#, alg: "RS256", keyPath: Self.keys.rsaPrivate)
        let r2 = try h.verify("PS256", key: rsaPub, claims: "a=1", jwt: pkcsUnderPS)
        #expect(r2.rc == -1 && r2.status == 0)
        #expect(pssUnderRS.hasPrefix(rsHeader) && pkcsUnderPS.hasPrefix(psHeader))
        // HS256 tokens keyed with the public keys' PEM text, verified as EdDSA / PS256.
        for (alg, pub) in [("EdDSA", edPub), ("PS256", rsaPub)] {
            let confused = Self.keys.opensslToken(
                header: #"{"alg":"HS256","typ":"JWT"}"#, payload: #"{"a":1}"#, alg: "HS256", keyPath: pub)
            let c = try h.verify(alg, key: pub, claims: "a=1", jwt: confused)
            #expect(c.rc == -1 && c.status == 0x2, "\(alg)")
            // The same with the header claiming the expected alg: the HMAC is no signature.
            let relabelled = Self.keys.opensslToken(
                header: #"{"alg":"\#(alg)","typ":"JWT"}"#, payload: #"{"a":1}"#, alg: "HS256", keyPath: pub)
            let r = try h.verify(alg, key: pub, claims: "a=1", jwt: relabelled)
            #expect(r.rc == -1 && r.status == 0, "\(alg)")
        }
        // Forged payloads and flipped signature characters.
        for (token, alg, key) in [(ps, "PS256", rsaPub), (ed, "EdDSA", edPub)] {
            let parts = token.split(separator: ".").map(String.init)
            let forged = parts[0] + "." + JWTTestKeys.base64url(Data(#"{"a":1,"admin":1}"#.utf8)) + "." + parts[2]
            let f = try h.verify(alg, key: key, claims: "a=1", jwt: forged)
            #expect(f.rc == -1 && f.status == 0, "\(alg)")
            var sig = Array(parts[2])
            sig[4] = sig[4] == "A" ? "B" : "A"
            #expect(
                try h.verify(alg, key: key, claims: "a=1", jwt: parts[0] + "." + parts[1] + "." + String(sig)).rc == -1)
        }
        // Lower case is not libjwt's name.
        #expect(try h.generate("eddsa", key: Self.keys.edPrivate, claims: "a=1").rc == -1)
    }

    @Test func rejectsMalformedTokens() throws {
        let h = try Harness()
        let good = try #require(try h.generate("HS256", key: Self.keys.secret, claims: "a=1").token)
        let p = good.split(separator: ".").map(String.init)
        let notJSON = JWTTestKeys.base64url(Data("not json".utf8))
        let malformed = [
            "abc", p[0] + "." + p[1], p[0] + "." + p[1] + "." + p[2] + ".x", "..", p[0] + ".!!." + p[2],
            notJSON + "." + p[1] + "." + p[2], p[0] + "." + notJSON + "." + p[2], p[0] + "=." + p[1] + "." + p[2],
            JWTTestKeys.base64url(Data("[1]".utf8)) + "." + p[1] + "." + p[2],
        ]
        for token in malformed {
            let r = try h.verify("HS256", key: Self.keys.secret, claims: "a=1", jwt: token)
            #expect(r.rc == -1 && r.status == 0, "\(token)")
        }
        #expect(try h.verify("HS256", key: Self.keys.secret, claims: "a=1", jwt: good).rc == 1)
    }

    @Test func verifyArgumentsAndStatusReset() throws {
        let h = try Harness()
        let token = try #require(try h.generate("HS256", key: Self.keys.secret, claims: "a=1").token)
        let failed = try h.verify("HS256", key: Self.keys.secret, claims: "a=2", jwt: token)
        #expect(failed.status == 0x100)
        #expect(failed.token == token, "$jwt(val) stays from the last generate")
        let ok = try h.verify("HS256", key: Self.keys.secret, claims: "a=1", jwt: token)
        #expect(ok.rc == 1 && ok.status == 0, "every verification starts with status 0")
        #expect(try h.verify("HS256", key: Self.keys.secret, claims: "a=2", jwt: token).status == 0x100)
        let noClaims = try h.verify("HS256", key: Self.keys.secret, claims: "", jwt: token)
        #expect(noClaims.rc == -1 && noClaims.status == 0x100, "invalid parameters: status not reset (Kamailio)")
        #expect(try h.verify("HS256", key: Self.keys.secret, claims: "a=1", jwt: "").rc == -1)
        #expect(try h.verify("XX", key: Self.keys.secret, claims: "a=1", jwt: token).rc == -1)
        #expect(try h.verify("HS256", key: "/nonexistent/key", claims: "a=1", jwt: token).rc == -1)
        let badClaims = try h.verify("HS256", key: Self.keys.secret, claims: "a='1", jwt: token)
        #expect(badClaims.rc == -1 && badClaims.status == 0)
        #expect(try h.verify("HS256", key: Self.keys.secret, claims: "a=1;a=1", jwt: token).rc == -1)
        #expect(try h.verify("HS256", key: Self.keys.secret, claims: "a=1;b=", jwt: token).rc == 1, "empty: ignored")
    }

    @Test func verifyKeyTakesTheKeyItself() throws {
        func cfgString(_ text: String) -> String {
            text.replacingOccurrences(of: "\n", with: "\\n")
        }
        let rsPEM = Self.keys.text(Self.keys.rsaPublic)
        let h = try Harness()
        let token = try #require(try h.generate("RS256", key: Self.keys.rsaPrivate, claims: "u=alice").token)
        // $var(key) is set by a second configuration's script: a PEM value with newlines.
        let withKey = try EmbeddedCore(
            config: Self.config().replacingOccurrences(
                of: "request_route {", with: "request_route {\n    $var(key) = \"\(cfgString(rsPEM))\";"),
            modulePath: productsDirectory)
        let hk = Harness(core: withKey)
        #expect(try hk.call("verify_key", alg: "RS256", claims: "u=alice", jwt: token).rc == 1)
        #expect(try hk.call("verify_key", alg: "RS256", claims: "u=bob", jwt: token).status == 0x100)
        let es = try #require(try h.generate("ES256", key: Self.keys.ecPrivate, claims: "u=alice").token)
        #expect(try hk.call("verify_key", alg: "ES256", claims: "u=alice", jwt: es).rc == -1, "an RSA key for ES256")
        // An HMAC secret as the value: trimmed (Kamailio's trim), so the file's newline is not part of it.
        let hsKey = try EmbeddedCore(
            config: Self.config().replacingOccurrences(
                of: "request_route {", with: "request_route {\n    $var(key) = \"  k3y\\n\";"),
            modulePath: productsDirectory)
        let secret = Self.keys.directory.write("k3y.key", "k3y")
        let hs = try #require(try h.generate("HS256", key: secret, claims: "u=alice").token)
        #expect(try Harness(core: hsKey).call("verify_key", alg: "HS256", claims: "u=alice", jwt: hs).rc == 1)
        // PS256 with the RSA key value, EdDSA with an Ed25519 key value.
        let ps = try #require(try h.generate("PS256", key: Self.keys.rsaPrivate, claims: "u=alice").token)
        #expect(try hk.call("verify_key", alg: "PS256", claims: "u=alice", jwt: ps).rc == 1)
        let edKey = try EmbeddedCore(
            config: Self.config().replacingOccurrences(
                of: "request_route {",
                with: "request_route {\n    $var(key) = \"\(cfgString(Self.keys.text(Self.keys.edPublic)))\";"),
            modulePath: productsDirectory)
        let ed = try #require(try h.generate("EdDSA", key: Self.keys.edPrivate, claims: "u=alice").token)
        let he = Harness(core: edKey)
        #expect(try he.call("verify_key", alg: "EdDSA", claims: "u=alice", jwt: ed).rc == 1)
        #expect(try he.call("verify_key", alg: "EdDSA", claims: "u=bob", jwt: ed).status == 0x100)
        #expect(
            try he.call("verify_key", alg: "PS256", claims: "u=alice", jwt: ps).rc == -1, "an Ed25519 key for PS256")
    }

    @Test func keyModeZeroReadsTheFileEachTimeAndOneKeepsIt() throws {
        let path = Self.keys.directory.path + "/rotating-\(UUID().uuidString).key"
        _ = FileManager.default.createFile(atPath: path, contents: Data("first".utf8))
        let h0 = try Harness(keyMode: 0)
        let h1 = try Harness(keyMode: 1)
        let t0 = try #require(try h0.generate("HS256", key: path, claims: "a=1").token)
        #expect(try h1.generate("HS256", key: path, claims: "a=1").rc == 1, "mode 1 reads 'first' now")
        _ = FileManager.default.createFile(atPath: path, contents: Data("second".utf8))
        #expect(try h0.verify("HS256", key: path, claims: "a=1", jwt: t0).rc == -1, "mode 0 reads 'second'")
        #expect(try h1.verify("HS256", key: path, claims: "a=1", jwt: t0).rc == 1, "mode 1 still has 'first'")
        let t1 = try #require(try h1.generate("HS256", key: path, claims: "a=1").token)
        #expect(try h0.verify("HS256", key: path, claims: "a=1", jwt: t1).rc == -1)
        try FileManager.default.removeItem(atPath: path)
        #expect(try h0.generate("HS256", key: path, claims: "a=1").rc == -1, "mode 0: the file is gone")
        #expect(try h1.generate("HS256", key: path, claims: "a=1").rc == 1, "mode 1: kept")
    }

    @Test func unknownJWTVariableIsAConfigurationError() {
        let errors = ScriptHarness.errors(
            """
            loadmodule "jwt.so"
            loadmodule "xlog.so"
            request_route { xlog("$jwt(value)\\n"); }
            """)
        #expect(errors.contains { $0.contains("jwt") }, "\(errors)")
    }
}
