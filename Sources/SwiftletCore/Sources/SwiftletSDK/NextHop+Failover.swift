extension NextHop {
    /// Every destination a request for `uri` may go to, in the order DNS failover tries them
    /// (see `destination(forURI:proto:port:)` for the rules; the same first destination), by
    /// `resolver` (a `SIPNameListResolver` gives all addresses, another one only the first).
    public static func destinations(
        forURI uri: String, resolver: any SIPNameResolver, proto overrideProto: TransportProtocol? = nil
    ) throws(Failure) -> [Destination] {
        let (host, port, proto) = try nextHop(ofURI: uri, proto: overrideProto)
        let targets: [ResolvedTarget]
        if let all = resolver as? any SIPNameListResolver {
            targets = all.resolveAll(host: host, port: port, proto: proto)
        } else {
            targets = resolver.resolve(host: host, port: port, proto: proto).map { [$0] } ?? []
        }
        guard !targets.isEmpty else { throw Failure("could not resolve hostname: \"\(host)\"", error: .badAddress) }
        return targets.map { Destination(proto: $0.proto, address: $0.address) }
    }

    /// Where a request for `uri` goes, resolved by `resolver` (a core's own, rather than the
    /// current context's as `destination(forURI:proto:port:)`).
    public static func destination(
        forURI uri: String, resolver: any SIPNameResolver, proto overrideProto: TransportProtocol? = nil
    ) throws(Failure) -> Destination {
        let cache = NextHopLiteralCache.thread
        if let d = cache.destination(uri, proto: overrideProto, port: nil, resolver: resolver) { return d }
        let (host, port, proto) = try nextHop(ofURI: uri, proto: overrideProto)
        guard let t = resolver.resolve(host: host, port: port, proto: proto) else {
            throw Failure("could not resolve hostname: \"\(host)\"", error: .badAddress)
        }
        let destination = Destination(proto: t.proto, address: t.address)
        cache.remember(uri, host: host, proto: overrideProto, port: nil, resolver: resolver, destination: destination)
        return destination
    }

    /// The host, port and protocol a SIP URI names (its `transport=`, TLS for `sips:`).
    private static func nextHop(ofURI uri: String, proto overrideProto: TransportProtocol?) throws(Failure) -> (
        String, Int?, TransportProtocol?
    ) {
        let bytes = Array(uri.utf8)
        let c: URIComponents
        do {
            c = try URIComponents.parse(bytes, 0..<bytes.count)
        } catch {
            throw Failure("bad URI <\(uri)>", error: .badURI)
        }
        guard c.scheme == .sip || c.scheme == .sips, !c.host.isEmpty else {
            throw Failure(
                "cannot forward to a non-SIP URI <\(uri)>", error: c.scheme == .other ? .badURI : .badAddress)
        }
        var proto: TransportProtocol? = nil
        if let t = HeaderScanner.find(bytes, c.parameters(bytes), "transport"), let v = t.value {
            guard let p = transport(named: bytes.text(v)) else {
                throw Failure("unsupported transport '\(bytes.text(v))' in <\(uri)>", error: .badProtocol)
            }
            proto = p
        }
        if c.scheme == .sips {
            if proto == .udp {
                throw Failure("secure uri incompatible with transport udp <\(uri)>", error: .badProtocol)
            }
            proto = proto == .wss ? .wss : .tls
        }
        if let overrideProto { proto = overrideProto }
        return (bytes.text(c.host), c.port, proto)
    }
}
