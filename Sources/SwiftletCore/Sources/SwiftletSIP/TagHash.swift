/// Hashes used to build stateless To-tags (Kamailio's `init_tags` + `calc_crc_suffix` layout:
/// 32 hex digits fixed per server, a `.`, then 8 hex digits derived from the top Via and
/// the Call-ID). The fixed part is not MD5 as in Kamailio: the value is opaque to peers, and
/// a 128-bit FNV-1a pair needs no crypto library in the core.
public enum TagHash {
    /// 32 lowercase hex digits from the given strings.
    public static func hex128(_ parts: [String]) -> String {
        var h = Hex128()
        for part in parts { h.add(part.utf8) }
        return h.digits
    }

    /// `hex128` fed part by part, so that parts can be bytes of a buffer instead of strings:
    /// adding the UTF-8 bytes of each string of `parts` gives `hex128(parts)`.
    public struct Hex128 {
        var h1: UInt64 = 0xcbf2_9ce4_8422_2325
        var h2: UInt64 = 0x8422_2325_cbf2_9ce4

        public init() {}

        /// Adds one part.
        public mutating func add(_ part: some Sequence<UInt8>) {
            for byte in part {
                h1 = (h1 ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
                h2 = (h2 ^ UInt64(byte ^ 0x5a)) &* 0x0000_0100_0000_01b3
            }
            h1 = (h1 ^ 0xff) &* 0x0000_0100_0000_01b3
            h2 = (h2 ^ 0xa5) &* 0x0000_0100_0000_01b3
        }

        /// The 32 lowercase hex digits of the parts added so far.
        public var digits: String { TagHash.hexDigits128(h1, h2) }
    }

    static func hexDigits128(_ h1: UInt64, _ h2: UInt64) -> String {
        String(unsafeUninitializedCapacity: 32) { out in
            var x = h1
            var y = h2
            for i in stride(from: 15, through: 0, by: -1) {
                let d = UInt8(truncatingIfNeeded: x & 0xf)
                let e = UInt8(truncatingIfNeeded: y & 0xf)
                out[i] = d < 10 ? 0x30 + d : 0x57 + d
                out[16 + i] = e < 10 ? 0x30 + e : 0x57 + e
                x >>= 4
                y >>= 4
            }
            return 32
        }
    }

    /// CRC-16/CCITT (reflected polynomial 0x8408, init 0xFFFF, final complement) over the
    /// concatenated byte ranges, as Kamailio's `crcitt_string_array`, printed as 4 hex digits.
    public static func crcitt(_ b: [UInt8], _ ranges: [Range<Int>]) -> String {
        var crc: UInt16 = 0xFFFF
        for r in ranges {
            for i in r {
                var x = (crc ^ UInt16(b[i])) & 0xff
                for _ in 0..<8 { x = (x & 1) != 0 ? (x >> 1) ^ 0x8408 : x >> 1 }
                crc = x ^ (crc >> 8)
            }
        }
        return hexDigits(UInt64(~crc), count: 4)
    }

    private static func hexDigits(_ v: UInt64, count: Int) -> String {
        String(unsafeUninitializedCapacity: count) { out in
            var x = v
            for i in stride(from: count - 1, through: 0, by: -1) {
                let d = UInt8(truncatingIfNeeded: x & 0xf)
                out[i] = d < 10 ? 0x30 + d : 0x57 + d  // 0-9, a-f
                x >>= 4
            }
            return count
        }
    }
}
