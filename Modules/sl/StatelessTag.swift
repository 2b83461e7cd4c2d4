import SwiftletSDK

/// To-tags of stateless replies, laid out as Kamailio's: a part fixed per server (32 hex
/// digits derived from a signature and the first listen address and port), a `.`, and
/// 8 hex digits of CRC-16 over the top Via (host, port, branch) and the Call-ID, so that
/// retransmissions get the same tag and the ACK to a negative reply can be recognised.
struct StatelessTag {
    static let length = 32 + 1 + 8
    let prefix: String

    init(firstListener: ListenAddress?) {
        prefix =
            TagHash.hex128([
                "SWIFTLET-stateless", firstListener?.address ?? "", firstListener.map { String($0.port) } ?? "",
            ]) + "."
    }

    /// The tag for a request; `topVia` is its parsed top Via when the caller has it (`via1`).
    func tag(for msg: SIPMessage, topVia: ViaHeader? = nil) -> String {
        prefix + suffix(for: msg, topVia: topVia)
    }

    /// The 8 hex digits after the prefix: a small string, stored inline (the whole tag of
    /// 41 bytes would be allocated).
    func suffix(for msg: SIPMessage, topVia: ViaHeader? = nil) -> String {
        guard let via = topVia ?? (try? msg.topVia()) else { return "00000000" }
        let b = msg.buffer
        let port = via.portRange ?? via.host.upperBound..<via.host.upperBound
        let branch = via.branch?.value ?? port.upperBound..<port.upperBound
        let callID = msg.firstHeader(.callID)?.valueRange ?? 0..<0
        let first = Self.crc(b, via.host, port, branch)
        let second = Self.crc(b, port, via.host, callID)
        return String(unsafeUninitializedCapacity: 8) { out in
            Self.writeHex(first, into: out, at: 0)
            Self.writeHex(second, into: out, at: 4)
            return 8
        }
    }

    /// Whether `b[range]` is the tag of `msg` (without building it).
    func matches(_ b: [UInt8], _ range: Range<Int>, for msg: SIPMessage, topVia: ViaHeader? = nil) -> Bool {
        guard range.count == Self.length else { return false }
        let head = range.lowerBound..<range.lowerBound + Self.length - 8
        return b[head].elementsEqual(prefix.utf8)
            && b[head.upperBound..<range.upperBound].elementsEqual(suffix(for: msg, topVia: topVia).utf8)
    }

    /// The CRC of `TagHash.crcitt` (Kamailio's `crcitt_string_array`: CRC-16/CCITT, reflected
    /// 0x8408, init 0xFFFF, complemented) over three ranges, a byte at a time from a table
    /// instead of a bit at a time.
    static func crc(_ b: [UInt8], _ r1: Range<Int>, _ r2: Range<Int>, _ r3: Range<Int>) -> UInt16 {
        func inside(_ r: Range<Int>) -> Bool { r.lowerBound >= 0 && r.upperBound <= b.count }
        precondition(inside(r1) && inside(r2) && inside(r3), "range outside the message")
        return crcittTable.withUnsafeBufferPointer { table in
            b.withUnsafeBufferPointer { bytes in
                var c: UInt16 = 0xFFFF
                func update(_ r: Range<Int>) {
                    for i in r { c = table[Int(UInt8(truncatingIfNeeded: c) ^ bytes[i])] ^ (c >> 8) }
                }
                update(r1)
                update(r2)
                update(r3)
                return ~c
            }
        }
    }

    /// `v` as 4 lower-case hex digits at `out[at...]`.
    private static func writeHex(_ v: UInt16, into out: UnsafeMutableBufferPointer<UInt8>, at: Int) {
        for i in 0..<4 {
            let d = UInt8(truncatingIfNeeded: v >> UInt16(12 - 4 * i)) & 0xf
            out[at + i] = d < 10 ? 0x30 + d : 0x57 + d
        }
    }

    /// One entry per value of (low byte of the CRC) xor (input byte): the eight
    /// shift-and-xor steps of the bitwise CRC at once.
    static let crcittTable: [UInt16] = (0..<256).map { v in
        var x = UInt16(v)
        for _ in 0..<8 { x = (x & 1) != 0 ? (x >> 1) ^ 0x8408 : x >> 1 }
        return x
    }
}
