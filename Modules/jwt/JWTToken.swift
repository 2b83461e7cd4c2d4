/// libjwt's validation status bits (`jwt_valid_get_status`), the value of `$jwt(status)`.
struct JWTValidationStatus: OptionSet {
    let rawValue: Int
    static let error = JWTValidationStatus(rawValue: 0x0001)
    static let algMismatch = JWTValidationStatus(rawValue: 0x0002)
    static let expired = JWTValidationStatus(rawValue: 0x0004)
    static let tooNew = JWTValidationStatus(rawValue: 0x0008)
    static let issMismatch = JWTValidationStatus(rawValue: 0x0010)
    static let subMismatch = JWTValidationStatus(rawValue: 0x0020)
    static let audMismatch = JWTValidationStatus(rawValue: 0x0040)
    static let grantMissing = JWTValidationStatus(rawValue: 0x0080)
    static let grantMismatch = JWTValidationStatus(rawValue: 0x0100)
}

/// Builds a signed compact JWS as libjwt's `jwt_encode_str` does.
enum JWTEncoder {
    /// `header.claims.signature`: the header gets `typ: "JWT"` unless it has a string `typ`,
    /// and the algorithm's `alg`; both parts are written compact with sorted names.
    static func encode(header: JSONObject, claims: JSONObject, alg: JWTAlgorithm, key: JWTSigningKey) -> String? {
        var header = header
        if case .string? = header["typ"] {} else { header["typ"] = .string("JWT") }
        header["alg"] = nil
        header["alg"] = .string(alg.rawValue)
        var out = [UInt8]()
        Base64URL.encode(header.serialized, into: &out)
        out.append(UInt8(ascii: "."))
        Base64URL.encode(claims.serialized, into: &out)
        guard let signature = key.sign(out, alg) else { return nil }
        out.append(UInt8(ascii: "."))
        Base64URL.encode(signature, into: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

/// Checks a compact JWS as Kamailio's `jwt_verify` does with libjwt (`jwt_decode`, then
/// `jwt_validate` with the time and the required claims), stricter where libjwt is weak.
enum JWTVerifier {
    enum Outcome: Equatable {
        case valid
        /// Not a token signed with this key: malformed, `alg` unknown or `none`, or a bad
        /// signature (Kamailio: "failed to decode jwt value"; `$jwt(status)` stays 0).
        case undecodable(String)
        /// Decoded, but the validation failed with these status bits.
        case invalid(JWTValidationStatus)
    }

    static func verify(
        _ token: [UInt8], alg: JWTAlgorithm, key: JWTVerificationKey, required: JSONObject, now: Int64
    ) -> Outcome {
        guard let dot1 = token.firstIndex(of: UInt8(ascii: ".")),
            let dot2 = token[(dot1 + 1)...].firstIndex(of: UInt8(ascii: "."))
        else { return .undecodable("not three parts") }
        guard let headerBytes = Base64URL.decode(token[..<dot1]), let header = JSONParser.object(headerBytes) else {
            return .undecodable("the header is not a base64url JSON object")
        }
        guard case .string(let algName)? = header["alg"], let tokenAlg = JWTAlgorithm(rawValue: algName) else {
            return .undecodable("unknown alg")
        }
        if tokenAlg == .none { return .undecodable("alg none") }
        // libjwt checks the signature with the token's own alg and only then compares it with
        // the expected one; the signature is only ever checked with the expected one here.
        if tokenAlg != alg { return .invalid(.algMismatch) }
        guard let claimBytes = Base64URL.decode(token[(dot1 + 1)..<dot2]), let claims = JSONParser.object(claimBytes)
        else { return .undecodable("the claims are not a base64url JSON object") }
        guard let signature = Base64URL.decode(token[(dot2 + 1)...]) else {
            return .undecodable("the signature is not base64url")
        }
        guard key.isValid(signature, of: token[..<dot2], alg) else { return .undecodable("bad signature") }
        let status = validate(header: header, claims: claims, required: required, now: now)
        return status.isEmpty ? .valid : .invalid(status)
    }

    /// `jwt_validate`: expiry, not-before, the replicated `iss`, `sub` and `aud` of the header,
    /// the required claims (equal in type and value).
    static func validate(header: JSONObject, claims: JSONObject, required: JSONObject, now: Int64)
        -> JWTValidationStatus
    {
        var status: JWTValidationStatus = []
        if let exp = claims["exp"], !isBefore(Double(now), exp) { status.insert(.expired) }
        if let nbf = claims["nbf"], !isAtOrAfter(Double(now), nbf) { status.insert(.tooNew) }
        for (name, bit) in [("iss", JWTValidationStatus.issMismatch), ("sub", .subMismatch)] {
            if case .string(let h)? = header[name], case .string(let c)? = claims[name], h != c { status.insert(bit) }
        }
        if let h = header["aud"], let c = claims["aud"], h != c { status.insert(.audMismatch) }
        for member in required.members {
            guard let actual = claims[member.name] else {
                status.insert(.grantMissing)
                continue
            }
            if actual != member.value { status.insert(.grantMismatch) }
        }
        return status
    }

    /// `now` is before the NumericDate `date` (false for a date that is not a number).
    private static func isBefore(_ now: Double, _ date: JSONValue) -> Bool {
        switch date {
        case .integer(let t): return now < Double(t)
        case .real(let t): return now < t
        default: return false
        }
    }

    /// `now` is at or after the NumericDate `date` (false for a date that is not a number).
    private static func isAtOrAfter(_ now: Double, _ date: JSONValue) -> Bool {
        switch date {
        case .integer(let t): return now >= Double(t)
        case .real(let t): return now >= t
        default: return false
        }
    }
}
