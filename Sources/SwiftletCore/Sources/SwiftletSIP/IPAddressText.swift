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

    /// `ipv4(_:)` over bytes.
    public static func ipv4(_ b: UnsafeRawBufferPointer) -> UInt32? {
        guard b.count >= 7, b.count <= 15 else { return nil }
        var value: UInt32 = 0
        var part: UInt32 = 0
        var digits = 0
        var parts = 0
        for c in b {
            if c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
                if digits > 0, part == 0 { return nil }  // a leading zero
                part = part * 10 + UInt32(c - UInt8(ascii: "0"))
                digits += 1
                guard part <= 255 else { return nil }
            } else if c == UInt8(ascii: "."), digits > 0, parts < 3 {
                value = value << 8 | part
                parts += 1
                part = 0
                digits = 0
            } else {
                return nil
            }
        }
        guard parts == 3, digits > 0 else { return nil }
        return value << 8 | part
    }
}
