/// Where a host resolved to and over which protocol.
public struct ResolvedTarget: Sendable, Equatable, CustomStringConvertible {
    public var address: SocketAddress
    public var proto: TransportProtocol
    public var description: String { "\(proto.name):\(address)" }

    public init(address: SocketAddress, proto: TransportProtocol) {
        self.address = address
        self.proto = proto
    }
}

/// Name resolution for SIP next hops, as the core offers it to modules (`CoreContext.resolver`,
/// and `NextHop`, which uses it). The runtime installs RFC 3263 resolution (NAPTR, SRV,
/// A/AAAA through the system resolver, with a TTL cache); without it only IP literals resolve.
public protocol SIPNameResolver: AnyObject, Sendable {
    /// Resolves `host` (an IP literal or a name) with an optional `port` and protocol (RFC
    /// 3263: a port given means A/AAAA only; no port means NAPTR/SRV first). The protocol of
    /// the result is `proto` when given, else the one NAPTR/SRV chose, else UDP. Nil when the
    /// name does not resolve.
    func resolve(host: String, port: Int?, proto: TransportProtocol?) -> ResolvedTarget?
}

/// Resolves IP literals only (a configuration check, a unit test without DNS).
public final class LiteralResolver: SIPNameResolver {
    public init() {}

    public func resolve(host: String, port: Int?, proto: TransportProtocol?) -> ResolvedTarget? {
        let p = proto ?? .udp
        return SocketAddress(numericHost: host, port: port ?? NextHop.defaultPort(p)).map {
            ResolvedTarget(address: $0, proto: p)
        }
    }
}
