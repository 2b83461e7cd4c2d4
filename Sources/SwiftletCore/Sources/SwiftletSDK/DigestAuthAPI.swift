import SwiftletSIP

/// Which credentials a digest check reads: `Authorization` (answers a 401, Kamailio's
/// `HDR_AUTHORIZATION_T`) or `Proxy-Authorization` (answers a 407, `HDR_PROXYAUTH_T`).
public enum DigestCredentialsHeader: Sendable {
    case authorization
    case proxyAuthorization

    /// The header the credentials are read from.
    public var headerName: HeaderName { self == .authorization ? .authorization : .proxyAuthorization }
}

/// The `qop` of digest credentials as Kamailio's `parse_qop` classifies it.
public enum DigestQOP: Sendable, Equatable {
    case unspecified, auth, authInt, other
}

/// The `algorithm` of digest credentials as Kamailio's `parse_algorithm` classifies it.
public enum DigestAlgorithmName: Sendable, Equatable {
    case unspecified, md5, md5Session, other
}

/// Digest credentials of one `Authorization`/`Proxy-Authorization` header, parsed as
/// Kamailio's `parse_digest_cred` (`dig_cred_t`): values without their quotes, nil when the
/// parameter is absent.
public struct DigestCredentials: Sendable {
    /// The `username` as sent (`username.whole`), nil when absent.
    public var username: String?
    /// The user part: the username up to `@`, after a `scheme:` (`username.user`).
    public var user: String
    /// The part after `@` in the username, or "" (`username.domain`).
    public var domain: String
    public var realm: String?
    public var nonce: String?
    public var uri: String?
    public var response: String?
    public var cnonce: String?
    public var opaque: String?
    public var nc: String?
    /// The `qop` text and its class.
    public var qop: String?
    public var qopKind: DigestQOP
    /// The `algorithm` text and its class.
    public var algorithm: String?
    public var algorithmKind: DigestAlgorithmName
    /// The header field the credentials were read from.
    public var field: HeaderField

    public init(field: HeaderField) {
        self.field = field
        user = ""
        domain = ""
        qopKind = .unspecified
        algorithmKind = .unspecified
    }
}

/// What the auth module found before a digest check (Kamailio's `pre_auth` results).
public enum DigestPreAuthentication: Sendable {
    /// Credentials for the realm with a valid, fresh nonce: check the response.
    case authenticate(DigestCredentials)
    /// Nothing to check (ACK, CANCEL, PRACK): accept.
    case authenticated
    /// No credentials for the realm (`AUTH_NO_CREDENTIALS`, -5).
    case noCredentials
    /// The nonce expired, or comes from before this start or too far from the future
    /// (`AUTH_STALE_NONCE`, -4).
    case staleNonce
    /// A one-time nonce used again (`AUTH_NONCE_REUSED`, -6).
    case nonceReused
    /// Credentials that do not parse, miss a field, or carry a nonce not made here (-1).
    case error
}

/// The result of comparing a response with the one computed (Kamailio's
/// `auth_check_response`).
public enum DigestResponseCheck: Sendable, Equatable {
    case authenticated
    /// Wrong password (`AUTH_INVALID_PASSWORD`, -2).
    case notAuthenticated
    /// A response of the wrong length for the algorithm (-1).
    case badCredentials
}

/// The auth module's API for modules that keep the passwords (auth_db), Kamailio's
/// `bind_auth_s`: find and check credentials, compute HA1, compare the response, and the
/// steps after a successful check. Looked up with `core.apis.lookup(DigestAuthAPI.self)`.
public protocol DigestAuthAPI: AnyObject {
    /// Kamailio's `pre_auth`: finds the credentials for `realm` (after `realm_prefix` is
    /// stripped) in `header`, checks their fields and the nonce, and marks them as the ones
    /// `consume_credentials()` removes.
    func preAuthenticate(_ context: MessageContext, realm: String, header: DigestCredentialsHeader)
        -> DigestPreAuthentication
    /// `realm` without the `realm_prefix` parameter (`strip_realm`), as the checks use it.
    func strippedRealm(_ realm: String) -> String
    /// HA1 in hex for a plain-text password with the configured algorithm (`calc_HA1`).
    func ha1(username: String, realm: String, password: String) -> String
    /// Compares the response of `credentials` with the one computed from `ha1` for `method`.
    func checkResponse(_ credentials: DigestCredentials, method: String, ha1: String, context: MessageContext)
        -> DigestResponseCheck
    /// Kamailio's `post_auth`: after a matching response (adds `Authentication-Info` when
    /// `add_authinfo_hdr` is set). False when the credentials must not be accepted.
    func postAuthenticate(_ context: MessageContext, credentials: DigestCredentials, ha1: String) -> Bool
    /// The identity checks of `auth_check(..., flags)` with flag 1: the authenticated `user`
    /// must be the From user (the To user for REGISTER and PUBLISH, which also need From
    /// equal to To, and PUBLISH From equal to the Request-URI; hosts too with `useDomain`).
    /// `skipForwarding` (flag 2) skips the first comparison for INVITE, BYE, PRACK, UPDATE
    /// and MESSAGE. Returns `AuthResultCode.ok`, `.userMismatch` or `.error`.
    func checkIdentity(_ context: MessageContext, user: String, skipForwarding: Bool, useDomain: Bool) -> Int
}

/// Return codes of the authentication functions (Kamailio's `auth_cfg_result_t`), as the
/// script sees them in `$rc`.
public enum AuthResultCode {
    public static let userMismatch = -8
    public static let usernameExpired = -7
    public static let nonceReused = -6
    public static let noCredentials = -5
    public static let staleNonce = -4
    public static let userUnknown = -3
    public static let invalidPassword = -2
    public static let error = -1
    public static let ok = 1
}
