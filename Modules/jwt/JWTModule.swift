import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The `jwt` module (Kamailio's `modules/jwt`): generate and verify JSON Web Tokens (RFC 7519)
/// signed with HMAC (HS256/384/512), RSA (RS256/384/512) or ECDSA (ES256/384/512) keys.
final class JWTModule {
    /// `key_mode`: 0 reads the key file at every call, 1 keeps it from its first use.
    var keyMode = 0
    /// The keys, made in `mod_init` with `key_mode`.
    var keys = JWTKeyStore(keyMode: 0)

    var exports: ModuleExports {
        let e = ModuleExports(name: "jwt")
        e.parameters = [ModuleParameter("key_mode", .int { (v: Int) throws(FixupError) in self.keyMode = v })]
        e.functions = [
            ScriptFunction("jwt_generate", parameters: 3...4, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let f = try Self.formats(args)
                return { ctx in
                    self.generate(
                        keyPath: f[0].render(ctx), alg: f[1].render(ctx), claims: f[2].render(ctx),
                        headers: f.count > 3 ? f[3].render(ctx) : nil)
                }
            },
            ScriptFunction("jwt_verify", parameters: 4, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let f = try Self.formats(args)
                return { ctx in
                    self.verify(
                        key: .path(f[0].render(ctx)), alg: f[1].render(ctx), claims: f[2].render(ctx),
                        token: f[3].render(ctx))
                }
            },
            ScriptFunction("jwt_verify_key", parameters: 4, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let f = try Self.formats(args)
                return { ctx in
                    self.verify(
                        key: .text(f[0].render(ctx)), alg: f[1].render(ctx), claims: f[2].render(ctx),
                        token: f[3].render(ctx))
                }
            },
        ]
        e.pseudoVariables = [JWTResults.pseudoVariableClass]
        e.initialize = { _ in self.keys = JWTKeyStore(keyMode: self.keyMode) }
        return e
    }

    /// Every argument as a string with pseudo-variables (Kamailio's `fixup_spve_all`).
    private static func formats(_ args: [ScriptArgument]) throws(FixupError) -> [StringFormat] {
        var formats: [StringFormat] = []
        for a in args { formats.append(try a.stringFormat()) }
        return formats
    }

    /// The current time in seconds, libjwt's `now`.
    private static var now: Int64 { Int64(time(nil)) }

    /// `jwt_generate(prvkey, alg, claims[, headers])`: 1 with the token in `$jwt(val)`, -1 on
    /// any failure (then `$jwt(val)` is null, unless `claims` was empty).
    func generate(keyPath: String, alg algName: String, claims: String, headers: String?) -> Int {
        guard !claims.isEmpty else {
            Log.error("jwt", "invalid parameters")
            return -1
        }
        let results = JWTResults.current
        results.token = nil
        guard let alg = JWTAlgorithm(rawValue: algName) else {
            Log.error("jwt", "not supported algorithm: \(algName)")
            return -1
        }
        guard let key = keys.signingKey(path: keyPath, alg: alg) else { return -1 }
        guard let claimItems = ClaimList.parse(claims) else {
            Log.error("jwt", "failed to parse claims")
            return -1
        }
        var headerItems: [ClaimList.Item] = []
        if let headers, !headers.isEmpty {
            guard let items = ClaimList.parse(headers) else {
                Log.error("jwt", "failed to parse headers")
                return -1
            }
            headerItems = items
        }
        var body = JSONObject()
        body["iat"] = .integer(Self.now)
        for item in claimItems {
            guard ClaimList.add(item, to: &body) else {
                Log.error("jwt", "failed to add \(item.name) grant")
                return -1
            }
        }
        var header = JSONObject()
        for item in headerItems {
            guard ClaimList.add(item, to: &header) else {
                Log.error("jwt", "failed to add \(item.name) header")
                return -1
            }
        }
        guard let token = JWTEncoder.encode(header: header, claims: body, alg: alg, key: key) else {
            Log.error("jwt", "failed to sign the token")
            return -1
        }
        results.token = token
        return 1
    }

    /// Where `jwt_verify` (a file) and `jwt_verify_key` (the key itself) take the key from.
    enum KeySource {
        case path(String)
        case text(String)
    }

    /// `jwt_verify` and `jwt_verify_key`: 1 when `token` is signed with the key for `alg`, in
    /// its validity period and has the claims; -1 otherwise, with the validation's status
    /// bits in `$jwt(status)` (0 when the token could not be decoded).
    func verify(key source: KeySource, alg algName: String, claims: String, token: String) -> Int {
        guard !claims.isEmpty, !token.isEmpty else {
            Log.error("jwt", "invalid parameters")
            return -1
        }
        let results = JWTResults.current
        results.status = 0
        guard let alg = JWTAlgorithm(rawValue: algName) else {
            Log.error("jwt", "not supported algorithm: \(algName)")
            return -1
        }
        let key: JWTVerificationKey?
        switch source {
        case .path(let path): key = keys.verificationKey(path: path, alg: alg)
        case .text(let text):
            key = keys.verificationKey(text: Array(text.trimmingWhitespace().utf8), alg: alg)
            if key == nil { Log.error("jwt", "no \(alg.rawValue) public key in the key value") }
        }
        guard let key else { return -1 }
        guard let claimItems = ClaimList.parse(claims) else {
            Log.error("jwt", "failed to parse claims")
            return -1
        }
        var required = JSONObject()
        for item in claimItems {
            guard ClaimList.add(item, to: &required) else {
                Log.error("jwt", "failed to add \(item.name) valid grant")
                return -1
            }
        }
        switch JWTVerifier.verify(Array(token.utf8), alg: alg, key: key, required: required, now: Self.now) {
        case .valid:
            return 1
        case .undecodable(let why):
            Log.error("jwt", "failed to decode jwt value (\(why))")
            return -1
        case .invalid(let status):
            results.status = status.rawValue
            Log.error("jwt", "failed to validate jwt: \(Self.hex8(status.rawValue))")
            return -1
        }
    }

    private static func hex8(_ v: Int) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, 8 - s.count)) + s
    }
}

extension String {
    /// Without leading and trailing spaces, tabs, CRs and LFs (Kamailio's `trim`).
    fileprivate func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" || f == "\n" || f == "\r\n" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" || l == "\n" || l == "\r\n" { s = s.dropLast() }
        return String(s)
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "jwt") { JWTModule().exports }
}
