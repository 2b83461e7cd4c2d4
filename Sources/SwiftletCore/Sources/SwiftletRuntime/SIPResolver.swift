import SwiftletSDK

/// RFC 3263 resolution of a SIP host as Kamailio 5.6 does it (`sip_hostport2su`,
/// `dns_sip_resolvehost`, `dns_srv_get_he`, `dns_naptr_sip_resolvehost`):
///
/// * an IP literal is used as it is (no DNS);
/// * a port given: A (then AAAA with `dns_try_ipv6`) only;
/// * no port: with `dns_try_naptr` and no protocol, NAPTR records choose the protocol and an
///   SRV name; then SRV (`_sip._udp`, `_sip._tcp`, `_sips._tcp`, `_sip._sctp`) for the
///   protocol (UDP when none; without one and with NAPTR on, each supported protocol in
///   preference order); then A/AAAA at the protocol's default port.
///
/// SRV records are tried by priority, then highest weight first (RFC 2782 weighted random
/// choice with `dns_srv_lb`); the first target with an address wins, with the SRV's port.
public enum SIPResolver {
    /// Where a host resolved to and over which protocol.
    public typealias Target = ResolvedTarget

    /// Resolves `host` with an optional `port` and protocol. The protocol of the result is
    /// `proto` when given, else the one NAPTR/SRV chose, else UDP.
    public static func resolve(
        host: String, port: Int?, proto: TransportProtocol?, resolver: DNSResolver = .shared
    ) -> Target? {
        let fallbackProto = proto ?? .udp
        // The fast path: an IP literal never touches the resolver.
        if let literal = SocketAddress(numericHost: host, port: port ?? NextHop.defaultPort(fallbackProto)) {
            return Target(address: literal, proto: fallbackProto)
        }
        let settings = DNSResolver.settings
        let name = host.hasSuffix(".") ? String(host.dropLast()) : host
        if let port {
            return addressOf(name, port: port, resolver, settings).map { Target(address: $0, proto: fallbackProto) }
        }
        if proto == nil, settings.tryNAPTR {
            if let t = viaNAPTR(name, resolver, settings) { return t }
            for p in srvOrder(settings) {
                if let a = viaSRV(srvName(p, name), resolver, settings) { return Target(address: a, proto: p) }
            }
        } else if fallbackProto != .ws, fallbackProto != .wss {
            if let a = viaSRV(srvName(fallbackProto, name), resolver, settings) {
                return Target(address: a, proto: fallbackProto)
            }
        } else {
            return nil  // Kamailio: no SRV for WebSocket, and no A/AAAA fallback either
        }
        return addressOf(name, port: NextHop.defaultPort(fallbackProto), resolver, settings).map {
            Target(address: $0, proto: fallbackProto)
        }
    }

    /// `_sip._udp.` and friends (Kamailio's `create_srv_name`).
    public static func srvName(_ p: TransportProtocol, _ name: String) -> String {
        switch p {
        case .tcp, .ws: "_sip._tcp." + name
        case .tls, .wss: "_sips._tcp." + name
        case .sctp: "_sip._sctp." + name
        case .udp: "_sip._udp." + name
        }
    }

    /// The first address of `name` (A, then AAAA when allowed) at `port`.
    static func addressOf(_ name: String, port: Int, _ resolver: DNSResolver, _ settings: DNSSettings)
        -> SocketAddress?
    {
        if let literal = SocketAddress(numericHost: name, port: port) { return literal }
        var kinds: [DNSRecord.Kind] = [.a]
        if settings.tryIPv6 { kinds.append(.aaaa) }
        for kind in kinds {
            for r in resolver.lookup(name, kind) {
                if let a = SocketAddress(addressBytes: r.address, port: port) { return a }
            }
        }
        return nil
    }

    /// SRV records of `srvName` in the order they are tried.
    public static func orderedSRV(_ records: [DNSRecord], loadBalancing: Bool) -> [DNSRecord] {
        // Priority ascending, weight descending, ties in answer order (Kamailio's get_record).
        let sorted = records.enumerated().sorted { x, y in
            let (a, b) = (x.element, y.element)
            if a.priority != b.priority { return a.priority < b.priority }
            if a.weight != b.weight { return a.weight > b.weight }
            return x.offset < y.offset
        }.map(\.element)
        guard loadBalancing else { return sorted }
        var result: [DNSRecord] = []
        var i = 0
        while i < sorted.count {
            var j = i
            while j < sorted.count, sorted[j].priority == sorted[i].priority { j += 1 }
            result += weightedOrder(Array(sorted[i..<j]))
            i = j
        }
        return result
    }

    /// RFC 2782: repeatedly pick a record with probability proportional to its weight
    /// (weight 0 records first in the running sum, so they are rarely chosen unless alone).
    static func weightedOrder(_ group: [DNSRecord]) -> [DNSRecord] {
        var rest = group.sorted { $0.weight < $1.weight }
        var out: [DNSRecord] = []
        while !rest.isEmpty {
            let total = rest.reduce(0) { $0 + $1.weight }
            let pick = total == 0 ? 0 : Int.random(in: 0...total)
            var sum = 0
            var chosen = rest.count - 1
            for (k, r) in rest.enumerated() {
                sum += r.weight
                if sum >= pick {
                    chosen = k
                    break
                }
            }
            out.append(rest.remove(at: chosen))
        }
        return out
    }

    /// The first SRV target of `srvName` with an address (Kamailio's `dns_srv_get_he`).
    static func viaSRV(_ srvName: String, _ resolver: DNSResolver, _ settings: DNSSettings) -> SocketAddress? {
        let records = resolver.lookup(srvName, .srv)
        for r in orderedSRV(records, loadBalancing: settings.srvLoadBalancing) where r.target != "." {
            if let a = addressOf(r.target, port: r.port, resolver, settings) { return a }
        }
        return nil
    }

    /// The protocols tried by SRV when neither NAPTR nor the caller chose one: the supported
    /// ones by preference, highest first (Kamailio's `create_srv_pref_list`).
    static func srvOrder(_ settings: DNSSettings) -> [TransportProtocol] {
        let all: [TransportProtocol] = [.udp, .tcp, .tls, .sctp]
        return all.filter(settings.supports).enumerated().sorted { x, y in
            let (a, b) = (settings.preference(x.element), settings.preference(y.element))
            return a != b ? a > b : x.offset < y.offset
        }.map(\.element)
    }

    /// The protocol of a SIP NAPTR record (flags `s`, no regexp, service `SIP+D2U`,
    /// `SIP+D2T`, `SIP+D2S` or `SIPS+D2T`), or nil (Kamailio's `naptr_get_sip_proto`).
    public static func naptrProtocol(_ r: DNSRecord) -> TransportProtocol? {
        guard r.flags.lowercased() == "s", r.regexp.isEmpty else { return nil }
        switch r.services.lowercased() {
        case "sip+d2u": return .udp
        case "sip+d2t": return .tcp
        case "sip+d2s": return .sctp
        case "sips+d2t": return .tls
        default: return nil
        }
    }

    /// The NAPTR records in the order Kamailio tries them (`naptr_sip_iterate` with
    /// `naptr_choose`): with `dns_naptr_ignore_rfc` the preferred protocol first, then
    /// order and preference.
    public static func orderedNAPTR(_ records: [DNSRecord], _ settings: DNSSettings) -> [(
        DNSRecord, TransportProtocol
    )] {
        func score(_ p: TransportProtocol) -> Int {
            let s = settings.preference(p)
            return settings.naptrIgnoreRFC || s < 0 ? s : 1
        }
        var candidates = records.compactMap { r in naptrProtocol(r).map { (r, $0) } }.prefix(32)
            .filter { settings.supports($0.1) && score($0.1) >= 0 }
        var out: [(DNSRecord, TransportProtocol)] = []
        while !candidates.isEmpty {
            var best = 0
            for k in 1..<candidates.count {
                let (n, np) = candidates[k]
                let (c, cp) = candidates[best]
                if cp != np, score(np) > score(cp) {
                    best = k
                } else if !(score(cp) > score(np)),
                    n.priority < c.priority || (n.priority == c.priority && n.weight < c.weight)
                {
                    best = k
                }
            }
            out.append(candidates.remove(at: best))
        }
        return out
    }

    /// NAPTR, then the chosen record's SRV name.
    static func viaNAPTR(_ name: String, _ resolver: DNSResolver, _ settings: DNSSettings) -> Target? {
        for (r, p) in orderedNAPTR(resolver.lookup(name, .naptr), settings) {
            if let a = viaSRV(r.target, resolver, settings) { return Target(address: a, proto: p) }
        }
        return nil
    }
}

extension SocketAddress {
    /// An address from its 4 or 16 bytes and a port.
    public init?(addressBytes b: [UInt8], port: Int) {
        guard b.count == 4 || b.count == 16 else { return nil }
        let text: String
        if b.count == 4 {
            text = b.map(String.init).joined(separator: ".")
        } else {
            text = stride(from: 0, to: 16, by: 2).map { String(Int(b[$0]) << 8 | Int(b[$0 + 1]), radix: 16) }
                .joined(separator: ":")
        }
        self.init(numericHost: text, port: port)
    }
}

/// The core's resolver (`CoreContext.resolver`): RFC 3263 through the system's resolver
/// library with the TTL cache of `DNSResolver.shared`, with the configuration's DNS settings.
final class SystemSIPResolver: SIPNameResolver {
    func resolve(host: String, port: Int?, proto: TransportProtocol?) -> ResolvedTarget? {
        SIPResolver.resolve(host: host, port: port, proto: proto)
    }
}
