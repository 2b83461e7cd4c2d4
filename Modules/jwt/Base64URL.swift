/// Base64url without padding (RFC 7515 section 2), the encoding of a JWT's three parts.
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Appends the encoding of `bytes` to `out`.
    static func encode<C: Collection>(_ bytes: C, into out: inout [UInt8]) where C.Element == UInt8 {
        out.reserveCapacity(out.count + (bytes.count * 4 + 2) / 3)
        var it = bytes.makeIterator()
        while let b0 = it.next() {
            let b1 = it.next()
            let b2 = b1 == nil ? nil : it.next()
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | (b1 ?? 0) >> 4)])
            guard let b1 else { break }
            out.append(alphabet[Int((b1 & 0x0F) << 2 | (b2 ?? 0) >> 6)])
            guard let b2 else { break }
            out.append(alphabet[Int(b2 & 0x3F)])
        }
    }

    /// The bytes `text` encodes, or nil when it is not base64url: a byte outside the
    /// alphabet, padding (`=`), a length of 1 modulo 4, or non-zero unused low bits.
    static func decode(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        if text.count % 4 == 1 { return nil }
        return text.withUnsafeBufferPointer { input -> [UInt8]? in
            var failed = false
            var acc: UInt32 = 0
            var bits: UInt32 = 0
            let result = [UInt8](unsafeUninitializedCapacity: input.count * 3 / 4) { out, count in
                for c in input {
                    let v = value(c)
                    if v > 63 {
                        failed = true
                        break
                    }
                    acc = acc << 6 | v
                    bits += 6
                    if bits >= 8 {
                        bits -= 8
                        out[count] = UInt8(truncatingIfNeeded: acc >> bits)
                        count += 1
                        acc &= (1 << bits) - 1
                    }
                }
            }
            return failed || acc != 0 ? nil : result
        }
    }

    /// The 6-bit value of a base64url character, 0xFF for any other byte.
    @inline(__always)
    private static func value(_ c: UInt8) -> UInt32 {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): UInt32(c &- 65)
        case UInt8(ascii: "a")...UInt8(ascii: "z"): UInt32(c &- 71)
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(c &+ 4)
        case UInt8(ascii: "-"): 62
        case UInt8(ascii: "_"): 63
        default: 0xFF
        }
    }
}
