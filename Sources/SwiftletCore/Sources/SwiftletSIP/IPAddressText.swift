#if canImport(Glibc)
    import Glibc
#endif

/// Textual IP address helpers (no name resolution).
public enum IPAddressText {
    /// The binary form of an IPv4 or IPv6 literal (brackets allowed around IPv6), or nil for a host name.
    public static func bytes(_ text: String) -> [UInt8]? {
        var t = Substring(text)
        if t.hasPrefix("["), t.hasSuffix("]") { t = t.dropFirst().dropLast() }
        var v4 = in_addr()
        if inet_pton(AF_INET, String(t), &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, String(t), &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    /// True when `host` (a Via sent-by host) denotes the same address as `ip`.
    /// A host name never matches: Swiftlet does not resolve names here (Kamailio's `dns=no`).
    public static func sameAddress(host: String, ip: String) -> Bool {
        guard let a = bytes(host), let b = bytes(ip) else { return false }
        return a == b
    }
}
