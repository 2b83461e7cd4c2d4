/// Kamailio's `core_hash(s, NULL, 0)` (core/hashes.h): the AoR hash usrloc keeps per record
/// (`HashID`), slots are picked with and temp-GRUUs carry.
enum CoreHash {
    static func hash(_ text: String) -> UInt32 {
        var text = text
        return text.withUTF8 { hash($0) }
    }

    /// The hash of UTF-8 bytes (read in place, no copy).
    static func hash(_ utf8: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var h: UInt32 = 0
        // Kamailio reads `char`, signed on x86: bytes >= 0x80 count as negative values.
        func byte(_ i: Int) -> UInt32 { UInt32(bitPattern: Int32(Int8(bitPattern: utf8[i]))) }
        var p = 0
        let end = utf8.count
        while p + 4 <= end {
            let v = (byte(p) << 24) &+ (byte(p + 1) << 16) &+ (byte(p + 2) << 8) &+ byte(p + 3)
            h = h &+ (v ^ (v >> 3))
            p += 4
        }
        var v: UInt32 = 0
        while p < end {
            v = (v << 8) &+ byte(p)
            p += 1
        }
        h = h &+ (v ^ (v >> 3))
        return (h &+ (h >> 11)) &+ ((h >> 13) &+ (h >> 23))
    }
}
