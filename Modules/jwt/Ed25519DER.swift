import Foundation

/// Ed25519 keys in the PEM forms OpenSSL writes (`openssl genpkey -algorithm ed25519`):
/// PKCS#8 `PRIVATE KEY` and SPKI `PUBLIC KEY` (RFC 8410), whose DER is a fixed prefix and the
/// 32 key bytes; swift-crypto reads only the raw bytes.
enum Ed25519DER {
    /// PKCS#8 v1: SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }.
    static let privatePrefix: [UInt8] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ]
    /// SPKI: SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (0 unused bits, 32 bytes) }.
    static let publicPrefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]

    /// The 32-byte private key of a `PRIVATE KEY` block; nil for another key type or form.
    static func privateKey(pem: String) -> [UInt8]? { raw(pem, prefix: privatePrefix) }

    /// The 32-byte public key of a `PUBLIC KEY` block; nil for another key type.
    static func publicKey(pem: String) -> [UInt8]? { raw(pem, prefix: publicPrefix) }

    private static func raw(_ pem: String, prefix: [UInt8]) -> [UInt8]? {
        let body = pem.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined()
        guard let der = Data(base64Encoded: body), der.count == prefix.count + 32, der.starts(with: prefix) else {
            return nil
        }
        return Array(der.suffix(32))
    }
}
