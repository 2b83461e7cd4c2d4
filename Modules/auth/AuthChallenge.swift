import SwiftletSDK
import SwiftletSIP

/// Challenges (Kamailio's `challenge.c` and `auth_challenge_helper`): the
/// `WWW-Authenticate`/`Proxy-Authenticate` header and the 401/407 reply carrying it.
extension AuthModule {
    /// `get_challenge_hf`: the header line with CRLF, e.g.
    /// `WWW-Authenticate: Digest realm="example.com", nonce="...", qop="auth", stale=true`.
    /// `ctx` nil builds a nonce without extra checks (`auth_get_www_authenticate`).
    func challengeHeader(
        _ ctx: MessageContext?, realm: String, qop: DigestQOP, stale: Bool, header: DigestCredentialsHeader
    ) -> String {
        String(decoding: challengeHeaderBytes(ctx, realm: realm, qop: qop, stale: stale, header: header), as: UTF8.self)
    }

    /// `challengeHeader` as bytes, written in one buffer (it goes into the reply lumps).
    func challengeHeaderBytes(
        _ ctx: MessageContext?, realm: String, qop: DigestQOP, stale: Bool, header: DigestCredentialsHeader
    ) -> [UInt8] {
        let realm = stripRealm(realm)
        let name = header == .proxyAuthorization ? proxyChallengeHeader : wwwChallengeHeader
        var h: [UInt8] = []
        // The nonce is at most 64 characters (45 bytes in base64).
        h.reserveCapacity(name.utf8.count + realm.utf8.count + 64 + 80)
        func put(_ text: String) {
            let done: Void? = text.utf8.withContiguousStorageIfAvailable { h.append(contentsOf: $0) }
            if done == nil { h.append(contentsOf: text.utf8) }
        }
        func literal(_ literal: StaticString) {
            h.append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
        }
        put(name)
        literal(": Digest realm=\"")
        put(realm)
        literal("\", nonce=\"")
        nonces.make(checks: checks(for: ctx), context: ctx, now: NonceCodec.now(), appendingTo: &h)
        h.append(34)
        switch qop {
        case .auth: literal(", qop=\"auth\"")
        case .authInt: literal(", qop=\"auth-int\"")
        default: break
        }
        if stale { literal(", stale=true") }
        if !algorithmParameter.isEmpty {
            literal(", algorithm=")
            put(algorithmParameter)
        }
        h.append(13)
        h.append(10)
        return h
    }

    /// The qop of challenge flags: 2 auth-int, 1 auth.
    static func challengeQOP(_ flags: Int) -> DigestQOP {
        flags & 2 != 0 ? .authInt : (flags & 1 != 0 ? .auth : .unspecified)
    }

    /// `auth_challenge_helper`: sends 401 (`Authorization`) or 407 with the challenge.
    /// 1, or -3 when the reply could not be sent.
    func challenge(_ ctx: MessageContext, realm: String, flags: Int, header: DigestCredentialsHeader) -> Int {
        let line = challengeHeaderBytes(
            ctx, realm: realm, qop: Self.challengeQOP(flags), stale: flags & 16 != 0, header: header)
        let sent =
            header == .authorization
            ? sendReply(ctx, code: 401, reason: "Unauthorized", header: line)
            : sendReply(ctx, code: 407, reason: "Proxy Authentication Required", header: line)
        return sent < 0 ? -3 : 1
    }

    /// The error path of the challenge functions: 500 unless flag 4, then -1 (-4 when
    /// even the 500 could not be sent).
    func challengeFailed(_ ctx: MessageContext, flags: Int) -> Int {
        if flags & 4 == 0, sendReply(ctx, code: 500, reason: "Internal Server Error", header: nil) < 0 { return -4 }
        return -1
    }

    /// `auth_send_reply`: adds the header to the reply lumps and replies through tm when the
    /// request has a transaction (sl's `freply`), statelessly with `force_stateless_reply`.
    func sendReply(_ ctx: MessageContext, code: Int, reason: String, header: [UInt8]?) -> Int {
        if let header { ctx.replyLumps.appendHeader(header) }
        if forceStatelessReply == 0, let tm, tm.hasTransaction(ctx) {
            return tm.reply(ctx, code: code, reason: reason)
        }
        return sl.sendReply(ctx, code: code, reason: reason)
    }

    /// Kamailio's `pv_authenticate`: checks the credentials against `password` (HA1 with
    /// flag 1). With flags 2, 4 or 8 a failed check also stores a challenge in
    /// `challenge_attr` (no qop, qop auth, qop auth-int), with `stale=true` for a stale
    /// nonce. `method` nil: the request's method. `password` is asked for only when there are
    /// credentials to check (the callers render it before when it could be empty, an error
    /// that comes first). With `keepChecked`, `checked` gets the credentials that were checked.
    func authenticate(
        _ ctx: MessageContext, realm: String, password: () -> String, flags: Int, header: DigestCredentialsHeader,
        method: String?, keepChecked: Bool = false, checked: inout DigestCredentials?
    ) -> Int {
        var result: Int
        var stale = false
        var scan = DigestFieldRanges()
        switch preAuthenticateInPlace(ctx, realm: realm, header: header, scan: &scan) {
        case .done(.authenticated): return AuthResultCode.ok
        case .done(.nonceReused): result = AuthResultCode.nonceReused
        case .done(.staleNonce):
            result = AuthResultCode.staleNonce
            stale = true
        case .done(.noCredentials): result = AuthResultCode.noCredentials
        case .done: result = AuthResultCode.error
        case .found(let field):
            let message = ctx.message
            let p = password()
            if keepChecked { checked = message.buffer.withUnsafeBufferPointer { scan.credentials($0, field) } }
            let inPlace =
                addAuthInfo == 0
                ? checkResponseInPlace(
                    ctx, scan, realm: realm, password: p, passwordIsHA1: flags & 1 != 0, method: method)
                : nil
            let check: DigestResponseCheck
            var ha1 = ""
            var credentials: DigestCredentials?
            if let inPlace {
                check = inPlace
            } else {
                let c = checked ?? message.buffer.withUnsafeBufferPointer { scan.credentials($0, field) }
                credentials = c
                ha1 = flags & 1 != 0 ? p : hash.ha1(username: c.username ?? "", realm: stripRealm(realm), password: p)
                check = checkResponse(c, method: method ?? message.methodText, ha1: ha1, context: ctx)
            }
            switch check {
            case .authenticated:
                guard let credentials else { return AuthResultCode.ok }
                return postAuthenticate(ctx, credentials: credentials, ha1: ha1)
                    ? AuthResultCode.ok : AuthResultCode.error
            case .notAuthenticated: result = AuthResultCode.invalidPassword
            case .badCredentials: result = AuthResultCode.error
            }
        }
        if flags & 14 != 0 {
            let qop: DigestQOP = flags & 8 != 0 ? .authInt : (flags & 4 != 0 ? .auth : .unspecified)
            let line = challengeHeader(ctx, realm: realm, qop: qop, stale: stale, header: header)
            ctx.avps[challengeAVP, default: []].insert(.string(line), at: 0)
        }
        return result
    }

    /// `auth_check_response` (with HA1 from `password`) on the credentials as they are in the
    /// message buffer, without making their strings; nil for credentials that need the
    /// general path (qop `auth-int`, `algorithm=MD5-sess`).
    func checkResponseInPlace(
        _ ctx: MessageContext, _ scan: DigestFieldRanges, realm: String, password: String, passwordIsHA1: Bool,
        method: String?
    ) -> DigestResponseCheck? {
        let message = ctx.message
        var password = password
        var realm = passwordIsHA1 ? "" : stripRealm(realm)
        var method = method ?? message.methodText
        return message.buffer.withUnsafeBytes { b -> DigestResponseCheck? in
            let bytes = b.assumingMemoryBound(to: UInt8.self)
            if scan.qopKind(bytes) == .authInt { return nil }
            if hash == .md5, scan.algorithmKind(bytes) == .md5Session { return nil }
            // The fields were checked by pre_auth (check_dig_cred).
            guard let response = scan.response, let username = scan.username, let nonce = scan.nonce,
                let uri = scan.uri, response.count == hash.hexLength
            else { return .badCredentials }
            func part(_ r: Range<Int>?) -> UnsafeRawBufferPointer {
                r.map { UnsafeRawBufferPointer(rebasing: b[$0]) } ?? UnsafeRawBufferPointer(start: nil, count: 0)
            }
            return password.withUTF8 { pw in
                method.withUTF8 { m in
                    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { ha1Hex in
                        var ha1 = UnsafeRawBufferPointer(pw)
                        if !passwordIsHA1 {
                            let n = realm.withUTF8 { r in
                                hash.ha1(
                                    username: part(username), realm: UnsafeRawBufferPointer(r),
                                    password: UnsafeRawBufferPointer(pw), into: ha1Hex)
                            }
                            ha1 = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: ha1Hex[0..<n]))
                        }
                        let input = DigestResponseInput(
                            ha1: ha1, nonce: part(nonce), nc: part(scan.nc), cnonce: part(scan.cnonce),
                            qop: part(scan.qop), bodyHash: nil, method: UnsafeRawBufferPointer(m), uri: part(uri))
                        return hash.responseMatches(part(response), input) ? .authenticated : .notAuthenticated
                    }
                }
            }
        }
    }
}
