import SwiftletSDK

/// The reversible masking of topoh (Kamailio's `th_mask.c`): base64's bit layout over an
/// alphabet shuffled with the key, `*` as padding.
struct TopohMask: Sendable {
    static let baseAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-".utf8)
    static let pad = UInt8(ascii: "*")

    /// The shuffled alphabet.
    let table: [UInt8]
    /// Symbol -> 6-bit value, -1 when not a symbol.
    let decodeTable: [Int8]

    init(key: [UInt8]) {
        var t = Self.baseAlphabet
        if !key.isEmpty {
            let digest = MD5.digest(key + key)
            var m = [UInt32](repeating: 0, count: 4)
            for k in 0..<4 {
                m[k] =
                    UInt32(digest[4 * k]) | UInt32(digest[4 * k + 1]) << 8 | UInt32(digest[4 * k + 2]) << 16
                    | UInt32(digest[4 * k + 3]) << 24
            }
            let crc = Int(CRC16X25.checksum(key))
            let l = key.count
            for last in stride(from: 64, to: 1, by: -1) {
                let i = crc + last + l
                let signedByte = UInt32(bitPattern: Int32(Int8(bitPattern: key[i % l])))
                let r = Int((m[i % 4] &+ signedByte) % UInt32(last))
                t.swapAt(r, last - 1)
            }
        }
        table = t
        var d = [Int8](repeating: -1, count: 256)
        for (i, c) in t.enumerated() { d[Int(c)] = Int8(i) }
        decodeTable = d
    }

    /// `prefix` followed by the masked `input`.
    func encode(_ input: some Collection<UInt8>, prefix: [UInt8]) -> [UInt8] {
        let bytes = Array(input)
        var out = prefix
        out.reserveCapacity(prefix.count + (bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let block = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out.append(table[Int(block >> 18 & 0x3F)])
            out.append(table[Int(block >> 12 & 0x3F)])
            out.append(table[Int(block >> 6 & 0x3F)])
            out.append(table[Int(block & 0x3F)])
            i += 3
        }
        switch bytes.count - i {
        case 1:
            let block = UInt32(bytes[i]) << 16
            out.append(table[Int(block >> 18 & 0x3F)])
            out.append(table[Int(block >> 12 & 0x3F)])
            out.append(Self.pad)
            out.append(Self.pad)
        case 2:
            let block = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out.append(table[Int(block >> 18 & 0x3F)])
            out.append(table[Int(block >> 12 & 0x3F)])
            out.append(table[Int(block >> 6 & 0x3F)])
            out.append(Self.pad)
        default:
            break
        }
        return out
    }

    /// The unmasked bytes of `input` after skipping `prefixLength` bytes (not compared, as
    /// Kamailio's `th_mask_decode`); nil when a symbol is unknown or the length is wrong.
    func decode(_ input: some Collection<UInt8>, prefixLength: Int) -> [UInt8]? {
        let all = Array(input)
        guard all.count > prefixLength else { return nil }
        let symbols = all[prefixLength...]
        guard symbols.count % 4 == 0 else { return nil }
        var padding = 0
        if symbols.last == Self.pad {
            padding = 1
            if symbols.count >= 2, symbols[symbols.endIndex - 2] == Self.pad { padding = 2 }
        }
        var out: [UInt8] = []
        out.reserveCapacity(symbols.count / 4 * 3)
        var i = symbols.startIndex
        while i < symbols.endIndex {
            var block: UInt32 = 0
            for k in 0..<4 {
                let c = symbols[i + k]
                var v: UInt32 = 0
                if c == Self.pad {
                    guard i + 4 == symbols.endIndex, k >= 4 - padding else { return nil }
                } else {
                    let d = decodeTable[Int(c)]
                    guard d >= 0 else { return nil }
                    v = UInt32(d)
                }
                block = block << 6 | v
            }
            out.append(UInt8(block >> 16 & 0xFF))
            out.append(UInt8(block >> 8 & 0xFF))
            out.append(UInt8(block & 0xFF))
            i += 4
        }
        out.removeLast(padding)
        return out
    }
}

/// CRC-16/X-25 (reflected 0x1021, init 0xFFFF, final xor 0xFFFF): Kamailio's `crcitt_string`.
enum CRC16X25 {
    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var crc: UInt16 = 0xFFFF
        for b in bytes {
            crc ^= UInt16(b)
            for _ in 0..<8 {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x8408 : crc >> 1
            }
        }
        return ~crc
    }
}
