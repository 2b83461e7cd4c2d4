import Crypto
import SwiftletSDK

/// The hash of the `algorithm` parameter (RFC 2617 MD5, RFC 7616 SHA-256) and the digest
/// computations of Kamailio's `rfc2617.c`/`rfc2617_sha256.c`, in lower-case hex.
enum DigestHash: Sendable {
    case md5
    case sha256

    /// From the `algorithm` parameter: "" or "MD5", "SHA-256" (exactly, as Kamailio).
    init?(parameter: String) {
        switch parameter {
        case "", "MD5": self = .md5
        case "SHA-256": self = .sha256
        default: return nil
        }
    }

    /// Hex digits of one hash (`hash_hex_len`).
    var hexLength: Int { self == .md5 ? 32 : 64 }

    /// The hash of `bytes` in lower-case hex.
    func hex(_ bytes: [UInt8]) -> String {
        switch self {
        case .md5: return Self.hexString(Insecure.MD5.hash(data: bytes))
        case .sha256: return Self.hexString(SHA256.hash(data: bytes))
        }
    }

    func hex(_ text: String) -> String { hex(joining: [text]) }

    /// The hash of the parts joined by `:`, in lower-case hex (the parts are hashed one after
    /// the other, without building the joined text).
    func hex(joining parts: [String]) -> String {
        switch self {
        case .md5:
            var h = Insecure.MD5()
            Self.update(&h, parts)
            return Self.hexString(h.finalize())
        case .sha256:
            var h = SHA256()
            Self.update(&h, parts)
            return Self.hexString(h.finalize())
        }
    }

    /// H(A1) = H(username:realm:password) (`calc_HA1`, `HA_MD5`).
    func ha1(username: String, realm: String, password: String) -> String {
        hex(joining: [username, realm, password])
    }

    /// The session key of RFC 2617 section 3.2.2.2 (`MD5-sess`):
    /// H(H(username:realm:password):nonce:cnonce), from the hex HA1.
    func sessionHA1(_ ha1: String, nonce: String, cnonce: String) -> String {
        hex(joining: [ha1, nonce, cnonce])
    }

    /// The request-digest (`calc_response`): H(A2) = H(method:uri[:H(entity-body)]),
    /// response = H(HA1:nonce[:nc:cnonce:qop]:H(A2)) — the middle part when `qop` is not
    /// empty. `method` nil computes `rspauth` (an empty method).
    func response(
        ha1: String, nonce: String, nc: String, cnonce: String, qop: String, bodyHash: String?, method: String?,
        uri: String
    ) -> String {
        let ha2 = bodyHash.map { hex(joining: [method ?? "", uri, $0]) } ?? hex(joining: [method ?? "", uri])
        if qop.isEmpty { return hex(joining: [ha1, nonce, ha2]) }
        return hex(joining: [ha1, nonce, nc, cnonce, qop, ha2])
    }

    private static let colon: [UInt8] = [58]

    private static func update<H: HashFunction>(_ h: inout H, _ parts: [String]) {
        for (i, part) in parts.enumerated() {
            if i > 0 { h.update(data: colon) }
            let done: Void? = part.utf8.withContiguousStorageIfAvailable {
                h.update(bufferPointer: UnsafeRawBufferPointer($0))
            }
            if done == nil { h.update(data: Array(part.utf8)) }
        }
    }

    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Lower-case hex of a digest, written straight into the string's storage.
    private static func hexString<D: Digest>(_ digest: D) -> String {
        digest.withUnsafeBytes { raw in
            digits.withUnsafeBufferPointer { d in
                String(unsafeUninitializedCapacity: raw.count * 2) { out in
                    for (i, byte) in raw.enumerated() {
                        out[2 * i] = d[Int(byte >> 4)]
                        out[2 * i + 1] = d[Int(byte & 15)]
                    }
                    return raw.count * 2
                }
            }
        }
    }
}

/// MD5 of bytes as raw bytes, for the nonce (`MD5Final` into `md5_1`/`md5_2`).
enum NonceMD5 {
    static func digest(_ parts: [ArraySlice<UInt8>]) -> [UInt8] {
        var h = Insecure.MD5()
        for p in parts { h.update(data: p) }
        return Array(h.finalize())
    }
}
