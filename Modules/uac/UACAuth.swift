import SwiftletSDK

/// A `credential` line: `user:realm:password`.
struct Credential {
    let user: String
    let realm: String
    let password: String

    /// Kamailio's `add_credential` syntax (spaces allowed around the colons).
    init(parsing text: String) throws(FixupError) {
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map {
            $0.trimmingCharacters()
        }
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty, !parts[2].isEmpty,
            !parts.contains(where: { $0.contains(" ") || $0.contains("\t") })
        else { throw FixupError("parse error in <\(text)>: expected user:realm:password") }
        (user, realm, password) = (parts[0], parts[1], parts[2])
    }

    init(user: String, realm: String, password: String) {
        (self.user, self.realm, self.password) = (user, realm, password)
    }
}

extension Substring {
    func trimmingCharacters() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}

/// A `WWW-Authenticate` / `Proxy-Authenticate` challenge (Kamailio 5.6's
/// `parse_authenticate_body`: Digest, MD5 only).
struct DigestChallenge {
    var realm = ""
    var nonce = ""
    var opaque = ""
    var qop = ""
    var qopAuth = false

    init?(_ text: String) {
        var s = Substring(text).drop(while: { $0 == " " || $0 == "\t" })
        guard s.lowercased().hasPrefix("digest"), s.count > 6 else { return nil }
        s = s.dropFirst(6)
        guard let first = s.first, first == " " || first == "\t" else { return nil }
        var sawRealm = false
        var sawNonce = false
        while true {
            s = s.drop(while: { $0 == " " || $0 == "\t" || $0 == "," })
            if s.isEmpty { break }
            guard let eq = s.firstIndex(of: "=") else { return nil }
            let name = s[..<eq].trimmingCharacters().lowercased()
            s = s[s.index(after: eq)...].drop(while: { $0 == " " || $0 == "\t" })
            var value: String
            if s.first == "\"" {
                s = s.dropFirst()
                guard let close = s.firstIndex(of: "\"") else { return nil }
                value = String(s[..<close])
                s = s[s.index(after: close)...]
            } else {
                let end = s.firstIndex(where: { $0 == "," || $0 == " " || $0 == "\t" }) ?? s.endIndex
                value = String(s[..<end])
                s = s[end...]
            }
            switch name {
            case "realm":
                realm = value
                sawRealm = true
            case "nonce":
                nonce = value
                sawNonce = true
            case "opaque": opaque = value
            case "qop":
                qop = value
                qopAuth = value.hasPrefix("auth")
            case "algorithm":
                guard value.lowercased() == "md5" else { return nil }  // 5.6: MD5 only
            default: break
            }
            value = ""
        }
        guard sawRealm, sawNonce else { return nil }
    }
}

/// Digest computation and header as Kamailio 5.6's uac (`auth_alg.c`, `auth_hdr.c`).
enum UACDigest {
    /// Kamailio's `get_hash1_raw` (core `hashes.h`), the source of the `cnonce`.
    static func hash1(_ bytes: [UInt8]) -> UInt32 {
        func c(_ i: Int) -> UInt32 { UInt32(bitPattern: Int32(Int8(bitPattern: bytes[i]))) }
        var h: UInt32 = 0
        var p = 0
        while p + 4 <= bytes.count {
            let v = (c(p) << 24) &+ (c(p + 1) << 16) &+ (c(p + 2) << 8) &+ c(p + 3)
            h = h &+ (v ^ (v >> 3))
            p += 4
        }
        var v: UInt32 = 0
        switch bytes.count - p {
        case 3: v = (c(p) << 16) &+ (c(p + 1) << 8) &+ c(p + 2)
        case 2: v = (c(p) << 8) &+ c(p + 1)
        case 1: v = c(p)
        default: v = 0
        }
        h = h &+ (v ^ (v >> 3))
        return (h &+ (h >> 11)) &+ ((h >> 13) &+ (h >> 23))
    }

    /// The Authorization (401) or Proxy-Authorization (407) header line, without CRLF.
    static func header(
        code: Int, method: String, uri: String, credential: Credential, ha1Given: Bool, challenge: DigestChallenge
    ) -> String {
        let ha1 =
            ha1Given
            ? String(credential.password.prefix(32))
            : MD5.hex(
                Array("\(credential.user):\(credential.realm):\(credential.password)".utf8))
        let ha2 = MD5.hex(Array("\(method):\(uri)".utf8))
        let cnonce = String(hash1(Array(challenge.nonce.utf8)))
        let response: String
        if !challenge.qop.isEmpty {
            let qop = challenge.qop.split(separator: ",", maxSplits: 1).first.map(String.init) ?? challenge.qop
            response = MD5.hex(Array("\(ha1):\(challenge.nonce):00000001:\(cnonce):\(qop):\(ha2)".utf8))
        } else {
            response = MD5.hex(Array("\(ha1):\(challenge.nonce):\(ha2)".utf8))
        }
        var h = code == 401 ? "Authorization: Digest " : "Proxy-Authorization: Digest "
        h +=
            "username=\"\(credential.user)\", realm=\"\(credential.realm)\", nonce=\"\(challenge.nonce)\", uri=\"\(uri)"
        if !challenge.opaque.isEmpty { h += "\", opaque=\"\(challenge.opaque)" }
        if challenge.qopAuth { h += "\", qop=auth, nc=00000001, cnonce=\"\(cnonce)" }
        h += "\", response=\"\(response)\", algorithm=MD5"
        return h
    }
}

extension UACModule {
    var authFunction: ScriptFunction {
        ScriptFunction("uac_auth", parameters: 0, routes: .failure) { (_: [ScriptArgument]) in
            { ctx in self.authenticate(ctx, mode: 0) ? 1 : -1 }
        }
    }

    var authFunctionWithMode: ScriptFunction {
        ScriptFunction("uac_auth", parameters: 1, routes: .failure) {
            (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
            let mode = try args[0].intParameter()
            return { ctx in
                guard let m = mode.value(ctx) else {
                    Log.error("uac", "failed to get the mode parameter")
                    return -1
                }
                return self.authenticate(ctx, mode: m) ? 1 : -1
            }
        }
    }

    /// Kamailio's `uac_auth_mode()`: from the challenge of the picked branch's 401/407, the
    /// (Proxy-)Authorization header is added to the request and the branch's Request-URI
    /// set, so that `t_relay()` sends it again. Mode 1: the password is HA1.
    func authenticate(_ ctx: MessageContext, mode: Int) -> Bool {
        guard let branch = tmFailure?.failedBranch(ctx) else {
            Log.log(.crit, "uac", "no current transaction found")
            return false
        }
        guard let reply = branch.reply else {
            Log.error("uac", "cannot process a FAKED reply")
            return false
        }
        let code = branch.code
        guard code == 401 || code == 407 else {
            Log.error("uac", "reply is not an auth request")
            Log.error("uac", "failed to extract authenticate hdr")
            return false
        }
        guard
            let field = reply.headers.first(where: { $0.name == (code == 401 ? .wwwAuthenticate : .proxyAuthenticate) })
        else {
            Log.error("uac", "reply has no auth hdr (\(code == 401 ? "WWW-Authenticate" : "Proxy-Authenticate"))")
            return false
        }
        guard let challenge = DigestChallenge(reply.value(of: field)) else {
            Log.error("uac", "failed to parse auth hdr body")
            return false
        }
        guard
            let credential = avpCredential(ctx, realm: challenge.realm)
                ?? credentials.first(where: { $0.realm == challenge.realm })
        else {
            Log.info("uac", "no credential for realm \"\(challenge.realm)\"")
            return false
        }
        let line = UACDigest.header(
            code: code, method: ctx.message.methodText, uri: branch.requestURI, credential: credential,
            ha1Given: mode & 1 != 0, challenge: challenge)
        ctx.newRequestURI = branch.requestURI
        ctx.edits.appendHeader(line)
        ctx.internalFlags |= UACFlag.auth
        return true
    }

    /// Kamailio's `get_avp_credential`: the realm AVP (empty: any realm), user and password.
    private func avpCredential(_ ctx: MessageContext, realm: String) -> Credential? {
        guard let realmPV, let usernamePV, let passwordPV else { return nil }
        var r = realm
        if case .string(let v) = realmPV.get(ctx), !v.isEmpty {
            guard v == realm else { return nil }
            r = v
        }
        guard case .string(let user) = usernamePV.get(ctx), !user.isEmpty,
            case .string(let password) = passwordPV.get(ctx), !password.isEmpty
        else { return nil }
        return Credential(user: user, realm: r, password: password)
    }
}
