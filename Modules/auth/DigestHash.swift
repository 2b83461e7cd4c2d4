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
        bytes.withUnsafeBytes { raw in
            switch self {
            case .md5:
                var h = MD5Hasher()
                h.update(raw)
                return h.hexDigest()
            case .sha256:
                var h = SHA256Parts()
                h.update(raw)
                return h.hexDigest()
            }
        }
    }

    func hex(_ text: String) -> String { hex(joining: [text]) }

    /// The hash of the parts joined by `:`, in lower-case hex (the parts are hashed one after
    /// the other, without building the joined text).
    func hex(joining parts: [String]) -> String {
        func feed<H: DigestParts>(_ h: inout H) -> String {
            for (i, part) in parts.enumerated() {
                if i > 0 { h.colon() }
                h.update(part)
            }
            return h.hexDigest()
        }
        switch self {
        case .md5:
            var h = MD5Hasher()
            return feed(&h)
        case .sha256:
            var h = SHA256Parts()
            return feed(&h)
        }
    }

    /// The hash of `a:b[:c[:d[:e[:f]]]]` (nil parts are left out, with their colon).
    func hex(_ a: String, _ b: String, _ c: String? = nil, _ d: String? = nil, _ e: String? = nil, _ f: String? = nil)
        -> String
    {
        switch self {
        case .md5:
            var h = MD5Hasher()
            return Self.joined(&h, a, b, c, d, e, f)
        case .sha256:
            var h = SHA256Parts()
            return Self.joined(&h, a, b, c, d, e, f)
        }
    }

    private static func joined<H: DigestParts>(
        _ h: inout H, _ a: String, _ b: String, _ c: String?, _ d: String?, _ e: String?, _ f: String?
    ) -> String {
        h.update(a)
        h.colon()
        h.update(b)
        if let c {
            h.colon()
            h.update(c)
        }
        if let d {
            h.colon()
            h.update(d)
        }
        if let e {
            h.colon()
            h.update(e)
        }
        if let f {
            h.colon()
            h.update(f)
        }
        return h.hexDigest()
    }

    /// H(A1) = H(username:realm:password) (`calc_HA1`, `HA_MD5`).
    func ha1(username: String, realm: String, password: String) -> String {
        hex(username, realm, password)
    }

    /// The session key of RFC 2617 section 3.2.2.2 (`MD5-sess`):
    /// H(H(username:realm:password):nonce:cnonce), from the hex HA1.
    func sessionHA1(_ ha1: String, nonce: String, cnonce: String) -> String {
        hex(ha1, nonce, cnonce)
    }

    /// The request-digest (`calc_response`): H(A2) = H(method:uri[:H(entity-body)]),
    /// response = H(HA1:nonce[:nc:cnonce:qop]:H(A2)) — the middle part when `qop` is not
    /// empty. `method` nil computes `rspauth` (an empty method).
    func response(
        ha1: String, nonce: String, nc: String, cnonce: String, qop: String, bodyHash: String?, method: String?,
        uri: String
    ) -> String {
        let ha2 = hex(method ?? "", uri, bodyHash)
        if qop.isEmpty { return hex(ha1, nonce, ha2) }
        return hex(ha1, nonce, nc, cnonce, qop, ha2)
    }

    /// Whether `response` is the request-digest of `response(ha1:...)`, computed without
    /// strings: H(A2) and the digest are hex-encoded on the stack and compared as bytes.
    func responseMatches(
        _ response: String, ha1: String, nonce: String, nc: String, cnonce: String, qop: String, bodyHash: String?,
        method: String, uri: String
    ) -> Bool {
        // The texts side by side in one buffer, then compared as bytes.
        let texts = [response, ha1, nonce, nc, cnonce, qop, bodyHash ?? "", method, uri]
        var storage: [UInt8] = []
        var ranges: [Range<Int>] = []
        for t in texts {
            let start = storage.count
            storage.append(contentsOf: t.utf8)
            ranges.append(start..<storage.count)
        }
        return storage.withUnsafeBytes { b in
            func part(_ i: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: b[ranges[i]]) }
            let input = DigestResponseInput(
                ha1: part(1), nonce: part(2), nc: part(3), cnonce: part(4), qop: part(5),
                bodyHash: bodyHash == nil ? nil : part(6), method: part(7), uri: part(8))
            return responseMatches(part(0), input)
        }
    }

    /// Whether `response` is the request-digest of `input` (the bytes of the parts, read in
    /// place in the message): H(A2) and the digest are hex-encoded on the stack.
    func responseMatches(_ response: UnsafeRawBufferPointer, _ input: DigestResponseInput) -> Bool {
        switch self {
        case .md5: return Self.responseMatches(MD5Hasher(), response, input)
        case .sha256: return Self.responseMatches(SHA256Parts(), response, input)
        }
    }

    private static func responseMatches<H: DigestParts>(
        _ empty: H, _ response: UnsafeRawBufferPointer, _ p: DigestResponseInput
    ) -> Bool {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 128) { hex in
            let ha2 = UnsafeMutableBufferPointer(rebasing: hex[0..<64])
            let out = UnsafeMutableBufferPointer(rebasing: hex[64..<128])
            var a2 = empty
            a2.update(p.method)
            a2.colon()
            a2.update(p.uri)
            if let bodyHash = p.bodyHash {
                a2.colon()
                a2.update(bodyHash)
            }
            let n = a2.hexDigest(into: ha2)
            var h = empty
            h.update(p.ha1)
            h.colon()
            h.update(p.nonce)
            if !p.qop.isEmpty {
                h.colon()
                h.update(p.nc)
                h.colon()
                h.update(p.cnonce)
                h.colon()
                h.update(p.qop)
            }
            h.colon()
            h.update(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: ha2[0..<n])))
            let m = h.hexDigest(into: out)
            guard response.count == m else { return false }
            for i in 0..<m where response[i] != out[i] { return false }
            return true
        }
    }

    /// H(A1) = H(username:realm:password) in hex, written into `out` (at least `hexLength`
    /// bytes); the count written.
    func ha1(
        username: UnsafeRawBufferPointer, realm: UnsafeRawBufferPointer, password: UnsafeRawBufferPointer,
        into out: UnsafeMutableBufferPointer<UInt8>
    ) -> Int {
        func feed<H: DigestParts>(_ h: inout H) -> Int {
            h.update(username)
            h.colon()
            h.update(realm)
            h.colon()
            h.update(password)
            return h.hexDigest(into: out)
        }
        switch self {
        case .md5:
            var h = MD5Hasher()
            return feed(&h)
        case .sha256:
            var h = SHA256Parts()
            return feed(&h)
        }
    }

    private static let digits: StaticString = "0123456789abcdef"

    /// Lower-case hex of a digest into `out` (twice the digest's length); the count written.
    static func writeHex(_ raw: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        precondition(out.count >= raw.count * 2, "hex buffer too small")
        let d = digits.utf8Start
        for i in 0..<raw.count {
            let byte = raw[i]
            out[2 * i] = d[Int(byte >> 4)]
            out[2 * i + 1] = d[Int(byte & 15)]
        }
        return raw.count * 2
    }

    /// Lower-case hex of a digest, written straight into the string's storage.
    static func hexString(_ raw: UnsafeRawBufferPointer) -> String {
        let d = digits.utf8Start
        return String(unsafeUninitializedCapacity: raw.count * 2) { out in
            for i in 0..<raw.count {
                let byte = raw[i]
                out[2 * i] = d[Int(byte >> 4)]
                out[2 * i + 1] = d[Int(byte & 15)]
            }
            return raw.count * 2
        }
    }
}

/// The parts of a request-digest (`calc_response`) as bytes: `bodyHash` for qop `auth-int`;
/// `nc`, `cnonce` and `qop` go in only when `qop` is not empty.
struct DigestResponseInput {
    var ha1: UnsafeRawBufferPointer
    var nonce: UnsafeRawBufferPointer
    var nc: UnsafeRawBufferPointer
    var cnonce: UnsafeRawBufferPointer
    var qop: UnsafeRawBufferPointer
    var bodyHash: UnsafeRawBufferPointer?
    var method: UnsafeRawBufferPointer
    var uri: UnsafeRawBufferPointer
}

/// A hash that takes the parts of a digest one by one (MD5 or SHA-256).
protocol DigestParts {
    mutating func update(_ raw: UnsafeRawBufferPointer)
    /// The digest in lower-case hex.
    mutating func hexDigest() -> String
    /// The digest in lower-case hex written into `out`; the count written.
    mutating func hexDigest(into out: UnsafeMutableBufferPointer<UInt8>) -> Int
}

extension DigestParts {
    mutating func update(_ text: String) {
        // In place (no copy of the string, so no retain and release of its storage).
        let done: Void? = text.utf8.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if done == nil {
            var text = text
            text.withUTF8 { update(UnsafeRawBufferPointer($0)) }
        }
    }

    mutating func colon() {
        var c: UInt8 = 58
        withUnsafeBytes(of: &c) { update($0) }
    }
}

extension MD5Hasher: DigestParts {
    mutating func hexDigest() -> String { finalize(DigestHash.hexString) }
    mutating func hexDigest(into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        finalize { DigestHash.writeHex($0, into: out) }
    }
}

/// swift-crypto's SHA-256 as `DigestParts`.
struct SHA256Parts: DigestParts {
    private var h = SHA256()
    mutating func update(_ raw: UnsafeRawBufferPointer) { h.update(bufferPointer: raw) }
    mutating func hexDigest() -> String { h.finalize().withUnsafeBytes(DigestHash.hexString) }
    mutating func hexDigest(into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        h.finalize().withUnsafeBytes { DigestHash.writeHex($0, into: out) }
    }
}

/// MD5 of bytes as raw bytes, for the nonce (`MD5Final` into `md5_1`/`md5_2`).
enum NonceMD5 {
    static func digest(_ parts: [ArraySlice<UInt8>]) -> [UInt8] {
        var h = MD5Hasher()
        for p in parts { p.withUnsafeBytes { h.update($0) } }
        return h.finalize { Array($0) }
    }
}
