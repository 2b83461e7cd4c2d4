#if canImport(Glibc)
    import Glibc
#endif

/// Textual IP address helpers (no name resolution).
public enum IPAddressText {
    /// The binary form of an IPv4 or IPv6 literal (brackets allowed around IPv6), or nil for a host name.
    public static func bytes(_ text: String) -> [UInt8]? {
        var t = Substring(text)
        if t.utf8.first == UInt8(ascii: "["), t.utf8.last == UInt8(ascii: "]") { t = t.dropFirst().dropLast() }
        // Dotted-quad IPv4 (the usual case) without inet_pton and its copies.
        if let v4 = ipv4(t) {
            return [
                UInt8(truncatingIfNeeded: v4 >> 24), UInt8(truncatingIfNeeded: v4 >> 16),
                UInt8(truncatingIfNeeded: v4 >> 8), UInt8(truncatingIfNeeded: v4),
            ]
        }
        guard t.utf8.contains(UInt8(ascii: ":")) else { return nil }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, String(t), &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    /// True when `host` (a Via sent-by host) denotes the same address as `ip`.
    /// A host name never matches: Swiftlet does not resolve names here (Kamailio's `dns=no`).
    public static func sameAddress(host: String, ip: String) -> Bool {
        if let a = ipv4(host) { return ipv4(ip) == a }
        guard let a = bytes(host), let b = bytes(ip) else { return false }
        return a == b
    }

    /// An IPv4 literal as `inet_pton(AF_INET)` accepts it (four decimal parts of 0-255,
    /// no leading zeros), as a number in host order; nil for anything else.
    public static func ipv4<S: StringProtocol>(_ text: S) -> UInt32? {
        if let v = text.utf8.withContiguousStorageIfAvailable({ ipv4(UnsafeRawBufferPointer($0)) }) { return v }
        var copy = String(text)
        return copy.withUTF8 { ipv4(UnsafeRawBufferPointer($0)) }
    }

    /// `ipv4(_:)` for a String: read in its UTF-8 storage (the generic version is not
    /// specialized in other modules, and dispatches through the protocol's witnesses).
    public static func ipv4(_ text: String) -> UInt32? {
        var text = text
        return text.withUTF8 { ipv4(UnsafeRawBufferPointer($0)) }
    }

    /// `ipv4(_:)` for a Substring, read in place when its storage is native UTF-8.
    public static func ipv4(_ text: Substring) -> UInt32? {
        if let v = text.utf8.withContiguousStorageIfAvailable({ ipv4(UnsafeRawBufferPointer($0)) }) { return v }
        return ipv4(String(text))
    }

    /// `ipv4(_:)` over bytes: each part read digit by digit without a loop over the whole
    /// text (this runs for every Via and Route host checked against the source or this server).
    public static func ipv4(_ b: UnsafeRawBufferPointer) -> UInt32? {
        let n = b.count
        guard n >= 7, n <= 15 else { return nil }
        var i = 0
        var value: UInt32 = 0
        for part in 0..<4 {
            if part > 0 {
                guard i < n, b[i] == UInt8(ascii: ".") else { return nil }
                i += 1
            }
            guard i < n else { return nil }
            let first = b[i] &- UInt8(ascii: "0")
            guard first < 10 else { return nil }
            i += 1
            var v = UInt32(first)
            // No leading zero: a part that starts with 0 is that digit alone.
            if first != 0, i < n {
                let second = b[i] &- UInt8(ascii: "0")
                if second < 10 {
                    v = v &* 10 &+ UInt32(second)
                    i += 1
                    if i < n {
                        let third = b[i] &- UInt8(ascii: "0")
                        if third < 10 {
                            v = v &* 10 &+ UInt32(third)
                            i += 1
                            guard v <= 255 else { return nil }
                        }
                    }
                }
            }
            value = value << 8 | v
        }
        // Anything after the fourth part (a digit more, a fifth part, a space) is not an address.
        return i == n ? value : nil
    }
}
