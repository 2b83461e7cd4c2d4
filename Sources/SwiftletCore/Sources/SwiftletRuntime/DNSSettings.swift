import SwiftletSDK

/// The resolver's global parameters (Kamailio's `dns_*` core settings), written once by the
/// runtime at start-up before any worker runs, read-only afterwards.
public struct DNSSettings: Sendable {
    /// `dns_try_ipv6`: AAAA lookups after A (Kamailio turns it off when no listener is IPv6).
    public var tryIPv6 = true
    /// `dns_try_naptr`: NAPTR lookups for a name given without port and protocol.
    public var tryNAPTR = false
    /// `dns_srv_lb`: order SRV records of the same priority by RFC 2782 weighted random
    /// selection instead of highest weight first.
    public var srvLoadBalancing = false
    /// `dns_udp_pref`, `dns_tcp_pref`, `dns_tls_pref`, `dns_sctp_pref`: protocol preferences
    /// for NAPTR choice and the SRV fallback order; a negative value disables the protocol.
    public var protocolPreference: [TransportProtocol: Int] = [.udp: 30, .tcp: 20, .tls: 10, .sctp: 20]
    /// `dns_naptr_ignore_rfc`: choose NAPTR records by protocol preference before order.
    public var naptrIgnoreRFC = true
    /// Protocols the server can send over (NAPTR and SRV choices are limited to them).
    public var supportedProtocols: Set<TransportProtocol> = [.udp, .tcp]
    /// `dns_retr_time` (seconds), `dns_retr_no`, `dns_servers_no`; nil: resolv.conf's.
    public var retransmitSeconds: Int? = nil
    public var retransmissions: Int? = nil
    public var serverCount: Int? = nil
    /// `dns_use_search_list`: use resolv.conf's search list (res_nsearch).
    public var useSearchList = true
    /// `use_dns_cache`: keep answers for their TTL.
    public var useCache = true
    /// `dns_cache_negative_ttl`, `dns_cache_min_ttl`, `dns_cache_max_ttl` (seconds).
    public var negativeTTL = 60
    public var minTTL = 0
    public var maxTTL = 86400
    /// The name server to ask instead of resolv.conf's: an IPv4 address and a port. Set from
    /// the environment variable `SWIFTLET_DNS_SERVER` (`127.0.0.1:5353`), which exists for
    /// tests that run a fake DNS server; not a configuration parameter.
    public var server: (ip: String, port: Int)? = DNSSettings.serverFromEnvironment()

    public init() {}

    /// `SWIFTLET_DNS_SERVER=ip[:port]`, or nil.
    static func serverFromEnvironment() -> (ip: String, port: Int)? {
        guard let raw = getenv("SWIFTLET_DNS_SERVER") else { return nil }
        let text = String(cString: raw)
        let parts = text.split(separator: ":", maxSplits: 1)
        guard let ip = parts.first, !ip.isEmpty else { return nil }
        return (String(ip), parts.count == 2 ? Int(parts[1]) ?? 53 : 53)
    }

    /// The preference score of a protocol (0 for one without a setting).
    func preference(_ p: TransportProtocol) -> Int { protocolPreference[p] ?? 0 }

    /// True when NAPTR and SRV may choose `p`.
    func supports(_ p: TransportProtocol) -> Bool { preference(p) >= 0 && supportedProtocols.contains(p) }
}

/// One DNS resource record as the resolver returns it.
public struct DNSRecord: Sendable, Equatable {
    public enum Kind: Int32, Sendable {
        case a = 1
        case ptr = 12
        case aaaa = 28
        case srv = 33
        case naptr = 35
    }

    public var kind: Kind
    public var ttl: Int
    /// A/AAAA: the address bytes (4 or 16).
    public var address: [UInt8] = []
    /// SRV priority / NAPTR order.
    public var priority = 0
    /// SRV weight / NAPTR preference.
    public var weight = 0
    /// SRV port.
    public var port = 0
    /// SRV target, NAPTR replacement, PTR name.
    public var target = ""
    /// NAPTR flags, services and regexp.
    public var flags = ""
    public var services = ""
    public var regexp = ""

    public init(kind: Kind, ttl: Int = 0) {
        self.kind = kind
        self.ttl = ttl
    }
}

#if canImport(Glibc)
    import Glibc
#endif
