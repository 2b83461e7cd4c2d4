/// MD5 (RFC 1321) on the stack: no allocation, for the several hashes of each digest check
/// (two for the nonce, three for the response). swift-crypto's `Insecure.MD5` allocates a
/// context per hash and copies it to finalize, which cost more than the hashing itself.
struct MD5Hasher {
    private var a: UInt32 = 0x6745_2301
    private var b: UInt32 = 0xefcd_ab89
    private var c: UInt32 = 0x98ba_dcfe
    private var d: UInt32 = 0x1032_5476
    /// The bytes of a block not yet hashed (`used` of them).
    private var pending: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    private var used = 0
    private var length: UInt64 = 0

    init() {}

    /// Hashes `data` after what came before.
    mutating func update(_ data: UnsafeRawBufferPointer) {
        guard var p = data.baseAddress, data.count > 0 else { return }
        var n = data.count
        length &+= UInt64(n)
        if used > 0 {
            let u = used
            let take = min(64 - u, n)
            withUnsafeMutableBytes(of: &pending) {
                $0.baseAddress!.advanced(by: u).copyMemory(from: p, byteCount: take)
            }
            used = u + take
            p += take
            n -= take
            if used < 64 { return }
            var block = pending
            withUnsafeBytes(of: &block) { compress($0.baseAddress!) }
            used = 0
        }
        while n >= 64 {
            compress(p)
            p += 64
            n -= 64
        }
        if n > 0 {
            let rest = n
            withUnsafeMutableBytes(of: &pending) { $0.baseAddress!.copyMemory(from: p, byteCount: rest) }
            used = rest
        }
    }

    /// The digest: 16 bytes (a, b, c, d little-endian), passed to `body`.
    mutating func finalize<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        var bits = (length &* 8).littleEndian
        var pad: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0x80, 0, 0, 0, 0, 0, 0, 0)
        let padding = used < 56 ? 56 - used : 120 - used
        // 1 to 64 bytes: 0x80 and zeros up to 56 bytes into a block.
        withUnsafeBytes(of: &pad) { update(UnsafeRawBufferPointer(rebasing: $0[0..<padding])) }
        withUnsafeBytes(of: &bits) { update($0) }
        var digest = (a.littleEndian, b.littleEndian, c.littleEndian, d.littleEndian)
        return withUnsafeBytes(of: &digest) { body($0) }
    }

    @inline(__always)
    private func step(_ a: inout UInt32, _ b: UInt32, _ f: UInt32, _ m: UInt32, _ k: UInt32, _ s: UInt32) {
        let x = a &+ f &+ m &+ k
        a = b &+ (x &<< s | x &>> (32 &- s))
    }

    /// One 64-byte block.
    private mutating func compress(_ p: UnsafeRawPointer) {
        func word(_ i: Int) -> UInt32 { UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
        let (m0, m1, m2, m3, m4, m5, m6, m7) = (word(0), word(1), word(2), word(3), word(4), word(5), word(6), word(7))
        let (m8, m9, m10, m11, m12, m13, m14, m15) = (
            word(8), word(9), word(10), word(11), word(12), word(13), word(14), word(15)
        )
        var (a, b, c, d) = (self.a, self.b, self.c, self.d)
        step(&a, b, ((b & c) | (~b & d)), m0, 0xd76aa478, 7)
        step(&d, a, ((a & b) | (~a & c)), m1, 0xe8c7b756, 12)
        step(&c, d, ((d & a) | (~d & b)), m2, 0x242070db, 17)
        step(&b, c, ((c & d) | (~c & a)), m3, 0xc1bdceee, 22)
        step(&a, b, ((b & c) | (~b & d)), m4, 0xf57c0faf, 7)
        step(&d, a, ((a & b) | (~a & c)), m5, 0x4787c62a, 12)
        step(&c, d, ((d & a) | (~d & b)), m6, 0xa8304613, 17)
        step(&b, c, ((c & d) | (~c & a)), m7, 0xfd469501, 22)
        step(&a, b, ((b & c) | (~b & d)), m8, 0x698098d8, 7)
        step(&d, a, ((a & b) | (~a & c)), m9, 0x8b44f7af, 12)
        step(&c, d, ((d & a) | (~d & b)), m10, 0xffff5bb1, 17)
        step(&b, c, ((c & d) | (~c & a)), m11, 0x895cd7be, 22)
        step(&a, b, ((b & c) | (~b & d)), m12, 0x6b901122, 7)
        step(&d, a, ((a & b) | (~a & c)), m13, 0xfd987193, 12)
        step(&c, d, ((d & a) | (~d & b)), m14, 0xa679438e, 17)
        step(&b, c, ((c & d) | (~c & a)), m15, 0x49b40821, 22)
        step(&a, b, ((d & b) | (~d & c)), m1, 0xf61e2562, 5)
        step(&d, a, ((c & a) | (~c & b)), m6, 0xc040b340, 9)
        step(&c, d, ((b & d) | (~b & a)), m11, 0x265e5a51, 14)
        step(&b, c, ((a & c) | (~a & d)), m0, 0xe9b6c7aa, 20)
        step(&a, b, ((d & b) | (~d & c)), m5, 0xd62f105d, 5)
        step(&d, a, ((c & a) | (~c & b)), m10, 0x02441453, 9)
        step(&c, d, ((b & d) | (~b & a)), m15, 0xd8a1e681, 14)
        step(&b, c, ((a & c) | (~a & d)), m4, 0xe7d3fbc8, 20)
        step(&a, b, ((d & b) | (~d & c)), m9, 0x21e1cde6, 5)
        step(&d, a, ((c & a) | (~c & b)), m14, 0xc33707d6, 9)
        step(&c, d, ((b & d) | (~b & a)), m3, 0xf4d50d87, 14)
        step(&b, c, ((a & c) | (~a & d)), m8, 0x455a14ed, 20)
        step(&a, b, ((d & b) | (~d & c)), m13, 0xa9e3e905, 5)
        step(&d, a, ((c & a) | (~c & b)), m2, 0xfcefa3f8, 9)
        step(&c, d, ((b & d) | (~b & a)), m7, 0x676f02d9, 14)
        step(&b, c, ((a & c) | (~a & d)), m12, 0x8d2a4c8a, 20)
        step(&a, b, (b ^ c ^ d), m5, 0xfffa3942, 4)
        step(&d, a, (a ^ b ^ c), m8, 0x8771f681, 11)
        step(&c, d, (d ^ a ^ b), m11, 0x6d9d6122, 16)
        step(&b, c, (c ^ d ^ a), m14, 0xfde5380c, 23)
        step(&a, b, (b ^ c ^ d), m1, 0xa4beea44, 4)
        step(&d, a, (a ^ b ^ c), m4, 0x4bdecfa9, 11)
        step(&c, d, (d ^ a ^ b), m7, 0xf6bb4b60, 16)
        step(&b, c, (c ^ d ^ a), m10, 0xbebfbc70, 23)
        step(&a, b, (b ^ c ^ d), m13, 0x289b7ec6, 4)
        step(&d, a, (a ^ b ^ c), m0, 0xeaa127fa, 11)
        step(&c, d, (d ^ a ^ b), m3, 0xd4ef3085, 16)
        step(&b, c, (c ^ d ^ a), m6, 0x04881d05, 23)
        step(&a, b, (b ^ c ^ d), m9, 0xd9d4d039, 4)
        step(&d, a, (a ^ b ^ c), m12, 0xe6db99e5, 11)
        step(&c, d, (d ^ a ^ b), m15, 0x1fa27cf8, 16)
        step(&b, c, (c ^ d ^ a), m2, 0xc4ac5665, 23)
        step(&a, b, (c ^ (b | ~d)), m0, 0xf4292244, 6)
        step(&d, a, (b ^ (a | ~c)), m7, 0x432aff97, 10)
        step(&c, d, (a ^ (d | ~b)), m14, 0xab9423a7, 15)
        step(&b, c, (d ^ (c | ~a)), m5, 0xfc93a039, 21)
        step(&a, b, (c ^ (b | ~d)), m12, 0x655b59c3, 6)
        step(&d, a, (b ^ (a | ~c)), m3, 0x8f0ccc92, 10)
        step(&c, d, (a ^ (d | ~b)), m10, 0xffeff47d, 15)
        step(&b, c, (d ^ (c | ~a)), m1, 0x85845dd1, 21)
        step(&a, b, (c ^ (b | ~d)), m8, 0x6fa87e4f, 6)
        step(&d, a, (b ^ (a | ~c)), m15, 0xfe2ce6e0, 10)
        step(&c, d, (a ^ (d | ~b)), m6, 0xa3014314, 15)
        step(&b, c, (d ^ (c | ~a)), m13, 0x4e0811a1, 21)
        step(&a, b, (c ^ (b | ~d)), m4, 0xf7537e82, 6)
        step(&d, a, (b ^ (a | ~c)), m11, 0xbd3af235, 10)
        step(&c, d, (a ^ (d | ~b)), m2, 0x2ad7d2bb, 15)
        step(&b, c, (d ^ (c | ~a)), m9, 0xeb86d391, 21)
        self.a &+= a
        self.b &+= b
        self.c &+= c
        self.d &+= d
    }
}
