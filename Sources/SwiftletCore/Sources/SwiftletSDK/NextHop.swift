/// Resolution of a SIP URI or a Via to the address a message is sent to (Kamailio's
/// `sip_hostport2su` and `update_sock_struct_from_via`; RFC 3263 without SRV/NAPTR: an IP
/// literal is used as it is, a name is resolved to its first A/AAAA address).
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

    /// Where a request for `uri` goes: its host and port (the protocol's default port when
    /// none), over the `transport=` parameter's protocol (TLS for `sips:`, else UDP), unless
    /// `proto`/`port` override them (`forward_tcp(host, port)`).
    public static func destination(
        forURI uri: String, proto overrideProto: TransportProtocol? = nil, port overridePort: Int? = nil
    ) throws(Failure) -> Destination {
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
        var proto: TransportProtocol = c.scheme == .sips ? .tls : .udp
        if let t = HeaderScanner.find(bytes, c.parameters(bytes), "transport"), let v = t.value {
            guard let p = transport(named: bytes.text(v)) else {
                throw Failure("unsupported transport '\(bytes.text(v))' in <\(uri)>")
            }
            proto = p
        }
        if let overrideProto { proto = overrideProto }
        let port = overridePort ?? c.port ?? defaultPort(proto, secure: c.scheme == .sips)
        let address = try resolve(bytes.text(c.host), port: port)
        return Destination(proto: proto, address: address)
    }

    /// Where a reply goes after the top Via was removed: the (second) Via's `received`
    /// address or else its host, at its `rport` value or else its port (Kamailio's
    /// `update_sock_struct_from_via` for a forwarded reply).
    public static func destination(forReplyVia via: ViaHeader, in b: [UInt8]) throws(Failure) -> Destination {
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
        if port == 0 { port = via.port ?? defaultPort(proto) }
        return Destination(proto: proto, address: try resolve(host, port: port))
    }

    /// An IP literal as it is, a name through the system resolver (A/AAAA).
    public static func resolve(_ host: String, port: Int) throws(Failure) -> SocketAddress {
        if let numeric = SocketAddress(numericHost: host, port: port) { return numeric }
        do {
            return try SocketAddress(host: host, port: port)
        } catch {
            throw Failure(error.description, error: .badAddress)
        }
    }
}

extension Array where Element == UInt8 {
    /// The bytes in `range` as a String (UTF-8).
    func text(_ range: Range<Int>) -> String { String(decoding: self[range], as: UTF8.self) }
}
