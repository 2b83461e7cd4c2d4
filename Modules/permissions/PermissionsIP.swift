#if canImport(Glibc)
    import Glibc
#endif

/// An IPv4 or IPv6 address as Kamailio's `ip_addr_t` keeps it (family and network-order bytes).
struct IPAddress: Sendable, Equatable {
    var bytes: [UInt8]
    var isIPv6: Bool { bytes.count == 16 }

    /// Kamailio's `strtoipX`: IPv6 when the text starts with `[` or holds a `:` (brackets
    /// allowed), IPv4 otherwise; nil when it is not an address (a domain name).
    init?(_ text: String) {
        var t = Substring(text)
        if t.first == "[" || t.contains(":") {
            if t.first == "[" {
                guard t.last == "]" else { return nil }
                t = t.dropFirst().dropLast()
            }
            var a = in6_addr()
            guard inet_pton(AF_INET6, String(t), &a) == 1 else { return nil }
            bytes = withUnsafeBytes(of: &a) { Array($0) }
        } else {
            // str2ip: four decimal parts, nothing else.
            let parts = t.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            var b: [UInt8] = []
            for p in parts {
                guard !p.isEmpty, p.count <= 3, p.allSatisfy(\.isNumber), let v = Int(p), v <= 255 else { return nil }
                b.append(UInt8(v))
            }
            bytes = b
        }
    }

    /// Kamailio's `ip_addr2a`: IPv4 dotted, IPv6 as `inet_ntop` writes it (the default
    /// `ipv6_hex_style` "c": lower case, `::` compression).
    var text: String {
        if !isIPv6 { return bytes.map { String($0) }.joined(separator: ".") }
        var out = [CChar](repeating: 0, count: 64)
        var b = bytes
        guard inet_ntop(AF_INET6, &b, &out, 64) != nil else { return "" }
        return String(cString: out)
    }

    /// Kamailio's `ip_addr_match_net`: the first `mask` bits are equal (0 matches anything).
    func inNetwork(_ net: IPAddress, mask: Int) -> Bool {
        if mask == 0 { return true }
        guard bytes.count == net.bytes.count, mask <= bytes.count * 8 else { return false }
        let full = mask / 8
        for i in 0..<full where bytes[i] != net.bytes[i] { return false }
        let bits = mask % 8
        if bits == 0 { return true }
        let m = UInt8(truncatingIfNeeded: ~((1 << (8 - bits)) - 1))
        return bytes[full] & m == net.bytes[full] & m
    }
}

/// Kamailio's `perm_hash`: `core_hash(s, 0, PERM_HASH_SIZE)` over bytes (`char` is signed).
enum PermHash {
    static let size = 128

    static func bucket(_ b: [UInt8]) -> Int {
        func ch(_ i: Int) -> UInt32 { UInt32(bitPattern: Int32(Int8(bitPattern: b[i]))) }
        var h: UInt32 = 0
        var p = 0
        while p + 4 <= b.count {
            let v = (ch(p) << 24) &+ (ch(p + 1) << 16) &+ (ch(p + 2) << 8) &+ ch(p + 3)
            h = h &+ (v ^ (v >> 3))
            p += 4
        }
        var v: UInt32 = 0
        while p < b.count {
            v = (v << 8) &+ ch(p)
            p += 1
        }
        h = h &+ (v ^ (v >> 3))
        h = (h &+ (h >> 11)) &+ ((h >> 13) &+ (h >> 23))
        return Int(h & UInt32(size - 1))
    }

    /// The bucket of an address: the hash of its first four bytes.
    static func bucket(_ a: IPAddress) -> Int { bucket(Array(a.bytes.prefix(4))) }

    static func bucket(_ s: String) -> Int { bucket(Array(s.utf8)) }
}
