import SwiftletSDK

/// `modparam("corex", "alias_subdomains", "[proto:]domain[:port]")`: the domain and every
/// subdomain of it are this server in `myself` checks (Kamailio's `corex_check_self`,
/// registered as a check-self callback of the core).
final class AliasSubdomains: @unchecked Sendable {
    struct Alias: Equatable {
        var domain: String
        /// 0: any port.
        var port: Int
        /// nil: any protocol.
        var proto: TransportProtocol?
    }

    /// Newest first, as Kamailio's list (only set while modparams are read).
    private(set) var list: [Alias] = []

    /// Parses one parameter value as Kamailio does: a text of 3 or 4 characters before the
    /// first colon must be a protocol (`udp`, `tcp`, `tls`, `sctp`); a port that is not a
    /// number is 0 (any).
    func add(_ value: String) throws(FixupError) {
        list.insert(try Self.parse(value), at: 0)
    }

    static func parse(_ value: String) throws(FixupError) -> Alias {
        let bad = FixupError("error adding alias subdomains: \(value)")
        guard let colon = value.firstIndex(of: ":") else {
            guard !value.isEmpty else { throw bad }
            return Alias(domain: value, port: 0, proto: nil)
        }
        let head = value[..<colon]
        let rest = value[value.index(after: colon)...]
        var proto: TransportProtocol? = nil
        if head.count == 3 || head.count == 4 {
            switch head.lowercased() {
            case "udp": proto = .udp
            case "tcp": proto = .tcp
            case "tls": proto = .tls
            case "sctp": proto = .sctp
            default: throw FixupError("invalid protocol \(head) in alias subdomains: \(value)")
            }
            guard !rest.isEmpty else { throw bad }
            guard let c = rest.firstIndex(of: ":") else { return Alias(domain: String(rest), port: 0, proto: proto) }
            let domain = String(rest[..<c])
            guard !domain.isEmpty else { throw bad }
            return Alias(domain: domain, port: portValue(rest[rest.index(after: c)...]), proto: proto)
        }
        guard !head.isEmpty, !rest.isEmpty else { throw bad }
        return Alias(domain: String(head), port: portValue(rest), proto: nil)
    }

    /// Kamailio's `str2s`: the number, or 0 when it is not one.
    private static func portValue(_ s: Substring) -> Int {
        guard let p = Int(s), (0...65535).contains(p) else { return 0 }
        return p
    }

    /// True when `host` is one of the domains or a subdomain of one (any case), with a port
    /// and protocol that fit (0 / nil on either side: any).
    func matches(host: String, port: Int, proto: TransportProtocol?) -> Bool {
        let h = Array(host.lowercased().utf8)
        for a in list {
            let d = Array(a.domain.lowercased().utf8)
            if h.count < d.count { continue }
            if a.port != 0, port != 0, a.port != port { continue }
            if let p = a.proto, let proto, p != proto { continue }
            if h == d { return true }
            if h.count > d.count, Array(h[(h.count - d.count)...]) == d, h[h.count - d.count - 1] == UInt8(ascii: ".") {
                return true
            }
        }
        return false
    }

    /// Registers the check with the core when there are domains (corex's `mod_init`).
    func register() {
        guard !list.isEmpty else { return }
        MyselfCallbacks.register("corex") { [self] host, port, proto in matches(host: host, port: port, proto: proto) }
    }
}
