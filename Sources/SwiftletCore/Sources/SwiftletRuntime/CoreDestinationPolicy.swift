import SwiftletSDK

/// `use_dns_failover`, `use_dst_blocklist`, `dst_blocklist_expire` (`dst_blocklist_ttl`) and
/// the blocklist knobs that are accepted without effect.
struct DestinationPolicySettings {
    var useDNSFailover = false
    var useBlocklist = false
    /// Seconds (Kamailio's `DEFAULT_BLST_TIMEOUT`).
    var blocklistExpire = 60

    /// Sets the integer global `name`; false when it is not one of these.
    mutating func set(_ name: String, _ v: Int) -> Bool {
        switch name {
        case "use_dns_failover": useDNSFailover = v != 0
        case "use_dst_blocklist": useBlocklist = v != 0
        case "dst_blocklist_expire", "dst_blocklist_ttl": blocklistExpire = max(0, v)
        default: return false
        }
        return true
    }

    /// Accepted without effect (memory bound, garbage collection, per-protocol ignore masks).
    static let acceptedWithoutEffect: Set<String> = [
        "dst_blocklist_mem", "dst_blocklist_gc_interval", "dst_blocklist_init", "dst_blocklist_udp_imask",
        "dst_blocklist_tcp_imask", "dst_blocklist_tls_imask", "dst_blocklist_sctp_imask",
    ]
}

/// The runtime's `DestinationPolicy`, offered to modules through the core's API registry.
final class CoreDestinationPolicy: DestinationPolicy {
    let useDNSFailover: Bool
    let blocklist: DestinationBlocklist?

    init(_ settings: DestinationPolicySettings, timers: any TimerScheduling) {
        useDNSFailover = settings.useDNSFailover
        blocklist =
            settings.useBlocklist
            ? DestinationBlocklist(defaultSeconds: settings.blocklistExpire, ticks: { [timers] in timers.ticks }) : nil
    }
}

extension SIPResolver {
    /// Every target of `host` in the order Kamailio's DNS failover walks them
    /// (`dns_srv_handle_next`): an IP literal alone; with a port, every A (then AAAA) address;
    /// without, each NAPTR choice's or the protocol's SRV records in order, every address of
    /// each target at the record's port, else the name's addresses at the default port.
    public static func resolveAll(
        host: String, port: Int?, proto: TransportProtocol?, resolver: DNSResolver = .shared
    ) -> [Target] {
        let fallbackProto = proto ?? .udp
        if let literal = SocketAddress(numericHost: host, port: port ?? NextHop.defaultPort(fallbackProto)) {
            return [Target(address: literal, proto: fallbackProto)]
        }
        guard let first = resolve(host: host, port: port, proto: proto, resolver: resolver) else { return [] }
        let settings = DNSResolver.settings
        let name = host.hasSuffix(".") ? String(host.dropLast()) : host
        var all: [Target]
        if let port {
            all = addresses(name, port: port, resolver, settings).map { Target(address: $0, proto: first.proto) }
        } else {
            let srv = allViaSRV(srvName(first.proto, name), resolver, settings)
            all =
                srv.isEmpty
                ? addresses(name, port: NextHop.defaultPort(first.proto), resolver, settings)
                    .map { Target(address: $0, proto: first.proto) }
                : srv.map { Target(address: $0, proto: first.proto) }
        }
        // The first target stays first (NAPTR may have chosen it through another SRV name).
        all.removeAll { $0 == first }
        return [first] + all
    }

    /// Every address of `name` (A, then AAAA when allowed) at `port`.
    static func addresses(_ name: String, port: Int, _ resolver: DNSResolver, _ settings: DNSSettings)
        -> [SocketAddress]
    {
        var kinds: [DNSRecord.Kind] = [.a]
        if settings.tryIPv6 { kinds.append(.aaaa) }
        return kinds.flatMap { kind in
            resolver.lookup(name, kind).compactMap { SocketAddress(addressBytes: $0.address, port: port) }
        }
    }

    /// Every address of every SRV target of `srvName`, in the order they are tried.
    static func allViaSRV(_ srvName: String, _ resolver: DNSResolver, _ settings: DNSSettings) -> [SocketAddress] {
        let records = resolver.lookup(srvName, .srv)
        return orderedSRV(records, loadBalancing: settings.srvLoadBalancing).filter { $0.target != "." }.flatMap {
            r in
            if let literal = SocketAddress(numericHost: r.target, port: r.port) { return [literal] }
            return addresses(r.target, port: r.port, resolver, settings)
        }
    }
}

extension SystemSIPResolver: SIPNameListResolver {
    func resolveAll(host: String, port: Int?, proto: TransportProtocol?) -> [ResolvedTarget] {
        SIPResolver.resolveAll(host: host, port: port, proto: proto)
    }
}
