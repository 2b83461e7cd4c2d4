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
        let code = suffixCode(for: msg, via: via)
        return String(unsafeUninitializedCapacity: 8) { out in
            guard let p = out.baseAddress else { return 0 }
            StatelessReply.writeHex(code, to: p)
            return 8
        }
    }

    /// The two CRCs of the suffix as one number (the first in the high half), whose 8 hex
    /// digits are the suffix (`StatelessReply.toTagSuffixCode`): no string per reply.
    func suffixCode(for msg: SIPMessage, via: ViaHeader) -> UInt32 {
        let b = msg.buffer
        let port = via.portRange ?? via.host.upperBound..<via.host.upperBound
        let branch = via.branch?.value ?? port.upperBound..<port.upperBound
        let callID = msg.firstHeader(.callID)?.valueRange ?? 0..<0
        let first = Self.crc(b, via.host, port, branch)
        let second = Self.crc(b, port, via.host, callID)
        return UInt32(first) << 16 | UInt32(second)
    }

    /// Whether `b[range]` is the tag of `msg` (without building it).
    func matches(_ b: [UInt8], _ range: Range<Int>, for msg: SIPMessage, topVia: ViaHeader? = nil) -> Bool {
        guard range.count == Self.length else { return false }
        let head = range.lowerBound..<range.lowerBound + Self.length - 8
        return b[head].elementsEqual(prefix.utf8)
            && b[head.upperBound..<range.upperBound].elementsEqual(suffix(for: msg, topVia: topVia).utf8)
    }

    /// The CRC of `TagHash.crcitt` (Kamailio's `crcitt_string_array`: CRC-16/CCITT, reflected
    /// 0x8408, init 0xFFFF, complemented) over three ranges, four bytes at a time from four
    /// tables (then byte by byte from the first), instead of a bit at a time.
    static func crc(_ b: [UInt8], _ r1: Range<Int>, _ r2: Range<Int>, _ r3: Range<Int>) -> UInt16 {
        func inside(_ r: Range<Int>) -> Bool { r.lowerBound >= 0 && r.upperBound <= b.count }
        precondition(inside(r1) && inside(r2) && inside(r3), "range outside the message")
        return crcittTables.withUnsafeBufferPointer { t in
            b.withUnsafeBufferPointer { bytes in
                let base = bytes.baseAddress!
                var c: UInt16 = 0xFFFF
                func update(_ r: Range<Int>) {
                    var p = base + r.lowerBound
                    let end = base + r.upperBound
                    // Four steps of the byte-wise update at once: the CRC's two bytes meet the
                    // first two input bytes; each of the four then goes through the table of a
                    // byte followed by as many zero bytes as come after it in the group.
                    while end - p >= 4 {
                        let x = c ^ (UInt16(p[0]) | UInt16(p[1]) << 8)
                        c = t[768 + Int(x & 0xFF)] ^ t[512 + Int(x >> 8)] ^ t[256 + Int(p[2])] ^ t[Int(p[3])]
                        p += 4
                    }
                    while p < end {
                        c = t[Int(UInt8(truncatingIfNeeded: c) ^ p[0])] ^ (c >> 8)
                        p += 1
                    }
                }
                update(r1)
                update(r2)
                update(r3)
                return ~c
            }
        }
    }

    /// One entry per value of (low byte of the CRC) xor (input byte): the eight
    /// shift-and-xor steps of the bitwise CRC at once.
    static let crcittTable: [UInt16] = (0..<256).map { v in
        var x = UInt16(v)
        for _ in 0..<8 { x = (x & 1) != 0 ? (x >> 1) ^ 0x8408 : x >> 1 }
        return x
    }

    /// Four tables of 256 entries: `crcittTable` (a byte), then the same followed by the steps
    /// of one, two and three zero bytes (for the bytes three, two and one places before the end
    /// of a group of four in `crc`).
    static let crcittTables: [UInt16] = {
        let step = { (v: UInt16) in crcittTable[Int(v & 0xFF)] ^ (v >> 8) }
        let two = crcittTable.map(step)
        let three = two.map(step)
        return crcittTable + two + three + three.map(step)
    }()
}
