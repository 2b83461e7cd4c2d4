/// The `alg` of a token and of the functions' `alg` argument: libjwt's names (`jwt_str_alg`,
/// case-sensitive). `none` is a name libjwt knows, but a token with it never verifies and
/// none is ever generated (a key is always given).
enum JWTAlgorithm: String {
    case none
    case hs256 = "HS256", hs384 = "HS384", hs512 = "HS512"
    case rs256 = "RS256", rs384 = "RS384", rs512 = "RS512"
    case es256 = "ES256", es384 = "ES384", es512 = "ES512"
    case ps256 = "PS256", ps384 = "PS384", ps512 = "PS512"
    /// Ed25519 (RFC 8037; libjwt's name; Ed448 is not offered).
    case eddsa = "EdDSA"

    /// The family, which decides how the key text is read.
    enum Family {
        case none, hmac, rsa, ecdsa, rsaPSS, eddsa
    }

    var family: Family {
        switch self {
        case .none: .none
        case .hs256, .hs384, .hs512: .hmac
        case .rs256, .rs384, .rs512: .rsa
        case .es256, .es384, .es512: .ecdsa
        case .ps256, .ps384, .ps512: .rsaPSS
        case .eddsa: .eddsa
        }
    }

    /// The SHA-2 size in bits (256, 384 or 512); 0 for `none` and EdDSA (which hashes
    /// internally).
    var hashBits: Int {
        switch self {
        case .none, .eddsa: 0
        case .hs256, .rs256, .es256, .ps256: 256
        case .hs384, .rs384, .es384, .ps384: 384
        case .hs512, .rs512, .es512, .ps512: 512
        }
    }
}
