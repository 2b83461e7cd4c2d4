import SwiftletSDK
import SwiftletSIP

/// The checks of Kamailio's `api.c` (`pre_auth`, `auth_check_response`, `post_auth`), also
/// offered to auth_db as `DigestAuthAPI`.
extension AuthModule: DigestAuthAPI {
    func preAuthenticate(_ ctx: MessageContext, realm: String, header: DigestCredentialsHeader)
        -> DigestPreAuthentication
    {
        var scan = DigestFieldRanges()
        switch preAuthenticateInPlace(ctx, realm: realm, header: header, scan: &scan) {
        case .found(let field):
            return .authenticate(ctx.message.buffer.withUnsafeBufferPointer { scan.credentials($0, field) })
        case .done(let outcome): return outcome
        }
    }

    /// What `preAuthenticateInPlace` found.
    enum CredentialsInPlace {
        /// Credentials with a valid, fresh nonce in this header (their ranges in the scan).
        case found(HeaderField)
        /// Any other outcome of `pre_auth` (never `.authenticate`).
        case done(DigestPreAuthentication)
    }

    /// `pre_auth` without making the credentials' strings: the fields and the nonce are
    /// checked in the message buffer; `scan` holds the ranges of the credentials found.
    func preAuthenticateInPlace(
        _ ctx: MessageContext, realm: String, header: DigestCredentialsHeader, scan: inout DigestFieldRanges
    ) -> CredentialsInPlace {
        switch ctx.message.method {
        case .ack, .cancel, .prack: return .done(.authenticated)
        default: break
        }
        let realm = stripRealm(realm)
        let field: HeaderField
        switch DigestCredentialsParser.findRanges(ctx.message, realm: realm, kind: header, into: &scan) {
        case .failure:
            Log.error("auth", "error while parsing credentials")
            return .done(.error)
        case .success(nil):
            Log.debug("auth", "credentials with realm '\(realm)' not found")
            return .done(.noCredentials)
        case .success(let found?): field = found
        }
        AuthorizedCredentials.mark(ctx, field, header)
        let message = ctx.message
        return message.buffer.withUnsafeBufferPointer { b in
            guard scan.hasRequiredFields(b), let nonce = scan.nonce else {
                Log.error("auth", "credentials are not filled properly")
                return .done(.error)
            }
            // The nc is only read with nonce counts on.
            let nc = nonces.counts == nil ? nil : scan.nc.map { DigestCredentialsParser.string(b, $0) }
            switch nonces.check(
                nonce: UnsafeBufferPointer(rebasing: b[nonce]), nc: nc, checks: checks(for: ctx), context: ctx,
                now: NonceCodec.now())
            {
            case .ok: return .found(field)
            case .stale, .extraChecksFailed: return .done(.staleNonce)
            case .reused: return .done(.nonceReused)
            case let other:
                Log.debug("auth", "invalid nonce value received (\(other))")
                return .done(.error)
            }
        }
    }

    func ha1(username: String, realm: String, password: String) -> String {
        hash.ha1(username: username, realm: realm, password: password)
    }

    func checkResponse(_ c: DigestCredentials, method: String, ha1: String, context: MessageContext)
        -> DigestResponseCheck
    {
        guard let response = c.response, response.utf8.count == hash.hexLength else { return .badCredentials }
        let (key, bodyHash) = responseKey(c, ha1: ha1, body: context.message)
        let matches = hash.responseMatches(
            response, ha1: key, nonce: c.nonce ?? "", nc: c.nc ?? "", cnonce: c.cnonce ?? "", qop: c.qop ?? "",
            bodyHash: bodyHash, method: method, uri: c.uri ?? "")
        return matches ? .authenticated : .notAuthenticated
    }

    /// The key (HA1, or the session key of `MD5-sess`) and the body hash (qop `auth-int`) of
    /// the response the credentials should carry.
    func responseKey(_ c: DigestCredentials, ha1: String, body message: SIPMessage?) -> (String, String?) {
        var key = ha1
        if c.algorithmKind == .md5Session, hash == .md5 {
            key = hash.sessionHA1(ha1, nonce: c.nonce ?? "", cnonce: c.cnonce ?? "")
        }
        var bodyHash: String?
        if c.qopKind == .authInt {
            bodyHash = hash.hex(message.map { Array($0.buffer[$0.bodyRange]) } ?? [])
        }
        return (key, bodyHash)
    }

    /// The response the credentials should carry. qop `auth-int` hashes the request body
    /// (Kamailio 5.6 hashes an uninitialised buffer instead); `algorithm=MD5-sess` uses the
    /// session key of RFC 2617 (Kamailio ignores the credentials' algorithm).
    func computedResponse(_ c: DigestCredentials, method: String?, ha1: String, body message: SIPMessage?) -> String {
        let (key, bodyHash) = responseKey(c, ha1: ha1, body: message)
        return hash.response(
            ha1: key, nonce: c.nonce ?? "", nc: c.nc ?? "", cnonce: c.cnonce ?? "", qop: c.qop ?? "",
            bodyHash: bodyHash, method: method, uri: c.uri ?? "")
    }

    func postAuthenticate(_ ctx: MessageContext, credentials c: DigestCredentials, ha1: String) -> Bool {
        guard addAuthInfo != 0 else { return true }
        // rspauth: an empty method, and for auth-int the hash of an empty reply body.
        let rspauth = computedResponse(c, method: nil, ha1: ha1, body: nil)
        let next =
            nonces.oneTime != nil
            ? nonces.make(checks: checks(for: ctx), context: ctx, now: NonceCodec.now()) : (c.nonce ?? "")
        let line =
            "Authentication-Info: nextnonce=\"\(next)\", qop=\(c.qop ?? ""), rspauth=\"\(rspauth)\", cnonce=\"\(c.cnonce ?? "")\", nc=\(c.nc ?? "")\r\n"
        ctx.replyLumps.appendHeader(Array(line.utf8))
        return true
    }

    func checkIdentity(_ ctx: MessageContext, user: String, skipForwarding: Bool, useDomain: Bool) -> Int {
        let m = ctx.message
        guard let from = Self.uriParts(m, .from) else { return AuthResultCode.error }
        let registerOrPublish = m.method == .register || m.method == .publish
        var to: (user: String, host: String)?
        if registerOrPublish {
            guard let t = Self.uriParts(m, .to) else { return AuthResultCode.error }
            to = t
        }
        let forwarded: Set<SIPMethod> = [.invite, .bye, .prack, .update, .message]
        if !(skipForwarding && m.method.map(forwarded.contains) == true) {
            guard user == (to ?? from).user else { return AuthResultCode.userMismatch }
        }
        guard let to else { return AuthResultCode.ok }
        guard from.user == to.user, !useDomain || from.host == to.host else { return AuthResultCode.userMismatch }
        if m.method == .publish {
            let ruri = Array((ctx.requestURI ?? "").utf8)
            guard let u = try? URIComponents.parse(ruri, 0..<ruri.count) else { return AuthResultCode.error }
            let user = u.user.map { String(decoding: ruri[$0], as: UTF8.self) } ?? ""
            guard from.user == user, !useDomain || from.host == String(decoding: ruri[u.host], as: UTF8.self) else {
                return AuthResultCode.userMismatch
            }
        }
        return AuthResultCode.ok
    }

    /// The user and host of the From or To URI.
    static func uriParts(_ m: SIPMessage, _ which: HeaderName) -> (user: String, host: String)? {
        guard let na = try? (which == .from ? m.from() : m.to()),
            let u = try? URIComponents.parse(m.buffer, na.uri)
        else { return nil }
        let b = m.buffer
        return (u.user.map { String(decoding: b[$0], as: UTF8.self) } ?? "", String(decoding: b[u.host], as: UTF8.self))
    }
}
