import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// Resolving destination hosts (Kamailio's `ds_dns_mode`: 1 at load, 2 at every match of
/// `ds_is_from_list`, 4 again every `ds_dns_interval` seconds, 8 with SRV lookups).
enum DSDNS {
    /// The address of `host` (an IP literal as it is), and with `srv` the port and protocol
    /// SRV chose when the URI named none.
    static func resolve(host rawHost: String, port: Int, proto: TransportProtocol?, srv: Bool)
        -> (address: SocketAddress, port: Int, proto: TransportProtocol?)?
    {
        var host = rawHost
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if let a = SocketAddress(numericHost: host, port: 0) { return (a, port, proto) }
        if srv {
            guard let t = try? NextHop.resolve(host, port: port == 0 ? nil : port, proto: proto) else { return nil }
            var a = t.address
            let p = a.port
            a.port = 0
            return (a, p != 0 ? p : port, t.proto)
        }
        guard var a = try? NextHop.resolve(host, port: 0) else { return nil }
        a.port = 0
        return (a, port, proto)
    }
}

extension DispatcherModule {
    var dnsSRV: Bool { settings.dnsMode & 8 != 0 }

    /// Kamailio's `ds_dns_timer` (`ds_dns_mode` 4): every destination resolved again, outside
    /// the list lock; the new address replaces the old one of the same set and URI.
    func dnsTimer() {
        let targets: [(set: Int, uri: String, host: String, port: Int, proto: TransportProtocol?)] = list.withLock {
            list in
            list.sets.flatMap { s in
                s.destinations.filter { $0.flags & DSState.noDNSResolve == 0 && !$0.host.isEmpty }.map {
                    (s.id, $0.uri, $0.host, $0.port, $0.proto)
                }
            }
        }
        for t in targets {
            guard let r = DSDNS.resolve(host: t.host, port: t.port, proto: t.proto, srv: dnsSRV) else {
                Log.error("dispatcher", "could not resolve \(t.host)")
                continue
            }
            var now = timeval()
            gettimeofday(&now, nil)
            list.withLock { list in
                guard let p = list.position(of: t.set), let i = list.sets[p].index(of: t.uri) else { return }
                list.sets[p].destinations[i].address = r.address
                list.sets[p].destinations[i].port = r.port
                list.sets[p].destinations[i].proto = r.proto
                list.sets[p].destinations[i].dnsTime = (Int(now.tv_sec), Int(now.tv_usec))
            }
        }
    }
}
