/// Kamailio's `core_case_hash(s, 0, 0)` (`hashes.h`), which htable uses for its cell ids and slots, so that items land in the
/// same slots and are listed (`htable.dump`, iterators) in the same order as in Kamailio.
/// Bytes are read as C `char` (signed), as Kamailio does on x86.
enum CoreCaseHash {
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        // ch_icase(*p): a signed char, with only A-Z lowered.
        @inline(__always) func c(_ i: Int) -> UInt32 {
            let b = bytes[i]
            let lowered = b >= 65 && b <= 90 ? b | 0x20 : b
            return UInt32(bitPattern: Int32(Int8(bitPattern: lowered)))
        }
        var h: UInt32 = 0
        var v: UInt32
        var p = 0
        let end = bytes.count
        while p + 4 <= end {
            v = (c(p) << 24) &+ (c(p + 1) << 16) &+ (c(p + 2) << 8) &+ c(p + 3)
            h = h &+ (v ^ (v >> 3))
            p += 4
        }
        v = 0
        while p < end {
            v <<= 8
            v = v &+ c(p)
            p += 1
        }
        h = h &+ (v ^ (v >> 3))
        return (h &+ (h >> 11)) &+ ((h >> 13) &+ (h >> 23))
    }

    static func hash(_ text: String) -> UInt32 {
        var s = text
        return s.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }
}
