import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The addresses of this host's network interfaces (getifaddrs), as Kamailio's
/// `add_interfaces()` reads them: for listening on every address when no `listen=` is given,
/// and for interface names in `listen=udp:eth0:5060` / `-l lo`.
enum InterfaceAddresses {
    struct Entry: Equatable {
        let interface: String
        let ip: String
        let isIPv6: Bool
    }

    /// Every IPv4 and IPv6 address, in the kernel's order.
    static func all() -> [Entry] {
        var result: [Entry] = []
        var list: UnsafeMutablePointer<ifaddrs>? = nil
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var p = list
        while let ifa = p {
            defer { p = ifa.pointee.ifa_next }
            guard let sa = ifa.pointee.ifa_addr else { continue }
            let family = Int32(sa.pointee.sa_family)
            guard family == AF_INET || family == AF_INET6 else { continue }
            var addr = SocketAddress()
            withUnsafeMutableBytes(of: &addr.storage) { dst in
                dst.copyMemory(
                    from: UnsafeRawBufferPointer(
                        start: sa,
                        count: family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size))
            }
            let name = ifa.pointee.ifa_name.map { String(cString: $0) } ?? ""
            result.append(Entry(interface: name, ip: addr.ipString, isIPv6: family == AF_INET6))
        }
        return result
    }

    /// The addresses to listen on for `interface` (nil: every interface), IPv4 and, with
    /// `ipv6` (`auto_bind_ipv6`), IPv6 without link-local ones; duplicates removed.
    static func addresses(of interface: String?, ipv6: Bool) -> [String] {
        var out: [String] = []
        for e in all() where interface == nil || e.interface == interface {
            if e.isIPv6 && (!ipv6 || e.ip.lowercased().hasPrefix("fe80")) { continue }
            if !out.contains(e.ip) { out.append(e.ip) }
        }
        return out
    }

    /// Whether `name` is the name of an interface of this host.
    static func isInterface(_ name: String) -> Bool { all().contains { $0.interface == name } }

    /// Whether a socket can be bound to `ip` here (the address belongs to this host), checked
    /// with a UDP socket on an ephemeral port; the error text when it cannot.
    static func bindProblem(ip: String) -> String? {
        guard let address = SocketAddress(numericHost: ip, port: 0) else { return "'\(ip)' is not an IP address" }
        let fd = socket(ip.contains(":") ? AF_INET6 : AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        defer { close(fd) }
        var storage = address.storage
        let rc = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, address.length) }
        }
        return rc == 0 ? nil : String(cString: strerror(errno))
    }
}
