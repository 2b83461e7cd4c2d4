/// The bytes of binary nonces (at most 45: expires, since, two MD5s, nid, pf) in a buffer the
/// caller provides (a temporary stack allocation), with the base64 of Kamailio's
/// `base64_enc`/`base64_dec`: a nonce is made and checked without allocating.
struct NonceBytes {
    static let capacity = 64
    let buffer: UnsafeMutableRawBufferPointer
    private(set) var count = 0

    /// Runs `body` with an empty nonce buffer on the stack.
    static func withBuffer<R>(_ body: (inout NonceBytes) -> R) -> R {
        withUnsafeTemporaryAllocation(byteCount: capacity, alignment: 8) { raw in
            var bytes = NonceBytes(buffer: raw)
            return body(&bytes)
        }
    }

    private init(buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }

    subscript(i: Int) -> UInt8 {
        precondition(i >= 0 && i < count, "nonce byte out of range")
        return buffer[i]
    }

    /// The first `count` bytes.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[0..<count]) }

    mutating func removeAll() { count = 0 }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        precondition(count + bytes.count <= Self.capacity, "nonce too long")
        for (k, byte) in bytes.enumerated() { buffer[count + k] = byte }
        count += bytes.count
    }

    mutating func appendBigEndian(_ v: UInt32) {
        precondition(count + 4 <= Self.capacity, "nonce too long")
        buffer[count] = UInt8(truncatingIfNeeded: v >> 24)
        buffer[count + 1] = UInt8(truncatingIfNeeded: v >> 16)
        buffer[count + 2] = UInt8(truncatingIfNeeded: v >> 8)
        buffer[count + 3] = UInt8(truncatingIfNeeded: v)
        count += 4
    }

    /// The 32-bit big-endian integer at `at`.
    func bigEndian(_ at: Int) -> UInt32 {
        precondition(at >= 0 && at + 4 <= count, "nonce byte out of range")
        return UInt32(buffer[at]) << 24 | UInt32(buffer[at + 1]) << 16 | UInt32(buffer[at + 2]) << 8
            | UInt32(buffer[at + 3])
    }

    /// The bytes in `r` are the same in both.
    func equals(_ other: NonceBytes, _ r: Range<Int>) -> Bool {
        precondition(r.upperBound <= count && r.upperBound <= other.count, "nonce byte out of range")
        for i in r where buffer[i] != other.buffer[i] { return false }
        return true
    }

    private static let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

    /// The length of the base64 text.
    var base64Count: Int { (count + 2) / 3 * 4 }

    /// Base64 with `=` padding.
    func base64() -> String {
        String(unsafeUninitializedCapacity: base64Count) { writeBase64($0) }
    }

    /// The base64 text appended to `out`.
    func appendBase64(to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: base64Count) { text in
            let n = writeBase64(text)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: text[0..<n]))
        }
    }

    /// Writes the base64 text into `out` (at least `base64Count` bytes); the count written.
    private func writeBase64(_ out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        let n = count
        let a = Self.alphabet.utf8Start
        let b = buffer
        var i = 0
        var o = 0
        while i < n {
            let k = min(3, n - i)
            let v = UInt32(b[i]) << 16 | (k > 1 ? UInt32(b[i + 1]) << 8 : 0) | (k > 2 ? UInt32(b[i + 2]) : 0)
            out[o] = a[Int(v >> 18 & 63)]
            out[o + 1] = a[Int(v >> 12 & 63)]
            out[o + 2] = k > 1 ? a[Int(v >> 6 & 63)] : 61
            out[o + 3] = k > 2 ? a[Int(v & 63)] : 61
            i += 3
            o += 4
        }
        return o
    }

    private static func value(_ c: UInt8) -> UInt32 {
        switch c {
        case 65...90: UInt32(c - 65)
        case 97...122: UInt32(c - 71)
        case 48...57: UInt32(c + 4)
        case 43: 62
        case 47: 63
        default: 0xff
        }
    }

    /// Kamailio's `base64_dec` of `t` (as the SDK's `Base64.decode`): false unless the length
    /// is a multiple of 4 (at least 4) with valid padding; other characters are not checked.
    /// Also false when the result would not fit (more than 48 bytes are no nonce anyway).
    mutating func decodeBase64(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = t.count
        guard n >= 4, n % 4 == 0, n <= Self.capacity, !(t[n - 2] == 61 && t[n - 1] != 61) else { return false }
        let size = n / 4 * 3 - (t[n - 2] == 61 ? 1 : 0) - (t[n - 1] == 61 ? 1 : 0)
        var i = 0
        var o = 0
        while i < n {
            let a = Self.value(t[i])
            let b = Self.value(t[i + 1])
            let c = Self.value(t[i + 2])
            let d = Self.value(t[i + 3])
            buffer[o] = UInt8(truncatingIfNeeded: a << 2 | b >> 4)
            buffer[o + 1] = UInt8(truncatingIfNeeded: b << 4 | c >> 2)
            buffer[o + 2] = UInt8(truncatingIfNeeded: c << 6 | d)
            i += 4
            o += 3
        }
        count = size
        return true
    }
}
