/// Resolution of a SIP URI or a Via to the address a message is sent to (Kamailio's
/// `sip_hostport2su` and `update_sock_struct_from_via`): an IP literal is used as it is, a
/// name goes through RFC 3263 (NAPTR, SRV, A/AAAA; see `SIPNameResolver`).
public enum NextHop {
    /// Why a next hop could not be resolved.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        /// The core error it stands for (`E_BAD_URI`, `E_BAD_ADDRESS`), for `sl_reply_error()`.
        public let error: CoreError
        public init(_ d: String, error: CoreError = .unspecified) {
            description = d
            self.error = error
        }
    }

    /// The default port of a protocol (5061 for TLS and WSS, else 5060).
    public static func defaultPort(_ proto: TransportProtocol, secure: Bool = false) -> Int {
        secure || proto == .tls || proto == .wss ? 5061 : 5060
    }

    /// The protocol named by a `transport=` URI parameter or a Via transport token.
    public static func transport(named name: String) -> TransportProtocol? {
        switch name.lowercased() {
        case "udp": .udp
        case "tcp": .tcp
        case "tls": .tls
        case "sctp": .sctp
        case "ws": .ws
        case "wss": .wss
        default: nil
        }
    }

    /// Where a request for `uri` goes: its host and port, over the `transport=` parameter's
    /// protocol (TLS for `sips:`), unless `proto`/`port` override them (`forward_tcp(host,
    /// port)`). Without a port, SRV (and NAPTR when there is no protocol either) choose the
    /// port and the protocol; the default is UDP at 5060 (5061 for TLS).
    public static func destination(
        forURI uri: String, proto overrideProto: TransportProtocol? = nil, port overridePort: Int? = nil
    ) throws(Failure) -> Destination {
        try destination(forURI: uri, proto: overrideProto, port: overridePort, resolver: CoreContext.current.resolver)
    }

    /// `destination(forURI:proto:port:)` through `resolver` instead of the current context's.
    public static func destination(
        forURI uri: String, proto overrideProto: TransportProtocol?, port overridePort: Int?,
        resolver: any SIPNameResolver
    ) throws(Failure) -> Destination {
        let cache = NextHopLiteralCache.thread
        if let d = cache.destination(uri, proto: overrideProto, port: overridePort, resolver: resolver) { return d }
        let bytes = Array(uri.utf8)
        let c: URIComponents
        do {
            c = try URIComponents.parse(bytes, 0..<bytes.count)
        } catch {
            throw Failure("bad URI <\(uri)>", error: .badURI)
        }
        guard c.scheme == .sip || c.scheme == .sips, !c.host.isEmpty else {
            // Kamailio parses a tel: URI and then fails to resolve its empty host.
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
        let host = bytes.text(c.host)
        guard let target = resolver.resolve(host: host, port: overridePort ?? c.port, proto: proto) else {
            throw Failure("could not resolve hostname: \"\(host)\"", error: .badAddress)
        }
        let destination = Destination(proto: target.proto, address: target.address)
        cache.remember(
            uri, host: host, proto: overrideProto, port: overridePort, resolver: resolver, destination: destination)
        return destination
    }

    /// Where a reply goes after the top Via was removed: the (second) Via's `received`
    /// address or else its host, at its `rport` value or else its port (Kamailio's
    /// `update_sock_struct_from_via` for a forwarded reply).
    public static func destination(forReplyVia via: ViaHeader, in b: [UInt8]) throws(Failure) -> Destination {
        try destination(forReplyVia: via, in: b, resolver: CoreContext.current.resolver)
    }

    /// `destination(forReplyVia:in:)` through `resolver` instead of the current context's.
    public static func destination(
        forReplyVia via: ViaHeader, in b: [UInt8], resolver: any SIPNameResolver
    ) throws(Failure) -> Destination {
        let proto = transport(named: b.text(via.transport)) ?? .udp
        var port = 0
        if let rport = via.rport, let v = rport.value {
            port = Int(b.text(v)) ?? 0
        }
        let host: String
        if let received = via.received, let v = received.value {
            host = b.text(v)
        } else {
            host = b.text(via.host)
        }
        if port == 0, via.received != nil { port = via.port ?? 5060 }
        if port == 0, let p = via.port { port = p }
        // No port: SRV for the Via's protocol (RFC 3263 section 5), as Kamailio does.
        guard let target = resolver.resolve(host: host, port: port == 0 ? nil : port, proto: proto) else {
            throw Failure("resolve_host(\(host)) failure", error: .badAddress)
        }
        return Destination(proto: proto, address: target.address)
    }

    /// An IP literal as it is, a name through A/AAAA lookups (no SRV: the port is given).
    public static func resolve(_ host: String, port: Int) throws(Failure) -> SocketAddress {
        guard let t = CoreContext.current.resolver.resolve(host: host, port: port, proto: nil) else {
            throw Failure("could not resolve hostname: \"\(host)\"", error: .badAddress)
        }
        return t.address
    }

    /// `host` with an optional port over an optional protocol through RFC 3263 (a fixed
    /// `forward(host)` or `send(host)` target); the protocol is the one SRV/NAPTR chose when
    /// `proto` is nil.
    public static func resolve(_ host: String, port: Int?, proto: TransportProtocol?) throws(Failure)
        -> ResolvedTarget
    {
        guard let t = CoreContext.current.resolver.resolve(host: host, port: port, proto: proto) else {
            throw Failure("could not resolve hostname: \"\(host)\"", error: .badAddress)
        }
        return t
    }
}

extension Array where Element == UInt8 {
    /// The bytes in `range` as a String (UTF-8).
    func text(_ range: Range<Int>) -> String { String(decoding: self[range], as: UTF8.self) }
}
