/// The `alg` of a token and of the functions' `alg` argument: libjwt's names (`jwt_str_alg`,
/// case-sensitive). `none` is a name libjwt knows, but a token with it never verifies and
/// none is ever generated (a key is always given).
enum JWTAlgorithm: String {
    case none
    case hs256 = "HS256", hs384 = "HS384", hs512 = "HS512"
    case rs256 = "RS256", rs384 = "RS384", rs512 = "RS512"
    case es256 = "ES256", es384 = "ES384", es512 = "ES512"

    /// The family, which decides how the key text is read.
    enum Family {
        case none, hmac, rsa, ecdsa
    }

    var family: Family {
        switch self {
        case .none: .none
        case .hs256, .hs384, .hs512: .hmac
        case .rs256, .rs384, .rs512: .rsa
        case .es256, .es384, .es512: .ecdsa
        }
    }

    /// The SHA-2 size in bits (256, 384 or 512); 0 for `none`.
    var hashBits: Int {
        switch self {
        case .none: 0
        case .hs256, .rs256, .es256: 256
        case .hs384, .rs384, .es384: 384
        case .hs512, .rs512, .es512: 512
        }
    }
}
