import Crypto
import Foundation
import _CryptoExtras

/// A key ready to sign with: the HMAC secret (the key text's bytes, as libjwt takes them), or
/// a private key read from PEM.
enum JWTSigningKey {
    case hmac(SymmetricKey)
    case rsa(_RSA.Signing.PrivateKey)
    case p256(P256.Signing.PrivateKey)
    case p384(P384.Signing.PrivateKey)
    case p521(P521.Signing.PrivateKey)
    case ed25519(Curve25519.Signing.PrivateKey)

    /// The key for `alg` in `text` (nil when it holds none: an empty secret, no private key
    /// of that kind, an RSA key under 2048 bits, a curve other than the algorithm's).
    init?(_ text: [UInt8], for alg: JWTAlgorithm) {
        switch alg.family {
        case .none: return nil
        case .hmac:
            guard !text.isEmpty else { return nil }
            self = .hmac(SymmetricKey(data: text))
        case .rsa, .rsaPSS:
            guard let pem = PEMBlock.first(in: text, labels: ["PRIVATE KEY", "RSA PRIVATE KEY"]),
                let key = try? _RSA.Signing.PrivateKey(pemRepresentation: pem)
            else { return nil }
            self = .rsa(key)
        case .eddsa:
            guard let pem = PEMBlock.first(in: text, labels: ["PRIVATE KEY"]),
                let raw = Ed25519DER.privateKey(pem: pem),
                let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)
            else { return nil }
            self = .ed25519(key)
        case .ecdsa:
            guard let pem = PEMBlock.first(in: text, labels: ["PRIVATE KEY", "EC PRIVATE KEY"]) else { return nil }
            switch alg.hashBits {
            case 256:
                guard let k = try? P256.Signing.PrivateKey(pemRepresentation: pem) else { return nil }; self = .p256(k)
            case 384:
                guard let k = try? P384.Signing.PrivateKey(pemRepresentation: pem) else { return nil }; self = .p384(k)
            default:
                guard let k = try? P521.Signing.PrivateKey(pemRepresentation: pem) else { return nil }; self = .p521(k)
            }
        }
    }

    /// The JWS signature of `input` (header.payload) with `alg` (of this key's family):
    /// HMAC, RSASSA-PKCS1-v1_5, ECDSA with R || S, RSASSA-PSS with MGF1 and a salt as long as
    /// the hash (RFC 7518 section 3), or Ed25519 (RFC 8037).
    func sign(_ input: [UInt8], _ alg: JWTAlgorithm) -> [UInt8]? {
        switch self {
        case .hmac(let key):
            switch alg.hashBits {
            case 256: return Array(HMAC<SHA256>.authenticationCode(for: input, using: key))
            case 384: return Array(HMAC<SHA384>.authenticationCode(for: input, using: key))
            default: return Array(HMAC<SHA512>.authenticationCode(for: input, using: key))
            }
        case .rsa(let key):
            let padding: _RSA.Signing.Padding = alg.family == .rsaPSS ? .PSS : .insecurePKCS1v1_5
            let signature: _RSA.Signing.RSASignature?
            switch alg.hashBits {
            case 256: signature = try? key.signature(for: SHA256.hash(data: input), padding: padding)
            case 384: signature = try? key.signature(for: SHA384.hash(data: input), padding: padding)
            default: signature = try? key.signature(for: SHA512.hash(data: input), padding: padding)
            }
            return signature.map { Array($0.rawRepresentation) }
        case .ed25519(let key):
            return (try? key.signature(for: input)).map { Array($0) }
        case .p256(let key):
            return (try? key.signature(for: SHA256.hash(data: input))).map { Array($0.rawRepresentation) }
        case .p384(let key):
            return (try? key.signature(for: SHA384.hash(data: input))).map { Array($0.rawRepresentation) }
        case .p521(let key):
            return (try? key.signature(for: SHA512.hash(data: input))).map { Array($0.rawRepresentation) }
        }
    }
}

/// A key ready to verify with: HMAC keyed with the secret (its padded key blocks hashed once),
/// or a public key read from PEM.
enum JWTVerificationKey {
    case hmac256(HMAC<SHA256>)
    case hmac384(HMAC<SHA384>)
    case hmac512(HMAC<SHA512>)
    case rsa(_RSA.Signing.PublicKey)
    case p256(P256.Signing.PublicKey)
    case p384(P384.Signing.PublicKey)
    case p521(P521.Signing.PublicKey)
    case ed25519(Curve25519.Signing.PublicKey)

    /// The key for `alg` in `text`, nil when it holds none (see `JWTSigningKey`).
    init?(_ text: [UInt8], for alg: JWTAlgorithm) {
        switch alg.family {
        case .none: return nil
        case .hmac:
            guard !text.isEmpty else { return nil }
            let key = SymmetricKey(data: text)
            switch alg.hashBits {
            case 256: self = .hmac256(HMAC(key: key))
            case 384: self = .hmac384(HMAC(key: key))
            default: self = .hmac512(HMAC(key: key))
            }
        case .rsa, .rsaPSS:
            guard let pem = PEMBlock.first(in: text, labels: ["PUBLIC KEY", "RSA PUBLIC KEY"]),
                let key = try? _RSA.Signing.PublicKey(pemRepresentation: pem)
            else { return nil }
            self = .rsa(key)
        case .eddsa:
            guard let pem = PEMBlock.first(in: text, labels: ["PUBLIC KEY"]),
                let raw = Ed25519DER.publicKey(pem: pem),
                let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
            else { return nil }
            self = .ed25519(key)
        case .ecdsa:
            guard let pem = PEMBlock.first(in: text, labels: ["PUBLIC KEY"]) else { return nil }
            switch alg.hashBits {
            case 256:
                guard let k = try? P256.Signing.PublicKey(pemRepresentation: pem) else { return nil }; self = .p256(k)
            case 384:
                guard let k = try? P384.Signing.PublicKey(pemRepresentation: pem) else { return nil }; self = .p384(k)
            default:
                guard let k = try? P521.Signing.PublicKey(pemRepresentation: pem) else { return nil }; self = .p521(k)
            }
        }
    }

    /// Whether `signature` is the JWS signature of `input` with `alg` (HMAC compared in
    /// constant time).
    func isValid(_ signature: [UInt8], of input: ArraySlice<UInt8>, _ alg: JWTAlgorithm) -> Bool {
        switch self {
        case .hmac256(let keyed): return Self.isValidHMAC(keyed, signature, input)
        case .hmac384(let keyed): return Self.isValidHMAC(keyed, signature, input)
        case .hmac512(let keyed): return Self.isValidHMAC(keyed, signature, input)
        case .rsa(let key):
            let s = _RSA.Signing.RSASignature(rawRepresentation: signature)
            let padding: _RSA.Signing.Padding = alg.family == .rsaPSS ? .PSS : .insecurePKCS1v1_5
            switch alg.hashBits {
            case 256: return key.isValidSignature(s, for: Self.digest(SHA256(), input), padding: padding)
            case 384: return key.isValidSignature(s, for: Self.digest(SHA384(), input), padding: padding)
            default: return key.isValidSignature(s, for: Self.digest(SHA512(), input), padding: padding)
            }
        case .ed25519(let key):
            return input.withUnsafeBytes { key.isValidSignature(signature, for: $0) }
        case .p256(let key):
            guard let s = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(s, for: Self.digest(SHA256(), input))
        case .p384(let key):
            guard let s = try? P384.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(s, for: Self.digest(SHA384(), input))
        case .p521(let key):
            guard let s = try? P521.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(s, for: Self.digest(SHA512(), input))
        }
    }

    /// The digest of `input`, hashed from a raw buffer (no generic `DataProtocol` path).
    private static func digest<H: HashFunction>(_ hasher: H, _ input: ArraySlice<UInt8>) -> H.Digest {
        var hasher = hasher
        input.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return hasher.finalize()
    }

    /// HMAC from the keyed state (a copy of it), compared with `signature` in constant time.
    private static func isValidHMAC<H: HashFunction>(_ keyed: HMAC<H>, _ signature: [UInt8], _ input: ArraySlice<UInt8>)
        -> Bool
    {
        var mac = keyed
        input.withUnsafeBytes { mac.update(data: $0) }
        return mac.finalize().withUnsafeBytes { code in
            guard code.count == signature.count else { return false }
            var diff: UInt8 = 0
            for i in 0..<code.count { diff |= code[i] ^ signature[i] }
            return diff == 0
        }
    }
}

/// Finds one PEM block in a key file, which may hold others (`openssl ecparam -genkey`
/// writes `EC PARAMETERS` before `EC PRIVATE KEY`; OpenSSL, under libjwt, skips them too).
enum PEMBlock {
    /// The text from `-----BEGIN <label>-----` to its `-----END <label>-----` of the first
    /// block whose label is one of `labels`.
    static func first(in bytes: [UInt8], labels: [String]) -> String? {
        let dashes = Array("-----".utf8)
        let beginMarker = Array("-----BEGIN ".utf8)
        var from = 0
        while let begin = find(beginMarker, in: bytes, from: from) {
            let labelStart = begin + beginMarker.count
            guard let labelEnd = find(dashes, in: bytes, from: labelStart) else { return nil }
            let label = String(decoding: bytes[labelStart..<labelEnd], as: UTF8.self)
            guard let end = find(Array("-----END \(label)-----".utf8), in: bytes, from: labelEnd + dashes.count) else {
                return nil
            }
            let blockEnd = end + "-----END \(label)-----".utf8.count
            if labels.contains(label) { return String(decoding: bytes[begin..<blockEnd], as: UTF8.self) }
            from = blockEnd
        }
        return nil
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8], from: Int) -> Int? {
        guard needle.count <= bytes.count, from <= bytes.count - needle.count else { return nil }
        var i = from
        while i <= bytes.count - needle.count {
            if bytes[i] == needle[0] && bytes[i..<i + needle.count].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
