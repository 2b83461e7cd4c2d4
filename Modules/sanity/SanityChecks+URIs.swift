import SwiftletSDK

/// The URI, credentials and tag checks of Kamailio's sanity module.
extension SanityChecks {
    /// `SANITY_PARSE_URIS` (1024) with the URI bits: R-URI (1), From (2), To (4), Contact (8).
    func checkURIs(_ ctx: MessageContext, _ checks: Int) -> SanityFailure? {
        let msg = ctx.message
        let b = msg.buffer
        if checks & Self.uriRURI != 0 {
            guard msg.isRequest, let uri = ctx.requestURI, KamailioURI.parses(uri) else {
                return .reply(400, "Bad Request URI")
            }
        }
        for (bit, name, reason) in [
            (Self.uriFrom, HeaderName.from, "Invalid From Header"), (Self.uriTo, .to, "Ivalid To Header"),
        ]
        where checks & bit != 0 {
            guard let f = msg.firstHeader(name), !f.valueRange.isEmpty else { return .silent(noReply: true) }
            guard let v = try? NameAddr.parse(b, f.valueRange), KamailioURI.parses(b, v.uri) else {
                return .reply(400, reason)
            }
        }
        if checks & Self.uriContact != 0, msg.firstHeader(.contact) != nil {
            guard let contacts = try? msg.contacts(), let first = contacts.first else {
                return .reply(400, "Bad Contact Header")
            }
            if !first.isWildcard, !KamailioURI.parses(b, first.uri) { return .reply(400, "Bad Contact URI") }
        }
        return nil
    }

    /// `SANITY_CHECK_DIGEST` (2048) and `SANITY_CHECK_AUTHORIZATION` (8192): every
    /// Authorization, then every Proxy-Authorization, must be Digest credentials with
    /// username, realm, nonce, uri and response (cnonce and nc with qop), and non-empty
    /// username, nonce and response. Credentials of another scheme fail the digest check
    /// (without a reply) and pass the authorization check.
    func checkDigest(_ ctx: MessageContext, notDigestFails: Bool) -> SanityFailure? {
        let msg = ctx.message
        let b = msg.buffer
        let fields = msg.headers(.authorization) + msg.headers(.proxyAuthorization)
        for f in fields {
            let scheme = b[f.valueRange].prefix { ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) }
            guard String(decoding: scheme, as: UTF8.self).lowercased() == "digest" else {
                return notDigestFails ? .silent(noReply: false) : nil
            }
            guard let d = try? DigestHeader.parse(b, f.valueRange) else { return .reply(400, "Bad Auth Header") }
            var required: [StaticString] = ["username", "realm", "nonce", "uri", "response"]
            if let qop = d.string(b, "qop")?.lowercased(), qop == "auth" || qop == "auth-int" {
                required += ["cnonce", "nc"]
            }
            for name in required where d.parameter(b, name) == nil { return .reply(400, "Bad Auth Credentials") }
            if d.string(b, "username")?.isEmpty ?? true { return .reply(400, "Auth Empty User") }
            if d.string(b, "nonce")?.isEmpty ?? true { return .reply(400, "Auth Empty Nonce") }
            if d.string(b, "response")?.isEmpty ?? true { return .reply(400, "Auth Empty Response") }
        }
        return nil
    }

    /// `SANITY_CHECK_DUPTAGS` (4096): at most one `tag` parameter in From and in To.
    func checkDupTags(_ ctx: MessageContext) -> SanityFailure? {
        let msg = ctx.message
        let b = msg.buffer
        guard let from = try? msg.from(), let to = try? msg.to() else { return .silent(noReply: true) }
        for (v, reason) in [(from, "Many From Tag Params"), (to, "Many To Tag Params")] {
            let tags = v.parameters(b).filter { b.equalsLowercasedText($0.name, "tag") }
            if tags.count > 1 { return .reply(400, reason) }
        }
        return nil
    }
}

extension Array where Element == UInt8 {
    /// True when the bytes of `range` equal `text` (lower-case) ignoring case.
    func equalsLowercasedText(_ range: Range<Int>, _ text: String) -> Bool {
        let t = Array(text.utf8)
        guard range.count == t.count else { return false }
        return zip(self[range], t).allSatisfy { ($0 >= 65 && $0 <= 90 ? $0 + 32 : $0) == $1 }
    }
}
