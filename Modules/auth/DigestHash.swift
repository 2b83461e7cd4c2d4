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

    func hex(_ text: String) -> String { hex(Array(text.utf8)) }

    /// H(A1) = H(username:realm:password) (`calc_HA1`, `HA_MD5`).
    func ha1(username: String, realm: String, password: String) -> String {
        hex("\(username):\(realm):\(password)")
    }

    /// The session key of RFC 2617 section 3.2.2.2 (`MD5-sess`):
    /// H(H(username:realm:password):nonce:cnonce), from the hex HA1.
    func sessionHA1(_ ha1: String, nonce: String, cnonce: String) -> String {
        hex("\(ha1):\(nonce):\(cnonce)")
    }

    /// The request-digest (`calc_response`): H(A2) = H(method:uri[:H(entity-body)]),
    /// response = H(HA1:nonce[:nc:cnonce:qop]:H(A2)) — the middle part when `qop` is not
    /// empty. `method` nil computes `rspauth` (an empty method).
    func response(
        ha1: String, nonce: String, nc: String, cnonce: String, qop: String, bodyHash: String?, method: String?,
        uri: String
    ) -> String {
        var a2 = "\(method ?? ""):\(uri)"
        if let bodyHash { a2 += ":" + bodyHash }
        let ha2 = hex(a2)
        if qop.isEmpty { return hex("\(ha1):\(nonce):\(ha2)") }
        return hex("\(ha1):\(nonce):\(nc):\(cnonce):\(qop):\(ha2)")
    }

    private static func hexString<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        Hex.encode(Array(digest))
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
