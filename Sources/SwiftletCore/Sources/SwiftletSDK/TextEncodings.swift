#if canImport(Glibc)
    import Glibc
#endif

/// Byte encodings used by the transformations: hexadecimal, base64, the `escape_*` family
/// of Kamailio's `strutils.c`, and MD5 (RFC 1321, here so that `{s.md5}` needs no crypto
/// library).
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// Lower-case hex digits, two per byte.
    public static func encode<C: Collection>(_ b: C) -> String where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(b.count * 2)
        for c in b {
            out.append(digits[Int(c >> 4)])
            out.append(digits[Int(c & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The value of a hex digit.
    public static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 97...102: c - 87
        case 65...70: c - 55
        default: nil
        }
    }

    /// Pairs of hex digits to bytes (a trailing odd digit is ignored, as Kamailio does);
    /// nil on a non-hex digit.
    public static func decode(_ b: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        var i = 0
        while i + 1 < b.count {
            guard let h = value(b[i]), let l = value(b[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }
}

public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ b: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            let n = min(3, b.count - i)
            let v = UInt32(b[i]) << 16 | (n > 1 ? UInt32(b[i + 1]) << 8 : 0) | (n > 2 ? UInt32(b[i + 2]) : 0)
            out.append(alphabet[Int(v >> 18 & 63)])
            out.append(alphabet[Int(v >> 12 & 63)])
            out.append(n > 1 ? alphabet[Int(v >> 6 & 63)] : 61)
            out.append(n > 2 ? alphabet[Int(v & 63)] : 61)
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
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

    /// Kamailio's `base64_dec`: nil unless the length is a multiple of 4 (at least 4) with
    /// valid padding; other characters are not checked.
    public static func decode(_ b: [UInt8]) -> [UInt8]? {
        guard b.count >= 4, b.count % 4 == 0, !(b[b.count - 2] == 61 && b[b.count - 1] != 61) else { return nil }
        let size = b.count / 4 * 3 - (b[b.count - 2] == 61 ? 1 : 0) - (b[b.count - 1] == 61 ? 1 : 0)
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            let a = value(b[i])
            let bb = value(b[i + 1])
            let c = value(b[i + 2])
            let d = value(b[i + 3])
            out.append(UInt8(truncatingIfNeeded: a << 2 | bb >> 4))
            out.append(UInt8(truncatingIfNeeded: bb << 4 | c >> 2))
            out.append(UInt8(truncatingIfNeeded: c << 6 | d))
            i += 4
        }
        return Array(out.prefix(size))
    }
}

/// Kamailio's `escape_common`, `escape_user`, `escape_param` and their inverses.
public enum Escaping {
    /// Characters `escape_user` keeps besides letters and digits.
    public static let userUnreserved: Set<UInt8> = Set("-_.!~*'()&=+$,;?".utf8)
    /// Characters `escape_param` keeps besides letters and digits.
    public static let paramUnreserved: Set<UInt8> = Set("-_.!~*'()[]/:&+$".utf8)

    /// A backslash before `'`, `"`, `\`; NUL becomes `\0`.
    public static func escapeCommon(_ b: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for c in b {
            switch c {
            case 39, 34, 92: out += [92, c]
            case 0: out += [92, 48]
            default: out.append(c)
            }
        }
        return out
    }

    /// Removes the backslash of `\'`, `\"`, `\\` and turns `\0` into NUL.
    public static func unescapeCommon(_ b: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            if b[i] == 92, i + 1 < b.count {
                switch b[i + 1] {
                case 39, 34, 92:
                    out.append(b[i + 1])
                    i += 1
                case 48:
                    out.append(0)
                    i += 1
                default: out.append(b[i])
                }
            } else {
                out.append(b[i])
            }
            i += 1
        }
        return out
    }

    /// `%hh` (lower-case) for every byte that is not a letter, a digit or in `keep`; nil for
    /// bytes outside printable ASCII.
    public static func escape(_ b: [UInt8], keeping keep: Set<UInt8>) -> [UInt8]? {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for c in b {
            guard c >= 32, c <= 126 else { return nil }
            if (c >= 48 && c <= 57) || (c | 0x20 >= 97 && c | 0x20 <= 122) || keep.contains(c) {
                out.append(c)
            } else {
                out += [37, digits[Int(c >> 4)], digits[Int(c & 15)]]
            }
        }
        return out
    }

    /// Decodes `%hh`; nil for a bad escape or one that is not printable ASCII.
    public static func unescape(_ b: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            if b[i] == 37 {
                guard i + 2 < b.count, let h = Hex.value(b[i + 1]), let l = Hex.value(b[i + 2]) else { return nil }
                let c = h << 4 | l
                guard c >= 32, c <= 126 else { return nil }
                out.append(c)
                i += 3
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return out
    }
}

/// MD5 (RFC 1321).
public enum MD5 {
    private static let s: [UInt32] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14,
        20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6,
        10, 15, 21,
    ]
    /// K[i] = floor(abs(sin(i + 1)) * 2^32).
    private static let k: [UInt32] = (0..<64).map { i in
        UInt32((sin(Double(i + 1)).magnitude * 4_294_967_296).rounded(.down))
    }

    /// The 16-byte digest.
    public static func digest(_ message: [UInt8]) -> [UInt8] {
        var m = message
        let bitLength = UInt64(message.count) &* 8
        m.append(0x80)
        while m.count % 64 != 56 { m.append(0) }
        for i in 0..<8 { m.append(UInt8(truncatingIfNeeded: bitLength >> (8 * UInt64(i)))) }
        var a0: UInt32 = 0x6745_2301
        var b0: UInt32 = 0xefcd_ab89
        var c0: UInt32 = 0x98ba_dcfe
        var d0: UInt32 = 0x1032_5476
        var w = [UInt32](repeating: 0, count: 16)
        for chunk in stride(from: 0, to: m.count, by: 64) {
            for i in 0..<16 {
                let j = chunk + i * 4
                w[i] = UInt32(m[j]) | UInt32(m[j + 1]) << 8 | UInt32(m[j + 2]) << 16 | UInt32(m[j + 3]) << 24
            }
            var a = a0
            var b = b0
            var c = c0
            var d = d0
            for i in 0..<64 {
                var f: UInt32
                let g: Int
                switch i {
                case 0..<16:
                    f = (b & c) | (~b & d)
                    g = i
                case 16..<32:
                    f = (d & b) | (~d & c)
                    g = (5 * i + 1) % 16
                case 32..<48:
                    f = b ^ c ^ d
                    g = (3 * i + 5) % 16
                default:
                    f = c ^ (b | ~d)
                    g = (7 * i) % 16
                }
                f = f &+ a &+ k[i] &+ w[g]
                a = d
                d = c
                c = b
                b = b &+ (f << s[i] | f >> (32 - s[i]))
            }
            a0 = a0 &+ a
            b0 = b0 &+ b
            c0 = c0 &+ c
            d0 = d0 &+ d
        }
        var out: [UInt8] = []
        for v in [a0, b0, c0, d0] { for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
        return out
    }

    /// The digest as 32 lower-case hex digits.
    public static func hex(_ message: [UInt8]) -> String { Hex.encode(digest(message)) }
}
