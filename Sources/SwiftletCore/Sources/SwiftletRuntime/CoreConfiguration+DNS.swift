import SwiftletSDK

/// The resolver and multihoming globals (Kamailio's `dns_*`, `use_dns_cache`, `mhomed`,
/// `auto_aliases`), kept apart from the other globals.
struct NetworkConfiguration {
    var dns = DNSSettings()
    /// `mhomed`: choose the UDP send socket by the kernel's route to the destination.
    var mhomed = false
    /// `auto_aliases`: add the reverse-DNS names of the listen addresses as aliases.
    var autoAliases = true
    /// `use_dns_failover`, `use_dst_blocklist`, `dst_blocklist_expire`.
    var destinations = DestinationPolicySettings()

    /// Sets the integer global `name`; false when it is not one of these.
    mutating func set(_ name: String, _ v: Int) -> Bool {
        switch name {
        case "dns_try_ipv6": dns.tryIPv6 = v != 0
        case "dns_try_naptr": dns.tryNAPTR = v != 0
        case "dns_srv_lb": dns.srvLoadBalancing = v != 0
        case "dns_udp_pref": dns.protocolPreference[.udp] = v
        case "dns_tcp_pref": dns.protocolPreference[.tcp] = v
        case "dns_tls_pref": dns.protocolPreference[.tls] = v
        case "dns_sctp_pref": dns.protocolPreference[.sctp] = v
        case "dns_naptr_ignore_rfc": dns.naptrIgnoreRFC = v != 0
        case "dns_retr_time": dns.retransmitSeconds = v > 0 ? v : nil
        case "dns_retr_no": dns.retransmissions = v > 0 ? v : nil
        case "dns_servers_no": dns.serverCount = v > 0 ? v : nil
        case "dns_use_search_list": dns.useSearchList = v != 0
        case "use_dns_cache": dns.useCache = v != 0
        case "dns_cache_negative_ttl": dns.negativeTTL = max(0, v)
        case "dns_cache_min_ttl": dns.minTTL = max(0, v)
        case "dns_cache_max_ttl": dns.maxTTL = max(0, v)
        case "mhomed": mhomed = v != 0
        case "auto_aliases": autoAliases = v != 0
        default: return destinations.set(name, v)
        }
        return true
    }

    /// Accepted without effect (Kamailio's DNS cache memory and failover knobs).
    static let acceptedWithoutEffect: Set<String> = [
        "dns_search_full_match", "dns_cache_flags", "dns_cache_mem", "dns_cache_gc_interval",
        "dns_cache_del_nonexp", "dns_cache_rec_pref", "dns_cache_init", "dns_slow_query_ms",
    ]

    /// Applies `g` when it is one of these globals; nil when it is not, else the errors.
    mutating func apply(_ g: GlobalParameter) -> [ConfigDiagnostic]? {
        if let v = g.intValue {
            if set(g.name, v) { return [] }
        } else if var probe = Optional(self), probe.set(g.name, 0) {
            return [ConfigDiagnostic("'\(g.name)' takes an integer value", at: g.value.first?.location ?? g.location)]
        }
        if NetworkConfiguration.acceptedWithoutEffect.contains(g.name)
            || DestinationPolicySettings.acceptedWithoutEffect.contains(g.name)
        {
            return []
        }
        return nil
    }

    /// The settings the resolver runs with: Kamailio turns `dns_try_ipv6` off when no
    /// listener is IPv6, and NAPTR/SRV choose only among the protocols that are listened on.
    func effectiveDNS(listeners: [ListenAddress]) -> DNSSettings {
        var d = dns
        let hasIPv6 = listeners.contains { IPAddressText.bytes($0.address)?.count == 16 }
        if !hasIPv6 { d.tryIPv6 = false }
        d.supportedProtocols = Set(listeners.map(\.proto))
        return d
    }
}
