/// Lookups over the server's own sockets and names, as Kamailio's `socket_info.c`
/// (`grep_sock_info`, `ksr_get_socket_by_name`, ...) and `name_alias.h` offer them, plus the
/// hook modules use to extend the `myself` check (Kamailio's `register_check_self_func`).

/// An `alias=` of the configuration, as the core keeps it (Kamailio's `host_alias`).
public struct LocalAlias: Sendable, Equatable {
    public var host: String
    /// nil: any port.
    public var port: Int?
    /// nil: any protocol.
    public var proto: TransportProtocol?

    public init(host: String, port: Int?, proto: TransportProtocol?) {
        self.host = host
        self.port = port
        self.proto = proto
    }
}

/// Extra `myself` checks registered by modules (corex's `alias_subdomains`): the core asks
/// them when a host is neither a listen address nor an `alias=` (Kamailio's `check_self`).
public enum MyselfCallbacks {
    /// A check: host (as written, IPv6 possibly in brackets), port (0: any) and protocol
    /// (nil: any).
    public typealias Check = @Sendable (_ host: String, _ port: Int, _ proto: TransportProtocol?) -> Bool

    nonisolated(unsafe) private static var checks: [String: Check] = [:]

    /// Registers (or replaces) the check of `owner`; called from `mod_init`.
    public static func register(_ owner: String, _ check: @escaping Check) { checks[owner] = check }

    /// Removes every check (a configuration loaded again in the same process, in tests).
    public static func removeAll() { checks.removeAll() }

    /// True when some check is registered (`core.aliases_list` reports it).
    public static var isSet: Bool { !checks.isEmpty }

    /// True when a registered check accepts the host.
    public static func run(host: String, port: Int?, proto: TransportProtocol?) -> Bool {
        for (_, check) in checks where check(host, port ?? 0, proto) { return true }
        return false
    }
}

extension ListeningSocket: Equatable {
    /// Sockets are the same object (Kamailio compares `socket_info` pointers).
    public static func == (a: ListeningSocket, b: ListeningSocket) -> Bool { a === b }
}

extension ListeningSocket {
    /// Kamailio's `sock_str`: `udp:127.0.0.1:5060`, `udp:[::1]:5060`.
    public var socketString: String { listen.description }

    /// Kamailio's `useinfo.sock_str`: `udp:10.0.0.1:5060` for `advertise 10.0.0.1`, or nil.
    public var advertisedSocketString: String? {
        guard let a = listen.advertisedAddress else { return nil }
        let host = a.contains(":") && !a.hasPrefix("[") ? "[\(a)]" : a
        return "\(proto.rawValue):\(host):\(listen.advertisedPort ?? listen.port)"
    }

    /// The `name "..."` of the `listen=` line, or nil.
    public var name: String? { listen.name }

    /// Kamailio's protocol list order (`next_proto`): UDP, TCP, TLS, SCTP, then WS and WSS.
    public var protocolRank: Int {
        switch proto {
        case .udp: 0
        case .tcp: 1
        case .tls: 2
        case .sctp: 3
        case .ws: 4
        case .wss: 5
        }
    }
}

/// Finds the server's sockets the way Kamailio does.
public enum LocalSockets {
    /// The sockets in Kamailio's order: by protocol (UDP, TCP, TLS, SCTP), each in
    /// configuration order. Empty before start-up.
    public static var ordered: [ListeningSocket] {
        let all = CoreContext.current.transport?.sockets ?? []
        return all.enumerated().sorted { ($0.element.protocolRank, $0.offset) < ($1.element.protocolRank, $1.offset) }
            .map(\.element)
    }

    /// Kamailio's `grep_sock_info`: the socket whose address, name or advertised address is
    /// `host` (IPv6 with or without brackets) with `port` (0: any; the advertised port also
    /// matches) over `proto` (nil: any).
    public static func find(host: String, port: Int, proto: TransportProtocol?) -> ListeningSocket? {
        var h = Substring(host)
        if h.count > 2, h.hasPrefix("["), h.hasSuffix("]") { h = h.dropFirst().dropLast() }
        let name = String(h)
        for s in ordered {
            if let proto, s.proto != proto { continue }
            if port != 0, s.listen.port != port, s.listen.advertisedPort != port { continue }
            if sameHost(name, s.listen.address) || sameHost(name, s.address.ipString) { return s }
            if let a = s.listen.advertisedAddress, sameHost(name, a) { return s }
        }
        return nil
    }

    /// Kamailio's `ksr_get_socket_by_name`: the socket with `name "..."` (any case).
    public static func find(name: String) -> ListeningSocket? {
        let lower = name.lowercased()
        return ordered.first { $0.name?.lowercased() == lower }
    }

    /// Kamailio's `ksr_get_socket_by_listen`: the socket whose `sock_str` is `text` (any case).
    public static func find(listen text: String) -> ListeningSocket? {
        let lower = text.lowercased()
        return ordered.first { $0.socketString.lowercased() == lower }
    }

    /// Kamailio's `ksr_get_socket_by_advertise`: the socket whose advertised `sock_str` is `text`.
    public static func find(advertise text: String) -> ListeningSocket? {
        let lower = text.lowercased()
        return ordered.first { $0.advertisedSocketString?.lowercased() == lower }
    }

    /// Kamailio's `ksr_get_socket_by_index` (negative counts from the end).
    public static func find(index: Int) -> ListeningSocket? {
        let all = ordered
        let i = index < 0 ? index + all.count : index
        return i >= 0 && i < all.count ? all[i] : nil
    }

    /// Kamailio's `gindex` of a socket: its position among the named sockets, 0 for others.
    public static func globalIndex(of socket: ListeningSocket) -> Int {
        ordered.filter { $0.name != nil }.firstIndex { $0 === socket } ?? 0
    }

    private static func sameHost(_ a: String, _ b: String) -> Bool {
        if a.lowercased() == b.lowercased() { return true }
        guard let x = IPAddressText.bytes(a), let y = IPAddressText.bytes(b) else { return false }
        return x == y
    }
}

/// Kamailio's `parse_phostport`: `[proto:]host[:port]` (IPv6 in brackets), port 0 when not
/// given, protocol nil when not given. Nil when malformed.
public struct ProtoHostPort: Equatable, Sendable {
    public var proto: TransportProtocol?
    public var host: String
    public var port: Int

    public init?(_ text: String) {
        guard let (proto, host, port) = Self.split(Substring(text.trimmingCharacters())) else { return nil }
        self.proto = proto
        self.host = String(host)
        self.port = port ?? 0
    }

    /// `[proto:]host[:port]` taken apart as written, without trimming (the parser of
    /// `ProtoHostPort` and of the core's `force_send_socket()`, `forward(host)` and `$fs`): the
    /// protocol when the text starts with a known one and a colon; the host, an IPv6 reference
    /// with its brackets (an IPv6 address without brackets is all host: there is no port); the
    /// port (1-65535) when one is given. Nil when the port is not a number in range, something
    /// other than `:port` follows the `]`, or the host is empty.
    public static func split(_ text: Substring) -> (proto: TransportProtocol?, host: Substring, port: Int?)? {
        var rest = text
        var proto: TransportProtocol? = nil
        if let colon = rest.firstIndex(of: ":"), let p = NextHop.transport(named: String(rest[..<colon])) {
            proto = p
            rest = rest[rest.index(after: colon)...]
        }
        let host: Substring
        var port: Int? = nil
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = rest[...close]
            rest = rest[rest.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = Int(rest.dropFirst()), (1...65535).contains(p) else { return nil }
                port = p
            }
        } else if rest.filter({ $0 == ":" }).count > 1 {
            host = rest
        } else if let colon = rest.firstIndex(of: ":") {
            host = rest[..<colon]
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else { return nil }
            port = p
        } else {
            host = rest
        }
        if host.isEmpty { return nil }
        return (proto, host, port)
    }
}
