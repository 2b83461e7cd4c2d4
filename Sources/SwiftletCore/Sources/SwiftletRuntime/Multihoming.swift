import SwiftletSDK
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `auto_aliases`: the names the listen addresses reverse-resolve to (PTR or /etc/hosts
/// through getnameinfo), added as aliases with the listener's port and protocol, as
/// Kamailio's `fix_hostname` does for a listener given as an IP address.
enum AutoAliases {
    /// The aliases for `listeners` that are IP literals; names already known are left out.
    static func forListeners(_ listeners: [ListenAddress], existing: [LocalAlias]) -> [LocalAlias] {
        var out: [LocalAlias] = []
        var cache: [String: String?] = [:]
        for l in listeners {
            guard IPAddressText.bytes(l.address) != nil else { continue }
            let name: String?
            if let known = cache[l.address] {
                name = known
            } else {
                name = reverseName(l.address)
                cache[l.address] = name
            }
            guard let name, IPAddressText.bytes(name) == nil else { continue }
            let alias = LocalAlias(host: name, port: l.port, proto: l.proto)
            if !existing.contains(alias), !out.contains(alias) { out.append(alias) }
        }
        return out
    }

    /// The reverse name of an IP address, or nil.
    static func reverseName(_ ip: String) -> String? {
        guard let a = SocketAddress(numericHost: ip, port: 0) else { return nil }
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let rc = a.withSockaddr { sa, len in
            getnameinfo(sa, len, &host, socklen_t(host.count), nil, 0, NI_NAMEREQD)
        }
        guard rc == 0 else { return nil }
        let end = host.firstIndex(of: 0) ?? host.count
        return String(decoding: host[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// `mhomed=1`: the UDP socket to send from is the listener on the address the kernel's
/// routing table picks as source for the destination (a UDP socket connected to it, then
/// getsockname), cached per destination address (Kamailio's `get_out_socket`).
final class RouteSocketChooser: Sendable {
    private let sockets: [ListeningSocket]
    private let cache = Mutex<[[UInt8]: Int]>([:])
    private static let noSocket = -1

    init(sockets: [ListeningSocket]) { self.sockets = sockets.filter { $0.proto == .udp } }

    /// The UDP listener on the kernel's source address for `destination`, or nil (Kamailio
    /// then refuses to send: "no corresponding socket found").
    func socket(for destination: SocketAddress) -> ListeningSocket? {
        let key = destination.addressBytes
        if let i = cache.withLock({ $0[key] }) { return i == RouteSocketChooser.noSocket ? nil : sockets[i] }
        let found = lookup(destination)
        cache.withLock { c in
            if c.count > 4096 { c.removeAll() }
            c[key] = found ?? RouteSocketChooser.noSocket
        }
        return found.map { sockets[$0] }
    }

    private func lookup(_ destination: SocketAddress) -> Int? {
        guard let source = RouteSocketChooser.sourceAddress(toward: destination) else {
            Log.error("core", "no socket found for udp:\(destination): no route")
            return nil
        }
        let bytes = source.addressBytes
        if let i = sockets.firstIndex(where: { $0.address.addressBytes == bytes }) { return i }
        // A wildcard listener (0.0.0.0 / ::) of the family also receives on that address.
        if let i = sockets.firstIndex(where: {
            $0.address.family == source.family && $0.address.addressBytes.allSatisfy { $0 == 0 }
        }) {
            return i
        }
        Log.error("core", "no corresponding socket found for(udp:\(destination)): source \(source.ipString)")
        return nil
    }

    /// The local address the kernel would send from to reach `destination`.
    static func sourceAddress(toward destination: SocketAddress) -> SocketAddress? {
        let fd = Glibc.socket(destination.family, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var target = destination
        if target.port == 0 { target.port = 9 }
        guard target.withSockaddr({ connect(fd, $0, $1) }) == 0 else { return nil }
        var local = SocketAddress()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &local.storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard rc == 0 else { return nil }
        local.length = len
        return local
    }
}
