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
        guard let via = topVia ?? (try? msg.topVia()) else { return prefix + "00000000" }
        let b = msg.buffer
        let port = via.portRange ?? via.host.upperBound..<via.host.upperBound
        let branch = via.branch?.value ?? port.upperBound..<port.upperBound
        let callID = msg.firstHeader(.callID)?.valueRange ?? 0..<0
        return prefix + Self.crcitt(b, [via.host, port, branch]) + Self.crcitt(b, [port, via.host, callID])
    }

    /// `TagHash.crcitt` (Kamailio's `crcitt_string_array`: CRC-16/CCITT, reflected 0x8408, init
    /// 0xFFFF, complemented, 4 hex digits) a byte at a time from a table instead of a bit at a time.
    static func crcitt(_ b: [UInt8], _ ranges: [Range<Int>]) -> String {
        var crc: UInt16 = 0xFFFF
        crcittTable.withUnsafeBufferPointer { table in
            b.withUnsafeBufferPointer { bytes in
                for r in ranges {
                    precondition(r.lowerBound >= 0 && r.upperBound <= bytes.count, "range outside the message")
                    for i in r { crc = table[Int(UInt8(truncatingIfNeeded: crc) ^ bytes[i])] ^ (crc >> 8) }
                }
            }
        }
        let v = ~crc
        return String(unsafeUninitializedCapacity: 4) { out in
            for i in 0..<4 {
                let d = UInt8(truncatingIfNeeded: v >> UInt16(12 - 4 * i)) & 0xf
                out[i] = d < 10 ? 0x30 + d : 0x57 + d
            }
            return 4
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
