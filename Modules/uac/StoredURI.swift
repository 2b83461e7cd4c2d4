/// The value uac keeps in the Record-Route parameter (`;vsf=`, `;vst=`), bit-compatible
/// with Kamailio's `replace.c`: the old and the new URI XORed (the shorter into the start of
/// the longer), XORed again with `restore_passwd` (repeated), then written in base64 with
/// `-` instead of `=` as padding.
enum StoredURI {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let reverse: [Int8] = {
        var t = [Int8](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = Int8(i) }
        return t
    }()

    /// The parameter value for replacing `old` by `new`.
    static func encode(old: [UInt8], new: [UInt8], password: [UInt8]) -> String {
        var buf: [UInt8]
        if old.count > new.count {
            buf = old
            for i in 0..<new.count { buf[i] ^= new[i] }
        } else {
            buf = new
            for i in 0..<old.count { buf[i] ^= old[i] }
        }
        if !password.isEmpty {
            for i in 0..<buf.count { buf[i] ^= password[i % password.count] }
        }
        return base64(buf)
    }

    /// Kamailio's `encode_uri`: base64 with `-` padding.
    static func base64(_ src: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((src.count + 2) / 3 * 4)
        var idx = 0
        while idx < src.count {
            let left = min(src.count - idx - 1, 2)
            var block = 0
            var r = 16
            for i in 0...left {
                block += Int(src[idx + i]) << r
                r -= 8
            }
            out.append(alphabet[(block >> 18) & 0x3f])
            out.append(alphabet[(block >> 12) & 0x3f])
            out.append(left > 0 ? alphabet[(block >> 6) & 0x3f] : UInt8(ascii: "-"))
            out.append(left > 1 ? alphabet[block & 0x3f] : UInt8(ascii: "-"))
            idx += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Kamailio's `decode_uri`; nil for an empty value or a character outside the alphabet.
    static func decode(_ text: [UInt8]) -> [UInt8]? {
        guard !text.isEmpty else { return nil }
        var n = 0
        var i = text.count - 1
        while i >= 0, text[i] == UInt8(ascii: "-") {
            n += 1
            i -= 1
        }
        let length = ((text.count * 6) >> 3) - n
        guard length >= 0 else { return nil }
        var buf = [UInt8](repeating: 0, count: length)
        let end = text.count - n
        var p = 0
        var idx = 0
        while p < end {
            var block = 0
            var j = 0
            while j < 4, p < end {
                let c = reverse[Int(text[p])]
                p += 1
                guard c >= 0 else { return nil }
                block += Int(c) << (18 - 6 * j)
                j += 1
            }
            var shift = 16
            for k in 0..<3 where idx + k < length {
                buf[idx + k] = UInt8((block >> shift) & 0xff)
                shift -= 8
            }
            idx += 3
        }
        return buf
    }

    /// The URI to put back: the decoded value (decrypted) XORed with the URI now in the
    /// header, cut at the first zero byte; nil when Kamailio refuses it (shorter than the
    /// current URI, empty, or not printable).
    static func restore(stored: [UInt8], current: [UInt8], password: [UInt8]) -> [UInt8]? {
        var new = stored
        if !password.isEmpty {
            for i in 0..<new.count { new[i] ^= password[i % password.count] }
        }
        guard new.count >= current.count else { return nil }
        for i in 0..<current.count {
            new[i] ^= current[i]
            if new[i] == 0 {
                new.removeSubrange(i...)
                break
            }
        }
        guard !new.isEmpty, new.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) else { return nil }
        return new
    }
}
